"""Shapefile vertex limit: refused from the record headers vs after GDAL has read it.

Run from the repository root:

    python bench/bench_shp_limit.py [--vertices 6000000]

Builds a zipped shapefile holding one polygon of ``--vertices`` vertices (about 14 MiB
zipped for 6 M, as in issue 22 item 6), then, each in a fresh process so peak RSS is its
own, parses it with the default limits twice: with the header pre-check
(``geo.io.shp_precheck``, the code as shipped) and without it (the naive baseline:
the limit checked only once GDAL has read every coordinate).  Prints wall time, the
growth of peak RSS and the error code; figures go into docs/SECURITY.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(vertices: int) -> bytes:
    import geopandas as gpd
    import numpy as np
    import shapely

    # Vertices on a 16 x 16 grid of 1e-4° steps inside Baicheng: compresses about 9x, like
    # the attack's file (validity is never reached: the limit comes first).
    rng = np.random.default_rng(20)
    ring = np.column_stack([122.84 + rng.integers(0, 16, vertices - 1) * 1e-4,
                            45.62 + rng.integers(0, 16, vertices - 1) * 1e-4])
    ring = np.vstack([ring, ring[:1]])
    frame = gpd.GeoDataFrame({"name": ["big"]}, geometry=[shapely.Polygon(ring)],
                             crs="EPSG:4326")
    with tempfile.TemporaryDirectory() as tmp:
        frame.to_file(Path(tmp) / "site.shp", engine="pyogrio")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(tmp).iterdir()):
                zf.write(p, p.name)
    return buf.getvalue()


def _peak_mib() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def child(path: str, precheck: bool) -> None:
    import planmap.geo.io as parsers
    import planmap.geo.io.shapefile as shapefile
    from planmap.geo.errors import PlanmapError

    if not precheck:
        shapefile.shp_precheck = lambda *a, **k: None  # the naive baseline
    data = Path(path).read_bytes()
    before = _peak_mib()
    started = time.perf_counter()
    try:
        parsers.parse_site(data, fmt="shapefile")
        code = "accepted"
    except PlanmapError as exc:
        code = exc.code
    elapsed = time.perf_counter() - started
    after = _peak_mib()
    print(json.dumps({"seconds": elapsed, "rss_growth_mib": after - before,
                      "code": code}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vertices", type=int, default=6_000_000)
    ap.add_argument("--child", nargs=2, metavar=("PATH", "PRECHECK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1] == "1")
        return
    data = build(args.vertices)
    with tempfile.NamedTemporaryFile(suffix=".zip", delete=False) as f:
        f.write(data)
    try:
        print(f"zip: {len(data) / 2**20:.1f} MiB, {args.vertices} vertices; "
              f"load average {os.getloadavg()[0]:.2f}")
        print("| run | time (s) | peak RSS growth (MiB) | answer |")
        print("|---|---|---|---|")
        for label, flag in (("baseline: limit after GDAL read", "0"),
                            ("header pre-check (shipped)", "1")):
            out = subprocess.run([sys.executable, __file__, "--child", f.name, flag],
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {label} | {row['seconds']:.3f} | {row['rss_growth_mib']:.0f} | "
                  f"{row['code']} |")
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    main()
