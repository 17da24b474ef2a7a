"""Overlaps: pre-cut area pieces, overlap measures and the area-wide rule."""

from __future__ import annotations

import math

import numpy as np
import shapely
from planmap.geo.index import common as _common
from planmap.geo.index.common import (
    _EPS,
    _POLYGONAL,
    _TILE_MIN_VERTICES,
    AREA_TILE_M,
    AREA_WIDE_SHARE,
    _bit_indices,
    is_admin_layer,
)


class OverlapMixin:
    """Part of :class:`geo.index.ZoneIndex` (overlap); holds no state of its own."""

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
            with _common._PREPARED_LOCK:
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
            with _common._PREPARED_LOCK:
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
                with _common._PREPARED_LOCK:  # prepared pieces: cheap tests before any overlay
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
