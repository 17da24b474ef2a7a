"""Which plans answer for a site: plan areas, routing between zone indexes, result scoping.

Rules (relied on by the API and the map page):

* Each plan has an **area** (the official boundary of the unit it governs) and may
  **defer** part of it to another plan: inside Baicheng the two provincial plans (001, 004)
  answer through the context layers of the Baicheng map, so their own province-wide groups
  defer to plan ``000`` there. A plan's *answer area* is its area minus the areas of the
  plans it defers to.
* A site is answered by every plan whose answer area it intersects (a point on a boundary
  counts for both sides), and only by them: zones, nearest features, rings and clauses
  from any other plan's layers are left out.
* The home plan's layers (Baicheng) live in their own index, built exactly as before the
  other plans existed; a site answered by the home plan is checked against that index
  alone, so a Baicheng answer is what it always was (plus the ``plans`` list). A site that
  straddles Baicheng's boundary is therefore answered by Baicheng's map only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

import numpy as np
import shapely


class PlanScope:
    """Plan areas and the layer → plan map.

    Parameters
    ----------
    plans : list of dict
        Catalog plan entries (``id``, ``name_zh``, ``name_en``, ``level``, ``seed``,
        ``title_zh``, ``title_en``, ``defers_to``, ``home``), in display order.
    areas : mapping of str to shapely.Geometry
        Plan id → area (WGS 84); plans without an area never answer.
    layer_plan : mapping of str to str
        Layer id → plan id.
    """

    def __init__(self, plans: list[dict], areas: Mapping, layer_plan: Mapping):
        self.plans = [dict(p) for p in plans]
        self.layer_plan = dict(layer_plan)
        self.home = next((p["id"] for p in self.plans if p.get("home")), None)
        self._answer: dict[str, object] = {}
        self._lock = threading.Lock()
        for p in self.plans:
            area = areas.get(p["id"])
            if area is None:
                continue
            others = [areas[d] for d in p.get("defers_to") or () if areas.get(d) is not None]
            if others:
                area = shapely.difference(area, shapely.union_all(others))
            shapely.prepare(area)
            self._answer[p["id"]] = area

    def __getstate__(self):
        # pickled for the command line's cache (geo.indexcache): a lock does not pickle
        return {k: v for k, v in vars(self).items() if k != "_lock"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def plans_for(self, geom) -> list[str]:
        """Return the ids of the plans whose answer area the site (WGS 84) intersects."""
        # A prepared GEOS geometry builds its search structures lazily on first use, and
        # that is not thread-safe: concurrent first queries from request threads corrupted
        # the heap ("malloc(): unaligned tcache chunk"). One lock; the calls take microseconds.
        with self._lock:
            return [pid for pid, area in self._answer.items() if shapely.intersects(area, geom)]

    def answering_bits(self, lon, lat) -> tuple[list[str], np.ndarray]:
        """Per point, which plans answer for it, as bits (vectorised :meth:`plans_for`).

        Returns ``(plan ids, int64 array)``: bit ``k`` of a point's value is set when
        plan ``ids[k]`` answers for the point (WGS 84 ``lon``/``lat`` arrays).
        """
        pids = list(self._answer)
        bits = np.zeros(len(lon), dtype=np.int64)
        with self._lock:  # lazily built prepared structures: see plans_for
            for k, pid in enumerate(pids):
                hit = shapely.intersects_xy(self._answer[pid], lon, lat)
                bits |= hit.astype(np.int64) << k
        return pids, bits

    def describe(self, ids: Iterable[str]) -> list[dict]:
        """Return short descriptions of plans (id, names, level, seed, titles)."""
        wanted = set(ids)
        keys = ("id", "name_zh", "name_en", "level", "seed", "title_zh", "title_en")
        return [{k: p.get(k) for k in keys} for p in self.plans if p["id"] in wanted]

    def layers_of(self, ids: Iterable[str]) -> set[str]:
        """Return the layer ids of the given plans."""
        wanted = set(ids)
        return {lid for lid, pid in self.layer_plan.items() if pid in wanted}


def route(scope: PlanScope | None, home_index, plan_index, geom):
    """Pick the index for a site and the plans that answer.

    Parameters
    ----------
    scope : PlanScope or None
        Without a scope (data without plans) the home index answers everything.
    home_index, plan_index : geo.index.ZoneIndex
        The home plan's index and the other plans' (``plan_index`` may be None).
    geom : shapely.Geometry
        The site, WGS 84.

    Returns
    -------
    (ZoneIndex, list of str, bool)
        The index to ask, the answering plan ids, and whether the result must be scoped
        to those plans (False for the home index).
    """
    if scope is None:
        return home_index, [], False
    ids = scope.plans_for(geom)
    if plan_index is None or not ids or scope.home in ids:
        return home_index, ids, False
    return plan_index, ids, True


def scope_result(result: dict, scope: PlanScope, ids: list[str]) -> dict:
    """Drop ``nearest`` and ``rings`` entries from layers of plans that do not answer.

    Touched zones need no filtering: every feature lies inside its plan's area, so a site
    touching it intersects that area. The dict is changed in place and returned.
    """
    keep = scope.layers_of(ids)
    if "nearest" in result:
        result["nearest"] = [e for e in result["nearest"] if e.get("layer") in keep]
    for ring in result.get("rings") or ():
        feats = [f for f in ring["features"] if f.get("layer") in keep]
        ring["features"] = feats
        ring["zones"] = [f["id"] for f in feats]
    return result


def scope_from_plan_data(data) -> PlanScope | None:
    """Build the :class:`PlanScope` of a ``layers.PlanData`` (None for data without plans)."""
    plans = getattr(data, "plan_list", None)
    if not plans:
        return None
    return PlanScope(plans, data.plan_areas(),
                     {e["id"]: data.layer_plan(e["id"]) for e in data.catalog})


def other_plan_ids(scope: PlanScope) -> list[str]:
    """Return the ids of every plan but the home plan (the second index's plans)."""
    return [p["id"] for p in scope.plans if p["id"] != scope.home]
