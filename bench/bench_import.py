"""Import at scale: ``planmap import`` into the layer store vs PostGIS ``ogr2ogr`` + index.

    python bench/bench_import.py 100000 [1000000 ...]
    python bench/bench_import.py --file /tmp/parcels_1e6.gpkg   # a file made beforehand,
                                 # e.g. by bench/make_parcels.py (the issue's generator)

For each N: a seeded GeoPackage of N non-overlapping parcels inside Baicheng (8–83
vertices each, :func:`make_parcels`), then, each as its own process measured whole
(``/usr/bin/time -v``: wall time and peak RSS):

1. ``planmap import FILE --layer parcels --store DIR``  (GeoPackage store)
2. ``planmap import FILE --layer parcels --store postgresql://…``  (PostGIS store)
3. baseline: ``ogr2ogr -f PostgreSQL`` of the same file, then ``CREATE INDEX … USING gist``
   and ``ANALYZE`` (timed in the database).

PostGIS: ``PLANMAP_BENCH_DATABASE_URL`` (+ ``PLANMAP_BENCH_PG_DSN``, the same database
as a GDAL ``PG:`` string), else a throw-away cluster (``tests/pgcluster.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Inside Baicheng (洮北区 / 洮南市 farmland), clear of the city edge.
BOX = (122.35, 45.25, 123.15, 45.85)
CITATION = ("000_f32aaef515cfbb76", 849, "严格执行生态保护红线管理办法")
LAND_USE = ("水田", "旱地", "林地", "草地", "村庄", "坑塘水面", "农村道路")


def make_parcels(n: int, path: Path, seed: int = 12, chunk: int = 100_000) -> Path:
    """Write ``n`` non-overlapping parcels (seeded) to a GeoPackage; return its path.

    Each parcel is a star-shaped polygon of 8–83 vertices inside its own cell of a grid
    over :data:`BOX` (so no two overlap), with a 地类 (``dlmc``) and a plan citation.
    """
    import geopandas as gpd
    import pyogrio
    import shapely

    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(n * (BOX[2] - BOX[0]) / (BOX[3] - BOX[1]))))
    rows = int(np.ceil(n / cols))
    w, h = (BOX[2] - BOX[0]) / cols, (BOX[3] - BOX[1]) / rows
    if path.exists():
        path.unlink()
    for start in range(0, n, chunk):
        idx = np.arange(start, min(n, start + chunk))
        cx = BOX[0] + (idx % cols + 0.5) * w
        cy = BOX[1] + (idx // cols + 0.5) * h
        k = rng.integers(8, 84, size=len(idx))
        offsets = np.concatenate([[0], np.cumsum(k)])
        total = int(offsets[-1])
        owner = np.repeat(np.arange(len(idx)), k)
        pos = np.arange(total) - offsets[owner]
        angle = (pos + rng.uniform(0.1, 0.9, total)) / k[owner] * 2 * np.pi
        radius = rng.uniform(0.25, 0.48, total)
        x = cx[owner] + np.cos(angle) * radius * w
        y = cy[owner] + np.sin(angle) * radius * h
        # close each ring: repeat its first vertex after its last
        ring_idx = np.repeat(np.arange(len(idx)), k + 1)
        coords = np.column_stack([np.insert(x, offsets[1:], x[offsets[:-1]]),
                                  np.insert(y, offsets[1:], y[offsets[:-1]])])
        rings = shapely.linearrings(coords, indices=ring_idx)
        geoms = shapely.polygons(rings)
        frame = gpd.GeoDataFrame({
            "id": [f"parcel_{i}" for i in idx],
            "dlmc": [LAND_USE[i % len(LAND_USE)] for i in idx],
            "citation_seed": CITATION[0], "citation_line": CITATION[1],
            "citation_quote": CITATION[2],
        }, geometry=geoms, crs="EPSG:4326")
        pyogrio.write_dataframe(frame, path, layer="parcels", driver="GPKG",
                                append=start > 0)
    return path


def _timed(cmd, env=None) -> dict:
    """Run ``cmd`` under /usr/bin/time -v; return wall seconds and peak RSS (MB)."""
    out = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True,
                         env=env)
    if out.returncode:
        raise RuntimeError(f"{cmd[:3]} failed: {out.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", out.stderr)
    h, m, s = (float(g) if g else 0.0 for g in wall.groups())
    # user + system CPU of the process and its threads (not of the PostgreSQL server):
    # less sensitive than wall time to other work on a shared machine
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", out.stderr).group(1))
              for k in ("User", "System"))
    return {"s": round(h * 3600 + m * 60 + s, 1), "cpu_s": round(cpu, 1),
            "rss_mb": round(rss / 1024)}


def _pg():
    url = os.environ.get("PLANMAP_BENCH_DATABASE_URL")
    if url:
        return url, os.environ["PLANMAP_BENCH_PG_DSN"], None
    from tests.pgcluster import Cluster

    cluster = Cluster()
    import psycopg

    with psycopg.connect(cluster.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return cluster.url, f"PG:host={cluster.root} dbname=postgres user=planmap", cluster


def run(sizes, files=()) -> list[dict]:
    """Measure every size (and every given file); return one row per input."""
    import psycopg
    import pyogrio

    url, dsn, cluster = _pg()
    work = Path(tempfile.mkdtemp(prefix="planmap_bench_import_"))
    results = []
    try:
        for n in [*sizes, *files]:
            t0 = time.perf_counter()
            if isinstance(n, Path):
                src = n
                n = int(pyogrio.read_info(str(src))["features"])
            else:
                src = make_parcels(n, work / f"parcels_{n}.gpkg")
            row = {"n": n, "file": src.name, "generate_s": round(time.perf_counter() - t0, 1),
                   "file_mb": round(src.stat().st_size / 2**20),
                   "load_start": round(os.getloadavg()[0], 1)}
            env = dict(os.environ, PLANMAP_HOME=str(work / "home"))
            env.pop("PLANMAP_DATABASE_URL", None)
            base = [sys.executable, "-m", "planmap.server.cli", "import", str(src), "--layer",
                    "parcels", "--quiet", "--store"]
            row["planmap_gpkg"] = _timed([*base, str(work / f"store_{n}")], env)
            row["planmap_gpkg"]["load_end"] = round(os.getloadavg()[0], 1)
            shutil.rmtree(work / f"store_{n}", ignore_errors=True)
            row["planmap_postgis"] = _timed([*base, url], env)
            row["planmap_postgis"]["load_end"] = round(os.getloadavg()[0], 1)
            from planmap.layers.store import PostgisStore

            PostgisStore(url).drop_layer("parcels")  # the next N imports a new layer too
            table = f"ogr_parcels_{n}"
            row["ogr2ogr"] = _timed(["ogr2ogr", "-f", "PostgreSQL", dsn, str(src), "-nln",
                                     table, "-lco", "SPATIAL_INDEX=NONE", "-overwrite"])
            with psycopg.connect(url, autocommit=True) as conn:
                # the same sort memory as the PostGIS store's own index builds
                conn.execute("SET maintenance_work_mem = '256MB'")
                t0 = time.perf_counter()
                conn.execute(f"CREATE INDEX ON {table} USING gist (geom)")
                conn.execute(f"ANALYZE {table}")
                row["ogr2ogr"]["index_s"] = round(time.perf_counter() - t0, 1)
                row["ogr2ogr"]["load_end"] = round(os.getloadavg()[0], 1)
                conn.execute(f"DROP TABLE {table}")
            base_s = row["ogr2ogr"]["s"] + row["ogr2ogr"]["index_s"]
            for k in ("planmap_gpkg", "planmap_postgis"):
                row[k]["x_ogr2ogr"] = round(row[k]["s"] / base_s, 2)
            results.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if cluster is not None:
            cluster.stop()
    return results


if __name__ == "__main__":
    print(f"load: {os.getloadavg()}, cpus: {os.cpu_count()}", flush=True)
    args = sys.argv[1:]
    files = [Path(args[i + 1]) for i, a in enumerate(args) if a == "--file"]
    sizes = [int(a) for i, a in enumerate(args) if a != "--file" and
             (i == 0 or args[i - 1] != "--file")]
    run(sizes if sizes or files else [100_000], files)
