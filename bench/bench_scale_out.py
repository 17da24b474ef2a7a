"""Scale out on one machine: HTTP with 1 vs 2 web workers, batch serial vs Dask 1 vs 2 workers.

Run:  python bench/bench_scale_out.py                       (small defaults: 6,000 queries,
                                                               10^5 points, no parcels)
      python bench/bench_scale_out.py --rows 1000000 --parcels 100000
      python bench/bench_scale_out.py --skip-http / --skip-batch / --rounds 3

HTTP: ``planmap serve`` (one waitress process, the baseline), ``planmap serve --workers 1``
and ``--workers 2`` (gunicorn) run side by side on free loopback ports with the same
settings (rate limits off, one site-check worker per web worker), are warmed up, and then
get the same list of ``GET /api/v1/zones`` point queries from 32 keep-alive connections,
in turns (A, B, C, A, B, C, ...: every configuration sees the same machine load). The
load generator is ``wrk`` (one C thread, a Lua script cycling through the list and
stopping after exactly N answers) when it is installed (``apt-get install wrk``), else 4
Python processes x 8 threads. For every run the CPU seconds used by the server's process
tree and by the client are measured (``/proc``, ``getrusage``): CPU per request, and how
much of the 2 cores the server got, say whether a ratio is planmap's or the machine's.
Every non-200 answer or connection error counts as an error.

Batch: a seeded generator writes N points (CSV ``id,lon,lat``) over Baicheng's extent,
and ``bench/make_parcels.py`` M parcels (GeoPackage); each file goes through ``planmap
batch --engine local``, ``--engine dask --workers 1`` and ``--engine dask --workers 2``
(GeoParquet out). Wall time, CPU seconds and the peak resident memory of the whole
process tree (sampled every 0.2 s from /proc) and equality of the three outputs are
reported. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LON, LAT = (121.7, 124.3), (44.3, 46.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# --------------------------------------------------------------------------- HTTP

def _queries(n: int, seed: int = 7) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(*LON, n), rng.uniform(*LAT, n)
    return [f"/api/v1/zones?lon={x:.5f}&lat={y:.5f}" for x, y in zip(lon, lat, strict=True)]


def _client_proc(port: int, paths: list[str], threads: int, out) -> None:
    errors, done = [0], [0]
    lock = threading.Lock()

    def worker(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for p in chunk:
            try:
                conn.request("GET", p)
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except Exception:  # a failure counts as an error; reconnect
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                done[0] += 1
                errors[0] += not ok
        conn.close()

    ts = [threading.Thread(target=worker, args=(paths[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((done[0], errors[0]))


def _serve(port: int, workers: int | None, env: dict):
    cmd = [sys.executable, "-m", "planmap.server.cli", "serve", "--port", str(port)]
    if workers:
        cmd += ["--workers", str(workers)]
    # stderr to a file, never to a pipe nobody reads: under load waitress warns "Task queue
    # depth is N" per request, and once 64 KiB of that filled the pipe the server blocked
    # on its next write (runs of 0 answers in 15 s)
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    proc.log = log
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(log.read().decode(errors="replace")[-2000:])
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/zones?lon=122.8&lat=45.6")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("server did not start")


def _tree_pids(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


_TICK = os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process tree's live processes, children reaped
    by them included (cutime/cstime)."""
    total = 0
    for p in _tree_pids(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            pass
    return total / _TICK


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


_WRK_LUA = """
local paths, i = {}, 0
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %%d %%d %%.4f %%.1f %%.1f %%.1f %%.1f\\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""

WRK_SECONDS = 15
"""Length of one wrk run (wrk runs for a time, cycling through the same query list)."""


def run_wrk(port: int, paths: list[str], connections: int = 32, seconds: float = 0) -> dict:
    """One ``wrk`` run: one C thread, ``connections`` keep-alive connections, the queries in
    turn for ``seconds`` (default :data:`WRK_SECONDS`); latency figures in ms."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        script = Path(tmp) / "paths.lua"
        script.write_text(_WRK_LUA % {"paths": listing})
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, int(seconds or WRK_SECONDS))}s",
               "--timeout", "30s", "-s", str(script), f"http://127.0.0.1:{port}"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    done, errors, secs, p50, p90, p99, worst = line.split()[1:]
    return {"answers": int(done), "errors": int(errors), "seconds": float(secs),
            "req_s": round(int(done) / float(secs)),
            "p50_ms": round(float(p50) / 1000, 2), "p90_ms": round(float(p90) / 1000, 2),
            "p99_ms": round(float(p99) / 1000, 2), "max_ms": round(float(worst) / 1000, 1)}


def _load_wrk(port: int, paths: list[str], connections: int = 32, seconds: float = 0):
    """:func:`run_wrk` as ``(answers, errors, seconds)``, the shape of :func:`_load`."""
    got = run_wrk(port, paths, connections, seconds)
    return got["answers"], got["errors"], got["seconds"]


def _load(port: int, paths: list[str], procs: int = 4, threads: int = 8):
    q = mp.Queue()
    ps = [mp.Process(target=_client_proc, args=(port, paths[i::procs], threads, q))
          for i in range(procs)]
    started = time.perf_counter()
    for p in ps:
        p.start()
    results = [q.get() for _ in ps]
    for p in ps:
        p.join()
    wall = time.perf_counter() - started
    done = sum(r[0] for r in results)
    return done, sum(r[1] for r in results), wall


HTTP_CONFIGS = (("1 process (waitress, 8 threads)", None),
                ("--workers 1 (gunicorn gthread)", 1),
                ("--workers 2 (gunicorn gthread)", 2))


def bench_http(n: int, rounds: int = 2, client: str = "auto") -> list[dict]:
    """Every configuration served side by side; the same queries in turns, ``rounds`` times.

    With wrk each run lasts :data:`WRK_SECONDS` cycling through ``n`` queries; with the
    Python client each run sends the ``n`` queries once. One row per (round, configuration).
    """
    env = {**os.environ, "PLANMAP_RATE_LIMIT_CHEAP": "0", "PLANMAP_RATE_LIMIT_EXPENSIVE": "0",
           "PLANMAP_WORKERS": "1"}
    use_wrk = client == "wrk" or (client == "auto" and shutil.which("wrk"))
    load = _load_wrk if use_wrk else _load
    print("HTTP client: " + (f"wrk (1 thread, 32 connections, {WRK_SECONDS} s per run)"
                              if use_wrk else "4 x 8 Python threads, 32 connections"), flush=True)
    paths = _queries(n)
    rows, servers = [], []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for k, (label, workers) in enumerate(HTTP_CONFIGS):
                port = _free_port()
                srv_env = {**env, "PLANMAP_DB_PATH": str(Path(tmp) / f"b{k}.db")}
                servers.append((label, port, _serve(port, workers, srv_env)))
            for _label, port, _proc in servers:  # warm-up: every worker, every path
                if use_wrk:
                    _load_wrk(port, paths, seconds=5)
                else:
                    load(port, paths[: max(200, n // 5)])
            for r in range(rounds):
                for label, port, proc in servers:
                    uptime = _uptime()
                    cpu0, cli0 = _tree_cpu_s(proc.pid), _children_cpu_s()
                    done, errors, wall = load(port, paths)
                    cpu, cli = _tree_cpu_s(proc.pid) - cpu0, _children_cpu_s() - cli0
                    rows.append({"round": r + 1, "server": label, "requests": done,
                                 "errors": errors, "seconds": round(wall, 2),
                                 "req_per_s": round(done / wall, 1),
                                 "server_cpu_ms_per_req": round(1000 * cpu / max(done, 1), 2),
                                 "server_cores": round(cpu / wall, 2),
                                 "client_cores": round(cli / wall, 2), "uptime": uptime})
                    print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        finally:
            for _label, _port, proc in servers:
                proc.terminate()
            for _label, _port, proc in servers:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return rows


# --------------------------------------------------------------------------- batch

def make_points(path: Path, n: int, seed: int = 13) -> Path:
    """Write ``n`` seeded points over Baicheng's extent as ``id,lon,lat``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    with path.open("w") as fh:
        fh.write("id,lon,lat\n")
        step = 100_000
        for s in range(0, n, step):
            k = min(step, n - s)
            lon, lat = rng.uniform(*LON, k), rng.uniform(*LAT, k)
            fh.write("".join(f"p{s + i},{x:.6f},{y:.6f}\n"
                             for i, (x, y) in enumerate(zip(lon, lat, strict=True))))
    return path


def _tree_rss_kib(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            for task in os.listdir(f"/proc/{p}/task"):  # children of every thread
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, StopIteration):
            pass
    return total


def _run_batch(args: list[str]) -> tuple[float, int, float]:
    started = time.perf_counter()
    cli0 = _children_cpu_s()
    proc = subprocess.Popen([sys.executable, "-m", "planmap.server.cli", "batch", *args, "--quiet"],
                            cwd=ROOT)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kib(proc.pid))
        time.sleep(0.2)
    if proc.returncode:
        raise RuntimeError(f"planmap batch failed ({proc.returncode})")
    # the batch's children (dask workers, scheduler) are reaped by it: counted in its rusage
    return time.perf_counter() - started, peak, _children_cpu_s() - cli0


BATCH_ENGINES = (("serial (local)", ["--engine", "local"]),
                 ("dask, 1 worker", ["--engine", "dask", "--workers", "1"]),
                 ("dask, 2 workers", ["--engine", "dask", "--workers", "2"]))


def _batch_runs(kind: str, src: Path, n: int, tmp: Path) -> list[dict]:
    import pandas as pd
    import pyarrow.parquet as pq

    rows, outs = [], {}
    for label, extra in BATCH_ENGINES:
        out = tmp / f"{kind}-{len(outs)}.parquet"
        load = _uptime()
        wall, peak, cpu = _run_batch([str(src), "-o", str(out), *extra])
        outs[label] = out
        rows.append({"input": kind, "engine": label, "rows": n, "seconds": round(wall, 1),
                     "rows_per_s": round(n / wall), "cpu_s": round(cpu, 1),
                     "peak_rss_mib": round(peak / 1024), "uptime": load})
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    base = pq.read_table(outs.pop("serial (local)")).to_pandas()
    for label, path in outs.items():
        pd.testing.assert_frame_equal(base, pq.read_table(path).to_pandas())
        print(f"{kind}, {label}: output identical to the serial run ({len(base):,} rows)")
    print(f"{kind}: rows with an error: {int((base['error'] != '').sum())}; "
          f"dask 2 / dask 1 workers: {rows[1]['seconds'] / rows[2]['seconds']:.2f}x", flush=True)
    return rows


def bench_batch(n: int, parcels: int = 0) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # warm the index cache once, so every run starts equal (loads it)
        warm = make_points(tmp / "warm.csv", 10)
        subprocess.run([sys.executable, "-m", "planmap.server.cli", "batch", str(warm), "-o",
                        str(tmp / "warm.parquet"), "--quiet"], cwd=ROOT, check=True)
        if n:
            rows += _batch_runs("points", make_points(tmp / "points.csv", n), n, tmp)
        if parcels:
            src = tmp / "parcels.gpkg"
            subprocess.run([sys.executable, str(ROOT / "bench" / "make_parcels.py"),
                            str(parcels), str(src)], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
            rows += _batch_runs("parcels", src, parcels, tmp)
    return rows


def bench_reload(clients: int = 32) -> dict:
    """Two instances (waitress; gunicorn --workers 2) on one copy of the real data, one
    store and one index cache; an import from the CLI under load: seconds until both serve it."""
    import shapely

    from planmap import layers

    site = shapely.Point(122.40, 45.30)  # 洮南市, outside every shipped ecological zone
    query = f"/api/v1/zones?lon={site.x}&lat={site.y}"

    def redline(folder: Path) -> Path:  # as tests/layers/test_import.py's official red line
        src = folder / "redline.geojson"
        src.write_text(json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": shapely.geometry.mapping(site.buffer(0.02)),
            "properties": {"id": "redline_1", "name_zh": "生态保护红线（测试）",
                           "citation_seed": "000_f32aaef515cfbb76", "citation_line": 849,
                           "citation_quote": "严格执行生态保护红线管理办法"}}]},
            ensure_ascii=False), "utf-8")
        return src

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = layers.copy_data_dir(tmp / "data")
        env = {**os.environ, "PLANMAP_DATA_DIR": str(data), "PLANMAP_DB_PATH": str(tmp / "s.db"),
               "PLANMAP_CACHE_DIR": str(tmp / "cache"), "PLANMAP_WORKERS": "1",
               "PLANMAP_RATE_LIMIT_CHEAP": "0", "PLANMAP_RATE_LIMIT_EXPENSIVE": "0"}
        ports = [_free_port(), _free_port()]
        procs = [_serve(ports[0], None, env), _serve(ports[1], 2, env)]
        time.sleep(5)  # the instances seed the index cache
        stop, seen, errors, count = threading.Event(), [None, None], [], [0]

        def client(k):
            i = k % 2
            conn = http.client.HTTPConnection("127.0.0.1", ports[i], timeout=120)
            while not stop.is_set():
                try:
                    conn.request("GET", query)
                    r = conn.getresponse()
                    body = json.loads(r.read())
                    count[0] += 1
                    if r.status != 200:
                        errors.append(r.status)
                    elif seen[i] is None and "redline_1" in {z["id"] for z in body["zones"]}:
                        seen[i] = time.monotonic()
                except Exception as exc:  # counted
                    errors.append(repr(exc))
                    conn = http.client.HTTPConnection("127.0.0.1", ports[i], timeout=120)

        threads = [threading.Thread(target=client, args=(k,), daemon=True)
                   for k in range(clients)]
        try:
            for t in threads:
                t.start()
            time.sleep(2)
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-m", "planmap.server.cli", "import", str(redline(tmp)),
                            "--layer", "eco_redline", "--crs", "EPSG:4326", "--quiet",
                            "--data-dir", str(data)],  # the copy, never the package's data
                           env=env, cwd=ROOT, check=True)
            t1 = time.monotonic()
            while None in seen and time.monotonic() - t1 < 120:
                time.sleep(0.05)
            time.sleep(1)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=120)
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    p.kill()
    row = {"import_s": round(t1 - t0, 1),
           "visible_after_import_s": [None if s is None else round(s - t1, 1) for s in seen],
           "requests": count[0], "errors": len(errors), "uptime": _uptime()}
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=6000)
    p.add_argument("--rounds", type=int, default=2, help="HTTP: turns per configuration")
    p.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--rows", type=int, default=100_000, help="batch: points (0: none)")
    p.add_argument("--parcels", type=int, default=0, help="batch: parcels (0: none)")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--skip-batch", action="store_true")
    p.add_argument("--reload", action="store_true", help="also: import under load, 2 instances")
    a = p.parse_args()
    from machine import cpu_model  # bench/machine.py (the script's folder is on sys.path)

    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs; {_uptime()}")
    if not a.skip_http:
        rows = bench_http(a.requests, a.rounds, a.client)
        base, two = HTTP_CONFIGS[0][0], HTTP_CONFIGS[2][0]
        for r in range(1, a.rounds + 1):
            got = {x["server"]: x for x in rows if x["round"] == r}
            print(f"round {r}: HTTP speed-up --workers 2 / 1 process: "
                  f"{got[two]['req_per_s'] / got[base]['req_per_s']:.2f}x")
    if a.reload:
        bench_reload()
    if not a.skip_batch:
        bench_batch(a.rows, a.parcels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
