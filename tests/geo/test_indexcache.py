"""The command line's persisted zone index: same answers, rebuilt when the data changes.

``geo.indexcache`` stores the index; ``layers.zonecommands._index`` keys it by the data files'
contents, so ``planmap import`` and ``--restore`` make the next command rebuild it.
"""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest
import shapely
from planmap.geo import indexcache
from planmap.geo.index import ZoneIndex
from planmap.geo.sitecheck import site_check
from planmap.layers import zonecommands as commands
from planmap.server.cli import _cache_dir, main

from tests.conftest import MINI_SEED


@pytest.fixture(scope="module")
def built(plan_data):
    return ZoneIndex.from_plan_data(plan_data)


def test_a_stored_index_answers_exactly_like_the_built_one(built, tmp_path):
    path = tmp_path / "ix.pickle"
    indexcache.save(built, path, "key1")
    loaded = indexcache.load(path, "key1")
    assert loaded is not None and loaded is not built
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(121.6, 124.4, 100_000), rng.uniform(44.2, 46.4, 100_000)
    a, b = built.batch(lon, lat), loaded.batch(lon, lat)
    assert np.array_equal(a.point_idx, b.point_idx) and np.array_equal(a.zone_idx, b.zone_idx)
    assert len(a.point_idx) > 100_000
    for x, y in rng.uniform([121.6, 44.2], [124.4, 46.4], (30, 2)):
        assert loaded.query_point(x, y) == built.query_point(x, y)
    for site in (shapely.Point(122.839, 45.620), shapely.Point(122.84, 45.62).buffer(0.05),
                 shapely.LineString([(122.5, 45.3), (123.5, 45.9)])):
        assert site_check(loaded, site) == site_check(built, site)


def test_a_stale_corrupt_or_foreign_file_is_not_used(built, tmp_path):
    path = tmp_path / "ix.pickle"
    indexcache.save(built, path, "key1")
    assert indexcache.load(path, "key2") is None  # another data version
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # truncated
    assert indexcache.load(path, "key1") is None
    flipped = bytearray(good)
    flipped[len(good) // 3] ^= 0xFF  # one bit-flip inside the body
    path.write_bytes(bytes(flipped))
    assert indexcache.load(path, "key1") is None
    path.write_bytes(b"not a cache at all")
    assert indexcache.load(path, "key1") is None
    path.write_bytes(good)
    assert indexcache.load(path, "key1") is not None
    os.chmod(path, 0o666)  # writable by others: a pickle from there could run their code
    assert indexcache.load(path, "key1") is None
    os.chmod(path, 0o600)
    assert indexcache.load(path, "key1") is not None
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporary files


def test_the_cache_folder_is_per_user_not_the_package(monkeypatch, tmp_path):
    from planmap import layers

    monkeypatch.setenv("PLANMAP_HOME", str(tmp_path / "home"))
    assert _cache_dir("") == str(tmp_path / "home" / "cache")  # an instance keeps it all
    monkeypatch.delenv("PLANMAP_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache_dir("") == str(tmp_path / "xdg" / "planmap")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _cache_dir("").endswith(os.path.join(".cache", "planmap"))
    assert not _cache_dir("").startswith(str(layers.PACKAGE_DIR.parent))
    assert _cache_dir("off") is None and _cache_dir("/x/y") == "/x/y"


def _square(x0, y0, d=0.01):
    return shapely.box(x0, y0, x0 + d, y0 + d)


def _parcels(path, x0, y0):
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": "parcel_1",
        "properties": {"id": "parcel_1", "name_zh": "地块", "citation_seed": MINI_SEED,
                       "citation_line": 5, "citation_quote": "建设东湖公园"},
        "geometry": shapely.geometry.mapping(_square(x0, y0))}]}
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return path


def _zones(points, data_dir, capsys):
    assert main(["zones", str(points), "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.out)))
    return {(r["point_id"], r["zone_id"]) for r in rows}, out.err


def test_import_and_restore_make_the_next_command_rebuild(mini_data_dir, tmp_path, capsys,
                                                          monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("PLANMAP_CACHE_DIR", str(cache))
    pts = tmp_path / "p.csv"
    pts.write_text("id,lon,lat\na,122.15,45.15\nb,122.705,45.705\n", "utf-8")
    first, err = _zones(pts, mini_data_dir, capsys)
    assert "zone index built" in err and ("a", "zone_core") in first
    again, err = _zones(pts, mini_data_dir, capsys)
    assert "zone index cache" in err and again == first
    assert len(list(cache.glob("*.pickle"))) == 1

    imp = ["import", "--layer", "parcels", "--data-dir", str(mini_data_dir), "--crs",
           "EPSG:4326", "--quiet"]
    assert main([*imp[:1], str(_parcels(tmp_path / "v1.geojson", 122.145, 45.145)), *imp[1:]]) == 0
    assert "created parcels" in capsys.readouterr().out
    v1, err = _zones(pts, mini_data_dir, capsys)
    # the import rebuilt the folder's cache (issue 13: the serving workers load it)
    assert "zone index cache" in err and v1 == first | {("a", "parcel_1")}
    assert main([*imp[:1], str(_parcels(tmp_path / "v2.geojson", 122.7, 45.7)), *imp[1:]]) == 0
    assert "replaced parcels" in capsys.readouterr().out
    v2, err = _zones(pts, mini_data_dir, capsys)
    assert "zone index cache" in err and v2 == first | {("b", "parcel_1")}
    assert main(["import", "--restore", "--layer", "parcels", "--data-dir",
                 str(mini_data_dir)]) == 0
    capsys.readouterr()
    back, err = _zones(pts, mini_data_dir, capsys)
    assert "zone index cache" in err and back == v1
    assert len(list(cache.glob("*.pickle"))) == 1  # one file per data folder, replaced


def test_a_corrupt_cache_file_is_rebuilt_and_replaced(mini_data_dir, tmp_path, capsys,
                                                      monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("PLANMAP_CACHE_DIR", str(cache))
    pts = tmp_path / "p.csv"
    pts.write_text("id,lon,lat\na,122.205,45.205\n", "utf-8")
    want, _ = _zones(pts, mini_data_dir, capsys)
    (cached_file,) = cache.glob("*.pickle")
    cached_file.write_bytes(cached_file.read_bytes()[:100])
    got, err = _zones(pts, mini_data_dir, capsys)
    assert got == want and "zone index built" in err
    got, err = _zones(pts, mini_data_dir, capsys)
    assert got == want and "zone index cache" in err


def test_cache_off_builds_every_time(mini_data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLANMAP_CACHE_DIR", "off")
    pts = tmp_path / "p.csv"
    pts.write_text("id,lon,lat\na,122.205,45.205\n", "utf-8")
    for _ in range(2):
        assert "zone index built" in _zones(pts, mini_data_dir, capsys)[1]
    assert commands  # the module under test
