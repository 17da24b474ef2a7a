"""Bounded load test of ``planmap serve`` (waitress) on the loopback interface.

Run:  python bench/bench_load.py              (10,000 requests, 32 clients, ≤ 600 s)
      python bench/bench_load.py --write      (also updates "## Load" in docs/PERFORMANCE.md)

What it does, and why it is safe to run anywhere:

* starts ``planmap serve --host 127.0.0.1`` as a subprocess on a free port with a private
  SQLite file; it only ever talks to 127.0.0.1 and stops the server when done;
* sends a FIXED number of requests (``--requests``, default 10,000) from ``--clients``
  threads (default 32), each with its own keep-alive ``http.client`` connection; it stops
  by itself after ``--max-seconds`` even if not finished (reported as incomplete);
* mixes the map page ``/``, point queries ``GET /api/v1/zones``, site checks
  ``POST /api/v1/sitecheck`` (small polygons) and exports ``/export/<layer>.<fmt>``;
* counts every non-2xx status or connection error as an error, records p50/p99 per
  endpoint, and reads the server's resident memory (``VmRSS`` in /proc/<pid>/status)
  after start-up, after a warm-up pass (caches filled) and after the load.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Load"

# share of requests per endpoint kind (the rest of a user's session is static files)
MIX = (("map page", 0.10), ("point query", 0.50), ("site check", 0.25), ("export", 0.15))
EXPORTS = ("/export/admin.geojson", "/export/urban.geojson", "/export/parks.csv",
           "/export/ecology.kml")
LON, LAT = (122.2, 123.9), (44.7, 45.9)  # inside Baicheng's extent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _plan(n: int, seed: int) -> list[tuple[str, str, str, bytes | None]]:
    """The fixed request list: (kind, method, path, body)."""
    rng = random.Random(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    out = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        if kind == "map page":
            out.append((kind, "GET", "/", None))
        elif kind == "point query":
            lon, lat = rng.uniform(*LON), rng.uniform(*LAT)
            out.append((kind, "GET", f"/api/v1/zones?lon={lon:.6f}&lat={lat:.6f}", None))
        elif kind == "site check":
            lon, lat, d = rng.uniform(*LON), rng.uniform(*LAT), rng.uniform(0.001, 0.004)
            ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
            body = json.dumps({"geometry": {"type": "Polygon", "coordinates": [ring]}})
            out.append((kind, "POST", "/api/v1/sitecheck", body.encode()))
        else:
            out.append((kind, "GET", EXPORTS[i % len(EXPORTS)], None))
    return out


class Client(threading.Thread):
    """One keep-alive connection working through the shared request list."""

    def __init__(self, port, plan, cursor, lock, deadline, results, errors):
        super().__init__(daemon=True)
        self.port, self.plan, self.cursor, self.lock = port, plan, cursor, lock
        self.deadline, self.results, self.errors = deadline, results, errors
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def run(self):
        self._connect()
        while time.monotonic() < self.deadline:
            with self.lock:
                i = self.cursor[0]
                if i >= len(self.plan):
                    break
                self.cursor[0] += 1
            kind, method, path, body = self.plan[i]
            headers = {"Accept-Encoding": "gzip"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self._connect()
            except (OSError, http.client.HTTPException) as exc:
                status = f"{type(exc).__name__}: {exc}"
                self.conn.close()
                self._connect()
            elapsed = time.perf_counter() - started
            self.results.append((kind, elapsed))
            if not (isinstance(status, int) and 200 <= status < 300):
                self.errors.append((kind, path[:80], status))
        self.conn.close()


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/-/health")
            if c.getresponse().status == 200:
                c.close()
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("server did not become ready")


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


def run(args) -> dict:
    port = _free_port()
    tmp = tempfile.mkdtemp(prefix="planmap-load-")
    # faulthandler: should the server crash, its log shows every thread's Python stack
    env = dict(os.environ, PLANMAP_DB_PATH=str(Path(tmp) / "checks.sqlite3"),
               PYTHONFAULTHANDLER="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # the 32 clients stand for 32 users but share one address: no per-client rate limit
    env.setdefault("PLANMAP_RATE_LIMIT_EXPENSIVE", "0")
    env.setdefault("PLANMAP_RATE_LIMIT_CHEAP", "0")
    cmd = [sys.executable, "-m", "planmap.server.cli", "serve", "--host", "127.0.0.1", "--port",
           str(port), "--threads", str(args.threads)]
    log_path = Path(tmp) / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 (closed below; a pipe could fill and block)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(port, proc)
        rss_start = _rss_kib(proc.pid)
        # warm-up: every distinct endpoint once per client (fills the page/export caches)
        warm = _plan(4 * args.clients, args.seed + 1) + [("export", "GET", p, None)
                                                          for p in EXPORTS]
        for _kind, method, path, body in [("map page", "GET", "/?lang=en", None)] + warm:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            c.request(method, path, body=body,
                      headers={"Content-Type": "application/json"} if body else {})
            c.getresponse().read()
            c.close()
        rss_before = _rss_kib(proc.pid)
        plan = _plan(args.requests, args.seed)
        results: list = []
        errors: list = []
        cursor, lock = [0], threading.Lock()
        started = time.monotonic()
        deadline = started + args.max_seconds
        clients = [Client(port, plan, cursor, lock, deadline, results, errors)
                   for _ in range(args.clients)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(args.max_seconds + 120)
        wall = time.monotonic() - started
        if proc.poll() is not None:
            raise RuntimeError(f"the server died (exit {proc.returncode}); log: "
                               + log_path.read_text("utf-8", "replace")[-8000:])
        rss_after = _rss_kib(proc.pid)
    finally:
        log.close()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    by_kind: dict[str, list[float]] = {}
    for kind, secs in results:
        by_kind.setdefault(kind, []).append(secs)
    return {"requests": len(results), "planned": args.requests, "errors": errors, "wall": wall,
            "by_kind": by_kind, "rss_start": rss_start, "rss_before": rss_before,
            "rss_after": rss_after, "port": port}


def report(args, r) -> str:
    growth = (r["rss_after"] - r["rss_before"]) / r["rss_before"] * 100
    machine = (f"{_cpu_name()}, {os.cpu_count()} CPUs, "
               f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover
        load = float("nan")
    lines = [
        SECTION,
        "",
        f"Command: `python bench/bench_load.py --requests {args.requests} --clients "
        f"{args.clients} --threads {args.threads}` ({time.strftime('%Y-%m-%d', time.gmtime())}).",
        f"Machine: {machine}; load average at the end {load:.2f} (the machine is shared).",
        "",
        f"`planmap serve` (waitress, {args.threads} threads) on 127.0.0.1, {args.clients} "
        f"client threads with keep-alive connections, a fixed list of {r['planned']} requests "
        f"(seed {args.seed}): map page 10 %, point queries 50 %, site checks (small "
        f"polygons, stored) 25 %, exports 15 %.",
        "",
        f"**{r['requests']} requests in {r['wall']:.1f} s ({r['requests'] / r['wall']:.0f} "
        f"req/s), {len(r['errors'])} errors.**",
        "",
        "| endpoint | requests | p50 | p99 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, _ in MIX:
        v = r["by_kind"].get(kind, [])
        if v:
            lines.append(f"| {kind} | {len(v)} | {_pct(v, .5) * 1000:.0f} ms | "
                         f"{_pct(v, .99) * 1000:.0f} ms | {max(v) * 1000:.0f} ms |")
    lines += [
        "",
        f"Server resident memory (VmRSS): {r['rss_start'] / 1024:.0f} MiB after start-up, "
        f"{r['rss_before'] / 1024:.0f} MiB after the warm-up pass (map page and export "
        f"caches filled), {r['rss_after'] / 1024:.0f} MiB after the load: "
        f"**{growth:+.1f} %** over the load (limit +10 %).",
        "",
        f"Latencies include queueing: {args.clients} clients share {args.threads} server "
        "threads on 2 cores.  An earlier run of this script found `planmap serve` dying "
        "with SIGSEGV (shared GEOS prepared geometries, fixed in geo/index.py; see "
        "docs/SECURITY.md).",
    ]
    if r["errors"]:
        lines += ["", "Errors (first 10): " + "; ".join(map(str, r["errors"][:10]))]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    p.add_argument("--max-seconds", type=float, default=600.0)
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--write", action="store_true")
    args = p.parse_args(argv)
    r = run(args)
    text = report(args, r)
    print(text)
    if args.write:
        path = ROOT / "docs" / "PERFORMANCE.md"
        old = path.read_text("utf-8") if path.exists() else "# Performance\n"
        if SECTION + "\n" in old:
            head, rest = old.split(SECTION + "\n", 1)
            nxt = rest.find("\n## ")
            tail = rest[nxt + 1:] if nxt >= 0 else ""
            new = head + text + ("\n" + tail if tail else "")
        else:
            new = old.rstrip("\n") + "\n\n" + text
        path.write_text(new, "utf-8")
    growth = (r["rss_after"] - r["rss_before"]) / r["rss_before"]
    ok = not r["errors"] and r["requests"] == r["planned"] and growth <= 0.10
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
