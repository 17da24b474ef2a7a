"""Distances: metric copies, boundary pieces, the near grid, ``nearest`` and rings."""

from __future__ import annotations

import math

import numpy as np
import shapely
from planmap.geo import crs as _crs
from planmap.geo.fastpaths import tree_query_indices
from planmap.geo.index.common import (
    _CHUNK_VERTICES,
    _NEAR_CELL_M,
    _POLYGONAL,
    DEFAULT_NEAREST_PER_LAYER,
    DEFAULT_RADIUS_M,
    ProjectedSite,
    _project_to_metric,
    _to_metric_transformer,
)
from planmap.geo.tmerc import metric_point
from planmap.geo.units import round_to


class DistanceMixin:
    """Part of :class:`geo.index.ZoneIndex` (distance); holds no state of its own."""

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

    def _query_box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Return the distance pieces whose bounding box meets the box (x0, y0, x1, y1)."""
        return self._tree_query(self._piece_tree, shapely.lib.box(x0, y0, x1, y1, True))

    @staticmethod
    def _tree_query(strtree, geom) -> np.ndarray:
        """Return the indices of the tree's geometries whose bounding box meets ``geom``'s."""
        return tree_query_indices(strtree, geom)

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
