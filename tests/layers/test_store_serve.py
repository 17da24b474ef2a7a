"""The server sees the store's active version of an imported layer (both backends)."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import shapely
from planmap.layers.store import open_store
from planmap.layers.storeimport import import_to_store
from planmap.server import create_app

CIT = ("000_f32aaef515cfbb76", 849, "严格执行生态保护红线管理办法")


def _file(path, tag, lat=45.60):
    geoms = [shapely.box(122.80 + i * 0.002, lat, 122.801 + i * 0.002, lat + 0.001)
             for i in range(6)]
    frame = gpd.GeoDataFrame({
        "id": [f"bureau_parcel_{i}" for i in range(6)], "dlmc": [tag] * 6,
        "citation_seed": [CIT[0]] * 6, "citation_line": [CIT[1]] * 6,
        "citation_quote": [CIT[2]] * 6}, geometry=geoms, crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path)
    return path


def _app(store_url, tmp_path):
    config = {"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0}
    if store_url.startswith("postgresql"):
        config["DATABASE_URL"] = store_url
    else:
        config["HOME"] = str(tmp_path)  # the GeoPackage store is HOME/store
    return create_app(config)


def test_server_serves_the_active_store_version_and_a_restore(store_url, tmp_path):
    if not store_url.startswith("postgresql"):
        store_url = str(tmp_path / "store")
    store = open_store(store_url)
    import_to_store(_file(tmp_path / "a.gpkg", "旱地"), "bureau_parcels", store)
    import_to_store(_file(tmp_path / "b.gpkg", "水田", lat=45.602), "bureau_parcels", store)
    client = _app(store_url, tmp_path).test_client()
    layers = {e["id"]: e for e in client.get("/api/v1/layers").get_json()["layers"]}
    entry = layers["bureau_parcels"]
    assert entry["feature_count"] == 6 and entry["accuracy_counts"]["official"] == 6
    assert entry["store_version"] == store.current("bureau_parcels")
    assert _hits(client, 45.6025) == [("bureau_parcel_0", "official")]
    assert _hits(client, 45.6005) == []
    fc = client.get("/api/v1/layers/bureau_parcels").get_json()
    assert {f["properties"]["dlmc"] for f in fc["features"]} == {"水田"}

    store.restore_previous("bureau_parcels")
    client = _app(store_url, tmp_path).test_client()
    fc = client.get("/api/v1/layers/bureau_parcels").get_json()
    assert {f["properties"]["dlmc"] for f in fc["features"]} == {"旱地"}
    # the zone index follows the switch (its start-up cache is keyed by the store version)
    assert _hits(client, 45.6005) == [("bureau_parcel_0", "official")]
    assert _hits(client, 45.6025) == []


def _hits(client, lat):
    zones = client.get(f"/api/v1/zones?lon=122.8005&lat={lat}").get_json()["zones"]
    return [(z["id"], z["accuracy"]) for z in zones if z["layer"] == "bureau_parcels"]


def test_settings_page_never_shows_the_database_url(tmp_path):
    url = "postgresql://planmap:s3cret@/planmap?host=/nonexistent"  # fails at once
    app = create_app({"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0, "DATABASE_URL": url,
                      "HOME": str(tmp_path)})
    body = app.test_client().get("/-/settings").get_data(as_text=True)
    assert "s3cret" not in body and "DATABASE_URL" not in body
