"""OGC API – Features at /ogc (Part 1 Core, Part 2 CRS), through Flask's test client."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import numpy as np
import pyproj
import pytest
import shapely
from planmap.server import create_app

from tests.server.ogc_expect import FAMILY, expected_collections

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
EPSG4550 = "http://www.opengis.net/def/crs/EPSG/0/4550"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db"),
                       "DEFAULT_FEATURES_PER_PAGE": 5, "MAX_FEATURES_PER_PAGE": 7})


def _local(href):
    parts = urlsplit(href)
    return parts.path + ("?" + parts.query if parts.query else "")


def _rels(body):
    return {link["rel"]: link["href"] for link in body["links"]}


def test_landing_page_links_to_the_required_resources(client):
    body = client.get("/ogc/").get_json()
    rels = _rels(body)
    for rel in ("self", "service-desc", "conformance", "data"):
        assert rel in rels
    assert client.get(_local(rels["service-desc"])).get_json()["openapi"].startswith("3.0")
    assert client.get(_local(rels["data"])).status_code == 200


def test_conformance_declares_the_classes(client):
    classes = client.get("/ogc/conformance").get_json()["conformsTo"]
    for part in ("conf/core", "conf/geojson", "conf/html", "conf/oas30",
                 "ogcapi-features-2/1.0/conf/crs"):
        assert any(c.endswith(part) or part in c for c in classes)


def test_one_collection_per_layer_and_geometry_type_with_extent_and_crs(client, data):
    body = client.get("/ogc/collections").get_json()
    expected = expected_collections(data)
    assert [c["id"] for c in body["collections"]] == list(expected)
    assert len(expected) > len(data.layers)  # the built-in data does mix types in a layer
    for c in body["collections"]:
        layer, gdf = expected[c["id"]]
        assert c["layer"] == layer
        assert {CRS84, EPSG4490, EPSG4550} <= set(c["crs"])
        assert c["storageCrs"] == CRS84
        x0, y0, x1, y1 = c["extent"]["spatial"]["bbox"][0]
        bx0, by0, bx1, by1 = gdf.total_bounds
        assert x0 <= bx0 + 1e-6 and y0 <= by0 + 1e-6 and x1 >= bx1 - 1e-6 and y1 >= by1 - 1e-6
        assert c["geometry"] == FAMILY[gdf.geom_type.iloc[0]]


def test_every_feature_is_in_exactly_one_collection_of_one_geometry_family(client, data):
    seen = {}
    for cid, (layer, _gdf) in expected_collections(data).items():
        url, features = f"/ogc/collections/{cid}/items?limit=7", []
        while url:
            body = client.get(url).get_json()
            features += body["features"]
            nxt = _rels(body).get("next")
            url = _local(nxt) if nxt else None
        families = {FAMILY[f["geometry"]["type"]] for f in features}
        assert len(families) == 1, cid
        types = {f["geometry"]["type"] for f in features}
        assert len(types) == 1, (cid, types)  # Polygon + MultiPolygon published as Multi
        for f in features:
            assert f["id"] not in seen
            seen[f["id"]] = layer
    assert seen == {fid: lid for lid, gdf in data.layers.items() for fid in gdf["id"]}


def test_a_mixed_layer_id_is_404_naming_its_typed_collections(client):
    err = client.get("/ogc/collections/urban/items").get_json()["error"]
    assert err["status"] == 404 and "urban_points" in err["message_en"]
    assert "urban_polygons" in err["message_en"]


def test_paging_with_next_links_returns_every_feature_once(client, data):
    for cid, (_layer, gdf) in expected_collections(data).items():
        url, seen = f"/ogc/collections/{cid}/items?limit=2", []
        while url:
            r = client.get(url)
            assert r.status_code == 200 and r.mimetype == "application/geo+json"
            body = r.get_json()
            assert body["numberMatched"] == len(gdf)
            assert body["numberReturned"] == len(body["features"]) <= 2
            seen += [f["id"] for f in body["features"]]
            nxt = _rels(body).get("next")
            url = _local(nxt) if nxt else None
        assert seen == list(gdf["id"])


def test_limit_defaults_and_is_capped_by_the_settings(client, data):
    collections = expected_collections(data)
    big = max(collections, key=lambda k: len(collections[k][1]))
    assert len(collections[big][1]) > 7
    assert client.get(f"/ogc/collections/{big}/items").get_json()["numberReturned"] == 5
    assert client.get(f"/ogc/collections/{big}/items?limit=100000") \
        .get_json()["numberReturned"] == 7


def test_bbox_returns_exactly_the_features_that_intersect_it(client, data):
    for cid, (_layer, gdf) in expected_collections(data).items():
        x0, y0, x1, y1 = gdf.total_bounds
        box = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
        expected = [fid for fid, g in zip(gdf["id"], gdf.geometry, strict=True)
                    if g.intersects(shapely.box(*box))]
        body = client.get(f"/ogc/collections/{cid}/items?limit=7&bbox="
                          + ",".join(f"{v:.6f}" for v in box)).get_json()
        assert body["numberMatched"] == len(expected)
        assert [f["id"] for f in body["features"]] == expected[:7]


def test_bbox_crs_in_gauss_kruger_metres_matches_the_lonlat_box(client, data):
    gdf = data.layers["admin"]
    fid = gdf["id"].iloc[1]
    geom = gdf.geometry.iloc[1]
    p = geom.representative_point()
    tr = pyproj.Transformer.from_crs(4326, 4550, always_xy=True)
    e, n = tr.transform(p.x, p.y)
    # EPSG:4550's axis order is northing, easting
    bbox = f"{n - 10},{e - 10},{n + 10},{e + 10}"
    body = client.get(f"/ogc/collections/admin/items?bbox={bbox}&bbox-crs={EPSG4550}") \
        .get_json()
    assert fid in [f["id"] for f in body["features"]]
    expected = {f for f, g in zip(gdf["id"], gdf.geometry, strict=True)
                if g.intersects(shapely.box(p.x - 1e-3, p.y - 1e-3, p.x + 1e-3, p.y + 1e-3))}
    assert {f["id"] for f in body["features"]} <= expected


def test_crs_parameter_reprojects_in_the_crs_axis_order(client, data):
    fid = data.layers["admin"]["id"].iloc[1]
    base = f"/ogc/collections/admin/items/{fid}"
    r84 = client.get(base)
    assert r84.headers["Content-Crs"] == f"<{CRS84}>"
    lon, lat = r84.get_json()["geometry"]["coordinates"][0][0]
    r4490 = client.get(f"{base}?crs={EPSG4490}")
    assert r4490.headers["Content-Crs"] == f"<{EPSG4490}>"
    assert r4490.get_json()["geometry"]["coordinates"][0][0] == pytest.approx([lat, lon],
                                                                              abs=1e-6)
    r4550 = client.get(f"{base}?crs={EPSG4550}")
    n, e = r4550.get_json()["geometry"]["coordinates"][0][0]
    ee, nn = pyproj.Transformer.from_crs(4326, 4550, always_xy=True).transform(lon, lat)
    assert (e, n) == pytest.approx((ee, nn), abs=0.02)
    items = client.get(f"/ogc/collections/admin/items?crs={EPSG4550}&limit=1")
    assert items.headers["Content-Crs"] == f"<{EPSG4550}>"
    ring = np.array(items.get_json()["features"][0]["geometry"]["coordinates"][0])
    assert 4.8e6 < ring[:, 0].min() and ring[:, 1].max() < 8e5


@pytest.mark.parametrize("query, param", [
    ("bbox=1,2,3", "bbox"),
    ("bbox=1,2,3,4c", "bbox"),
    ("bbox=nan,nan,nan,nan", "bbox"),
    ("bbox=122,45,inf,46", "bbox"),
    ("bbox=123,45,122,46", "bbox"),
    ("bbox=122,46,123,45", "bbox"),
    ("bbox=-200,45,123,46", "bbox"),
    ("bbox=a,b,c,d", "bbox"),
    ("bbox-crs=EPSG:3857&bbox=1,2,3,4", "bbox-crs"),
    ("crs=http://www.opengis.net/def/crs/EPSG/0/3857", "crs"),
    ("limit=0", "limit"),
    ("limit=-1", "limit"),
    ("limit=1e3", "limit"),
    ("offset=-5", "offset"),
    ("f=shp", "f"),
])
def test_bad_item_parameters_are_400_in_the_error_shape(client, query, param):
    r = client.get(f"/ogc/collections/admin/items?{query}")
    assert r.status_code == 400, r.get_data(as_text=True)[:200]
    err = r.get_json()["error"]
    assert err["param"] == param and err["message_zh"]


def test_huge_offset_is_an_empty_page_not_an_error(client):
    body = client.get("/ogc/collections/admin/items?offset=1000000000000").get_json()
    assert body["features"] == [] and body["numberReturned"] == 0


@pytest.mark.parametrize("url", ["/ogc/collections/nope", "/ogc/collections/nope/items",
                                 "/ogc/collections/admin/items/nope",
                                 "/ogc/collections/..%2F..%2Fetc/items"])
def test_unknown_collection_or_feature_is_404(client, url):
    r = client.get(url)
    assert r.status_code == 404
    assert r.get_json()["error"]["status"] == 404


def test_html_views_by_f_and_accept_use_only_local_assets(client, data):
    fid = data.layers["admin"]["id"].iloc[0]
    urls = ["/ogc/", "/ogc/conformance", "/ogc/collections", "/ogc/collections/admin",
            "/ogc/collections/admin/items", f"/ogc/collections/admin/items/{fid}"]
    for url in urls:
        r = client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert r.status_code == 200 and r.mimetype == "text/html", url
        html = r.get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//(?!localhost)', html), url
        assert "<script" not in html
        assert client.get(url + ("&" if "?" in url else "?") + "f=html").mimetype == "text/html"
        assert client.get(url, headers={"Accept": "application/json"}).mimetype != "text/html"
    items_html = client.get("/ogc/collections/admin/items?f=html").get_data(as_text=True)
    assert data.layers["admin"]["name_zh"].iloc[0] in items_html


def _every_ogc_url(client):
    """One URL of each OGC route, for every collection."""
    urls = ["/ogc/", "/ogc/api", "/ogc/conformance", "/ogc/collections"]
    for c in client.get("/ogc/collections").get_json()["collections"]:
        first = client.get(f"/ogc/collections/{c['id']}/items?limit=1").get_json()["features"]
        urls += [f"/ogc/collections/{c['id']}", f"/ogc/collections/{c['id']}/items",
                 f"/ogc/collections/{c['id']}/queryables"]
        if first:
            urls.append(f"/ogc/collections/{c['id']}/items/{first[0]['id']}")
    return urls


@pytest.mark.parametrize("name", ["unknownQueryParameter12345", "_external", "cid", "fid",
                                  "endpoint", "_method", "_scheme", "_anchor", "values"])
def test_unknown_query_parameters_are_400_naming_the_parameter_on_every_route(client, name):
    for url in _every_ogc_url(client):
        r = client.get(url + ("&" if "?" in url else "?") + f"{name}=1")
        assert r.status_code == 400, (url, r.status_code)
        err = r.get_json()["error"]
        assert err["code"] == "unknown_parameter" and err["param"] == name, url
        assert name in err["message_en"] and err["message_zh"]


def test_paging_links_carry_the_accepted_parameters_only_in_the_query(client):
    body = client.get("/ogc/collections/admin/items?limit=2&datetime=2021-01-01T00:00:00Z"
                      "&bbox=121,44,125,47").get_json()
    nxt = urlsplit(_rels(body)["next"])
    assert nxt.path == "/ogc/collections/admin/items"
    assert "datetime=2021-01-01T00%3A00%3A00Z" in nxt.query and "offset=2" in nxt.query


@pytest.mark.parametrize("value", [
    "2021-01-01T00:00:00Z", "2021-01-01T08:00:00+08:00", "2021-01-01T00:00:00.5z",
    "2021-01-01", "2021-01-01T00:00:00Z/2035-12-31T23:59:59Z", "../2035-12-31T00:00:00Z",
    "2021-01-01T00:00:00Z/..", "/2035-12-31T00:00:00Z", "2021-01-01/2021-01-01"])
def test_valid_datetime_is_accepted_and_does_not_narrow_timeless_features(client, data, value):
    body = client.get("/ogc/collections/admin/items", query_string={"datetime": value}) \
        .get_json()
    assert body["numberMatched"] == len(data.layers["admin"])


@pytest.mark.parametrize("value", [
    "garbage", "2021-13-01T00:00:00Z", "2021-02-30", "2021-01-01T25:00:00Z",
    "2021-01-01T00:00:00", "2021-01-01 00:00:00Z", "..", "2021-01-01/2020-01-01",
    "2021-01-01/2021-02-01/2021-03-01", "2021-01-01T00:00:00Z/garbage"])
def test_malformed_datetime_is_400(client, value):
    r = client.get("/ogc/collections/admin/items", query_string={"datetime": value})
    assert r.status_code == 400, value
    assert r.get_json()["error"]["param"] == "datetime"


def test_datetime_is_declared_and_collections_say_they_have_no_time(client):
    doc = client.get("/ogc/api").get_json()
    params = doc["paths"]["/ogc/collections/{collectionId}/items"]["get"]["parameters"]
    assert "datetime" in [p.get("name") for p in params]
    for c in client.get("/ogc/collections").get_json()["collections"]:
        assert "interval" not in c["extent"]["temporal"]
        assert "no temporal extent" in c["extent"]["temporal"]["description"]


@pytest.mark.parametrize("url", ["/ogc/collections/", "/ogc/conformance/", "/ogc/api/",
                                 "/ogc/collections/admin/", "/ogc/collections/admin/items/"])
def test_trailing_slash_routes_are_answered(client, url):
    r = client.get(url)
    assert r.status_code == 200, url
    assert r.get_json() is not None
