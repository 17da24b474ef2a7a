"""Bulk layers: a bounding-box CSR grid over a bureau's thousands of parcels/图斑.

Every piece of code about bulk zones (:data:`geo.index.BULK_MIN_FEATURES`) is here.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from planmap.geo import crs as _crs
from planmap.geo.index.common import (
    _BULK_DEG_MARGIN,
    _GEOM_NAMES,
    _scalar_text,
)


def load_bulk_layer(entries, start: int, layer_id: str, gdf, fids: list) -> tuple:
    """Add a bulk layer's features to the index's entries, column-wise.

    No per-feature dict is made until a result shows the feature
    (:class:`geo.index.table._Entries` blocks).

    Parameters
    ----------
    entries : _Entries
        The index's entries; the layer is added as one block.
    start : int
        Internal index of the layer's first feature.
    layer_id : str
        The layer.
    gdf : GeoDataFrame
        Its features in EPSG:4326.
    fids : list
        Feature id per row of ``gdf``.

    Returns
    -------
    (list of str, list, list)
        Ids, accuracy values and geometries of the kept (non-empty) features.
    """
    cols = set(gdf.columns)
    g = gdf.geometry.values
    keep = np.flatnonzero(~(shapely.is_missing(g) | shapely.is_empty(g)))
    fid = [str(fids[k]) for k in keep.tolist()]
    columns = {c: (gdf[c].to_numpy(dtype=object)[keep] if c in cols else None)
               for c in ("name_zh", "name_en", "accuracy", "kind", "citation")}
    entries.add_block(start, layer_id, fid, columns, _GEOM_NAMES[shapely.get_type_id(g[keep])])
    acc = columns["accuracy"]
    accuracy = ([None] * len(fid) if acc is None else [_scalar_text(a) for a in acc.tolist()])
    return fid, accuracy, g[keep].tolist()


class BulkMixin:
    """Part of :class:`geo.index.ZoneIndex` (bulk); holds no state of its own."""

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
