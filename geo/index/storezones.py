"""Bulk zones answered from a store's spatial index instead of memory.

:class:`geo.index.ZoneIndex` keeps a *bulk* layer (a bureau's parcels) as a bounding-box
grid over geometries held in memory.  A layer store already has a spatial index
(GeoPackage R-tree, PostGIS GiST), so a server with 10^6 parcels need not read them at
start: :func:`attach` returns a :class:`StoreZoneIndex`, the same index with the store
layers' features appended *virtually* after its own — feature ``base + ordinal`` — whose
bulk-zone primitives (``_bulk_cover``, ``_bulk_in_box``, ``_bulk_metric``, ``_bulk``,
``_bulk_layer``) ask the store for candidates and test them with the same shapely
predicates, so point queries, nearest, batches, site-check overlaps and distances give
the answers of the in-memory index.  Per-feature tables (result entries, areas, layer
numbers…) are read lazily for the features a query met (an LRU of rows).

``geo`` imports nothing from ``layers``: a source is any object with this protocol
(:class:`layers.storequery.StoreLayer` is one)::

    layer_id: str
    size() -> int                            # one more than the largest ordinal
    bounds -> (minx, miny, maxx, maxy)       # WGS 84
    count -> int
    candidates(minx, miny, maxx, maxy) -> (ordinals, geometries, properties)
    fetch(ordinals) -> (ordinals, geometries, properties)
    find(feature_id) -> ordinal or None
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict

import numpy as np
import shapely
from planmap.geo import crs as _crs
from planmap.geo.index.common import _GEOM_NAMES, _scalar_text
from planmap.geo.index.core import ZoneIndex

ROW_CACHE = 200_000
"""Store rows (entry, geometry, metric geometry, area) kept per index (LRU)."""


class _Tail:
    """A per-feature table: the index's own values, then the store features' (lazy)."""

    __slots__ = ("base", "n0", "fn", "n")

    def __init__(self, base, n0: int, n: int, fn):
        self.base, self.n0, self.n, self.fn = base, n0, n, fn

    def __len__(self):
        return self.n

    def __getitem__(self, k):
        if type(k) is int:  # the common case first
            return self.base[k] if k < self.n0 else self.fn(k)
        if isinstance(k, np.integer):
            k = int(k)
            return self.base[k] if k < self.n0 else self.fn(k)
        k = np.asarray(k)
        if k.dtype == bool:
            k = np.flatnonzero(k)
        if len(k) == 0 or int(k.max()) < self.n0:
            return self.base[k]
        out = np.empty(len(k), dtype=object)
        out[:] = [self[int(i)] for i in k.tolist()]
        return out

    def __iter__(self):
        return (self[i] for i in range(self.n))

    def tolist(self):
        return list(self)


class _Keys(dict):
    """``(layer, id) → feature index``; store features looked up in the store."""

    def __init__(self, base, index):
        super().__init__(base)
        self._index = index

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __missing__(self, key):
        layer, fid = key
        for s, src in enumerate(self._index._store_sources):
            if src.layer_id == layer:
                o = src.find(fid)
                if o is not None:
                    return int(self._index._src_base[s] + o)
        raise KeyError(key)


class _Combined:
    """``_bulk`` / ``_bulk_layer`` over positions: in-memory ones, then the store's."""

    __slots__ = ("mem", "m", "fn")

    def __init__(self, mem, fn):
        self.mem, self.m, self.fn = mem, len(mem), fn

    def __len__(self):
        return self.m

    def __getitem__(self, p):
        p = np.asarray(p, dtype=np.int64)
        if p.ndim == 0:
            return self[p.reshape(1)][0]
        out = np.empty(len(p), dtype=np.int64)
        mem = p < self.m
        if mem.any():
            out[mem] = self.mem[p[mem]]
        if (~mem).any():
            out[~mem] = self.fn(p[~mem] - self.m)
        return out

    def tolist(self):
        return self.mem.tolist()


class StoreZoneIndex(ZoneIndex):
    """A :class:`ZoneIndex` whose store layers stay in the store (see the module docstring).

    Built with :func:`attach`, never directly.
    """

    def __getstate__(self):
        # the lazy tables hold closures: pickle the index's own ones, wire them again
        state = super().__getstate__()
        for k in ("_rows", "_rows_lock", "_sitecheck_clause_cache", "_own", "_grid_only"):
            state.pop(k, None)
        state.update(self._own)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._own = {k: state[k] for k in _OWN_ALL if k in state}
        self._grid_only = _grid_only(self)
        self._rows = OrderedDict()
        self._rows_lock = threading.Lock()
        self._wire()

    # -------------------------------------------------------------- rows
    def _source_of(self, f: int) -> int:
        bases = self._src_base_list
        if len(bases) == 1:
            return 0
        return bisect.bisect_right(bases, f) - 1

    def _remember(self, s: int, ords, geoms, props) -> np.ndarray:
        """Cache rows of source ``s``; return their feature indices."""
        base = int(self._src_base[s])
        layer = self._store_sources[s].layer_id
        fs = ords + base
        if len(fs) == 0:
            return fs
        areas = None
        new = [k for k, f in enumerate(fs.tolist()) if f not in self._rows]
        if new:
            g = geoms[new]
            gm = _crs.to_metric(g)
            areas = shapely.area(gm)
            types = _GEOM_NAMES[shapely.get_type_id(g)]
            with self._rows_lock:
                for j, k in enumerate(new):
                    p = props[k]
                    fid = str(p.get("id"))
                    entry = {"id": fid, "layer": layer,
                             "name_zh": _scalar_text(p.get("name_zh"), fid),
                             "name_en": _scalar_text(p.get("name_en")),
                             "accuracy": _scalar_text(p.get("accuracy")),
                             "kind": _scalar_text(p.get("kind")),
                             "citation": _scalar_text(p.get("citation")),
                             "geometry_type": types[j]}
                    self._rows[int(fs[k])] = (entry, g[j], gm[j], float(areas[j]))
                while len(self._rows) > ROW_CACHE:
                    self._rows.popitem(last=False)
        return fs

    def _row(self, f: int):
        row = self._rows.get(f)
        if row is None:
            s = self._source_of(f)
            ords, geoms, props = self._store_sources[s].fetch([f - int(self._src_base[s])])
            self._remember(s, ords, geoms, props)
            row = self._rows.get(f)
            if row is None:
                raise KeyError(f)
        return row

    # -------------------------------------------------------------- wiring
    def _wire(self) -> None:
        """Replace the per-feature tables by ones that read store rows lazily."""
        n0, n = self._n0, self._n_all
        self._src_base_list = self._src_base.tolist()
        layer_no = self._layer_no
        src_layer = np.array([layer_no[s.layer_id] for s in self._store_sources], dtype=np.int64)
        self._src_layer = src_layer

        def layer_of(f):
            return self._store_sources[self._source_of(f)].layer_id

        base = self._own
        self._entries = _Tail(base["_entries"], n0, n, lambda f: self._row(f)[0])
        self._fgeom = _Tail(base["_fgeom"], n0, n, lambda f: self._row(f)[1])
        self._fgeom_m = _Tail(base["_fgeom_m"], n0, n, lambda f: self._row(f)[2])
        self._farea_list = _Tail(base["_farea_list"], n0, n, lambda f: self._row(f)[3])
        self._schematic = _Tail(base["_schematic"], n0, n,
                                lambda f: self._row(f)[0]["accuracy"] == "schematic")
        self._fid_list = _Tail(base["_fid_list"], n0, n, lambda f: self._row(f)[0]["id"])
        self._fid = _Tail(base["_fid"], n0, n, lambda f: self._row(f)[0]["id"])
        self._flayer_list = _Tail(base["_flayer_list"], n0, n, layer_of)
        self._flayer = _Tail(base["_flayer"], n0, n, layer_of)
        self._flayer_no_list = _Tail(base["_flayer_no_list"], n0, n,
                                     lambda f: int(src_layer[self._source_of(f)]))
        self._is_zone_list = _Tail(base["_is_zone_list"], n0, n, lambda f: True)
        self._fkey_index = _Tail(base["_fkey_index"], n0, n, lambda f: f)
        self._area_wide = _Tail(base["_area_wide"], n0, n, lambda f: False)
        self._area_units = _Tail(base["_area_units"], n0, n, lambda f: ())
        self._fkey = _Keys(base["_fkey"], self)

        def store_feature(q):  # store positions → feature indices
            return np.asarray(q, dtype=np.int64) - self._pos_base_of(q) + \
                self._src_base[self._pos_src(q)]

        def store_layer(q):
            return src_layer[self._pos_src(q)]

        self._bulk = _Combined(base["_bulk"], store_feature)
        self._bulk_layer = _Combined(base["_bulk_layer"], store_layer)
        if base["_bulk_grid"] is not None:
            self._bulk_grid = base["_bulk_grid"]
        else:  # the nearest search starts at ~4 zone sizes (ZoneIndex._bulk_nearest)
            minx, miny, maxx, maxy = self._store_bounds
            size = math.sqrt(max((maxx - minx) * (maxy - miny), 1e-12)
                             / max(self._store_count, 1))
            self._bulk_grid = (minx, miny, 1.0 / max(size, 1e-9), 1, 1)

    # positions into the combined bulk: mem positions [0, M), then each source's ordinals
    def _pos_src(self, q):
        return np.searchsorted(self._pos_base, np.asarray(q), side="right") - 1

    def _pos_base_of(self, q):
        return self._pos_base[self._pos_src(q)]

    # -------------------------------------------------------------- bulk primitives
    def _mem(self):
        return self._own["_bulk_grid"] is not None

    def _bulk_cover(self, lon, lat):
        found = self._with_mem(ZoneIndex._bulk_cover, lon, lat) if self._mem() else []
        for s, src in enumerate(self._store_sources):
            ords, geoms, props = src.candidates(lon, lat, lon, lat)
            if len(ords) == 0:
                continue
            hit = shapely.intersects_xy(geoms, lon, lat)  # covers: the boundary is inside
            if hit.any():
                k = np.flatnonzero(hit)
                fs = self._remember(s, ords[k], geoms[k], [props[i] for i in k.tolist()])
                found.extend(fs.tolist())
        return sorted(found)

    def batch_indices(self, lon, lat, max_pairs: int | None = None):
        """See :meth:`ZoneIndex.batch_indices` (feature indices always int64 here)."""
        lon = np.ascontiguousarray(lon, dtype=np.float64).ravel()
        lat = np.ascontiguousarray(lat, dtype=np.float64).ravel()
        p, z = ZoneIndex.batch_indices(self._grid_only, lon, lat, max_pairs)
        if len(lon) != len(lat):
            return p, z
        bp, bz = self._bulk_batch(lon, lat)
        if max_pairs is not None and len(p) + len(bp) > max_pairs:
            from planmap.geo.errors import LimitExceeded

            pairs = len(p) + len(bp)
            raise LimitExceeded(
                "too_many_pairs",
                f"the answer would hold {pairs:,} (point, zone) pairs; at most "
                f"{max_pairs:,} (MAX_PAIRS): send fewer points per request",
                f"结果将包含 {pairs:,} 个（点，分区）对，超过上限 {max_pairs:,}"
                f"（MAX_PAIRS）；请分批提交点位", param="MAX_PAIRS")
        if len(bp) == 0:
            return p, z
        point = np.concatenate([p.astype(np.int64), bp])
        zone = np.concatenate([z.astype(np.int64), bz])
        order = np.lexsort((zone, point))
        point, zone = point[order], zone[order]
        return point.astype(p.dtype), zone

    def _bulk_batch(self, lon, lat):
        ps, fs = [], []
        if self._mem():
            p, f = self._with_mem(ZoneIndex._bulk_batch, lon, lat)
            ps.append(np.asarray(p, np.int64))
            fs.append(np.asarray(f, np.int64))
        for i in np.flatnonzero(np.isfinite(lon) & np.isfinite(lat)).tolist():
            x, y = float(lon[i]), float(lat[i])
            for s, src in enumerate(self._store_sources):
                ords, geoms, _ = src.candidates(x, y, x, y)
                if len(ords):
                    hit = shapely.intersects_xy(geoms, x, y)
                    got = ords[hit] + int(self._src_base[s])
                    ps.append(np.full(len(got), i, np.int64))
                    fs.append(got)
        if not ps:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        p, f = np.concatenate(ps), np.concatenate(fs)
        order = np.lexsort((f, p))
        return p[order], f[order]

    def _bulk_in_box(self, minx, miny, maxx, maxy):
        parts = []
        if self._mem():
            parts.append(np.asarray(self._with_mem(ZoneIndex._bulk_in_box, minx, miny,
                                                   maxx, maxy), dtype=np.int64))
        for s, src in enumerate(self._store_sources):
            ords, geoms, props = src.candidates(minx, miny, maxx, maxy)
            if len(ords):
                self._remember(s, ords, geoms, props)
                parts.append(ords + int(self._pos_base[s]))
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(parts)

    def _bulk_metric(self, pos):
        pos = np.asarray(pos, dtype=np.int64)
        out = np.empty(len(pos), dtype=object)
        if len(pos) == 0:
            return out
        m = len(self._own["_bulk"])
        mem = pos < m
        if mem.any():
            out[mem] = _crs.to_metric(self._own["_bulk_geoms"][pos[mem]])
        rest = np.flatnonzero(~mem)
        if len(rest):
            fs = self._bulk[pos[rest]].tolist()
            out[rest] = [self._row(f)[2] for f in fs]
        return out

    def _bulk_layer_set(self):
        mem = sorted(set(self._own["_bulk_layer"].tolist()))
        return sorted(set(mem) | set(self._src_layer.tolist()))

    def _with_mem(self, fn, *args):
        """Run an in-memory bulk primitive of :class:`ZoneIndex` on the index's own arrays."""
        view = _MemView(self)
        return fn(view, *args)


class _MemView:
    """The in-memory bulk arrays of a :class:`StoreZoneIndex`, for ZoneIndex's primitives."""

    def __init__(self, index):
        own = index._own
        self._bulk_grid = own["_bulk_grid"]
        self._bulk_items = own["_bulk_items"]
        self._bulk_start = own["_bulk_start"]
        self._bulk_bb = own["_bulk_bb"]
        self._bulk_geoms = own["_bulk_geoms"]
        self._bulk = own["_bulk"]


_OWN = ("_entries", "_fgeom", "_fgeom_m", "_farea_list", "_schematic", "_fid_list", "_fid",
        "_flayer_list", "_flayer", "_flayer_no_list", "_is_zone_list", "_fkey_index",
        "_area_wide", "_area_units", "_fkey", "_bulk", "_bulk_layer", "_bulk_grid",
        "_bulk_geoms")
_OWN_ALL = _OWN + ("_bulk_items", "_bulk_start", "_bulk_bb")


def _grid_only(index) -> ZoneIndex:
    """Return a view of the index's own tables without bulk zones (the grid part of a batch)."""
    view = ZoneIndex.__new__(ZoneIndex)
    view.__dict__.update(index.__dict__)
    view.__dict__.update(index._own)
    view._bulk_grid = None
    return view


def attach(index: ZoneIndex, sources) -> ZoneIndex:
    """Return ``index`` with the store layers ``sources`` answered in place.

    Parameters
    ----------
    index : ZoneIndex
        Built over the in-memory layers (unchanged; the result shares its arrays).
    sources : sequence
        Objects with the protocol of the module docstring, one per store layer, in layer
        order; their layers come after the index's own in result order.

    Returns
    -------
    ZoneIndex
        ``index`` itself when there is no source, else a :class:`StoreZoneIndex`.
    """
    sources = [s for s in sources if s.count > 0]
    if not sources:
        return index
    out = StoreZoneIndex.__new__(StoreZoneIndex)
    out.__dict__.update(index.__dict__)
    # caches made on first use hold the index's own tables: made again for this one
    for k in ("_sitecheck_clause_cache", "_bulk_layers_cache"):
        out.__dict__.pop(k, None)
    out._own = {k: index.__dict__[k] for k in _OWN_ALL if k in index.__dict__}
    out._store_sources = list(sources)
    out.layer_ids = list(index.layer_ids) + [s.layer_id for s in sources]
    out._layer_no = {lid: k for k, lid in enumerate(out.layer_ids)}
    n0 = len(index._fid)
    sizes = [int(s.size()) for s in sources]
    out._n0 = n0
    out._src_base = n0 + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    out._n_all = n0 + int(sum(sizes))
    m = len(index._bulk)
    out._pos_base = m + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    b = np.array([s.bounds for s in sources], dtype=float)
    out._store_bounds = (float(b[:, 0].min()), float(b[:, 1].min()),
                         float(b[:, 2].max()), float(b[:, 3].max()))
    out._store_count = int(sum(s.count for s in sources))
    out._rows = OrderedDict()
    out._rows_lock = threading.Lock()
    out._grid_only = _grid_only(out)
    out._wire()
    return out
