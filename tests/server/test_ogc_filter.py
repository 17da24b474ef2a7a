"""OGC API – Features Part 3 (queryables, CQL2 filter), sortby and properties at /ogc."""

from __future__ import annotations

import json
from pathlib import Path

import pyproj
import pytest
import shapely

from tests.server.ogc_expect import expected_collections

ITEMS = "/ogc/collections/{}/items"


def ids(client, cid, **query):
    r = client.get(ITEMS.format(cid), query_string=dict({"limit": "1000"}, **query))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    body = r.get_json()
    assert body["numberMatched"] == len(body["features"])
    return [f["id"] for f in body["features"]]


def error(client, cid, **query):
    r = client.get(ITEMS.format(cid), query_string=query)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    return r.get_json()["error"]


def _half_box(gdf):
    x0, y0, x1, y1 = gdf.total_bounds
    return shapely.box(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)


def test_queryables_describe_every_collection_as_json_schema(client, data):
    for cid, (_layer, gdf) in expected_collections(data).items():
        r = client.get(f"/ogc/collections/{cid}/queryables")
        assert r.status_code == 200 and r.mimetype == "application/schema+json"
        body = r.get_json()
        assert body["type"] == "object" and body["$schema"].startswith("https://json-schema")
        props = body["properties"]
        assert props["geometry"]["x-ogc-role"] == "primary-geometry"
        assert {"id", "name_zh", "kind", "accuracy"} <= set(props)
        assert "citation" not in props and "county" not in props  # objects and lists
        assert set(props["kind"].get("enum", gdf["kind"])) == set(gdf["kind"])
        rels = [link["rel"] for link in client.get(f"/ogc/collections/{cid}").get_json()
                ["links"]]
        assert "http://www.opengis.net/def/rel/ogc/1.0/queryables" in rels
    assert client.get("/ogc/collections/admin/queryables?f=html").mimetype == "text/html"


@pytest.mark.parametrize("cid, kind", [("parks_polygons", "public_park"),
                                       ("urban_polygons", "functional_zone"),
                                       ("ecology", "wetland"), ("tourism_points", "scenic_area")])
def test_cql2_text_and_json_kind_and_s_intersects_equal_a_client_side_filter(client, data, cid,
                                                                            kind):
    _layer, gdf = expected_collections(data)[cid]
    box = _half_box(gdf)
    expected = [fid for fid, k, g in zip(gdf["id"], gdf["kind"], gdf.geometry, strict=True)
                if k == kind and g.intersects(box)]
    text = f"kind='{kind}' AND S_INTERSECTS(geometry, {shapely.to_wkt(box, rounding_precision=9)})"
    assert ids(client, cid, filter=text) == expected
    as_json = {"op": "and", "args": [
        {"op": "=", "args": [{"property": "kind"}, kind]},
        {"op": "s_intersects", "args": [{"property": "geometry"},
                                        json.loads(shapely.to_geojson(box))]}]}
    assert ids(client, cid, filter=json.dumps(as_json), **{"filter-lang": "cql2-json"}) \
        == expected
    # the same as a queryable parameter plus bbox
    assert ids(client, cid, kind=kind, bbox=",".join(map(str, box.bounds))) == expected
    everything = [fid for fid, k in zip(gdf["id"], gdf["kind"], strict=True) if k == kind]
    assert ids(client, cid, kind=kind) == everything and len(everything) > len(expected) >= 0


def test_filter_crs_in_gauss_kruger_gives_the_same_answer(client, data):
    _layer, gdf = expected_collections(data)["admin"]
    box = _half_box(gdf)
    tr = pyproj.Transformer.from_crs(4326, 4550, always_xy=True)
    dense = shapely.segmentize(box, 0.01)
    gk = shapely.transform(dense, lambda xy: __import__("numpy").column_stack(
        tr.transform(xy[:, 0], xy[:, 1]))[:, ::-1])  # EPSG:4550 axis order: northing, easting
    lonlat = ids(client, "admin", filter=f"S_INTERSECTS(geometry,{shapely.to_wkt(dense)})")
    metres = ids(client, "admin", filter=f"S_INTERSECTS(geometry,{shapely.to_wkt(gk)})",
                 **{"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4550"})
    assert metres == lonlat and lonlat


def test_comparison_like_in_between_and_null_logic(client, data):
    _layer, gdf = expected_collections(data)["ctx_clean_energy_base_polygons"]
    rows = [dict(zip(gdf.columns, r, strict=True)) for r in gdf.itertuples(index=False)]

    def where(test):
        return [r["id"] for r in rows if test(r)]

    cid = "ctx_clean_energy_base_polygons"
    area = [r["area_km2"] for r in rows if r["area_km2"] == r["area_km2"]]
    assert len(area) >= 3
    mid = sorted(area)[len(area) // 2]
    num = lambda r: r["area_km2"] if r["area_km2"] == r["area_km2"] else None  # noqa: E731
    assert ids(client, cid, filter=f"area_km2 >= {mid}") == where(
        lambda r: num(r) is not None and num(r) >= mid)
    assert ids(client, cid, filter=f"area_km2 BETWEEN 0 AND {mid}") == where(
        lambda r: num(r) is not None and 0 <= num(r) <= mid)
    # NOT of an unknown (null) comparison stays unknown: such features never match
    assert ids(client, cid, filter=f"NOT (area_km2 >= {mid})") == where(
        lambda r: num(r) is not None and not num(r) >= mid)
    assert ids(client, cid, filter="area_km2 IS NULL") == where(lambda r: num(r) is None)
    assert ids(client, cid, filter="kind IN ('pv_site','wind_site')") == where(
        lambda r: r["kind"] in ("pv_site", "wind_site"))
    assert ids(client, cid, filter="name_zh LIKE '%光伏%'") == where(
        lambda r: "光伏" in r["name_zh"])
    assert ids(client, cid, filter="kind <> 'pv_site' OR accuracy = 'official'") == where(
        lambda r: r["kind"] != "pv_site" or r["accuracy"] == "official")


@pytest.mark.parametrize("bad, column", [
    ("kind='park' AND (", 17), ("kind = = 'x'", 8), ("S_INTERSECTS(geometry, POLYGON((1 2, 3",
                                                     None),
    ("kind='park' )", 13), ("'park", None)])
def test_malformed_cql2_is_400_with_the_position(client, bad, column):
    err = error(client, "admin", filter=bad)
    assert err["code"] == "invalid_filter" and err["param"] == "filter"
    assert "column" in err["message_en"] or "end of the filter" in err["message_en"]
    if column is not None:
        assert f"column {column}" in err["message_en"], err["message_en"]


def test_malformed_cql2_json_is_400_with_the_position(client):
    err = error(client, "admin", filter='{"op": "=", "args": [', **{"filter-lang": "cql2-json"})
    assert err["code"] == "invalid_filter" and "column" in err["message_en"]
    err = error(client, "admin", filter='{"op": "nope", "args": []}',
                **{"filter-lang": "cql2-json"})
    assert err["code"] == "invalid_filter"


@pytest.mark.parametrize("query, param, code", [
    ({"filter": "bogus_field = 1"}, "filter", "unknown_queryable"),
    ({"filter": "kind = 3"}, "filter", "filter_type_mismatch"),
    ({"filter": "kind = 'x'", "filter-lang": "sql"}, "filter-lang", "unknown_filter_lang"),
    ({"filter-lang": "ecql"}, "filter-lang", "unknown_filter_lang"),
    ({"filter": "S_INTERSECTS(geometry, POINT(1 2))",
      "filter-crs": "EPSG:3857"}, "filter-crs", "unsupported_crs"),
    ({"filter": json.dumps({"op": "t_after", "args": [
        {"property": "kind"}, {"timestamp": "2021-01-01T00:00:00Z"}]}),
      "filter-lang": "cql2-json"}, "filter", "unsupported_filter"),
    ({"sortby": "bogus"}, "sortby", "unknown_sortby"),
    ({"properties": "name_zh,bogus"}, "properties", "unknown_property"),
])
def test_filter_parameters_that_cannot_work_are_400_naming_them(client, query, param, code):
    err = error(client, "admin", **query)
    assert (err["param"], err["code"]) == (param, code), err


def test_a_number_queryable_parameter_must_be_a_number(client):
    err = error(client, "ctx_clean_energy_base_polygons", area_km2="abc")
    assert (err["param"], err["code"]) == ("area_km2", "invalid_queryable_value")


def test_cql2_injection_attempts_are_inert(client, data, tmp_path):
    marker = tmp_path / "pwned"
    attempts = [
        f"kind = 'x' OR __import__('os').system('touch {marker}')",
        f"__import__('os').system('touch {marker}') = 1",
        "kind = 'x''; DROP TABLE checks; --'",
        "kind = 'county' OR 1=1",
        "kind = 'x' ; name_zh = 'y'",
        "kind = '\\' OR \\'1\\'=\\'1'",
    ]
    for text in attempts:
        r = client.get(ITEMS.format("admin"), query_string={"filter": text})
        if r.status_code == 200:  # parsed: the text is only ever a literal value
            assert set(ids(client, "admin", filter=text)) <= set(data.layers["admin"]["id"])
        else:
            assert r.status_code == 400 and r.get_json()["error"]["param"] == "filter"
    # a quote-breaking string in CQL2 JSON is just a value that matches nothing
    literal = {"op": "=", "args": [{"property": "kind"}, "x' OR '1'='1"]}
    assert ids(client, "admin", filter=json.dumps(literal), **{"filter-lang": "cql2-json"}) == []
    assert not marker.exists() and not Path("pwned").exists()
    assert client.get("/api/v1/layers").status_code == 200  # the service is unharmed


def test_the_number_comparison_or_one_is_not_a_bypass(client, data):
    # 1=1 compares two literals: true, as CQL2 says; it is not a way around the filter logic
    assert ids(client, "admin", filter="kind = 'nope' AND 1=1") == []


def test_sortby_ascending_descending_and_several_keys(client, data):
    gdf = data.layers["admin"]
    by_name = sorted(gdf["id"], key=lambda fid: gdf.loc[fid, "name_zh"])
    assert ids(client, "admin", sortby="name_zh") == by_name
    assert ids(client, "admin", sortby="+name_zh") == by_name
    assert ids(client, "admin", sortby="-name_zh") == by_name[::-1]
    two = sorted(gdf["id"], key=lambda fid: (gdf.loc[fid, "kind"], gdf.loc[fid, "id"]))
    assert ids(client, "admin", sortby="kind,id") == two


def test_properties_selects_the_returned_properties(client, data):
    body = client.get(ITEMS.format("admin") + "?properties=name_zh,kind&limit=3").get_json()
    for f in body["features"]:
        assert set(f["properties"]) == {"name_zh", "kind"} and f["id"] and f["geometry"]


def test_filtered_paging_keeps_the_filter_in_next_links(client, data):
    gdf = data.layers["urban"]
    expected = [fid for fid, k in zip(gdf["id"], gdf["kind"], strict=True)
                if k in ("node_town", "industrial_town", "county_seat")]
    expected = [fid for fid in expected if fid in set(ids(client, "urban_points"))]
    url = ITEMS.format("urban_points") + \
        "?limit=2&filter=kind%20IN%20('node_town','industrial_town','county_seat')"
    seen = []
    while url:
        body = client.get(url).get_json()
        assert body["numberMatched"] == len(expected)
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://localhost", "") if nxt else None
    assert seen == expected and len(expected) > 2


def test_filter_parameters_are_declared_in_the_openapi_document(client):
    doc = client.get("/ogc/api").get_json()
    names = {p.get("name") for p in
             doc["paths"]["/ogc/collections/{collectionId}/items"]["get"]["parameters"]}
    assert {"filter", "filter-lang", "filter-crs", "sortby", "properties", "datetime"} <= names
    assert "/ogc/collections/{collectionId}/queryables" in doc["paths"]
