"""Degraded start: a corrupt and a missing layer file do not stop the service.

The built-in data dir is copied; one layer file is truncated mid-JSON, another deleted.
The app must start, ``/-/health`` must say ``degraded`` and name both layers with their
problem, every other layer must serve on every route, and the broken ones must answer a
clear 503 ``layer_unavailable`` (never a 500).
"""

from __future__ import annotations

import json

import pytest
from planmap.server import create_app

from planmap import layers
from tests.reliability.support import SQUARE, assert_error
from tests.server.ogc_expect import expected_collections

CORRUPT, MISSING = "ecology", "water"


@pytest.fixture(scope="module")
def degraded(tmp_path_factory):
    d = layers.copy_data_dir(tmp_path_factory.mktemp("degraded"))
    catalog = json.loads((d / "catalog.json").read_text("utf-8"))
    files = {e["id"]: d / e["file"] for e in catalog["layers"]}
    raw = files[CORRUPT].read_bytes()
    files[CORRUPT].write_bytes(raw[: len(raw) // 2])  # truncated mid-write, as after a crash
    files[MISSING].unlink()
    app = create_app({"DATA_DIR": str(d), "DB_PATH": str(d / "checks.sqlite3")})
    healthy = [e["id"] for e in catalog["layers"] if e["id"] not in (CORRUPT, MISSING)]
    return app, healthy


def test_health_says_degraded_and_names_each_broken_layer_and_problem(degraded):
    app, healthy = degraded
    body = app.test_client().get("/-/health").get_json()
    assert body["status"] == "degraded"
    assert body["layers"][CORRUPT]["status"] == "error"
    assert "JSON" in body["layers"][CORRUPT]["problem"]
    assert f"{CORRUPT}.geojson" in body["layers"][CORRUPT]["problem"]
    assert body["layers"][MISSING]["status"] == "error"
    assert "missing" in body["layers"][MISSING]["problem"]
    for lid in healthy:
        assert body["layers"][lid]["status"] == "ok"
        assert body["layers"][lid]["features"] > 0


def test_every_other_layer_serves_on_every_route(degraded):
    app, healthy = degraded
    client = app.test_client()
    expected = expected_collections(app.extensions["planmap"].data)
    collections = [c["id"] for c in client.get("/ogc/collections").get_json()["collections"]]
    assert collections == list(expected)
    assert {layer for layer, _gdf in expected.values()} == set(healthy)
    for lid in healthy:
        api = client.get(f"/api/v1/layers/{lid}")
        assert api.status_code == 200, lid
        assert len(api.get_json()["features"]) == len(app.extensions["planmap"].data.layers[lid])
    for cid, (_layer, gdf) in expected.items():
        items = client.get(f"/ogc/collections/{cid}/items?limit=1")
        assert items.status_code == 200 and items.get_json()["numberMatched"] == len(gdf)
    listing = {e["id"]: e for e in client.get("/api/v1/layers").get_json()["layers"]}
    assert listing[CORRUPT]["available"] is False and listing[CORRUPT]["problem"]
    assert all(listing[lid]["available"] for lid in healthy)


@pytest.mark.parametrize("url", [f"/api/v1/layers/{CORRUPT}", f"/api/v1/layers/{MISSING}",
                                 f"/ogc/collections/{CORRUPT}",
                                 f"/ogc/collections/{MISSING}/items",
                                 f"/export/{CORRUPT}.geojson"])
def test_broken_layer_gives_a_clear_error_not_a_500(degraded, url):
    app, _ = degraded
    err = assert_error(app.test_client().get(url), 503, "layer_unavailable")
    assert "unavailable" in err["message_en"] and "不可用" in err["message_zh"]


def test_map_page_point_query_and_site_check_still_work(degraded):
    app, _ = degraded
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # the page tells users which layers are missing
    notice = text.split('class="pm-layer-errors"', 1)[1].split("</p>", 1)[0]
    assert CORRUPT in notice and MISSING in notice
    assert client.get("/map/zh.js").status_code == 200
    point = client.get("/api/v1/zones?lon=122.84&lat=45.62")
    assert point.status_code == 200
    layers_hit = {z["layer"] for z in point.get_json()["zones"]}
    assert "admin" in layers_hit and not layers_hit & {CORRUPT, MISSING}
    check = client.post("/api/v1/sitecheck",
                        json={"geometry": {"type": "Polygon", "coordinates": [SQUARE]}})
    assert check.status_code == 201
    assert client.get(check.get_json()["report_url"]).status_code == 200
    assert client.get("/export/all.geojson").status_code == 200
