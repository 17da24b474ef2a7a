"""Role × endpoint matrix (issue 14): every route of the app, for an anonymous visitor, a
planner and an admin of the organisation that stored a check, and a planner of another
organisation, under the intranet setting ``AUTH_ANONYMOUS=view``.

The expected statuses are written out by hand below; a route of ``app.url_map`` without a
row fails :func:`test_every_route_has_a_row` (add the row when you add a route)."""

from __future__ import annotations

import pytest
from planmap.server import create_app

PASSWORD = "a long test password"
POINT = {"type": "Point", "coordinates": [122.84, 45.62]}  # 白城市区
WHO = ("anonymous", "planner", "admin", "other_org")

# (endpoint, method) -> expected status for anonymous, planner, admin, other organisation
MATRIX = {
    ("static", "GET"): (200, 200, 200, 200),
    ("system.health", "GET"): (200, 200, 200, 200),
    ("system.version", "GET"): (200, 200, 200, 200),
    ("system.settings_page", "GET"): (200, 200, 200, 200),
    ("auth.login", "GET"): (200, 200, 200, 200),
    ("auth.login_post", "POST"): (403, 403, 403, 403),  # no double-submit cookie: login CSRF
    ("auth.logout", "POST"): (303, 303, 303, 303),
    ("auth.me", "GET"): (200, 200, 200, 200),
    ("auth.tokens", "GET"): (401, 200, 200, 200),
    ("auth.token_create", "POST"): (401, 201, 201, 201),
    ("auth.token_revoke", "POST"): (401, 404, 404, 404),  # token 999999: nobody's
    ("auth.share", "POST"): (401, 201, 201, 404),
    ("auth.admin_users", "GET"): (401, 403, 200, 403),
    ("auth.admin_user_add", "POST"): (401, 403, 400, 403),  # empty form: 400 for the admin
    ("auth.admin_user_change", "POST"): (401, 403, 400, 403),  # unknown user
    ("auth.admin_audit", "GET"): (401, 403, 200, 403),
    ("auth.admin_audit_csv", "GET"): (401, 403, 200, 403),
    ("adminimport.import_page", "GET"): (401, 403, 200, 403),
    ("adminimport.import_preview", "POST"): (401, 403, 400, 403),  # no file: 400 for the admin
    ("adminimport.import_confirm", "POST"): (401, 403, 404, 403),  # no such staged upload
    ("adminimport.layers_page", "GET"): (401, 403, 200, 403),
    ("adminimport.layer_restore", "POST"): (401, 403, 404, 403),  # "admin" is no store layer
    ("pages.index", "GET"): (200, 200, 200, 200),
    ("pages.map_script", "GET"): (200, 200, 200, 200),
    ("pages.plan", "GET"): (200, 200, 200, 200),
    ("pages.report", "GET"): (401, 200, 200, 404),
    ("api.plan_list", "GET"): (200, 200, 200, 200),
    ("api.layer_list", "GET"): (200, 200, 200, 200),
    ("api.layer_features_view", "GET"): (200, 200, 200, 200),
    ("api.clauses", "GET"): (200, 200, 200, 200),
    ("api.zones_point", "GET"): (200, 200, 200, 200),
    ("api.zones_batch", "POST"): (401, 200, 200, 200),
    ("api.sitecheck_create", "POST"): (401, 201, 201, 201),
    ("api.sitecheck_get", "GET"): (401, 200, 200, 404),
    ("api.sitecheck_delete", "DELETE"): (401, 403, 403, 404),  # no delete token: 403
    ("api.openapi", "GET"): (200, 200, 200, 200),
    ("exports.download", "GET"): (401, 200, 200, 200),
    ("conflicts.api_conflicts", "GET"): (200, 200, 200, 200),
    ("conflicts.page_conflicts", "GET"): (200, 200, 200, 200),
    ("ogc.landing", "GET"): (200, 200, 200, 200),
    ("ogc.service_desc", "GET"): (200, 200, 200, 200),
    ("ogc.conformance", "GET"): (200, 200, 200, 200),
    ("ogc.collections", "GET"): (200, 200, 200, 200),
    ("ogc.collection", "GET"): (200, 200, 200, 200),
    ("ogc.items", "GET"): (200, 200, 200, 200),
    ("ogc.item", "GET"): (200, 200, 200, 200),
    ("ogc.queryables_view", "GET"): (200, 200, 200, 200),
    ("tiles.tile", "GET"): (404, 404, 404, 404),  # "admin" is small: inline, never tiled
    ("basemap.tile", "GET"): (200, 200, 200, 200),
    ("casefile.project_types", "GET"): (200, 200, 200, 200),
    ("casefile.report_pdf", "GET"): (401, 200, 200, 404),
    ("search.search_view", "GET"): (200, 200, 200, 200),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = create_app({"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db"),
                      "AUTH_ANONYMOUS": "view", "WORKERS": 0, "ARGON2_MEMORY_KIB": 1024,
                      "LOGIN_RATE_PER_MIN": 0})
    store = app.extensions["planmap_accounts"]
    store.add_user("planner", PASSWORD, "白城市自然资源局", "planner")
    store.add_user("admin", PASSWORD, "白城市自然资源局", "admin")
    store.add_user("other", PASSWORD, "洮南市自然资源局", "planner")
    return app


@pytest.fixture(scope="module")
def tokens(app):
    store = app.extensions["planmap_accounts"]
    return {"anonymous": None, "planner": store.new_token("planner")[1],
            "admin": store.new_token("admin")[1], "other_org": store.new_token("other")[1]}


@pytest.fixture(scope="module")
def stored_check(app, tokens):
    """A check stored by the planner: it belongs to 白城市自然资源局."""
    r = app.test_client().post("/api/v1/sitecheck", json=POINT,
                               headers={"Authorization": f"Bearer {tokens['planner']}"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _sample_args(app, check_id):
    data = app.extensions["planmap"].data
    from planmap.server.ogc import _build_collections

    cid, c = next(iter(_build_collections(data).items()))
    fid = str(data.layers[c.layer].index[c.rows[0]])
    return {"filename": "planmap.css", "lang": "zh", "seed": next(iter(data.plans)),
            "check_id": check_id, "layer_id": "admin", "name": "admin.geojson",
            "cid": cid, "fid": fid, "token_id": 999999, "username": "nobody",
            "stage_id": "A" * 32,
            "z": 8, "x": 215, "y": 91}  # a tile over Baicheng


def _request(client, rule, method, values, token):
    from werkzeug.routing import Map

    adapter = Map([rule.empty()]).bind("localhost")
    path = adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments},
                         method=method)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {}
    if rule.endpoint == "api.sitecheck_create":
        kwargs["json"] = POINT
    elif rule.endpoint == "api.zones_batch":
        kwargs.update(data="id,lon,lat\n1,122.84,45.62\n", content_type="text/csv")
    elif rule.endpoint == "pages.index":
        path = "/"
    elif rule.endpoint == "api.zones_point":
        path += "?lon=122.84&lat=45.62"
    return client.open(path, method=method, headers=headers, **kwargs)


def _rows(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_has_a_row(app):
    routes = {(rule.endpoint, method) for rule, method in _rows(app)}
    missing = sorted(routes - set(MATRIX))
    assert not missing, f"routes without an access row in MATRIX: {missing}"
    assert not sorted(set(MATRIX) - routes), "rows of routes that no longer exist"


def test_every_endpoint_has_an_access_policy(app):
    from planmap.server.auth import POLICY

    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints <= set(POLICY), sorted(endpoints - set(POLICY))


@pytest.mark.parametrize("who", WHO)
def test_matrix(app, tokens, stored_check, who):
    client = app.test_client()
    values = _sample_args(app, stored_check)
    column = WHO.index(who)
    wrong = []
    for rule, method in _rows(app):
        expected = MATRIX[(rule.endpoint, method)][column]
        got = _request(client, rule, method, values, tokens[who]).status_code
        if got != expected:
            wrong.append(f"{method} {rule.rule} ({rule.endpoint}): {got}, expected {expected}")
    assert not wrong, f"{who}:\n" + "\n".join(wrong)


def test_anonymous_401_asks_gis_clients_for_basic_auth(app):
    r = app.test_client().get("/export/admin.geojson")
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "login_required"
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    # the map page's own requests never make the browser pop a login dialog
    r = app.test_client().get("/export/admin.geojson", headers={"X-Requested-With": "planmap"})
    assert r.status_code == 401 and "WWW-Authenticate" not in r.headers


def test_a_browser_is_sent_to_the_login_page(app):
    r = app.test_client().get("/admin/users", headers={"Accept": "text/html"})
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/auth/login?next=/admin/users")


def test_default_settings_keep_anonymous_site_checks_and_exports(tmp_path):
    """AUTH_ANONYMOUS defaults to `check`: the README's serve command works as before."""
    from planmap.server import settings

    assert settings.DEFAULTS["AUTH_ANONYMOUS"] == "check"
    app = create_app({"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0,
                      "ARGON2_MEMORY_KIB": 1024})
    client = app.test_client()
    made = client.post("/api/v1/sitecheck", json=POINT)
    assert made.status_code == 201
    assert client.get(made.get_json()["report_url"]).status_code == 200
    assert client.get("/export/admin.geojson").status_code == 200
    assert client.get("/admin/audit").status_code == 401  # the admin pages never are open


def test_anonymous_none_allows_only_login_and_health(tmp_path):
    app = create_app({"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0,
                      "ARGON2_MEMORY_KIB": 1024, "AUTH_ANONYMOUS": "none"})
    client = app.test_client()
    assert client.get("/").status_code == 401
    assert client.get("/ogc/collections").status_code == 401
    assert client.get("/auth/login").status_code == 200
    assert client.get("/-/health").status_code == 200
