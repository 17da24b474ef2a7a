"""Generate N synthetic land-use parcels (图斑) inside Baicheng City, deterministically.

    python bench/make_parcels.py 100000 /tmp/parcels_1e5.gpkg [--seed 12]

The parcels are cells of a jittered grid (shared, jittered corners; every edge bent by a
small sine with 1–19 intermediate vertices shared by both neighbours), so they tile the
plane without overlaps; only cells wholly inside the city are kept, and N of them are
picked at random (seeded).  Each parcel has 8–80 distinct vertices (9–81 ring
coordinates), a 国土调查 地类 (``dlbm`` code, ``dlmc`` name), an ``id`` and the plan
citation columns that ``planmap import`` needs for a new layer.  The same N and seed give
byte-identical geometry and attributes.  Written with pyogrio (GeoPackage, EPSG:4326).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import shapely

# Third national land survey (第三次全国国土调查) classes common in Baicheng, with weights.
LAND_CLASSES = (
    ("0103", "旱地", 30), ("0101", "水田", 6), ("0102", "水浇地", 8), ("0301", "乔木林地", 8),
    ("0305", "灌木林地", 2), ("0401", "天然牧草地", 10), ("0404", "其他草地", 8),
    ("0702", "农村宅基地", 5), ("0701", "城镇住宅用地", 2), ("0601", "工业用地", 1),
    ("1006", "农村道路", 2), ("1101", "河流水面", 2), ("1104", "坑塘水面", 3),
    ("0304", "其他林地", 2), ("1204", "盐碱地", 6), ("0003", "内陆滩涂", 3),
    ("1203", "田坎", 1), ("0508", "物流仓储用地", 1),
)
# The plan line that protects farmland (docs/IMPORT.md): a citation the importer verifies.
CITATION = ("000_f32aaef515cfbb76", 1173, "全面落实永久基本农田特殊保护制度，严守耕地红线")
MAX_MID = 19  # intermediate vertices per edge: 4 corners + 4 × (1…19) = 8…80 vertices
_CORNER_JITTER = 0.2  # of a cell side: the quads stay convex-ish and simple
_BEND = 0.05  # sine bend amplitude of an edge, of a cell side
_CHUNK = 100_000


def city_boundary():
    """Baicheng City (WGS 84 polygon) from the built-in data."""
    from planmap import layers

    return layers.load().service_area


def _cell_size(area_m2: float, n: int) -> float:
    # Only cells wholly inside count; a little spare so that at least n are kept.
    return math.sqrt(area_m2 / (n * 1.08))


def make_parcels(n: int, seed: int = 12, boundary=None):
    """Return ``(wkb, dlbm, dlmc)`` arrays of ``n`` parcels (WGS 84 WKB polygons).

    Parameters
    ----------
    n : int
        Parcels wanted (≥ 1).
    seed : int, optional
        Seed of every random choice.
    boundary : shapely.Polygon, optional
        Where the parcels lie (default: Baicheng City).

    Returns
    -------
    (ndarray of bytes, ndarray of str, ndarray of str)
    """
    if boundary is None:
        boundary = city_boundary()
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = boundary.bounds
    lat0 = (miny + maxy) / 2
    mx, my = 111_320.0 * math.cos(math.radians(lat0)), 110_574.0  # metres per degree
    from planmap.geo import crs

    area = float(crs.to_metric(boundary).area)
    while True:
        s = _cell_size(area, n)
        dx, dy = s / mx, s / my
        nx, ny = int((maxx - minx) / dx) + 1, int((maxy - miny) / dy) + 1
        # Corner nodes, jittered; shared by the four cells that meet there.
        jx = rng.uniform(-_CORNER_JITTER, _CORNER_JITTER, (ny + 1, nx + 1)).astype(np.float32)
        jy = rng.uniform(-_CORNER_JITTER, _CORNER_JITTER, (ny + 1, nx + 1)).astype(np.float32)
        # Per edge: how many intermediate vertices, and how far it bends (shared by neighbours).
        kh = rng.integers(1, MAX_MID + 1, (ny + 1, nx), dtype=np.int8)
        kv = rng.integers(1, MAX_MID + 1, (ny, nx + 1), dtype=np.int8)
        ah = rng.uniform(-_BEND, _BEND, (ny + 1, nx)).astype(np.float32)
        av = rng.uniform(-_BEND, _BEND, (ny, nx + 1)).astype(np.float32)
        # Cells wholly inside: their jittered quad (plus the bends) lies within the cell
        # widened by the jitter and the bend, so test that box.
        gi, gj = np.divmod(np.arange(ny * nx), nx)
        pad = _CORNER_JITTER + _BEND
        x0 = minx + (gj - pad) * dx
        y0 = miny + (gi - pad) * dy
        boxes = shapely.box(x0, y0, x0 + (1 + 2 * pad) * dx, y0 + (1 + 2 * pad) * dy)
        shapely.prepare(boundary)
        inside = np.flatnonzero(shapely.contains_properly(boundary, boxes))
        del boxes, x0, y0
        if len(inside) >= n:
            break
        area *= 0.9  # the city is not convex enough: smaller cells
    cells = np.sort(rng.choice(inside, size=n, replace=False))
    weights = np.array([w for *_, w in LAND_CLASSES], dtype=float)
    cls = rng.choice(len(LAND_CLASSES), size=n, p=weights / weights.sum())
    out = []
    for s0 in range(0, n, _CHUNK):
        ci, cj = np.divmod(cells[s0:s0 + _CHUNK], nx)
        out.append(_polygons(ci, cj, minx, miny, dx, dy, jx, jy, kh, kv, ah, av))
    wkb = np.concatenate(out)
    codes = np.array([c for c, *_ in LAND_CLASSES], dtype=object)[cls]
    names = np.array([m for _, m, _ in LAND_CLASSES], dtype=object)[cls]
    return wkb, codes, names


def _edge(x_a, y_a, x_b, y_b, k, amp, dx, dy):
    """Intermediate vertices of edges a→b: (m, MAX_MID) x and y, and the valid mask."""
    col = np.arange(1, MAX_MID + 1)
    t = col[None, :] / (k[:, None].astype(float) + 1)
    valid = col[None, :] <= k[:, None]
    t = np.where(valid, t, 0.0)
    ex, ey = (x_b - x_a) / dx, (y_b - y_a) / dy  # in cell units: bend ⟂ in cell units
    bend = amp[:, None] * np.sin(np.pi * t)
    px = x_a[:, None] + t * (x_b - x_a)[:, None] - bend * ey[:, None] * dx
    py = y_a[:, None] + t * (y_b - y_a)[:, None] + bend * ex[:, None] * dy
    return px, py, valid


def _polygons(ci, cj, minx, miny, dx, dy, jx, jy, kh, kv, ah, av) -> np.ndarray:
    """WKB polygons of the cells (row ci, column cj)."""

    def node(i, j):
        return minx + (j + jx[i, j]) * dx, miny + (i + jy[i, j]) * dy

    (x00, y00), (x01, y01) = node(ci, cj), node(ci, cj + 1)
    (x11, y11), (x10, y10) = node(ci + 1, cj + 1), node(ci + 1, cj)
    # Counter-clockwise: bottom edge →, right edge ↑, top edge ←, left edge ↓.  Each edge is
    # generated in its canonical direction (left→right, bottom→top) so both cells that
    # share it get the same vertices, then reversed where the ring runs the other way.
    bx, by, bm = _edge(x00, y00, x01, y01, kh[ci, cj], ah[ci, cj], dx, dy)
    rx, ry, rm = _edge(x01, y01, x11, y11, kv[ci, cj + 1], av[ci, cj + 1], dx, dy)
    tx, ty, tm = _edge(x10, y10, x11, y11, kh[ci + 1, cj], ah[ci + 1, cj], dx, dy)
    lx, ly, lm = _edge(x00, y00, x10, y10, kv[ci, cj], av[ci, cj], dx, dy)
    one = np.ones((len(ci), 1), dtype=bool)
    xs = np.hstack([x00[:, None], bx, x01[:, None], rx, x11[:, None], tx[:, ::-1],
                    x10[:, None], lx[:, ::-1], x00[:, None]])
    ys = np.hstack([y00[:, None], by, y01[:, None], ry, y11[:, None], ty[:, ::-1],
                    y10[:, None], ly[:, ::-1], y00[:, None]])
    mask = np.hstack([one, bm, one, rm, one, tm[:, ::-1], one, lm[:, ::-1], one])
    counts = mask.sum(axis=1)
    coords = np.column_stack([xs[mask], ys[mask]])
    ring_of = np.repeat(np.arange(len(ci)), counts)
    rings = shapely.linearrings(coords, indices=ring_of)
    return shapely.to_wkb(shapely.polygons(rings))


def write_gpkg(path: Path, wkb, codes, names, layer: str = "parcels") -> None:
    """Write the parcels as one GeoPackage layer (overwriting ``path``)."""
    from pyogrio.raw import write

    n = len(wkb)
    ids = np.array([f"parcel_{i:07d}" for i in range(n)], dtype=object)
    seed, line, quote = CITATION
    path = Path(path)
    path.unlink(missing_ok=True)
    fields = ["id", "dlbm", "dlmc", "citation_seed", "citation_line", "citation_quote"]
    data = [ids, codes, names, np.full(n, seed, dtype=object), np.full(n, line, dtype=np.int32),
            np.full(n, quote, dtype=object)]
    write(path, geometry=wkb, field_data=data, fields=fields, layer=layer,
          driver="GPKG", geometry_type="Polygon", crs="EPSG:4326")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of parcels")
    ap.add_argument("out", type=Path, help="GeoPackage to write")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("n must be at least 1")
    t = time.perf_counter()
    wkb, codes, names = make_parcels(args.n, args.seed)
    write_gpkg(args.out, wkb, codes, names)
    print(f"{args.n} parcels → {args.out} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
