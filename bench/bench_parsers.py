"""Input parsers and CRS benchmark: points batches, GCJ-02, site files, hostile input.

Run from the repository root:

    python bench/bench_parsers.py

Prints a markdown section (copied into docs/PERFORMANCE.md, "Input parsers and CRS").
Inputs are generated, seeded; each figure is the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from planmap.geo import crs as gcrs  # noqa: E402
from planmap.geo.errors import PlanmapError  # noqa: E402
from planmap.geo.io import parse_points, parse_site  # noqa: E402
from planmap.geo.limits import Limits  # noqa: E402

BIG = Limits(max_bytes=200 * 1024 * 1024, max_vertices=1_000_000, max_points=2_000_000)


def timed(fn, repeat):
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def refused(fn):
    def run():
        try:
            fn()
        except PlanmapError:
            return
        raise AssertionError("hostile input was accepted")
    return run


def points_csv(n, rng):
    lon = rng.uniform(121.6, 124.4, n)
    lat = rng.uniform(44.2, 46.3, n)
    rows = "\n".join(f"p{i},{a:.6f},{b:.6f}" for i, (a, b) in enumerate(zip(lon, lat,
                                                                             strict=True)))
    return ("id,lon,lat\n" + rows + "\n").encode()


def circle(n):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.column_stack([122.84 + 0.02 * np.cos(t), 45.62 + 0.015 * np.sin(t)])
    return shapely.Polygon(ring)


def site_files(n):
    poly = circle(n)
    ring = np.asarray(poly.exterior.coords)
    files = {
        "GeoJSON": (json.dumps({"type": "Polygon", "coordinates": [ring.tolist()]}).encode(),
                    "geojson"),
        "WKT": (shapely.to_wkt(poly, rounding_precision=9).encode(), "wkt"),
        "KML": (('<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon>'
                 "<outerBoundaryIs><LinearRing><coordinates>"
                 + " ".join(f"{x:.9f},{y:.9f}" for x, y in ring)
                 + "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>"
                 ).encode(), "kml"),
    }
    east, north = gcrs.from_wgs84(ring[:, 0], ring[:, 1], "EPSG:4529")
    rows = [f"J{i},1,{y:.3f},{x:.3f}" for i, (x, y) in enumerate(zip(east, north,
                                                                      strict=True))]
    txt = ["[属性描述]", "坐标系=2000国家大地坐标系", "几度分带=3", "带号=41", "[地块坐标]",
           f"{len(rows)},0,1,bench,面,,,,@", *rows]
    files["国土 TXT"] = ("\n".join(txt).encode("gb18030"), "txt")
    import geopandas as gpd

    with tempfile.TemporaryDirectory() as tmp:
        gpd.GeoDataFrame(geometry=[poly], crs="EPSG:4326").to_file(os.path.join(tmp, "s.shp"))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for ext in (".shp", ".shx", ".dbf", ".prj"):
                zf.write(os.path.join(tmp, "s" + ext), "s" + ext)
    files["zipped Shapefile"] = (buf.getvalue(), "shapefile")
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    load = os.getloadavg()[0]
    lines = ["## Input parsers and CRS", "",
             f"Command: `python bench/bench_parsers.py` ({time.strftime('%Y-%m-%d')}). "
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
             f"{platform.python_version()}; load average at start {load:.2f} (the machine "
             "is shared, so figures are upper bounds). Median of "
             f"{args.repeat} runs.", "",
             "| what | size | time | rate |", "|---|---:|---:|---:|"]

    for n in (100_000, 1_000_000):
        data = points_csv(n, rng)
        for crs in ("EPSG:4326", "gcj02"):
            t = timed(lambda d=data, c=crs: parse_points(d, crs=c, limits=BIG), args.repeat)
            lines.append(f"| `parse_points` CSV, crs={crs} | {n:,} points "
                         f"({len(data) / 1e6:.1f} MB) | {t:.2f} s | {n / t / 1e3:,.0f} k/s |")
    lon = rng.uniform(121.5, 124.8, 1_000_000)
    lat = rng.uniform(44.0, 46.5, 1_000_000)
    glon, glat = gcrs.wgs84_to_gcj02(lon, lat)
    east, north = gcrs.from_wgs84(lon, lat, "EPSG:4529")
    for label, fn in (("`wgs84_to_gcj02`", lambda: gcrs.wgs84_to_gcj02(lon, lat)),
                      ("`gcj02_to_wgs84` (iterated to < 0.1 mm)",
                       lambda: gcrs.gcj02_to_wgs84(glon, glat)),
                      ("`to_wgs84` from EPSG:4529 (with area check)",
                       lambda: gcrs.to_wgs84(east, north, "EPSG:4529")),
                      ("`metric_xy` (WGS 84 → EPSG:4550)", lambda: gcrs.metric_xy(lon, lat))):
        t = timed(fn, args.repeat)
        lines.append(f"| {label} | 1,000,000 points | {t:.2f} s | {1e6 / t / 1e6:.1f} M/s |")

    n = 100_000
    for label, (data, fmt) in site_files(n).items():
        t = timed(lambda d=data, f=fmt: parse_site(d, fmt=f, limits=BIG), args.repeat)
        lines.append(f"| `parse_site` {label}, one polygon | {n:,} vertices "
                     f"({len(data) / 1e6:.1f} MB) | {t:.2f} s | {n / t / 1e3:,.0f} k vertices/s |")

    hostile = {
        "JSON nested 100,000 deep": lambda: parse_site("[" * 100_000 + "]" * 100_000,
                                                       fmt="geojson"),
        "GeoJSON ring of 1,000,000 vertices (limit 200,000)": lambda: parse_site(
            '{"type":"Polygon","coordinates":[[' + ",".join(["[122.8,45.6]"] * 1_000_000)
            + "]]}"),
        "WKT with 100,000 nested GEOMETRYCOLLECTIONs": lambda: parse_site(
            "GEOMETRYCOLLECTION (" * 100_000 + "POINT (1 2)" + ")" * 100_000, fmt="wkt"),
        "zip bomb (20 MiB of zeros in a .txt member)": lambda: parse_site(_bomb(),
                                                                          fmt="shapefile"),
    }
    for label, fn in hostile.items():
        t = timed(refused(fn), args.repeat)
        lines.append(f"| refused: {label} | | {t * 1000:.0f} ms | |")
    print("\n".join(lines))


def _bomb():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.shp", b"")
        zf.writestr("pad.txt", b"\0" * (20 * 1024 * 1024))
    return buf.getvalue()


if __name__ == "__main__":
    main()
