"""Independent GIS clients against a real server: GDAL's ogrinfo/ogr2ogr (OAPIF driver)."""

from __future__ import annotations

import json
import re
import subprocess

import pyogrio
import pytest
import shapely

from tests.external import need_program
from tests.server.live import fetch, live_server
from tests.server.ogc_expect import expected_collections

pytestmark = pytest.mark.external

FORMATS = ("geojson", "gpkg", "shp.zip", "kml", "csv")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with live_server({"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db")}) as (base, app):
        yield base, app.extensions["planmap"].data


def run(*args) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def ogrinfo(*args) -> str:
    return run(need_program("ogrinfo"), "-ro", *args)


def feature_ids(output: str) -> list[str]:
    return re.findall(r"^\s+id \(String\) = (\S+)$", output, re.M)


def test_ogrinfo_lists_every_layer(served):
    base, data = served
    out = ogrinfo("-so", f"OAPIF:{base}/ogc")
    listed = re.findall(r"^\d+: ([a-z0-9_]+) ", out, re.M)
    assert listed == list(expected_collections(data))


def test_paging_with_page_size_one_returns_every_feature(served):
    base, data = served
    for cid, (_layer, gdf) in expected_collections(data).items():
        out = ogrinfo("-q", "-oo", "PAGE_SIZE=1", f"OAPIF:{base}/ogc", cid)
        assert feature_ids(out) == list(gdf["id"]), cid


def test_spatial_filter_returns_only_features_in_the_box(served):
    base, data = served
    checked = 0
    for cid, (_layer, gdf) in expected_collections(data).items():
        x0, y0, x1, y1 = gdf.total_bounds
        box = (x0 + (x1 - x0) * 0.25, y0 + (y1 - y0) * 0.25, (x0 + x1) / 2, (y0 + y1) / 2)
        expected = {fid for fid, g in zip(gdf["id"], gdf.geometry, strict=True)
                    if g.intersects(shapely.box(*box))}
        out = ogrinfo("-q", "-spat", *(f"{v:.6f}" for v in box), f"OAPIF:{base}/ogc", cid)
        got = feature_ids(out)
        assert set(got) == expected, cid
        assert len(got) == len(set(got))
        checked += len(gdf) - len(expected)
    assert checked > 0  # the boxes did leave features out


@pytest.mark.parametrize("page_size", ["2", "1000"])
def test_ogr2ogr_downloads_each_collection_completely_without_geometry_type_warnings(
        served, tmp_path, page_size):
    """GDAL types a layer from its first page; a small page is the hard case."""
    base, data = served
    ogr2ogr = need_program("ogr2ogr")
    for cid, (_layer, gdf) in expected_collections(data).items():
        out = tmp_path / f"{cid}.gpkg"
        result = subprocess.run([ogr2ogr, "-f", "GPKG", str(out), f"OAPIF:{base}/ogc", cid,
                                 "-oo", f"PAGE_SIZE={page_size}"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "geometry of type" not in result.stderr, (cid, result.stderr[-1000:])
        assert pyogrio.read_info(out, layer=cid)["features"] == len(gdf), cid
        downloaded = pyogrio.read_dataframe(out, layer=cid)
        assert list(downloaded["id"]) == list(gdf["id"])


def _download(base, tmp_path, name, crs=None):
    url = f"{base}/export/{name}" + (f"?crs={crs}" if crs else "")
    path = tmp_path / (f"{crs.replace(':', '_')}_{name}" if crs else name)
    path.write_bytes(fetch(url))
    return path


def _counts_and_epsg(target: str) -> tuple[int, set[str]]:
    out = ogrinfo("-so", "-al", target)
    counts = [int(n) for n in re.findall(r"^Feature Count: (\d+)$", out, re.M)]
    # the CRS's own ID is the last ID[...] of each layer's WKT block
    epsg = set(re.findall(r'^    ID\["EPSG",(\d+)\]\]$', out, re.M))
    return sum(counts), epsg


EXPORT_CASES = [(fmt, crs) for crs in ("EPSG:4326", "EPSG:4490", "EPSG:4550") for fmt in FORMATS
                if not (fmt == "kml" and crs != "EPSG:4326")]  # KML is WGS 84 only: 400


@pytest.mark.parametrize(("fmt", "crs"), EXPORT_CASES)
def test_every_export_opens_with_ogrinfo_with_count_and_crs(served, tmp_path, fmt, crs):
    base, data = served
    total = sum(len(g) for g in data.layers.values())
    path = _download(base, tmp_path, f"all.{fmt}", crs)
    code = crs.split(":")[1]
    if fmt == "shp.zip":
        count, epsg = _counts_and_epsg(f"/vsizip/{path}")  # every .shp in the zip
        assert epsg == {code}
    elif fmt == "csv":
        count, _ = _counts_and_epsg(str(path))
        crs_values = set(re.findall(r"^\s+crs \(String\) = (\S+)$",
                                    ogrinfo("-q", "-al", "-geom=NO", str(path)), re.M))
        assert crs_values == {crs}
    else:
        count, epsg = _counts_and_epsg(str(path))
        assert epsg == {code}, epsg
    assert count == total


def test_gauss_kruger_export_areas_match_the_site_check(served, tmp_path):
    base, data = served
    path = _download(base, tmp_path, "admin.gpkg", "EPSG:4550")
    out = ogrinfo("-q", "-geom=NO", "-dialect", "OGRSQL", "-sql",
                  "SELECT id, OGR_GEOM_AREA AS area FROM admin", str(path))
    areas = dict(re.findall(r"^\s+id \(String\) = (\S+)\n\s+area \(Real\) = (\S+)$", out, re.M))
    assert set(areas) == set(data.layers["admin"]["id"])
    api = json.loads(fetch(f"{base}/api/v1/layers/admin"))
    counties = [f for f in api["features"] if f["properties"]["kind"] == "county"]
    assert len(counties) >= 5
    for feature in counties:
        body = json.dumps({"geometry": feature["geometry"]}).encode()
        check = json.loads(fetch(f"{base}/api/v1/sitecheck", body,
                                 {"Content-Type": "application/json"}))
        assert float(areas[feature["id"]]) == pytest.approx(check["site"]["area_m2"], rel=1e-3)
