"""GET /api/v1/conflicts, the /conflicts page and `planmap conflicts`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import planmap.server.conflicts as sc
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _error(response, status, code, param):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    err = response.get_json()["error"]
    assert err["status"] == status and err["code"] == code and err["param"] == param
    assert err["message_en"] and err["message_zh"]


def test_api_lists_the_conflicts_with_both_plans(client):
    r = client.get("/api/v1/conflicts")
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["distance_m"] == 1000 and body["count"] == len(body["conflicts"]) > 0
    ids = {(c["protected"]["id"], c["development"]["id"]) for c in body["conflicts"]}
    assert ("eco_core_momoge", "ctx_wind_wukeshu") in ids
    c = next(c for c in body["conflicts"] if c["development"]["id"] == "ctx_wind_wukeshu")
    assert c["development"]["plan"]["seed"].startswith("004")
    assert c["development"]["plan"]["title_zh"]


def test_api_distance_changes_the_answer(client):
    zero = client.get("/api/v1/conflicts?distance=0").get_json()
    wide = client.get("/api/v1/conflicts?distance=5000").get_json()
    assert all(c["relation"] == "overlap" for c in zero["conflicts"])
    assert wide["count"] > zero["count"]


@pytest.mark.parametrize("bad", ["abc", "-5", "nan", "1e12", "inf"])
def test_api_bad_distance_is_400_in_the_error_shape(client, bad):
    _error(client.get(f"/api/v1/conflicts?distance={bad}"), 400, "bad_distance", "distance")


def test_page_is_chinese_first_with_english_on_request(client):
    zh = client.get("/conflicts")
    assert zh.status_code == 200 and zh.mimetype == "text/html"
    text = zh.get_data(as_text=True)
    assert 'lang="zh-CN"' in text and "规划冲突检测" in text and "五棵树风电" in text
    assert "004_bba0a9fb5e7355d6" in text
    en = client.get("/conflicts?lang=en").get_data(as_text=True)
    assert 'lang="en"' in en and "Plan-conflict report" in en


def test_page_bad_distance_is_400(client):
    _error(client.get("/conflicts?distance=-1"), 400, "bad_distance", "distance")


def test_page_escapes_feature_text(client, monkeypatch):
    hostile = "<script>alert(1)</script>"
    side = {"id": "x_1", "layer": "l", "name_zh": hostile, "name_en": hostile, "kind": "k",
            "accuracy": "schematic", "citation": {"seed": "000", "line": 1, "quote": hostile},
            "plan": {"seed": "000", "title_zh": hostile, "title_en": None},
            "clauses": [{"id": "c", "effect": "restricted", "text_zh": hostile,
                         "summary_en": "", "citation": {"seed": "000", "line": 2},
                         "plan": {"seed": "000", "title_zh": hostile}}]}
    fake = [{"id": "x_1__x_1", "relation": "near", "overlap_m2": 0, "overlap_ha": 0,
             "overlap_length_m": 0, "distance_m": 12.0, "protected": side, "development": side,
             "schematic": True, "note_zh": hostile, "note_en": hostile}]
    monkeypatch.setattr(sc, "conflicts_for", lambda d: fake)
    text = client.get("/conflicts").get_data(as_text=True)
    assert hostile not in text and "&lt;script&gt;" in text


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "planmap.server.cli", "conflicts", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_json_and_text():
    out = _cli("--format", "json", "--distance", "0")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["distance_m"] == 0 and doc["count"] == len(doc["conflicts"]) > 0
    text = _cli("--distance", "0")
    assert text.returncode == 0 and f"{doc['count']} conflict(s)" in text.stdout
    assert "seed 004_bba0a9fb5e7355d6" in text.stdout


def test_cli_bad_distance_exits_2_with_the_code():
    out = _cli("--distance", "-3")
    assert out.returncode == 2 and "bad_distance" in out.stderr + out.stdout


def test_page_names_features_layers_and_plans_not_ids(client, data):
    html = client.get("/conflicts").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/planmap.css?v=' in html  # the shared style
    conflicts = client.get("/api/v1/conflicts").get_json()["conflicts"]
    first = conflicts[0]
    assert first["protected"]["name_zh"] in html
    title = next(e["title_zh"] for e in data.catalog if e["id"] == first["protected"]["layer"])
    assert title in html
    seed = first["protected"]["citation"]["seed"]
    assert data.plans[seed].title_zh in html
    # ids appear only inside links and anchors, never as visible text
    assert f"<code>{first['protected']['id']}</code>" not in html
    assert f" {seed} " not in html and f"规划 {seed}" not in html
    en = client.get("/conflicts?lang=en").get_data(as_text=True)
    assert data.plans[seed].title_en in en
