"""The zone index: point-in-zone, nearest zones and vectorised batch queries.

A *zone* is a polygonal feature (Polygon/MultiPolygon) of any layer.  Point and line
features are not zones — nothing lies "in" a river centreline — but they count for
``nearest`` and for the site check's buffer rings.

Point rule
    A point on a zone's boundary (a vertex or anywhere on an edge) is **inside** the zone:
    the predicate is ``zone.covers(point)`` (equivalently ``zone.intersects(point)``), so a
    point on the shared edge of two adjacent zones lies in both.  ``geopandas.sjoin`` with
    ``predicate="intersects"`` gives the same answer; ``"within"`` would drop boundary points.

How it is fast
    The index precomputes a uniform cell grid over the zones' extent (WGS 84 degrees).
    Every cell records the zones that cover it entirely and the zones whose boundary
    crosses it.  A point's cell comes from two multiplications; zones that cover the cell
    answer without any geometry test.  Each cell that a boundary crosses is cut into
    8 × 8 sub-cells classified the same way (a two-level grid), so only points in
    sub-cells that a boundary crosses (~0.6 % of random points) are tested with prepared
    ``shapely.intersects_xy`` (batches: vectorised per zone; one point: one vectorised call
    over the sub-cell's crossing zones).  Cells and sub-cells are marked as crossed
    conservatively (a boundary within a hair of an edge marks both neighbours), so the
    grid never decides a point that the exact test would decide differently.  A batch is
    then one gather of padded rows of zone indices per point and one mask.

    Distances are computed in EPSG:4550 metres against a precomputed metric copy of every
    feature, cut into short pieces (boundary rings of polygons, lines, points) held in an
    ``STRtree``; the distance from an outside point to a polygon is the distance to its
    boundary, so pieces give exact distances cheaply.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pyproj
import shapely

from geo import crs as _crs
from geo.errors import InvalidInput, LimitExceeded
from geo.tmerc import metric_point
from geo.units import round_to

# GEOS prepared geometries are not thread-safe (libgeos/geos#825): they build indexes
# lazily and their segment intersector keeps per-call state.  The zones here are prepared
# once and shared by every server thread, and two threads testing the same zone at once
# crashed `planmap serve` with SIGSEGV under load (bench/bench_load.py).  Every predicate
# on a shared prepared geometry therefore runs under this lock; the guarded calls are
# short, and the heavy overlays run on unprepared pieces outside it.
_PREPARED_LOCK = threading.Lock()


def _fresh_lock_in_child() -> None:
    # A fork copies the lock in whatever state another thread left it (geo.budget spawns
    # its workers instead, but a forking embedder would still need this).
    global _PREPARED_LOCK
    _PREPARED_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_lock_in_child)

DEFAULT_RADIUS_M = 5000.0
"""Default search radius of ``nearest`` (metres)."""

DEFAULT_NEAREST_PER_LAYER = 3
"""Most nearest features reported per layer."""

_EPS = 1e-6  # in cell units: slack that makes boundary-cell marking conservative
_SUB = 8  # sub-cells per side of a boundary cell (a power of two; _SUB² bits fit 64)
_POLYGONAL = (3, 6)  # shapely type ids of Polygon, MultiPolygon
_CHUNK_VERTICES = 16  # vertices per distance piece: short pieces → cheap exact distances
_TILE_MIN_VERTICES = 200  # zones with more vertices are cut into tiles for overlaps

_NEAR_CELL_M = 1000.0  # cell of the point-query candidate grid (metres)

BULK_MIN_FEATURES = 2000
"""Layers with at least this many polygons (a bureau's 图斑 or parcels) are *bulk* layers:
their zones are indexed by a compact bounding-box grid and tested exactly at query time,
instead of the per-zone cell classification, distance pieces and metric copies built
for the plan's few hundred zones (which cost ~10 ms and ~50 KB per zone)."""

_BULK_DEG_MARGIN = 1.02  # metres → degrees: EPSG:4550 scale ≥ 1, so a 2 % wider box is safe

AREA_TILE_M = 5000.0
"""Tile size (metres) used to cut large zones for fast overlap measures."""

ADMIN_LAYER = "admin"
"""Layer of the administrative units (the city and its counties) the area-wide rule uses;
the other plans' unit layers are named ``<plan>_admin`` (:func:`is_admin_layer`)."""

COUNTY_KINDS = frozenset({"county", "county-level city", "district"})
"""Admin-unit kinds that name "this county" in an answer (not the city or province)."""


def is_admin_layer(layer_id: str) -> bool:
    """Return whether a layer holds administrative units (``admin``, ``p001_admin``…)."""
    return layer_id == ADMIN_LAYER or layer_id.endswith("_" + ADMIN_LAYER)

AREA_WIDE_SHARE = 0.90
"""Area-wide rule (issue 16): a zone is an *area-wide programme* when it covers at least
this share of each of some admin units (a county or the whole city) and those units hold
at least this share of its area inside the admin units; the admin units are area-wide
themselves.  Such extents repeat a county or the city; they are not places."""


def _to_metric_transformer() -> pyproj.Transformer:
    # WGS 84 → EPSG:4550, shared with geo.crs's cache: building one costs ~1 s.
    return _crs._transformer(_crs.WGS84, _crs.METRIC_CRS)


def _project_to_metric(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS 84 lon/lat arrays (float64, contiguous, owned: overwritten) to EPSG:4550.

    ``Transformer.transform`` first tries its one-point path (a TypeError for arrays) and
    copies its inputs: for the few vertices of a site that overhead costs twice the
    projection.  The per-thread PROJ object (``Transformer._transformer``, the one
    ``transform`` uses) projects the arrays in place instead; same numbers.
    """
    t = _to_metric_transformer()
    raw = getattr(t, "_transformer", None)
    if raw is None or not hasattr(raw, "_transform"):  # pyproj changed: public call
        x[:], y[:] = t.transform(x, y)
        return x, y
    raw._transform(inx=x, iny=y, inz=None, intime=None, direction=_FORWARD, radians=False,
                   errcheck=False)
    return x, y


_FORWARD = pyproj.enums.TransformDirection.FORWARD
_bitwise_count = getattr(np, "bitwise_count", None)  # numpy >= 2.0


def _add_zone(sigs: list, lookup: dict, old: np.ndarray, state: np.ndarray, z: int) -> np.ndarray:
    """Signature ids of cells with signatures ``old`` once zone ``z`` is added to them.

    Parameters
    ----------
    sigs : list of (tuple, tuple)
        Signatures (covering zones, crossing zones), both ascending; extended in place.
    lookup : dict
        Signature → id (its position in ``sigs``); extended in place.
    old : ndarray of int
        The cells' current signature ids.
    state : ndarray of int8
        Per cell: 1 if ``z`` covers it entirely, 2 if its boundary crosses it.
    z : int
        Feature index of the zone.

    Returns
    -------
    ndarray of int32
        The new signature ids.
    """
    # A lookup table indexed by old * 2 + crossed avoids sorting millions of cells.
    key = old.astype(np.int64) * 2 + (state == 2)
    present = np.zeros(2 * len(sigs), dtype=bool)
    present[key] = True
    remap = np.zeros(2 * len(sigs), dtype=np.int32)
    for k in np.flatnonzero(present).tolist():
        cov, bnd = sigs[k // 2]
        new = (cov, tuple(sorted(bnd + (z,)))) if k % 2 else (tuple(sorted(cov + (z,))), bnd)
        sid = lookup.get(new)
        if sid is None:
            sid = lookup[new] = len(sigs)
            sigs.append(new)
        remap[k] = sid
    return remap[key]


class ProjectedSite(NamedTuple):
    """A site in WGS 84 and EPSG:4550 with the bounds the queries need."""

    wgs84: object
    metric: object
    bounds: tuple
    metric_bounds: tuple
    vertex: tuple


class BatchResult:
    """Pairs (point, zone) of a batch query, grouped by ascending point index.

    Unpacks as ``point_idx, zone_ids, layers = result``.

    Attributes
    ----------
    point_idx : ndarray of int32 (int64 for 2**31 points or more)
        Index of the point in the input arrays.
    zone_idx : ndarray of unsigned int
        Internal index of the zone (see :meth:`ZoneIndex.entry`): uint8 below 255
        features, else uint16 (int64 beyond); use it as an index only.
    zone_ids : ndarray of object (str)
        Feature id of the zone that covers the point (built on first access).
    layers : ndarray of object (str)
        Layer id of that zone (built on first access).
    """

    __slots__ = ("point_idx", "zone_idx", "_id_table", "_layer_table", "_ids", "_layers")

    def __init__(self, point_idx, zone_idx, id_table, layer_table):
        self.point_idx = point_idx
        self.zone_idx = zone_idx
        self._id_table, self._layer_table = id_table, layer_table
        self._ids = self._layers = None

    @property
    def zone_ids(self) -> np.ndarray:
        """Feature ids, one per pair."""
        if self._ids is None:
            self._ids = _take_objects(self._id_table, self.zone_idx)
        return self._ids

    @property
    def layers(self) -> np.ndarray:
        """Layer ids, one per pair."""
        if self._layers is None:
            self._layers = _take_objects(self._layer_table, self.zone_idx)
        return self._layers

    @property
    def id_table(self) -> np.ndarray:
        """Feature id of each ``zone_idx`` value (``zone_ids == id_table[zone_idx]``)."""
        return self._id_table

    @property
    def layer_table(self) -> np.ndarray:
        """Layer id of each ``zone_idx`` value."""
        return self._layer_table

    def __iter__(self):
        return iter((self.point_idx, self.zone_ids, self.layers))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i):
        return (self.point_idx, self.zone_ids, self.layers)[i]


_TAKE_CHUNK = 1 << 16  # indices cast to intp per chunk: cache-sized, no 8-byte copy of all


def _take_objects(table: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Return ``table[idx]`` for an object array and valid non-negative integer indices.

    numpy copies each object reference through a per-element transfer call; pandas'
    compiled object take (``pandas._libs.algos.take_1d_object_object``, the kernel behind
    ``pandas.api.extensions.take``) is a plain loop.  Fed chunk by chunk with intp
    indices it takes ~30 % less CPU than ``table[idx]`` for millions of ids (the new
    array's allocation and zeroing stay).  Same values, same dtype; numpy when the
    private kernel is missing or changed.
    """
    kernel = _object_take_kernel()
    n = len(idx)
    if kernel is None or n < _TAKE_CHUNK:
        return table[idx]
    out = np.empty(n, dtype=object)
    try:
        for s in range(0, n, _TAKE_CHUNK):
            kernel(table, idx[s:s + _TAKE_CHUNK].astype(np.intp), out[s:s + _TAKE_CHUNK], None)
    except (TypeError, ValueError):  # pragma: no cover - pandas changed the kernel
        return table[idx]
    return out


_KERNEL: list = []


def _object_take_kernel():
    if not _KERNEL:
        try:
            from pandas._libs.algos import take_1d_object_object as kernel
        except ImportError:  # pragma: no cover - geopandas requires pandas
            kernel = None
        _KERNEL.append(kernel)
    return _KERNEL[0]


def _scalar_text(value, default=None):
    if value is None:
        return default
    try:
        if value != value:  # NaN from a pandas column
            return default
    except (TypeError, ValueError):
        pass
    return value


class _BoundaryGeoms(dict):
    """``{signature: geometries of its crossing zones}``, filled on first use of each key.

    What ``ZoneIndex._sig_bnd_geoms`` holds once built; an index read back from
    ``geo.indexcache`` gets this instead (the same arrays, made when first needed).
    """

    __slots__ = ("_sigs", "_fgeom")

    def __init__(self, sigs, fgeom):
        super().__init__()
        self._sigs, self._fgeom = sigs, fgeom

    def __missing__(self, sig):
        bnd = self._sigs[sig][1]
        if not bnd:
            raise KeyError(sig)
        found = self[sig] = self._fgeom[list(bnd)]
        return found


_GEOM_NAMES = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                        "MultiLineString", "MultiPolygon", "GeometryCollection"], dtype=object)


class _Entries(list):
    """Per feature, its result entry (a dict); a bulk layer's are made when first read.

    Indexed like a list (``entries[i]``) by :class:`ZoneIndex` and its users; a bulk
    layer is held as a block of columns instead of a million small dicts.
    """

    def __init__(self):
        super().__init__()
        self._blocks: list[tuple] = []  # (start, layer, ids, columns, geometry type names)

    def add_block(self, start, layer, ids, columns, types) -> None:
        self._blocks.append((start, layer, ids, columns, types))
        self.extend([None] * len(ids))

    def __getitem__(self, i):
        e = super().__getitem__(i)
        if e is None:
            for start, layer, ids, columns, types in self._blocks:
                if start <= i < start + len(ids):
                    k = i - start

                    def col(name, default=None, k=k, columns=columns):
                        c = columns.get(name)
                        return default if c is None else _scalar_text(c[k], default)

                    e = {"id": ids[k], "layer": layer, "name_zh": col("name_zh", ids[k]),
                         "name_en": col("name_en"), "accuracy": col("accuracy"),
                         "kind": col("kind"), "citation": col("citation"),
                         "geometry_type": types[k]}
                    break
        return e


class ZoneIndex:
    """Spatial index over every feature of every layer, built once.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        Layer id → features in EPSG:4326 (index = feature id, or an ``id`` column).
        Iteration order is the layer order used in results.
    service_area : shapely.Geometry, optional
        Polygon of Baicheng City (WGS 84); ``in_service_area`` is False without it.
    clauses : list of dict, optional
        Policy clauses (see ``layers/clauses.json``); kept for the site check.
    plans : mapping, optional
        Seed id → plan title, or an object/dict with ``title_zh`` and ``title_en``.
    grid_cells : int, optional
        Cells along the longer side of the grid (more cells: fewer exact tests, more memory).
    bulk_min_features : int, optional
        Polygons from which a layer is indexed as a bulk layer (:data:`BULK_MIN_FEATURES`).
    """

    def __init__(self, layers: Mapping, service_area=None, clauses=None, *, plans=None,
                 grid_cells: int = 1536, bulk_min_features: int = BULK_MIN_FEATURES):
        self.clauses = list(clauses or [])
        self.plan_titles: dict[str, dict] = {}
        for seed, plan in (plans or {}).items():
            get = plan.get if isinstance(plan, Mapping) else (lambda k, p=plan: getattr(p, k, None))
            zh = plan if isinstance(plan, str) else (get("title_zh") or get("title"))
            self.plan_titles[seed] = {"title_zh": zh, "title_en": None if isinstance(plan, str)
                                      else get("title_en")}
        self.layer_ids: list[str] = [str(k) for k in layers]
        self._load_features(layers, bulk_min_features)
        self._build_metric()
        self._build_area_wide()
        self.service_area = service_area
        self._build_grid(service_area, grid_cells)
        self._build_bulk()

    def __getstate__(self) -> dict:
        # For geo.indexcache: the per-signature boundary arrays (~15,000 small arrays, slow
        # to unpickle) are derived from _sigs and _fgeom, so they are rebuilt as used.
        state = dict(self.__dict__)
        state.pop("_sig_bnd_geoms", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "_sigs" in state:
            self._sig_bnd_geoms = _BoundaryGeoms(self._sigs, self._fgeom)

    @classmethod
    def from_plan_data(cls, data, plan_ids=None, **kwargs) -> ZoneIndex:
        """Build the index from :func:`layers.load`'s ``PlanData``.

        Parameters
        ----------
        data : PlanData
            Uses ``layers`` (in ``catalog`` order), ``service_area``, ``clauses``, ``plans``.
        plan_ids : iterable of str, optional
            Index only the layers of these plans (catalog ``plan``). Default: the home
            plan's layers when the catalog has plans (else every layer). The service area
            is kept only for an index that holds the home plan.
        **kwargs
            Passed to :class:`ZoneIndex` (e.g. ``grid_cells``).

        Returns
        -------
        ZoneIndex
        """
        layers = dict(data.layers)
        if plan_ids is not None or getattr(data, "plan_list", None):
            # Plans (issue 15): by default only the home plan's layers, as before they existed.
            home = getattr(data, "home_plan", None)
            wanted = {home} if plan_ids is None else set(plan_ids)
            plan_of = {e.get("id"): e.get("plan") or home
                       for e in (getattr(data, "catalog", None) or [])}
            layers = {k: v for k, v in layers.items() if plan_of.get(k, home) in wanted}
        order = [e["id"] for e in (getattr(data, "catalog", None) or []) if e.get("id") in layers]
        ordered = {k: layers[k] for k in order}
        ordered.update({k: v for k, v in layers.items() if k not in ordered})
        home = getattr(data, "home_plan", None)
        keep_area = plan_ids is None or home is None or home in set(plan_ids)
        index = cls(ordered, service_area=getattr(data, "service_area", None) if keep_area
                    else None,
                    clauses=getattr(data, "clauses", None), plans=getattr(data, "plans", None),
                    **kwargs)
        # Bulk layers left in the layer store (PlanData.store_layers): answered in place.
        in_store = getattr(data, "store_layers", None)
        if in_store and keep_area:
            from geo.storezones import attach

            ids = [e.get("id") for e in (getattr(data, "catalog", None) or [])]
            index = attach(index, [in_store[k] for k in ids if k in in_store]
                           + [v for k, v in in_store.items() if k not in ids])
        return index

    # ------------------------------------------------------------------ building

    def _load_features(self, layers: Mapping, bulk_min_features: int) -> None:
        ids, lyr, geoms, entries, accuracy = [], [], [], _Entries(), []
        bulk_layers = set()
        for layer_id, gdf in layers.items():
            if gdf is None or len(gdf) == 0:
                continue
            if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
                gdf = gdf.to_crs(4326)
            cols = set(gdf.columns)
            fids = gdf["id"].tolist() if "id" in cols else [str(i) for i in gdf.index]
            if int(np.isin(shapely.get_type_id(gdf.geometry.values), _POLYGONAL).sum()) \
                    >= bulk_min_features:
                bulk_layers.add(str(layer_id))
                # Column-wise: no per-feature dict until a result shows the feature.
                g = gdf.geometry.values
                keep = np.flatnonzero(~(shapely.is_missing(g) | shapely.is_empty(g)))
                fid = [str(fids[k]) for k in keep.tolist()]
                columns = {c: (gdf[c].to_numpy(dtype=object)[keep] if c in cols else None)
                           for c in ("name_zh", "name_en", "accuracy", "kind", "citation")}
                entries.add_block(len(ids), str(layer_id), fid, columns,
                                  _GEOM_NAMES[shapely.get_type_id(g[keep])])
                acc = columns["accuracy"]
                accuracy.extend([None] * len(fid) if acc is None else
                                [_scalar_text(a) for a in acc.tolist()])
                ids.extend(fid)
                lyr.extend([str(layer_id)] * len(fid))
                geoms.extend(g[keep].tolist())
                continue
            records = gdf.drop(columns=gdf.geometry.name).to_dict("records")
            for fid, rec, geom in zip(fids, records, gdf.geometry.values, strict=True):
                if geom is None or shapely.is_empty(geom):
                    continue
                entry = {
                    "id": str(fid),
                    "layer": str(layer_id),
                    "name_zh": _scalar_text(rec.get("name_zh"), str(fid)),
                    "name_en": _scalar_text(rec.get("name_en")),
                    "accuracy": _scalar_text(rec.get("accuracy")),
                    "kind": _scalar_text(rec.get("kind")),
                    "citation": _scalar_text(rec.get("citation")),
                    "geometry_type": geom.geom_type,
                }
                ids.append(str(fid))
                lyr.append(str(layer_id))
                geoms.append(geom)
                entries.append(entry)
                accuracy.append(entry["accuracy"])
        self._fid = np.array(ids, dtype=object)
        self._flayer = np.array(lyr, dtype=object)
        self._fid_list, self._flayer_list = list(ids), list(lyr)  # cheap per-item reads
        self._fgeom = np.empty(len(geoms), dtype=object)
        self._fgeom[:] = geoms
        self._entries = entries
        self._fkey = {(la, f): i for i, (f, la) in enumerate(zip(ids, lyr, strict=True))}
        # Per feature, precomputed for the site check's result entries.
        self._fkey_index = [self._fkey[k] for k in zip(lyr, ids, strict=True)]
        self._schematic = [a == "schematic" for a in accuracy]
        types = shapely.get_type_id(self._fgeom) if len(geoms) else np.zeros(0, int)
        self._is_zone = np.isin(types, _POLYGONAL)
        self.zone_idx = np.flatnonzero(self._is_zone)
        self._is_zone_list = self._is_zone.tolist()
        # Bulk zones: the polygons of bulk layers (see BULK_MIN_FEATURES); the cell grid,
        # distance pieces and area pieces hold the other ("grid") features only.
        in_bulk = np.fromiter((x in bulk_layers for x in lyr), dtype=bool, count=len(lyr))
        self._is_bulk = self._is_zone & in_bulk
        self._bulk = np.flatnonzero(self._is_bulk)
        self._grid_zones = np.flatnonzero(self._is_zone & ~in_bulk)
        # Unprepared bulk zones: a prepared polygon's lazily built index costs memory, and
        # their exact tests see a handful of candidates each.
        shapely.prepare(self._fgeom[~self._is_bulk])

    def _build_metric(self) -> None:
        """Metric copies, zone areas, the zone STRtree and the distance pieces."""
        n = len(self._fgeom)
        _to_metric_transformer()  # build it now, not on the first query
        # Metric copies of the grid features only; bulk zones are projected when a query
        # needs them (their areas are kept: a site check reports % of zone).
        small = np.flatnonzero(~self._is_bulk)
        self._fgeom_m = np.full(n, None, dtype=object)
        self._farea_m = np.zeros(n)
        if len(small):
            self._fgeom_m[small] = _crs.to_metric(self._fgeom[small])
            self._farea_m[small] = shapely.area(self._fgeom_m[small])
        for s in range(0, len(self._bulk), 65536):
            part = self._bulk[s:s + 65536]
            self._farea_m[part] = shapely.area(_crs.to_metric(self._fgeom[part]))
        self._farea_list = self._farea_m.tolist()
        shapely.prepare(self._fgeom_m[small])
        self._build_area_pieces()
        pieces, owner = [], []
        for i, g in enumerate(self._fgeom_m):
            if g is None:  # a bulk zone
                continue
            t = shapely.get_type_id(g)
            if t in (0, 4):  # Point, MultiPoint
                parts = shapely.get_parts(g)
                pieces.extend(parts)
                owner.extend([i] * len(parts))
                continue
            lines = shapely.boundary(g) if t in _POLYGONAL else g
            for line in shapely.get_parts(shapely.get_parts(lines)):
                if shapely.get_type_id(line) == 0:
                    pieces.append(line)
                    owner.append(i)
                    continue
                coords = shapely.get_coordinates(line)
                step = _CHUNK_VERTICES - 1
                for s in range(0, max(len(coords) - 1, 1), step):
                    pieces.append(shapely.linestrings(coords[s:s + step + 1]))
                    owner.append(i)
        self._pieces = np.array(pieces, dtype=object)
        self._piece_owner = np.array(owner, dtype=np.int64)
        self._piece_tree = shapely.STRtree(self._pieces)
        self._layer_no = layer_no = {lid: k for k, lid in enumerate(self.layer_ids)}
        self._flayer_no = np.array([layer_no[x] for x in self._flayer], dtype=np.int64)
        self._flayer_no_list = self._flayer_no.tolist()
        self._piece_layer = self._flayer_no[self._piece_owner] if n else np.zeros(0, np.int64)
        self._piece_layer_list = self._piece_layer.tolist()
        self._piece_owner_list = self._piece_owner.tolist()
        piece_bounds = shapely.bounds(self._pieces) if len(pieces) else np.zeros((0, 4))
        self._piece_bounds_list = [tuple(b) for b in piece_bounds.tolist()]
        self._build_near_grid(piece_bounds)
        # The same pieces as padded segment arrays (one row per piece; a point is a
        # zero-length segment; padding repeats the last segment), so a single point's
        # distances take a few numpy operations and no geometry objects.
        w = _CHUNK_VERTICES - 1
        ax = np.zeros((len(pieces), w))
        ay, ex, ey = np.zeros_like(ax), np.zeros_like(ax), np.zeros_like(ax)
        for k, piece in enumerate(self._pieces):
            c = shapely.get_coordinates(piece)
            if len(c) == 1:
                c = np.vstack([c, c])
            a, b = c[:-1], c[1:]
            pad = w - len(a)
            if pad:
                a = np.vstack([a, np.repeat(a[-1:], pad, axis=0)])
                b = np.vstack([b, np.repeat(b[-1:], pad, axis=0)])
            ax[k], ay[k], ex[k], ey[k] = a[:, 0], a[:, 1], b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
        l2 = ex ** 2 + ey ** 2
        # Complex numbers fold x and y into one array: fewer numpy calls per query.
        seg_e = ex + 1j * ey
        inv_l2 = np.divide(1.0, l2, out=np.zeros_like(l2), where=l2 > 0)
        # [start, edge, conj(edge)/|edge|²] per piece and segment
        self._seg = np.stack([ax + 1j * ay, seg_e, np.conj(seg_e) * inv_l2])

    def _build_area_wide(self) -> None:
        """Per feature, once: is it area-wide (:data:`AREA_WIDE_SHARE`), and for which units.

        Sets ``_area_wide`` (list of bool) and ``_area_units`` (per feature, the feature
        indices of the admin units it repeats, ascending; empty when not area-wide).
        """
        n = len(self._fgeom_m)
        self._area_wide = [False] * n
        self._area_units: list[tuple] = [()] * n
        units = [u for u in self.zone_idx.tolist() if is_admin_layer(self._flayer_list[u])]
        if not units:
            return
        share = AREA_WIDE_SHARE
        unit_area = {u: self._farea_list[u] for u in units}
        region = shapely.union_all(self._fgeom_m[units])
        smallest = min(unit_area.values())
        for f in self.zone_idx.tolist():
            if f in unit_area:
                self._area_wide[f], self._area_units[f] = True, (f,)
                continue
            # A zone smaller than the share of the smallest unit cannot repeat any unit.
            if self._farea_list[f] < share * smallest:
                continue
            g = self._metric(f)
            inside = float(shapely.area(shapely.intersection(g, region)))
            if inside <= 0.0:
                continue
            repeated = [u for u in units if self._farea_list[f] >= share * unit_area[u]
                        and float(shapely.area(shapely.intersection(g, self._fgeom_m[u])))
                        >= share * unit_area[u]]
            if not repeated:
                continue
            covered = float(shapely.area(shapely.intersection(
                g, shapely.union_all(self._fgeom_m[repeated]))))
            if covered >= share * inside:
                self._area_wide[f], self._area_units[f] = True, tuple(repeated)

    def area_wide(self, layer: str, feature_id: str) -> tuple[bool, list[str]]:
        """Whether a feature is an area-wide programme, and the admin units it repeats.

        Parameters
        ----------
        layer, feature_id : str
            The feature's layer and id.

        Returns
        -------
        (bool, list of str)
            The flag and the unit feature ids (empty when not area-wide).

        Raises
        ------
        KeyError
            Unknown feature.
        """
        f = self._fkey[(layer, feature_id)]
        return self._area_wide[f], [self._fid_list[u] for u in self._area_units[f]]

    def _build_near_grid(self, piece_bounds: np.ndarray) -> None:
        """Metric cells listing every distance piece within the default radius of them.

        A point query then reads its cell's list (ascending piece numbers) instead of
        querying the STRtree: no box geometry, no tree walk.  A piece within
        ``DEFAULT_RADIUS_M`` of a point has its bounding box within that distance of it, so
        the point's cell is in the piece's widened bbox range and the list is complete.

        Parameters
        ----------
        piece_bounds : ndarray, shape (n, 4)
            Bounds of the distance pieces (``self._pieces``), computed once by the caller.
        """
        r, size = DEFAULT_RADIUS_M, _NEAR_CELL_M
        n = len(piece_bounds)
        b = piece_bounds if n else np.zeros((1, 4))  # no pieces: a grid of empty cells
        x0, y0 = b[:, 0].min() - r - size, b[:, 1].min() - r - size
        nx = int(math.ceil((b[:, 2].max() + r - x0) / size)) + 2
        ny = int(math.ceil((b[:, 3].max() + r - y0) / size)) + 2
        ix0 = np.floor((b[:n, 0] - r - x0) / size).astype(np.int64)
        iy0 = np.floor((b[:n, 1] - r - y0) / size).astype(np.int64)
        w = np.floor((b[:n, 2] + r - x0) / size).astype(np.int64) - ix0 + 1
        h = np.floor((b[:n, 3] + r - y0) / size).astype(np.int64) - iy0 + 1
        counts = w * h
        piece = np.repeat(np.arange(n, dtype=np.int64), counts)
        k = np.arange(len(piece)) - np.repeat(np.cumsum(counts) - counts, counts)
        wr = np.repeat(w, counts)
        cell = (np.repeat(iy0, counts) + k // wr) * nx + np.repeat(ix0, counts) + k % wr
        order = np.argsort(cell, kind="stable")  # stable: pieces ascending within a cell
        self._near_pieces = piece[order]
        self._near_start = np.searchsorted(cell[order], np.arange(nx * ny + 1)).tolist()
        self._near_grid = (float(x0), float(y0), 1.0 / size, nx, ny)

    def _near_candidates(self, x: float, y: float, radius_m: float) -> np.ndarray:
        """Distance pieces that may lie within ``radius_m`` of metric (x, y)."""
        if radius_m > DEFAULT_RADIUS_M:
            return self._query_box(x - radius_m, y - radius_m, x + radius_m, y + radius_m)
        x0, y0, inv, nx, ny = self._near_grid
        cx, cy = (x - x0) * inv, (y - y0) * inv
        if not (0.0 <= cx < nx and 0.0 <= cy < ny):  # beyond the radius of every piece
            return self._near_pieces[:0]
        c = int(cy) * nx + int(cx)
        return self._near_pieces[self._near_start[c]:self._near_start[c + 1]]

    def _build_area_pieces(self) -> None:
        """Cut large zones along a metric tile grid; a site then meets only small pieces.

        The tiles partition the plane, so the overlap area of a site with a zone is the
        sum of its overlaps with that zone's pieces (tile edges have no area).
        """
        t = AREA_TILE_M
        # Several plan zones share one geometry (a wetland that is also a park): cut and
        # measure each distinct shape once; _shape_rep maps a feature to its shape's owner.
        self._shape_rep = np.arange(len(self._fgeom_m), dtype=np.int64)
        first: dict[bytes, int] = {}
        pieces, owner = [], []
        for z in self._grid_zones.tolist():
            g = self._fgeom_m[z]
            key = shapely.to_wkb(g)
            if key in first:
                self._shape_rep[z] = first[key]
                continue
            first[key] = z
            if shapely.get_num_coordinates(g) <= _TILE_MIN_VERTICES:
                pieces.append(g)
                owner.append(z)
                continue
            minx, miny, maxx, maxy = g.bounds
            xs = np.arange(math.floor(minx / t) * t, maxx, t)
            ys = np.arange(math.floor(miny / t) * t, maxy, t)
            gx, gy = np.meshgrid(xs, ys)
            boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + t, gy.ravel() + t)
            boxes = boxes[shapely.intersects(g, boxes)]
            full = shapely.covers(g, boxes)
            parts = list(boxes[full])
            for piece in shapely.intersection(g, boxes[~full]):
                polys = [p for p in shapely.get_parts(piece)
                         if shapely.get_type_id(p) in _POLYGONAL and p.area > 0]
                parts.extend(polys)
            pieces.extend(parts)
            owner.extend([z] * len(parts))
        self._area_pieces = np.array(pieces, dtype=object)
        self._area_owner = np.array(owner, dtype=np.int64)
        shapely.prepare(self._area_pieces)
        self._area_tree = shapely.STRtree(self._area_pieces)
        self._zone_tree = shapely.STRtree(self._fgeom_m[self._grid_zones])

    def _block_zones(self, bounds):
        """Zones covering every grid cell under a WGS 84 bbox, and zones that may touch it.

        Returns ``(full, maybe)`` ascending lists of feature indices, or None when the bbox
        leaves the grid.  A zone covering every cell of the block covers the site: no geometry test.
        """
        minx, miny, maxx, maxy = bounds
        ix0 = math.floor((minx - self._x0) * self._inv_dx - _EPS)
        iy0 = math.floor((miny - self._y0) * self._inv_dy - _EPS)
        ix1 = math.floor((maxx - self._x0) * self._inv_dx + _EPS)
        iy1 = math.floor((maxy - self._y0) * self._inv_dy + _EPS)
        if ix0 < 0 or iy0 < 0 or ix1 >= self._nx or iy1 >= self._ny:
            return None
        if (ix1 - ix0 + 1) * (iy1 - iy0 + 1) > 250_000:  # a sprawling site: use the tree
            return None
        # Most sites lie in cells of one signature (64 % of the benchmark's): the integral
        # images of "differs from the cell to the left / below" tell that in eight reads.
        h, v = self._sig_change_h, self._sig_change_v
        if (h[iy1 + 1, ix1 + 1] - h[iy0, ix1 + 1] - h[iy1 + 1, ix0 + 1] + h[iy0, ix0 + 1] == 0
                and v[iy1 + 1, ix1 + 1] - v[iy0 + 1, ix1 + 1] - v[iy1 + 1, ix0]
                + v[iy0 + 1, ix0] == 0):
            sigs = (int(self._cell_sig[iy0 * self._nx + ix0]),)
        else:
            block = self._cell_sig.reshape(self._ny, self._nx)[iy0:iy1 + 1, ix0:ix1 + 1]
            sigs = np.unique(block).tolist()
        # Signatures as bit sets (one bit per feature): the zones of the block are an AND
        # and an OR of Python ints, no per-zone set work.
        cov_bits, any_bits = self._sig_cov_bits, self._sig_any_bits
        full, touched = -1, 0
        for sig in sigs:
            full &= cov_bits[sig]
            touched |= any_bits[sig]
        return _bit_indices(full), _bit_indices(touched & ~full)

    def overlaps_metric(self, geom_m, kind: str, geom_wgs84=None, *,
                        wgs84_bounds=None) -> dict[int, float]:
        """Overlap of a metric site with every zone it shares area (or length) with.

        Parameters
        ----------
        geom_m : shapely.Geometry
            The site in EPSG:4550 metres.
        kind : {"polygon", "line"}
            ``polygon``: overlap areas (m²); ``line``: overlap lengths (m), zone
            boundaries included.
        geom_wgs84 : shapely.Geometry, optional
            The same site in WGS 84: lets the cell grid settle most zones without GEOS.
        wgs84_bounds : tuple of float, optional
            That site's WGS 84 bounds, if known (then ``geom_wgs84`` is not needed).

        Returns
        -------
        dict
            Feature index → overlap (> 0 only).
        """
        if wgs84_bounds is None and geom_wgs84 is not None:
            wgs84_bounds = geom_wgs84.bounds
        out = self._grid_overlaps(geom_m, kind, wgs84_bounds)
        if self._bulk_grid is None:
            return out
        box = (wgs84_bounds if wgs84_bounds is not None
               else self._metric_box_to_wgs(*geom_m.bounds))
        pos = self._bulk_in_box(*box)
        if len(pos) == 0:
            return out
        zm = self._bulk_metric(pos)
        if kind == "line":
            values = shapely.length(shapely.intersection(geom_m, zm))
        else:
            # As for a grid zone of few vertices: the site's area when the zone covers it,
            # else the area of the intersection.
            values = np.zeros(len(pos))
            meets = shapely.intersects(zm, geom_m)
            inside = meets & shapely.covers(zm, geom_m)
            values[inside] = float(geom_m.area)
            cut = meets & ~inside
            if cut.any():
                values[cut] = shapely.area(shapely.intersection(geom_m, zm[cut]))
        out.update((f, v) for f, v in zip(self._bulk[pos].tolist(), values.tolist(),
                                          strict=True) if v > 0.0)
        return dict(sorted(out.items()))

    def _grid_overlaps(self, geom_m, kind: str, wgs84_bounds) -> dict[int, float]:
        """:meth:`overlaps_metric` over the grid zones (all but the bulk zones)."""
        out: dict[int, float] = {}
        block = None if wgs84_bounds is None else self._block_zones(wgs84_bounds)
        if block is None:
            cand = np.sort(self._grid_zones[self._zone_tree.query(geom_m)])  # bboxes only
        else:
            full, maybe = block
            whole = float(geom_m.area) if kind == "polygon" else float(geom_m.length)
            out = dict.fromkeys(full, whole)
            if not maybe:
                return out  # already in ascending feature order
            cand = np.array(maybe, dtype=np.int64)
        if len(cand) == 0:
            return dict(sorted(out.items()))
        zg = self._fgeom_m[cand]
        if kind == "line":
            with _PREPARED_LOCK:
                hit = shapely.intersects(zg, geom_m)  # prepared zones: indexed, fast
            cand, zg = cand[hit], zg[hit]
            if len(cand) == 0:
                return dict(sorted(out.items()))
        # Polygons: no separate intersects test — a zone the site misses has no piece that
        # meets it below, so its overlap is 0 and it is dropped.
        if kind == "line":
            # Whole zones: summing pieces would count a line along a tile edge twice.
            values = shapely.length(shapely.intersection(geom_m, zg))
        else:
            values = np.full(len(cand), float(geom_m.area))
            with _PREPARED_LOCK:
                partial = np.flatnonzero(~shapely.covers(zg, geom_m))  # covered: no overlay
            if len(partial):
                # One vectorised overlay over the pre-cut pieces of every partly covered
                # shape (zones with identical geometry share their pieces).
                reps = self._shape_rep[cand[partial]]
                pc = self._tree_query(self._area_tree, geom_m)
                wanted = np.zeros(len(self._shape_rep), dtype=bool)
                wanted[reps] = True
                pc = pc[wanted[self._area_owner[pc]]]
                pieces = self._area_pieces[pc]
                with _PREPARED_LOCK:  # prepared pieces: cheap tests before any overlay
                    inside = shapely.covers(pieces, geom_m)
                    meets = shapely.intersects(pieces, geom_m)
                areas = np.where(inside, float(geom_m.area), 0.0)
                cut = meets & ~inside
                if cut.any():
                    areas[cut] = shapely.area(shapely.intersection(geom_m, pieces[cut]))
                by_rep: dict[int, float] = {}
                for r, a in zip(self._area_owner[pc].tolist(), areas.tolist(), strict=True):
                    by_rep[r] = by_rep.get(r, 0.0) + a
                for k, r in zip(partial.tolist(), reps.tolist(), strict=True):
                    values[k] = by_rep.get(r, 0.0)
        out.update((z, v) for z, v in zip(cand.tolist(), values.tolist(), strict=True)
                   if v > 0.0)
        return dict(sorted(out.items()))

    def _query_box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Return the distance pieces whose bounding box meets the box (x0, y0, x1, y1)."""
        return self._tree_query(self._piece_tree, shapely.lib.box(x0, y0, x1, y1, True))

    @staticmethod
    def _tree_query(strtree, geom) -> np.ndarray:
        """Return the indices of the tree's geometries whose bounding box meets ``geom``'s."""
        tree = getattr(strtree, "_tree", None)
        if tree is None:  # shapely changed its internals: use the public (slower) call
            return strtree.query(geom)
        # The public STRtree.query spends more time wrapping a scalar than searching.  The
        # buffer is per call: a shared one let concurrent requests query each other's box.
        buf = np.empty(1, dtype=object)
        buf[0] = geom
        return tree.query(buf, 0)[1]

    def _point_distances(self, x: float, y: float, radius_m: float, excluded=None):
        """Feature index → distance (m) of features within ``radius_m`` of metric (x, y).

        ``excluded`` is a boolean array over layer numbers; those layers are skipped.
        """
        cand = self._near_candidates(x, y, radius_m)
        if excluded is not None and len(cand):
            cand = cand[~excluded[self._piece_layer[cand]]]
        if len(cand) == 0:
            return {}
        a, e, ce = self._seg[:, cand]  # one gather; ufuncs called directly (no wrappers)
        p = complex(x, y) - a
        t = (p * ce).real  # projection onto the segment, clamped to [0, 1] below
        np.maximum(t, 0.0, out=t)
        np.minimum(t, 1.0, out=t)
        p -= t * e
        d = np.minimum.reduce(np.abs(p), axis=1)
        best: dict[int, float] = {}
        for f, v in zip(self._piece_owner[cand].tolist(), d.tolist(), strict=True):
            if v <= radius_m and v < best.get(f, math.inf):
                best[f] = v
        return best

    def _metric(self, f: int):
        """Return feature ``f``'s EPSG:4550 geometry (a bulk zone's is projected now)."""
        g = self._fgeom_m[f]
        return _crs.to_metric(self._fgeom[f]) if g is None else g

    # ------------------------------------------------------------------ bulk zones

    def _build_bulk(self) -> None:
        """Bounding-box grid of the bulk zones (a CSR table: cell → zones whose bbox meets it).

        Cells are about one zone's size (as many cells as zones), so a point meets a few
        candidates; a zone is listed in every cell its bbox meets, computed with the
        query's arithmetic (monotone), so a point inside a bbox always finds it in its
        cell.  Memory: four bounds and ~4 table entries per zone.
        """
        b = self._bulk
        self._bulk_geoms = self._fgeom[b]
        self._bulk_layer = self._flayer_no[b] if len(b) else np.zeros(0, np.int64)
        if len(b) == 0:
            self._bulk_grid = None
            return
        bb = shapely.bounds(self._bulk_geoms)
        x0, y0 = float(bb[:, 0].min()), float(bb[:, 1].min())
        w = max(float(bb[:, 2].max()) - x0, 1e-9)
        h = max(float(bb[:, 3].max()) - y0, 1e-9)
        size = math.sqrt(w * h / len(b))
        inv = 1.0 / size
        nx, ny = int(w * inv) + 1, int(h * inv) + 1
        ix0 = np.clip(np.floor((bb[:, 0] - x0) * inv), 0, nx - 1).astype(np.int64)
        iy0 = np.clip(np.floor((bb[:, 1] - y0) * inv), 0, ny - 1).astype(np.int64)
        ix1 = np.clip(np.floor((bb[:, 2] - x0) * inv), 0, nx - 1).astype(np.int64)
        iy1 = np.clip(np.floor((bb[:, 3] - y0) * inv), 0, ny - 1).astype(np.int64)
        bw, bh = ix1 - ix0 + 1, iy1 - iy0 + 1
        counts = bw * bh
        item = np.repeat(np.arange(len(b), dtype=np.int32), counts)
        k = np.arange(len(item), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        wr = np.repeat(bw, counts)
        cell = (np.repeat(iy0, counts) + k // wr) * nx + np.repeat(ix0, counts) + k % wr
        del k, wr
        order = np.argsort(cell, kind="stable")  # stable: zones ascending within a cell
        self._bulk_items = item[order]
        self._bulk_start = np.searchsorted(cell[order], np.arange(nx * ny + 1))
        self._bulk_bb = bb
        self._bulk_grid = (x0, y0, inv, nx, ny)

    def _bulk_cover(self, lon: float, lat: float) -> list[int]:
        """Feature indices of the bulk zones covering (lon, lat), ascending."""
        x0, y0, inv, nx, ny = self._bulk_grid
        fx, fy = (lon - x0) * inv, (lat - y0) * inv
        if not (0.0 <= fx < nx and 0.0 <= fy < ny):
            return []
        c = int(fy) * nx + int(fx)
        cand = self._bulk_items[self._bulk_start[c]:self._bulk_start[c + 1]]
        if len(cand) == 0:
            return []
        bb = self._bulk_bb[cand]
        cand = cand[(bb[:, 0] <= lon) & (bb[:, 2] >= lon) & (bb[:, 1] <= lat) & (bb[:, 3] >= lat)]
        if len(cand) == 0:
            return []
        hit = shapely.intersects_xy(self._bulk_geoms[cand], lon, lat)  # covers, boundary in
        return self._bulk[cand[hit]].tolist()

    def _bulk_batch(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point index, feature index) pairs of bulk zones covering the points."""
        x0, y0, inv, nx, ny = self._bulk_grid
        fx, fy = (lon - x0) * inv, (lat - y0) * inv
        pts = np.flatnonzero((fx >= 0) & (fx < nx) & (fy >= 0) & (fy < ny))  # NaN: False
        c = fy[pts].astype(np.intp) * nx + fx[pts].astype(np.intp)
        start = self._bulk_start[c]
        cnt = self._bulk_start[c + 1] - start
        p = np.repeat(pts, cnt)
        k = (np.arange(len(p), dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
             + np.repeat(start, cnt))
        cand = self._bulk_items[k]
        bb = self._bulk_bb[cand]
        px, py = lon[p], lat[p]
        ok = (bb[:, 0] <= px) & (bb[:, 2] >= px) & (bb[:, 1] <= py) & (bb[:, 3] >= py)
        p, cand = p[ok], cand[ok]
        hit = shapely.intersects_xy(self._bulk_geoms[cand], px[ok], py[ok])
        return p[hit], self._bulk[cand[hit]]

    def _bulk_in_box(self, minx: float, miny: float, maxx: float, maxy: float) -> np.ndarray:
        """Positions (into ``_bulk``) of the bulk zones whose bbox meets a WGS 84 box, ascending."""
        if self._bulk_grid is None:
            return np.zeros(0, dtype=np.int32)
        x0, y0, inv, nx, ny = self._bulk_grid
        ix0 = max(math.floor((minx - x0) * inv), 0)
        ix1 = min(math.floor((maxx - x0) * inv), nx - 1)
        iy0 = max(math.floor((miny - y0) * inv), 0)
        iy1 = min(math.floor((maxy - y0) * inv), ny - 1)
        if ix0 > ix1 or iy0 > iy1:
            return np.zeros(0, dtype=np.int32)
        # The cells of one row of the box are consecutive: one slice of the table per row.
        rows = np.arange(iy0, iy1 + 1) * nx
        lo, hi = self._bulk_start[rows + ix0], self._bulk_start[rows + ix1 + 1]
        cnt = hi - lo
        k = np.arange(int(cnt.sum()), dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt) \
            + np.repeat(lo, cnt)
        cand = np.unique(self._bulk_items[k])
        bb = self._bulk_bb[cand]
        return cand[(bb[:, 0] <= maxx) & (bb[:, 2] >= minx) & (bb[:, 1] <= maxy)
                    & (bb[:, 3] >= miny)]

    def _bulk_metric(self, pos: np.ndarray) -> np.ndarray:
        """Metric copies of the bulk zones at positions ``pos`` (projected now)."""
        if len(pos) == 0:
            return np.zeros(0, dtype=object)
        return _crs.to_metric(self._bulk_geoms[pos])

    @staticmethod
    def _degree_box(lon: float, lat: float, r: float) -> tuple:
        """Return a WGS 84 box holding every point within ``r`` EPSG:4550 metres of (lon, lat).

        EPSG:4550 has scale factor ≥ 1 (k0 = 1), so metric distances are at least the
        ellipsoid's; a degree of latitude is ≥ 110,574 m and one of longitude ≥
        111,319 m × cos(latitude), widened by 2 %.
        """
        dlat = r * _BULK_DEG_MARGIN / 110_574.0 + 1e-9
        top = min(abs(lat) + dlat, 89.9)
        dlon = r * _BULK_DEG_MARGIN / (111_319.0 * math.cos(math.radians(top))) + 1e-9
        return lon - dlon, lat - dlat, lon + dlon, lat + dlat

    def _metric_box_to_wgs(self, x0: float, y0: float, x1: float, y1: float) -> tuple:
        """Return a WGS 84 box holding the metric box (x0, y0, x1, y1).

        Its densified outline is projected back, widened by 2 % of its size and ~2 m.
        """
        t = np.linspace(0.0, 1.0, 17)
        xs = np.concatenate([x0 + (x1 - x0) * t, np.full(17, x1), x1 - (x1 - x0) * t,
                             np.full(17, x0)])
        ys = np.concatenate([np.full(17, y0), y0 + (y1 - y0) * t, np.full(17, y1),
                             y1 - (y1 - y0) * t])
        t = _crs._transformer(_crs.METRIC_CRS, _crs.WGS84)
        lon, lat = t.transform(xs, ys)
        mx, my = float(np.max(lon) - np.min(lon)), float(np.max(lat) - np.min(lat))
        px, py = 0.02 * mx + 2e-5, 0.02 * my + 2e-5
        return (float(np.min(lon)) - px, float(np.min(lat)) - py,
                float(np.max(lon)) + px, float(np.max(lat)) + py)

    def _bulk_nearest(self, lon: float, lat: float, x: float, y: float, radius_m: float,
                      per_layer: int, excluded) -> dict[int, float]:
        """Feature → distance (m): at least the ``per_layer`` closest zones per bulk layer.

        Within ``radius_m``; every zone closer than the last one kept is included.

        Searches growing boxes: once a layer has ``per_layer`` zones within the box's
        radius, no zone outside the box can displace them.
        """
        layers = set(self._bulk_layer_set())
        if excluded is not None:
            layers = {k for k in layers if not excluded[k]}
        if not layers or per_layer <= 0:
            return {}
        x0, y0, inv, nx, ny = self._bulk_grid
        r = min(radius_m, max(4.0 / inv * 111_319.0 * math.cos(math.radians(lat)), 1.0))
        pt = shapely.points(x, y)
        while True:
            pos = self._bulk_in_box(*self._degree_box(lon, lat, r))
            if len(pos):
                pos = pos[np.isin(self._bulk_layer[pos], list(layers))]
            found: dict[int, float] = {}
            per: dict[int, int] = {}
            if len(pos):
                d = shapely.distance(pt, self._bulk_metric(pos))
                ok = d <= r
                for f, lay, v in zip(self._bulk[pos[ok]].tolist(),
                                     self._bulk_layer[pos[ok]].tolist(), d[ok].tolist(),
                                     strict=True):
                    found[f] = v
                    per[lay] = per.get(lay, 0) + 1
            if r >= radius_m or all(per.get(k, 0) >= per_layer for k in layers):
                return found
            r = min(radius_m, 2.0 * r)

    def _bulk_layer_set(self) -> list[int]:
        if not hasattr(self, "_bulk_layers_cache"):
            self._bulk_layers_cache = sorted(set(self._bulk_layer.tolist()))
        return self._bulk_layers_cache

    def _build_grid(self, service_area, grid_cells: int) -> None:
        """Build the cell grid, its sub-cells in boundary cells and the signature tables.

        Parameters
        ----------
        service_area : shapely.Geometry or None
            Baicheng City (WGS 84): included in the grid's extent, classified per cell.
        grid_cells : int
            Cells along the longer side of the grid.

        Notes
        -----
        Every cell gets a *signature*: the zones covering it entirely and the zones whose
        boundary crosses it (``self._sigs``, ids in ``self._cell_sig``).  Each cell that some
        zone boundary crosses (a *block*) is cut into ``_SUB × _SUB`` sub-cells, classified
        the same way (``self._sub_sig``); only points in sub-cells that a boundary crosses
        need exact tests.  Signatures are tabulated for the batch query: ``_sig_table``
        (zones per signature, feature order, padded with ``_sig_pad``), ``_sig_bnd_col``
        (which of them need an exact test), ``_sig_count``, ``_sig_has_bnd``.
        """
        geoms = list(self._fgeom[self._grid_zones])
        if service_area is not None and not shapely.is_empty(service_area):
            shapely.prepare(service_area)
            geoms.append(service_area)
        if geoms:
            b = shapely.bounds(np.array(geoms, dtype=object))
            minx, miny = b[:, 0].min(), b[:, 1].min()
            maxx, maxy = b[:, 2].max(), b[:, 3].max()
        else:
            minx = miny = 0.0
            maxx = maxy = 1.0
        # Roughly square cells in metres; pad one cell so every zone is strictly inside.
        coslat = max(math.cos(math.radians((miny + maxy) / 2)), 0.1)
        span = max((maxx - minx) * coslat, maxy - miny, 1e-9)
        dy = span / grid_cells
        dx = dy / coslat
        self._x0, self._y0 = minx - dx, miny - dy
        self._dx, self._dy = dx, dy
        self._nx = int(math.ceil((maxx - minx) / dx)) + 3
        self._ny = int(math.ceil((maxy - miny) / dy)) + 3
        self._inv_dx, self._inv_dy = 1.0 / dx, 1.0 / dy

        cell_sig = np.zeros(self._ny * self._nx, dtype=np.int32)
        grid = cell_sig.reshape(self._ny, self._nx)
        sigs: list[tuple[tuple, tuple]] = [((), ())]
        lookup: dict[tuple[tuple, tuple], int] = {((), ()): 0}
        crossed: dict[int, np.ndarray] = {}  # zone → ascending ids of its boundary cells
        for z in self._grid_zones.tolist():
            (iy0, iy1, ix0, ix1), state = self._classify(self._fgeom[z])
            view = grid[iy0:iy1, ix0:ix1]
            touched = state > 0
            view[touched] = _add_zone(sigs, lookup, view[touched], state[touched], z)
            r, c = np.divmod(np.flatnonzero(state == 2), ix1 - ix0)
            crossed[z] = (r + iy0) * self._nx + (c + ix0)
        self._cell_sig = cell_sig.astype(np.int16) if len(sigs) < 2**15 else cell_sig

        # Blocks: the cells some boundary crosses, cut into sub-cells.  A sub-cell starts
        # with its cell's covering zones; each zone crossing the cell then adds itself as
        # covering or crossing the sub-cell, or not at all.
        n_cell_sigs = len(sigs)
        is_block = np.array([len(bnd) > 0 for _, bnd in sigs], dtype=bool)
        blocks = np.flatnonzero(is_block[cell_sig])
        base = np.zeros(n_cell_sigs, dtype=np.int32)
        for s in np.flatnonzero(is_block).tolist():
            key = (sigs[s][0], ())
            if key not in lookup:
                lookup[key] = len(sigs)
                sigs.append(key)
            base[s] = lookup[key]
        sub = np.repeat(base[cell_sig[blocks]][:, None], _SUB * _SUB, axis=1)
        by_shape: dict[bytes, np.ndarray] = {}  # zones with identical geometry: one pass
        for z in self._grid_zones.tolist():
            cells = crossed.pop(z)
            if len(cells) == 0:
                continue
            key = shapely.to_wkb(self._fgeom[z])
            state = by_shape.get(key)
            if state is None:
                state = by_shape[key] = self._classify_sub(self._fgeom[z], cells)
            rows = np.searchsorted(blocks, cells)
            view = sub[rows]
            touched = state > 0
            view[touched] = _add_zone(sigs, lookup, view[touched], state[touched], z)
            sub[rows] = view
        del by_shape
        self._blocks = blocks
        # Rank structure: a cell's block number = blocks in earlier 64-cell words + the
        # popcount of its word below it (no binary search in the batch query).
        words = np.zeros((len(cell_sig) + 63) // 64 + 1, dtype=np.uint64)
        np.bitwise_or.at(words, blocks >> 6,
                         np.left_shift(np.uint64(1), (blocks & 63).astype(np.uint64)))
        self._block_words = words
        self._block_rank = np.zeros(len(words), dtype=np.int64)
        np.cumsum(np.bincount(blocks >> 6, minlength=len(words))[:-1],
                  out=self._block_rank[1:])
        self._sub_sig = sub.ravel().astype(np.int16 if len(sigs) < 2**15 else np.int32)
        self._sig_is_block = np.zeros(len(sigs), dtype=bool)
        self._sig_is_block[:n_cell_sigs] = is_block
        self._sigs = sigs
        self._sig_cov_bits = [sum(1 << z for z in cov) for cov, _ in sigs]
        # Integral images (summed-area tables, one row and column of zeros in front) of
        # the cells whose signature differs from the cell to their left (h) or below (v):
        # a block without such a cell inside holds one signature.
        h = np.zeros((self._ny + 1, self._nx + 1), dtype=np.int32)
        v = np.zeros((self._ny + 1, self._nx + 1), dtype=np.int32)
        h[1:, 2:] = np.cumsum(np.cumsum(grid[:, 1:] != grid[:, :-1], axis=0), axis=1)
        v[2:, 1:] = np.cumsum(np.cumsum(grid[1:, :] != grid[:-1, :], axis=0), axis=1)
        self._sig_change_h, self._sig_change_v = h, v
        self._sig_any_bits = [sum(1 << z for z in cov + bnd) for cov, bnd in sigs]

        # Per signature, its zones in feature (= layer) order as feature indices, padded
        # with _sig_pad (the smallest unsigned type that holds them: uint8 for < 255
        # features); _sig_bnd_col marks the zones whose boundary crosses the (sub-)cell.
        width = max(1, max(len(c) + len(b) for c, b in sigs))
        nf = len(self._fid)
        dtype = np.uint8 if nf < 255 else np.uint16 if nf < 65535 else np.int64
        pad = np.iinfo(dtype).max
        rows = [sorted(cov + bnd) for cov, bnd in sigs]
        count = np.fromiter(map(len, rows), dtype=np.intp, count=len(rows))
        at = np.repeat(np.arange(len(rows)), count)
        col = np.arange(len(at)) - np.repeat(np.cumsum(count) - count, count)
        zones = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64,
                            count=len(at))
        table = np.full((len(sigs), width), pad, dtype=dtype)
        table[at, col] = zones
        nb = np.fromiter((len(bnd) for _, bnd in sigs), dtype=np.intp, count=len(sigs))
        crossing = np.fromiter(itertools.chain.from_iterable(bnd for _, bnd in sigs),
                               dtype=np.int64, count=int(nb.sum()))
        bnd_col = np.zeros((len(sigs), width), dtype=bool)
        bnd_col[at, col] = np.isin(at * (nf + 1) + zones,
                                   np.repeat(np.arange(len(sigs)), nb) * (nf + 1) + crossing)
        self._sig_table, self._sig_pad = table, pad
        self._sig_bnd_col = bnd_col
        self._sig_count = count
        self._sig_has_bnd = bnd_col.any(axis=1)
        # Per signature with crossing zones: their (prepared) geometries, for one
        # vectorised test in ``covering``.
        self._sig_bnd_geoms = {k: self._fgeom[list(bnd)] for k, (_, bnd) in enumerate(sigs)
                               if bnd}

        self._sa_state = None
        if service_area is not None and not shapely.is_empty(service_area):
            (iy0, iy1, ix0, ix1), state = self._classify(service_area)
            sa = np.zeros((self._ny, self._nx), dtype=np.int8)
            sa[iy0:iy1, ix0:ix1] = state
            self._sa_state = sa.ravel()

    def _classify(self, geom):
        """Cells of ``geom``'s bbox: 0 outside, 1 covered entirely, 2 crossed by the boundary."""
        minx, miny, maxx, maxy = geom.bounds
        ix0 = max(int(math.floor((minx - self._x0) * self._inv_dx - _EPS)), 0)
        iy0 = max(int(math.floor((miny - self._y0) * self._inv_dy - _EPS)), 0)
        ix1 = min(int(math.floor((maxx - self._x0) * self._inv_dx + _EPS)) + 1, self._nx)
        iy1 = min(int(math.floor((maxy - self._y0) * self._inv_dy + _EPS)) + 1, self._ny)
        w, h = ix1 - ix0, iy1 - iy0
        state = np.zeros((h, w), dtype=np.int8)

        # Boundary cells: cut edges to ≤ half a cell, then mark every cell that each piece's
        # bbox (widened by _EPS) touches — a superset of the cells the boundary crosses.
        step = 0.5 * min(self._dx, self._dy)
        rings = shapely.get_parts(shapely.get_parts(shapely.boundary(geom)))
        rings = shapely.segmentize(rings, step)
        coords, part = shapely.get_coordinates(rings, return_index=True)
        same = part[1:] == part[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        lo_x = np.floor((np.minimum(a[:, 0], b[:, 0]) - self._x0) * self._inv_dx - _EPS)
        hi_x = np.floor((np.maximum(a[:, 0], b[:, 0]) - self._x0) * self._inv_dx + _EPS)
        lo_y = np.floor((np.minimum(a[:, 1], b[:, 1]) - self._y0) * self._inv_dy - _EPS)
        hi_y = np.floor((np.maximum(a[:, 1], b[:, 1]) - self._y0) * self._inv_dy + _EPS)
        lo_x, hi_x = lo_x.astype(np.int64) - ix0, hi_x.astype(np.int64) - ix0
        lo_y, hi_y = lo_y.astype(np.int64) - iy0, hi_y.astype(np.int64) - iy0
        for ox in range(3):
            for oy in range(3):
                m = (lo_x + ox <= hi_x) & (lo_y + oy <= hi_y)
                cx = np.clip(lo_x[m] + ox, 0, w - 1)
                cy = np.clip(lo_y[m] + oy, 0, h - 1)
                state[cy, cx] = 2

        # Other cells are wholly in or wholly out; along a row, a run of them between
        # boundary cells shares one answer, so one centre per run is tested.
        free = state != 2
        prev = np.zeros_like(free)
        prev[:, 1:] = free[:, :-1]
        start = (free & ~prev).ravel()
        starts = np.flatnonzero(start)
        if len(starts):
            run = np.cumsum(start) - 1
            r, c = np.divmod(starts, w)
            cx = self._x0 + (ix0 + c + 0.5) * self._dx
            cy = self._y0 + (iy0 + r + 0.5) * self._dy
            inside = shapely.contains_xy(geom, cx, cy)
            flat = state.ravel()
            freef = free.ravel()
            flat[freef & inside[np.maximum(run, 0)]] = 1
        return (iy0, iy1, ix0, ix1), state

    def _classify_sub(self, geom, cells: np.ndarray) -> np.ndarray:
        """Sub-cells of the cells ``cells``: 0 outside, 1 covered entirely, 2 crossed.

        Parameters
        ----------
        geom : shapely.Geometry
            A zone (WGS 84).
        cells : ndarray of int
            Ascending ids of the grid cells that its boundary crosses.

        Returns
        -------
        ndarray of int8, shape (len(cells), _SUB**2)
            Column ``sy * _SUB + sx`` is the sub-cell ``sx`` (x) / ``sy`` (y) of the cell;
            a point's sub-cell is ``floor(fx * _SUB) % _SUB`` with ``fx`` its cell
            coordinate — the arithmetic of the queries (``_SUB`` is a power of two, so
            the product is exact).

        Notes
        -----
        Crossed sub-cells are marked like ``_classify`` marks cells (edges cut to ≤ ½
        sub-cell, every sub-cell that each piece's bbox widened by ``_EPS`` touches).  The
        other sub-cells of a cell form regions that no boundary point meets, so each
        4-connected region lies wholly inside or wholly outside: one centre per region is
        tested.  Regions are grown on 64-bit masks (one per cell), all cells at once.
        """
        k, shift = _SUB, _SUB.bit_length() - 1
        m = len(cells)
        crossed = np.zeros(m * k * k, dtype=bool)
        step = 0.5 * min(self._dx, self._dy) / k
        rings = shapely.get_parts(shapely.get_parts(shapely.boundary(geom)))
        rings = shapely.segmentize(rings, step)
        coords, part = shapely.get_coordinates(rings, return_index=True)
        same = part[1:] == part[:-1]
        u = (coords[:, 0] - self._x0) * self._inv_dx * k  # sub-cell units, query arithmetic
        v = (coords[:, 1] - self._y0) * self._inv_dy * k
        ua, ub, va, vb = u[:-1][same], u[1:][same], v[:-1][same], v[1:][same]
        # A piece spans ≤ ½ sub-cell per axis: its widened bbox meets at most 2 × 2.
        lo_x = np.floor(np.minimum(ua, ub) - _EPS).astype(np.int64)
        hi_x = np.floor(np.maximum(ua, ub) + _EPS).astype(np.int64)
        lo_y = np.floor(np.minimum(va, vb) - _EPS).astype(np.int64)
        hi_y = np.floor(np.maximum(va, vb) + _EPS).astype(np.int64)
        # Row of each crossed cell, looked up in a dense map over their bounding box.
        cy, cx = np.divmod(cells, self._nx)
        bx, by = int(cx.min()), int(cy.min())
        bw, bh = int(cx.max()) - bx + 1, int(cy.max()) - by + 1
        row_of = np.full(bh * bw, -1, dtype=np.intp)
        row_of[(cy - by) * bw + (cx - bx)] = np.arange(m)
        for sx in (lo_x, hi_x):
            for sy in (lo_y, hi_y):
                gx, gy = (sx >> shift) - bx, (sy >> shift) - by
                pos = row_of[np.clip(gy, 0, bh - 1) * bw + np.clip(gx, 0, bw - 1)]
                # a hair outside the crossed cells: those cells are settled already
                hit = (pos >= 0) & (gx >= 0) & (gx < bw) & (gy >= 0) & (gy < bh)
                crossed[(pos[hit] << (2 * shift)) + ((sy[hit] & (k - 1)) << shift)
                        + (sx[hit] & (k - 1))] = True
        crossed = crossed.reshape(m, k * k)

        state = np.where(crossed, 2, 0).astype(np.int8)
        packed = np.zeros((m, 8), dtype=np.uint8)
        packed[:, : (k * k + 7) // 8] = np.packbits(~crossed, axis=1, bitorder="little")
        rest = packed.view("<u8").ravel().copy()  # bit sy * k + sx = free sub-cell
        col = np.arange(k * k) % k
        not_first = np.uint64(sum(1 << i for i in range(k * k) if col[i] != 0))
        not_last = np.uint64(sum(1 << i for i in range(k * k) if col[i] != k - 1))
        sdx, sdy = self._dx / k, self._dy / k
        while True:
            act = np.flatnonzero(rest)
            if len(act) == 0:
                break
            free = rest[act]
            region = free & (~free + np.uint64(1))  # lowest free bit: the seed
            seed = region.copy()
            while True:  # grow each seed over 4-neighbours within its cell's free bits
                grown = (region | ((region << np.uint64(1)) & not_first)
                         | ((region >> np.uint64(1)) & not_last)
                         | (region << np.uint64(k)) | (region >> np.uint64(k))) & free
                if np.array_equal(grown, region):
                    break
                region = grown
            bit = np.frexp(seed.astype(np.float64))[1] - 1
            px = self._x0 + (cx[act] * k + bit % k + 0.5) * sdx
            py = self._y0 + (cy[act] * k + bit // k + 0.5) * sdy
            inside = shapely.contains_xy(geom, px, py)
            if inside.any():
                rows = act[inside]
                mask = np.unpackbits(region[inside].astype("<u8").view(np.uint8).reshape(-1, 8),
                                     axis=1, bitorder="little")[:, : k * k].astype(bool)
                sub = state[rows]
                sub[mask] = 1
                state[rows] = sub
            rest[act] = free & ~region
        return state

    # ------------------------------------------------------------------ single point

    def _cell(self, lon: float, lat: float) -> int:
        fx = (lon - self._x0) * self._inv_dx
        fy = (lat - self._y0) * self._inv_dy
        if 0.0 <= fx < self._nx and 0.0 <= fy < self._ny:
            return int(fy) * self._nx + int(fx)
        return -1

    def covering(self, lon: float, lat: float) -> list[int]:
        """Return the internal indices of the zones that cover (lon, lat), in layer order.

        Parameters
        ----------
        lon, lat : float
            WGS 84 degrees (finite; not validated here).

        Returns
        -------
        list of int
            Feature indices; see :meth:`entry`.
        """
        found = self._grid_covering(lon, lat)
        if self._bulk_grid is None:
            return found
        bulk = self._bulk_cover(lon, lat)
        return sorted(found + bulk) if bulk else found

    def _grid_covering(self, lon: float, lat: float) -> list[int]:
        """:meth:`covering` over the grid zones (all but the bulk zones)."""
        fx = (lon - self._x0) * self._inv_dx  # the batch query's arithmetic, as floats
        fy = (lat - self._y0) * self._inv_dy
        if not (0.0 <= fx < self._nx and 0.0 <= fy < self._ny):
            return []
        cell = int(fy) * self._nx + int(fx)
        cov, bnd = self._sigs[self._cell_sig[cell]]
        if not bnd:
            return list(cov)
        # A boundary cell: its sub-cell settles the point unless a boundary crosses that too.
        w = cell >> 6
        block = int(self._block_rank[w]) + (
            int(self._block_words[w]) & ((1 << (cell & 63)) - 1)).bit_count()
        k = _SUB
        sig = int(self._sub_sig[block * k * k + (int(fy * k) & (k - 1)) * k
                                + (int(fx * k) & (k - 1))])
        cov, bnd = self._sigs[sig]
        if not bnd:
            return list(cov)
        # One vectorised test for all the sub-cell's crossing zones (already prepared: the
        # ufunc itself, without the wrapper's per-call checks).
        with _PREPARED_LOCK:
            hit = shapely.lib.intersects_xy(self._sig_bnd_geoms[sig], lon, lat).tolist()
        hits = tuple(z for z, h in zip(bnd, hit, strict=True) if h)
        return sorted(cov + hits) if hits else list(cov)

    def intersects_service_area(self, geom, vertex=None) -> bool:
        """Whether a WGS 84 geometry meets Baicheng City (boundary included).

        Parameters
        ----------
        geom : shapely.Geometry
            WGS 84 geometry.
        vertex : (float, float), optional
            Any vertex of ``geom`` (its first is read otherwise).

        Returns
        -------
        bool
        """
        if self.service_area is None:
            return False
        x, y = shapely.get_coordinates(geom)[0].tolist() if vertex is None else vertex
        if self._sa_state is not None:
            cell = self._cell(x, y)
            if cell >= 0 and self._sa_state[cell] == 1:  # a vertex deep inside: done
                return True
        with _PREPARED_LOCK:
            return bool(shapely.intersects(self.service_area, geom))

    def project_site(self, geom) -> ProjectedSite:
        """Project a site to EPSG:4550 and read its bounds on the way (one pass).

        Parameters
        ----------
        geom : shapely.Geometry
            WGS 84 geometry with finite coordinates.

        Returns
        -------
        ProjectedSite
            The metric geometry (as :func:`geo.crs.to_metric` gives it), the WGS 84 and metric
            bounds and the first vertex — what the site check needs, without the scalar
            shapely calls that would read them again (each costs microseconds).

        Raises
        ------
        CRSError
            When a coordinate cannot be projected.
        """
        found = {}

        def project(coords):
            xy = coords.T.copy()  # rows x and y, each contiguous: projected in place
            # Python min/max over lists: a site has a few vertices, and numpy's calls
            # would cost more than the values they reduce.
            lon, lat = xy.tolist()
            found["bounds"] = (min(lon), min(lat), max(lon), max(lat))
            found["vertex"] = (lon[0], lat[0])
            _project_to_metric(xy[0], xy[1])
            x, y = xy.tolist()
            found["metric_bounds"] = (min(x), min(y), max(x), max(y))
            found["ok"] = math.isfinite(sum(x) + sum(y))  # inf/NaN anywhere makes it so
            return xy.T

        metric = shapely.transform(geom, project)
        if not found.get("ok", False):
            metric = _crs.to_metric(geom)  # raises the CRS module's error with its wording
            return ProjectedSite(geom, metric, geom.bounds, metric.bounds,
                                 tuple(shapely.get_coordinates(geom)[0].tolist()))
        return ProjectedSite(geom, metric, found["bounds"], found["metric_bounds"],
                             found["vertex"])

    def zones_at(self, lon: float, lat: float) -> list[dict]:
        """Return the entries of the zones covering (lon, lat) (boundary inside), layer order.

        Parameters
        ----------
        lon, lat : float
            WGS 84 degrees (finite; not validated here — see :meth:`query_point`).

        Returns
        -------
        list of dict
        """
        return [dict(self._entries[z]) for z in self.covering(lon, lat)]

    def in_service_area(self, lon: float, lat: float) -> bool:
        """Whether (lon, lat) lies in Baicheng City (boundary counts as inside).

        Parameters
        ----------
        lon, lat : float
            WGS 84 degrees.

        Returns
        -------
        bool
        """
        if self._sa_state is None:
            return False
        cell = self._cell(lon, lat)
        if cell < 0:
            return False
        state = self._sa_state[cell]
        if state == 2:
            with _PREPARED_LOCK:
                return bool(shapely.intersects_xy(self.service_area, lon, lat))
        return bool(state == 1)

    def entry(self, i: int) -> dict:
        """Return a fresh result entry for feature ``i`` (id, layer, names, accuracy, kind…)."""
        return dict(self._entries[i])

    def feature_index(self, layer: str, fid: str) -> int | None:
        """Return the internal index of feature ``fid`` of ``layer``, or None."""
        return self._fkey.get((layer, fid))

    def nearest(self, lon: float, lat: float, radius_m: float = DEFAULT_RADIUS_M, *,
                per_layer: int = DEFAULT_NEAREST_PER_LAYER, exclude_layers=()) -> list[dict]:
        """Nearest features of each layer within ``radius_m`` of a point.

        Parameters
        ----------
        lon, lat : float
            WGS 84 degrees.
        radius_m : float, optional
            Search radius in metres (EPSG:4550), default 5 km.
        per_layer : int, optional
            Most features reported per layer (closest first).
        exclude_layers : iterable of str, optional
            Layers to leave out (e.g. those whose zones cover the point).

        Returns
        -------
        list of dict
            Entries with ``distance_m``, by layer order then distance.
        """
        # one point: pure-Python projection (pyproj costs ~8x more per call from many threads)
        x, y = metric_point(float(lon), float(lat))
        excluded = None
        if exclude_layers:
            excluded = np.zeros(len(self.layer_ids) + 1, dtype=bool)
            for layer in exclude_layers:
                excluded[self._layer_no.get(layer, -1)] = True
        found = self._point_distances(x, y, radius_m, excluded)
        if self._bulk_grid is not None:
            if excluded is None:
                excluded = np.zeros(len(self.layer_ids) + 1, dtype=bool)
            found.update(self._bulk_nearest(float(lon), float(lat), x, y, radius_m,
                                            per_layer, excluded))
        return self._group_nearest(found.keys(), found.values(), radius_m, per_layer,
                                   set(exclude_layers), ())

    def feature_distance_map(self, geom_m, max_distance_m: float, *, skip=(),
                             far_distance_m: float | None = None, far_skip_layers=(),
                             bounds=None, far_per_layer: int | None = None
                             ) -> dict[int, float]:
        """Distance from a metric geometry to every feature within ``max_distance_m``.

        Parameters
        ----------
        geom_m : shapely.Geometry
            Geometry in EPSG:4550 metres.
        max_distance_m : float
            Search radius in metres.
        skip : collection of int, optional
            Feature indices to leave out (e.g. zones the site lies in).
        far_distance_m : float, optional
            A second, larger radius for the features of layers not in ``far_skip_layers``.
        far_skip_layers : collection of int, optional
            Layer numbers (positions in ``layer_ids``) searched only to ``max_distance_m``.
        bounds : tuple of float, optional
            ``geom_m``'s bounds, when the caller has them.
        far_per_layer : int, optional
            Beyond ``max_distance_m`` only the closest this many features of each bulk
            layer are needed (the caller's ``nearest``): a bulk layer with that many
            within ``max_distance_m`` is not searched further.  Default: every feature.

        Returns
        -------
        dict
            Feature index → distance in metres, ascending feature index.  For a polygon
            zone that contains ``geom_m`` the value is the distance to its boundary, not 0:
            callers handle touched zones themselves.
        """
        x0, y0, x1, y1 = geom_m.bounds if bounds is None else bounds
        near = max_distance_m
        far = far_distance_m if far_distance_m is not None and far_distance_m > near else near
        out = self._grid_distance_map(geom_m, near, far, skip, far_skip_layers,
                                      (x0, y0, x1, y1))
        if self._bulk_grid is None:
            return out
        found = self._bulk_distances(geom_m, (x0, y0, x1, y1), near, skip, None)
        per: dict[int, int] = {}
        for f in found:
            lay = self._flayer_no_list[f]
            per[lay] = per.get(lay, 0) + 1
        far_layers = [k for k in self._bulk_layer_set() if k not in far_skip_layers
                      and (far_per_layer is None or per.get(k, 0) < far_per_layer)]
        if far > near and far_layers:
            found.update(self._bulk_distances(geom_m, (x0, y0, x1, y1), far, skip,
                                              far_layers))
        if not found:
            return out
        out.update(found)
        return dict(sorted(out.items()))

    def _bulk_distances(self, geom_m, bounds, r: float, skip, layers) -> dict[int, float]:
        """Feature → distance (m) of the bulk zones within ``r`` of a metric geometry."""
        x0, y0, x1, y1 = bounds
        pos = self._bulk_in_box(*self._metric_box_to_wgs(x0 - r, y0 - r, x1 + r, y1 + r))
        if layers is not None and len(pos):
            pos = pos[np.isin(self._bulk_layer[pos], layers)]
        if skip and len(pos):
            pos = pos[~np.isin(self._bulk[pos], np.fromiter(skip, dtype=np.int64))]
        if len(pos) == 0:
            return {}
        d = shapely.distance(geom_m, self._bulk_metric(pos))
        ok = d <= r
        return dict(zip(self._bulk[pos[ok]].tolist(), d[ok].tolist(), strict=True))

    def _grid_distance_map(self, geom_m, near, far, skip, far_skip_layers, bounds):
        """:meth:`feature_distance_map` over the grid features (all but the bulk zones)."""
        x0, y0, x1, y1 = bounds
        # One box query for the larger radius; then, per piece, skip the features left
        # out and the pieces whose bounding box lies beyond their layer's radius, so that
        # GEOS measures only pieces that can count (a quarter of those in the box, here:
        # the site's own zones have the most pieces nearby).  A few dozen pieces: a
        # Python loop over lists is cheaper than a dozen numpy calls.
        owner_of, layer_of = self._piece_owner_list, self._piece_layer_list
        bounds_of = self._piece_bounds_list
        near2, far2 = near * near, far * far
        keep, limit = [], []
        for k in self._query_box(x0 - far, y0 - far, x1 + far, y1 + far).tolist():
            if owner_of[k] in skip:
                continue
            bx0, by0, bx1, by1 = bounds_of[k]
            dx = max(bx0 - x1, x0 - bx1, 0.0)
            dy = max(by0 - y1, y0 - by1, 0.0)
            r = near if layer_of[k] in far_skip_layers else far
            if dx * dx + dy * dy <= (near2 if r == near else far2):
                keep.append(k)
                limit.append(r)
        if not keep:
            return {}
        best: dict[int, float] = {}
        get = best.get
        for k, r, v in zip(keep, limit, shapely.distance(geom_m, self._pieces[keep]).tolist(),
                           strict=True):
            if v <= r:
                f = owner_of[k]
                if v < get(f, math.inf):
                    best[f] = v
        return {f: best[f] for f in sorted(best)}

    def _group_nearest(self, feats, dists, radius_m, per_layer, exclude_layers,
                       exclude_features) -> list[dict]:
        """Entries of the closest ``per_layer`` features of each layer, layer order."""
        layer_of, layer_no = self._flayer_no_list, self._layer_no
        skip_layers = {layer_no[x] for x in exclude_layers if x in layer_no}
        # (layer number, distance, feature): one sort gives layer order, closest first
        ranked = sorted((layer_of[f], d, f) for f, d in zip(feats, dists, strict=True)
                        if d <= radius_m and layer_of[f] not in skip_layers
                        and f not in exclude_features)
        entries = self._entries
        out, layer, taken = [], -1, 0
        for lay, d, f in ranked:
            if lay != layer:
                layer, taken = lay, 0
            if taken < per_layer:
                taken += 1
                out.append({**entries[f], "distance_m": round_to(d, 1)})
        return out

    def query_point(self, lon: float, lat: float, radius_m: float = DEFAULT_RADIUS_M, *,
                    per_layer: int = DEFAULT_NEAREST_PER_LAYER,
                    tiers_as_json: bool = False) -> dict:
        """Answer what governs this spot: the zones covering it, the nearest zones per layer.

        A point on a zone's boundary — on a vertex or an edge — is inside the zone
        (``covers``); on the shared edge of two adjacent zones it is in both.

        Parameters
        ----------
        lon, lat : float
            WGS 84 degrees (convert other CRSs with :mod:`geo.crs` first).
        radius_m : float, optional
            Search radius for ``nearest`` in metres (default 5 km, measured in EPSG:4550).
        per_layer : int, optional
            Most nearest features per layer.
        tiers_as_json : bool, optional
            Give the tier keys as one JSON object text under ``tiers_json`` instead (for
            a caller that writes JSON itself: no parse and re-serialise).

        Returns
        -------
        dict
            ``{"in_service_area": bool, "zones": [entry…], "nearest": [entry + distance_m…],
            "tiers", "verdict", "deciding_clause", "conflicts"}``; ``zones`` holds only
            zones that cover the point (layer order); ``nearest`` lists, for each layer none
            of whose zones covers the point, its features (zones, lines, points) within
            ``radius_m``, closest first.  ``tiers`` sorts the covering zones into binding
            zones, plan designations and area-wide programmes, and ``verdict``,
            ``deciding_clause`` and ``conflicts`` follow from them (:mod:`geo.tiers`).

        Raises
        ------
        InvalidInput
            Non-finite or out-of-range coordinates, or a negative radius.
        """
        lon, lat = _check_lonlat(lon, lat)
        radius_m = check_radius(radius_m)
        covering = self.covering(lon, lat)
        zones = [dict(self._entries[z]) for z in covering]
        covered_layers = {self._flayer[z] for z in covering}
        return {
            "in_service_area": self.in_service_area(lon, lat),
            "zones": zones,
            "nearest": self.nearest(lon, lat, radius_m, per_layer=per_layer,
                                    exclude_layers=covered_layers),
            **_answer_tiers(self, covering, tiers_as_json),
        }

    # ------------------------------------------------------------------ batch

    def batch_indices(self, lon, lat, max_pairs: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised point-in-zone returning internal zone indices.

        Parameters
        ----------
        lon, lat : array_like of float
            WGS 84 degrees; NaN or far-away points simply match nothing.
        max_pairs : int, optional
            Refuse (``LimitExceeded`` ``too_many_pairs``, param ``MAX_PAIRS``) when the
            answer would hold more pairs, counted per point before any pair is built.

        Returns
        -------
        (ndarray, ndarray)
            ``point_idx`` (ascending; int32 when fewer than 2**31 points, else int64) and
            feature index pairs; a point's zones follow layer order.  Feature indices come
            as the smallest unsigned type that holds them (uint8 below 255 features, else
            uint16, else int64): use them as indices only.
        """
        lon = np.ascontiguousarray(lon, dtype=np.float64).ravel()
        lat = np.ascontiguousarray(lat, dtype=np.float64).ravel()
        if lon.shape != lat.shape:
            raise InvalidInput(code="shape_mismatch", param="points",
                               message_en="lon and lat arrays differ in length",
                               message_zh="经度与纬度数组长度不一致")
        n = len(lon)
        fx = lon - self._x0
        fx *= self._inv_dx
        fy = lat - self._y0
        fy *= self._inv_dy
        ok = (fx >= 0) & (fx < self._nx) & (fy >= 0) & (fy < self._ny)  # NaN → False
        off = None if ok.all() else ~ok
        if off is not None:
            fx[off] = fy[off] = 0.0
        cell = fy.astype(np.intp)
        cell *= self._nx
        cell += fx.astype(np.intp)
        sig = self._cell_sig[cell]
        if off is not None:
            sig[off] = 0

        # Points in boundary cells: the signature of their sub-cell instead.
        exact = ()
        b = np.flatnonzero(self._sig_is_block[sig])
        if len(b):
            k = _SUB
            sub = self._block_numbers(cell[b])
            sub *= k * k
            sub += ((fy[b] * k).astype(np.intp) & (k - 1)) * k
            sub += (fx[b] * k).astype(np.intp) & (k - 1)
            fine = self._sub_sig[sub]
            if sig.dtype != fine.dtype:
                sig = sig.astype(fine.dtype)
            sig[b] = fine
            exact = b[self._sig_has_bnd[fine]]

        # One row per point of its signature's zones (feature order, padded): row-major
        # order groups the pairs by point.  Rows are cut to the batch's largest count.
        count = self._sig_count[sig]
        width = int(count.max()) if n else 0
        table = np.take(self._sig_table[:, :width], sig, axis=0)
        if len(exact):
            self._exact_tests(lon, lat, exact, sig[exact], table, count)
        bulk = None if self._bulk_grid is None else self._bulk_batch(lon, lat)
        if max_pairs is not None:
            pairs = int(count.sum(dtype=np.int64)) + (0 if bulk is None else len(bulk[0]))
            if pairs > max_pairs:
                raise LimitExceeded(
                    "too_many_pairs",
                    f"the answer would hold {pairs:,} (point, zone) pairs; at most "
                    f"{max_pairs:,} (MAX_PAIRS): send fewer points per request",
                    f"结果将包含 {pairs:,} 个（点，分区）对，超过上限 {max_pairs:,}"
                    f"（MAX_PAIRS）；请分批提交点位", param="MAX_PAIRS")
        zone = table[table != self._sig_pad]
        point = np.repeat(np.arange(n, dtype=np.int32 if n < 2**31 else np.int64), count)
        if bulk is not None and len(bulk[0]):
            # Merge: pairs by point, a point's zones in feature (= layer) order.
            point = np.concatenate([point, bulk[0].astype(point.dtype)])
            zone = np.concatenate([zone, bulk[1].astype(zone.dtype)])
            order = np.lexsort((zone, point))
            point, zone = point[order], zone[order]
        return point, zone

    def _block_numbers(self, cells: np.ndarray) -> np.ndarray:
        """Block numbers (positions in ``_blocks``) of boundary cells, as intp."""
        if _bitwise_count is None:  # numpy < 2.0
            return np.searchsorted(self._blocks, cells)
        w = cells >> 6
        below = (np.uint64(1) << (cells & 63).astype(np.uint64)) - np.uint64(1)
        return self._block_rank[w] + _bitwise_count(self._block_words[w] & below)

    def _exact_tests(self, lon, lat, pts, sigs, table, count) -> None:
        """Drop from ``table``/``count`` the crossing zones that do not cover their point.

        ``pts`` are the points whose sub-cell some zone boundary crosses and ``sigs`` their
        signatures; one prepared ``intersects_xy`` call per zone.
        """
        rows = table[pts]
        r, c = np.nonzero(self._sig_bnd_col[sigs, : table.shape[1]])
        cz = rows[r, c].astype(np.intp)
        order = np.argsort(cz, kind="stable")
        r, c, cz = r[order], c[order], cz[order]
        p = pts[r]
        cuts = [0, *(np.flatnonzero(cz[1:] != cz[:-1]) + 1).tolist(), len(cz)]
        keep = np.empty(len(cz), dtype=bool)
        with _PREPARED_LOCK:
            for s, e in zip(cuts[:-1], cuts[1:], strict=True):
                keep[s:e] = shapely.intersects_xy(self._fgeom[cz[s]], lon[p[s:e]], lat[p[s:e]])
        if keep.all():
            return
        miss = ~keep
        rows[r[miss], c[miss]] = self._sig_pad
        table[pts] = rows
        count[pts] -= np.bincount(r[miss], minlength=len(pts))

    def batch(self, lon, lat, ids=None) -> BatchResult:
        """Vectorised point-in-zone for many points (boundary counts as inside).

        Parameters
        ----------
        lon, lat : array_like of float
            WGS 84 degrees.
        ids : array_like, optional
            Accepted for symmetry with the CLI; pair ``ids[point_idx]`` to name points.

        Returns
        -------
        BatchResult
            ``(point_idx, zone_ids, layers)``; a point covered by k zones appears k times,
            a point in no zone not at all.  Agrees with ``geopandas.sjoin(points, zones,
            predicate="intersects")``.
        """
        p, z = self.batch_indices(lon, lat)
        return BatchResult(p, z, self._fid, self._flayer)

    def in_service_area_batch(self, lon, lat) -> np.ndarray:
        """Vectorised :meth:`in_service_area` (bool array)."""
        lon = np.asarray(lon, dtype=np.float64).ravel()
        lat = np.asarray(lat, dtype=np.float64).ravel()
        out = np.zeros(len(lon), dtype=bool)
        if self._sa_state is None:
            return out
        fx = (lon - self._x0) * self._inv_dx
        fy = (lat - self._y0) * self._inv_dy
        ok = np.flatnonzero((fx >= 0) & (fx < self._nx) & (fy >= 0) & (fy < self._ny))
        st = self._sa_state[fy[ok].astype(np.int64) * self._nx + fx[ok].astype(np.int64)]
        out[ok[st == 1]] = True
        b = ok[st == 2]
        with _PREPARED_LOCK:
            out[b] = shapely.intersects_xy(self.service_area, lon[b], lat[b])
        return out

    # ------------------------------------------------------------------ info

    @property
    def zone_count(self) -> int:
        """Number of polygonal zones."""
        return len(self.zone_idx)

    def zones_frame(self):
        """All zones as one GeoDataFrame (``id``, ``layer``, geometry; EPSG:4326)."""
        import geopandas as gpd

        z = self.zone_idx
        return gpd.GeoDataFrame({"id": self._fid[z], "layer": self._flayer[z]},
                                geometry=list(self._fgeom[z]), crs="EPSG:4326")

    def grid_stats(self) -> dict:
        """Grid size and how many cells need exact tests (for benchmarks and docs).

        ``boundary_cells`` are the cells a zone boundary crosses, each cut into
        ``sub_cells``² sub-cells; ``boundary_sub_cells`` of those are crossed too (only
        points there get exact tests).
        """
        return {"nx": self._nx, "ny": self._ny, "cell_deg": (self._dx, self._dy),
                "boundary_cells": len(self._blocks), "sub_cells": _SUB,
                "boundary_sub_cells": int(self._sig_has_bnd[self._sub_sig].sum()),
                "signatures": len(self._sigs)}


_TIERS: list = []  # geo.tiers, imported on first use: it imports this module


def _answer_tiers(index: ZoneIndex, covering, as_json: bool) -> dict:
    if not _TIERS:
        from geo import tiers

        _TIERS.append(tiers)
    if as_json:
        return {"tiers_json": _TIERS[0].answer_tiers_json(index, tuple(covering))}
    return _TIERS[0].answer_tiers(index, tuple(covering))


def _bit_indices(bits: int) -> list[int]:
    """Positions of the set bits of a non-negative int, ascending."""
    out = []
    while bits:
        low = bits & -bits
        out.append(low.bit_length() - 1)
        bits ^= low
    return out


def _check_lonlat(lon, lat) -> tuple[float, float]:
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise InvalidInput(code="invalid_coordinate", param="point",
                           message_en=f"coordinates must be numbers, got {lon!r}, {lat!r}",
                           message_zh=f"坐标必须是数字，收到 {lon!r}, {lat!r}") from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidInput(code="non_finite_coordinate", param="point",
                           message_en=f"coordinates must be finite, got {lon}, {lat}",
                           message_zh=f"坐标必须是有限数值，收到 {lon}, {lat}")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InvalidInput(code="coordinate_out_of_range", param="point",
                           message_en=f"longitude/latitude out of range: {lon}, {lat}",
                           message_zh=f"经纬度超出范围：{lon}, {lat}")
    return lon, lat


def check_radius(radius_m) -> float:
    """Validate a search radius in metres (finite, 0 … 100 km).

    Parameters
    ----------
    radius_m : float
        Radius in metres.

    Returns
    -------
    float

    Raises
    ------
    InvalidInput
        ``invalid_radius`` when not a finite number in range.
    """
    try:
        r = float(radius_m)
    except (TypeError, ValueError):
        r = float("nan")
    if not (math.isfinite(r) and 0.0 <= r <= MAX_RADIUS_M):
        raise InvalidInput(code="invalid_radius", param="radius_m",
                           message_en=f"radius must be between 0 and {MAX_RADIUS_M:g} m, "
                                      f"got {radius_m!r}",
                           message_zh=f"半径必须在 0 到 {MAX_RADIUS_M:g} 米之间，收到 {radius_m!r}")
    return r


MAX_RADIUS_M = 100_000.0
"""Largest accepted search radius (metres)."""
