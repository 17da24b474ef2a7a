"""Tiers in the HTTP answers (issue 16): /api/v1/zones, batch, site check and the report."""

import re

XIANGHAI = {"lon": 122.350, "lat": 45.033}
FARMLAND = {"lon": 123.100, "lat": 45.800}


def test_point_query_keeps_its_keys_and_adds_tiers(client):
    body = client.get("/api/v1/zones", query_string=XIANGHAI).get_json()
    assert {"query", "in_service_area", "zones", "nearest"} <= set(body)
    assert [e["id"] for e in body["tiers"]["binding"]] == ["eco_core_xianghai"]
    assert body["verdict"] == "restricted"
    assert body["deciding_clause"]["id"] == "pol_strictest_eco_space"
    wide = {e["id"] for e in body["tiers"]["area_wide"]}
    assert {"en_wind_10gw_base", "admin_220822"} <= wide
    assert any(c["yielding"]["id"] == "en_wind_10gw_base" for c in body["conflicts"])


def test_point_query_on_farmland_has_no_zone_from_a_county_wide_extent(client):
    body = client.get("/api/v1/zones", query_string=FARMLAND).get_json()
    assert body["tiers"]["binding"] == [] and body["deciding_clause"] is None
    placed = {e["id"] for e in body["tiers"]["designations"]}
    assert not placed & {"agri_high_standard_farmland", "en_wind_10gw_base", "admin_220802"}


def test_batch_pairs_carry_their_tier(client):
    csv = "id,lon,lat\np1,122.350,45.033\n"
    body = client.post("/api/v1/zones", data=csv, content_type="text/csv").get_json()
    tiers = {p["zone_id"]: p["tier"] for p in body["pairs"]}
    assert tiers["eco_core_xianghai"] == "binding"
    assert tiers["en_wind_10gw_base"] == "area_wide"
    assert tiers["ctx_scenic_xianghai"] == "designation"


def test_report_opens_with_verdict_deciding_clause_quote_and_accuracy(client):
    point = {"type": "Point", "coordinates": [XIANGHAI["lon"], XIANGHAI["lat"]]}
    check = client.post("/api/v1/sitecheck", json={"geometry": point}).get_json()
    assert check["deciding_clause"]["zone"]["id"] == "eco_core_xianghai"
    for lang, accuracy in (("zh", "示意"), ("en", "schematic")):
        html = client.get(check["report_url"], query_string={"lang": lang}).get_data(
            as_text=True)
        lead = html[html.index('id="pm-report-lead"'):html.index('class="pm-kv"')]
        assert "pol_strictest_eco_space" in lead
        assert "实施最严格的生态空间保护制度" in lead and accuracy in lead
        # the binding tier comes before the county's arrangements, the conflict is shown
        assert html.index('id="pm-report-binding"') < html.index('id="pm-report-area-wide"')
        assert 'id="pm-report-conflicts"' in html and "004_bba0a9fb5e7355d6" in html
        area = html[html.index('id="pm-report-area-wide"'):]
        assert re.search("通榆县适用的规划安排|Plan arrangements for this county", area)


def test_report_sketch_draws_the_placed_zones_not_the_county_wide_extents(client):
    point = {"type": "Point", "coordinates": [XIANGHAI["lon"], XIANGHAI["lat"]]}
    check = client.post("/api/v1/sitecheck", json={"geometry": point}).get_json()
    html = client.get(check["report_url"]).get_data(as_text=True)
    legend = html[html.index('class="pm-svg-legend"'):html.index("</ul>", html.index(
        'class="pm-svg-legend"'))]
    assert "向海国际重要湿地生态核" in legend
    assert "千万千瓦风电基地" not in legend and "集中连片高标准农田" not in legend
