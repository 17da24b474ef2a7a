"""planmap import: authoritative data in, atomically, reversibly; bad files refused.

Every test writes into a copy of the data (``mini_data_dir`` / ``tmp_data_dir``),
never into the package.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from planmap.geo.errors import CRSError, InvalidGeometry, InvalidInput, LayerError, NotFound
from planmap.layers.importer import import_layer, kept_versions, restore_previous
from planmap.server.cli import main as cli
from pyproj import Transformer
from shapely.geometry import Point, box

from planmap import layers
from tests.conftest import MINI_SEED

ROOT = Path(__file__).resolve().parents[2]
# (Multi)Polygon and (Multi)LineString; points: see the planmap export round trip of parks.
ROUND_TRIP_LAYERS = ["water"]
TO_4550 = Transformer.from_crs("EPSG:4326", "EPSG:4550", always_xy=True)
CITE = {"seed": MINI_SEED, "line": 3, "quote": "构建“两核”生态格局"}


def test_import_without_a_data_folder_never_writes_into_the_package(tmp_path):
    """The built-in data is read-only: an import that forgot ``data_dir`` is refused."""
    from planmap.geo.errors import InvalidInput

    before = sorted((p.name, p.stat().st_mtime_ns) for p in (layers.PACKAGE_DIR / "data").iterdir())
    for call in (lambda: import_layer(_zones_file(tmp_path, "z.geojson", 122.1), "zones"),
                 lambda: restore_previous("zones")):
        with pytest.raises(InvalidInput) as err:
            call()
        assert err.value.code == "data_dir_required"
    after = sorted((p.name, p.stat().st_mtime_ns) for p in (layers.PACKAGE_DIR / "data").iterdir())
    assert after == before
    assert not (layers.PACKAGE_DIR / "versions").exists()


def _gdf(rows, geoms, crs="EPSG:4326"):
    return gpd.GeoDataFrame(rows, geometry=list(geoms), crs=crs)


def _json_text_columns(gdf):
    """Lists/objects as JSON text, as GIS formats other than GeoJSON store them."""
    out = gdf.reset_index(drop=True).copy()
    for col in out.columns:
        if col != "geometry" and out[col].map(lambda v: isinstance(v, (list, dict))).any():
            out[col] = out[col].map(lambda v: json.dumps(v, ensure_ascii=False)
                                    if isinstance(v, (list, dict)) else v)
    return out


def _export(gdf, path: Path):
    driver = {".geojson": "GeoJSON", ".gpkg": "GPKG"}[path.suffix]
    out = gdf.reset_index(drop=True) if driver == "GeoJSON" else _json_text_columns(gdf)
    pyogrio.write_dataframe(out, path, driver=driver)
    return path


def _norm(v):
    if isinstance(v, float) and v != v:
        return None
    return v


def assert_same_features(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame):
    assert list(a.index) == list(b.index)
    cols = sorted(c for c in a.columns if c != "geometry")
    assert cols == sorted(c for c in b.columns if c != "geometry")
    for fid in a.index:
        for c in cols:
            assert _norm(a.loc[fid, c]) == _norm(b.loc[fid, c]), (fid, c)
        ga, gb = shapely.normalize(a.geometry[fid]), shapely.normalize(b.geometry[fid])
        assert shapely.equals_exact(ga, gb, tolerance=1e-6), fid


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()
            and not p.name.startswith(".")}


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_import_export_import_round_trips_mini(mini_data_dir, tmp_path, suffix):
    original = layers.load(mini_data_dir).layers["zones"]
    import_layer(mini_data_dir / "data" / "zones.geojson", "zones", data_dir=mini_data_dir)
    first = layers.load(mini_data_dir).layers["zones"]
    # The import keeps ids, names, citations; marks official; drops the schematic rule.
    assert list(first.index) == list(original.index)
    assert (first["accuracy"] == "official").all() and "rule" not in first
    assert list(first["citation"]) == list(original["citation"])
    for fid in original.index:
        assert shapely.equals_exact(first.geometry[fid], original.geometry[fid], 1e-6)

    exported = _export(first, tmp_path / f"export{suffix}")
    import_layer(exported, "zones", data_dir=mini_data_dir)
    assert_same_features(first, layers.load(mini_data_dir).layers["zones"])


@pytest.mark.parametrize("layer_id", ROUND_TRIP_LAYERS)
def test_import_export_import_round_trips_builtin(tmp_data_dir, tmp_path, layer_id):
    before = layers.load(tmp_data_dir)
    original = before.layers[layer_id]
    import_layer(tmp_data_dir / "data" / f"{layer_id}.geojson", layer_id, data_dir=tmp_data_dir)
    after = layers.load(tmp_data_dir)  # strict: the other layers and clauses still fit
    first = after.layers[layer_id]
    assert list(first.index) == list(original.index)
    assert (first["accuracy"] == "official").all()
    assert list(first["citation"]) == list(original["citation"])
    assert list(first["name_zh"]) == list(original["name_zh"])
    for fid in original.index:
        assert shapely.equals_exact(shapely.normalize(first.geometry[fid]),
                                    shapely.normalize(original.geometry[fid]), 1e-6), fid

    exported = _export(first, tmp_path / "export.geojson")
    import_layer(exported, layer_id, data_dir=tmp_data_dir)
    assert_same_features(first, layers.load(tmp_data_dir).layers[layer_id])


# "all" exports hold every layer (a layer column, or one Shapefile per layer and geometry
# type): the import takes the layer it is told to.
@pytest.mark.parametrize("fmt, exported", [("geojson", "all"), ("gpkg", "parks"),
                                           ("shp.zip", "all")])
def test_planmap_export_then_import_round_trips(tmp_data_dir, tmp_path, fmt, exported):
    """What a GIS user does: planmap export, edit elsewhere, planmap import."""
    from planmap.layers import export

    import_layer(tmp_data_dir / "data" / "parks.geojson", "parks", data_dir=tmp_data_dir)
    first = layers.load(tmp_data_dir)
    out = export.write(first, fmt, layer=exported, path=tmp_path / f"{exported}.{fmt}")
    import_layer(out, "parks", data_dir=tmp_data_dir)
    assert_same_features(first.layers["parks"], layers.load(tmp_data_dir).layers["parks"])


# ---------------------------------------------------------------- formats and CRS
def _square_4550(size_m=2000.0):
    """A 2 km square around (122.84, 45.30) — inside the mini county 220881 — in EPSG:4550."""
    x, y = TO_4550.transform(122.84, 45.30)
    return box(x - size_m / 2, y - size_m / 2, x + size_m / 2, y + size_m / 2)


def _bureau_frame(crs="EPSG:4550"):
    sq = _square_4550()
    return _gdf({"id": ["A-01"], "名称": ["东湖红线"],
                 "citation_seed": [MINI_SEED], "citation_line": [5],
                 "citation_quote": ["建设东湖公园"]}, [sq], crs=crs)


def test_import_geopackage_in_epsg4550(mini_data_dir, tmp_path):
    path = tmp_path / "bureau.gpkg"
    pyogrio.write_dataframe(_bureau_frame(), path, driver="GPKG", layer="redline")
    result = import_layer(path, "redline", data_dir=mini_data_dir, source="白城市自然资源局")
    assert result.created_layer and result.source_crs == "EPSG:4550"
    row = _lands(mini_data_dir)
    assert row["source"] == "白城市自然资源局"
    entry = layers.load(mini_data_dir).layer_entry("redline")
    assert entry["geometry_types"] == ["Polygon"] and entry["file"] == "data/redline.geojson"


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_import_zipped_shapefile_in_epsg4550(mini_data_dir, tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    # Shapefile truncates names to 10 characters: citation_seed -> citation_s etc.
    pyogrio.write_dataframe(_bureau_frame(), folder / "redline.shp", driver="ESRI Shapefile",
                            encoding="UTF-8")
    zpath = tmp_path / "redline.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, f"export/{p.name}")
    result = import_layer(zpath, "redline", data_dir=mini_data_dir)
    assert result.source_crs == "EPSG:4550"
    row = _lands(mini_data_dir)
    assert row["source"] == "redline.zip"


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_shapefile_without_prj_needs_crs(mini_data_dir, tmp_path):
    folder = tmp_path / "noprj"
    folder.mkdir()
    pyogrio.write_dataframe(_bureau_frame(), folder / "redline.shp", driver="ESRI Shapefile",
                            encoding="UTF-8")
    (folder / "redline.prj").unlink()
    before = _snapshot(mini_data_dir)
    with pytest.raises(CRSError) as info:
        import_layer(folder, "redline", data_dir=mini_data_dir)
    assert info.value.code == "crs_required" and info.value.param == "crs"
    assert _snapshot(mini_data_dir) == before
    import_layer(folder, "redline", crs="EPSG:4550", data_dir=mini_data_dir)
    _lands(mini_data_dir)


@pytest.mark.parametrize("crs, offset", [("EPSG:4529", 41_000_000.0), ("EPSG:4490", None),
                                         ("EPSG:32651", None)])  # UTM 51N: via the file's CRS
def test_import_other_crs(mini_data_dir, tmp_path, crs, offset):
    frame = _bureau_frame()
    if offset:
        frame = frame.set_geometry(shapely.transform(frame.geometry.values,
                                                     lambda c: c + [offset, 0]), crs=crs)
    else:
        frame = frame.to_crs(crs)
    path = tmp_path / "in.gpkg"
    pyogrio.write_dataframe(frame, path, driver="GPKG")
    import_layer(path, "redline", data_dir=mini_data_dir)
    _lands(mini_data_dir)


def test_epsg4550_lands_where_geodesy_says(mini_data_dir, tmp_path):
    # Independent of any library: on the central meridian (123°E) the easting is the false
    # easting 500 000 m and the northing is the GRS80 meridian arc, 4 984 944.378 m at 45°N.
    frame = _gdf({"id": ["marker_1"], "citation_seed": [MINI_SEED], "citation_line": [5],
                  "citation_quote": ["建设东湖公园"]}, [Point(500000.0, 4984944.378)],
                 crs="EPSG:4550")
    path = tmp_path / "marker.gpkg"
    pyogrio.write_dataframe(frame, path, driver="GPKG")
    import_layer(path, "markers", data_dir=mini_data_dir)
    got = layers.load(mini_data_dir).feature("marker_1")["geometry"]
    assert (got.x, got.y) == (123.0, 45.0)  # exact after rounding to 6 decimals


def test_import_gcj02_needs_and_honours_crs(mini_data_dir, tmp_path):
    from planmap.geo.crs import wgs84_to_gcj02

    frame = _bureau_frame().to_crs("EPSG:4326")
    truth = frame.geometry.iloc[0]
    # AMap coordinates: WGS84 shifted ~500 m by the GCJ-02 obfuscation.
    gcj = shapely.transform(truth, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1])))
    path = tmp_path / "amap.geojson"
    pyogrio.write_dataframe(frame.set_geometry([gcj], crs="EPSG:4326"), path, driver="GeoJSON")
    import_layer(path, "redline", crs="GCJ-02", data_dir=mini_data_dir)
    got = _lands(mini_data_dir).geometry
    assert shapely.hausdorff_distance(got, truth) < 2e-6
    assert shapely.hausdorff_distance(gcj, truth) > 0.003  # the shift the import undid


def _lands(data_dir):
    data = layers.load(data_dir)
    (fid, row), = data.layers["redline"].iterrows()
    assert fid == "redline_1" and row["source_id"] == "A-01"
    assert row["name_zh"] == "东湖红线" and row["accuracy"] == "official"
    assert row["citation"] == {"seed": MINI_SEED, "line": 5, "quote": "建设东湖公园"}
    g = row.geometry
    assert g.centroid.distance(Point(122.84, 45.30)) < 1e-5  # ~1 m
    # 2 km square: ~0.0255° of longitude and ~0.018° of latitude at 45.3°N.
    minx, miny, maxx, maxy = g.bounds
    assert abs((maxx - minx) - 2000 / (111320 * 0.7034)) < 3e-4
    assert abs((maxy - miny) - 2000 / 111150) < 3e-4
    coords = shapely.get_coordinates(g)
    assert (abs(coords * 1e6 - (coords * 1e6).round()) < 1e-6).all()  # at most 6 decimals
    assert row["county"] == ["220881"]  # the mini 220881 square spans lon 122.5–123
    return row


# ---------------------------------------------------------------- ids, matching, catalog
def test_unnamed_ids_match_current_features_by_name(mini_data_dir, tmp_path):
    frame = _gdf({"名称": ["zone_core", "新地块"], "kind": ["core", "plot"],
                  "citation_seed": [None, MINI_SEED], "citation_line": [None, 5],
                  "citation_quote": [None, "建设东湖公园"]},
                 [box(122.11, 45.11, 122.19, 45.19), box(122.3, 45.3, 122.31, 45.31)])
    path = tmp_path / "zones.geojson"
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    result = import_layer(path, "zones", data_dir=mini_data_dir)
    assert result.matched == 1
    data = layers.load(mini_data_dir)
    zones = data.layers["zones"]
    assert list(zones.index) == ["zone_core", "zones_1"]
    assert zones.loc["zone_core", "citation"] == CITE  # carried over from the schematic one
    # The clause naming zone_core still applies; zone_park is gone, so is its clause link.
    assert {c["id"] for c in data.clauses_for("zone_core")} == {"cl_core", "cl_all_zones"}


def test_warns_about_clauses_that_lose_their_feature(mini_data_dir, tmp_path):
    frame = _gdf({"id": ["zone_new"], **{k: [v] for k, v in
                  (("citation_seed", MINI_SEED), ("citation_line", 3),
                   ("citation_quote", "两核"))}}, [box(122.1, 45.1, 122.2, 45.2)])
    path = tmp_path / "z.geojson"
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    result = import_layer(path, "zones", data_dir=mini_data_dir)
    assert any("cl_core" in w and "zone_core" in w for w in result.warnings)
    layers.load(mini_data_dir)  # a dangling clause reference is not a load error


def test_new_layer_is_listed_by_the_cli(mini_data_dir, tmp_path, capsys):
    path = tmp_path / "bureau.gpkg"
    pyogrio.write_dataframe(_bureau_frame(), path, driver="GPKG")
    assert cli(["import", str(path), "--layer", "redline", "--data-dir", str(mini_data_dir)]) == 0
    capsys.readouterr()
    assert cli(["layers", "--json", "--data-dir", str(mini_data_dir)]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["redline"]["features"] == 1
    assert rows["redline"]["accuracy"] == {"official": 1, "derived": 0, "schematic": 0}
    assert rows["zones"]["accuracy"] == {"official": 0, "derived": 0, "schematic": 2}


# ---------------------------------------------------------------- bad input changes nothing
def _bowtie_file(tmp_path):
    bowtie = shapely.Polygon([(122.1, 45.1), (122.2, 45.2), (122.2, 45.1), (122.1, 45.2)])
    path = tmp_path / "bad.geojson"
    pyogrio.write_dataframe(_gdf({"id": ["zone_core"]}, [bowtie]), path, driver="GeoJSON")
    return path, {}


def _empty_file(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', "utf-8")
    return path, {}


def _metres_as_degrees(tmp_path):
    path = tmp_path / "metres.geojson"
    sq = _square_4550()
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "zone_core"},
         "geometry": shapely.geometry.mapping(sq)}]}), "utf-8")
    return path, {}


def _wrong_crs_lands_elsewhere(tmp_path):
    # Beijing in WGS84: inside China, not in Baicheng.
    path = tmp_path / "beijing.geojson"
    pyogrio.write_dataframe(_gdf({"id": ["zone_core"]}, [box(116.3, 39.9, 116.4, 40.0)]), path,
                            driver="GeoJSON")
    return path, {}


def _uncited_new_feature(tmp_path):
    path = tmp_path / "uncited.geojson"
    pyogrio.write_dataframe(_gdf({"id": ["zone_other"]}, [box(122.1, 45.1, 122.2, 45.2)]),
                            path, driver="GeoJSON")
    return path, {}


def _misquoted_citation(tmp_path):
    path = tmp_path / "misquoted.geojson"
    pyogrio.write_dataframe(_gdf({"id": ["zone_other"], "citation_seed": [MINI_SEED],
                                  "citation_line": [3], "citation_quote": ["建设东湖公园"]},
                                 [box(122.1, 45.1, 122.2, 45.2)]), path, driver="GeoJSON")
    return path, {}


def _unknown_crs(tmp_path):
    path, _ = _uncited_new_feature(tmp_path)
    return path, {"crs": "EPSG:3857"}


def _unsupported_format(tmp_path):
    path = tmp_path / "plan.kml"
    path.write_text("<kml/>", "utf-8")
    return path, {}


def _missing_file(tmp_path):
    return tmp_path / "nope.geojson", {}


def _corrupt_geojson(tmp_path):
    path = tmp_path / "corrupt.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{', "utf-8")
    return path, {}


def _bad_layer_id(tmp_path):
    path, _ = _uncited_new_feature(tmp_path)
    return path, {"layer_id": "../etc"}


BAD = [
    (_bowtie_file, InvalidGeometry, "invalid_geometry", "Self-intersection"),
    (_empty_file, InvalidInput, "empty_input", "no features"),
    (_metres_as_degrees, CRSError, "coordinate_out_of_area", "EPSG:4550"),
    (_wrong_crs_lands_elsewhere, CRSError, "outside_service_area", "outside Baicheng"),
    (_uncited_new_feature, InvalidInput, "citation_required", "citation"),
    (_misquoted_citation, InvalidInput, "bad_citation", "not found"),
    (_unknown_crs, CRSError, "unsupported_crs", "EPSG:3857"),
    (_unsupported_format, InvalidInput, "unsupported_format", "plan.kml"),
    (_missing_file, InvalidInput, "file_not_found", "nope.geojson"),
    (_corrupt_geojson, InvalidInput, "unreadable_file", "corrupt.geojson"),
    (_bad_layer_id, InvalidInput, "invalid_layer_id", "../etc"),
]


@pytest.mark.parametrize("make, exc, code, text", BAD, ids=lambda v: getattr(v, "__name__", ""))
def test_bad_import_is_refused_and_changes_nothing(mini_data_dir, tmp_path, make, exc, code, text):
    path, kwargs = make(tmp_path)
    layer_id = kwargs.pop("layer_id", "zones")
    before = _snapshot(mini_data_dir)
    with pytest.raises(exc) as info:
        import_layer(path, layer_id, data_dir=mini_data_dir, **kwargs)
    assert info.value.code == code
    assert text in info.value.message_en
    assert info.value.message_zh
    assert _snapshot(mini_data_dir) == before
    assert not list((mini_data_dir / "data").glob(".*.tmp"))


def test_cli_reports_a_bad_import_with_status_2(mini_data_dir, tmp_path, capsys):
    path, _ = _bowtie_file(tmp_path)
    assert cli(["import", str(path), "--layer", "zones", "--data-dir", str(mini_data_dir)]) == 2
    err = capsys.readouterr().err
    assert "invalid_geometry" in err and "Self-intersection" in err


# ---------------------------------------------------------------- versions and restore
def _zones_file(tmp_path, name, x0):
    path = tmp_path / name
    frame = _gdf({"id": ["zone_core"]}, [box(x0, 45.1, x0 + 0.05, 45.15)])
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    return path


def test_restore_brings_back_previous_versions(mini_data_dir, tmp_path, capsys):
    target = mini_data_dir / "data" / "zones.geojson"
    v0 = target.read_bytes()
    version0 = layers.load(mini_data_dir).data_version
    r1 = import_layer(_zones_file(tmp_path, "a.geojson", 122.1), "zones", data_dir=mini_data_dir)
    assert r1.previous is not None and r1.previous.read_bytes() == v0
    v1 = target.read_bytes()
    import_layer(_zones_file(tmp_path, "b.geojson", 122.2), "zones", data_dir=mini_data_dir)
    assert len(kept_versions("zones", mini_data_dir)) == 2
    assert layers.load(mini_data_dir).feature("zone_core")["geometry"].bounds[0] == 122.2
    version1 = layers.load(mini_data_dir).data_version
    assert version1 != version0  # caches keyed on the data version refresh
    assert layers.load(mini_data_dir).layer_entry("zones")["geometry_types"] == ["Polygon"]

    restore_previous("zones", mini_data_dir)
    assert target.read_bytes() == v1
    assert cli(["import", "--restore", "--layer", "zones", "--data-dir", str(mini_data_dir)]) == 0
    assert "restored zones" in capsys.readouterr().out
    assert target.read_bytes() == v0
    restored = layers.load(mini_data_dir)
    assert restored.data_version != version1
    assert set(restored.layer_entry("zones")["geometry_types"]) == {"Point", "Polygon"}
    assert layers.load(mini_data_dir).layers["zones"]["accuracy"].eq("schematic").all()
    with pytest.raises(NotFound) as info:
        restore_previous("zones", mini_data_dir)
    assert info.value.code == "no_previous_version"
    assert target.read_bytes() == v0


def test_restore_refuses_a_corrupt_kept_version(mini_data_dir, tmp_path):
    import_layer(_zones_file(tmp_path, "a.geojson", 122.1), "zones", data_dir=mini_data_dir)
    (kept,) = kept_versions("zones", mini_data_dir)
    kept.write_text("{", "utf-8")
    before = _snapshot(mini_data_dir)
    with pytest.raises(LayerError):
        restore_previous("zones", mini_data_dir)
    assert _snapshot(mini_data_dir) == before


def test_write_failure_is_a_layer_error_and_changes_nothing(mini_data_dir, tmp_path,
                                                             monkeypatch):
    from planmap.layers import importer

    def no_space(src, dst):
        raise OSError(28, "No space left on device", str(dst))

    before = _snapshot(mini_data_dir)
    monkeypatch.setattr(importer.os, "replace", no_space)
    with pytest.raises(LayerError) as info:
        import_layer(_zones_file(tmp_path, "a.geojson", 122.1), "zones", data_dir=mini_data_dir)
    assert info.value.code == "write_failed"
    assert "zones.geojson" in info.value.message_en and "No space" in info.value.message_en
    assert _snapshot(mini_data_dir) == before  # no spurious kept version either
    assert not list((mini_data_dir / "data").glob(".*.tmp"))


def test_concurrent_imports_are_serialised(mini_data_dir, tmp_path):
    files = [_zones_file(tmp_path, f"{i}.geojson", 122.1 + 0.1 * i) for i in range(4)]
    errors = []

    def run(path):
        try:
            import_layer(path, "zones", data_dir=mini_data_dir)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    # Every import kept the one before it: the original plus three imported versions.
    assert len(kept_versions("zones", mini_data_dir)) == 4
    x0 = layers.load(mini_data_dir).feature("zone_core")["geometry"].bounds[0]
    assert x0 in {122.1, 122.2, 122.3, 122.4}


def test_import_without_file_is_an_input_error(mini_data_dir, capsys):
    assert cli(["import", "--layer", "zones", "--data-dir", str(mini_data_dir)]) == 2
    assert "file_required" in capsys.readouterr().err


# ---------------------------------------------------------------- killed mid-write
def _big_file(tmp_path) -> Path:
    """~1 MB of output: a dozen 64 KiB chunks, so a slowed write is easy to interrupt."""
    n = 150
    geoms = [Point(122.05 + 0.0015 * i, 45.05).buffer(0.0006, 64) for i in range(n)]
    frame = _gdf({"id": [f"big_{i}" for i in range(n)], "citation_seed": [MINI_SEED] * n,
                  "citation_line": [3] * n, "citation_quote": ["两核"] * n}, geoms)
    path = tmp_path / "big.geojson"
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    return path


def test_import_killed_mid_write_leaves_previous_version_intact(mini_data_dir, tmp_path):
    target = mini_data_dir / "data" / "zones.geojson"
    before = target.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.slow_import", "0.1", "import", str(_big_file(tmp_path)),
         "--layer", "zones", "--data-dir", str(mini_data_dir)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Wait until the new zones.geojson is being written (its temp file exists and grows).
        deadline = time.monotonic() + 60
        temp = []
        while time.monotonic() < deadline and proc.poll() is None:
            temp = [p for p in (mini_data_dir / "data").glob(".zones.geojson.*.tmp")
                    if p.stat().st_size > 0]
            if temp:
                break
            time.sleep(0.02)
        assert temp, "the import never started writing: " + proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == before
    assert kept_versions("zones", mini_data_dir) == []  # nothing replaced, nothing kept
    data = layers.load(mini_data_dir)  # strict: everything still loads
    assert list(data.layers["zones"].index) == ["zone_core", "zone_park"]
    # The next import clears the half-written temp file and succeeds.
    import_layer(_zones_file(tmp_path, "next.geojson", 122.1), "zones", data_dir=mini_data_dir)
    assert not list((mini_data_dir / "data").glob(".zones.geojson.*.tmp"))
    assert list(layers.load(mini_data_dir).layers["zones"].index) == ["zone_core"]


def test_imported_official_red_line_binds_its_clauses(tmp_data_dir, tmp_path):
    """Issue 21: the 三区三线 clauses take effect on an imported ``eco_redline`` layer."""
    from planmap.geo.index import ZoneIndex
    from planmap.geo.sitecheck import site_check

    site = Point(122.40, 45.30)  # 洮南市, outside every shipped ecological zone
    before = layers.load(tmp_data_dir)
    res = site_check(ZoneIndex.from_plan_data(before), site)
    assert "eco_redline" in {x["id"] for x in res["official_layers_note"]["layers"]}
    assert res["verdict"] != "prohibited"

    src = tmp_path / "redline.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": shapely.geometry.mapping(site.buffer(0.02)),
        "properties": {"id": "redline_1", "name_zh": "生态保护红线（测试）",
                       "citation_seed": "000_f32aaef515cfbb76", "citation_line": 849,
                       "citation_quote": "严格执行生态保护红线管理办法"}}]}, ensure_ascii=False),
        "utf-8")
    import_layer(src, "eco_redline", crs="EPSG:4326", data_dir=tmp_data_dir)
    after = layers.load(tmp_data_dir)
    assert after.dangling_clause_refs() == {}
    res = site_check(ZoneIndex.from_plan_data(after), site)
    assert res["verdict"] == "prohibited"
    assert {"pol_red_line_pbf", "pol_red_line_rules"} <= set(res["verdict_basis"])
    missing = {x["id"] for x in res["official_layers_note"]["layers"]}
    assert missing == {"basic_farmland", "urban_growth_boundary", "basic_grassland"}
