"""A pathological site cannot hold a worker thread: complex sites run under a time limit."""

import math
import time

import numpy as np
import pytest
from planmap.geo import crs
from planmap.server import create_app, workers


def _ring(n, radius):
    cx, cy = crs.from_wgs84(np.array([122.84]), np.array([45.62]), "EPSG:4550")
    ang = np.linspace(0, 2 * math.pi, n, endpoint=False)
    lon, lat = crs.to_wgs84(cx[0] + radius(ang) * np.cos(ang), cy[0] + radius(ang) * np.sin(ang),
                            "EPSG:4550")
    coords = np.c_[lon, lat].round(7).tolist()
    return {"type": "Polygon", "coordinates": [coords + coords[:1]]}


def _star(n):  # valid, but its spikes all cross the same zones: slow GEOS overlays
    return _ring(n, lambda a: np.where(np.arange(len(a)) % 2 == 0, 20_000.0, 500.0))


def _circle(n):  # as many vertices, smooth: fast
    return _ring(n, lambda a: np.full(len(a), 1500.0))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app({"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db"),
                      "REQUEST_TIME_LIMIT_S": 1.5})
    workers.pool(app).wait_ready()  # the limit counts the check, not the workers' start-up
    return app.test_client()


def test_pathological_site_is_refused_at_the_time_limit(client):
    started = time.perf_counter()
    response = client.post("/api/v1/sitecheck", json={"geometry": _star(4000)})
    assert time.perf_counter() - started < 10
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "time_limit_exceeded" and error["param"] == "REQUEST_TIME_LIMIT_S"
    assert client.get("/-/health").status_code == 200


def test_complex_but_ordinary_site_is_checked_in_the_worker_like_in_process(client, tmp_path):
    site = _circle(2000)
    worker = client.post("/api/v1/sitecheck", json={"geometry": site})
    assert worker.status_code == 201
    inline_app = create_app({"DB_PATH": str(tmp_path / "i.db"), "COMPLEX_SITE_VERTICES": 10**9})
    inline = inline_app.test_client().post("/api/v1/sitecheck", json={"geometry": site})
    a, b = worker.get_json(), inline.get_json()
    assert a["site"] == b["site"] and a["verdict"] == b["verdict"]
    assert {z["id"]: z["overlap_m2"] for z in a["zones"]} == \
        {z["id"]: z["overlap_m2"] for z in b["zones"]}
