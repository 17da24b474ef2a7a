"""Project types against the activity clauses (geo/projecttypes.py)."""

from __future__ import annotations

import pytest
from planmap.geo import projecttypes
from planmap.geo.errors import InvalidInput


def test_every_activity_clause_belongs_to_a_project_type(plan_data):
    covered = {a for t in projecttypes.PROJECT_TYPES for a in t["activities"]}
    activities = {c["activity_zh"] for c in plan_data.clauses if c.get("scope") == "activity"}
    assert activities - covered == set(), "an activity clause outside every project type"
    assert covered - activities == set(), "a project type names an activity no clause has"


def test_listed_types_name_their_clauses(plan_data):
    types = {t["id"]: t for t in projecttypes.list_types(plan_data.clauses)}
    wind = {c["id"] for c in plan_data.clauses if c.get("scope") == "activity"
            and c["activity_zh"].startswith("风电")}
    assert set(types["wind_solar"]["clauses"]) == wind and wind


def test_project_verdict_is_the_strongest_matching_activity():
    verdicts = [{"activity_zh": "旅游项目", "effect": "restricted", "clauses": ["a"]},
                {"activity_zh": "人工景观建设", "effect": "prohibited", "clauses": ["b"]},
                {"activity_zh": "燃煤小锅炉", "effect": "prohibited", "clauses": ["c"]}]
    out = projecttypes.project_verdict("tourism", verdicts)
    assert out["effect"] == "prohibited" and out["clauses"] == ["a", "b"]
    assert projecttypes.project_verdict("wind_solar", verdicts)["effect"] == "none"


def test_unknown_project_type_is_refused():
    with pytest.raises(InvalidInput) as err:
        projecttypes.parse_project_type("nuclear")
    assert err.value.code == "unknown_project_type" and err.value.param == "project_type"
    assert projecttypes.parse_project_type("  ") is None
