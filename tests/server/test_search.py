"""Place search (server/search.py): synonyms, pinyin, coordinates, the cap and its total."""

from __future__ import annotations

import pytest
from planmap.server import search
from pyproj import Transformer


@pytest.fixture(scope="module")
def entries(plan_data):
    return search.build_index(plan_data)


def _names(res):
    return [r["name_zh"] for r in res["results"]]


def test_a_synonym_finds_the_abbreviated_name(entries, plan_data):
    res = search.search(entries, "开发区", None, 20)
    parks = plan_data.layers["parks"]
    jkq = [n for n in parks["name_zh"] if "经开区" in n]
    assert jkq, "the built-in data names some 经开区"
    assert set(jkq) <= set(_names(res))
    assert {r["match"] for r in res["results"] if "经开区" in r["name_zh"]} == {"synonym"}
    # a literal match ranks before a synonym one
    assert res["results"][0]["match"] == "name"


@pytest.mark.parametrize("query", ["baichengjingkaiqu", "bcjkq", "BaiCheng JingKaiQu"])
def test_pinyin_full_or_initials_finds_the_chinese_name(entries, query):
    res = search.search(entries, query, None, 20)
    assert "白城经开区" in _names(res)


def test_english_name_matches(entries):
    res = search.search(entries, "taobei", None, 50)
    assert "洮北区" in _names(res)


def test_plan_filter_keeps_only_that_plans_layers(entries, plan_data):
    res = search.search(entries, "吉林", "001", 200)
    assert res["total"] > 0
    assert {plan_data.layer_plan(r["layer"]) for r in res["results"]} == {"001"}


def test_cap_says_how_many_matched_in_all(entries):
    full = search.search(entries, "洮", None, 200)
    assert full["total"] > 5 and not full["capped"]
    cut = search.search(entries, "洮", None, 5)
    assert cut["count"] == 5 and cut["capped"] and cut["total"] == full["total"]
    assert _names(cut) == _names(full)[:5]


@pytest.mark.parametrize("query, lon, lat, crs", [
    ("122.839, 45.620", 122.839, 45.620, "EPSG:4326"),
    ("45.620,122.839", 122.839, 45.620, "EPSG:4326"),  # lat first, as a phone shows it
    ("122.839 45.620", 122.839, 45.620, "EPSG:4326"),
])
def test_degree_coordinates_are_read_either_way_round(query, lon, lat, crs):
    c = search.parse_coordinate(query)
    assert (c["lon"], c["lat"], c["crs"]) == (lon, lat, crs)


def test_gauss_krueger_coordinates_match_pyproj():
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4550", always_xy=True)
    e, n = to_gk.transform(122.839, 45.620)
    for query, crs in ((f"{n:.3f},{e:.3f}", "EPSG:4550"), (f"{e:.3f},{n:.3f}", "EPSG:4550"),
                       (f"{n:.3f},{e + 41_000_000:.3f}", "EPSG:4529")):
        c = search.parse_coordinate(query)
        assert c["crs"] == crs, query
        assert abs(c["lon"] - 122.839) < 1e-7 and abs(c["lat"] - 45.620) < 1e-7, query


@pytest.mark.parametrize("query", ["白城", "1,2,3", "5050000,50", "99999999,1"])
def test_non_coordinates_are_not_read_as_coordinates(query):
    assert search.parse_coordinate(query) is None


def test_http_answer_and_bad_parameters(client):
    res = client.get("/api/v1/search", query_string={"q": "开发区", "limit": 2}).get_json()
    assert res["count"] == 2 and res["capped"] and res["total"] > 2
    bad = client.get("/api/v1/search", query_string={"q": "x", "limit": "0"})
    assert bad.status_code == 400 and bad.get_json()["error"]["param"] == "limit"
    long = client.get("/api/v1/search", query_string={"q": "x" * 101})
    assert long.status_code == 400 and "100" in long.get_json()["error"]["message_en"]
    plan = client.get("/api/v1/search", query_string={"q": "x", "plan": "nope"})
    assert plan.status_code == 400 and plan.get_json()["error"]["code"] == "unknown_plan"


def test_zh_marked_escapes_and_marks_only_chinese_runs():
    out = str(search.zh_marked("Wind farm <b> (named after 五棵树)"))
    assert out == ('Wind farm &lt;b&gt; (named after '
                   '<span class="pm-verbatim" lang="zh-CN">五棵树</span>)')
