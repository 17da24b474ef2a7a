"""Property tests that ``tests/geo/test_properties.py`` does not already cover.

That file covers arbitrary bytes/text/JSON/WKT/KML/TXT/zip input, ``parse_crs``,
``to_wgs84``, points CSV robustness and round trips through GeoJSON, WKT, KML and TXT.
Added here:

* round trips through a zipped Shapefile and through points CSV / GeoJSON;
* every accepted spelling of a supported CRS maps onto the same name;
* the HTTP layer: arbitrary query strings and JSON bodies on the public endpoints give a
  2xx or a 4xx in the one error shape, never a 5xx.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planmap.geo import crs as gcrs
from planmap.geo.io import parse_points, parse_site

from tests.reliability.support import ERROR_KEYS

FEW = settings(max_examples=12, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SOME = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def convex_sites(draw):
    cx = draw(st.floats(122.0, 124.2))
    cy = draw(st.floats(44.6, 46.0))
    pts = draw(st.lists(st.tuples(st.floats(-0.01, 0.01), st.floats(-0.01, 0.01)),
                        min_size=3, max_size=20))
    hull = shapely.convex_hull(shapely.MultiPoint([(cx + dx, cy + dy) for dx, dy in pts]))
    if hull.geom_type != "Polygon" or hull.area < 1e-8:
        hull = shapely.box(cx, cy, cx + 0.005, cy + 0.004)
    return shapely.orient_polygons(hull)


def _shapefile_zip(poly, crs: str) -> bytes:
    import geopandas as gpd

    with tempfile.TemporaryDirectory() as tmp:
        gdf = gpd.GeoDataFrame({"name": ["p"]}, geometry=[poly], crs="EPSG:4326").to_crs(crs)
        gdf.to_file(Path(tmp) / "site.shp", engine="pyogrio")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for p in sorted(Path(tmp).iterdir()):
                zf.write(p, p.name)
        return buf.getvalue()


@FEW
@given(poly=convex_sites(), crs=st.sampled_from(["EPSG:4326", "EPSG:4490", "EPSG:4550"]))
def test_valid_polygons_round_trip_through_a_zipped_shapefile(poly, crs):
    site = parse_site(_shapefile_zip(poly, crs), fmt="shapefile")
    assert site.repairs == []
    a, b = gcrs.to_metric(poly), gcrs.to_metric(site.geometry)
    assert shapely.hausdorff_distance(a, b) < 0.01  # metres (projection round trip)
    assert gcrs.area_m2(site.geometry) == pytest.approx(a.area, rel=1e-6)


_ids = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=8)


@SOME
@given(points=st.lists(st.tuples(_ids, st.floats(121.6, 124.4), st.floats(44.2, 46.3)),
                       min_size=1, max_size=40, unique_by=lambda p: p[0]))
def test_points_round_trip_through_csv_and_geojson(points):
    ids = [p[0] for p in points]
    lon = np.array([p[1] for p in points])
    lat = np.array([p[2] for p in points])
    csv = "id,lon,lat\n" + "".join(f"{i},{x!r},{y!r}\n" for i, x, y in points)
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": i}, "geometry": {"type": "Point",
                                                                  "coordinates": [x, y]}}
        for i, x, y in points]}
    for raw, fmt in ((csv, "csv"), (json.dumps(fc, ensure_ascii=False), "geojson")):
        got_ids, got_lon, got_lat = parse_points(raw, fmt=fmt)
        assert [str(i) for i in got_ids] == ids
        assert np.allclose(got_lon, lon, rtol=0, atol=1e-12)
        assert np.allclose(got_lat, lat, rtol=0, atol=1e-12)


_SPELLINGS = {
    "EPSG:4326": ["EPSG:4326", "epsg:4326", " EPSG:4326 ", "4326", "WGS84",
                  "urn:ogc:def:crs:EPSG::4326", "http://www.opengis.net/def/crs/EPSG/0/4326"],
    "EPSG:4490": ["EPSG:4490", "epsg:4490", "4490", "CGCS2000",
                  "urn:ogc:def:crs:EPSG::4490", "http://www.opengis.net/def/crs/EPSG/0/4490"],
    "EPSG:4550": ["EPSG:4550", "epsg:4550", "4550"],
    "EPSG:4529": ["EPSG:4529", "epsg:4529", "4529"],
}


@pytest.mark.parametrize("name, spellings", sorted(_SPELLINGS.items()))
def test_supported_crs_spellings_map_to_one_name(name, spellings):
    accepted = {}
    for s in spellings:
        try:
            accepted[s] = gcrs.parse_crs(s)
        except Exception:  # a spelling may be unsupported; it must not map elsewhere
            continue
    assert accepted, f"no spelling of {name} accepted"
    assert set(accepted.values()) == {name}, accepted


# ------------------------------------------------------------------ the HTTP layer

def _assert_4xx_shape_or_ok(response, ok=(200, 201)):
    status = response.status_code
    assert status < 500, response.get_data(as_text=True)[:300]
    if status not in ok:
        assert 400 <= status < 500
        err = json.loads(response.get_data(as_text=True))["error"]
        assert set(err) == ERROR_KEYS and err["status"] == status and err["code"]


_texty = st.one_of(st.text(max_size=30), st.sampled_from(
    ["nan", "-inf", "1e400", "122.84", "45.62", "0x7a", "1_000", "", " ", "4550", "EPSG:4490",
     "+proj=longlat", "%00", "../", "１２２"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr))


@SOME
@given(lon=_texty, lat=_texty, crs=st.one_of(st.none(), _texty),
       radius=st.one_of(st.none(), _texty))
def test_point_query_with_arbitrary_parameters_is_never_a_5xx(rel_client, lon, lat, crs,
                                                             radius):
    args = {"lon": lon, "lat": lat}
    if crs is not None:
        args["crs"] = crs
    if radius is not None:
        args["radius"] = radius
    _assert_4xx_shape_or_ok(rel_client.get("/api/v1/zones?" + urlencode(args)))


@SOME
@given(limit=st.one_of(st.none(), _texty), offset=st.one_of(st.none(), _texty),
       bbox=st.one_of(st.none(), _texty, st.lists(st.floats(allow_nan=True), min_size=1,
                                                   max_size=7).map(
                                                       lambda v: ",".join(map(repr, v)))),
       crs=st.one_of(st.none(), _texty), f=st.one_of(st.none(), st.sampled_from(
           ["json", "html", "xml", ""])))
def test_ogc_items_with_arbitrary_parameters_is_never_a_5xx(rel_client, limit, offset, bbox,
                                                           crs, f):
    args = {k: v for k, v in {"limit": limit, "offset": offset, "bbox": bbox, "crs": crs,
                              "f": f}.items() if v is not None}
    _assert_4xx_shape_or_ok(rel_client.get("/ogc/collections/admin/items?" + urlencode(args)))


_leaf = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(),
                  st.text(max_size=8), st.just(122.835), st.just(45.615))
_json = st.recursive(_leaf, lambda c: st.one_of(
    st.lists(c, max_size=5),
    st.dictionaries(st.sampled_from(["type", "coordinates", "geometry", "wkt", "crs", "repair",
                                     "rings", "features", "properties"]), c, max_size=5)),
    max_leaves=40)


@SOME
@given(body=_json)
def test_site_check_with_arbitrary_json_is_never_a_5xx(rel_client, body):
    response = rel_client.post("/api/v1/sitecheck", data=json.dumps(body),
                               content_type="application/json")
    _assert_4xx_shape_or_ok(response)
