"""Fixtures of the layer-store tests: one store per backend (GeoPackage, PostGIS)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

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


_MAKE_PARCELS = Path(__file__).resolve().parents[2] / "bench" / "make_parcels.py"
# a real clause of the plan (the permanent farmland line): the synthetic parcels cite it
FARMLAND_CITATION = ("000_f32aaef515cfbb76", 1173, "全面落实永久基本农田特殊保护制度，严守耕地红线")


def synthetic_parcels(n: int, seed: int, area, prefix: str, name_zh: bool = True):
    """``n`` seeded, non-overlapping 国土调查-like parcels inside ``area`` (bench/make_parcels.py),
    ids ``<prefix>_00000``…, cited to :data:`FARMLAND_CITATION`, as a GeoDataFrame in EPSG:4326."""
    import geopandas as gpd
    import shapely

    spec = importlib.util.spec_from_file_location("make_parcels", _MAKE_PARCELS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    wkb, codes, names = mod.make_parcels(n, seed=seed, boundary=area)
    columns = {"id": [f"{prefix}_{i:05d}" for i in range(n)], "dlbm": codes, "dlmc": names}
    if name_zh:
        columns["name_zh"] = names
    seed_id, line, quote = FARMLAND_CITATION
    columns.update(citation_seed=seed_id, citation_line=line, citation_quote=quote)
    return gpd.GeoDataFrame(columns, geometry=shapely.from_wkb(wkb), crs="EPSG:4326")


def import_parcels(store_url: str, tmp_path, parcels, layer_id: str):
    """Import ``parcels`` as ``layer_id`` into the store of ``store_url`` (a GeoPackage
    store under ``tmp_path/home`` when it is not PostGIS) through a GeoPackage file, as
    ``planmap import`` does; return the store."""
    import pyogrio
    from planmap.layers.store import open_store
    from planmap.layers.storeimport import import_to_store

    if not store_url.startswith("postgresql"):
        store_url = str(tmp_path / "home" / "store")
    src = tmp_path / f"{layer_id}.gpkg"
    pyogrio.write_dataframe(parcels, src)
    target = open_store(store_url)
    import_to_store(src, layer_id, target)
    return target
