"""The check store is bounded and its failures never take planmap down (issue 22 item 7).

Quotas (``STORE_MAX_CHECKS``, ``STORE_MAX_BYTES``) and expiry (``STORE_MAX_AGE_DAYS``), the
delete route, and what a client and ``/-/health`` see when the store's disk is full, its
file system read-only, its file corrupt or deleted: writes get 503 ``store_unavailable``
with the reason, health says ``degraded``, and the map, layers, OGC API and exports serve.

A full disk is simulated without privileges by SQLite's ``max_page_count`` on the store's
connection (SQLite then fails exactly as on a full disk: ``SQLITE_FULL``); the tests that
need root mount a real tiny tmpfs and are skipped otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
from planmap.server import create_app
from planmap.server.store import CheckStore, StoreFull, StoreUnavailable

SITE = {"type": "Polygon", "coordinates": [[[122.80, 45.60], [122.81, 45.60], [122.81, 45.61],
                                            [122.80, 45.61], [122.80, 45.60]]]}


def _app(tmp_path, **config):
    return create_app({"DB_PATH": str(tmp_path / "checks.sqlite3"), "TESTING": True, **config})


def _post(client):
    return client.post("/api/v1/sitecheck", json={"geometry": SITE})


def _assert_store_503(response, code="store_unavailable", words=()):
    assert response.status_code == 503, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code
    assert response.headers["Retry-After"]
    for word in words:
        assert word in error["message_en"]
    assert "sqlite3" not in error["message_en"] and "/tmp" not in error["message_en"]  # no path


def _assert_rest_serves(client, with_map=False):
    """What does not need the store keeps answering."""
    urls = ["/api/v1/layers", "/api/v1/zones?lon=122.84&lat=45.62", "/ogc/collections",
            "/ogc/collections/admin/items?limit=2", "/export/admin.geojson", "/-/version"]
    if with_map:
        urls.append("/")
    for url in urls:
        assert client.get(url).status_code == 200, url


def _health(client):
    response = client.get("/-/health")
    assert response.status_code == 200
    return response.get_json()


# ------------------------------------------------------------------ quotas and expiry

def test_check_quota_refuses_new_checks_with_503_and_keeps_old_ones(tmp_path):
    client = _app(tmp_path, STORE_MAX_CHECKS=2).test_client()
    first, second = _post(client), _post(client)
    assert first.status_code == second.status_code == 201
    assert _health(client)["store"]["checks"] == 2
    _assert_store_503(_post(client), "store_quota_exceeded", ["STORE_MAX_CHECKS", "2"])
    # nothing answered 201 was evicted to make room
    for created in (first, second):
        assert client.get(created.get_json()["url"]).status_code == 200
    health = _health(client)
    assert health["status"] == "degraded"
    assert "quota" in health["store"]["problem"]
    _assert_rest_serves(client)


def test_a_full_store_refuses_before_computing_the_check(tmp_path, monkeypatch):
    """A flood past the quota must not still cost a site check (and a drawing) per POST."""
    import planmap.geo.sitecheck  # noqa: F401

    from planmap import geo

    client = _app(tmp_path, STORE_MAX_CHECKS=1).test_client()
    assert _post(client).status_code == 201
    calls = []
    real = geo.sitecheck.site_check
    monkeypatch.setattr(geo.sitecheck, "site_check",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    _assert_store_503(_post(client), "store_quota_exceeded")
    assert calls == []


def test_byte_quota_counts_result_site_and_report(check_store):
    store = check_store(max_bytes=10_000)
    store.save({"x": "a" * 4000}, None, report={"svg": "b" * 4000})
    assert 8000 < store.health()["bytes"] <= 8100
    with pytest.raises(StoreFull, match="STORE_MAX_BYTES"):
        store.save({"x": "a" * 1000}, None, report={"svg": "b" * 1000})
    store.save({"x": "small"}, None)  # what still fits is stored
    assert store.count() == 2


def test_totals_follow_inserts_and_deletes(check_store, tmp_path):
    store = check_store()
    ids = [store.save({"i": i}, None, delete_token=f"t{i}") for i in range(5)]
    store.delete(ids[0], "t0")
    store.set_report(ids[1], {"svg": "x" * 100})
    health = store.health()
    assert health["checks"] == store.count() == 4
    # the running total equals a recount of the rows
    recount = sum(len(json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode())
                  for i in ids[1:] for v in (store.get(i)["result"], store.get(i)["site"]))
    recount += len(json.dumps({"svg": "x" * 100}, separators=(",", ":")).encode())
    assert health["bytes"] == recount


def test_expired_checks_are_gone_and_free_the_quota(check_store):
    store = check_store(max_checks=2, max_age_s=0.3)
    old = [store.save({"i": i}, None) for i in range(2)]
    with pytest.raises(StoreFull):
        store.save({"i": 2}, None)
    with pytest.raises(StoreFull):
        store.ensure_room()
    time.sleep(0.4)
    with pytest.raises(Exception, match="expired"):
        store.get(old[0])
    store.ensure_room()  # purges the expired checks: room again
    with pytest.raises(Exception, match="no stored site check"):
        store.get(old[0])
    new = store.save({"i": 3}, None)  # a full store purges expired checks at once
    assert store.get(new)["result"] == {"i": 3}
    assert store.count() == 1


def test_expired_check_is_a_404_on_the_api_and_the_report(tmp_path):
    client = _app(tmp_path, STORE_MAX_AGE_DAYS=0.5 / 86400).test_client()
    created = _post(client).get_json()
    time.sleep(0.6)
    response = client.get(created["url"])
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "check_expired"
    assert client.get(created["report_url"]).status_code == 404


def test_purge_expired_deletes_in_batches(check_store, monkeypatch):
    from planmap.server import pgstate
    from planmap.server import store as store_mod

    monkeypatch.setattr(store_mod, "PURGE_BATCH", 7)
    monkeypatch.setattr(pgstate, "PURGE_BATCH", 7)
    store = check_store(max_age_s=0.2)
    for i in range(30):
        store.save({"i": i}, None)
    time.sleep(0.3)
    keep = store.save({"keep": 1}, None)
    assert store.purge_expired() == 30
    assert store.count() == 1 and store.get(keep)
    assert store.health()["checks"] == 1


# ------------------------------------------------------------------ delete

def test_delete_needs_the_token_given_at_creation(tmp_path):
    client = _app(tmp_path).test_client()
    created = _post(client).get_json()
    token, url = created["delete_token"], created["url"]
    assert len(token) >= 20 and token != created["id"]
    for headers in ({}, {"X-Delete-Token": "wrong"}, {"X-Delete-Token": created["id"]}):
        response = client.delete(url, headers=headers)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "invalid_delete_token"
    assert client.get(url).status_code == 200  # a refused delete deletes nothing
    assert client.delete(url, headers={"X-Delete-Token": token}).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get(created["report_url"]).status_code == 404
    again = client.delete(url, headers={"X-Delete-Token": token})
    assert again.status_code == 404
    assert again.get_json()["error"]["code"] == "check_not_found"
    assert client.delete("/api/v1/sitecheck/..%2Fx", headers={"X-Delete-Token": token}
                         ).status_code == 404


def test_a_check_stored_without_a_token_cannot_be_deleted(check_store):
    store = check_store()
    check_id = store.save({"a": 1}, None)
    with pytest.raises(Exception, match="delete_token"):
        store.delete(check_id, "anything")
    assert store.get(check_id)


# ------------------------------------------------------------------ failures

def test_full_disk_gives_503_health_degraded_and_the_rest_serves(tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    assert _post(client).status_code == 201
    store = app.extensions["planmap"].store
    conn = store._conn()  # the test client runs requests on this thread: its connection
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    big = {"type": "Polygon", "coordinates": [[[122.80 + i * 1e-5, 45.60] for i in range(400)]
                                              + [[122.81, 45.61], [122.80, 45.60]]]}
    response = client.post("/api/v1/sitecheck", json={"geometry": big})
    _assert_store_503(response, words=["full"])
    health = _health(client)
    assert health["status"] == "degraded"
    assert "full" in health["store"]["problem"]
    _assert_rest_serves(client, with_map=True)
    conn.execute("PRAGMA max_page_count = 1073741823")  # space freed: the next write heals
    assert client.post("/api/v1/sitecheck", json={"geometry": big}).status_code == 201
    assert _health(client)["status"] == "ok"


def test_read_only_store_gives_503_and_reads_still_work(tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    created = _post(client).get_json()
    conn = app.extensions["planmap"].store._conn()
    conn.execute("PRAGMA query_only = ON")  # SQLite refuses writes as on a read-only file
    _assert_store_503(_post(client), words=["read-only"])
    assert client.get(created["url"]).status_code == 200
    assert client.get(created["report_url"]).status_code == 200
    assert client.delete(created["url"], headers={"X-Delete-Token": created["delete_token"]}
                         ).status_code == 503
    assert _health(client)["status"] == "degraded"
    _assert_rest_serves(client)
    conn.execute("PRAGMA query_only = OFF")


def test_corrupt_store_file_does_not_stop_the_service(tmp_path):
    db = tmp_path / "checks.sqlite3"
    db.write_bytes(b"this is not a database, it is a broken file " * 200)
    app = _app(tmp_path)  # starts
    client = app.test_client()
    health = _health(client)
    assert health["status"] == "degraded"
    assert "corrupt" in health["store"]["problem"]
    _assert_store_503(_post(client), words=["corrupt"])
    _assert_store_503(client.get("/api/v1/sitecheck/abcdefabcdef"), words=["corrupt"])
    _assert_rest_serves(client, with_map=True)
    # the file is left for the operator to recover: never overwritten
    assert db.read_bytes().startswith(b"this is not a database")


def test_deleted_store_file_is_detected_not_silently_recreated(tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    created = _post(client).get_json()
    db = tmp_path / "checks.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{db}{suffix}"):
            os.remove(f"{db}{suffix}")
    health = _health(client)
    assert health["status"] == "degraded"
    assert "deleted" in health["store"]["problem"]
    _assert_store_503(_post(client), words=["deleted"])  # no 201 that a restart would lose
    assert client.get(created["url"]).status_code == 200  # this thread's handle still reads
    errors = []

    def other_thread():  # a new server thread must not recreate an empty file
        try:
            app.extensions["planmap"].store.get(created["id"])
        except StoreUnavailable as exc:
            errors.append(exc)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert errors and "deleted" in errors[0].message_en
    assert not db.exists()
    _assert_rest_serves(client)
    # a restart starts a new, empty store
    fresh = _app(tmp_path).test_client()
    assert _health(fresh)["status"] == "ok"
    assert _post(fresh).status_code == 201


# ------------------------------------------------------------------ a real small disk (root)

@pytest.fixture()
def tiny_tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)],
            capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_real_full_disk(tiny_tmpfs):
    app = create_app({"DB_PATH": str(tiny_tmpfs / "checks.sqlite3"), "TESTING": True})
    client = app.test_client()
    statuses = []
    for _ in range(300):
        statuses.append(_post(client).status_code)
        if statuses[-1] != 201:
            break
    assert statuses[0] == 201 and statuses[-1] == 503, statuses
    assert set(statuses) <= {201, 503}
    _assert_store_503(_post(client), words=["full"])
    health = _health(client)
    assert health["status"] == "degraded" and "full" in health["store"]["problem"]
    _assert_rest_serves(client)


def test_read_only_file_system_at_start(tiny_tmpfs):
    db = tiny_tmpfs / "checks.sqlite3"
    store = CheckStore(db)
    store.save({"a": 1}, None)
    store.close()
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    client = create_app({"DB_PATH": str(db), "TESTING": True}).test_client()  # starts
    health = _health(client)
    assert health["status"] == "degraded"
    assert "read-only" in health["store"]["problem"]
    _assert_store_503(_post(client), words=["read-only"])
    _assert_rest_serves(client)
