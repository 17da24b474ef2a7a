"""Accounts (issue 14): CSRF, session fixation, lock-out, rate limit, API tokens, a layer
restricted to planners, stored checks per organisation and share links, the audit log."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from planmap.server import create_app

PASSWORD = "a long test password"
ORG = "白城市自然资源局"
RESTRICTED = "ecology"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def app(request, tmp_path_factory):
    """The same app on both accounts backends: SQLite file, PostgreSQL (DATABASE_URL)."""
    config = {"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db"), "WORKERS": 0,
              "ARGON2_MEMORY_KIB": 1024, "RESTRICTED_LAYERS": RESTRICTED,
              "LOGIN_MAX_FAILURES": 3, "LOGIN_LOCKOUT_S": 2, "LOGIN_RATE_PER_MIN": 0}
    if request.param == "postgres":
        from tests import pgcluster

        fresh = pgcluster.fresh_database(request.getfixturevalue("pg_url"), postgis=True)
        config["DATABASE_URL"] = next(fresh)
        request.addfinalizer(lambda: next(fresh, None))
    app = create_app(config)
    store = app.extensions["planmap_accounts"]
    store.add_user("planner", PASSWORD, ORG, "planner", "张规划")
    store.add_user("admin", PASSWORD, ORG, "admin")
    store.add_user("other", PASSWORD, "洮南市自然资源局", "planner")
    return app


@pytest.fixture(scope="module")
def store(app):
    return app.extensions["planmap_accounts"]


def login(client, username, password=PASSWORD):
    client.get("/auth/login")
    csrf = client.get_cookie("planmap_csrf").value
    return client.post("/auth/login", data={"username": username, "password": password,
                                            "csrf_token": csrf, "next": "/"})


def csrf_of(client) -> str:
    return client.get_cookie("planmap_csrf").value


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def basic(user, password):
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def inside_restricted(app):
    """A point inside a feature of the restricted layer (from the loaded data)."""
    gdf = app.extensions["planmap"].data.layers[RESTRICTED]
    geom = gdf.geometry.iloc[int(gdf.geometry.area.argmin())]
    p = geom.representative_point()
    return {"type": "Point", "coordinates": [p.x, p.y]}


# ---------------------------------------------------------------------- login, sessions

def test_login_page_in_both_languages(app):
    client = app.test_client()
    zh = client.get("/auth/login").get_data(as_text=True)
    en = client.get("/auth/login?lang=en").get_data(as_text=True)
    assert "用户名" in zh and "密码" in zh
    assert "User name" in en and "Password" in en
    assert 'name="csrf_token"' in zh


def test_login_sets_safe_cookies_and_me_names_the_user(app):
    client = app.test_client()
    r = login(client, "planner")
    assert r.status_code == 303 and r.headers["Location"] == "/"
    cookies = r.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("planmap_session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    assert "Secure" not in session  # SESSION_COOKIE_SECURE is off by default (plain http)
    me = client.get("/auth/me").get_json()
    assert me["user"] == {"username": "planner", "display": "张规划", "org": ORG,
                          "role": "planner"}


def test_secure_cookie_setting(tmp_path):
    app = create_app({"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0,
                      "ARGON2_MEMORY_KIB": 1024, "SESSION_COOKIE_SECURE": True})
    app.extensions["planmap_accounts"].add_user("u", PASSWORD, ORG)
    r = login(app.test_client(), "u")
    assert all("Secure" in c for c in r.headers.getlist("Set-Cookie"))


def test_session_fixation_a_planted_or_old_session_id_is_never_kept(app):
    victim = app.test_client()
    victim.set_cookie("planmap_session", "attacker-chosen-session-id")
    login(victim, "planner")
    sid = victim.get_cookie("planmap_session").value
    assert sid != "attacker-chosen-session-id"
    # a session id known before a login (here: the planner's) stops working after it
    attacker = app.test_client()
    attacker.set_cookie("planmap_session", sid)
    assert attacker.get("/auth/me").get_json()["user"]["username"] == "planner"
    login(victim, "admin")
    assert victim.get_cookie("planmap_session").value != sid
    assert attacker.get("/auth/me").get_json()["user"] is None


def test_logout_ends_the_session_on_the_server(app):
    client = app.test_client()
    login(client, "planner")
    sid = client.get_cookie("planmap_session").value
    r = client.post("/auth/logout", data={"csrf_token": csrf_of(client)})
    assert r.status_code == 303
    replay = app.test_client()
    replay.set_cookie("planmap_session", sid)
    assert replay.get("/auth/me").get_json()["user"] is None


# ---------------------------------------------------------------------- CSRF

def test_csrf_cookie_session_requests_need_the_token(app):
    client = app.test_client()
    login(client, "planner")
    point = {"type": "Point", "coordinates": [122.84, 45.62]}
    r = client.post("/api/v1/sitecheck", json=point)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
    r = client.post("/api/v1/sitecheck", json=point, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = client.post("/api/v1/sitecheck", json=point, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 201
    # a form without its token (a cross-site form post) changes nothing
    r = client.post("/auth/tokens", data={"name": "x"})
    assert r.status_code == 403
    assert client.post("/auth/logout").status_code == 403


def test_login_form_needs_its_double_submit_token(app):
    client = app.test_client()
    client.get("/auth/login")
    r = client.post("/auth/login", data={"username": "planner", "password": PASSWORD,
                                         "csrf_token": "guessed"})
    assert r.status_code == 403
    assert client.get_cookie("planmap_session") is None


def test_admin_forms_need_csrf(app, store):
    client = app.test_client()
    login(client, "admin")
    form = {"username": "mallory", "password": PASSWORD, "org": ORG, "role": "admin"}
    assert client.post("/admin/users", data=form).status_code == 403
    assert store.user("mallory") is None


# ---------------------------------------------------------------------- lock-out, rate

def test_brute_force_locks_the_account_then_it_opens_again(app, store):
    store.add_user("victim", PASSWORD, ORG)
    client = app.test_client()
    for _ in range(3):
        assert login(client, "victim", "wrong password!").status_code == 401
    assert store.user("victim")["locked_until"] > time.time()  # the 3rd locked it
    # locked: even the right password is refused, form and basic auth alike
    assert login(client, "victim").status_code == 401
    assert app.test_client().get("/auth/tokens",
                                 headers=basic("victim", PASSWORD)).status_code == 401
    time.sleep(2.2)  # LOGIN_LOCKOUT_S = 2
    assert login(client, "victim").status_code == 303


def _login_answer(app, name, password):
    """What a client learns from a form login and a basic-auth request: status + text."""
    import re

    page = login(app.test_client(), name, password)
    alert = re.search(r'role="alert">([^<]*)<', page.get_data(as_text=True))
    api = app.test_client().get("/auth/tokens", headers=basic(name, password))
    return (page.status_code, alert.group(1) if alert else None, api.status_code,
            api.get_json()["error"])


def test_locked_unknown_and_wrong_password_answer_alike(app, store):
    """A client cannot tell a locked account or an existing name from an unknown one; the
    lock-out still holds and the audit log keeps what really happened."""
    store.add_user("lockme", PASSWORD, ORG)
    for _ in range(3):
        login(app.test_client(), "lockme", "wrong password!")
    assert store.user("lockme")["locked_until"] > time.time()
    locked = _login_answer(app, "lockme", PASSWORD)  # the right password, but locked
    store.add_user("someone", PASSWORD, ORG)
    wrong = _login_answer(app, "someone", "wrong password!")
    unknown = _login_answer(app, "no_such_user", "wrong password!")
    assert locked == wrong == unknown
    assert locked[0] == 401 and locked[2] == 401 and locked[1]
    assert store.user("lockme")["locked_until"] > time.time()  # still locked
    results = {(r["username"], r["result"]) for r in store.audit_rows(limit=50, action="login")}
    assert ("lockme", "locked") in results and ("no_such_user", "bad") in results


def test_basic_auth_failures_count_towards_the_lockout(app, store):
    store.add_user("victim2", PASSWORD, ORG)
    client = app.test_client()
    for _ in range(3):
        client.get("/auth/tokens", headers=basic("victim2", "nope nope nope"))
    assert store.user("victim2")["locked_until"] > time.time()


def test_login_rate_limit_per_address(app):
    window = app.extensions["planmap_login_rate"]
    window.per_minute = 3
    try:
        client = app.test_client()
        statuses = [login(client, "nobody", "wrong password!").status_code for _ in range(4)]
    finally:
        window.per_minute = 0
        window.hits.clear()
    assert statuses == [401, 401, 401, 429]


# ---------------------------------------------------------------------- tokens

def test_token_works_as_bearer_and_basic_until_revoked(app, store):
    token_id, token = store.new_token("planner", "qgis")
    client = app.test_client()
    assert client.get("/auth/me", headers=bearer(token)).get_json()["user"]["username"] \
        == "planner"
    assert client.get("/auth/me", headers=basic("anything", token)).get_json()["via"] == \
        "token"
    # revoke it from the web page (a session, with its CSRF token)
    web = app.test_client()
    login(web, "planner")
    r = web.post(f"/auth/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(web)})
    assert r.status_code == 303
    r = client.get(f"/api/v1/layers/{RESTRICTED}", headers=bearer(token))
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_token"
    assert client.get("/auth/me", headers=basic("x", token)).status_code == 401


def _raw(app, store):
    """A connection to the accounts store beside planmap's own (SQLite file or PostgreSQL)."""
    url = app.config.get("DATABASE_URL")
    if not url:
        return sqlite3.connect(store.path, isolation_level=None), sqlite3.DatabaseError
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET search_path TO planmap_auth")
    return conn, psycopg.Error


def test_tokens_are_stored_hashed(app, store):
    _, token = store.new_token("planner")
    if not app.config.get("DATABASE_URL"):
        with open(store.path, "rb") as f:
            assert token.encode() not in f.read()
    db, _ = _raw(app, store)
    try:
        assert token not in json.dumps(db.execute("SELECT * FROM api_tokens").fetchall())
        assert len(db.execute("SELECT * FROM api_tokens").fetchall()) >= 1
        hashes = [r[0] for r in db.execute("SELECT password_hash FROM users")]
        assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    finally:
        db.close()


def test_a_planner_cannot_revoke_anothers_token(app, store):
    token_id, token = store.new_token("admin")
    web = app.test_client()
    login(web, "other")
    assert web.post(f"/auth/tokens/{token_id}/revoke",
                    data={"csrf_token": csrf_of(web)}).status_code == 404
    assert app.test_client().get("/auth/me", headers=bearer(token)).get_json()["user"]


def test_disabling_a_user_stops_its_token_and_session(app, store):
    store.add_user("leaver", PASSWORD, ORG)
    _, token = store.new_token("leaver")
    web = app.test_client()
    login(web, "leaver")
    admin = app.test_client()
    login(admin, "admin")
    r = admin.post("/admin/users/leaver", data={"change": "disable",
                                                "csrf_token": csrf_of(admin)})
    assert r.status_code == 303
    assert app.test_client().get("/auth/tokens", headers=bearer(token)).status_code == 401
    assert web.get("/auth/me").get_json()["user"] is None
    assert login(app.test_client(), "leaver").status_code == 403


def test_the_last_admin_cannot_be_disabled_from_the_web(app):
    admin = app.test_client()
    login(admin, "admin")
    r = admin.post("/admin/users/admin", data={"change": "disable",
                                               "csrf_token": csrf_of(admin)})
    assert r.status_code == 400


def test_admin_adds_a_user_from_the_web(app, store):
    admin = app.test_client()
    login(admin, "admin")
    r = admin.post("/admin/users", data={"username": "newbie", "password": PASSWORD,
                                         "org": ORG, "role": "planner",
                                         "csrf_token": csrf_of(admin)})
    assert r.status_code == 303
    assert store.user("newbie")["role"] == "planner"
    assert login(app.test_client(), "newbie").status_code == 303
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "newbie" in page


# ---------------------------------------------------------------------- restricted layer

@pytest.fixture(scope="module")
def planner_token(store):
    return store.new_token("planner", "tests")[1]


def test_restricted_layer_absent_from_layer_lists_and_ogc(app, planner_token):
    anon, planner = app.test_client(), app.test_client()
    h = bearer(planner_token)
    ids = [e["id"] for e in anon.get("/api/v1/layers").get_json()["layers"]]
    assert RESTRICTED not in ids and "admin" in ids
    assert RESTRICTED in [e["id"] for e in
                          planner.get("/api/v1/layers", headers=h).get_json()["layers"]]
    assert anon.get(f"/api/v1/layers/{RESTRICTED}").status_code == 404
    assert planner.get(f"/api/v1/layers/{RESTRICTED}", headers=h).status_code == 200
    anon_c = [c["id"] for c in anon.get("/ogc/collections").get_json()["collections"]]
    assert RESTRICTED not in anon_c and "admin" in anon_c
    assert RESTRICTED in [c["id"] for c in planner.get(
        "/ogc/collections", headers=h).get_json()["collections"]]
    assert anon.get(f"/ogc/collections/{RESTRICTED}").status_code == 404
    assert anon.get(f"/ogc/collections/{RESTRICTED}/items").status_code == 404
    r = planner.get(f"/ogc/collections/{RESTRICTED}/items", headers=h)
    assert r.status_code == 200 and r.get_json()["features"]


def test_restricted_layer_absent_from_exports(app, planner_token):
    anon = app.test_client()
    assert anon.get(f"/export/{RESTRICTED}.geojson").status_code == 404
    everything = anon.get("/export/all.geojson").get_json()
    layers_seen = {f["properties"]["layer"] for f in everything["features"]}
    assert RESTRICTED not in layers_seen and "admin" in layers_seen
    full = app.test_client().get("/export/all.geojson", headers=bearer(planner_token))
    assert RESTRICTED in {f["properties"]["layer"] for f in full.get_json()["features"]}


def test_restricted_layer_absent_from_the_map_page_and_its_search(app, planner_token):
    data = app.extensions["planmap"].data
    fid = f'"{data.layers[RESTRICTED].index[0]}"'  # feature ids are ASCII in the script
    anon_page = app.test_client().get("/").get_data(as_text=True)
    anon_js = app.test_client().get("/map/zh.js").get_data(as_text=True)
    assert fid not in anon_js and fid not in anon_page  # search runs over the page's data
    assert '"admin_220800"' in anon_js or data.layers["admin"].index[0] in anon_js
    planner_js = app.test_client().get("/map/zh.js", headers=bearer(planner_token))
    assert fid in planner_js.get_data(as_text=True)


def test_restricted_layer_absent_from_zone_answers_and_site_checks(app, planner_token):
    point = inside_restricted(app)
    lon, lat = point["coordinates"]
    h = bearer(planner_token)

    def layers_of(body):
        return {z["layer"] for z in body["zones"]} | {z["layer"] for z in body["nearest"]}

    planner_q = app.test_client().get(f"/api/v1/zones?lon={lon}&lat={lat}", headers=h)
    assert RESTRICTED in layers_of(planner_q.get_json())
    anon_q = app.test_client().get(f"/api/v1/zones?lon={lon}&lat={lat}").get_json()
    assert RESTRICTED not in layers_of(anon_q)
    planner_c = app.test_client().post("/api/v1/sitecheck", json=point, headers=h).get_json()
    assert RESTRICTED in layers_of(planner_c)
    anon_c = app.test_client().post("/api/v1/sitecheck", json=point).get_json()
    assert RESTRICTED not in layers_of(anon_c)
    assert f'"layer":"{RESTRICTED}"' not in json.dumps(anon_c, separators=(",", ":"))
    stored = app.test_client().get(anon_c["url"]).get_json()
    assert RESTRICTED not in layers_of(stored)
    csv_body = f"id,lon,lat\n1,{lon!r},{lat!r}\n"
    batch = app.test_client().post("/api/v1/zones", data=csv_body, content_type="text/csv",
                                   headers={"Accept": "text/csv"})
    assert batch.status_code == 200 and f",{RESTRICTED}" not in batch.get_data(as_text=True)


def test_visibility_functions_for_other_blueprints(app, planner_token):
    from planmap.server.visibility import hidden_layers, layer_visible

    with app.test_request_context("/tiles/ecology/1/1/1.mvt"):
        app.preprocess_request()
        assert not layer_visible(RESTRICTED) and layer_visible("admin")
        assert hidden_layers() == {RESTRICTED}
    with app.test_request_context("/tiles/x", headers=bearer(planner_token)):
        app.preprocess_request()
        assert layer_visible(RESTRICTED)


# ---------------------------------------------------------------------- stored checks

POINT = {"type": "Point", "coordinates": [122.84, 45.62]}


def test_stored_check_belongs_to_its_organisation_and_can_be_shared(app, store):
    _, token = store.new_token("planner")
    made = app.test_client().post("/api/v1/sitecheck", json=POINT, headers=bearer(token))
    check_id = made.get_json()["id"]
    assert len(check_id) >= 12  # 72 random bits (server/store.py)
    assert store.check_owner(check_id) == {"org": ORG, "username": "planner"}
    other = app.test_client()
    login(other, "other")
    assert other.get(f"/report/{check_id}").status_code == 404
    assert other.get(f"/api/v1/sitecheck/{check_id}").status_code == 404
    assert app.test_client().get(f"/api/v1/sitecheck/{check_id}").status_code == 404
    colleague = app.test_client()
    login(colleague, "admin")  # same organisation
    assert colleague.get(f"/report/{check_id}").status_code == 200
    shared = app.test_client().post(f"/auth/share/{check_id}", headers=bearer(token))
    assert shared.status_code == 201
    link = shared.get_json()["url"]
    anon = app.test_client()
    assert anon.get(link).status_code == 200
    assert anon.get(shared.get_json()["api_url"]).status_code == 200
    # read-only: the link does not delete
    assert anon.delete(shared.get_json()["api_url"]).status_code == 404
    # another organisation cannot share it
    assert other.post(f"/auth/share/{check_id}",
                      headers={"X-CSRF-Token": csrf_of(other)}).status_code == 404


def test_share_link_expires(app, store):
    _, token = store.new_token("planner")
    check_id = app.test_client().post("/api/v1/sitecheck", json=POINT,
                                      headers=bearer(token)).get_json()["id"]
    app.config["SHARE_LINK_DAYS"] = 1.5 / 86400  # 1.5 seconds
    try:
        link = app.test_client().post(f"/auth/share/{check_id}",
                                      headers=bearer(token)).get_json()["url"]
    finally:
        app.config["SHARE_LINK_DAYS"] = 7
    assert app.test_client().get(link).status_code == 200
    time.sleep(1.7)
    assert app.test_client().get(link).status_code == 404


# ---------------------------------------------------------------------- audit

def test_audit_records_checks_views_exports_logins_and_changes(app, store):
    client = app.test_client()
    login(client, "planner", "not the password")
    login(client, "planner")
    h = {"X-CSRF-Token": csrf_of(client)}
    check_id = client.post("/api/v1/sitecheck", json=POINT, headers=h).get_json()["id"]
    client.get(f"/report/{check_id}")
    client.get("/export/admin.csv")
    rows = store.audit_rows(user="planner", limit=10)
    got = [(r["action"], r["target"], r["result"]) for r in reversed(rows)][-5:]
    assert got == [("login", "form", "bad"), ("login", "form", "ok"),
                   ("sitecheck", check_id, "ok"), ("report_view", check_id, "ok"),
                   ("export", "admin.csv", "ok")]
    last = rows[0]
    assert last["client"] == "127.0.0.1" and last["org"] == ORG
    assert last["data_version"] == app.extensions["planmap"].data.data_version


def test_audit_log_is_append_only(app, store):
    store.audit("planner", ORG, "sitecheck", "x", "v", "127.0.0.1", "ok", 201)
    before = store.audit_rows(limit=0)
    db, error = _raw(app, store)
    try:
        with pytest.raises(error, match="append-only"):
            db.execute("UPDATE audit SET result = 'ok'")
        with pytest.raises(error, match="append-only"):
            db.execute("DELETE FROM audit")
        if app.config.get("DATABASE_URL"):
            with pytest.raises(error, match="append-only"):
                db.execute("TRUNCATE audit")
    finally:
        db.close()
    assert store.audit_rows(limit=0) == before


def test_audit_page_filters_and_csv(app):
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/admin/audit?action=login").get_data(as_text=True)
    assert 'data-action="login"' in page and 'data-action="sitecheck"' not in page
    assert "北京" in page and "UTC" in page
    r = admin.get("/admin/audit.csv?action=login")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    lines = r.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,time_beijing,time_utc,user")
    assert len(lines) > 1 and all(",login," in ln for ln in lines[1:])


def test_audit_row_survives_kill_9(tmp_path):
    """A row is committed with synchronous=FULL before audit() returns: a process killed
    right after it (SIGKILL, no clean-up) leaves it in the file."""
    path = tmp_path / "a.db"
    code = (
        "import os, signal, sys\n"
        "from planmap.server.accounts import AccountStore\n"
        f"s = AccountStore({str(path)!r}, argon2_memory_kib=1024)\n"
        "s.audit('planner', 'org', 'sitecheck', 'abc', 'v1', '127.0.0.1', 'ok', 201)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=os.getcwd(), timeout=120)
    assert proc.returncode == -9
    from planmap.server.accounts import AccountStore

    rows = AccountStore(path, argon2_memory_kib=1024).audit_rows()
    assert [(r["username"], r["action"], r["target"]) for r in rows] == \
        [("planner", "sitecheck", "abc")]
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


# ---------------------------------------------------------------------- command line

def test_cli_user_add_list_disable_and_token(tmp_path, monkeypatch, capsys):
    from planmap.server.accounts import AccountStore, accounts_path
    from planmap.server.cli import main

    db = tmp_path / "cli.db"
    monkeypatch.setenv("PLANMAP_DB_PATH", str(db))
    monkeypatch.setenv("PLANMAP_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("PLANMAP_NEW_PASSWORD", PASSWORD)
    assert main(["user", "add", "chief", "--org", ORG, "--role", "admin"]) == 0
    assert main(["user", "add", "chief", "--org", ORG]) == 2  # exists already
    assert main(["user", "list"]) == 0
    assert "chief\tadmin\t" + ORG + "\tactive" in capsys.readouterr().out
    assert main(["token", "add", "chief", "--name", "qgis"]) == 0
    token = capsys.readouterr().out.strip()
    store = AccountStore(accounts_path("", str(db)), argon2_memory_kib=1024)  # beside DB_PATH
    assert store.token_user(token)["username"] == "chief"
    assert main(["user", "disable", "chief"]) == 0
    assert store.token_user(token) is None
    actions = [r["action"] for r in store.audit_rows()]
    assert actions.count("permission_change") == 2 and "token_create" in actions


def test_cli_import_and_restore_are_audited(tmp_path, monkeypatch, tmp_data_dir):
    from planmap.server.accounts import AccountStore, accounts_path
    from planmap.server.cli import main

    db = tmp_path / "cli.db"
    monkeypatch.setenv("PLANMAP_DB_PATH", str(db))
    monkeypatch.setenv("PLANMAP_ARGON2_MEMORY_KIB", "1024")
    assert main(["import", "--restore", "--layer", "ecology",
                 "--data-dir", str(tmp_data_dir)]) == 2  # no previous version
    row = AccountStore(accounts_path("", str(db)), argon2_memory_kib=1024).audit_rows()[0]
    assert (row["action"], row["target"], row["result"], row["detail"]) == \
        ("restore", "ecology", "refused", "no_previous_version")
    assert row["username"].startswith("cli:")


def test_restricted_layer_absent_from_the_search_api(app, planner_token):
    # the planner asks first: the index the planner's answer was built from must not serve
    # the anonymous visitor
    data = app.extensions["planmap"].data
    name = str(data.layers[RESTRICTED].iloc[0]["name_zh"])
    fid = str(data.layers[RESTRICTED].index[0])

    def ids(client, **kw):
        body = client.get("/api/v1/search", query_string={"q": name, "limit": 50}, **kw)
        assert body.status_code == 200
        return {r.get("id") for r in body.get_json()["results"]}

    assert fid in ids(app.test_client(), headers=bearer(planner_token))
    assert fid not in ids(app.test_client())
