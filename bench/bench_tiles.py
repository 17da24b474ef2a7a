"""Vector-tile benchmark (issue 12): tile p50/p99 at z10-z16 on a large synthetic layer.

Run from the repository root:

    python bench/bench_tiles.py                 # 100,000 parcels, print the figures (markdown)
    python bench/bench_tiles.py --n 20000 --samples 30

The layer (``bench/synth_parcels.py``, seeded) is added to the built-in data as an import
would, and its tiles are requested through the app (Flask test client, in-process:
routing, the tile cache, ETag, gzip).  Per zoom, ``--samples`` tiles are drawn (seeded)
among the tiles that hold parcels:

* **cold**: ``TILE_CACHE_BYTES=0``, every tile cut and encoded (numpy encoder, geo/mvt.py);
* **cached**: the same tiles asked again with the cache on;
* **baseline**: the same tiles encoded by the ``mapbox-vector-tile`` package (pure Python),
  the naive way (at most ``--baseline-samples`` tiles per zoom: it is slow).

The layer's tile index (Web Mercator copy, STRtree, tag table) is built once before timing;
its build time and memory are printed too.  "parcels/tile" counts the features a tile
draws (after the low-zoom generalisation, ``geo.mvt.TileIndex.shown``).
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model  # bench/machine.py (the script's folder is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LAYER = "parcels"
ZOOMS = range(10, 17)
TARGET_P99_MS = 50


def tiles_with_parcels(box, z):
    """Every tile ``(x, y)`` at zoom ``z`` overlapping the lon/lat ``box``."""
    def xy(lon, lat):
        n = 1 << z
        return (int((lon + 180) / 360 * n),
                int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))
    x0, y1 = xy(box[0], box[1])
    x1, y0 = xy(box[2], box[3])
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def _rss_mb() -> float:
    import gc

    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(math.ceil(q / 100 * len(values))) - 1)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="parcels (default 100,000)")
    ap.add_argument("--samples", type=int, default=60, help="tiles per zoom")
    ap.add_argument("--baseline-samples", type=int, default=10, help="baseline tiles per zoom")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args(argv)

    import random

    from planmap.server import create_app, tiles
    from synth_parcels import BOX, catalog_entry, parcels

    tmp = tempfile.mkdtemp(prefix="bench_tiles_")
    t = time.perf_counter()
    gdf = parcels(args.n, seed=args.seed)
    gen_s = time.perf_counter() - t
    apps = {}
    for name, cache in (("cold", 0), ("cached", 256 * 1024 * 1024)):
        app = create_app({"DB_PATH": os.path.join(tmp, f"{name}.db"), "WORKERS": 0,
                          "TILE_CACHE_BYTES": cache, "TILE_MIN_ZOOM": min(ZOOMS),
                          "TILE_THRESHOLD_FEATURES": 1})  # tiled whatever --n
        data = app.extensions["planmap"].data
        data.layers[LAYER] = gdf
        data.catalog.append(catalog_entry(LAYER))
        apps[name] = app
    builds = {}
    rss_before = _rss_mb()
    for name, app in apps.items():
        with app.app_context():
            t = time.perf_counter()
            index = tiles.state().source.index(LAYER)
            index._tag_table()
            builds[name] = time.perf_counter() - t
        if name == "cold":
            builds["rss_mb"] = _rss_mb() - rss_before
    ref_index = None
    with apps["cold"].app_context():
        ref_index = tiles.state().source.index(LAYER)

    rng = random.Random(args.seed)
    rows = []
    for z in ZOOMS:
        candidates = tiles_with_parcels(BOX, z)
        sample = [rng.choice(candidates) for _ in range(args.samples)]
        times = {"cold": [], "cached": []}
        sizes, counts = [], []
        for name in ("cold", "cached"):
            client = apps[name].test_client()
            passes = 2 if name == "cached" else 1
            for p in range(passes):
                for x, y in sample:
                    t = time.perf_counter()
                    r = client.get(f"/tiles/{LAYER}/{z}/{x}/{y}.mvt",
                                   headers={"Accept-Encoding": "gzip"})
                    dt = (time.perf_counter() - t) * 1000
                    assert r.status_code == 200, r.data
                    if name == "cached" and p == 1:
                        times[name].append(dt)
                    if name == "cold":
                        times[name].append(dt)
                        sizes.append(len(r.data))
                        raw = gzip.decompress(r.data) if r.headers.get(
                            "Content-Encoding") == "gzip" else r.data
                        counts.append(len(ref_index.shown(z, x, y)) if raw else 0)
        direct = []  # the numpy encoder alone, no request around it (as the baseline)
        for x, y in sample:
            t = time.perf_counter()
            ref_index.tile(z, x, y)
            direct.append((time.perf_counter() - t) * 1000)
        base = []
        for x, y in sample[: args.baseline_samples]:
            t = time.perf_counter()
            ref_index.tile_reference(z, x, y)
            base.append((time.perf_counter() - t) * 1000)
        rows.append((z, len(sample), statistics.median(counts), max(counts),
                     statistics.median(sizes) / 1024, max(sizes) / 1024,
                     pct(times["cold"], 50), pct(times["cold"], 99),
                     pct(times["cached"], 50), pct(times["cached"], 99),
                     pct(direct, 50), pct(direct, 99), pct(base, 50), pct(base, 99), len(base)))

    load = os.getloadavg()
    print(f"Machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"`uptime` load average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} (shared machine).")
    from planmap.geo.mvt import GENERALISATION

    print(f"Layer: {args.n:,} synthetic parcels (bench/synth_parcels.py, seed {args.seed}, "
          f"8-20 vertices), generated in {gen_s:.1f} s; tile index built in "
          f"{builds['cold']:.1f} s (once per layer and data version); it adds "
          f"{builds['rss_mb']:.0f} MB to the process's RSS. Low zooms: {GENERALISATION}.\n")
    print("| zoom | tiles | parcels/tile median (max) | gzip KB median (max) | HTTP cold p50 | "
          "HTTP cold p99 | HTTP cached p50 | HTTP cached p99 | numpy encoder alone p50 / p99 | "
          "baseline mapbox-vector-tile alone p50 / p99 (n) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (z, n, cm, cx, sm, sx, c50, c99, h50, h99, d50, d99, b50, b99, nb) in rows:
        print(f"| {z} | {n} | {cm:.0f} ({cx}) | {sm:.1f} ({sx:.1f}) | {c50:.1f} ms | "
              f"{c99:.1f} ms | {h50:.2f} ms | {h99:.2f} ms | {d50:.1f} / {d99:.1f} ms | "
              f"{b50:.0f} / {b99:.0f} ms ({nb}) |")
    worst = max(r[7] for r in rows)
    print(f"\nWorst cold p99: {worst:.1f} ms (target {TARGET_P99_MS} ms).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
