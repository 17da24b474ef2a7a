"""The REST API under /api/v1, through Flask's test client."""

from __future__ import annotations

import io
import json

import numpy as np
import pyproj
import pytest
import shapely
from planmap.server import create_app

ACCURACY = {"official", "derived", "schematic"}


def assert_error(response, status, code=None, param=None):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    err = response.get_json()["error"]
    assert set(err) == {"status", "code", "param", "message_en", "message_zh"}
    assert err["status"] == status
    assert err["message_en"] and err["message_zh"]
    if code is not None:
        assert err["code"] == code
    if param is not None:
        assert err["param"] == param
    return err


def answering_plans(data, pt):
    """Oracle: the plans whose area, less the areas they defer to, holds the point."""
    areas = data.plan_areas()
    out = set()
    for plan in data.plan_list:
        area = areas[plan["id"]]
        for other in plan.get("defers_to") or ():
            area = area.difference(areas[other])
        if area.intersects(pt):
            out.add(plan["id"])
    return out


def covering_ids(data, lon, lat):
    """Oracle: every polygonal feature of an answering plan that covers the point."""
    pt = shapely.Point(lon, lat)
    plans = answering_plans(data, pt)
    out = set()
    for lid, gdf in data.layers.items():
        if data.layer_plan(lid) not in plans:
            continue
        for fid, geom in zip(gdf["id"], gdf.geometry, strict=True):
            if geom.geom_type in ("Polygon", "MultiPolygon") and geom.covers(pt):
                out.add(fid)
    return out


def county_point(data, fid="admin_220802"):
    gdf = data.layers["admin"]
    geom = gdf.geometry[gdf["id"] == fid].iloc[0]
    p = geom.representative_point()
    return round(p.x, 6), round(p.y, 6)


# ------------------------------------------------------------------ layers


def test_layer_catalog_lists_every_layer_with_counts(client, data):
    body = client.get("/api/v1/layers").get_json()
    ids = [layer["id"] for layer in body["layers"]]
    assert ids == [e["id"] for e in data.catalog]
    for layer in body["layers"]:
        assert layer["feature_count"] == len(data.layers[layer["id"]])
        assert sum(layer["accuracy_counts"].values()) == layer["feature_count"]
        assert layer["attribution"] and layer["licence"]


def test_layer_geojson_carries_provenance_on_every_feature(client, data):
    for entry in data.catalog:
        r = client.get(f"/api/v1/layers/{entry['id']}")
        assert r.status_code == 200
        assert r.mimetype == "application/geo+json"
        fc = r.get_json()
        assert fc["type"] == "FeatureCollection"
        assert len(fc["features"]) == len(data.layers[entry["id"]])
        for f in fc["features"]:
            p = f["properties"]
            assert f["id"] == p["id"]
            assert p["layer"] == entry["id"]
            assert p["accuracy"] in ACCURACY
            assert p["source"]
            assert {"seed", "line", "quote"} <= set(p["citation"])
            assert shapely.geometry.shape(f["geometry"]).is_valid


@pytest.mark.parametrize("bad", ["nope", "ADMIN", "x" * 100, "..%2F..%2Fetc%2Fpasswd",
                                 "admin%00", "%E7%99%BD"])
def test_unknown_layer_is_404_in_the_error_shape(client, bad):
    r = client.get(f"/api/v1/layers/{bad}")
    err = assert_error(r, 404)
    assert len(err["message_en"]) < 400  # the id is echoed truncated


# ------------------------------------------------------------------ point query


def test_point_query_finds_the_covering_zones(client, data):
    lon, lat = county_point(data)
    body = client.get(f"/api/v1/zones?lon={lon}&lat={lat}").get_json()
    assert body["in_service_area"] is True
    assert {z["id"] for z in body["zones"]} == covering_ids(data, lon, lat)
    assert "admin_220802" in {z["id"] for z in body["zones"]}


def test_point_query_in_gauss_kruger_metres_gives_the_same_zones(client, data):
    lon, lat = county_point(data)
    x, y = pyproj.Transformer.from_crs(4326, 4550, always_xy=True).transform(lon, lat)
    metric = client.get(f"/api/v1/zones?lon={x:.3f}&lat={y:.3f}&crs=EPSG:4550").get_json()
    degrees = client.get(f"/api/v1/zones?lon={lon}&lat={lat}").get_json()
    assert [z["id"] for z in metric["zones"]] == [z["id"] for z in degrees["zones"]]
    assert metric["query"]["lon_wgs84"] == pytest.approx(lon, abs=1e-6)


def test_point_outside_baicheng_but_in_china_is_not_in_the_service_area(client):
    body = client.get("/api/v1/zones?lon=116.39&lat=39.91").get_json()  # Beijing
    assert body["in_service_area"] is False
    assert body["zones"] == []


@pytest.mark.parametrize("query, code, param", [
    ("lat=45.6", "missing_parameter", "lon"),
    ("lon=122.8", "missing_parameter", "lat"),
    ("lon=&lat=45.6", "missing_parameter", "lon"),
    ("lon=nan&lat=45.6", "non_finite_coordinate", "lon"),
    ("lon=122.8&lat=inf", "non_finite_coordinate", "lat"),
    ("lon=-Infinity&lat=45", "non_finite_coordinate", "lon"),
    ("lon=1e400&lat=45.6", "non_finite_coordinate", "lon"),
    ("lon=abc&lat=45.6", "invalid_number", "lon"),
    ("lon=122,8&lat=45.6", "invalid_number", "lon"),
    ("lon=0x7a&lat=45.6", "invalid_number", "lon"),
    ("lon=122.8&lat=45.6&crs=EPSG:99999", "unsupported_crs", "crs"),
    ("lon=122.8&lat=45.6&crs=%2Bproj%3Dlonglat", "unsupported_crs", "crs"),
    ("lon=122.8&lat=45.6&radius=-1", "invalid_radius", "radius"),
    ("lon=122.8&lat=45.6&radius=nan", "non_finite_coordinate", "radius"),
])
def test_bad_point_queries_are_400_naming_the_parameter(client, query, code, param):
    assert_error(client.get(f"/api/v1/zones?{query}"), 400, code, param)


@pytest.mark.parametrize("query", ["lon=45.62&lat=122.84", "lon=500000&lat=5050000",
                                   "lon=0&lat=0", "lon=181&lat=45"])
def test_swapped_projected_or_faraway_coordinates_are_400_not_500(client, query):
    err = assert_error(client.get(f"/api/v1/zones?{query}"), 400)
    assert err["param"] == "lon"


# ------------------------------------------------------------------ batch


def _points(data):
    lon, lat = county_point(data)
    return [("inside", lon, lat), ("beijing", 116.39, 39.91), ("p,3", lon + 0.01, lat + 0.01)]


def _expected_pairs(data, points):
    return {(pid, z) for pid, lon, lat in points for z in covering_ids(data, lon, lat)}


def test_batch_csv_pairs_match_a_brute_force_oracle(client, data):
    points = _points(data)
    csv = "id,lon,lat\n" + "\n".join(f'"{p}",{x},{y}' for p, x, y in points) + "\n"
    r = client.post("/api/v1/zones", data=csv, content_type="text/csv")
    assert r.status_code == 200
    body = r.get_json()
    assert body["count"] == 3
    got = {(p["point_id"], p["zone_id"]) for p in body["pairs"]}
    assert got == _expected_pairs(data, points)
    layers = {f: lid for lid, g in data.layers.items() for f in g["id"]}
    assert all(p["layer"] == layers[p["zone_id"]] for p in body["pairs"])


def test_batch_geojson_and_csv_output(client, data):
    points = _points(data)
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": p, "properties": {},
         "geometry": {"type": "Point", "coordinates": [x, y]}} for p, x, y in points]}
    r = client.post("/api/v1/zones?format=csv", json=fc)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    lines = r.get_data(as_text=True).strip().splitlines()
    assert lines[0] == "point_id,zone_id,layer"
    assert len(lines) - 1 == len(_expected_pairs(data, points))
    assert any(line.startswith('"p,3",') for line in lines[1:])  # a comma in an id is quoted


def test_batch_multipart_upload_in_cgcs2000_gk(client, data):
    lon, lat = county_point(data)
    x, y = pyproj.Transformer.from_crs(4326, 4550, always_xy=True).transform(lon, lat)
    csv = f"id,x,y\nq1,{x:.3f},{y:.3f}\n".encode()
    r = client.post("/api/v1/zones", data={"file": (io.BytesIO(csv), "pts.csv"),
                                           "crs": "EPSG:4550"},
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)
    got = {p["zone_id"] for p in r.get_json()["pairs"]}
    assert got == covering_ids(data, lon, lat)


@pytest.mark.parametrize("body, ctype, code", [
    ("", "text/csv", "empty_body"),
    ("id,lon,lat\na,nan,45\n", "text/csv", "non_finite_coordinate"),
    ('{"type": "Point", "coordinates": [NaN, 1]}', "application/json", None),
    ("[" * 5000 + "]" * 5000, "application/json", None),
])
def test_bad_batch_bodies_are_4xx(client, body, ctype, code):
    r = client.post("/api/v1/zones", data=body, content_type=ctype)
    assert 400 <= r.status_code < 500
    assert_error(r, r.status_code, code)


def test_batch_over_the_point_or_byte_limit_is_413(tmp_path):
    small = create_app({"DB_PATH": str(tmp_path / "c.db"), "MAX_POINTS": 3,
                        "MAX_BODY_BYTES": 200}).test_client()
    few = "id,lon,lat\n" + "".join(f"p{i},122.8,45.6\n" for i in range(3))
    assert small.post("/api/v1/zones", data=few, content_type="text/csv").status_code == 200
    four = few + "p9,122.8,45.6\n"  # 4 points, well under 200 bytes
    err = assert_error(small.post("/api/v1/zones", data=four, content_type="text/csv"), 413)
    assert err["code"] != "request_entity_too_large"
    big = "id,lon,lat\n" + "p,122.8,45.6\n" * 20  # > 200 bytes
    assert_error(small.post("/api/v1/zones", data=big, content_type="text/csv"), 413)


# ------------------------------------------------------------------ site check

SITE = {"type": "Polygon", "coordinates": [[[122.83, 45.61], [122.85, 45.61], [122.85, 45.63],
                                             [122.83, 45.63], [122.83, 45.61]]]}


def _gk_area(geojson):
    tr = pyproj.Transformer.from_crs(4326, 4550, always_xy=True)
    geom = shapely.geometry.shape(geojson)
    return shapely.transform(geom, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))).area


def test_sitecheck_is_stored_and_can_be_fetched_again(client):
    r = client.post("/api/v1/sitecheck", json={"geometry": SITE, "crs": "EPSG:4326"})
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["report_url"] == f"/report/{body['id']}"
    assert body["site"]["area_m2"] == pytest.approx(_gk_area(SITE), rel=1e-3)
    assert body["verdict"]
    again = client.get(f"/api/v1/sitecheck/{body['id']}")
    assert again.status_code == 200
    stored = again.get_json()
    assert stored["verdict"] == body["verdict"]
    assert stored["zones"] == body["zones"]
    assert shapely.geometry.shape(stored["site_geometry"]).equals(shapely.geometry.shape(SITE))


def test_sitecheck_accepts_wkt_and_a_multipart_upload(client):
    wkt = shapely.geometry.shape(SITE).wkt
    r1 = client.post("/api/v1/sitecheck", json={"wkt": wkt})
    assert r1.status_code == 201, r1.get_data(as_text=True)
    upload = json.dumps({"type": "Feature", "properties": {"name": "地块1"},
                         "geometry": SITE}).encode()
    r2 = client.post("/api/v1/sitecheck",
                     data={"file": (io.BytesIO(upload), "site.geojson"), "crs": "EPSG:4326"},
                     content_type="multipart/form-data")
    assert r2.status_code == 201, r2.get_data(as_text=True)
    assert r1.get_json()["site"]["area_m2"] == pytest.approx(r2.get_json()["site"]["area_m2"])
    assert r1.get_json()["id"] != r2.get_json()["id"]


def test_sitecheck_reads_a_zipped_shapefile_in_gauss_kruger_and_kml(client, tmp_path):
    import geopandas as gpd
    import pyogrio

    site = gpd.GeoDataFrame({"name": ["地块1"]}, geometry=[shapely.geometry.shape(SITE)],
                            crs="EPSG:4326")
    shp = tmp_path / "site.shp"
    pyogrio.write_dataframe(site.to_crs("EPSG:4550"), shp, layer_options={"ENCODING": "UTF-8"})
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w") as zf:
        for member in tmp_path.glob("site.*"):
            zf.write(member, member.name)
    r = client.post("/api/v1/sitecheck",
                    data={"file": (io.BytesIO(buf.getvalue()), "site.zip"), "format": "shp.zip"},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["site"]["area_m2"] == pytest.approx(_gk_area(SITE), rel=1e-3)
    kml = tmp_path / "site.kml"
    pyogrio.write_dataframe(site, kml, driver="KML")
    r = client.post("/api/v1/sitecheck",
                    data={"file": (io.BytesIO(kml.read_bytes()), "site.kml")},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["site"]["area_m2"] == pytest.approx(_gk_area(SITE), rel=1e-3)


@pytest.mark.parametrize("body, status, code", [
    ('{"geometry": ', 400, "invalid_json"),
    ('{"geometry": {"type": "Point", "coordinates": [NaN, 45]}}', 400, None),
    ('{"geometry": {"type": "Point", "coordinates": [1e400, 45]}}', 400, None),
    ('{"nothing": 1}', 400, "missing_parameter"),
    ('["a"]', 400, None),
    ('{"geometry": "POINT (1 2)"}', 400, None),
    ('{"wkt": 5}', 400, None),
    ('{"geometry": ' + '{"a":' * 200 + "1" + "}" * 200 + "}", 413, None),
    ('{"geometry": {"type": "Polygon", "coordinates": [[[122.8, 45.6], [122.9, 45.6]]]}}',
     400, None),
    ('{"geometry": {"type": "Point", "coordinates": [122.8, 45.6]}, "repair": "maybe"}', 400,
     "invalid_boolean"),
    ('{"geometry": {"type": "Point", "coordinates": [122.8, 45.6]}, "crs": "EPSG:1"}', 400,
     "unsupported_crs"),
])
def test_bad_sitecheck_bodies_are_4xx_in_the_error_shape(client, body, status, code):
    r = client.post("/api/v1/sitecheck", data=body, content_type="application/json")
    assert_error(r, status, code)


@pytest.mark.parametrize("check_id", ["doesnotexist", "x" * 65, "..%2F..%2Fc.db"])
def test_unknown_sitecheck_id_is_404(client, check_id):
    assert_error(client.get(f"/api/v1/sitecheck/{check_id}"), 404)


# ------------------------------------------------------------------ clauses, errors


def test_clauses_carry_citations_and_filter_by_feature(client, data):
    body = client.get("/api/v1/clauses").get_json()
    assert body["count"] == len(data.clauses) == len(body["clauses"])
    for clause in body["clauses"]:
        assert {"seed", "line", "quote"} <= set(clause["citation"])
        plan = data.plans[clause["citation"]["seed"]]
        line = clause["citation"]["line"]
        # a quote may run on over the plan text's hard line breaks (and their stray spaces)
        nearby = "".join("".join(plan.lines[line - 1: line + 6]).split())
        assert "".join(clause["citation"]["quote"].split()) in nearby
    target = data.clauses[0]["applies_to"][0]
    only = client.get(f"/api/v1/clauses?feature={target}").get_json()["clauses"]
    assert only and all(target in c["applies_to"] for c in only)
    assert len(only) == sum(target in c["applies_to"] for c in data.clauses)
    assert_error(client.get("/api/v1/clauses?feature=DROP%20TABLE"), 400, param="feature")


def test_wrong_method_is_405_with_allow_header(client):
    r = client.delete("/api/v1/layers")
    assert_error(r, 405)
    assert "GET" in r.headers["Allow"]


def test_sitecheck_and_report_say_the_official_lines_must_be_checked(client):
    """Issue 21: no official 三区三线 layer ships, so the API and the report say so."""
    r = client.post("/api/v1/sitecheck", json={"geometry": SITE, "crs": "EPSG:4326"})
    body = r.get_json()
    note = body["official_layers_note"]
    assert note["zh"].startswith("须核对官方三区三线")
    assert note["en"].startswith("Check the official three zones and three lines")
    assert {x["id"] for x in note["layers"]} == {"eco_redline", "basic_farmland",
                                                 "urban_growth_boundary", "basic_grassland"}
    zh = client.get(body["report_url"]).get_data(as_text=True)
    en = client.get(body["report_url"] + "?lang=en").get_data(as_text=True)
    assert "须核对官方三区三线" in zh and "Check the official three zones and three lines" in en
    # the main city's water-supply programme is listed as a programme, not a verdict
    assert "pol_surface_water_switch" not in body["verdict_basis"]
    assert {"id": "pol_surface_water_switch", "scope": "programme"}.items() <= {
        c["id"]: c for c in body["clauses"]}["pol_surface_water_switch"].items()
    assert "政府实施的工作或项目安排" in zh and "A programme the government carries out" in en
