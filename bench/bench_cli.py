"""Command line, whole processes: ``planmap zones`` vs a geopandas.sjoin script, ``planmap
check --point`` cold and warm, ``planmap import`` of 10^5 parcels.

Run from the repository root, in the project's venv:

    python bench/bench_cli.py [--sizes 1e5,1e6,1e7] [--parcels 100000]

Each figure is one process started from scratch (interpreter start, imports, reading the
data, the work, writing the output), timed from outside, with its peak RSS (``wait4``).
The baseline is what a GIS analyst would write: read the same layer files with geopandas,
``gpd.sjoin(points, zones, predicate="within")``, ``to_csv`` (reading the CSV 10^6 rows at a
time, so it can run at 10^7 points at all). Both write CSV pairs ``point_id,zone_id,layer``;
the pair counts are checked equal. Points are uniform over Baicheng's bounding box (seeded);
parcels are seeded squares. Prints a markdown table for docs/PERFORMANCE.md
(``## CLI (whole process)``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from machine import cpu_model  # bench/machine.py (the script's folder is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

BOUNDS = (121.6, 44.2, 124.4, 46.4)  # around Baicheng (the service area's bounding box)

SJOIN_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import geopandas as gpd
    import pandas as pd

    data_dir, points, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    catalog = json.loads((data_dir / "catalog.json").read_text("utf-8"))
    frames = []
    for entry in catalog["layers"]:
        gdf = gpd.read_file(data_dir / entry["file"], engine="pyogrio")
        gdf = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
        frames.append(gdf[["id", "geometry"]].assign(layer=entry["id"]))
    zones = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    first = True
    for chunk in pd.read_csv(points, chunksize=1_000_000, dtype={"id": str}):
        pts = gpd.GeoDataFrame({"point_id": chunk["id"]},
                               geometry=gpd.points_from_xy(chunk["lon"], chunk["lat"]),
                               crs="EPSG:4326")
        joined = gpd.sjoin(pts, zones, predicate="within")
        joined[["point_id", "id", "layer"]].rename(columns={"id": "zone_id"}).to_csv(
            out, index=False, mode="w" if first else "a", header=first)
        first = False
""")


class Run(tuple):
    """(wall, rss, cpu, err) with names."""

    def __new__(cls, wall, rss, cpu, err):
        return super().__new__(cls, (wall, rss, cpu, err))

    wall = property(lambda self: self[0])
    rss = property(lambda self: self[1])
    cpu = property(lambda self: self[2])


def run_measured(cmd, env=None):
    """Wall seconds, peak RSS (MiB), CPU seconds (user + system) and stderr of one process.

    ``os.wait4`` gives the child's own rusage. CPU time is what the process itself used:
    on a shared machine the wall time also holds the other processes' turns.
    """
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return Run(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, err.decode())


def count_rows(path: Path) -> int:
    n = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 24):
            n += block.count(b"\n")
    return n - 1  # the header


def write_points(path: Path, n: int, rng) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    with path.open("wb") as fh:
        fh.write(b"id,lon,lat\n")
        step = 1_000_000
        for start in range(0, n, step):
            m = min(step, n - start)
            ids = pa.array(np.char.add("p", np.arange(start, start + m).astype(str)))
            lon = pa.array(np.round(rng.uniform(BOUNDS[0], BOUNDS[2], m), 6))
            lat = pa.array(np.round(rng.uniform(BOUNDS[1], BOUNDS[3], m), 6))
            pcsv.write_csv(pa.table({"id": ids, "lon": lon, "lat": lat}), fh,
                           write_options=pcsv.WriteOptions(include_header=False,
                                                           quoting_style="none"))


def write_parcels(path: Path, n: int, rng) -> None:
    """A zipped Shapefile of ``n`` seeded square parcels (50–150 m) around 白城市区."""
    import zipfile

    import geopandas as gpd
    import shapely

    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x = 122.70 + 0.0025 * (i % side) + rng.uniform(0, 0.0005, n)
    y = 45.45 + 0.0018 * (i // side) + rng.uniform(0, 0.0005, n)
    d = rng.uniform(0.0007, 0.0018, n)
    frame = gpd.GeoDataFrame(
        {"id": [f"parcel_{k}" for k in i], "name_zh": [f"地块{k}" for k in i],
         "citation_seed": "000_f32aaef515cfbb76", "citation_line": 624,
         "citation_quote": "以白城市区为主核心"},
        geometry=shapely.box(x, y, x + d, y + 0.7 * d), crs="EPSG:4326")
    folder = path.parent / "parcels_shp"
    folder.mkdir()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # field names are cut to 10 characters: expected
        frame.to_file(folder / "parcels.shp", engine="pyogrio", encoding="UTF-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1e5,1e6,1e7")
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--check-runs", type=int, default=5)
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    planmap = str(Path(sys.executable).with_name("planmap"))
    rng = np.random.default_rng(20261203)
    work = Path(tempfile.mkdtemp(prefix="bench_cli_"))
    env = dict(os.environ, PLANMAP_CACHE_DIR=str(work / "cache"))
    from planmap import layers

    data_dir = layers.PACKAGE_DIR
    rows = []
    try:
        # the zone-index cache is warmed once (what every later command finds)
        cold = [run_measured([planmap, "check", "--point", "122.84,45.62"], env)]
        for n in [int(float(v)) for v in args.sizes.split(",") if v.strip()]:
            pts = work / f"p{n}.csv"
            write_points(pts, n, rng)
            mine, theirs = work / "mine.csv", work / "theirs.csv"
            p = run_measured([planmap, "zones", str(pts), "-o", str(mine)], env)
            sj = run_measured([sys.executable, "-c", SJOIN_SCRIPT, str(data_dir), str(pts),
                               str(theirs)], env)
            pairs_p, pairs_s = count_rows(mine), count_rows(theirs)
            rows.append((n, pairs_p, pairs_s, p, sj))
            print(f"[{n:,}: planmap {p.wall:.2f} s (CPU {p.cpu:.2f} s) {p.rss:.0f} MiB, sjoin "
                  f"{sj.wall:.2f} s (CPU {sj.cpu:.2f} s) {sj.rss:.0f} MiB, pairs {pairs_p:,} / "
                  f"{pairs_s:,}; load {os.getloadavg()[0]:.1f}]", file=sys.stderr, flush=True)
            for f in (pts, mine, theirs):
                f.unlink()
        # check --point: cold = no cache (build + store), warm = the stored index
        for _ in range(args.check_runs - 1):
            shutil.rmtree(work / "cache", ignore_errors=True)
            cold.append(run_measured([planmap, "check", "--point", "122.84,45.62"], env))
        warm = [run_measured([planmap, "check", "--point", "122.84,45.62"], env)
                for _ in range(args.check_runs)]
        # import of seeded parcels into a private copy of the data
        parcels = work / "parcels.shp.zip"
        write_parcels(parcels, args.parcels, rng)
        copy = layers.copy_data_dir(work / "data")
        imp = run_measured(
            [planmap, "import", str(parcels), "--layer", "parcels", "--crs", "EPSG:4326",
             "--data-dir", str(copy), "--source", "bench parcels"], env)
        imported = len(layers.load(copy).layers["parcels"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()

    print(f"Machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; load average (1/5/15 min) "
          f"{load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f} at start, "
          f"{load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f} at end.\n")
    print("| points | pairs (planmap / sjoin) | `planmap zones` wall (CPU) | peak RSS | "
          "sjoin script wall (CPU) | peak RSS | speed-up wall (CPU) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, pp, ps, p, sj in rows:
        same = "" if pp == ps else " **differ**"
        print(f"| {n:,} | {pp:,} / {ps:,}{same} | {p.wall:.2f} s ({p.cpu:.2f} s) | "
              f"{p.rss:,.0f} MiB | {sj.wall:.2f} s ({sj.cpu:.2f} s) | {sj.rss:,.0f} MiB | "
              f"{sj.wall / p.wall:.1f}× ({sj.cpu / p.cpu:.1f}×) |")

    def med(xs):
        return sorted(xs)[len(xs) // 2]

    print("\n| command | runs | wall median (best) | CPU median (best) | peak RSS |")
    print("|---|---:|---:|---:|---:|")
    for label, runs in (("cold (no cache: build + store)", cold),
                        ("warm (stored index)", warm)):
        print(f"| `planmap check --point 122.84,45.62`, {label} | {len(runs)} | "
              f"{med([r.wall for r in runs]):.2f} s ({min(r.wall for r in runs):.2f} s) | "
              f"{med([r.cpu for r in runs]):.2f} s ({min(r.cpu for r in runs):.2f} s) | "
              f"{max(r.rss for r in runs):,.0f} MiB |")
    print(f"| `planmap import` {args.parcels:,} parcels (zipped Shapefile; {imported:,} "
          f"imported) | 1 | {imp.wall:.2f} s | {imp.cpu:.2f} s | {imp.rss:,.0f} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
