"""A restricted layer does not set an anonymous caller's verdict (issue 14): site checks,
point queries and batch answers are computed without the layers the caller cannot see —
in the request thread and in the worker processes alike."""

from __future__ import annotations

import json

import pytest
import shapely
from planmap.geo.index import ZoneIndex
from planmap.geo.sitecheck import site_check
from planmap.server import create_app
from planmap.server.visibility import data_without

RESTRICTED = "ecology"


@pytest.fixture(scope="module", params=[0, 1], ids=["in-thread", "worker"])
def app(request, tmp_path_factory):
    app = create_app({"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db"),
                      "WORKERS": request.param, "ARGON2_MEMORY_KIB": 1024,
                      "RESTRICTED_LAYERS": RESTRICTED, "LOGIN_RATE_PER_MIN": 0})
    yield app
    pool = app.extensions.get("planmap_pool")
    if pool is not None:
        pool.close()


@pytest.fixture(scope="module")
def case(app):
    """A point inside the restricted layer where that layer changes the verdict, with the
    verdicts computed directly from the data with and without the layer."""
    data = app.extensions["planmap"].data
    full, without = app.extensions["planmap"].index, \
        ZoneIndex.from_plan_data(data_without(data, frozenset({RESTRICTED})))
    for geom in data.layers[RESTRICTED].geometry:
        p = geom.representative_point()
        a = site_check(full, p)["verdict"]
        b = site_check(without, p)["verdict"]
        if a != b:
            return {"type": "Point", "coordinates": [p.x, p.y]}, a, b
    pytest.fail("no restricted zone changes a verdict: the test data no longer covers this")


@pytest.fixture(scope="module")
def planner_token(app):
    store = app.extensions["planmap_accounts"]
    store.add_user("planner", "a long test password", "白城市自然资源局", "planner")
    return store.new_token("planner")[1]


def test_anonymous_verdict_is_the_one_without_the_restricted_layer(app, case, planner_token):
    point, restricted_verdict, public_verdict = case
    anon = app.test_client().post("/api/v1/sitecheck", json=point)
    assert anon.status_code == 201
    assert anon.get_json()["verdict"] == public_verdict
    planner = app.test_client().post("/api/v1/sitecheck", json=point,
                                     headers={"Authorization": f"Bearer {planner_token}"})
    assert planner.get_json()["verdict"] == restricted_verdict
    # the stored anonymous check and its report say the public verdict too
    stored = app.test_client().get(anon.get_json()["url"]).get_json()
    assert stored["verdict"] == public_verdict


def test_point_and_batch_answers_without_the_restricted_layer(app, case, planner_token):
    point, _, _ = case
    lon, lat = point["coordinates"]
    data = app.extensions["planmap"].data
    without = ZoneIndex.from_plan_data(data_without(data, frozenset({RESTRICTED})))
    expected = without.query_point(lon, lat, radius_m=float(app.config["NEAREST_RADIUS_M"]),
                                   tiers_as_json=True)
    anon = app.test_client().get(f"/api/v1/zones?lon={lon}&lat={lat}").get_json()
    assert [z["id"] for z in anon["zones"]] == [z["id"] for z in expected["zones"]]
    tiers = json.loads(expected["tiers_json"])
    assert anon["tiers"] == tiers["tiers"] and anon["verdict"] == tiers["verdict"]
    inside = {str(i) for i, g in data.layers[RESTRICTED].geometry.items()
              if g.intersects(shapely.Point(lon, lat))}
    csv_body = f"id,lon,lat\n1,{lon!r},{lat!r}\n"
    anon_b = app.test_client().post("/api/v1/zones", data=csv_body, content_type="text/csv",
                                    headers={"Accept": "text/csv"}).get_data(as_text=True)
    planner_b = app.test_client().post(
        "/api/v1/zones", data=csv_body, content_type="text/csv",
        headers={"Accept": "text/csv", "Authorization": f"Bearer {planner_token}"}
    ).get_data(as_text=True)
    assert inside and all(f in planner_b for f in inside)
    assert not any(f in anon_b for f in inside)
