"""Vector-tile benchmark (issue 12): tile p50/p99 at z10-z16 on a large synthetic layer.

Run from the repository root:

    python bench/bench_tiles.py                 # 100,000 parcels, print the figures (markdown)
    python bench/bench_tiles.py --n 20000 --samples 30
    python bench/bench_tiles.py --store /work/data/b/home_100000/store   # an in-place store layer

With ``--store`` (a GeoPackage store folder, read-only: it is copied first), the store's
bulk layer is served in place (``server/tiles.py`` calling ``layers/tileseed.py cut_tile``)
and its tiles are timed twice
through the app, cache off: **cut** (every tile cut from the store's R-tree when asked) and
**seeded** (after ``layers/tileseed.py`` seeded the copy's version with z10-z12, as an import
does; the time seeding took is printed).  Per request: wall time and the process's CPU time
(``time.process_time``, robust to the load of a shared machine), p50 and p99.  Tiles are
drawn (seeded) under random parcels, so they hold parcels.

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


def _store_tiles(client, layer, z, sample):
    """Time each tile of ``sample`` once: (wall ms, cpu ms, gzip bytes, raw bytes) lists."""
    wall, cpu, sizes, raws = [], [], [], []
    for x, y in sample:
        t, c = time.perf_counter(), time.process_time()
        r = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.data
        sizes.append(len(r.data))
        raws.append(gzip.decompress(r.data) if r.headers.get("Content-Encoding") == "gzip"
                    else r.data)
    return wall, cpu, sizes, raws


def main_store(args) -> int:
    """The ``--store`` mode (see the module docstring)."""
    import random
    import shutil

    import mapbox_vector_tile
    import shapely
    from planmap.layers.store import open_store
    from planmap.layers.storequery import store_layer
    from planmap.layers.tileseed import seed_version, seeds_of
    from planmap.server import create_app

    src = Path(args.store)
    layer = args.layer or open_store(src).layers()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench_tiles_store_"))
    try:
        t = time.perf_counter()
        shutil.copytree(src, tmp / "home" / "store")
        copy_s = time.perf_counter() - t
        store = open_store(tmp / "home" / "store")
        source = store_layer(store, layer)
        if seeds_of(source) is not None:
            print("the store's version is seeded already: 'cut' would read the seeds")
            return 1
        rng = random.Random(args.seed)
        ords = sorted(rng.sample(range(1, source.size()), min(args.samples, source.size() - 1)))
        _o, geoms, _p = source.fetch(ords)
        pts = shapely.get_coordinates(shapely.point_on_surface(geoms))

        def tile_of(lon, lat, z):
            n = 1 << z
            return (int((lon + 180) / 360 * n),
                    int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))

        samples = {z: [tile_of(lon, lat, z) for lon, lat in pts] for z in ZOOMS}
        results = {}
        for mode in ("cut", "seeded"):
            if mode == "seeded":
                t, c = time.perf_counter(), time.process_time()
                meta = seed_version(store, layer, source.version, source.count)
                seed_wall, seed_cpu = time.perf_counter() - t, time.process_time() - c
            app = create_app({"HOME": str(tmp / "home"), "DB_PATH": str(tmp / f"{mode}.db"),
                              "WORKERS": 0, "TILE_CACHE_BYTES": 0,
                              "TILE_MIN_ZOOM": min(ZOOMS)})
            client = app.test_client()
            client.get(f"/tiles/{layer}/16/0/0.mvt")  # first request: the app's lazy state
            for z in ZOOMS:
                results[(mode, z)] = _store_tiles(client, layer, z, samples[z])
        load = os.getloadavg()
        print(f"Machine: {cpu_model()}, {os.cpu_count()} CPUs, Python "
              f"{platform.python_version()}; `uptime` load average {load[0]:.2f}, "
              f"{load[1]:.2f}, {load[2]:.2f} at the end (shared machine).")
        print(f"Store layer {layer!r}: {source.count:,} features ({src}, copied in "
              f"{copy_s:.1f} s); seeding z{meta['min_zoom']}-z{meta['max_zoom']}: "
              f"{meta['tiles']} tiles in {seed_wall:.1f} s wall / {seed_cpu:.1f} s CPU.\n")
        print("| zoom | tiles | parcels/tile median (max) | gzip KB median (max) | cut p50 / p99 "
              "wall | cut p50 / p99 CPU | seeded p50 / p99 wall | seeded p50 / p99 CPU |")
        print("|---|---|---|---|---|---|---|---|")
        worst = {}
        for z in ZOOMS:
            cw, cc, sizes, raws = results[("cut", z)]
            sw, sc, _s2, raws2 = results[("seeded", z)]
            counts = [len(mapbox_vector_tile.decode(r)[layer]["features"]) if r else 0
                      for r in raws]
            assert [len(r) > 0 for r in raws] == [len(r) > 0 for r in raws2]
            worst[z] = (pct(cw, 99), pct(sw, 99))
            print(f"| {z} | {len(cw)} | {statistics.median(counts):.0f} ({max(counts)}) | "
                  f"{statistics.median(sizes) / 1024:.1f} ({max(sizes) / 1024:.1f}) | "
                  f"{pct(cw, 50):.1f} / {pct(cw, 99):.1f} ms | {pct(cc, 50):.1f} / "
                  f"{pct(cc, 99):.1f} ms | {pct(sw, 50):.1f} / {pct(sw, 99):.1f} ms | "
                  f"{pct(sc, 50):.1f} / {pct(sc, 99):.1f} ms |")
        print(f"\nWorst wall p99: cut {max(w[0] for w in worst.values()):.1f} ms, seeded "
              f"{max(w[1] for w in worst.values()):.1f} ms (target {TARGET_P99_MS} ms).")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="parcels (default 100,000)")
    ap.add_argument("--samples", type=int, default=60, help="tiles per zoom")
    ap.add_argument("--baseline-samples", type=int, default=10, help="baseline tiles per zoom")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--store", help="a GeoPackage store folder: time its bulk layer's tiles "
                    "cut in place and seeded (the folder is copied, not written)")
    ap.add_argument("--layer", help="the store layer (default: its first)")
    args = ap.parse_args(argv)
    if args.store:
        return main_store(args)

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
