"""HTTP latency of an in-place store layer (issue 12): point queries, OGC bbox pages, start-up.

Run:  python bench/bench_scale_http.py --home /tmp/b/home_1000000          (a home with a store)
      python bench/bench_scale_http.py --home … --servers waitress,gunicorn2 --seconds 10

Serves ``HOME/store`` (imported by ``planmap import … --store HOME/store``, e.g. the layout of
``bench_scale.py --reuse``) with ``planmap serve`` (one process, waitress) and/or ``planmap
serve --workers 2`` (gunicorn gthread), times start-up to the first ``/-/health``, warms the
server, then runs ``wrk`` (one C thread, keep-alive, a Lua script cycling through seeded
requests) at 1 and 32 connections for

* ``GET /api/v1/zones?lon=&lat=`` (points inside the city, seed 12, as ``bench_scale.py``);
* ``GET /ogc/collections/<parcels>/items?bbox=<0.02° × 0.015°>&limit=100&f=json``.

Per run: answers, errors, req/s, wrk's latency p50/p90/p99 (every request, HdrHistogram),
the server process tree's CPU per answer (user + system from ``/proc``, robust to the
machine's load; ``web_…`` without the site-check workers) and the 1-minute load average.
Measuring starts once the tree is idle (the site-check workers have loaded).  Only
loopback traffic; every process it starts is stopped.  Prints a JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import _free_port, _wait_ready  # noqa: E402
from bench_scale import _get, _points  # noqa: E402
from bench_scale_out import run_wrk  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")

def _tree_cpu_s(pid: int, web_only: bool = False) -> float:
    """User + system seconds of ``pid`` and its live descendants.

    ``web_only``: without the site-check worker processes (multiprocessing spawn children),
    i.e. the processes answering HTTP (waitress; gunicorn master and web workers).
    """
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            if web_only and b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK
            for t in Path(f"/proc/{p}/task").iterdir():
                kids = (t / "children").read_text().split()
                todo.extend(int(k) for k in kids)
        except (OSError, IndexError, ValueError):
            pass
    return total


def _settle(pid: int, timeout: float = 180.0) -> float:
    """Wait until the server tree is idle (site-check workers done loading); seconds waited."""
    t = time.monotonic()
    last, quiet = _tree_cpu_s(pid), 0
    while quiet < 2 and time.monotonic() - t < timeout:
        time.sleep(1.0)
        now = _tree_cpu_s(pid)
        quiet = quiet + 1 if now - last < 0.05 else 0
        last = now
    return time.monotonic() - t


def _load_avg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def serve(home: Path, tmp: Path, workers: int | None, threads: int) -> tuple:
    env = dict(os.environ, PLANMAP_DB_PATH=str(tmp / "checks.sqlite3"), PLANMAP_HOME=str(home),
               PLANMAP_CACHE_DIR=str(tmp / "cache"), PLANMAP_RATE_LIMIT_EXPENSIVE="0",
               PLANMAP_RATE_LIMIT_CHEAP="0")
    for k in ("PLANMAP_DATA_DIR", "PLANMAP_DATABASE_URL"):
        env.pop(k, None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    port = _free_port()
    cmd = [sys.executable, "-m", "planmap.server.cli", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--threads", str(threads)]
    if workers:
        cmd += ["--workers", str(workers)]
    log = open(tmp / f"serve.{port}.log", "wb")  # noqa: SIM115  (a file: a pipe would stall it)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    _wait_ready(port, proc, timeout=1800)
    return proc, port, time.perf_counter() - t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", type=Path, required=True, help="PLANMAP_HOME holding store/")
    p.add_argument("--servers", default="waitress,gunicorn2",
                   help="comma list of waitress, gunicorn1, gunicorn2")
    p.add_argument("--kinds", default="point,bbox", help='"" for start-up only')
    p.add_argument("--connections", default="1,32")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--points", type=int, default=2000)
    p.add_argument("--tmp", type=Path, help="cache/check store folder (kept: a second run "
                   "starts with the index caches current)")
    args = p.parse_args(argv)
    pts = _points(args.points, 12)
    tmp = args.tmp or Path(tempfile.mkdtemp(prefix="bench_scale_http_"))
    tmp.mkdir(parents=True, exist_ok=True)
    out: dict = {"home": str(args.home), "seconds": args.seconds, "runs": []}
    for server in args.servers.split(","):
        workers = None if server == "waitress" else int(server.removeprefix("gunicorn"))
        proc, port, start_s = serve(args.home, tmp, workers, args.threads)
        try:
            cols = json.loads(_get(port, "/ogc/collections?f=json", gz=False))
            cid = next(c["id"] for c in cols["collections"] if c["id"].startswith("parcels"))
            paths = {
                "point": [f"/api/v1/zones?lon={x:.6f}&lat={y:.6f}" for x, y in pts],
                "bbox": [f"/ogc/collections/{cid}/items?bbox={x:.5f},{y:.5f},{x + 0.02:.5f},"
                         f"{y + 0.015:.5f}&limit=100&f=json" for x, y in pts]}
            row = {"server": server, "start_to_health_s": round(start_s, 2),
                   "start_cpu_s": round(_tree_cpu_s(proc.pid, True), 2),
                   "load_avg_at_start": _load_avg(),
                   "workers_settled_after_s": round(_settle(proc.pid), 1)}
            for kind in [k for k in args.kinds.split(",") if k]:
                run_wrk(port, paths[kind], 32, min(args.seconds, 5))  # warm-up: threads, rows
                for c in (int(v) for v in args.connections.split(",")):
                    cpu0, web0 = _tree_cpu_s(proc.pid), _tree_cpu_s(proc.pid, True)
                    got = run_wrk(port, paths[kind], c, args.seconds)
                    n = max(got["answers"], 1)
                    got["server_cpu_ms_per_answer"] = round(
                        1000 * (_tree_cpu_s(proc.pid) - cpu0) / n, 3)
                    got["web_cpu_ms_per_answer"] = round(
                        1000 * (_tree_cpu_s(proc.pid, True) - web0) / n, 3)
                    got["load_avg"] = _load_avg()
                    row[f"{kind}_{c}"] = got
                    print(server, kind, c, got, file=sys.stderr, flush=True)
            out["runs"].append(row)
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
