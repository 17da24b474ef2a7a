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

from collections.abc import Mapping

import numpy as np
import shapely
from planmap.geo.index.bulk import BulkMixin, load_bulk_layer
from planmap.geo.index.common import (
    _POLYGONAL,
    BULK_MIN_FEATURES,
    DEFAULT_NEAREST_PER_LAYER,
    DEFAULT_RADIUS_M,
    _check_lonlat,
    _scalar_text,
    check_radius,
)
from planmap.geo.index.distance import DistanceMixin
from planmap.geo.index.grid import GridMixin, _BoundaryGeoms
from planmap.geo.index.overlap import OverlapMixin
from planmap.geo.index.table import FeatureTable, _Entries


class ZoneIndex(GridMixin, DistanceMixin, OverlapMixin, BulkMixin):
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
        state.pop("_feature_table", None)  # views of the columns, made again when read
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
            from planmap.geo.index.storezones import attach

            ids = [e.get("id") for e in (getattr(data, "catalog", None) or [])]
            index = attach(index, [in_store[k] for k in ids if k in in_store]
                           + [v for k, v in in_store.items() if k not in ids])
        return index

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
                fid, acc, g = load_bulk_layer(entries, len(ids), str(layer_id), gdf, fids)
                accuracy.extend(acc)
                ids.extend(fid)
                lyr.extend([str(layer_id)] * len(fid))
                geoms.extend(g)
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

    def entry(self, i: int) -> dict:
        """Return a fresh result entry for feature ``i`` (id, layer, names, accuracy, kind…)."""
        return dict(self._entries[i])

    def feature_index(self, layer: str, fid: str) -> int | None:
        """Return the internal index of feature ``fid`` of ``layer``, or None."""
        return self._fkey.get((layer, fid))

    # ------------------------------------------------------------------ public contract

    @property
    def feature_table(self) -> FeatureTable:
        """The features as read-only columns (:class:`geo.index.FeatureTable`).

        What modules outside :mod:`geo.index` read instead of the index's private
        attributes; made once (it holds the index's own lists, no copies).
        """
        table = self.__dict__.get("_feature_table")
        if table is None:
            table = self._feature_table = FeatureTable(
                layer_ids=tuple(self.layer_ids), ids=self._fid, layers=self._flayer,
                id_list=self._fid_list, layer_list=self._flayer_list,
                layer_numbers=self._flayer_no_list, entries=self._entries,
                schematic=self._schematic, is_zone=self._is_zone_list,
                area_m2=self._farea_list, geometry_m=self._fgeom_m,
                sort_key=self._fkey_index, area_wide=self._area_wide,
                area_units=self._area_units, geometry=self._fgeom)
        return table

    def metric_geometry(self, f: int):
        """Return feature ``f``'s EPSG:4550 geometry (a bulk zone's is projected now)."""
        return self._metric(f)

    def group_nearest(self, features, distances, radius_m: float,
                      per_layer: int = DEFAULT_NEAREST_PER_LAYER, *, exclude_layers=(),
                      exclude_features=()) -> list[dict]:
        """Return the entries of the closest features of each layer, as ``nearest`` lists them.

        Parameters
        ----------
        features : iterable of int
            Internal feature indices.
        distances : iterable of float
            Their distances in metres (same order).
        radius_m : float
            Features farther than this are left out.
        per_layer : int, optional
            Most features per layer (closest first).
        exclude_layers : collection of str, optional
            Layer ids left out (e.g. those the site touches).
        exclude_features : collection of int, optional
            Internal indices left out.

        Returns
        -------
        list of dict
            Fresh entries with ``distance_m`` (rounded to 0.1 m), in layer order, closest
            first within a layer (ties: lower internal index first).
        """
        return self._group_nearest(features, distances, radius_m, per_layer,
                                   exclude_layers, exclude_features)

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


_TIERS: list = []  # geo.tiers, imported on first use: it imports this module


def _answer_tiers(index: ZoneIndex, covering, as_json: bool) -> dict:
    if not _TIERS:
        from planmap.geo import tiers

        _TIERS.append(tiers)
    if as_json:
        return {"tiers_json": _TIERS[0].answer_tiers_json(index, tuple(covering))}
    return _TIERS[0].answer_tiers(index, tuple(covering))

