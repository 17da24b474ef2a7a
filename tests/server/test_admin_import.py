"""Web import with preview, and restore (issue 14): admin only, CSRF, staged uploads,
the preview changes nothing, the confirm serves the new version, audit rows."""

from __future__ import annotations

import io
import json
import os
import time

import geopandas as gpd
import pyogrio
import pytest
import shapely
from planmap.server import create_app

PASSWORD = "a long test password"
ORG = "白城市自然资源局"
CIT = ("000_f32aaef515cfbb76", 849, "严格执行生态保护红线管理办法")
JSON = {"Accept": "application/json"}


def _file(path, tag, lat=45.60, bad_rows=()):
    geoms = [shapely.box(122.80 + i * 0.002, lat, 122.801 + i * 0.002, lat + 0.001)
             if i not in bad_rows else shapely.box(12.8, lat, 12.801, lat + 0.001)
             for i in range(6)]
    frame = gpd.GeoDataFrame({
        "id": [f"web_parcel_{i}" for i in range(6)], "dlmc": [tag] * 6,
        "citation_seed": [CIT[0]] * 6, "citation_line": [CIT[1]] * 6,
        "citation_quote": [CIT[2]] * 6}, geometry=geoms, crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    app = create_app({"DB_PATH": str(home / "c.db"), "HOME": str(home), "WORKERS": 0,
                      "ARGON2_MEMORY_KIB": 1024, "LOGIN_RATE_PER_MIN": 0,
                      "DATA_CHECK_S": 0})
    store = app.extensions["planmap_accounts"]
    store.add_user("admin", PASSWORD, ORG, "admin")
    store.add_user("planner", PASSWORD, ORG, "planner")
    return app


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    return {"a": _file(d / "a.gpkg", "旱地"), "b": _file(d / "b.gpkg", "水田", lat=45.602),
            "bad": _file(d / "bad.gpkg", "坏", bad_rows=(2,))}


def login(app, username):
    client = app.test_client()
    client.get("/auth/login")
    csrf = client.get_cookie("planmap_csrf").value
    r = client.post("/auth/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": csrf, "next": "/"})
    assert r.status_code == 303
    return client


def csrf(client):
    return client.get_cookie("planmap_csrf").value


def preview(client, layer, content, name="parcels.gpkg", headers=JSON, **extra):
    data = {"layer": layer, "crs": "", "csrf_token": csrf(client),
            "file": (io.BytesIO(content), name), **extra}
    return client.post("/admin/import", data=data, headers=headers,
                       content_type="multipart/form-data")


def confirm(client, stage, headers=JSON, **form):
    return client.post(f"/admin/import/{stage}/confirm",
                       data={"csrf_token": csrf(client), **form}, headers=headers)


def served_tags(client, layer):
    r = client.get(f"/api/v1/layers/{layer}")
    if r.status_code == 404:
        return None
    return {f["properties"]["dlmc"] for f in r.get_json()["features"]}


def layer_ids(client):
    return {e["id"] for e in client.get("/api/v1/layers").get_json()["layers"]}


def staged(app):
    root = os.path.join(app.config["HOME"], "staging")
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


def test_preview_changes_nothing_and_confirm_serves_the_new_layer(app, files):
    admin = login(app, "admin")
    r = preview(admin, "web_parcels", files["a"])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["features"], body["repaired"], body["refused"]) == (6, 0, 0)
    assert body["types"] == ["Polygon"] and body["created"] is True
    assert body["bbox"][0] == pytest.approx(122.80) and "dlmc" in body["fields"]
    assert body["stage"] in staged(app)
    # nothing activated: neither the store nor the served data know the layer
    assert "web_parcels" not in layer_ids(app.test_client())
    assert not os.path.isdir(os.path.join(app.config["HOME"], "store", "web_parcels"))

    r = confirm(admin, body["stage"])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["features"] == 6 and r.get_json()["version"] == "v000001"
    assert body["stage"] not in staged(app)  # consumed
    client = app.test_client()
    assert served_tags(client, "web_parcels") == {"旱地"}
    zones = client.get("/api/v1/zones?lon=122.8005&lat=45.6005").get_json()["zones"]
    assert "web_parcel_0" in {z["id"] for z in zones}  # the zone index follows too
    # a confirmed stage cannot be confirmed again
    assert confirm(admin, body["stage"]).status_code == 404


def test_restore_brings_back_the_previous_version(app, files):
    admin = login(app, "admin")
    if "web_parcels" not in layer_ids(app.test_client()):
        confirm(admin, preview(admin, "web_parcels", files["a"]).get_json()["stage"])
    stage = preview(admin, "web_parcels", files["b"]).get_json()
    assert stage["current"]  # replaces the active version
    assert confirm(admin, stage["stage"]).status_code == 200
    assert served_tags(app.test_client(), "web_parcels") == {"水田"}
    page = admin.get("/admin/layers", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'data-layer="web_parcels"' in page.get_data(as_text=True)
    r = admin.post("/admin/layers/web_parcels/restore", data={"csrf_token": csrf(admin)},
                   headers=JSON)
    assert r.status_code == 200, r.get_json()
    assert served_tags(app.test_client(), "web_parcels") == {"旱地"}
    # nothing older left: the page says so, with a 404 (and the served data stays)
    r = admin.post("/admin/layers/web_parcels/restore", data={"csrf_token": csrf(admin)},
                   headers={"Accept": "text/html"})
    assert r.status_code == 404 and 'data-code="no_previous_version"' in r.get_data(as_text=True)
    assert served_tags(app.test_client(), "web_parcels") == {"旱地"}


def test_refused_rows_are_reported_and_stop_the_import_unless_skipped(app, files):
    admin = login(app, "admin")
    body = preview(admin, "web_bad", files["bad"]).get_json()
    assert (body["features"], body["refused"]) == (5, 1)
    assert body["notes"][0]["row"] == 3 and "coordinate_out_of_area" in body["notes"][0]["reason"]
    r = confirm(admin, body["stage"])
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "rows_refused"
    assert "web_bad" not in layer_ids(app.test_client())
    r = confirm(admin, body["stage"], skip_refused="1")  # the stage is kept after a refusal
    assert r.status_code == 200 and r.get_json()["features"] == 5
    assert "web_bad" in layer_ids(app.test_client())


def test_bad_input_is_a_4xx_in_the_one_error_shape_and_stages_nothing(app):
    admin = login(app, "admin")
    before = staged(app)
    r = preview(admin, "web_x", b"this is not a GeoPackage", name="x.gpkg")
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["code"] == "unreadable_file" and err["message_zh"] and err["status"] == 400
    r = preview(admin, "Bad-Id", b"{}", name="x.geojson")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_layer_id"
    r = preview(admin, "web_x", b"a,b", name="x.csv")
    assert r.get_json()["error"]["code"] == "unsupported_format"
    # a browser gets the page, with the error, and the same status
    page = preview(admin, "web_x", b"junk", name="x.gpkg", headers={"Accept": "text/html"})
    assert page.status_code == 400
    assert 'data-code="unreadable_file"' in page.get_data(as_text=True)
    assert staged(app) == before
    assert confirm(admin, "A" * 32).status_code == 404


def test_roles_and_csrf(app, files):
    anon = app.test_client()
    assert anon.get("/admin/import").status_code == 401
    assert anon.get("/admin/import", headers={"Accept": "text/html"}).status_code == 302
    planner = login(app, "planner")
    assert planner.get("/admin/import").status_code == 403
    assert preview(planner, "web_p", files["a"]).status_code == 403
    assert planner.post("/admin/layers/web_parcels/restore",
                        data={"csrf_token": csrf(planner)}).status_code == 403
    admin = login(app, "admin")
    before = staged(app)
    r = admin.post("/admin/import", data={"layer": "web_c", "file": (io.BytesIO(files["a"]),
                                                                       "a.gpkg")},
                   content_type="multipart/form-data", headers=JSON)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
    assert staged(app) == before  # nothing staged without the CSRF token
    stage = preview(admin, "web_c", files["a"]).get_json()["stage"]
    r = admin.post(f"/admin/import/{stage}/confirm", headers=JSON)
    assert r.status_code == 403 and "web_c" not in layer_ids(app.test_client())
    # another admin cannot confirm someone else's staged upload
    app.extensions["planmap_accounts"].add_user("admin2", PASSWORD, ORG, "admin")
    assert confirm(login(app, "admin2"), stage).status_code == 404


def test_staged_uploads_expire(app, files):
    admin = login(app, "admin")
    stage = preview(admin, "web_old", files["a"]).get_json()["stage"]
    folder = os.path.join(app.config["HOME"], "staging", stage)
    old = time.time() - float(app.config["ADMIN_IMPORT_STAGE_S"]) - 10
    os.utime(folder, (old, old))
    assert confirm(admin, stage).status_code == 404
    assert stage not in staged(app)


def test_the_preview_page_in_both_languages_with_a_sketch(app, files):
    admin = login(app, "admin")
    zh = admin.get("/admin/import").get_data(as_text=True)
    en = admin.get("/admin/import?lang=en").get_data(as_text=True)
    assert "导入图层" in zh and "Import a layer" in en and 'name="csrf_token"' in zh
    page = preview(admin, "web_sketch", files["a"], headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and 'id="pm-import-confirm"' in html
    assert 'data-features="6"' in html


def test_every_preview_import_and_restore_is_audited(app, files):
    admin = login(app, "admin")
    stage = preview(admin, "web_audit", files["a"]).get_json()["stage"]
    confirm(admin, stage)
    stage = preview(admin, "web_audit", files["b"]).get_json()["stage"]
    confirm(admin, stage)
    admin.post("/admin/layers/web_audit/restore", data={"csrf_token": csrf(admin)},
               headers=JSON)
    preview(admin, "web_audit", b"junk", name="x.gpkg")
    rows = app.extensions["planmap_accounts"].audit_rows(limit=200)
    mine = [(r["action"], r["result"], r["username"]) for r in rows
            if r["target"] == "web_audit"]
    assert mine.count(("layer_import", "ok", "admin")) == 2
    assert ("layer_restore", "ok", "admin") in mine
    assert ("layer_import_preview", "ok", "admin") in mine
    assert ("layer_import_preview", "refused", "admin") in mine
    imp = next(r for r in rows if r["action"] == "layer_import" and r["target"] == "web_audit")
    assert "6 rows" in imp["detail"] and "version v00000" in imp["detail"]
    json.dumps(rows)  # plain values


def test_a_file_past_the_feature_limit_is_refused_before_anything_is_staged(app, files):
    admin = login(app, "admin")
    before = staged(app)
    limit = app.config["ADMIN_IMPORT_MAX_FEATURES"]
    app.config["ADMIN_IMPORT_MAX_FEATURES"] = 5
    try:
        r = preview(admin, "web_big", files["a"])  # 6 features
    finally:
        app.config["ADMIN_IMPORT_MAX_FEATURES"] = limit
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_many_features"
    assert staged(app) == before and "web_big" not in layer_ids(app.test_client())
