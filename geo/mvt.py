"""Mapbox Vector Tiles of one layer: select by the tile's box, clip, simplify, encode.

Pure: no Flask, no files.  :class:`TileIndex` holds one layer's geometries in Web
Mercator (EPSG:3857) with an STRtree over them and the popup properties of every
feature; :meth:`TileIndex.tile` answers one ``z/x/y`` tile as MVT bytes.  A feature is in
a tile when its geometry intersects the tile's square (not the buffer around it): the
buffer only keeps outlines continuous across tile edges.

Polygon layers (parcels, 图斑, zones: what gets large) are encoded here with numpy, all
features of a tile at once (MVT 2.1 geometry commands, protobuf by hand); the
``mapbox-vector-tile`` package encodes points and lines and is the reference the tests
and ``bench/bench_tiles.py`` decode and compare with (it takes ~0.25 ms per feature in
Python: 0.4 s for a z12 tile of 1,600 parcels).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import mapbox_vector_tile
import numpy as np
import shapely
from planmap.geo.errors import PlanmapError

EARTH_R = 6378137.0
HALF_WORLD = math.pi * EARTH_R  # Web Mercator spans [-HALF_WORLD, HALF_WORLD] on both axes
MAX_LAT = 85.05112878  # the latitude where Web Mercator's square ends
EXTENT = 4096  # tile units per side (the MVT default)
BUFFER_UNITS = 64  # clip this far outside the tile, so strokes do not stop at its edge
# Low zooms are generalised: at zoom <= GENERALISE_MAX_ZOOM a polygon whose area is under
# MIN_PIXEL_AREA screen pixels (256-pixel tiles) is left out of the tile — too small to see
# or click there (at z10 one pixel is ~153 m of Web Mercator; a 10^5-parcel layer has
# ~25,000 parcels in one z10 tile).  Every polygon at or above it is always drawn, and
# every feature is in its tiles at the zooms above.  The tiles say so (GENERALISATION, sent
# by server/tiles.py).
GENERALISE_MAX_ZOOM = 12
MIN_PIXEL_AREA = 4.0
TILE_PIXELS = 256
# Outlines are snapped to a grid of snap_units(z) tile units: 1 (1/16 px) at z12 and above,
# 2 at z11, 4 (1/4 px) at z10 — below a pixel, so nothing visible moves, but a z10 tile's
# parcels keep a few corners each instead of every vertex (no per-feature simplify: it cost
# more than the encoding).
SNAP_BASE_ZOOM = 12
GENERALISATION = (f"generalised at z<={GENERALISE_MAX_ZOOM}: polygons under "
                  f"{MIN_PIXEL_AREA:g} square pixels ({TILE_PIXELS}-px tiles) left out; "
                  f"outlines snapped to 1/{EXTENT // TILE_PIXELS} px x 2^({SNAP_BASE_ZOOM}-z)")


def snap_units(z: int) -> int:
    """Grid (in tile units) the outlines of a zoom-``z`` tile are snapped to."""
    return 1 << max(0, SNAP_BASE_ZOOM - z)
QUOTE_MAX_CHARS = 160  # as the inline popups (server.mapbuild): the plan link shows all
# feature properties copied into tiles as text; citation and county are flattened below
CORE_PROPERTIES = ("id", "name_zh", "name_en", "layer", "kind", "accuracy", "source", "rule")
SKIP_PROPERTIES = frozenset({"geometry", "citation", "county", "extra_citations"})


class TileError(PlanmapError):
    """A tile address outside the tile grid or the served zoom range (HTTP 400)."""


def lonlat_to_mercator(xy: np.ndarray) -> np.ndarray:
    """EPSG:4326 lon/lat pairs (n, 2) to EPSG:3857 metres (latitudes clamped to ±85.05°)."""
    lon = xy[:, 0]
    lat = np.clip(xy[:, 1], -MAX_LAT, MAX_LAT)
    x = np.radians(lon) * EARTH_R
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * EARTH_R
    return np.column_stack([x, y])


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds ``(minx, miny, maxx, maxy)`` of tile ``z/x/y`` (XYZ, y down)."""
    size = 2 * HALF_WORLD / (1 << z)
    minx = -HALF_WORLD + x * size
    maxy = HALF_WORLD - y * size
    return (minx, maxy - size, minx + size, maxy)


def tile_lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Lon/lat bounds ``(west, south, east, north)`` of tile ``z/x/y``.

    The tiles of the top and bottom rows reach the poles: Web Mercator clamps latitudes
    beyond ±85.05° onto its edge (:func:`lonlat_to_mercator`), so they are drawn there.
    """
    minx, miny, maxx, maxy = tile_bounds(z, x, y)

    def lat(v):
        return math.degrees(2 * math.atan(math.exp(v / EARTH_R)) - math.pi / 2)

    n = 1 << z
    south = -90.0 if y == n - 1 else lat(miny)
    north = 90.0 if y == 0 else lat(maxy)
    return (math.degrees(minx / EARTH_R), south, math.degrees(maxx / EARTH_R), north)


def tiles_covering(bounds, z: int) -> list[tuple[int, int]]:
    """Tiles ``(x, y)`` of zoom ``z`` whose square meets the lon/lat ``bounds``.

    ``bounds`` is ``(west, south, east, north)``; a box on a tile edge takes both tiles
    (a feature touching the edge is in both, see :meth:`TileIndex.select`).
    """
    n = 1 << z
    west, south, east, north = (float(v) for v in bounds)

    def col(lon):
        return min(n - 1, max(0, math.floor((lon + 180.0) / 360.0 * n)))

    def row(lat):
        lat = math.radians(min(MAX_LAT, max(-MAX_LAT, lat)))
        return min(n - 1, max(0, math.floor((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * n)))

    # one tile of slack each way: the floor above and the tile's own bounds may round
    # differently on an edge; tiles that do not meet the box are dropped exactly below
    xs = range(max(0, col(west) - 1), min(n - 1, col(east) + 1) + 1)
    ys = range(max(0, row(north) - 1), min(n - 1, row(south) + 1) + 1)
    out = []
    for x in xs:
        for y in ys:
            w, s, e, nn = tile_lonlat_bounds(z, x, y)
            if w <= east and e >= west and s <= north and nn >= south:
                out.append((x, y))
    return out


def check_tile(z: int, x: int, y: int, min_zoom: int, max_zoom: int) -> None:
    """Raise :class:`TileError` unless ``z/x/y`` is a tile of the served zoom range."""
    if not min_zoom <= z <= max_zoom:
        raise TileError("tile_zoom_out_of_range",
                        f"zoom {z} is outside the served range {min_zoom}..{max_zoom} "
                        "(TILE_MIN_ZOOM..TILE_MAX_ZOOM)",
                        f"缩放级别 {z} 超出瓦片服务范围 {min_zoom}..{max_zoom}"
                        "（TILE_MIN_ZOOM..TILE_MAX_ZOOM）", param="z")
    n = 1 << z
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < n:
            raise TileError("tile_out_of_range",
                            f"{name}={value} is outside 0..{n - 1} at zoom {z}",
                            f"缩放级别 {z} 的 {name}={value} 超出 0..{n - 1}", param=name)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _scalar(value):
    """Return a value MVT can carry (str, int, float, bool); others as JSON text."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        return value
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def popup_properties(record: dict, layer_id: str) -> dict:
    """Return the properties a tiled feature carries for its popup (all MVT scalars).

    The core fields (id, names, kind, accuracy, source, rule), the citation flattened to
    ``citation_seed``/``citation_line``/``citation_quote``, ``county`` as comma-separated
    adcodes, and every other scalar column (e.g. a parcel's 地类) as it is.
    """
    out = {key: _text(record.get(key)) for key in CORE_PROPERTIES}
    out["layer"] = layer_id
    citation = record.get("citation")
    if isinstance(citation, str):
        try:
            citation = json.loads(citation)
        except ValueError:
            citation = None
    if isinstance(citation, dict):
        quote = _text(citation.get("quote"))
        if len(quote) > QUOTE_MAX_CHARS:
            quote = quote[:QUOTE_MAX_CHARS] + "…"
        out["citation_seed"] = _text(citation.get("seed"))
        try:
            out["citation_line"] = int(citation.get("line"))
        except (TypeError, ValueError):
            pass
        out["citation_quote"] = quote
    county = record.get("county")
    if isinstance(county, (list, tuple, np.ndarray)):
        out["county"] = ",".join(str(c) for c in county)
    elif county is not None:
        out["county"] = _text(county)
    for key, value in record.items():
        if key in out or key in SKIP_PROPERTIES or key in CORE_PROPERTIES:
            continue
        value = _scalar(value)
        if value is not None:
            out[str(key)] = value
    return {k: v for k, v in out.items() if v != ""}


# --- protobuf pieces (vector_tile.proto 2.1), built with numpy -----------------------------

def _varint(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varint bytes of non-negative ints: (flat uint8 bytes, byte count per value)."""
    v = np.asarray(values, dtype=np.uint64)
    count = np.ones(len(v), dtype=np.int64)
    top = int(v.max()) if len(v) else 0
    width = 1
    while width < 10 and top >= 1 << (7 * width):
        count += v >= np.uint64(1 << (7 * width))
        width += 1
    if width == 1:
        return v.astype(np.uint8), count
    # byte k of every value, written straight to its place (no n x width matrix)
    out_start = np.cumsum(count) - count
    out = np.empty(int(out_start[-1] + count[-1]), dtype=np.uint8)
    rest = v
    pos = out_start
    live = np.arange(len(v))
    for k in range(width):
        more = count[live] > k + 1
        byte = (rest & np.uint64(0x7F)).astype(np.uint8)
        byte[more] |= 0x80
        out[pos] = byte
        if not more.any():
            break
        live, rest, pos = live[more], rest[more] >> np.uint64(7), pos[more] + 1
    return out, count


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field_bytes(field: int, payload: bytes) -> bytes:
    """Return a length-delimited protobuf field."""
    return bytes([(field << 3) | 2]) + _varint_bytes(len(payload)) + payload


def _per_group(owner: np.ndarray, count: np.ndarray, groups: int) -> np.ndarray:
    return np.bincount(owner, weights=count, minlength=groups).astype(np.int64)


def _interleave(pieces: list) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate, per row, ragged byte pieces [(flat bytes, length per row), ...]."""
    rows = len(pieces[0][1])
    src = np.concatenate([p[0] for p in pieces])
    base = np.cumsum([0] + [len(p[0]) for p in pieces[:-1]])
    starts = np.empty((rows, len(pieces)), dtype=np.int64)
    lens = np.empty((rows, len(pieces)), dtype=np.int64)
    for k, (_flat, length) in enumerate(pieces):
        starts[:, k] = base[k] + np.cumsum(length) - length
        lens[:, k] = length
    starts, flat_lens = starts.ravel(), lens.ravel()
    out_start = np.cumsum(flat_lens) - flat_lens
    gather = np.arange(int(flat_lens.sum())) - np.repeat(out_start - starts, flat_lens)
    return src[gather], lens.sum(axis=1)


def _const(byte: int, rows: int):
    return np.full(rows, byte, dtype=np.uint8), np.ones(rows, dtype=np.int64)


def _value_message(value) -> bytes:
    """One ``Tile.Value``: string, double, sint/uint or bool."""
    if isinstance(value, bool):
        return bytes([0x38, 1 if value else 0])
    if isinstance(value, int):
        if value >= 0:
            return b"\x28" + _varint_bytes(value)
        return b"\x30" + _varint_bytes((-value << 1) - 1)
    if isinstance(value, float):
        return b"\x19" + np.float64(value).tobytes()
    return _field_bytes(1, str(value).encode("utf-8"))


def _renumber(ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct ``ids`` (ascending) and each id's position among them (no sort)."""
    used = np.zeros(size, dtype=bool)
    used[ids] = True
    local = np.cumsum(used) - 1
    return np.flatnonzero(used), local[ids]


def _zigzag(v: np.ndarray) -> np.ndarray:
    return ((v << 1) ^ (v >> 63)).astype(np.uint64)


def _polygon_rings(geoms: np.ndarray, owner: np.ndarray, ox: float, oy: float, unit: float,
                   snap: int = 1):
    """Quantized rings of polygon geometries in tile units (y down), on a ``snap``-unit grid.

    Returns the points (int64 x, y), the row of ``owner`` each ring belongs to and each
    ring's point count, rings ordered as the geometries; consecutive duplicate points,
    the closing point and rings left with no area are dropped (a hole with its shell),
    and rings are turned as MVT wants (exterior: positive area with y down).
    """
    if (shapely.get_type_id(geoms) == 3).all():  # no multipolygons: each is its own part
        parts, part_of = geoms, np.arange(len(geoms))
    else:
        parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, pt_ring = shapely.get_coordinates(rings, return_index=True)
    x = np.rint((coords[:, 0] - ox) / (unit * snap)).astype(np.int64) * snap
    y = np.rint((oy - coords[:, 1]) / (unit * snap)).astype(np.int64) * snap
    n_ring = len(rings)
    last = np.r_[pt_ring[1:] != pt_ring[:-1], True]
    first = np.r_[True, pt_ring[1:] != pt_ring[:-1]]
    keep = ~last & (first | np.r_[True, (x[1:] != x[:-1]) | (y[1:] != y[:-1])])
    x, y, pt_ring = x[keep], y[keep], pt_ring[keep]
    count = np.bincount(pt_ring, minlength=n_ring)
    start = np.cumsum(count) - count
    # surveyor's formula per ring, the next point wrapping to the ring's first
    nxt = np.arange(len(x)) + 1
    ends = np.r_[pt_ring[1:] != pt_ring[:-1], True]
    nxt[ends] = start[pt_ring[ends]]
    area = np.bincount(pt_ring, weights=(x * y[nxt] - x[nxt] * y).astype(np.float64),
                       minlength=n_ring)
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]]
    ok = (count >= 3) & (area != 0)
    part_ok = np.zeros(len(parts), dtype=bool)
    part_ok[ring_part[exterior]] = ok[exterior]
    ok &= part_ok[ring_part]
    flip = ok & np.where(exterior, area < 0, area > 0)
    if flip.any():
        j = np.arange(len(x)) - start[pt_ring]
        rev = np.where(flip[pt_ring], start[pt_ring] + count[pt_ring] - 1 - j, np.arange(len(x)))
        x, y = x[rev], y[rev]
    pt_ok = ok[pt_ring]
    return (x[pt_ok], y[pt_ok], owner[part_of[ring_part[ok]]], count[ok])


def _merge_rings(a, b):
    """Merge two ``_polygon_rings`` results, rings ordered by feature (stable)."""
    x = np.concatenate([a[0], b[0]])
    y = np.concatenate([a[1], b[1]])
    feat = np.concatenate([a[2], b[2]])
    count = np.concatenate([a[3], b[3]])
    order = np.argsort(feat, kind="stable")
    start = (np.cumsum(count) - count)[order]
    count = count[order]
    out_start = np.cumsum(count) - count
    gather = np.arange(int(count.sum())) - np.repeat(out_start - start, count)
    return x[gather], y[gather], feat[order], count


def _geometry_ints(x, y, ring_feat, ring_count, n_feat):
    """MVT polygon commands per ring (MoveTo, LineTo × k-1, ClosePath), cursor per feature."""
    n_pts = len(x)
    pt_ring = np.repeat(np.arange(len(ring_count)), ring_count)
    pt_feat = ring_feat[pt_ring]
    new_feat = np.r_[True, pt_feat[1:] != pt_feat[:-1]] if n_pts else np.zeros(0, bool)
    px = np.r_[0, x[:-1]] if n_pts else x
    py = np.r_[0, y[:-1]] if n_pts else y
    px = np.where(new_feat, 0, px)
    py = np.where(new_feat, 0, py)
    dx, dy = _zigzag(x - px), _zigzag(y - py)
    size = 2 * ring_count + 3
    ring_start = np.cumsum(size) - size
    out = np.empty(int(size.sum()), dtype=np.uint64)
    out[ring_start] = 9  # MoveTo, 1 point
    out[ring_start + 3] = (2 | ((ring_count - 1) << 3)).astype(np.uint64)  # LineTo k-1
    out[ring_start + size - 1] = 15  # ClosePath
    rs = np.cumsum(ring_count) - ring_count
    j = np.arange(n_pts) - rs[pt_ring]
    pos = ring_start[pt_ring] + np.where(j == 0, 1, 2 + 2 * j)
    out[pos], out[pos + 1] = dx, dy
    int_feat = np.repeat(ring_feat, size)
    return out, int_feat


@dataclass
class TileIndex:
    """One layer ready to be cut into tiles.

    Attributes
    ----------
    layer_id : str
        The MVT layer name in every tile.
    geoms : ndarray of shapely geometries
        The layer's own features (EPSG:4326, the same objects: no copy).  A tile's square
        is a lon/lat rectangle too (Web Mercator is a map of each axis on its own), so
        tiles are selected here and only the selected features are projected, per tile.
    tree : shapely.STRtree
        Over ``geoms``.
    polygonal : bool
        Every feature is a (multi)polygon: tiles are encoded with numpy.
    """

    layer_id: str
    geoms: np.ndarray
    tree: shapely.STRtree
    polygonal: bool = False

    @classmethod
    def from_frame(cls, gdf, layer_id: str) -> TileIndex:
        """Build from a layer's GeoDataFrame (EPSG:4326, index = feature id)."""
        # the layer's geometries themselves (a Web Mercator copy cost ~40-90 MB per 10^5
        # parcels); projected per tile, for the features a tile holds
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        columns = [c for c in gdf.columns if c != gdf.geometry.name]

        def records():
            for fid, record in zip(gdf.index, gdf[columns].to_dict("records"), strict=True):
                if not record.get("id"):
                    record["id"] = fid
                yield record

        return cls.from_records(geoms, records(), layer_id)

    @classmethod
    def from_records(cls, geoms, records, layer_id: str, feature_ids=None) -> TileIndex:
        """Build from geometries (EPSG:4326) and their property dicts (``id`` included).

        ``feature_ids`` (int array, optional) are the MVT feature ids minus one; default the
        positions. A layer cut per tile from a store passes its stable row ordinals, so a
        feature keeps its id across tiles.
        """
        geoms = np.asarray(geoms, dtype=object)
        # the properties are kept only as tags: (key, value) numbers into two tables
        # (a dict per feature cost ~1 KB: 100 MB per 10^5 parcels)
        keys, values, pairs, counts = {}, {}, [], []
        for record in records:
            props = popup_properties(record, layer_id)
            for key, value in props.items():
                pairs.append(keys.setdefault(key, len(keys)))
                pairs.append(values.setdefault((type(value).__name__, value), len(values)))
            counts.append(2 * len(props))
        types = shapely.get_type_id(geoms)
        index = cls(layer_id=layer_id, geoms=geoms, tree=shapely.STRtree(geoms),
                    polygonal=bool(len(geoms)) and bool(np.isin(types, (3, 6)).all()))
        # polygon areas (m^2 in Web Mercator) for the low-zoom rule; points/lines: never left out
        area = np.full(len(geoms), np.inf)
        poly = np.flatnonzero(np.isin(types, (3, 6)))
        for start in range(0, len(poly), 50_000):  # projected a slice at a time
            part = poly[start:start + 50_000]
            area[part] = shapely.area(shapely.transform(geoms[part], lonlat_to_mercator))
        index._area = area
        index._feature_ids = (None if feature_ids is None
                              else np.asarray(feature_ids, dtype=np.int64))
        index._key_names = list(keys)
        index._values = [v for (_t, v) in values]
        count = np.array(counts, dtype=np.int64)
        # each key and value as its whole Layer field, so a tile only joins them
        index._tags = (np.array([_field_bytes(3, k.encode("utf-8")) for k in keys], dtype=object),
                       np.array([_field_bytes(4, _value_message(v)) for v in index._values],
                                dtype=object),
                       np.array(pairs, dtype=np.int32), np.cumsum(count) - count, count)
        return index

    def __len__(self) -> int:
        return len(self.geoms)

    def properties(self, pos: int) -> dict:
        """Return the popup properties of the feature at position ``pos``."""
        _k, _v, pairs, start, count = self._tags
        mine = pairs[start[pos]:start[pos] + count[pos]]
        return {self._key_names[k]: self._values[v] for k, v in zip(mine[0::2], mine[1::2],
                                                                    strict=True)}

    def select(self, z: int, x: int, y: int) -> np.ndarray:
        """Positions of the features whose geometry intersects tile ``z/x/y``."""
        box = shapely.box(*tile_lonlat_bounds(z, x, y))
        return np.sort(self.tree.query(box, predicate="intersects"))

    def _mercator(self, idx: np.ndarray) -> np.ndarray:
        return shapely.transform(self.geoms[idx], lonlat_to_mercator)

    def shown(self, z: int, x: int, y: int) -> np.ndarray:
        """Positions of the features tile ``z/x/y`` draws: :meth:`select`, generalised.

        At ``z <= GENERALISE_MAX_ZOOM`` polygons under ``MIN_PIXEL_AREA`` screen pixels
        are left out (see :data:`GENERALISATION`); points and lines are all kept.
        """
        if z > GENERALISE_MAX_ZOOM:
            return self.select(z, x, y)
        # the pixel rule first (bounding boxes only), the exact test on what is left
        box = shapely.box(*tile_lonlat_bounds(z, x, y))
        near = self.tree.query(box)
        pixel = 2 * HALF_WORLD / (1 << z) / TILE_PIXELS
        near = near[~(self._area[near] < MIN_PIXEL_AREA * pixel * pixel)]
        if not len(near):
            return near.astype(np.int64)
        shapely.prepare(box)
        return np.sort(near[shapely.intersects(box, self.geoms[near])])


    def _ids(self, pos: np.ndarray) -> np.ndarray:
        """MVT feature ids minus one of the features at positions ``pos``."""
        ids = getattr(self, "_feature_ids", None)
        return pos.astype(np.int64) if ids is None else ids[pos]

    def _tag_table(self):
        return self._tags

    def tile(self, z: int, x: int, y: int) -> bytes:
        """Return the MVT bytes of tile ``z/x/y``.

        Features are clipped to the buffered tile and snapped to the tile grid
        (:func:`snap_units`); low zooms are generalised (:meth:`shown`).
        """
        bounds = tile_bounds(z, x, y)
        idx = self.shown(z, x, y)
        if not len(idx):
            return b""  # an empty tile is a valid MVT (no layers)
        if not self.polygonal:
            return self.tile_reference(z, x, y, idx)
        unit = (bounds[2] - bounds[0]) / EXTENT
        pad = unit * BUFFER_UNITS
        geoms = self._mercator(idx)
        # only features reaching past the buffered tile need clipping
        inner = shapely.box(bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
        shapely.prepare(inner)
        cross = ~shapely.contains(inner, geoms)
        if cross.any():
            geoms = geoms.copy()
            geoms[cross] = shapely.clip_by_rect(geoms[cross], *inner.bounds)
        px, py, ring_feat, ring_count = _polygon_rings(geoms, np.arange(len(idx)),
                                                       bounds[0], bounds[3], unit,
                                                       snap_units(z))
        present = np.unique(ring_feat)
        if snap_units(z) > 1 and len(present) < len(idx):
            # what snapping collapsed (a sliver): on the fine grid, so that every polygon
            # above the pixel-area threshold is drawn
            lost = np.setdiff1d(np.arange(len(idx)), present)
            more = _polygon_rings(geoms[lost], lost, bounds[0], bounds[3], unit)
            if len(more[2]):
                px, py, ring_feat, ring_count = _merge_rings((px, py, ring_feat, ring_count),
                                                             more)
                present = np.unique(ring_feat)
        if not len(present):
            return b""
        # renumber the features that kept a ring 0..n-1
        remap = np.full(len(idx), -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        ring_feat = remap[ring_feat]
        feats = idx[present]
        n = len(feats)
        geom_ints, int_feat = _geometry_ints(px, py, ring_feat, ring_count, n)
        return self._assemble(feats, geom_ints, int_feat, 3)

    def _assemble(self, feats, geom_ints, int_feat, geom_type: int) -> bytes:
        n = len(feats)
        key_bytes, value_bytes, pairs, pair_start, pair_count = self._tag_table()
        # gather the features' (key, value) pairs and renumber them for this tile
        total = int(pair_count[feats].sum())
        out_start = np.cumsum(pair_count[feats]) - pair_count[feats]
        gather = np.arange(total) - np.repeat(out_start - pair_start[feats], pair_count[feats])
        tile_pairs = pairs[gather]
        tag_feat = np.repeat(np.arange(n), pair_count[feats])
        used_keys, key_local = _renumber(tile_pairs[0::2], len(key_bytes))
        used_values, value_local = _renumber(tile_pairs[1::2], len(value_bytes))
        tags = np.empty(total, dtype=np.int64)
        tags[0::2], tags[1::2] = key_local, value_local
        tag_b, tag_n = _varint(tags)
        tag_len = _per_group(tag_feat, tag_n, n)
        geom_b, geom_n = _varint(geom_ints)
        geom_len = _per_group(int_feat, geom_n, n)
        feature, feature_len = _interleave([
            _const(0x08, n), _varint(self._ids(feats) + 1),  # id
            _const(0x12, n), _varint(tag_len), (tag_b, tag_len),  # tags (packed)
            _const(0x18, n), _const(geom_type, n),  # type
            _const(0x22, n), _varint(geom_len), (geom_b, geom_len),  # geometry (packed)
        ])
        features, _ = _interleave([_const(0x12, n), _varint(feature_len),
                                   (feature, feature_len)])
        layer = b"".join([
            b"\x78\x02",  # version 2
            _field_bytes(1, self.layer_id.encode("utf-8")),
            features.tobytes(),
            b"".join(key_bytes[used_keys]),
            b"".join(value_bytes[used_values]),
            b"\x28" + _varint_bytes(EXTENT),
        ])
        return _field_bytes(3, layer)

    def tile_reference(self, z: int, x: int, y: int, idx=None) -> bytes:
        """Return the same tile encoded by the ``mapbox-vector-tile`` package.

        Used for points and lines, and as the baseline the bench compares with.
        """
        bounds = tile_bounds(z, x, y)
        if idx is None:
            idx = self.shown(z, x, y)
        unit = (bounds[2] - bounds[0]) / EXTENT
        pad = unit * BUFFER_UNITS
        geoms = shapely.clip_by_rect(self._mercator(idx), bounds[0] - pad, bounds[1] - pad,
                                     bounds[2] + pad, bounds[3] + pad)
        geoms = shapely.simplify(geoms, unit, preserve_topology=True)
        features = []
        for pos, geom in zip(idx, geoms, strict=True):
            if geom is None or geom.is_empty:
                continue  # only touched the tile's edge
            features.append({"geometry": geom, "properties": self.properties(pos),
                             "id": int(self._ids(np.asarray([pos]))[0]) + 1})
        if not features:
            return b""
        return mapbox_vector_tile.encode(
            [{"name": self.layer_id, "features": features}],
            default_options={"quantize_bounds": bounds, "extents": EXTENT,
                             "y_coord_down": False})
