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


def run_measured(cmd, env=None):
    """Wall seconds and peak RSS (MiB) of one process (``os.wait4`` gives its own rusage)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, err.decode()


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
    import layers

    data_dir = layers.PACKAGE_DIR
    rows = []
    try:
        # the zone-index cache is warmed once (what every later command finds)
        wall, rss, _ = run_measured([planmap, "check", "--point", "122.84,45.62"], env)
        cold = [(wall, rss)]
        for n in [int(float(v)) for v in args.sizes.split(",")]:
            pts = work / f"p{n}.csv"
            write_points(pts, n, rng)
            mine, theirs = work / "mine.csv", work / "theirs.csv"
            t_p, rss_p, _ = run_measured([planmap, "zones", str(pts), "-o", str(mine)], env)
            t_s, rss_s, _ = run_measured([sys.executable, "-c", SJOIN_SCRIPT, str(data_dir),
                                          str(pts), str(theirs)], env)
            pairs_p, pairs_s = count_rows(mine), count_rows(theirs)
            rows.append((n, pairs_p, pairs_s, t_p, rss_p, t_s, rss_s))
            print(f"[{n:,}: planmap {t_p:.2f} s {rss_p:.0f} MiB, sjoin {t_s:.2f} s "
                  f"{rss_s:.0f} MiB, pairs {pairs_p:,} / {pairs_s:,}]", file=sys.stderr,
                  flush=True)
            for f in (pts, mine, theirs):
                f.unlink()
        # check --point: cold = no cache (build + store), warm = the stored index
        for _ in range(args.check_runs - 1):
            shutil.rmtree(work / "cache", ignore_errors=True)
            cold.append(run_measured([planmap, "check", "--point", "122.84,45.62"], env)[:2])
        warm = [run_measured([planmap, "check", "--point", "122.84,45.62"], env)[:2]
                for _ in range(args.check_runs)]
        # import of seeded parcels into a private copy of the data
        parcels = work / "parcels.shp.zip"
        write_parcels(parcels, args.parcels, rng)
        copy = layers.copy_data_dir(work / "data")
        t_i, rss_i, err_i = run_measured(
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
    print("| points | pairs (planmap / sjoin) | `planmap zones` | peak RSS | sjoin script | "
          "peak RSS | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, pp, ps, tp, rp, ts, rs in rows:
        same = "" if pp == ps else " **differ**"
        print(f"| {n:,} | {pp:,} / {ps:,}{same} | {tp:.2f} s | {rp:,.0f} MiB | {ts:.2f} s | "
              f"{rs:,.0f} MiB | {ts / tp:.1f}× |")
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    print("\n| command | runs | median | best | peak RSS |\n|---|---:|---:|---:|---:|")
    print(f"| `planmap check --point 122.84,45.62`, cold (no cache: build + store) | "
          f"{len(cold)} | {med([w for w, _ in cold]):.2f} s | {min(w for w, _ in cold):.2f} s | "
          f"{max(r for _, r in cold):,.0f} MiB |")
    print(f"| `planmap check --point 122.84,45.62`, warm (stored index) | {len(warm)} | "
          f"{med([w for w, _ in warm]):.2f} s | {min(w for w, _ in warm):.2f} s | "
          f"{max(r for _, r in warm):,.0f} MiB |")
    print(f"| `planmap import` {args.parcels:,} parcels (zipped Shapefile; {imported:,} "
          f"imported) | 1 | {t_i:.2f} s | {t_i:.2f} s | {rss_i:,.0f} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
