"""Plan-conflict report (冲突检测): protected features versus development features.

A *protected* feature is one a ``prohibited`` or ``restricted`` zone clause applies to, in a
protection layer (ecology, water, or a context layer); a *development* feature is one
that builds something: every feature of the ``energy``, ``transport`` and ``parks``
layers (except public parks) and every feature carrying ``development`` (tourism
projects, wind/PV sites, roads and corridors of the context layers). A conflict is a
pair from different layers whose geometries overlap, or lie within ``distance_m`` of
each other. Geometry is compared in EPSG:4550 (metres).

**One conflict per pair.** A river's display band (``band_of``: the 500 m river zone) and
the river are one protected feature; a feature that is another plan's feature again
(``same_as``: the Baicheng part of the 004 loop, the 000/001 hydrogen corridor) is one
development feature. Conflicts of the same (protected, development) pair are merged into
the one with the largest measure (overlap area, then length inside, then the smallest
distance), which keeps its id and measure; the others are listed in ``merged``.

**Artefact classes.** ``artefacts`` names what in the drawn geometry, not the plan, may
make the conflict: ``disc`` (a disc or sector of chosen or published size around a point),
``display_band`` (a buffer band whose width was chosen for display), ``seat_point`` (a
point at a county seat standing for an unsited element). Each lists the features it
comes from.

The report is pure: it takes a :class:`layers.PlanData`-like object (``catalog``,
``layers``, ``clauses``, ``plans``) and returns plain dicts.
"""

from __future__ import annotations

import math

import numpy as np
from planmap.geo.clausebook import ClauseBook
from planmap.geo.errors import InvalidInput
from planmap.geo.vocab import EFFECT_RANK, RESTRICTIVE_EFFECTS, metric_transformer
from shapely import STRtree
from shapely import transform as _transform

DEFAULT_DISTANCE_M = 1000.0
MAX_DISTANCE_M = 50_000.0  # beyond this "nearness" means nothing at plan scale
PROTECTION_GROUPS = ("ecology", "water", "context")
PROTECTING_EFFECTS = RESTRICTIVE_EFFECTS
DEVELOPMENT_GROUPS = ("energy", "transport", "parks")
# Public parks protect rather than build; city-wide designations (the whole-city wind/PV
# bases, county capacity zones) have no site, so an "overlap" with them means nothing.
NOT_DEVELOPMENT_KINDS = ("public_park", "wind_base", "solar_base", "energy_base",
                         "capacity_county")
# In context layers only ecological zones protect (not e.g. the energy base extent).
CONTEXT_PROTECTED_KIND_PREFIX = "eco_"
ARTEFACT_CLASSES = ("disc", "display_band", "seat_point")
_ARTEFACT_NOTE = {"disc": ("圆形示意范围", "a schematic disc"),
                  "display_band": ("为显示选定宽度的缓冲带", "a buffer band of display width"),
                  "seat_point": ("县城所在地代位点", "a placeholder point at a county seat")}

def check_distance(value) -> float:
    """Validate a nearness distance in metres (0 = overlaps only).

    Raises
    ------
    InvalidInput
        ``bad_distance`` when not a finite number in ``[0, MAX_DISTANCE_M]``.
    """
    try:
        d = float(value)
    except (TypeError, ValueError):
        d = float("nan")
    if not math.isfinite(d) or d < 0 or d > MAX_DISTANCE_M:
        raise InvalidInput(
            "bad_distance",
            f"distance must be a number of metres between 0 and {MAX_DISTANCE_M:g}",
            f"距离须为 0 至 {MAX_DISTANCE_M:g} 之间的米数",
            param="distance",
        )
    return d


def _metric(geom):
    return _transform(geom, metric_transformer().transform, interleaved=False)


def _groups(data) -> dict[str, str]:
    return {e["id"]: e.get("group", e["id"]) for e in data.catalog}


def _plan(data, seed):
    meta = {}
    plans = getattr(data, "plans", {}) or {}
    p = plans.get(seed)
    if p is not None:
        meta = {"title_zh": getattr(p, "title_zh", None), "title_en": getattr(p, "title_en", None)}
    return {"seed": seed, "title_zh": meta.get("title_zh"), "title_en": meta.get("title_en")}


def _clause_out(data, c) -> dict:
    cit = c.get("citation") or {}
    return {
        "id": c["id"],
        "effect": c.get("effect"),
        "text_zh": c.get("text_zh"),
        "summary_en": c.get("summary_en"),
        "citation": cit,
        "plan": _plan(data, cit.get("seed")),
    }


def artefact_classes(props) -> list[str]:
    """Artefact classes of one feature's drawn geometry (see the module notes).

    Parameters
    ----------
    props : mapping
        The feature's properties (``accuracy``, ``rule``, ``band_of``).

    Returns
    -------
    list of str
        A subset of :data:`ARTEFACT_CLASSES`, in that order; empty for official geometry.
    """
    if props.get("accuracy") == "official":
        return []
    rule = str(props.get("rule") or "")
    low = rule.lower()
    found = []
    if "disc of" in low or "sector of" in low:
        found.append("disc")
    if props.get("band_of") or "buffer" in low or " band " in low:
        found.append("display_band")
    if "not a site position" in low or "point at the county seat" in low:
        found.append("seat_point")
    return found


def _pair_key(props, fid) -> str:
    for key in ("band_of", "same_as"):
        other = props.get(key)
        if isinstance(other, str) and other:
            return other
    return fid


def _is_development(group: str, props) -> bool:
    dev = props.get("development")
    if isinstance(dev, str) and dev and dev != "water":
        return True
    return group in DEVELOPMENT_GROUPS and props.get("kind") not in NOT_DEVELOPMENT_KINDS


def _features(data):
    """Yield (layer, group, id, props, metric geometry) for every feature."""
    groups = _groups(data)
    for layer_id, gdf in data.layers.items():
        group = groups.get(layer_id, layer_id)
        if gdf is None or len(gdf) == 0:
            continue
        geoms = gdf.geometry
        # to_dict keeps any column name (itertuples would rename non-identifiers).
        rows = gdf.drop(columns=[geoms.name]).to_dict("index")
        for fid, geom in geoms.items():
            if geom is None or geom.is_empty:
                continue
            yield layer_id, group, str(fid), rows[fid], _metric(geom)


def _entry(layer, props, fid, data, clauses) -> dict:
    cit = props.get("citation")
    cit = cit if isinstance(cit, dict) else {}
    return {
        "id": fid,
        "layer": layer,
        "name_zh": props.get("name_zh"),
        "name_en": props.get("name_en"),
        "kind": props.get("kind"),
        "accuracy": props.get("accuracy"),
        "citation": cit,
        "plan": _plan(data, cit.get("seed")),
        "clauses": [_clause_out(data, c) for c in clauses],
    }


def find_conflicts(data, index=None, distance_m: float = DEFAULT_DISTANCE_M) -> list[dict]:
    """Every protected/development pair that overlaps or lies within ``distance_m``.

    Parameters
    ----------
    data
        A ``layers.PlanData`` (``catalog``, ``layers``, ``clauses``, ``plans``).
    index
        Unused; accepted so callers holding a ``ZoneIndex`` can pass it (the report needs
        whole geometries, not the index's tiles).
    distance_m
        Nearness threshold in metres; 0 reports overlaps only.

    Returns
    -------
    list of dict
        ``{"id", "relation": "overlap"|"near", "overlap_m2", "overlap_ha", "distance_m",
        "protected", "development", "schematic", "note_zh", "note_en"}`` — overlaps first
        (largest area first), then by distance. ``protected``/``development`` carry the
        feature's accuracy, citation, plan and its clauses (with seed, line, quote).
    """
    del index
    distance_m = check_distance(distance_m)
    book = ClauseBook(data.clauses or [])

    protected, development = [], []
    for layer, group, fid, props, geom in _features(data):
        # only zone clauses protect a place: programmes and activity rules do not
        strong = book.zone_clauses(fid, PROTECTING_EFFECTS)
        if _is_development(group, props):
            development.append((layer, fid, props, geom))
        elif strong and group in PROTECTION_GROUPS and (
            group != "context"
            or str(props.get("kind", "")).startswith(CONTEXT_PROTECTED_KIND_PREFIX)
        ):
            protected.append((layer, fid, props, geom, strong))
    if not protected or not development:
        return []

    tree = STRtree([d[3] for d in development])
    out = []
    for p_layer, p_id, p_props, p_geom, p_clauses in protected:
        p_clauses = sorted(p_clauses, key=lambda c: (EFFECT_RANK.get(c.get("effect"), 9), c["id"]))
        hits = tree.query(p_geom, predicate="dwithin", distance=distance_m) if distance_m else \
            tree.query(p_geom, predicate="intersects")
        for j in np.sort(hits):
            d_layer, d_id, d_props, d_geom = development[int(j)]
            if d_layer == p_layer:
                continue
            inter = p_geom.intersection(d_geom) if p_geom.intersects(d_geom) else None
            overlaps = inter is not None and not inter.is_empty
            area = inter.area if overlaps and "Polygon" in p_geom.geom_type and \
                "Polygon" in d_geom.geom_type else 0.0
            length = inter.length if overlaps and "Line" in d_geom.geom_type else 0.0
            dist = 0.0 if overlaps else float(p_geom.distance(d_geom))
            schematic = [x["accuracy"] for x in (p_props, d_props)].count("schematic")
            out.append(_conflict(
                data, (p_layer, p_id, p_props, p_clauses), (d_layer, d_id, d_props,
                list(book.naming(d_id))), overlaps, area, length, dist, schematic,
            ))
    out.sort(key=_measure_order)
    # One conflict per (protected, development) pair: the first (largest measure) is kept.
    kept: dict[tuple, dict] = {}
    for c in out:
        key = c.pop("_pair")
        first = kept.get(key)
        if first is None:
            kept[key] = c
        else:
            first["merged"].append(c["id"])
            for a in c["artefacts"]:
                mine = next((x for x in first["artefacts"] if x["class"] == a["class"]), None)
                if mine is None:
                    first["artefacts"].append(a)
                else:
                    mine["features"] += [f for f in a["features"] if f not in mine["features"]]
    result = list(kept.values())
    for c in result:
        c["artefacts"].sort(key=lambda a: ARTEFACT_CLASSES.index(a["class"]))
        c["artefact_classes"] = [a["class"] for a in c["artefacts"]]
    return result


def _measure_order(c: dict) -> tuple:
    return (c["relation"] != "overlap", -c["overlap_m2"], -c["overlap_length_m"],
            c["distance_m"], c["id"])


def _conflict(data, prot, dev, overlaps, area, length, dist, schematic) -> dict:
    p_layer, p_id, p_props, p_clauses = prot
    d_layer, d_id, d_props, d_clauses = dev
    p = _entry(p_layer, p_props, p_id, data, p_clauses)
    d = _entry(d_layer, d_props, d_id, data, d_clauses)
    relation = "overlap" if overlaps else "near"
    rests = schematic > 0
    if overlaps:
        what_zh = f"重叠约 {area / 1e4:,.0f} 公顷" if area else (
            f"穿越约 {length / 1000:,.1f} 公里" if length else "相交")
        what_en = f"overlap ≈{area / 1e4:,.0f} ha" if area else (
            f"runs {length / 1000:,.1f} km inside" if length else "touches")
    else:
        what_zh, what_en = f"相距 {dist:,.0f} 米", f"{dist:,.0f} m apart"
    note_zh = f"{d['name_zh']} 与受保护要素 {p['name_zh']} {what_zh}。"
    note_en = f"{d['name_en']} and protected {p['name_en']}: {what_en}."
    artefacts: list[dict] = []
    for fid, props in ((p_id, p_props), (d_id, d_props)):
        for cls in artefact_classes(props):
            mine = next((a for a in artefacts if a["class"] == cls), None)
            if mine is None:
                artefacts.append({"class": cls, "features": [fid]})
            else:
                mine["features"].append(fid)
    if artefacts:
        note_zh += "几何来自" + "、".join(_ARTEFACT_NOTE[a["class"]][0] for a in artefacts) + \
            "，冲突可能仅由绘图方式造成。"
        note_en += " The geometry includes " + ", ".join(
            _ARTEFACT_NOTE[a["class"]][1] for a in artefacts) + \
            "; the conflict may come from that drawing alone."
    if rests:
        note_zh += "该冲突基于示意性几何（规划未给出精确边界），仅提示需核查，不是测量结果。"
        note_en += (" This rests on schematic geometry (the plans give no exact boundary): "
                    "a prompt to check, not a measured finding.")
    return {
        "id": f"{p_id}__{d_id}",
        "relation": relation,
        "overlap_m2": round(area),
        "overlap_ha": round(area / 1e4, 2),
        "overlap_length_m": round(length),
        "distance_m": round(dist, 1),
        "protected": p,
        "development": d,
        "schematic": rests,
        "note_zh": note_zh,
        "note_en": note_en,
        "artefacts": artefacts,
        "merged": [],
        "_pair": (_pair_key(p_props, p_id), _pair_key(d_props, d_id)),
    }


def report_text(conflicts: list[dict], distance_m: float, lang: str = "zh") -> str:
    """Plain-text rendering of :func:`find_conflicts` output (for the CLI)."""
    lines = [
        f"planmap conflicts — {len(conflicts)} conflict(s), distance {distance_m:g} m",
        "",
    ]
    for i, c in enumerate(conflicts, 1):
        p, d = c["protected"], c["development"]
        lines.append(f"{i}. [{c['relation']}] {c['note_zh'] if lang == 'zh' else c['note_en']}")
        for a in c.get("artefacts") or ():
            lines.append(f"   artefact:    {a['class']} ({', '.join(a['features'])})")
        if c.get("merged"):
            lines.append(f"   merged:      {', '.join(c['merged'])}")
        lines.append(f"   protected:   {p['id']} ({p['layer']}, {p['accuracy']})")
        for cl in p["clauses"]:
            cit = cl["citation"]
            lines.append(f"     - {cl['effect']}: “{cl['text_zh']}” "
                         f"[seed {cit.get('seed')} line {cit.get('line')}]")
        cit = d["citation"]
        lines.append(f"   development: {d['id']} ({d['layer']}, {d['accuracy']})")
        lines.append(f"     - plan: “{cit.get('quote')}” [seed {cit.get('seed')} "
                     f"line {cit.get('line')}]")
        for cl in d["clauses"]:
            ccit = cl["citation"]
            lines.append(f"     - {cl['effect']}: “{cl['text_zh']}” "
                         f"[seed {ccit.get('seed')} line {ccit.get('line')}]")
        lines.append("")
    return "\n".join(lines)
