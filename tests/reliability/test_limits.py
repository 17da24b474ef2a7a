"""Every named limit: a request AT the limit is served, one JUST PAST it gets the limit's code.

The limits are made small through ``create_app({...})`` so that each boundary is cheap to
reach; the production defaults are in ``server/settings.py`` and docs/SECURITY.md.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import pytest
from planmap.server import create_app

from tests.reliability.support import SQUARE, assert_error

SITES = Path(__file__).resolve().parent.parent / "data" / "sites"
SHP_ZIP = (SITES / "parcel_shp.zip").read_bytes()
SHP_MEMBERS_BYTES = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(SHP_ZIP)).infolist())

LIMITS = {
    "MAX_BODY_BYTES": 65_536,
    "MAX_VERTICES": 100,
    "MAX_PARTS": 5,
    "MAX_POINTS": 50,
    "MAX_JSON_DEPTH": 12,
    "MAX_UNZIPPED_BYTES": SHP_MEMBERS_BYTES + 100,
    "MAX_FEATURES_PER_PAGE": 3,
    "DEFAULT_FEATURES_PER_PAGE": 2,
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    cfg = dict(LIMITS, DB_PATH=str(tmp_path_factory.mktemp("limits") / "c.sqlite3"))
    return create_app(cfg).test_client()


def ring(n: int, cx: float = 122.835, cy: float = 45.615, r: float = 0.004) -> list:
    """A closed convex ring of exactly ``n`` positions (the closing one included)."""
    pts = [[round(cx + r * math.cos(2 * math.pi * k / (n - 1)), 7),
            round(cy + r * math.sin(2 * math.pi * k / (n - 1)), 7)] for k in range(n - 1)]
    return pts + [pts[0]]


def post_site(client, geometry, **extra):
    body = {"geometry": geometry}
    body.update(extra)
    return client.post("/api/v1/sitecheck", json=body)


def test_body_bytes_at_the_limit_is_served_and_one_past_is_413(client):
    base = json.dumps({"geometry": {"type": "Polygon", "coordinates": [SQUARE]}})
    limit = LIMITS["MAX_BODY_BYTES"]
    at = base + " " * (limit - len(base))
    assert len(at.encode()) == limit
    response = client.post("/api/v1/sitecheck", data=at, content_type="application/json")
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    past = at + " "
    err = assert_error(client.post("/api/v1/sitecheck", data=past,
                                   content_type="application/json"), 413, "body_too_large")
    assert str(limit) in err["message_en"]
    # names what to do, too (issue 18: the page showed just "出错了: 413")
    assert "planmap check" in err["message_en"] and "planmap check" in err["message_zh"]


def test_vertices_at_the_limit_are_served_and_one_more_is_413(client):
    n = LIMITS["MAX_VERTICES"]
    response = post_site(client, {"type": "Polygon", "coordinates": [ring(n)]})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    err = assert_error(post_site(client, {"type": "Polygon", "coordinates": [ring(n + 1)]}),
                       413, "too_many_vertices")
    assert str(n) in err["message_en"]


def test_vertices_limit_counts_across_parts_and_in_wkt(client):
    n = LIMITS["MAX_VERTICES"]
    half = ring(n // 2)
    other = [[x + 0.02, y] for x, y in ring(n // 2 + 1)]
    assert_error(post_site(client, {"type": "MultiPolygon", "coordinates": [[half], [other]]}),
                 413, "too_many_vertices")
    wkt = "POLYGON((" + ",".join(f"{x} {y}" for x, y in ring(n + 1)) + "))"
    assert_error(client.post("/api/v1/sitecheck", json={"wkt": wkt}), 413, "too_many_vertices")


def _parts(k: int) -> list:
    return [[[[x + 0.01 * i, y] for x, y in ring(5)]] for i in range(k)]


def test_parts_at_the_limit_are_served_and_one_more_is_413(client):
    k = LIMITS["MAX_PARTS"]
    response = post_site(client, {"type": "MultiPolygon", "coordinates": _parts(k)})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert_error(post_site(client, {"type": "MultiPolygon", "coordinates": _parts(k + 1)}),
                 413, "too_many_parts")


def test_features_of_an_uploaded_collection_count_as_parts(client):
    k = LIMITS["MAX_PARTS"]
    feats = [{"type": "Feature", "properties": {"name": f"p{i}"},
              "geometry": {"type": "Polygon", "coordinates": p}} for i, p in
             enumerate(_parts(k + 1))]
    fc = {"type": "FeatureCollection", "features": feats}
    assert_error(client.post("/api/v1/sitecheck", json=fc), 413, "too_many_parts")
    fc["features"] = feats[:k]
    assert client.post("/api/v1/sitecheck", json=fc).status_code == 201


def _csv(n: int) -> str:
    return "id,lon,lat\n" + "".join(f"p{i},122.8{i % 10},45.6{i % 7}\n" for i in range(n))


def test_points_per_batch_at_the_limit_are_served_and_one_more_is_413(client):
    n = LIMITS["MAX_POINTS"]
    response = client.post("/api/v1/zones", data=_csv(n), content_type="text/csv")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["count"] == n
    err = assert_error(client.post("/api/v1/zones", data=_csv(n + 1), content_type="text/csv"),
                       413, "too_many_points")
    assert str(n) in err["message_en"]


def test_features_per_page_default_max_and_throttle(client):
    url = "/ogc/collections/admin/items"
    assert client.get(url).get_json()["numberReturned"] == LIMITS["DEFAULT_FEATURES_PER_PAGE"]
    cap = LIMITS["MAX_FEATURES_PER_PAGE"]
    at = client.get(f"{url}?limit={cap}").get_json()
    assert at["numberReturned"] == cap
    # past the cap: throttled to the cap (OGC API / pygeoapi semantics), and the links say so
    past = client.get(f"{url}?limit={cap + 1}").get_json()
    assert past["numberReturned"] == cap
    assert all(f"limit={cap}" in link["href"] for link in past["links"]
               if link["rel"] in ("self", "next"))
    assert_error(client.get(f"{url}?limit=0"), 400, "invalid_limit")


def _nested(levels: int) -> dict:
    """A valid site body whose deepest nesting is exactly ``levels`` (an ignored field)."""
    note = []
    for _ in range(levels - 2):  # object (1) + list levels
        note = [note]
    return {"geometry": {"type": "Polygon", "coordinates": [SQUARE]}, "note": note}


def test_json_depth_at_the_limit_is_served_and_one_deeper_is_413(client):
    from planmap.geo.io import json_depth

    depth = LIMITS["MAX_JSON_DEPTH"]
    at = json.dumps(_nested(depth))
    assert json_depth(at) == depth
    response = client.post("/api/v1/sitecheck", data=at, content_type="application/json")
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    past = json.dumps(_nested(depth + 1))
    assert json_depth(past) == depth + 1
    err = assert_error(client.post("/api/v1/sitecheck", data=past,
                                   content_type="application/json"), 413, "json_too_deep")
    assert str(depth) in err["message_en"]


def _zip_with_padding(extra: int) -> bytes:
    """The sample shapefile zip plus a readme of ``extra`` bytes."""
    src = zipfile.ZipFile(io.BytesIO(SHP_ZIP))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info))
        out.writestr("readme.txt", b"r" * extra)
    return buf.getvalue()


def test_unzipped_bytes_at_the_limit_are_served_and_one_more_is_413(client):
    slack = LIMITS["MAX_UNZIPPED_BYTES"] - SHP_MEMBERS_BYTES
    at = client.post("/api/v1/sitecheck", data={"file": (io.BytesIO(_zip_with_padding(slack)),
                                                         "parcel.zip")},
                     content_type="multipart/form-data")
    assert at.status_code == 201, at.get_data(as_text=True)[:300]
    past = client.post("/api/v1/sitecheck",
                       data={"file": (io.BytesIO(_zip_with_padding(slack + 1)), "parcel.zip")},
                       content_type="multipart/form-data")
    err = assert_error(past, 413, "zip_too_large")
    assert str(LIMITS["MAX_UNZIPPED_BYTES"]) in err["message_en"]


def test_limits_come_from_the_environment_too(monkeypatch, tmp_path):
    monkeypatch.setenv("PLANMAP_MAX_POINTS", "3")
    monkeypatch.setenv("PLANMAP_DB_PATH", str(tmp_path / "c.sqlite3"))
    app = create_app()
    assert app.extensions["planmap"].limits.max_points == 3
    response = app.test_client().post("/api/v1/zones", data=_csv(4), content_type="text/csv")
    assert_error(response, 413, "too_many_points")


def test_every_limit_is_a_documented_setting():
    from planmap.server.settings import SETTINGS

    names = {s.name for s in SETTINGS}
    for name in LIMITS:
        assert name in names
    doc = (Path(__file__).resolve().parents[2] / "docs" / "SECURITY.md").read_text("utf-8")
    for name in LIMITS:
        assert name in doc, f"{name} is not described in docs/SECURITY.md"
