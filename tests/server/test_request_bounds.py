"""Request bounds: output limits refuse before the work, expensive requests have slots,
clients have rate limits, and every site check (however few vertices) has the time limit."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
from planmap.geo import crs
from planmap.server import create_app, workers

from tests.reliability.support import assert_error

SPOT = (122.835, 45.615)  # main city: covered by several zones


def _csv(n: int, spot=SPOT, prefix: str = "p") -> bytes:
    rows = "".join(f"{prefix}{i},{spot[0]},{spot[1]}\n" for i in range(n))
    return ("id,lon,lat\n" + rows).encode()


def _star(n: int) -> dict:
    cx, cy = crs.from_wgs84(np.array([122.84]), np.array([45.62]), "EPSG:4550")
    ang = np.linspace(0, 2 * math.pi, n, endpoint=False)
    r = np.where(np.arange(n) % 2 == 0, 20_000.0, 500.0)
    lon, lat = crs.to_wgs84(cx[0] + r * np.cos(ang), cy[0] + r * np.sin(ang), "EPSG:4550")
    coords = np.c_[lon, lat].round(7).tolist()
    return {"type": "Polygon", "coordinates": [coords + coords[:1]]}


def _app(tmp_path, **config):
    return create_app({"DB_PATH": str(tmp_path / "c.db"), **config})


@pytest.fixture(scope="module")
def batch_app(tmp_path_factory):
    """An app whose output limits each test sets (they are read per request)."""
    app = create_app({"DB_PATH": str(tmp_path_factory.mktemp("b") / "c.db")})
    yield app
    app.config.update(MAX_PAIRS=2_000_000, MAX_RESPONSE_BYTES=128 * 2**20)


@pytest.fixture(scope="module")
def counts(batch_app):
    """Pairs per point at SPOT and the exact pair-list sizes of a 50-point answer."""
    c = batch_app.test_client()
    one = c.post("/api/v1/zones", data=_csv(1), content_type="text/csv").get_json()
    k = one["pair_count"]
    assert k >= 3  # the spot is in several zones, so one point makes several pairs
    text = c.post("/api/v1/zones", data=_csv(50), content_type="text/csv").get_data(as_text=True)
    pairs_json = text[text.index('"pairs":[') + len('"pairs":['):-2]
    csv_text = c.post("/api/v1/zones?format=csv", data=_csv(50),
                      content_type="text/csv").get_data(as_text=True)
    pairs_csv = csv_text[csv_text.index("\n") + 1:-1]
    return {"k": k, "json": len(pairs_json.encode()), "csv": len(pairs_csv.encode())}


def test_max_pairs_serves_at_the_limit_and_refuses_past_it(batch_app, counts):
    k = counts["k"]
    client = batch_app.test_client()
    batch_app.config["MAX_PAIRS"] = 50 * k
    ok = client.post("/api/v1/zones", data=_csv(50), content_type="text/csv")
    assert ok.status_code == 200 and ok.get_json()["pair_count"] == 50 * k
    batch_app.config["MAX_PAIRS"] = 50 * k - 1
    err = assert_error(client.post("/api/v1/zones", data=_csv(50), content_type="text/csv"),
                       413, "too_many_pairs", "MAX_PAIRS")
    assert f"{50 * k:,}" in err["message_en"]


def test_one_spot_flood_is_refused_before_the_answer_is_built(batch_app):
    # 200,000 points at one spot would be millions of pairs (the attack: 1 M points, 18 M
    # pairs, a 1.25 GB answer); the default MAX_PAIRS refuses from the counts alone
    batch_app.config.update(MAX_PAIRS=2_000_000, MAX_RESPONSE_BYTES=128 * 2**20)
    started = time.perf_counter()
    response = batch_app.test_client().post("/api/v1/zones", data=_csv(200_000),
                                            content_type="text/csv")
    assert_error(response, 413, "too_many_pairs", "MAX_PAIRS")
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_max_response_bytes_is_the_exact_size_of_the_pair_list(batch_app, counts, fmt):
    size = counts[fmt]
    path = "/api/v1/zones" + ("?format=csv" if fmt == "csv" else "")
    client = batch_app.test_client()
    batch_app.config.update(MAX_PAIRS=2_000_000, MAX_RESPONSE_BYTES=size)
    assert client.post(path, data=_csv(50), content_type="text/csv").status_code == 200
    batch_app.config["MAX_RESPONSE_BYTES"] = size - 1
    assert_error(client.post(path, data=_csv(50), content_type="text/csv"),
                 413, "response_too_large", "MAX_RESPONSE_BYTES")


def test_answers_are_unchanged_by_the_limits(batch_app):
    rows = "".join(f'"q,{i}",{SPOT[0] + i * 0.01},{SPOT[1]}\n' for i in range(40))
    ids = ("id,lon,lat\n" + rows).encode()
    client = batch_app.test_client()
    for fmt in ("json", "csv"):
        batch_app.config.update(MAX_PAIRS=None, MAX_RESPONSE_BYTES=None)
        a = client.post(f"/api/v1/zones?format={fmt}", data=ids, content_type="text/csv")
        batch_app.config.update(MAX_PAIRS=2_000_000, MAX_RESPONSE_BYTES=128 * 2**20)
        b = client.post(f"/api/v1/zones?format={fmt}", data=ids, content_type="text/csv")
        assert a.status_code == b.status_code == 200 and a.get_data() == b.get_data()


def test_small_sites_have_the_time_limit_too(tmp_path):
    # five vertices, but the whole city: 0.2-0.4 s of overlays; in the pool like any site
    app = _app(tmp_path, REQUEST_TIME_LIMIT_S=0.02)
    workers.pool(app).wait_ready()
    box = {"type": "Polygon", "coordinates": [[[121.6, 44.2], [124.4, 44.2], [124.4, 46.3],
                                               [121.6, 46.3], [121.6, 44.2]]]}
    response = app.test_client().post("/api/v1/sitecheck", json={"geometry": box})
    assert_error(response, 413, "time_limit_exceeded", "REQUEST_TIME_LIMIT_S")


def test_full_expensive_slots_answer_429_and_cheap_requests_still_pass(tmp_path):
    app = _app(tmp_path, EXPENSIVE_SLOTS=1, REQUEST_TIME_LIMIT_S=3)
    workers.pool(app).wait_ready()
    client = app.test_client()
    held = {}

    def slow():
        held["response"] = client.post("/api/v1/sitecheck", json={"geometry": _star(1200)})

    t = threading.Thread(target=slow)
    t.start()
    try:
        time.sleep(0.8)  # the star holds the one slot for up to 3 s
        busy = client.post("/api/v1/sitecheck", json={"geometry": {
            "type": "Point", "coordinates": list(SPOT)}})
        err = assert_error(busy, 429, "server_busy", "EXPENSIVE_SLOTS")
        assert int(busy.headers["Retry-After"]) >= 1 and "EXPENSIVE_SLOTS" in err["message_en"]
        cheap = client.get(f"/api/v1/zones?lon={SPOT[0]}&lat={SPOT[1]}")
        assert cheap.status_code == 200
        assert client.get("/-/health").status_code == 200
    finally:
        t.join()
    assert held["response"].status_code in (201, 413)
    again = client.post("/api/v1/sitecheck", json={"geometry": {
        "type": "Point", "coordinates": list(SPOT)}})
    assert again.status_code == 201  # the slot came back


def test_rate_limit_per_client_answers_429_with_retry_after(tmp_path):
    client = _app(tmp_path, RATE_LIMIT_CHEAP=40).test_client()  # bursts of 10
    statuses = [client.get("/-/health").status_code for _ in range(10)]
    assert statuses == [200] * 10
    limited = client.get("/-/health")
    err = assert_error(limited, 429, "rate_limited", "client")
    assert int(limited.headers["Retry-After"]) >= 1 and "RATE_LIMIT" in err["message_en"]
    # another address has its own bucket; the expensive class has its own too
    other = client.get("/-/health", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200
    assert client.get("/export/admin.geojson").status_code == 200


def test_rate_limits_can_be_switched_off(tmp_path):
    client = _app(tmp_path, RATE_LIMIT_CHEAP=0).test_client()
    assert {client.get("/-/version").status_code for _ in range(60)} == {200}


def test_expensive_requests_have_their_own_rate_limit(tmp_path):
    client = _app(tmp_path, RATE_LIMIT_EXPENSIVE=4).test_client()  # bursts of 10
    codes = [client.get("/export/admin.geojson").status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429
    assert_error(client.get("/export/admin.geojson"), 429, "rate_limited")
    assert client.get("/-/health").status_code == 200  # cheap requests are counted apart
