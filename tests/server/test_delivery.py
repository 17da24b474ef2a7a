"""CORS, gzip and conditional requests (server/delivery.py), through Flask's test client."""

from __future__ import annotations

import gzip
import json

import pytest
from planmap.server import create_app

READ_URLS = ["/ogc/collections/admin/items?limit=50", "/ogc/collections", "/ogc/api",
             "/api/v1/layers", "/api/v1/layers/admin", "/export/admin.geojson"]


def test_cross_origin_get_is_readable_on_the_read_only_routes(client):
    for url in READ_URLS:
        r = client.get(url, headers={"Origin": "https://gis.example.org"})
        assert r.status_code == 200, url
        assert r.headers["Access-Control-Allow-Origin"] == "*", url
        assert "ETag" in r.headers["Access-Control-Expose-Headers"]


def test_errors_of_read_only_routes_are_readable_cross_origin_too(client):
    r = client.get("/ogc/collections/admin/items?bogus=1", headers={"Origin": "https://x.org"})
    assert r.status_code == 400 and r.headers["Access-Control-Allow-Origin"] == "*"


def test_preflight_grants_only_read_methods(client):
    ok = client.options("/api/v1/zones", headers={
        "Origin": "https://x.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match"})
    assert ok.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" not in ok.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in ok.headers["Access-Control-Allow-Headers"]
    for url in ("/api/v1/zones", "/api/v1/sitecheck"):
        post = client.options(url, headers={"Origin": "https://x.org",
                                             "Access-Control-Request-Method": "POST"})
        assert "Access-Control-Allow-Origin" not in post.headers, url


def test_state_changing_requests_get_no_cors_grant(client):
    body = {"geometry": {"type": "Point", "coordinates": [122.84, 45.62]}}
    r = client.post("/api/v1/sitecheck", json=body, headers={"Origin": "https://x.org"})
    assert r.status_code in (200, 201)
    assert "Access-Control-Allow-Origin" not in r.headers


def test_pages_outside_the_read_only_prefixes_get_no_cors(client):
    r = client.get("/", headers={"Origin": "https://x.org"})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Access-Control-Allow-Origin" not in client.get("/-/health").headers


def test_cors_can_be_limited_to_named_origins_or_switched_off(tmp_path):
    named = create_app({"DB_PATH": str(tmp_path / "a.db"),
                        "CORS_ALLOW_ORIGINS": "https://a.example, https://b.example"}) \
        .test_client()
    r = named.get("/ogc/collections", headers={"Origin": "https://b.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert "Origin" in r.headers["Vary"]
    other = named.get("/ogc/collections", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    off = create_app({"DB_PATH": str(tmp_path / "b.db"), "CORS_ALLOW_ORIGINS": ""}) \
        .test_client()
    assert "Access-Control-Allow-Origin" not in off.get(
        "/ogc/collections", headers={"Origin": "https://a.example"}).headers


@pytest.mark.parametrize("url", ["/ogc/collections/admin/items?limit=1000",
                                 "/api/v1/layers/admin", "/export/admin.geojson",
                                 "/ogc/api"])
def test_json_is_gzipped_when_accepted_and_unzips_to_the_same_document(client, url):
    plain = client.get(url)
    zipped = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.data) < len(plain.data) / 2
    assert json.loads(gzip.decompress(zipped.data)) == json.loads(plain.data)
    assert zipped.headers["ETag"] != plain.headers["ETag"]  # another representation


def test_no_gzip_when_refused_for_small_bodies_or_for_other_formats(client):
    assert "Content-Encoding" not in client.get(
        "/api/v1/layers/admin", headers={"Accept-Encoding": "gzip;q=0"}).headers
    assert len(client.get("/ogc/collections/nope").data) < 1024  # an error: small JSON
    small = client.get("/ogc/collections/nope", headers={"Accept-Encoding": "gzip"})
    assert small.status_code == 404 and "Content-Encoding" not in small.headers
    kml = client.get("/export/admin.kml", headers={"Accept-Encoding": "gzip"})
    assert kml.status_code == 200 and "Content-Encoding" not in kml.headers


@pytest.mark.parametrize("url", READ_URLS + ["/ogc/collections/admin/items?f=html"])
def test_conditional_get_round_trip_gives_304_without_a_body(client, url):
    for headers in ({}, {"Accept-Encoding": "gzip"}):
        first = client.get(url, headers=headers)
        tag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert tag.startswith('"') and not tag.startswith("W/")  # strong
        again = client.get(url, headers=dict(headers, **{"If-None-Match": tag}))
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == tag
        since = client.get(url, headers=dict(headers, **{"If-Modified-Since": modified}))
        assert since.status_code == 304
        # the same bytes each time: the strong validator is honest
        assert client.get(url, headers=headers).data == first.data


def test_a_changed_representation_or_an_older_date_is_a_full_200(client):
    url = "/ogc/collections/admin/items?limit=2"
    tag = client.get(url).headers["ETag"]
    other = client.get("/ogc/collections/admin/items?limit=3", headers={"If-None-Match": tag})
    assert other.status_code == 200 and other.headers["ETag"] != tag
    old = client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert old.status_code == 200 and old.get_json()["features"]
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    both = client.get(url, headers={"If-None-Match": '"nope"',
                                    "If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    assert both.status_code == 200
    assert client.get(url, headers={"If-Modified-Since": "garbage"}).status_code == 200


def test_html_and_json_of_one_ogc_url_differ_and_say_vary_accept(client):
    json_r = client.get("/ogc/collections/admin", headers={"Accept": "application/json"})
    html_r = client.get("/ogc/collections/admin", headers={"Accept": "text/html"})
    assert json_r.headers["ETag"] != html_r.headers["ETag"]
    assert "Accept" in json_r.headers["Vary"].split(", ")
    assert client.get("/ogc/collections/admin", headers={
        "Accept": "text/html", "If-None-Match": json_r.headers["ETag"]}).status_code == 200


def test_post_answers_have_no_validators(client):
    r = client.post("/api/v1/sitecheck",
                    json={"geometry": {"type": "Point", "coordinates": [122.84, 45.62]}})
    assert r.status_code == 201 and "ETag" not in r.headers


def test_head_has_the_validators_of_get_and_no_body(client):
    url = "/ogc/collections/admin/items?limit=2"
    get, head = client.get(url), client.head(url)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert client.head(url, headers={"If-None-Match": get.headers["ETag"]}).status_code == 304
