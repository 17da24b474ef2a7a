"""``planmap import`` defects found by the issue-22 attack run, one test each.

* a feature nested in three GeometryCollections was accepted, and ``serve`` then failed at
  start (the zone index could not cut it into pieces);
* ``--data-dir`` with a relative path crashed;
* ``--restore`` picked the wrong version when the clock had been set back;
* temp files of an interrupted import were left behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from planmap.layers import importer
from planmap.layers.importer import import_layer, kept_versions, restore_previous
from planmap.server import create_app
from planmap.server.cli import main as cli
from shapely.geometry import box

from planmap import layers
from tests.conftest import MINI_SEED, mini_feature, write_layer

ROOT = Path(__file__).resolve().parents[2]


def _nest(geometry: dict, depth: int = 3) -> dict:
    for _ in range(depth):
        geometry = {"type": "GeometryCollection", "geometries": [geometry]}
    return geometry


def _square(x0, y0, d):
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]]}


def _zones_file(tmp_path, name, x0):
    path = tmp_path / name
    frame = gpd.GeoDataFrame({"id": ["zone_core"]}, geometry=[box(x0, 45.1, x0 + 0.05, 45.15)],
                             crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    return path


# ------------------------------------------------------------------ nested collections

def test_import_flattens_features_nested_in_three_collections(mini_data_dir, tmp_path):
    cite = {"citation_seed": MINI_SEED, "citation_line": 3, "citation_quote": "两核"}
    src = tmp_path / "nested.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "deep_point", **cite},
         "geometry": _nest({"type": "Point", "coordinates": [122.31, 45.31]})},
        {"type": "Feature", "properties": {"id": "deep_square", **cite},
         "geometry": _nest(_square(122.6, 45.6, 0.1))},
        {"type": "Feature", "properties": {"id": "deep_mixed", **cite},
         "geometry": _nest({"type": "GeometryCollection", "geometries": [
             _square(122.8, 45.8, 0.05), {"type": "Point", "coordinates": [122.9, 45.9]}]})},
    ]}), "utf-8")
    result = import_layer(src, "deep", data_dir=mini_data_dir)
    assert any("flattened" in w for w in result.warnings)
    written = json.loads((mini_data_dir / "data" / "deep.geojson").read_text("utf-8"))
    types = {f["id"]: f["geometry"]["type"] for f in written["features"]}
    assert types == {"deep_point": "Point", "deep_square": "Polygon",
                     "deep_mixed": "GeometryCollection"}
    mixed = next(f["geometry"] for f in written["features"] if f["id"] == "deep_mixed")
    assert all(g["type"] != "GeometryCollection" for g in mixed["geometries"])
    # serve starts on the imported data, and the flattened square is a zone again
    app = create_app({"DATA_DIR": str(mini_data_dir), "DB_PATH": str(tmp_path / "c.db")})
    client = app.test_client()
    assert client.get("/-/health").get_json()["status"] == "ok"
    zones = client.get("/api/v1/zones?lon=122.65&lat=45.65").get_json()["zones"]
    assert "deep_square" in [z["id"] for z in zones]


def test_serve_starts_on_a_hand_edited_layer_with_nested_collections(mini_data_dir, tmp_path):
    """A file written without ``planmap import`` must not stop the service either."""
    write_layer(mini_data_dir, "zones", [
        mini_feature("zone_core", "zones", _nest(_square(122.1, 45.1, 0.1))),
        mini_feature("zone_park", "zones", _nest({"type": "Point", "coordinates": [122.3, 45.3]}),
                     kind="park"),
    ])
    app = create_app({"DATA_DIR": str(mini_data_dir), "DB_PATH": str(tmp_path / "c.db")})
    client = app.test_client()
    assert client.get("/-/health").get_json()["status"] == "ok"
    zones = client.get("/api/v1/zones?lon=122.15&lat=45.15").get_json()["zones"]
    assert "zone_core" in [z["id"] for z in zones]
    geom = app.extensions["planmap"].data.layers["zones"].geometry["zone_park"]
    assert geom.geom_type == "Point"


def test_flatten_keeps_the_covered_points():
    from planmap.geo.validate import flatten_collection

    a, b = shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3)  # overlapping members
    nested = shapely.GeometryCollection([shapely.GeometryCollection(
        [shapely.GeometryCollection([a]), b])])
    flat = flatten_collection(nested)
    assert flat.is_valid and flat.geom_type == "Polygon"
    assert flat.equals(shapely.union_all([a, b]))
    line = shapely.LineString([(0, 0), (1, 1)])
    assert flatten_collection(line) is line


# ------------------------------------------------------------------ relative --data-dir

def test_relative_data_dir_works_for_import_and_restore(mini_data_dir, tmp_path, monkeypatch,
                                                        capsys):
    monkeypatch.chdir(mini_data_dir.parent)
    rel = mini_data_dir.name
    src = _zones_file(tmp_path, "a.geojson", 122.1)
    assert cli(["import", str(src), "--layer", "zones", "--data-dir", rel]) == 0
    assert cli(["import", "--restore", "--layer", "zones", "--data-dir", rel]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert list(layers.load(mini_data_dir).layers["zones"].index) == ["zone_core", "zone_park"]


# ------------------------------------------------------------------ skewed clock

def test_restore_takes_the_newest_version_even_when_the_clock_went_back(mini_data_dir,
                                                                        tmp_path, monkeypatch):
    target = mini_data_dir / "data" / "zones.geojson"
    clock = iter(["20300101T000000000000Z", "20200101T000000000000Z"])
    monkeypatch.setattr(importer, "_timestamp", lambda: next(clock))
    import_layer(_zones_file(tmp_path, "b.geojson", 122.1), "zones", data_dir=mini_data_dir)
    version_b = target.read_bytes()
    # the clock is set back ten years before the next import
    import_layer(_zones_file(tmp_path, "c.geojson", 122.2), "zones", data_dir=mini_data_dir)
    names = [p.name for p in kept_versions("zones", mini_data_dir)]
    assert names == ["zones.v000001.20300101T000000000000Z.geojson",
                     "zones.v000002.20200101T000000000000Z.geojson"]
    monkeypatch.setattr(importer, "_timestamp", lambda: "20250101T000000000000Z")
    restore_previous("zones", data_dir=mini_data_dir)
    assert target.read_bytes() == version_b  # the version before the last import


def test_versions_kept_before_sequence_numbers_count_as_older(mini_data_dir, tmp_path):
    versions = mini_data_dir / "versions"
    versions.mkdir()
    legacy = versions / "zones.29991231T000000000000Z.geojson"  # old name, clock far ahead
    legacy.write_bytes((mini_data_dir / "data" / "zones.geojson").read_bytes())
    import_layer(_zones_file(tmp_path, "b.geojson", 122.1), "zones", data_dir=mini_data_dir)
    kept = kept_versions("zones", mini_data_dir)
    assert kept[0] == legacy and kept[-1].name.startswith("zones.v000001.")


# ------------------------------------------------------------------ temp files

def _temps(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob(".*.tmp"))


def test_import_and_restore_remove_every_stale_temp_file(mini_data_dir, tmp_path):
    stale = [mini_data_dir / "data" / ".zones.geojson.ab12cd34.tmp",
             mini_data_dir / "data" / ".check_zones.zz99yy88.tmp",
             mini_data_dir / ".catalog.json.k3j4h5g6.tmp"]
    for p in stale:
        p.write_bytes(b"half written")
    keep = mini_data_dir / "data" / ".notes.tmp"  # not a name planmap makes: left alone
    keep.write_bytes(b"mine")
    import_layer(_zones_file(tmp_path, "b.geojson", 122.1), "zones", data_dir=mini_data_dir)
    assert _temps(mini_data_dir) == [keep]
    (mini_data_dir / "versions" / ".zones.v000009.x.geojson.q1w2e3r4.tmp").write_bytes(b"x")
    restore_previous("zones", data_dir=mini_data_dir)
    assert _temps(mini_data_dir) == [keep]


def test_import_stopped_by_sigterm_leaves_no_temp_file(mini_data_dir, tmp_path):
    n = 150
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"id": [f"big_{i}" for i in range(n)], "citation_seed": [MINI_SEED] * n,
         "citation_line": [3] * n, "citation_quote": ["两核"] * n},
        geometry=[Point(122.05 + 0.0015 * i, 45.05).buffer(0.0006, 64) for i in range(n)],
        crs="EPSG:4326")
    src = tmp_path / "big.geojson"
    pyogrio.write_dataframe(frame, src, driver="GeoJSON")
    before = (mini_data_dir / "data" / "zones.geojson").read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.slow_import", "0.1", "import", str(src), "--layer", "zones",
         "--data-dir", str(mini_data_dir)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if [p for p in (mini_data_dir / "data").glob(".zones.geojson.*.tmp")
                    if p.stat().st_size > 0]:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM
    assert _temps(mini_data_dir) == []
    assert (mini_data_dir / "data" / "zones.geojson").read_bytes() == before
