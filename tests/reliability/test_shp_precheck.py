"""The Shapefile vertex and feature limits are checked from the .shp record headers,
before GDAL reads a coordinate (issue 22 item 6; figures in docs/SECURITY.md)."""

from __future__ import annotations

import io
import struct
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from planmap.geo.errors import LimitExceeded
from planmap.geo.io import parse_site
from planmap.geo.limits import Limits

from tests.reliability.support import assert_error

SITES = Path(__file__).resolve().parent.parent / "data" / "sites"
LIMITS = Limits(max_vertices=1_000, max_parts=20)


def shp_zip(geoms) -> bytes:
    frame = gpd.GeoDataFrame({"name": [f"p{i}" for i in range(len(geoms))]},
                             geometry=list(geoms), crs="EPSG:4326")
    with tempfile.TemporaryDirectory() as tmp:
        frame.to_file(Path(tmp) / "site.shp", engine="pyogrio")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(tmp).iterdir()):
                zf.write(p, p.name)
    return buf.getvalue()


def ring(n: int, lon=122.84, lat=45.62, r=0.005) -> shapely.Polygon:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return shapely.Polygon(np.column_stack([lon + r * np.cos(t), lat + r * np.sin(t)]))


@pytest.fixture
def gdal_never_reads(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("GDAL was asked to read a file the headers already refuse")
    monkeypatch.setattr(pyogrio.raw, "read", refuse)
    monkeypatch.setattr(pyogrio, "read_info", refuse)


def test_too_many_vertices_is_refused_from_the_headers(gdal_never_reads):
    with pytest.raises(LimitExceeded) as info:
        parse_site(shp_zip([ring(1_500)]), fmt="shapefile", limits=LIMITS)
    assert info.value.code == "too_many_vertices"
    assert "1000" in info.value.message_en


def test_vertices_are_summed_over_records(gdal_never_reads):
    parts = [ring(400, lon=122.80 + 0.02 * i) for i in range(3)]  # 3 x 401 > 1000
    with pytest.raises(LimitExceeded) as info:
        parse_site(shp_zip(parts), fmt="shapefile", limits=LIMITS)
    assert info.value.code == "too_many_vertices"


def test_too_many_features_is_refused_from_the_headers(gdal_never_reads):
    parts = [ring(4, lon=122.70 + 0.01 * i) for i in range(25)]
    with pytest.raises(LimitExceeded) as info:
        parse_site(shp_zip(parts), fmt="shapefile", limits=LIMITS)
    assert info.value.code == "too_many_parts"


def test_a_site_under_the_limits_is_still_read():
    site = parse_site(shp_zip([ring(900)]), fmt="shapefile", limits=LIMITS)
    assert shapely.get_num_coordinates(site.geometry) == 901


def test_headers_that_do_not_add_up_are_left_to_gdal():
    # numPoints of the only record set to -1: the pre-check stops, GDAL gives its answer
    src = zipfile.ZipFile(io.BytesIO((SITES / "parcel_shp.zip").read_bytes()))
    members = {i.filename: src.read(i) for i in src.infolist()}
    name = next(n for n in members if n.endswith(".shp"))
    shp = bytearray(members[name])
    shp[100 + 8 + 40:100 + 8 + 44] = struct.pack("<i", -1)
    members[name] = bytes(shp)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    with pytest.raises(Exception) as info:
        parse_site(buf.getvalue(), fmt="shapefile")
    assert getattr(info.value, "code", None) in ("invalid_shapefile", "empty_geometry"), \
        info.value


def test_http_upload_over_the_vertex_limit_is_413(rel_client, rel_app):
    limit = int(rel_app.config["MAX_VERTICES"])
    data = shp_zip([ring(limit + 10)])
    response = rel_client.post("/api/v1/sitecheck", data={"file": (io.BytesIO(data), "s.zip")},
                               content_type="multipart/form-data")
    err = assert_error(response, 413, "too_many_vertices")
    assert "records" in err["message_en"]  # the header count, not GDAL's
