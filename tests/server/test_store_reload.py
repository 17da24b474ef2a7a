"""A new active version in the layer store reaches a running app (GeoPackage and PostGIS),
and while a version builds the requests leave the build its share of the GIL."""

from __future__ import annotations

import threading
import time

import geopandas as gpd
import pyogrio
import pytest
import shapely
from planmap.layers.store import open_store
from planmap.layers.storeimport import import_to_store
from planmap.server import create_app

CIT = ("000_f32aaef515cfbb76", 849, "严格执行生态保护红线管理办法")


def _file(path, tag, lat=45.05):
    # inside the mini data's county 220802 (tests/conftest.py)
    geoms = [shapely.box(122.05 + i * 0.002, lat, 122.051 + i * 0.002, lat + 0.001)
             for i in range(3)]
    frame = gpd.GeoDataFrame({
        "id": [f"bureau_parcel_{i}" for i in range(3)], "dlmc": [tag] * 3,
        "citation_seed": [CIT[0]] * 3, "citation_line": [CIT[1]] * 3,
        "citation_quote": [CIT[2]] * 3}, geometry=geoms, crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path)
    return path


@pytest.fixture(params=["gpkg", "postgis"])
def where(request, tmp_path, mini_data_dir):
    """(app settings naming the store, the store) per backend."""
    config = {"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0, "DATA_CHECK_S": 0.2,
              "DATA_DIR": str(mini_data_dir)}
    if request.param == "gpkg":
        (tmp_path / "store").mkdir()
        yield {**config, "HOME": str(tmp_path)}, open_store(tmp_path / "store")
        return
    from tests import pgcluster

    for url in pgcluster.fresh_database(request.getfixturevalue("pg_url"), postgis=True):
        yield {**config, "DATABASE_URL": url}, open_store(url)


def _dlmc(client):
    response = client.get("/api/v1/layers/bureau_parcels")
    if response.status_code != 200:
        return None
    return {f["properties"]["dlmc"] for f in response.get_json()["features"]}


def _hits(client, lat):
    zones = client.get(f"/api/v1/zones?lon=122.0505&lat={lat}").get_json()["zones"]
    return [z["id"] for z in zones if z["layer"] == "bureau_parcels"]


def test_an_import_into_the_store_is_served_without_restart(where, tmp_path):
    config, store = where
    import_to_store(_file(tmp_path / "a.gpkg", "旱地"), "bureau_parcels", store)
    client = create_app(config).test_client()
    assert _dlmc(client) == {"旱地"}
    version = client.get("/-/version").get_json()["data_version"]
    # another process (the CLI, another machine) activates a new version in the store
    assert _hits(client, 45.0605) == []
    import_to_store(_file(tmp_path / "b.gpkg", "水田", lat=45.06), "bureau_parcels", open_store(
        config.get("DATABASE_URL") or tmp_path / "store"))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _dlmc(client) != {"水田"}:
        time.sleep(0.1)
    assert _dlmc(client) == {"水田"}
    # the zone index is the new version's too (not a cached index of the old one)
    assert _hits(client, 45.0605) == ["bureau_parcel_0"]
    assert _hits(client, 45.0505) == []
    assert client.get("/-/version").get_json()["data_version"] != version
    store.restore_previous("bureau_parcels")  # a restore is a new active version too
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _dlmc(client) != {"旱地"}:
        time.sleep(0.1)
    assert _dlmc(client) == {"旱地"}
    assert _hits(client, 45.0505) == ["bureau_parcel_0"]


def test_an_unreachable_store_is_not_a_new_version(tmp_path, mini_data_dir, monkeypatch):
    (tmp_path / "store").mkdir()
    store = open_store(tmp_path / "store")
    import_to_store(_file(tmp_path / "a.gpkg", "旱地"), "bureau_parcels", store)
    app = create_app({"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0, "DATA_CHECK_S": 0.05,
                      "HOME": str(tmp_path), "DATA_DIR": str(mini_data_dir)})
    watch = app.extensions["planmap_reload"]
    before = watch.signature()
    assert "bureau_parcels=" in before[-1][0]  # the store's version is part of it

    def down():
        raise OSError("database unreachable")

    monkeypatch.setattr(watch.store(), "token", down)
    assert watch.signature() == before  # the last token is kept: no reload, no lost layers


def _concurrency(app, n_clients: int) -> int:
    """Most requests inside the app at once when ``n_clients`` ask together."""
    state = {"now": 0, "most": 0}
    lock = threading.Lock()
    start = threading.Barrier(n_clients)

    def client():
        start.wait()
        assert app.test_client().get("/-/version").status_code == 200

    threads = [threading.Thread(target=client) for _ in range(n_clients)]
    app.config["_probe"] = (state, lock)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return state["most"]


def _probed_app(tmp_path, data_dir, slots, wait_s=60.0):
    app = create_app({"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0, "DATA_CHECK_S": 3600,
                      "RELOAD_REQUEST_SLOTS": slots, "RELOAD_WAIT_S": wait_s,
                      "DATA_DIR": str(data_dir)})

    @app.before_request
    def enter():  # registered after the reload hook: counts the requests it let in
        state, lock = app.config["_probe"]
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.5)

    @app.teardown_request
    def leave(_exc=None):
        state, lock = app.config["_probe"]
        with lock:
            state["now"] -= 1

    return app


def test_while_a_version_builds_requests_take_turns(tmp_path, mini_data_dir):
    app = _probed_app(tmp_path, mini_data_dir, 1)
    assert _concurrency(app, 4) > 1  # normally they run at once
    app.extensions["planmap_reload"].building = True  # a new version is being built
    assert _concurrency(app, 4) == 1  # every request answered, one at a time
    app.extensions["planmap_reload"].building = False
    assert _concurrency(app, 4) > 1


def test_a_stuck_build_holds_a_request_at_most_reload_wait_s(tmp_path, mini_data_dir):
    # the CI failure this guards against: a reload waiting on another process's lock kept
    # every request in the gate until its client timed out
    app = create_app({"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0, "DATA_CHECK_S": 3600,
                      "RELOAD_REQUEST_SLOTS": 1, "RELOAD_WAIT_S": 0.5,
                      "REQUEST_TIME_LIMIT_S": 120, "DATA_DIR": str(mini_data_dir)})
    watch = app.extensions["planmap_reload"]
    watch.building = True  # a build that never ends
    assert watch.gate.acquire(timeout=1)  # and a request holding the one slot
    try:
        started = time.monotonic()
        response = app.test_client().get("/api/v1/zones?lon=122.2&lat=45.2")
        waited = time.monotonic() - started
    finally:
        watch.gate.release()
        watch.building = False
    assert response.status_code == 200
    assert 0.5 <= waited < 30  # RELOAD_WAIT_S, not REQUEST_TIME_LIMIT_S (120 s)


def test_no_slots_means_no_gate(tmp_path, mini_data_dir):
    app = _probed_app(tmp_path, mini_data_dir, 0)
    app.extensions["planmap_reload"].building = True
    assert _concurrency(app, 4) > 1
