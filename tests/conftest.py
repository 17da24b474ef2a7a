"""Shared fixtures: the built-in plan data, a writable copy of it, and a tiny data set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planmap import layers


@pytest.fixture(scope="session", autouse=True)
def _cli_cache_dir(tmp_path_factory):
    """The CLI's zone-index cache goes to a session folder, not the user's ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PLANMAP_CACHE_DIR", str(tmp_path_factory.mktemp("planmap_cache")))
    # the layer store (layers/store.py): an empty instance folder, never the user's own
    mp.setenv("PLANMAP_HOME", str(tmp_path_factory.mktemp("planmap_home")))
    mp.delenv("PLANMAP_DATABASE_URL", raising=False)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def pg_url():
    """A PostGIS database URL (PLANMAP_TEST_DATABASE_URL, or one throw-away cluster per run)."""
    from tests import pgcluster

    yield from pgcluster.database_url()


@pytest.fixture
def pg_fresh_url(pg_url):
    """The URL of a new empty database (dropped after the test) on the ``pg_url`` server."""
    from tests import pgcluster

    yield from pgcluster.fresh_database(pg_url)


@pytest.fixture(scope="session")
def plan_data():
    """The built-in data, loaded strictly once per test session (read-only!)."""
    return layers.load()


@pytest.fixture(scope="session")
def readonly_app(tmp_path_factory):
    """One app on the built-in data with default settings, built once per session (read-only!).

    The server and reliability tests that only send requests share it (``app``/``client``/
    ``data`` in tests/server/conftest.py, ``rel_app``); a module that changes the config,
    the data or the services builds its own ``app`` (or sets ``OWN_APP = True``).
    """
    from planmap.server import create_app

    return create_app({"DB_PATH": str(tmp_path_factory.mktemp("shared_app") / "c.db")})


@pytest.fixture
def tmp_data_dir(tmp_path) -> Path:
    """A private copy of the built-in data dir: tests that write go here, never to the package."""
    return layers.copy_data_dir(tmp_path / "data_dir")


MINI_SEED = "900_mini"
MINI_LINES = ["迷你规划", "", "构建“两核”生态格局。", "", "建设东湖公园。"]


def _square(x0, y0, d):
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]]}


def mini_feature(fid, layer, geometry, **props):
    """A contract-complete feature for hand-made test layers."""
    p = {"id": fid, "name_zh": fid, "name_en": fid, "layer": layer, "kind": "zone",
         "county": ["220802"], "accuracy": "schematic", "source": "test",
         "citation": {"seed": MINI_SEED, "line": 3, "quote": "构建“两核”生态格局"},
         "rule": "test square"}
    p.update(props)
    return {"type": "Feature", "id": fid, "properties": p, "geometry": geometry}


def write_layer(data_dir: Path, layer_id: str, features: list[dict]) -> Path:
    path = data_dir / "data" / f"{layer_id}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), "utf-8")
    return path


@pytest.fixture
def mini_data_dir(tmp_path) -> Path:
    """A tiny, valid data dir: ``admin`` (city + 2 counties) and ``zones`` (2 features)."""
    d = tmp_path / "mini"
    (d / "data").mkdir(parents=True)
    (d / "plans").mkdir()
    (d / "plans" / f"{MINI_SEED}.txt").write_text("\n".join(MINI_LINES), "utf-8")
    (d / "plans" / "index.json").write_text(json.dumps(
        {MINI_SEED: {"title_zh": "迷你规划", "title_en": "Mini plan", "file": f"{MINI_SEED}.txt"}},
        ensure_ascii=False), "utf-8")
    style = {"color": "#333333", "fillColor": "#999999", "weight": 1, "fillOpacity": 0.2}
    catalog = {"data_version": "test-1", "layers": [
        {"id": "zones", "title_zh": "分区", "title_en": "Zones", "group": "ecology", "order": 2,
         "default_on": True, "file": "data/zones.geojson", "geometry_types": ["Polygon", "Point"],
         "style": style, "source": "test", "licence": "test", "attribution": "test",
         "description_zh": "测试", "description_en": "test"},
        {"id": "admin", "title_zh": "行政区划", "title_en": "Admin", "group": "admin", "order": 1,
         "default_on": True, "file": "data/admin.geojson", "geometry_types": ["Polygon"],
         "style": style, "source": "test", "licence": "test", "attribution": "test",
         "description_zh": "测试", "description_en": "test"},
    ]}
    (d / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False), "utf-8")
    write_layer(d, "admin", [
        mini_feature("admin_220800", "admin", _square(122.0, 45.0, 1.0), kind="city",
                     adcode="220800", county=["220802", "220881"], accuracy="official"),
        mini_feature("admin_220802", "admin", _square(122.0, 45.0, 0.5), kind="county",
                     adcode="220802", accuracy="official"),
        mini_feature("admin_220881", "admin", _square(122.5, 45.0, 0.5), kind="county",
                     adcode="220881", county=["220881"], accuracy="official"),
    ])
    write_layer(d, "zones", [
        mini_feature("zone_core", "zones", _square(122.1, 45.1, 0.1)),
        mini_feature("zone_park", "zones", {"type": "Point", "coordinates": [122.3, 45.3]},
                     kind="park", citation={"seed": MINI_SEED, "line": 5, "quote": "建设东湖公园"}),
    ])
    (d / "clauses.json").write_text(json.dumps([
        {"id": "cl_core", "effect": "prohibited", "text_zh": "构建“两核”生态格局。",
         "summary_en": "test", "citation": {"seed": MINI_SEED, "line": 3, "quote": "两核"},
         "applies_to": ["zone_core"]},
        {"id": "cl_all_zones", "effect": "encouraged", "text_zh": "建设东湖公园。",
         "summary_en": "test", "citation": {"seed": MINI_SEED, "line": 5, "quote": "东湖公园"},
         "applies_to": ["zones"]},
    ], ensure_ascii=False), "utf-8")
    return d
