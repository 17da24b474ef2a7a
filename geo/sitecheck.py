"""Site check: what a point, line or (multi)polygon site touches, and what the plan says.

Rules (decided here, relied on by the API, the CLI and the reports):

* **Measures** are computed in EPSG:4550 metres (:mod:`geo.crs`): the site's area in m²,
  公顷 and 亩 (polygons) or its length (lines); per zone the overlap area (or length).
* **Touched** — a polygon site touches a zone when they share area (overlap > 0 m²); a
  line site when part of the line lies in the zone (overlap > 0 m, the zone's boundary
  included); a point site when the zone covers it (a boundary point is inside, as in
  :meth:`geo.index.ZoneIndex.query_point`).  A site that only meets a zone along its edge
  does not touch it: the zone appears in every ring at distance 0 instead.  Point and line
  features (rivers, town points) are touched when they meet the site at all.
* **Rings** are cumulative: ring *d* lists every feature whose distance to the site is
  ≤ *d* metres, excluding the features the site touches.
* **Nearest** — for each layer of which the site touches nothing, the closest features
  within ``radius_m``.
* **Clauses** — every policy clause whose ``applies_to`` names a touched feature (or a
  touched feature's layer).  Each clause has a ``scope`` (``layers/builders/clauses.py``):
  ``zone`` clauses govern any project in their zones; ``activity`` clauses govern one kind
  of project only (a coal-boiler ban is not a ban on building); ``citywide`` clauses are
  stated for the whole city; ``programme`` clauses are measures the government carries
  out (works, campaigns, systems), listed but never verdict-setting.  The **verdict** is
  the strongest effect among the ``zone`` clauses: ``prohibited`` > ``restricted`` >
  ``required`` > ``encouraged`` > ``none``, and ``verdict_basis`` names the clauses that
  set it.  ``activity_verdicts`` gives, per activity, the strongest effect that would
  apply if the project involves it.
* **Official layers** — clauses with ``official_layers`` (the 三区三线 and 基本草原 rules)
  take effect on layers a bureau imports (``eco_redline``, ``basic_farmland``,
  ``urban_growth_boundary``, ``basic_grassland``).  While any of them is not loaded,
  ``official_layers_note`` says "须核对官方三区三线" (zh + en) and names the missing layers
  and their clauses: the check cannot tell whether the site lies in those lines.  ``None``
  once every such layer is loaded.
* **Tiers** — the touched features sorted into binding zones (the verdict's tier), plan
  designations and area-wide programmes, the deciding clause and the conflicts between
  a restrictive zone and encouraged uses (:mod:`geo.tiers`, :mod:`geo.precedence`).
* **Accuracy note** — present whenever a touched feature is ``schematic`` (placed from the
  plan's words, not surveyed), naming those features; ``None`` otherwise.
"""

from __future__ import annotations

import bisect
import math

import shapely
from planmap.geo.clausebook import index_clauses
from planmap.geo.errors import InvalidGeometry, InvalidInput
from planmap.geo.index import DEFAULT_RADIUS_M, MAX_RADIUS_M, ZoneIndex, check_radius
from planmap.geo.tiers import answer_tiers
from planmap.geo.units import M2_PER_HA, M2_PER_MU, area_fields, round_to
from planmap.geo.vocab import EFFECTS, VERDICTS  # noqa: F401  (VERDICTS re-exported)

DEFAULT_RINGS = (500.0, 1000.0, 2000.0)
"""Default buffer ring distances in metres."""

MAX_RINGS = 10
"""Most buffer rings in one site check."""

# EFFECTS (clause effects) and VERDICTS (possible verdicts), strongest first: geo.vocab.

_RANK = {e: len(EFFECTS) - i for i, e in enumerate(EFFECTS)}
VERDICT_ZH = {"prohibited": "禁止", "restricted": "限制", "required": "须满足要求",
              "encouraged": "鼓励", "none": "无相关条款"}
_KIND_BY_DIM = {0: "point", 1: "line", 2: "polygon"}


def strongest_effect(effects) -> str:
    """Return the strongest of ``effects`` (see :data:`VERDICTS`), ``"none"`` if empty.

    Parameters
    ----------
    effects : iterable of str
        Clause effects; unknown values are ignored.

    Returns
    -------
    str
    """
    best = max((_RANK.get(e, 0) for e in effects), default=0)
    return EFFECTS[len(EFFECTS) - best] if best else "none"


def check_rings(rings) -> tuple[float, ...]:
    """Validate buffer ring distances: 1–10 finite numbers in (0, 100 km], sorted, unique.

    Parameters
    ----------
    rings : iterable of float
        Distances in metres.

    Returns
    -------
    tuple of float
        Sorted unique distances.

    Raises
    ------
    InvalidInput
        ``invalid_rings`` naming the offending value.
    """
    try:
        values = [float(r) for r in rings]
    except (TypeError, ValueError):
        values = None
    if not values or len(values) > MAX_RINGS or not all(
            math.isfinite(v) and 0.0 < v <= MAX_RADIUS_M for v in values):
        raise InvalidInput(
            code="invalid_rings", param="rings",
            message_en=f"rings must be 1 to {MAX_RINGS} distances in (0, {MAX_RADIUS_M:g}] m, "
                       f"got {rings!r}",
            message_zh=f"缓冲环须为 1 至 {MAX_RINGS} 个 (0, {MAX_RADIUS_M:g}] 米之间的距离，"
                       f"收到 {rings!r}")
    return tuple(sorted(set(values)))


def _check_geometry(geom) -> int:
    if not isinstance(geom, shapely.Geometry):
        raise InvalidInput(code="invalid_geometry_type", param="geometry",
                           message_en=f"expected a geometry, got {type(geom).__name__}",
                           message_zh=f"需要几何对象，收到 {type(geom).__name__}")
    if geom.is_empty:
        raise InvalidGeometry(code="empty_geometry", param="geometry",
                              message_en="the site geometry is empty",
                              message_zh="用地几何为空")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise InvalidGeometry(code="invalid_geometry", param="geometry",
                              message_en=f"invalid site geometry: {reason}",
                              message_zh=f"用地几何无效：{reason}")
    dim = _DIM_BY_TYPE.get(geom.geom_type)  # a dict read, not a shapely ufunc call
    return int(shapely.get_dimensions(geom)) if dim is None else dim


_DIM_BY_TYPE = {"Point": 0, "MultiPoint": 0, "LineString": 1, "LinearRing": 1,
                "MultiLineString": 1, "Polygon": 2, "MultiPolygon": 2}


def _pct(part, whole):
    if part is None or not whole:
        return None
    return round_to(100.0 * part / whole, 4)


def _clause_lookup(index: ZoneIndex, clauses: list):
    """Return ``templates_of`` and the plan cache of :func:`_clause_plan` for a clause list.

    ``templates_of(f)`` gives the clause entries naming feature ``f`` (id, then layer).  The
    entries are templates (``zones`` empty), built once per index and clause list by
    :func:`geo.clausebook.index_clauses` (a cache held weakly by the index).
    """
    held = index_clauses(index, clauses)
    return held.templates_of, held.plans


def site_check(index: ZoneIndex, geom_wgs84, *, rings=DEFAULT_RINGS, clauses=None,
               repairs=(), radius_m: float = DEFAULT_RADIUS_M, per_layer: int = 1) -> dict:
    """Check a site against every layer and the plan's policy clauses.

    Parameters
    ----------
    index : ZoneIndex
        The zone index (built once).
    geom_wgs84 : shapely.Geometry
        The site in WGS 84 lon/lat: (multi)point, (multi)line or (multi)polygon; must be
        valid (parse with ``repair=True`` to fix it first).
    rings : iterable of float, optional
        Buffer ring distances in metres (default 500, 1000, 2000).
    clauses : list of dict, optional
        Policy clauses; defaults to those the index was built with.
    repairs : iterable of str, optional
        Repairs made while parsing, reported back unchanged.
    radius_m : float, optional
        Search radius for ``nearest`` (default 5 km).
    per_layer : int, optional
        Nearest features reported per layer (default 1).

    Returns
    -------
    dict
        ``site``, ``in_service_area``, ``zones``, ``nearest``, ``rings``, ``clauses``,
        ``verdict``, ``verdict_zh``, ``official_layers_note``, ``accuracy_note``, ``repairs``
        (see the module rules), and ``tiers``, ``deciding_clause``, ``conflicts``
        (:mod:`geo.tiers`).

    Raises
    ------
    InvalidGeometry
        Empty or invalid geometry (GEOS reason in the message).
    InvalidInput
        Bad rings or radius.
    """
    dim = _check_geometry(geom_wgs84)
    rings = DEFAULT_RINGS if rings is DEFAULT_RINGS else check_rings(rings)
    radius_m = check_radius(radius_m)
    kind = _KIND_BY_DIM.get(dim, "polygon")
    projected = index.project_site(geom_wgs84)
    geom_m = projected.metric

    site_area = float(geom_m.area) if kind == "polygon" else None
    site_length = float(geom_m.length) if kind == "line" else None
    site = {"kind": kind, "geometry_type": geom_wgs84.geom_type,
            **area_fields(site_area),
            "length_m": None if site_length is None else round_to(site_length, 2)}

    # Touched zones and their overlaps (exact; large zones are pre-cut into tiles).
    if kind == "point":
        overlaps = {z: None for pt in shapely.get_parts(geom_wgs84)
                    for z in index.covering(pt.x, pt.y)}
    else:
        overlaps = index.overlaps_metric(geom_m, kind, wgs84_bounds=projected.bounds)
    # Result entries: one dict literal per feature over its precomputed metadata (key
    # order as the API has always returned it); the figures of zones covering the whole
    # site are the same for each, so they are rounded once.
    table = index.feature_table  # the index's public columns (geo.index.FeatureTable)
    entries, schematic_of = table.entries, table.schematic
    touched: list[tuple[int, dict]] = []
    if kind == "polygon":
        farea = table.area_m2
        whole_fields = None
        for z, v in sorted(overlaps.items()):
            if v == site_area:
                if whole_fields is None:
                    whole_fields = (round_to(v, 2), round_to(v / M2_PER_HA, 6),
                                    round_to(v / M2_PER_MU, 4), _pct(v, site_area))
                m2, ha, mu, pct_site = whole_fields
            else:
                m2, ha, mu, pct_site = (round_to(v, 2), round_to(v / M2_PER_HA, 6),
                                        round_to(v / M2_PER_MU, 4), _pct(v, site_area))
            touched.append((z, {**entries[z], "overlap_m2": m2, "overlap_ha": ha,
                                "overlap_mu": mu, "overlap_length_m": None,
                                "pct_of_zone": _pct(v, farea[z]), "pct_of_site": pct_site,
                                "schematic": schematic_of[z]}))
    else:
        whole = site_length
        for z, v in sorted(overlaps.items()):
            touched.append((z, {**entries[z], "overlap_m2": None, "overlap_ha": None,
                                "overlap_mu": None, "pct_of_zone": None,
                                "overlap_length_m": None if v is None else round_to(v, 2),
                                "pct_of_site": _pct(v, whole), "schematic": schematic_of[z]}))
    touched_idx = set(overlaps)

    # Distances to the features near the site (pieces of boundaries, lines and points),
    # skipping the zones it lies in: rings reach rings[-1], nearest reaches radius_m for
    # the layers the site touches nothing of.
    layer_no = table.layer_numbers
    dist = index.feature_distance_map(geom_m, rings[-1], skip=touched_idx,
                                      far_distance_m=radius_m,
                                      far_skip_layers={layer_no[z] for z in touched_idx},
                                      bounds=projected.metric_bounds, far_per_layer=per_layer)
    is_zone = table.is_zone
    for f, d in dist.items():
        if d == 0.0 and not is_zone[f]:  # a line/point feature meeting the site
            length = (float(shapely.intersection(index.metric_geometry(f), geom_m).length)
                      if kind == "polygon" else None)
            touched.append((f, {**entries[f], "overlap_m2": None, "overlap_ha": None,
                                "overlap_mu": None,
                                "overlap_length_m": None if length is None else round_to(length, 2),
                                "pct_of_site": None, "pct_of_zone": None,
                                "schematic": schematic_of[f]}))
            touched_idx.add(f)
    order = table.sort_key
    touched.sort(key=lambda pair: order[pair[0]])

    touched_layers = {e["layer"] for _, e in touched}
    near_sorted = sorted((d, f) for f, d in dist.items() if f not in touched_idx)
    shown = {f: round_to(d, 1) for d, f in near_sorted if d <= rings[-1]}  # once per feature
    nearest = index.group_nearest([f for _, f in near_sorted], [d for d, _ in near_sorted],
                                  radius_m, per_layer, exclude_layers=touched_layers,
                                  exclude_features=touched_idx)
    fids, flayers = table.id_list, table.layer_list
    # Rings are cumulative and near_sorted is sorted by distance: ring r lists a prefix of
    # it.  Each feature's fields are read once (a store feature's come from its row), not
    # once per ring.
    reach = [(fids[f], flayers[f], entries[f]["name_zh"], shown[f])
             for d, f in near_sorted if d <= rings[-1]]
    near_d = [d for d, _ in near_sorted[:len(reach)]]
    ring_out = []
    for r in rings:
        within = reach[:bisect.bisect_right(near_d, r)]
        ring_out.append({
            "distance_m": r,
            "zones": [fid for fid, _, _, _ in within],
            "features": [{"id": fid, "layer": layer, "name_zh": name, "distance_m": d}
                         for fid, layer, name, d in within],
        })

    clause_list = index.clauses if clauses is None else list(clauses)
    plan = _clause_plan(index, clause_list, tuple(f for f, _ in touched))
    clause_out = [{**template, "zones": list(zones)} for template, zones in plan.clauses]
    tiered = answer_tiers(index, tuple(f for f, _ in touched), clause_list)
    touched = [e for _, e in touched]
    return {
        "site": site,
        "in_service_area": index.intersects_service_area(geom_wgs84, projected.vertex),
        "zones": touched,
        "nearest": nearest,
        "rings": ring_out,
        "clauses": clause_out,
        "verdict": plan.verdict,
        "verdict_zh": VERDICT_ZH[plan.verdict],
        "verdict_basis": list(plan.basis),
        "activity_verdicts": [{**a, "clauses": list(a["clauses"])}
                              for a in plan.activity_verdicts],
        "official_layers_note": _official_layers_note(index, clause_list),
        "accuracy_note": None if plan.note is None else {
            **plan.note, "zones": [dict(z) for z in plan.note["zones"]]},
        "repairs": list(repairs),
        "tiers": tiered["tiers"],
        "deciding_clause": tiered["deciding_clause"],
        "conflicts": tiered["conflicts"],
    }


class _ClausePlan:
    """What the clauses say about one set of touched features (cached per set)."""

    __slots__ = ("clauses", "verdict", "basis", "activity_verdicts", "note")

    def __init__(self, clauses, verdict, basis, activity_verdicts, note):
        self.clauses, self.verdict, self.basis = clauses, verdict, basis
        self.activity_verdicts, self.note = activity_verdicts, note


_PLAN_CACHE_SIZE = 4096  # distinct touched-feature sets remembered per clause list


def _clause_plan(index: ZoneIndex, clause_list: list, touched: tuple) -> _ClausePlan:
    """Clauses, verdict, activity verdicts and accuracy note for the touched features.

    They depend only on which features are touched (in result order), so they are worked
    out once per distinct set and kept in a bounded cache next to the clause templates;
    callers copy every mutable part before handing it out.
    """
    templates_of, cache = _clause_lookup(index, clause_list)
    plan = cache.get(touched)
    if plan is not None:
        return plan
    table = index.feature_table
    fids, schematic_of, entries = table.id_list, table.schematic, table.entries
    attached: dict[str, tuple[dict, list]] = {}
    for f in touched:
        fid = fids[f]
        for template in templates_of(f):
            found = attached.get(template["id"])
            if found is None:
                attached[template["id"]] = (template, [fid])
            elif fid not in found[1]:
                found[1].append(fid)
    ordered = sorted(attached.values(), key=lambda pair: _clause_order(pair[0]))
    clauses = tuple((template, tuple(zones)) for template, zones in ordered)
    zone_clauses = [t for t, _ in clauses if t["scope"] == "zone"]
    # clauses are strongest first: the first zone clause sets the verdict
    verdict = strongest_effect((zone_clauses[0]["effect"],)) if zone_clauses else "none"
    basis = tuple(t["id"] for t in zone_clauses if t["effect"] == verdict)
    schematic = [entries[f] for f in touched if schematic_of[f]]
    plan = _ClausePlan(clauses, verdict, basis,
                       _activity_verdicts([t for t, _ in clauses]),
                       _accuracy_note(schematic) if schematic else None)
    if len(cache) >= _PLAN_CACHE_SIZE:
        cache.clear()
    cache[touched] = plan
    return plan


def _clause_order(c: dict) -> tuple:
    return (-_RANK.get(c["effect"], 0), c["id"])


def _activity_verdicts(clauses: list[dict]) -> list[dict]:
    """Strongest effect per activity named by the ``activity`` clauses, strongest first."""
    by_activity: dict[str, dict] = {}
    for c in clauses:
        if c["scope"] != "activity":
            continue
        entry = by_activity.get(c["activity_zh"])
        if entry is None:
            entry = by_activity[c["activity_zh"]] = {
                "activity_zh": c["activity_zh"], "activity_en": c["activity_en"],
                "effect": "none", "clauses": []}
        entry["clauses"].append(c["id"])
        if _RANK.get(c["effect"], 0) > _RANK.get(entry["effect"], 0):
            entry["effect"] = c["effect"]
    return sorted(by_activity.values(),
                  key=lambda a: (-_RANK.get(a["effect"], 0), a["activity_zh"]))


def _accuracy_note(schematic: list[dict]) -> dict:
    names_zh = "、".join(e["name_zh"] for e in schematic)
    names_en = ", ".join(e.get("name_en") or e["id"] for e in schematic)
    return {
        "zh": f"示意性范围：{names_zh} 的边界是依据规划文字示意绘制的，并非法定或测绘边界；"
              f"重叠面积和距离仅供参考，须以主管部门的正式数据为准。",
        "en": f"Schematic extent: the boundaries of {names_en} were drawn from the plan's "
              f"wording, not surveyed or legal boundaries; overlaps and distances are "
              f"indicative only — confirm against the authority's official data.",
        "zones": [{"id": e["id"], "layer": e["layer"], "name_zh": e["name_zh"]}
                  for e in schematic],
    }


OFFICIAL_LAYER_NAMES = {
    "eco_redline": ("生态保护红线", "ecological protection red line"),
    "basic_farmland": ("永久基本农田", "permanent basic farmland"),
    "urban_growth_boundary": ("城镇开发边界", "urban development boundary"),
    "basic_grassland": ("基本草原", "basic grassland"),
}
"""Names of the official layers the binding clauses take effect on (ids as in
``layers/builders/clauses.py``); other ids a clause names are shown as they are."""


def official_layers_note(layer_ids, clauses) -> dict | None:
    """Say which official layers the binding clauses need but are not loaded.

    Parameters
    ----------
    layer_ids : iterable of str
        Ids of the loaded layers.
    clauses : list of dict
        Policy clauses; those with ``official_layers`` count.

    Returns
    -------
    dict or None
        ``{"zh", "en", "layers": [{"id", "name_zh", "name_en"}], "clauses": [ids]}``, or
        ``None`` when every layer the clauses name is loaded (or none is named).
    """
    loaded = set(layer_ids)
    missing: list[str] = []
    clause_ids: list[str] = []
    for c in clauses:
        absent = [lid for lid in c.get("official_layers") or () if lid not in loaded]
        if absent:
            clause_ids.append(c["id"])
            missing += [lid for lid in absent if lid not in missing]
    if not missing:
        return None
    names = [(lid, *OFFICIAL_LAYER_NAMES.get(lid, (lid, lid))) for lid in missing]
    zh = "、".join(n for _, n, _ in names)
    en = ", ".join(n for _, _, n in names)
    return {
        "zh": f"须核对官方三区三线：未载入官方{zh}图层，本次核查无法判断用地是否位于其中；"
              f"相关条款（{'、'.join(clause_ids)}）须以自然资源主管部门的三区三线成果为准。",
        "en": f"Check the official three zones and three lines: no official {en} "
              f"layer is loaded, so this check cannot tell whether the site lies in them; "
              f"the clauses {', '.join(clause_ids)} apply as the natural-resources "
              f"authority's official data show.",
        "layers": [{"id": lid, "name_zh": z, "name_en": e} for lid, z, e in names],
        "clauses": clause_ids,
    }


def _official_layers_note(index: ZoneIndex, clause_list: list) -> dict | None:
    """:func:`official_layers_note` for the index's layers, a fresh copy per call."""
    held = index_clauses(index, clause_list)
    cached = held.official_note
    if cached is None or cached[0] is not clause_list:
        cached = held.official_note = (clause_list,
                                       official_layers_note(index.layer_ids, clause_list))
    note = cached[1]
    return None if note is None else {**note, "layers": [dict(x) for x in note["layers"]],
                                      "clauses": list(note["clauses"])}
