"""planmap at bureau scale, side by side with PostGIS on the same parcels in the same run.

Run:  python bench/bench_scale.py 10000 100000          (sizes; parcels from make_parcels.py)
      python bench/bench_scale.py 1000000 --index-only  (no import/serve: the zone index alone)

Per size N it:

* writes N parcels with ``bench/make_parcels.py`` (seeded) to a GeoPackage;
* **planmap**: ``planmap import`` into a private layer store (``PLANMAP_HOME/store``,
  GeoPackage; wall time, peak RSS of the whole process from ``/usr/bin/time``; ``--reuse
  DIR`` takes ``DIR/parcels_<N>.gpkg`` and ``DIR/home_<N>`` already imported, and
  ``--planmap-postgis`` serves planmap from a PostGIS store on the bench's cluster too) —
  the parcels are served in place from the store (layers/storequery.py), never read
  whole; starts ``planmap serve`` twice on a free loopback
  port (the first start builds the zone index and writes its cache, the second reads it)
  and reports start-up time to the first ``/-/health`` and the server's RSS; then HTTP
  p50/p99 of point queries ``GET /api/v1/zones`` at 1 and 32 clients, OGC
  ``/ogc/collections/<parcels>/items?bbox=…&limit=100`` and a 1 km² site check
  ``POST /api/v1/sitecheck`` (1 client), and the page weight (``/`` + ``/map/zh.js``, gzip);
* **PostGIS**: a throw-away cluster (``initdb`` as the ``postgres`` user in a temp folder,
  unix socket only, stopped and deleted at the end); ``ogr2ogr -f PostgreSQL`` load (wall
  time, client peak RSS), GiST index + ANALYZE time, and ``pgbench`` p50/p99 of the
  equivalent SQL (``ST_Covers`` point, ``&&``/``ST_Intersects`` bbox ``LIMIT 100``,
  ``ST_Area(ST_Intersection(…))`` of the same 1 km² site in EPSG:4550) at 1 and 32 clients.

``--index-only`` measures ``geo.index.ZoneIndex`` on the built-in layers plus the parcels
in-process: build time and RSS growth, cache write/read time and file size, and point /
site-check latency (no HTTP), for sizes whose import would not fit the time.

Only loopback traffic; every process it starts is stopped.  Prints a JSON document.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import _free_port, _pct, _rss_kib, _wait_ready  # noqa: E402
from machine import cpu_model  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SITE_DEG = (0.01272, 0.00899)  # ≈ 1 km × 1 km at 45.3° N
CITY = (121.64, 44.23, 124.37, 46.30)


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _timed(cmd, **kw) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run ``cmd`` under /usr/bin/time: (wall s, peak RSS KiB, result)."""
    t = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True,
                         **kw)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {res.stderr[-2000:]}")
    return wall, int(res.stderr.strip().splitlines()[-1]), res


def _points(n: int, seed: int):
    import shapely

    from planmap import layers

    city = layers.load().service_area
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        lon, lat = rng.uniform(CITY[0], CITY[2]), rng.uniform(CITY[1], CITY[3])
        if shapely.contains_xy(city, lon, lat):
            out.append((lon, lat))
    return out


def _load(port: int, requests: list, clients: int) -> list[float]:
    """Latencies (s) of ``requests`` [(method, path, body)] shared by ``clients`` threads."""
    results, errors, cursor, lock = [], [], [0], threading.Lock()

    def work():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                i = cursor[0]
                if i >= len(requests):
                    break
                cursor[0] += 1
            method, path, body = requests[i]
            t = time.perf_counter()
            conn.request(method, path, body=body, headers={"Accept-Encoding": "gzip",
                                                           "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            results.append(time.perf_counter() - t)
            if not 200 <= r.status < 300:
                errors.append((r.status, path[:80]))
        conn.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return results


def _warm(port, body, timeout=1800.0) -> None:
    """Send one site check until the workers (spawned, loading their index) answer."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        c.request("POST", "/api/v1/sitecheck", body=body,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        c.close()
        if 200 <= r.status < 300:  # 201: the check is stored
            return
        time.sleep(1.0)
    raise RuntimeError("the site-check workers never answered")


def _stats(lat: list[float]) -> dict:
    return {"n": len(lat), "p50_ms": round(_pct(lat, 0.5) * 1000, 1),
            "p99_ms": round(_pct(lat, 0.99) * 1000, 1)}


def _tree_rss_kib(pid: int) -> int:
    total = _rss_kib(pid)
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True,
                         text=True).stdout.split()
    for child in out:
        try:
            total += _rss_kib(int(child))
        except (OSError, RuntimeError):
            pass
    return total


def _serve(env, port):
    cmd = [sys.executable, "-m", "planmap.server.cli", "serve", "--host", "127.0.0.1", "--port",
           str(port), "--threads", "16"]
    log = open(Path(env["PLANMAP_DB_PATH"]).with_suffix(f".{port}.log"), "wb")  # noqa: SIM115
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    _wait_ready(port, proc, timeout=1800)
    return proc, time.perf_counter() - t


def _get(port, path, gz=True) -> bytes:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("GET", path, headers={"Accept-Encoding": "gzip"} if gz else {})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError(f"GET {path}: {r.status}")
    return body


def _site_body(lon, lat) -> bytes:
    dx, dy = SITE_DEG
    ring = [[lon, lat], [lon + dx, lat], [lon + dx, lat + dy], [lon, lat + dy], [lon, lat]]
    return json.dumps({"geometry": {"type": "Polygon", "coordinates": [ring]}}).encode()


def bench_planmap(n: int, gpkg: Path, tmp: Path, args, store_url: str | None = None,
                  home: Path | None = None) -> dict:
    """planmap with the parcels in its layer store (GeoPackage under ``home``, or PostGIS
    at ``store_url``): served in place, never read whole (layers/storequery.py)."""
    out: dict = {}
    if home is None:
        home = tmp / "home"
    target = store_url or str(home / "store")
    if store_url or not (home / "store" / "parcels" / "state.json").is_file():
        wall, rss, _ = _timed([sys.executable, "-m", "planmap.server.cli", "import", str(gpkg),
                               "--layer", "parcels", "--store", target, "--quiet"], cwd=ROOT)
        out["import"] = {"wall_s": round(wall, 1), "peak_rss_mb": round(rss / 1024)}
    else:
        out["import"] = "reused (--reuse)"
    env = dict(os.environ, PLANMAP_DB_PATH=str(tmp / "checks.sqlite3"),
               PLANMAP_HOME=str(home), PLANMAP_CACHE_DIR=str(tmp / "cache"),
               PLANMAP_RATE_LIMIT_EXPENSIVE="0", PLANMAP_RATE_LIMIT_CHEAP="0")
    env.pop("PLANMAP_DATA_DIR", None)
    if store_url:
        env["PLANMAP_DATABASE_URL"] = store_url
    else:
        env.pop("PLANMAP_DATABASE_URL", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for start in ("first (builds the index cache)", "second (reads it)"):
        port = _free_port()
        proc, secs = _serve(env, port)
        try:
            out.setdefault("start", []).append({
                "start": start, "wall_s": round(secs, 1),
                "server_rss_mb": round(_rss_kib(proc.pid) / 1024)})
            if start.startswith("first") or args.start_only:
                continue
            pts = _points(args.requests + 64, n)
            cols = json.loads(_get(port, "/ogc/collections?f=json", gz=False))
            cid = next(c["id"] for c in cols["collections"] if c["id"].startswith("parcels"))
            point = [("GET", f"/api/v1/zones?lon={x:.6f}&lat={y:.6f}", None) for x, y in pts]
            bbox = [("GET", f"/ogc/collections/{cid}/items?bbox={x:.5f},{y:.5f},"
                     f"{x + 0.02:.5f},{y + 0.015:.5f}&limit=100&f=json", None)
                    for x, y in pts[: args.requests // 2]]
            site = [("POST", "/api/v1/sitecheck", _site_body(x, y))
                    for x, y in pts[: args.requests // 2]]
            _warm(port, site[0][2])
            _load(port, point[:32] + bbox[:8] + site[:8], 4)  # warm-up
            out["point_1"] = _stats(_load(port, point[: args.requests], 1))
            t = time.process_time()
            out["point_32"] = _stats(_load(port, point * 2, 32))
            out["point_32"]["load_generator_cpu_s"] = round(time.process_time() - t, 1)
            out["ogc_bbox_limit100_1"] = _stats(_load(port, bbox, 1))
            out["ogc_bbox_limit100_32"] = _stats(_load(port, bbox * 2, 32))
            out["sitecheck_1km2_1"] = _stats(_load(port, site, 1))
            out["uptime_during"] = _uptime()
            out["serve_rss_mb_after"] = {"server": round(_rss_kib(proc.pid) / 1024),
                                         "with_workers": round(_tree_rss_kib(proc.pid) / 1024)}
            page = _get(port, "/") + _get(port, "/map/zh.js")
            raw = _get(port, "/map/zh.js", gz=False)
            out["page_weight_kb"] = {"gzip_page_plus_map_js": round(len(page) / 1024),
                                     "map_js_raw": round(len(raw) / 1024)}
        finally:
            proc.terminate()
            proc.wait(60)
    return out


# ---------------------------------------------------------------------- PostGIS

class Cluster:
    """A throw-away PostgreSQL cluster on a unix socket, owned by ``postgres``."""

    def __init__(self, tmp: Path):
        self.dir = tmp / "pg"
        self.dir.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = str(_free_port())
        self.run_as([PG_BIN / "initdb", "-D", self.dir / "data", "-A", "trust", "-U",
                     "postgres", "-E", "UTF8"])
        self.run_as([PG_BIN / "pg_ctl", "-D", self.dir / "data", "-l", self.dir / "log", "-w",
                     "-o", f"-k {self.dir} -p {self.port} -c listen_addresses=''", "start"])
        self.dsn = f"host={self.dir} port={self.port} user=postgres dbname=postgres"

    def run_as(self, cmd):
        subprocess.run(["runuser", "-u", "postgres", "--", *map(str, cmd)], check=True,
                       capture_output=True)

    def psql(self, sql: str) -> float:
        t = time.perf_counter()
        subprocess.run([PG_BIN / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", self.dsn, "-c",
                        sql], check=True, capture_output=True)
        return time.perf_counter() - t

    def rss_mb(self) -> int:
        out = subprocess.run(["ps", "-u", "postgres", "-o", "rss="], capture_output=True,
                             text=True).stdout.split()
        return round(sum(int(x) for x in out) / 1024)

    def pgbench(self, script: str, clients: int, transactions: int, tmp: Path) -> dict:
        f = tmp / "bench.sql"
        f.write_text(script)
        logdir = tmp / f"pgb_{clients}_{time.monotonic_ns()}"
        logdir.mkdir()
        subprocess.run([PG_BIN / "pgbench", "-n", "-f", f, "-c", str(clients), "-j",
                        str(min(clients, 2)), "-t", str(transactions), "--random-seed=7",
                        "-l", "--log-prefix", logdir / "log", "-h", self.dir, "-p", self.port,
                        "-U", "postgres", "postgres"], check=True, capture_output=True)
        lat = [int(line.split()[2]) / 1e6 for p in logdir.iterdir()
               for line in p.read_text().splitlines()]
        return _stats(lat)

    def stop(self):
        try:
            self.run_as([PG_BIN / "pg_ctl", "-D", self.dir / "data", "-m", "fast", "-w",
                         "stop"])
        except subprocess.CalledProcessError:
            pass


def bench_postgis(n: int, gpkg: Path, tmp: Path, args) -> dict:
    out: dict = {}
    pg = Cluster(tmp)
    try:
        pg.psql("CREATE EXTENSION postgis")
        wall, rss, _ = _timed(["ogr2ogr", "-f", "PostgreSQL", f"PG:{pg.dsn}", str(gpkg),
                               "-nln", "parcels", "-lco", "GEOMETRY_NAME=geom",
                               "-lco", "SPATIAL_INDEX=NONE"])
        out["load_ogr2ogr"] = {"wall_s": round(wall, 1), "client_peak_rss_mb": round(rss / 1024)}
        out["gist_index_analyze_s"] = round(pg.psql(
            "CREATE INDEX parcels_geom ON parcels USING GIST (geom); ANALYZE parcels"), 2)
        out["server_rss_mb"] = pg.rss_mb()
        x0, y0, x1, y1 = CITY
        head = ("\\set xi random(0, 1000000)\n\\set yi random(0, 1000000)\n"
                f"\\set x {x0} + {x1 - x0} * :xi / 1000000.0\n"
                f"\\set y {y0} + {y1 - y0} * :yi / 1000000.0\n")
        point = head + ("SELECT id, dlmc FROM parcels WHERE ST_Covers(geom, "
                        "ST_SetSRID(ST_MakePoint(:x, :y), 4326));\n")
        bbox = head + ("SELECT id, dlbm, dlmc, ST_AsGeoJSON(geom) FROM parcels WHERE "
                       "ST_Intersects(geom, ST_MakeEnvelope(:x, :y, :x + 0.02, :y + 0.015, 4326))"
                       " LIMIT 100;\n")
        dx, dy = SITE_DEG
        site = head + ("SELECT id, ST_Area(ST_Intersection(ST_Transform(geom, 4550), "
                       f"ST_Transform(ST_MakeEnvelope(:x, :y, :x + {dx}, :y + {dy}, 4326), 4550)))"
                       " FROM parcels WHERE ST_Intersects(geom, "
                       f"ST_MakeEnvelope(:x, :y, :x + {dx}, :y + {dy}, 4326));\n")
        t = args.requests
        out["point_1"] = pg.pgbench(point, 1, t, tmp)
        out["point_32"] = pg.pgbench(point, 32, max(2 * t // 32, 10), tmp)
        out["bbox_limit100_1"] = pg.pgbench(bbox, 1, t // 2, tmp)
        out["site_1km2_1"] = pg.pgbench(site, 1, t // 2, tmp)
        if args.planmap_postgis:  # planmap's own PostGIS backend, on the same cluster
            sub = tmp / "planmap_on_postgis"
            sub.mkdir()
            url = f"postgresql://postgres@/postgres?host={pg.dir}&port={pg.port}"
            out["planmap_on_postgis"] = bench_planmap(n, gpkg, sub, args, store_url=url,
                                                      home=sub / "home")
    finally:
        pg.stop()
    return out


# ---------------------------------------------------------------------- index only

def bench_index(n: int, gpkg: Path, tmp: Path, args) -> dict:
    import pyogrio
    from planmap.geo import indexcache
    from planmap.geo.index import ZoneIndex
    from planmap.geo.sitecheck import site_check
    from shapely.geometry import box

    from planmap import layers

    data = layers.load()
    parcels = pyogrio.read_dataframe(gpkg).set_index("id", drop=False)
    parcels["accuracy"] = "official"
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data.layers = {**data.layers, "parcels": parcels}
    t = time.perf_counter()
    index = ZoneIndex.from_plan_data(data)
    build = time.perf_counter() - t
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    path = tmp / "idx.pickle"
    t = time.perf_counter()
    indexcache.save(index, path, "k")
    save = time.perf_counter() - t
    del index
    t = time.perf_counter()
    index = indexcache.load(path, "k")
    load = time.perf_counter() - t
    pts = _points(args.requests, n)
    lat = []
    for x, y in pts:
        s = time.perf_counter()
        index.query_point(x, y)
        lat.append(time.perf_counter() - s)
    sites = []
    for x, y in pts[: args.requests // 4]:
        s = time.perf_counter()
        site_check(index, box(x, y, x + SITE_DEG[0], y + SITE_DEG[1]))
        sites.append(time.perf_counter() - s)
    return {"build_s": round(build, 1), "build_peak_rss_growth_mb": round((rss1 - rss0) / 1024),
            "cache_save_s": round(save, 1), "cache_load_s": round(load, 1),
            "cache_file_mb": round(path.stat().st_size / 2**20),
            "query_point_in_process": _stats(lat), "site_check_in_process": _stats(sites)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sizes", type=int, nargs="+")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--requests", type=int, default=400, help="per measured series")
    ap.add_argument("--index-only", action="store_true")
    ap.add_argument("--no-postgis", action="store_true")
    ap.add_argument("--reuse", type=Path, help="folder with parcels_<N>.gpkg and "
                    "home_<N>/store already imported (skips generation and import)")
    ap.add_argument("--start-only", action="store_true",
                    help="only the two starts (time to the first /-/health, RSS)")
    ap.add_argument("--planmap-postgis", action="store_true",
                    help="also serve planmap from a PostGIS store (the throw-away cluster)")
    args = ap.parse_args(argv)
    from make_parcels import make_parcels, write_gpkg

    report = {"machine": f"{cpu_model()}, {os.cpu_count()} CPUs", "uptime_before": _uptime(),
              "sizes": {}}
    for n in args.sizes:
        tmp = Path(tempfile.mkdtemp(prefix=f"planmap-scale-{n}-"))
        os.chmod(tmp, 0o755)  # the postgres user creates its cluster folder inside
        try:
            home = None
            if args.reuse and (args.reuse / f"parcels_{n}.gpkg").is_file():
                gpkg, home = args.reuse / f"parcels_{n}.gpkg", args.reuse / f"home_{n}"
            else:
                gpkg = tmp / "parcels.gpkg"
                write_gpkg(gpkg, *make_parcels(n, args.seed))
            res: dict = {}
            if args.index_only:
                res["planmap_index"] = bench_index(n, gpkg, tmp, args)
            else:
                res["planmap"] = bench_planmap(n, gpkg, tmp, args, home=home)
            if not args.no_postgis:
                res["postgis"] = bench_postgis(n, gpkg, tmp, args)
            res["uptime_after"] = _uptime()
            report["sizes"][str(n)] = res
            print(json.dumps({n: res}, ensure_ascii=False), file=sys.stderr, flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
