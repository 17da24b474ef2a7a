"""OWSLib (the Python OGC client library) against a real server: what a script relies on."""

from __future__ import annotations

import pytest
import shapely

from tests.server.live import live_server
from tests.server.ogc_expect import expected_collections

owslib_features = pytest.importorskip("owslib.ogcapi.features")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with live_server({"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db")}) as (base, app):
        yield owslib_features.Features(f"{base}/ogc"), app.extensions["planmap"].data


def _all_items(api, cid, **kwargs):
    out, offset = [], 0
    while True:
        page = api.collection_items(cid, limit=3, offset=offset, **kwargs)
        out += page["features"]
        offset += page["numberReturned"]
        if offset >= page["numberMatched"] or not page["features"]:
            return out, page["numberMatched"]


def test_owslib_lists_conformance_and_every_collection(served):
    api, data = served
    classes = api.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert [c["id"] for c in api.collections()["collections"]] == \
        list(expected_collections(data))
    assert api.collection("urban_points")["layer"] == "urban"
    assert api.api()["openapi"].startswith("3.0")


def test_owslib_pages_through_every_collection(served):
    api, data = served
    for cid, (_layer, gdf) in expected_collections(data).items():
        features, matched = _all_items(api, cid)
        assert matched == len(gdf) and [f["id"] for f in features] == list(gdf["id"]), cid


def test_owslib_bbox_filter_sortby_and_queryables(served):
    api, data = served
    gdf = data.layers["admin"]
    x0, y0, x1, y1 = gdf.total_bounds
    box = [x0, y0, (x0 + x1) / 2, (y0 + y1) / 2]
    hits = api.collection_items("admin", bbox=box, limit=100)
    assert [f["id"] for f in hits["features"]] == [
        f for f, g in zip(gdf["id"], gdf.geometry, strict=True) if g.intersects(shapely.box(*box))]
    counties = api.collection_items("admin", filter="kind='county'", limit=100)
    assert [f["id"] for f in counties["features"]] == list(gdf[gdf["kind"] == "county"]["id"])
    ordered = api.collection_items("admin", sortby=("name_zh", "desc"), limit=100)
    assert [f["id"] for f in ordered["features"]] == \
        list(gdf.sort_values("name_zh", ascending=False)["id"])
    assert "kind" in api.collection_queryables("admin")["properties"]
    one = api.collection_item("admin", gdf["id"].iloc[0])
    assert one["properties"]["name_zh"] == gdf["name_zh"].iloc[0]
