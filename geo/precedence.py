"""Which plan rule prevails where the zones at a site disagree (issue 16).

The plans put ecological protection first: the city plan's principle "突出生态优先地位"
(000:296), its ecological-space regime "实施最严格的生态空间保护制度" for the cores, belts
and corridor (000:551), the red line and permanent basic farmland systems (000:828), the
province's wetland use control (001:3678), and the provincial clean-energy plan's own
siting rule that the energy base avoids farmland, wetlands, the red line and reserves
(004:3503).  :data:`PRECEDENCE_RULES` holds those lines verbatim (tests check each quote at
its cited line); :func:`precedence_rank` orders binding zones by them and
:func:`conflict_rules` names the rules behind one conflict.

Rules of this module (relied on by :mod:`geo.tiers`):

* A binding zone's **precedence class** is the first rule of :data:`PRECEDENCE_CLASSES`
  one of whose clauses governs the zone (red lines and basic farmland, then the
  ecological space of cores/belts/corridor, then wetlands); zones governed by none rank
  after them.
* A **conflict** is a restrictive binding zone (its strongest zone clause ``prohibited``
  or ``restricted``) and another feature at the site that a plan *encourages* (an
  ``encouraged`` clause of any scope but ``citywide``).  The restrictive zone prevails;
  the rules cited are the zone's class rule, the 生态优先 principle when the zone is
  ecological (any class), and the energy base's avoidance rule when the encouraged
  feature is governed by an energy clause (:data:`ENERGY_CLAUSES`).
"""

from __future__ import annotations

from planmap.geo.vocab import RESTRICTIVE_EFFECTS

CITY_SEED = "000_f32aaef515cfbb76"
PROVINCE_SEED = "001_9a974351a9e73ab7"
ENERGY_SEED = "004_bba0a9fb5e7355d6"

PRECEDENCE_RULES = {
    "red_lines_first": {
        "id": "red_lines_first",
        "text_zh": "生态保护红线、永久基本农田优先：严格落实生态保护红线、永久基本农田制度",
        "text_en": "Ecological protection red line and permanent basic farmland come first: "
                   "their systems are strictly enforced.",
        "citation": {"seed": CITY_SEED, "line": 828,
                     "quote": "严格落实生态保护红线、永久基本农田制度"},
    },
    "eco_space_strictest": {
        "id": "eco_space_strictest",
        "text_zh": "生态核、生态带、生态廊道实施最严格的生态空间保护制度",
        "text_en": "The ecological cores, belts and corridor are under the strictest "
                   "ecological-space protection regime.",
        "citation": {"seed": CITY_SEED, "line": 551,
                     "quote": "落实国家主体功能区战略，实施最严格的生态空间保护制度"},
    },
    "wetland_use_control": {
        "id": "wetland_use_control",
        "text_zh": "湿地实施分级管理，严格湿地用途监管和总量管控",
        "text_en": "Wetlands are managed by grade under strict use control and a total cap.",
        "citation": {"seed": PROVINCE_SEED, "line": 3678,
                     "quote": "实施湿地分级管理，严格湿地用途监管和总量管控"},
    },
    "ecology_first": {
        "id": "ecology_first",
        "text_zh": "坚持保护生态与发展经济相统筹，突出生态优先地位",
        "text_en": "Protection and development are balanced with ecology given priority.",
        "citation": {"seed": CITY_SEED, "line": 296, "quote": "突出生态优先地位"},
    },
    "energy_base_avoids": {
        "id": "energy_base_avoids",
        "text_zh": "清洁能源基地避让基本农田、林地、湿地、生态红线、保护区"
                   "及鸟类和野生动物迁徙通道、栖息地",
        "text_en": "The clean-energy base avoids basic farmland, forest land, wetlands, the "
                   "ecological red line, reserves and wildlife corridors and habitats.",
        "citation": {"seed": ENERGY_SEED, "line": 3503,
                     "quote": "避让基本农田、林地、湿地、生态红线、保护区、"
                              "鸟类及野生动物迁徙通道及栖息地等"},
    },
}
"""Precedence rules by id: ``text_zh``/``text_en`` (our wording) and the plan line that says so."""

PRECEDENCE_CLASSES = (
    ("red_lines_first", frozenset({"pol_red_line_pbf", "pol_red_line_rules", "pol_pbf_special",
                                   "ctx_pol_spatial_control_lines",
                                   "pol_basic_grassland_no_loss"})),
    ("eco_space_strictest", frozenset({"pol_strictest_eco_space"})),
    ("wetland_use_control", frozenset({"pol_wetland_shrinkage", "ctx_pol_wetland_use_control"})),
)
"""Precedence classes, first prevails: (rule id, the clauses that put a zone in it)."""

ENERGY_CLAUSES = frozenset({"pol_energy_local_use", "pol_centralised_distributed",
                            "ctx_pol_energy_avoidance", "ctx_pol_farmland_min",
                            "ctx_pol_wind_500m_homes"})
"""Clauses that mark a feature as part of the energy base (wind/PV bases and sites)."""

RESTRICTIVE = RESTRICTIVE_EFFECTS
"""Zone-clause effects that make a binding zone prevail over encouraged uses."""


def precedence_rank(clause_ids) -> tuple[int, str | None]:
    """Return ``(rank, rule id)`` of the first precedence class a zone's clauses put it in.

    Parameters
    ----------
    clause_ids : iterable of str
        Ids of the clauses governing the zone.

    Returns
    -------
    (int, str or None)
        ``(k, rule id)`` for class ``k`` of :data:`PRECEDENCE_CLASSES`; ``(len, None)``
        when no class applies.
    """
    ids = set(clause_ids)
    for k, (rule, members) in enumerate(PRECEDENCE_CLASSES):
        if ids & members:
            return k, rule
    return len(PRECEDENCE_CLASSES), None


def conflict_rules(prevailing_rule: str | None, yielding_clause_ids) -> list[dict]:
    """Return the precedence rules behind one conflict, each a fresh dict with its citation.

    Parameters
    ----------
    prevailing_rule : str or None
        Precedence class rule of the restrictive zone (:func:`precedence_rank`).
    yielding_clause_ids : iterable of str
        Clauses governing the encouraged feature.

    Returns
    -------
    list of dict
        ``{"id", "text_zh", "text_en", "citation"}``, the class rule first.
    """
    ids = []
    if prevailing_rule is not None:
        ids += [prevailing_rule, "ecology_first"]
    if set(yielding_clause_ids) & ENERGY_CLAUSES:
        ids.append("energy_base_avoids")
    if not ids:
        ids.append("ecology_first")  # a restrictive zone of no named class
    return [{**PRECEDENCE_RULES[r], "citation": dict(PRECEDENCE_RULES[r]["citation"])}
            for r in dict.fromkeys(ids)]
