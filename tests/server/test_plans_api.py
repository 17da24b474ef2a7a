"""Plans in the API (issue 15): listing, layer filter, and answers scoped to the site's plans."""

from __future__ import annotations

import json

import pytest
from planmap.geo.index import ZoneIndex

JILIN_CITY = (126.55, 43.84)
MEIHEKOU = (125.68, 42.53)
BAICHENG_POINTS = [(122.84, 45.62), (122.78, 45.33), (124.3, 45.5), (123.2, 45.85),
                   (123.08, 44.81), (122.3, 45.03), (123.7, 45.9), (122.95, 45.58)]


def zones(client, lon, lat) -> dict:
    r = client.get(f"/api/v1/zones?lon={lon}&lat={lat}")
    assert r.status_code == 200
    return r.get_json()


def layer_plans(data) -> dict:
    return {e["id"]: data.layer_plan(e["id"]) for e in data.catalog}


def test_plans_are_listed_with_levels_extents_and_layers(client):
    body = client.get("/api/v1/plans").get_json()
    ids = [p["id"] for p in body["plans"]]
    assert ids == ["000", "001", "002", "003", "004"] and body["count"] == 5
    levels = {p["id"]: p["level"] for p in body["plans"]}
    assert levels == {"000": "prefecture", "001": "province", "002": "prefecture",
                      "003": "county-level city", "004": "metropolitan area"}
    for p in body["plans"]:
        listed = client.get(p["layers_url"]).get_json()["layers"]
        assert [x["id"] for x in listed] == p["layers"]
        assert all(x["plan"] == p["id"] for x in listed)


def test_unknown_plan_filter_is_a_400_naming_the_plans(client):
    r = client.get("/api/v1/layers?plan=999")
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["code"] == "unknown_plan" and err["param"] == "plan" and "002" in err["message_en"]


def test_ogc_collections_carry_their_plan(client, data):
    plans = layer_plans(data)
    # mixed layers are published as typed collections (issue 19): each names its layer
    listed = client.get("/ogc/collections?f=json").get_json()["collections"]
    seen = {c["layer"] for c in listed}
    assert {"admin", "p002_urban", "p004_metro"} <= seen
    for c in listed:
        body = client.get(f"/ogc/collections/{c['id']}?f=json").get_json()
        assert body["plan"] == plans[body["layer"]], c["id"]


@pytest.mark.parametrize(("point", "plan"), [(JILIN_CITY, "002"), (MEIHEKOU, "003")])
def test_a_point_gets_zones_of_its_plans_and_nothing_of_baicheng(client, data, point, plan):
    body = zones(client, *point)
    answered = {p["id"] for p in body["plans"]}
    assert plan in answered and "000" not in answered
    plans = layer_plans(data)
    got = {plans[z["layer"]] for z in body["zones"]}
    assert plan in got
    assert got <= answered
    assert all(plans[e["layer"]] in answered for e in body["nearest"])
    assert not any(plans[z["layer"]] == "000" for z in body["zones"] + body["nearest"])


def test_jilin_city_is_answered_by_the_city_and_both_provincial_plans(client):
    body = zones(client, *JILIN_CITY)
    assert [p["id"] for p in body["plans"]] == ["001", "002", "004"]
    ids = {z["id"] for z in body["zones"]}
    assert {"p002_core_central_city", "p004_circle_2h", "p001_ring_changchun_metro"} <= ids


def test_a_meihekou_point_is_not_answered_by_jilin_city(client, data):
    body = zones(client, *MEIHEKOU)
    plans = layer_plans(data)
    assert "p003_main_city" in {z["id"] for z in body["zones"]}
    assert not any(plans[z["layer"]] == "002" for z in body["zones"])


def test_baicheng_points_get_exactly_the_home_plans_answer(client, data):
    # The answer before issue 15: an index of the Baicheng map's layers only.
    home = {lid: gdf for lid, gdf in data.layers.items() if data.layer_plan(lid) == "000"}
    order = [e["id"] for e in data.catalog if e["id"] in home]
    before = ZoneIndex({k: home[k] for k in order}, service_area=data.service_area,
                       clauses=data.clauses, plans=data.plans)
    for lon, lat in BAICHENG_POINTS:
        body = zones(client, lon, lat)
        assert [p["id"] for p in body["plans"]] == ["000"]
        expected = json.loads(json.dumps(before.query_point(lon, lat), ensure_ascii=False))
        got = {k: body[k] for k in expected}
        assert got == expected, (lon, lat)


def test_site_check_in_jilin_city_names_each_zones_and_clauses_plan(client, data):
    lon, lat = JILIN_CITY
    d = 0.01
    site = {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d],
                                                [lon + d, lat + d], [lon - d, lat + d],
                                                [lon - d, lat - d]]]}
    r = client.post("/api/v1/sitecheck", json={"geometry": site})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    answered = {p["id"] for p in body["plans"]}
    assert answered == {"001", "002", "004"}
    plans = layer_plans(data)
    assert {plans[z["layer"]] for z in body["zones"]} <= answered
    seeds = {p["seed"] for p in body["plans"]}
    assert body["clauses"], "the plans' clauses apply in Jilin City"
    for c in body["clauses"]:
        assert c["plan"]["seed"] in seeds and c["citation"]["seed"] == c["plan"]["seed"]
    for ring in body["rings"]:
        assert all(plans[f["layer"]] in answered for f in ring["features"])


def _box(lon, lat, d=0.01):
    return {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d],
                                                [lon + d, lat + d], [lon - d, lat + d],
                                                [lon - d, lat - d]]]}


@pytest.mark.parametrize(("point", "pairs"), [
    (JILIN_CITY, [("p002_pol_metro_two_cores", "p004_pol_metro_one_core"),
                  ("p001_pol_jilin_west_ring", "p002_pol_jilin_west_ring")]),
    (MEIHEKOU, [("p003_pol_pharma_corridor", "p004_pol_pharma_corridor")]),
])
def test_disagreeing_plans_are_both_shown_with_citations(client, data, point, pairs):
    body = client.post("/api/v1/sitecheck", json={"geometry": _box(*point)}).get_json()
    by_id = {c["id"]: c for c in body["clauses"]}
    lines = {p.seed: p.lines for p in data.plans.values()}
    for a, b in pairs:
        assert a in by_id and b in by_id, sorted(by_id)
        assert by_id[a]["plan"]["seed"] != by_id[b]["plan"]["seed"]
        for c in (by_id[a], by_id[b]):
            cit = c["citation"]
            text = "".join(lines[cit["seed"]][cit["line"] - 1: cit["line"] + 2])
            assert "".join(cit["quote"].split()) in "".join(text.split())
