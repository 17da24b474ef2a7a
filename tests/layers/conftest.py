"""Fixtures of the layer-store tests: one store per backend (GeoPackage, PostGIS)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["gpkg", "postgis"])
def store_url(request, tmp_path):
    """The URL/path of an empty store, once per backend."""
    if request.param == "gpkg":
        yield str(tmp_path / "store")
        return
    url = request.getfixturevalue("pg_url")
    from planmap.layers.store import open_store

    store = open_store(url)
    yield url
    for lid in store.layers():  # leave the shared database empty for the next test
        store.drop_layer(lid)
    for lid in {v for v in _all_versioned(url)}:
        store.drop_layer(lid)


def _all_versioned(url):
    import psycopg

    with psycopg.connect(url) as conn:
        try:
            return [r[0] for r in conn.execute("SELECT DISTINCT layer FROM planmap_version")]
        except psycopg.errors.UndefinedTable:
            return []
