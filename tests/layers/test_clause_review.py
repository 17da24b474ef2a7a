"""The issue-21 clause review: effects, scopes and zones a user relies on, and the docs table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from planmap.layers.builders import clauses as clause_builder

ROOT = Path(__file__).resolve().parents[2]
CLAUSES = {c["id"]: c for c in json.loads((ROOT / "layers" / "clauses.json").read_text("utf-8"))}
SOURCE_ROWS = [r for f in ("clauses_source.json", "clauses_context.json", "clauses_plans.json")
               for r in json.loads((ROOT / "layers" / "sources" / f).read_text("utf-8"))]
DOC = (ROOT / "docs" / "DATA.md").read_text("utf-8")
CITY = ["admin_220800"]


def test_every_clause_records_its_decision_and_reason():
    assert {r["id"] for r in SOURCE_ROWS} == set(CLAUSES)
    for r in SOURCE_ROWS:
        assert r.get("decision") and len(r.get("reason", "")) > 20, r["id"]


def test_build_refuses_a_row_without_a_reason(tmp_path, monkeypatch):
    rows = json.loads((ROOT / "layers" / "sources" / "clauses_source.json").read_text("utf-8"))
    del rows[0]["reason"]
    src = tmp_path / "clauses_source.json"
    src.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    monkeypatch.setattr(clause_builder, "SOURCE_FILE", src)
    monkeypatch.setattr(clause_builder, "EXTRA_SOURCE_FILES", ())
    known = {i for c in CLAUSES.values() for i in c["applies_to"]}
    with pytest.raises(ValueError, match="reason"):
        clause_builder.build(known)


def test_docs_table_gives_each_clause_its_effect_scope_and_reason():
    rows = {m[0]: m[1:] for m in re.findall(
        r"^\| `((?:pol|ctx_pol|p00\d_pol)_\w+)` \| (\w+) \| (\w+)[^|]* \| ([^|]+) \| ([^|]+) \|$",
        DOC, re.M)}
    assert set(rows) == set(CLAUSES)
    for r in SOURCE_ROWS:
        effect, scope, decision, reason = rows[r["id"]]
        assert (effect, scope) == (CLAUSES[r["id"]]["effect"], CLAUSES[r["id"]]["scope"]), r["id"]
        assert decision.strip() == r["decision"] and reason.strip() == r["reason"].replace("|", "/")


def test_grassland_note_quotes_the_approval_duty_on_basic_grassland():
    c = CLAUSES["ctx_pol_grassland_not_avoided"]
    # 暂不避让 is a relaxation; the duty is approval and 占补平衡 where grassland is taken.
    assert c["effect"] == "required" and "审核批准" in c["text_zh"] and "占补平衡" in c["text_zh"]
    assert c["citation"]["line"] == 4558
    assert c["applies_to"] == ["basic_grassland"] == c["official_layers"]


def test_grazing_ban_and_balance_are_two_clauses_on_grassland():
    assert "pol_grazing_ban_balance" not in CLAUSES
    ban, bal = CLAUSES["pol_grazing_ban"], CLAUSES["pol_grass_livestock_balance"]
    assert (ban["effect"], bal["effect"]) == ("prohibited", "restricted")
    assert ban["activity_zh"] != bal["activity_zh"]
    for c in (ban, bal):
        assert c["scope"] == "activity" and c["applies_to"] == ["basic_grassland"]


@pytest.mark.parametrize("cid", ["pol_scattered_polluters", "pol_coal_boilers",
                                 "pol_heavy_metal_access", "pol_metallurgy_capacity"])
def test_city_wide_activity_bans_are_attached_to_the_city(cid):
    # The development zones are where scattered polluters are to move, not where they are banned.
    c = CLAUSES[cid]
    assert c["scope"] == "activity" and c["applies_to"] == CITY


def test_priority_siting_governs_only_the_plans_major_projects():
    c = CLAUSES["pol_priority_siting"]
    assert c["scope"] == "activity" and "重大工程项目" in c["activity_zh"]


def test_tourism_negative_list_is_not_on_whole_reserves_or_the_barrier():
    c = CLAUSES["ctx_pol_tourism_negative_list"]
    assert not {"eco_core_xianghai", "eco_core_momoge", "ctx_songnen_wetland_barrier"} & set(
        c["applies_to"])
    assert c["applies_to"] == ["eco_redline"]


@pytest.mark.parametrize("cid", ["pol_surface_water_switch", "pol_four_chaos", "pol_dikes_standard",
                                 "pol_river_lake_chief", "pol_wetland_restoration",
                                 "pol_airport_expansion", "pol_black_soil"])
def test_programmes_are_listed_not_verdict_setting(cid):
    assert CLAUSES[cid]["scope"] == "programme"


def test_binding_rules_cover_the_official_layers():
    on = {}
    for c in CLAUSES.values():
        for lid in c.get("official_layers", ()):
            on.setdefault(lid, set()).add(c["id"])
    assert set(on) == set(clause_builder.OFFICIAL_LAYERS)
    assert {"pol_red_line_pbf", "pol_red_line_rules", "ctx_pol_spatial_control_lines"} <= on[
        "eco_redline"]
    assert {"pol_red_line_pbf", "pol_pbf_special"} <= on["basic_farmland"]
    assert "pol_basic_grassland_no_loss" in on["basic_grassland"]
    for cid in ("pol_red_line_pbf", "pol_red_line_rules", "pol_pbf_special"):
        assert CLAUSES[cid]["effect"] == "prohibited" and CLAUSES[cid]["scope"] == "zone"
    assert CLAUSES["ctx_pol_spatial_control_lines"]["citation"]["seed"].startswith("001")


def test_formerly_unzoned_clauses_are_attached_to_their_zones():
    expect = {"pol_black_soil": "agri_black_soil_protection", "pol_pbf_special": "basic_farmland",
              "pol_energy_local_use": "en_wind_10gw_base",
              "pol_centralised_distributed": "en_solar_base",
              "pol_airport_expansion": "tr_changan_airport"}
    for cid, zone in expect.items():
        assert zone in CLAUSES[cid]["applies_to"], cid
