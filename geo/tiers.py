"""Tiers of an answer: binding zones, plan designations, area-wide programmes (issue 16).

Rules (one place; the point query, the site check, the report, the API and the CLI show
what this module returns):

* **Binding zones** (``tiers.binding``) — features at the site governed by at least one
  ``zone``-scoped clause (cores, belts, corridor, wetlands, parks, river channels, the
  imported official red lines).  Ranked by the strongest zone effect (``prohibited`` >
  ``restricted`` > ``required`` > ``encouraged``), then by the plan's precedence class
  (:func:`geo.precedence.precedence_rank`: red lines first, then the ecological space,
  then wetlands), then layer order.  The verdict comes from this tier only.
* **Plan designations** (``tiers.designations``) — placed features with their own
  geometry and no zone clause (urban functional areas, scenic areas, wind-farm sites,
  rivers, towns); their activity and programme clauses are listed with them.
* **Area-wide programmes** (``tiers.area_wide``) — extents that only repeat a county or
  the whole city (:data:`geo.index.AREA_WIDE_SHARE`, decided per feature when the index
  is built) and the admin units themselves; shown once, under ``area_wide_title``
  "本县适用的规划安排" naming the site's counties, with their clauses — never as zones
  the site lies in.  A feature governed by a zone clause is binding even when it is
  area-wide in extent: the clause then binds the whole unit.
* **Deciding clause** — the clause that set the verdict: the first zone clause with the
  verdict's effect of the first binding zone, clauses of a precedence class first, then
  by plan and line.  It carries the quote, the plan and the zone with its accuracy.
* **Conflicts** — :mod:`geo.precedence`: a restrictive binding zone against each other
  feature at the site a plan encourages (the admin units excepted: their clauses are
  stated for the whole city), with the rules that make the zone prevail.
"""

from __future__ import annotations

import json

from planmap.geo.clausebook import index_clauses
from planmap.geo.index import COUNTY_KINDS, is_admin_layer
from planmap.geo.precedence import RESTRICTIVE, conflict_rules, precedence_rank
from planmap.geo.vocab import EFFECTS

_EFFECTS = EFFECTS
_RANK = {e: len(_EFFECTS) - i for i, e in enumerate(_EFFECTS)}
_CACHE_SIZE = 4096  # distinct feature sets remembered per clause list

AREA_WIDE_TITLE_ZH = "本县适用的规划安排"
AREA_WIDE_TITLE_EN = "Plan arrangements for this county"


def _strongest(effects) -> str:
    best = max((_RANK.get(e, 0) for e in effects), default=0)
    return _EFFECTS[len(_EFFECTS) - best] if best else "none"


def _brief(template: dict) -> dict:
    """Return a clause as a tier lists it (no ``zones``: the tier entry is the zone)."""
    return {"id": template["id"], "effect": template["effect"], "scope": template["scope"],
            "text_zh": template["text_zh"], "summary_en": template["summary_en"],
            "citation": template["citation"], "plan": template["plan"]}


def answer_tiers(index, features, clause_list=None) -> dict:
    """Tiers, verdict, deciding clause and conflicts for the features at a site.

    Parameters
    ----------
    index : geo.index.ZoneIndex
        The zone index (area-wide flags are computed when it is built).
    features : sequence of int
        Internal feature indices at the site (zones covering it, and for a site check
        the line/point features it meets), in result order.
    clause_list : list of dict, optional
        Policy clauses; defaults to the index's.

    Returns
    -------
    dict
        ``{"tiers": {"binding", "designations", "area_wide", "area_wide_title",
        "counties"}, "verdict", "deciding_clause", "conflicts"}`` — fresh objects.
    """
    return _copy_answer(_cached(index, features, clause_list)[0])


def answer_tiers_json(index, features, clause_list=None) -> str:
    """:func:`answer_tiers` as JSON object text (cached per feature set; the API splices it).

    Parameters
    ----------
    index, features, clause_list
        As for :func:`answer_tiers`.

    Returns
    -------
    str
        A JSON object with the keys ``tiers``, ``verdict``, ``deciding_clause``,
        ``conflicts`` (UTF-8 text, no ASCII escapes).
    """
    clause_list = index.clauses if clause_list is None else clause_list
    split = _plain_tail(index, tuple(features), clause_list)
    if split is not None:
        return split
    entry = _cached(index, features, clause_list)
    if entry[1] is None:
        entry[1] = json.dumps(entry[0], ensure_ascii=False, separators=(",", ":"))
    return entry[1]


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _plain_tail(index, features: tuple, clause_list) -> str | None:
    """:func:`answer_tiers_json` of a set ending in *plain* features, from the rest's answer.

    A plain feature (no clause, not area-wide, not a county) adds only its entry at the end
    of ``designations``: no verdict, binding zone, county or conflict comes from it.  When
    every plain feature sorts after the others (a store layer's parcels do: their layer
    comes last), the answer is the cached answer of the others with those entries spliced
    in — a bureau's parcels are each a new feature set, which missed the cache every time.
    None when the set has no such tail (the caller builds the answer whole).
    """
    held = index_clauses(index, clause_list)
    templates_of = held.templates_of
    table = index.feature_table
    order, area_wide, entries = table.sort_key, table.area_wide, table.entries
    ranked = sorted(set(features), key=lambda x: order[x])
    cut = len(ranked)
    while cut > 0:
        f = ranked[cut - 1]
        if templates_of(f) or area_wide[f] or (is_admin_layer(table.layer_list[f])
                                               and entries[f]["kind"] in COUNTY_KINDS):
            break
        cut -= 1
    if cut == len(ranked):
        return None
    key = ("plain-tail", tuple(ranked[:cut]))
    cache = held.tiers
    parts = cache.get(key)
    if parts is None:
        a = _cached(index, ranked[:cut], clause_list)[0]
        t = a["tiers"]
        inner = _dumps(t["designations"])[1:-1]
        parts = ('{"tiers":{"binding":' + _dumps(t["binding"]) + ',"designations":[' + inner,
                 bool(inner),
                 '],"area_wide":' + _dumps(t["area_wide"]) + ',"area_wide_title":'
                 + _dumps(t["area_wide_title"]) + ',"counties":' + _dumps(t["counties"])
                 + '},"verdict":' + _dumps(a["verdict"]) + ',"deciding_clause":'
                 + _dumps(a["deciding_clause"]) + ',"conflicts":' + _dumps(a["conflicts"])
                 + "}")
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = parts
    head, nonempty, tail = parts
    extra = ",".join(_dumps({**_entry(table, f), "clauses": []}) for f in ranked[cut:])
    return head + ("," if nonempty else "") + extra + tail


def _cached(index, features, clause_list) -> list:
    """``[answer, json text or None]`` for a feature set, built once per clause list."""
    clause_list = index.clauses if clause_list is None else clause_list
    held = index_clauses(index, clause_list)
    templates_of, cache = held.templates_of, held.tiers
    key = tuple(features)
    found = cache.get(key)
    if found is None:
        found = [_build(index, key, templates_of), None]
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = found
    return found


# Copies of a cached answer, level by level: its shape is fixed, so a few dict literals
# per entry copy it several times faster than json.loads or a generic deep copy.  The
# citation and plan dicts are shared, as the site check's clause entries share them.
def _copy_clause(c: dict) -> dict:
    return dict(c)


def _copy_entry(e: dict) -> dict:
    out = {**e, "clauses": [dict(c) for c in e["clauses"]]}
    if "units" in e:
        out["units"] = list(e["units"])
    return out


def _copy_answer(a: dict) -> dict:
    t = a["tiers"]
    dc = a["deciding_clause"]
    return {
        "tiers": {"binding": [_copy_entry(e) for e in t["binding"]],
                  "designations": [_copy_entry(e) for e in t["designations"]],
                  "area_wide": [_copy_entry(e) for e in t["area_wide"]],
                  "area_wide_title": dict(t["area_wide_title"]),
                  "counties": [dict(c) for c in t["counties"]]},
        "verdict": a["verdict"],
        "deciding_clause": None if dc is None else {**_copy_clause(dc),
                                                    "zone": dict(dc["zone"])},
        "conflicts": [{**c, "prevailing": {**c["prevailing"],
                                           "clauses": list(c["prevailing"]["clauses"])},
                       "yielding": {**c["yielding"], "clauses": list(c["yielding"]["clauses"])},
                       "rules": [dict(r) for r in c["rules"]]}
                      for c in a["conflicts"]],
    }


def feature_tier(index, f: int, clause_list=None) -> str:
    """Return the tier of one feature: ``binding``, ``designation`` or ``area_wide``.

    Parameters
    ----------
    index : geo.index.ZoneIndex
        The zone index.
    f : int
        Internal feature index (as in a batch result's ``zone_idx``).
    clause_list : list of dict, optional
        Policy clauses; defaults to the index's.

    Returns
    -------
    str
    """
    templates_of = index_clauses(index, index.clauses if clause_list is None
                                 else clause_list).templates_of
    if any(t["scope"] == "zone" for t in templates_of(f)):
        return "binding"
    return "area_wide" if index.feature_table.area_wide[f] else "designation"


def _entry(table, f: int) -> dict:
    e = table.entries[f]
    return {"id": e["id"], "layer": e["layer"], "name_zh": e["name_zh"],
            "name_en": e["name_en"], "accuracy": e["accuracy"], "kind": e["kind"],
            "citation": e["citation"]}  # where the plan places or names the feature


def _build(index, features: tuple, templates_of) -> dict:
    table = index.feature_table
    order = table.sort_key
    binding, designations, area_wide, counties = [], [], [], []
    for f in sorted(set(features), key=lambda x: order[x]):
        templates = templates_of(f)
        zone = [t for t in templates if t["scope"] == "zone"]
        entry = _entry(table, f)
        if is_admin_layer(table.layer_list[f]) and table.entries[f]["kind"] in COUNTY_KINDS:
            counties.append({"id": entry["id"], "name_zh": entry["name_zh"],
                             "name_en": entry["name_en"]})
        ordered = sorted(templates, key=lambda t: (-_RANK.get(t["effect"], 0), t["id"]))
        entry["clauses"] = [_brief(t) for t in ordered]
        if zone:
            rank, rule = precedence_rank(t["id"] for t in zone)
            entry["effect"] = _strongest(t["effect"] for t in zone)
            entry["precedence"] = rule
            binding.append((-_RANK.get(entry["effect"], 0), rank, order[f], entry, zone))
        elif table.area_wide[f]:
            entry["units"] = [table.id_list[u] for u in table.area_units[f]]
            area_wide.append(entry)
        else:
            designations.append(entry)
    binding.sort(key=lambda b: b[:3])
    verdict, deciding = "none", None
    candidates = []
    if binding:
        top = binding[0]
        verdict = top[3]["effect"]
        candidates = [t for t in top[4] if t["effect"] == verdict]
    if candidates:  # none when zone clauses carry no known effect: verdict "none"
        in_class = {t["id"] for t in candidates if precedence_rank((t["id"],))[1] is not None}
        best = min(candidates, key=lambda t: (t["id"] not in in_class,
                                              str(t["citation"].get("seed")),
                                              int(t["citation"].get("line") or 0), t["id"]))
        deciding = {**_brief(best), "zone": {k: top[3][k] for k in
                                             ("id", "layer", "name_zh", "name_en", "accuracy")}}
    names_zh = "、".join(c["name_zh"] for c in counties)
    names_en = ", ".join(c["name_en"] or c["name_zh"] for c in counties)
    title = {"zh": f"{names_zh}适用的规划安排" if names_zh else "全市适用的规划安排",
             "en": f"Plan arrangements for this county ({names_en})" if names_en
             else "Plan arrangements for the whole city"}
    all_entries = [b[3] for b in binding] + designations + area_wide
    return {
        "tiers": {"binding": [b[3] for b in binding], "designations": designations,
                  "area_wide": area_wide, "area_wide_title": title, "counties": counties},
        "verdict": verdict,
        "deciding_clause": deciding,
        "conflicts": _conflicts(binding, all_entries),
    }


def _conflicts(binding: list, entries: list) -> list[dict]:
    """Each restrictive binding zone against each feature a plan encourages at the site."""
    out = []
    restrictive = [b for b in binding if b[3]["effect"] in RESTRICTIVE]
    if not restrictive:
        return out
    prevailing = restrictive[0][3]  # binding is ranked: the first restrictive zone prevails
    for entry in entries:
        # The admin units' clauses speak for the whole city, not for a place at the site.
        if entry is prevailing or entry.get("effect") in RESTRICTIVE \
                or is_admin_layer(entry["layer"]):
            continue
        encouraged = [c for c in entry["clauses"]
                      if c["effect"] == "encouraged" and c["scope"] != "citywide"]
        if not encouraged:
            continue
        tier = ("binding" if "effect" in entry else
                "area_wide" if "units" in entry else "designation")
        rules = conflict_rules(prevailing.get("precedence"), [c["id"] for c in entry["clauses"]])
        decisive = [c for c in prevailing["clauses"] if c["scope"] == "zone"
                    and c["effect"] == prevailing["effect"]]
        out.append({
            "prevailing": {"id": prevailing["id"], "layer": prevailing["layer"],
                           "name_zh": prevailing["name_zh"], "name_en": prevailing["name_en"],
                           "effect": prevailing["effect"],
                           "clauses": [c["id"] for c in decisive]},
            "yielding": {"id": entry["id"], "layer": entry["layer"],
                         "name_zh": entry["name_zh"], "name_en": entry["name_en"],
                         "tier": tier, "effect": "encouraged",
                         "clauses": [c["id"] for c in encouraged]},
            "rules": rules,
            "zh": f"冲突：{entry['name_zh']}（鼓励）与{prevailing['name_zh']}（"
                  f"{_ZH[prevailing['effect']]}）重叠，以{prevailing['name_zh']}为准："
                  + "；".join(f"{r['text_zh']}（{r['citation']['seed'][:3]}:"
                             f"{r['citation']['line']}）" for r in rules),
            "en": f"Conflict: {entry['name_en'] or entry['name_zh']} (encouraged) overlaps "
                  f"{prevailing['name_en'] or prevailing['name_zh']} ({prevailing['effect']}); "
                  f"{prevailing['name_en'] or prevailing['name_zh']} prevails: "
                  + " ".join(f"{r['text_en']} ({r['citation']['seed'][:3]}:"
                             f"{r['citation']['line']})" for r in rules),
        })
    return out


_ZH = {"prohibited": "禁止", "restricted": "限制"}
