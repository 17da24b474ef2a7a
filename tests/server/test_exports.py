"""GIS exports (/export/... and ``planmap export``), read back with pyogrio/GDAL."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pyogrio
import pyproj
import pytest
import shapely
from planmap.server import create_app
from planmap.server.cli import main as cli_main

FORMATS = ("geojson", "gpkg", "shp.zip", "kml", "csv")


@pytest.fixture
def mini_client(mini_data_dir, tmp_path):
    return create_app({"DB_PATH": str(tmp_path / "m.db"),
                       "DATA_DIR": str(mini_data_dir)}).test_client()


def _read(body: bytes, fmt: str, tmp_path, layer=None, name="x"):
    path = tmp_path / f"{name}.{fmt}"
    path.write_bytes(body)
    if fmt == "shp.zip":
        return pyogrio.read_dataframe(f"/vsizip/{path}/{layer}.shp")
    if fmt in ("csv", "geojson"):
        return pyogrio.read_dataframe(path)
    return pyogrio.read_dataframe(path, layer=layer)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_has_every_feature_with_provenance(client, data, fmt, tmp_path):
    r = client.get(f"/export/admin.{fmt}")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert "attachment" in r.headers["Content-Disposition"]
    df = _read(r.data, fmt, tmp_path, layer="admin")
    assert len(df) == len(data.layers["admin"])
    names = {"citation_seed", "citation_line", "citation_quote"} if fmt != "shp.zip" \
        else {"cite_seed", "cite_line", "cite_quote"}
    assert names <= set(df.columns)
    assert set(df["accuracy"]) <= {"official", "derived", "schematic"}
    ids = set(df["id"])
    assert ids == set(data.layers["admin"]["id"])


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4550"])
@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp.zip"])
def test_exports_are_written_in_the_requested_crs(client, fmt, crs, tmp_path):
    r = client.get(f"/export/admin.{fmt}?crs={crs}")
    assert r.status_code == 200
    path = tmp_path / f"a.{fmt}"
    path.write_bytes(r.data)
    target = f"/vsizip/{path}/admin.shp" if fmt == "shp.zip" else str(path)
    info = pyogrio.read_info(target)
    assert pyproj.CRS(info["crs"]).to_epsg() == int(crs.split(":")[1])


def test_gauss_kruger_export_keeps_areas(client, data, tmp_path):
    r = client.get("/export/admin.gpkg?crs=EPSG:4550")
    path = tmp_path / "a.gpkg"
    path.write_bytes(r.data)
    exported = pyogrio.read_dataframe(path).set_index("id")
    tr = pyproj.Transformer.from_crs(4326, 4550, always_xy=True)
    for fid, geom in zip(data.layers["admin"]["id"], data.layers["admin"].geometry, strict=True):
        import numpy as np

        ref = shapely.transform(geom, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
        assert exported.loc[fid].geometry.area == pytest.approx(ref.area, rel=1e-6)


def test_csv_names_its_crs_and_uses_wkt(client, tmp_path):
    text = client.get("/export/admin.csv?crs=EPSG:4550").get_data(as_text=True)
    csv.field_size_limit(50_000_000)  # a county boundary's WKT is long
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and all(row["crs"] == "EPSG:4550" for row in rows)
    geom = shapely.from_wkt(rows[0]["WKT"])
    assert 3e5 < geom.centroid.x < 8e5 and 4.8e6 < geom.centroid.y < 5.4e6  # GK metres


def test_all_gpkg_holds_one_table_per_layer(client, data, tmp_path):
    r = client.get("/export/all.gpkg")
    path = tmp_path / "all.gpkg"
    path.write_bytes(r.data)
    tables = {name for name, _ in pyogrio.list_layers(path)}
    assert tables == set(data.layers)
    for lid, gdf in data.layers.items():
        info = pyogrio.read_info(path, layer=lid)
        assert info["features"] == len(gdf)
        assert info["layer_metadata"]["attribution"] == \
            next(e for e in data.catalog if e["id"] == lid)["attribution"]


def test_all_geojson_has_a_layer_column(client, data):
    fc = json.loads(client.get("/export/all.geojson").data)
    assert len(fc["features"]) == sum(len(g) for g in data.layers.values())
    assert {f["properties"]["layer"] for f in fc["features"]} == set(data.layers)


def test_shapefile_zip_splits_geometry_types_and_keeps_full_names(mini_client, tmp_path):
    r = mini_client.get("/export/zones.shp.zip")
    assert r.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(r.data))
    names = set(zf.namelist())
    for stem in ("zones_polygon", "zones_point"):
        assert {f"{stem}.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")} <= names
    assert "ATTRIBUTION.txt" in names and "fields.csv" in names
    fields = list(csv.DictReader(io.StringIO(zf.read("fields.csv").decode())))
    assert all(len(row["short"]) <= 10 for row in fields)
    full = {row["full"] for row in fields}
    assert {"citation_quote", "citation_seed", "attribution", "licence"} <= full
    path = tmp_path / "z.zip"
    path.write_bytes(r.data)
    polys = pyogrio.read_dataframe(f"/vsizip/{path}/zones_polygon.shp")
    points = pyogrio.read_dataframe(f"/vsizip/{path}/zones_point.shp")
    assert list(polys["id"]) == ["zone_core"] and list(points["id"]) == ["zone_park"]
    assert points["name_zh"][0] == "zone_park"  # UTF-8 via .cpg
    attrs = list(csv.DictReader(io.StringIO(zf.read("attributes.csv").decode())))
    assert {a["id"]: a["citation_quote"] for a in attrs}["zone_park"] == "建设东湖公园"


def test_long_quotes_survive_in_attributes_csv(tmp_path, mini_data_dir):
    quote = "构建“两核、两带、一廊道”生态安全格局" * 12  # > 254 bytes
    path = mini_data_dir / "data" / "zones.geojson"
    fc = json.loads(path.read_text("utf-8"))
    fc["features"][0]["properties"]["citation"]["quote"] = quote
    path.write_text(json.dumps(fc, ensure_ascii=False), "utf-8")
    client = create_app({"DB_PATH": str(tmp_path / "m.db"),
                         "DATA_DIR": str(mini_data_dir)}).test_client()
    zf = zipfile.ZipFile(io.BytesIO(client.get("/export/zones.shp.zip").data))
    attrs = {a["id"]: a for a in csv.DictReader(io.StringIO(zf.read("attributes.csv").decode()))}
    assert attrs["zone_core"]["citation_quote"] == quote
    (tmp_path / "z.zip").write_bytes(zf.fp.getvalue())
    dbf = pyogrio.read_dataframe(f"/vsizip/{tmp_path / 'z.zip'}/zones_polygon.shp")
    cut = dbf["cite_quote"][0]
    assert quote.startswith(cut) and len(cut.encode()) <= 254  # cut on a character boundary


@pytest.mark.parametrize("url, status, code", [
    ("/export/admin.kml?crs=EPSG:4550", 400, "kml_requires_wgs84"),
    ("/export/admin.dxf", 400, "unknown_format"),
    ("/export/admin.geojson?crs=EPSG:3857", 400, "unsupported_crs"),
    ("/export/nope.geojson", 404, "unknown_layer"),
    ("/export/..%2F..%2Fetc%2Fpasswd", 404, None),
    ("/export/ADMIN.gpkg", 404, None),
])
def test_bad_export_requests(client, url, status, code):
    r = client.get(url)
    assert r.status_code == status
    err = r.get_json()["error"]
    if code:
        assert err["code"] == code


def test_cli_export_writes_the_same_data(tmp_path, data):
    out = tmp_path / "out" / "admin.gpkg"
    assert cli_main(["export", "gpkg", "--layer", "admin", "--crs", "EPSG:4490",
                     "-o", str(out)]) == 0
    info = pyogrio.read_info(out)
    assert info["features"] == len(data.layers["admin"])
    assert pyproj.CRS(info["crs"]).to_epsg() == 4490
    assert cli_main(["export", "kml", "--crs", "EPSG:4550", "-o", str(tmp_path / "x.kml")]) == 2
    assert not (tmp_path / "x.kml").exists()


def test_a_broken_layer_is_reported_and_the_rest_still_serve(mini_data_dir, tmp_path):
    (mini_data_dir / "data" / "zones.geojson").write_text('{"type": "FeatureColl', "utf-8")
    client = create_app({"DB_PATH": str(tmp_path / "m.db"),
                         "DATA_DIR": str(mini_data_dir)}).test_client()
    layers = {x["id"]: x for x in client.get("/api/v1/layers").get_json()["layers"]}
    assert layers["zones"]["available"] is False and layers["zones"]["problem"]
    assert layers["admin"]["available"] is True
    assert [c["id"] for c in client.get("/ogc/collections").get_json()["collections"]] \
        == ["admin"]
    r = client.get("/export/zones.geojson")
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "layer_unavailable"
    fc = json.loads(client.get("/export/all.geojson").data)
    assert {f["properties"]["layer"] for f in fc["features"]} == {"admin"}
    assert client.get("/api/v1/layers/zones").status_code == 503
    assert client.get("/ogc/collections/zones/items").status_code == 503


@pytest.mark.parametrize("layer", ["admin", "all"])
def test_kml_placemarks_are_named_in_chinese_with_english_in_the_description(client, data,
                                                                            layer):
    import xml.etree.ElementTree as ET

    ns = {"k": "http://www.opengis.net/kml/2.2"}
    root = ET.fromstring(client.get(f"/export/{layer}.kml").data)
    marks = root.findall(".//k:Placemark", ns)
    ids = list(data.layers["admin"]["id"]) if layer == "admin" else \
        [fid for gdf in data.layers.values() for fid in gdf["id"]]
    assert [m.get("id") for m in marks] == ids
    for mark in marks:
        props = data.feature(mark.get("id"))
        assert mark.findtext("k:name", namespaces=ns) == props["name_zh"]
        description = mark.findtext("k:description", namespaces=ns)
        if props.get("name_en"):
            assert description.splitlines()[0] == props["name_en"]
        assert f"accuracy: {props['accuracy']}" in description
        assert f"{props['citation']['seed']}:{props['citation']['line']}" in description
