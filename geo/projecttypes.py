"""Project types (风电/光伏, 工业, 旅游 …) and which activity clauses speak to each.

``activity`` clauses (``layers/clauses.json``, ``scope: activity``) govern one kind of
project only: a ban on small coal boilers is not a ban on building.  A planner checks a
site *for* a project; the project type picks the activities that apply to it, and the
site check's ``activity_verdicts`` for those activities become the project's answer
(:func:`project_verdict`).  Every activity named by a clause belongs to at least one type
(``tests/geo/test_projecttypes.py`` checks this against the clauses), so a new activity
clause cannot silently fall outside the picker.
"""

from __future__ import annotations

from planmap.geo.errors import InvalidInput
from planmap.geo.vocab import EFFECTS, NO_VERDICT

PROJECT_TYPES: tuple[dict, ...] = (
    {"id": "wind_solar", "name_zh": "风电/光伏", "name_en": "Wind / solar power",
     "activities": ("风电、光伏项目", "风电项目（风机）")},
    {"id": "industry", "name_zh": "工业", "name_en": "Industry",
     "activities": ("燃煤小锅炉", "“散乱污”企业", "涉水排污", "涉重金属建设项目",
                    "钢铁、冶金等产能置换项目")},
    {"id": "tourism", "name_zh": "旅游", "name_en": "Tourism",
     "activities": ("旅游项目", "人工景观建设")},
    {"id": "livestock", "name_zh": "畜牧/放牧", "name_en": "Livestock / grazing",
     "activities": ("放牧（禁牧区）", "放牧（草畜平衡区）")},
    {"id": "major_project", "name_zh": "规划重大工程", "name_en": "Major project of the plan",
     "activities": ("纳入本规划的重大工程项目",)},
)
"""The project types offered, each with the ``activity_zh`` values it covers."""

_RANK = {**{e: len(EFFECTS) - i for i, e in enumerate(EFFECTS)}, NO_VERDICT: 0}
_BY_ID = {t["id"]: t for t in PROJECT_TYPES}


def parse_project_type(raw, param: str = "project_type") -> str | None:
    """Return the project type id named by user text (None when absent).

    Raises ``InvalidInput`` (``unknown_project_type``) for any other text.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    text = str(raw).strip()
    if text not in _BY_ID:
        known = ", ".join(_BY_ID)
        raise InvalidInput("unknown_project_type",
                           f"project_type must be one of {known}; got {text[:40]!r}",
                           f"project_type 须为 {known} 之一；收到 {text[:40]!r}", param=param)
    return text


def list_types(clauses) -> list[dict]:
    """List the project types with the ids of the activity clauses behind each."""
    out = []
    for t in PROJECT_TYPES:
        ids = [c["id"] for c in clauses or () if c.get("scope") == "activity"
               and c.get("activity_zh") in t["activities"]]
        out.append({"id": t["id"], "name_zh": t["name_zh"], "name_en": t["name_en"],
                    "activities": list(t["activities"]), "clauses": ids})
    return out


def project_verdict(type_id: str, activity_verdicts: list[dict]) -> dict:
    """Answer for one project type from a site check's ``activity_verdicts``.

    Returns ``{"id", "name_zh", "name_en", "effect", "activities": [the matching
    activity verdicts, strongest first], "clauses": [their clause ids]}``; ``effect`` is
    the strongest of them, ``none`` when no activity clause of this type applies at the
    site (the zone verdict alone then speaks).
    """
    t = _BY_ID[type_id]
    matching = [dict(a) for a in activity_verdicts or ()
                if a.get("activity_zh") in t["activities"]]
    effect = max((a.get("effect", "none") for a in matching), key=lambda e: _RANK.get(e, 0),
                 default="none")
    return {"id": t["id"], "name_zh": t["name_zh"], "name_en": t["name_en"],
            "effect": effect, "activities": matching,
            "clauses": [c for a in matching for c in a.get("clauses", ())]}
