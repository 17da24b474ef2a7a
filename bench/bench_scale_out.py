"""Scale out on one machine: HTTP with 1 vs 2 web workers, batch serial vs Dask 1 vs 2 workers.

Run:  python bench/bench_scale_out.py                 (HTTP 6,000 point queries; batch 10^5 points)
      python bench/bench_scale_out.py --rows 1000000  (the batch at 10^6)
      python bench/bench_scale_out.py --skip-http / --skip-batch

HTTP: ``planmap serve`` (one waitress process, the baseline) and ``planmap serve --workers 2``
(gunicorn) are started one after the other on free loopback ports with the same settings
(rate limits off, one site-check worker per web worker) and get the same list of
``GET /api/v1/zones`` point queries from 32 keep-alive clients (4 client processes x 8
threads, so the client's own GIL is not the ceiling). Every non-200 answer or connection
error counts as an error.

Batch: a seeded generator writes N points (CSV ``id,lon,lat``) over Baicheng's extent; the
same file goes through ``planmap batch --engine local``, ``--engine dask --workers 1`` and
``--engine dask --workers 2`` (GeoParquet out). Wall time, the peak resident memory of the
whole process tree (sampled every 0.2 s from /proc) and equality of the three outputs are
reported. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
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
    cmd = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    if workers:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode()[-2000:])
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/zones?lon=122.8&lat=45.6")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("server did not start")


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


def bench_http(n: int) -> list[dict]:
    env = {**os.environ, "PLANMAP_RATE_LIMIT_CHEAP": "0", "PLANMAP_RATE_LIMIT_EXPENSIVE": "0",
           "PLANMAP_WORKERS": "1"}
    paths = _queries(n)
    rows = []
    for label, workers in (("1 process (waitress)", None), ("--workers 2 (gunicorn)", 2)):
        with tempfile.TemporaryDirectory() as tmp:
            env["PLANMAP_DB_PATH"] = str(Path(tmp) / "b.db")
            port = _free_port()
            proc = _serve(port, workers, env)
            try:
                _load(port, paths[: max(200, n // 10)])  # warm-up: every worker, every path
                load = _uptime()
                done, errors, wall = _load(port, paths)
            finally:
                proc.terminate()
                proc.wait(timeout=60)
        rows.append({"server": label, "requests": done, "errors": errors,
                     "seconds": round(wall, 2), "req_per_s": round(done / wall, 1),
                     "uptime": load})
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
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


def _run_batch(args: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "batch", *args, "--quiet"],
                            cwd=ROOT)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kib(proc.pid))
        time.sleep(0.2)
    if proc.returncode:
        raise RuntimeError(f"planmap batch failed ({proc.returncode})")
    return time.perf_counter() - started, peak


def bench_batch(n: int) -> list[dict]:
    import pandas as pd
    import pyarrow.parquet as pq

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = make_points(Path(tmp) / "points.csv", n)
        outs = {}
        # warm the index cache once, so every run starts equal (loads it)
        subprocess.run([sys.executable, "-m", "server.cli", "zones", str(src), "-o",
                        str(Path(tmp) / "warm.csv"), "--quiet"], cwd=ROOT, check=True)
        for label, extra in (("serial (local)", ["--engine", "local"]),
                             ("dask, 1 worker", ["--engine", "dask", "--workers", "1"]),
                             ("dask, 2 workers", ["--engine", "dask", "--workers", "2"])):
            out = Path(tmp) / f"{len(outs)}.parquet"
            load = _uptime()
            wall, peak = _run_batch([str(src), "-o", str(out), *extra])
            outs[label] = out
            rows.append({"engine": label, "rows": n, "seconds": round(wall, 1),
                         "rows_per_s": round(n / wall), "peak_rss_mib": round(peak / 1024),
                         "uptime": load})
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        frames = {k: pq.read_table(v).to_pandas() for k, v in outs.items()}
        base = frames.pop("serial (local)")
        for label, frame in frames.items():
            pd.testing.assert_frame_equal(base, frame)
            print(f"{label}: output identical to the serial run ({len(frame):,} rows)")
        errors = int((base["error"] != "").sum())
        print(f"rows with an error: {errors}")
    return rows


def bench_reload(clients: int = 32) -> dict:
    """Two instances (waitress; gunicorn --workers 2) on one copy of the real data, one
    store and one index cache; an import from the CLI under load: seconds until both serve it."""
    import shapely

    import layers

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
            subprocess.run([sys.executable, "-m", "server.cli", "import", str(redline(tmp)),
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
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--skip-batch", action="store_true")
    p.add_argument("--reload", action="store_true", help="also: import under load, 2 instances")
    a = p.parse_args()
    from machine import cpu_model  # bench/machine.py (the script's folder is on sys.path)

    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs; {_uptime()}")
    if not a.skip_http:
        rows = bench_http(a.requests)
        print(f"HTTP speed-up --workers 2 / 1 process: "
              f"{rows[1]['req_per_s'] / rows[0]['req_per_s']:.2f}x")
    if a.reload:
        bench_reload()
    if not a.skip_batch:
        rows = bench_batch(a.rows)
        print(f"batch speed-up dask 2 / dask 1 workers: "
              f"{rows[1]['seconds'] / rows[2]['seconds']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
