"""Property-based tests (hypothesis) for geo.crs, geo.validate and geo.io.

Two kinds of property:

* arbitrary input never raises anything but a :class:`geo.errors.PlanmapError` subclass
  (and when a parser does return, its geometry is valid, non-empty, 2-D WGS 84);
* valid random polygons round-trip through GeoJSON, WKT, KML and 国土 TXT, and GCJ-02
  round-trips below 1 cm over the Baicheng bounding box.
"""

from __future__ import annotations

import io
import json
import math
import pathlib
import zipfile

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planmap.geo import crs as gcrs
from planmap.geo.errors import PlanmapError
from planmap.geo.io import FORMATS, parse_points, parse_site
from planmap.geo.limits import Limits
from planmap.geo.validate import validate_geometry

FAST = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
# Heavier properties (pandas per example, polygon generation, zip building) run fewer
# examples so the whole file stays within ~20 s on the 2-core machine.
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MEDIUM = settings(max_examples=100, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SMALL = Limits(max_bytes=200_000, max_vertices=5_000, max_parts=50, max_points=5_000,
               max_json_depth=32, max_unzipped_bytes=2_000_000)
BAICHENG_LON = (121.5, 124.8)
BAICHENG_LAT = (44.0, 46.5)


def _site_or_domain_error(data, **kwargs):
    """Call parse_site; anything but a PlanmapError fails the test."""
    try:
        site = parse_site(data, limits=SMALL, **kwargs)
    except PlanmapError as exc:
        assert exc.code and exc.message_en and exc.message_zh
        return None
    geom = site.geometry
    assert not geom.is_empty and geom.is_valid and not shapely.has_z(geom)
    coords = shapely.get_coordinates(geom)
    assert np.all(np.isfinite(coords))
    assert np.all(np.abs(coords[:, 0]) <= 180) and np.all(np.abs(coords[:, 1]) <= 90)
    return site


# --------------------------------------------------------------------------- arbitrary input

@FAST
@given(data=st.binary(max_size=2000), fmt=st.sampled_from((None,) + FORMATS))
def test_arbitrary_bytes_give_only_domain_errors(data, fmt):
    _site_or_domain_error(data, fmt=fmt)


@FAST
@given(text=st.text(max_size=500), fmt=st.sampled_from((None,) + FORMATS),
       repair=st.booleans())
def test_arbitrary_text_gives_only_domain_errors(text, fmt, repair):
    _site_or_domain_error(text, fmt=fmt, repair=repair)


_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=121.0, max_value=125.0), st.floats(min_value=44.0, max_value=47.0),
    st.integers(min_value=-10**30, max_value=10**30), st.just(122.8), st.just(45.6))
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), _numbers, st.text(max_size=10)),
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(st.sampled_from(["type", "coordinates", "geometry", "features",
                                         "properties", "geometries", "crs", "id", "name"]),
                        children, max_size=5)),
    max_leaves=60)
_types = st.sampled_from(["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                          "MultiPolygon", "GeometryCollection", "Feature",
                          "FeatureCollection", "Poligon"])


@MEDIUM
@given(doc=_json)
def test_arbitrary_json_gives_only_domain_errors(doc):
    text = json.dumps(doc, allow_nan=True)
    _site_or_domain_error(text, fmt="geojson")
    try:
        ids, lon, lat = parse_points(text, fmt="geojson", limits=SMALL)
        assert len(ids) == len(lon) == len(lat) and np.all(np.isfinite(lon))
    except PlanmapError:
        pass


_position = st.lists(_numbers, min_size=0, max_size=4)
_ring = st.lists(_position, max_size=8)


@FAST
@given(kind=_types, coords=st.one_of(_position, _ring, st.lists(_ring, max_size=3),
                                     st.lists(st.lists(_ring, max_size=2), max_size=2)),
       repair=st.booleans(), crs=st.sampled_from([None, "EPSG:4326", "gcj02", "EPSG:4550"]))
def test_geojson_shaped_input_gives_a_valid_site_or_a_domain_error(kind, coords, repair, crs):
    doc = {"type": kind, "coordinates": coords}
    if kind == "Feature":
        doc = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
                                                                 "coordinates": coords}}
    elif kind == "FeatureCollection":
        doc = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "MultiPoint",
                                                               "coordinates": coords}}]}
    _site_or_domain_error(json.dumps(doc, allow_nan=True), fmt="geojson", repair=repair,
                          crs=crs)


_wkt_token = st.sampled_from(["POLYGON", "MULTIPOLYGON", "POINT", "LINESTRING", "Z", "EMPTY",
                              "(", ")", "((", "))", ",", " ", "122.8", "45.6", "122.81",
                              "45.61", "nan", "inf", "-1e400", "SRID=4490;", "SRID=3857;"])


@FAST
@given(tokens=st.lists(_wkt_token, max_size=40), repair=st.booleans())
def test_wkt_shaped_input_gives_a_valid_site_or_a_domain_error(tokens, repair):
    _site_or_domain_error(" ".join(tokens), fmt="wkt", repair=repair)


_kml_piece = st.sampled_from([
    "<Placemark>", "</Placemark>", "<Polygon>", "</Polygon>", "<outerBoundaryIs>",
    "</outerBoundaryIs>", "<innerBoundaryIs>", "</innerBoundaryIs>", "<LinearRing>",
    "</LinearRing>", "<coordinates>", "</coordinates>", "<LineString>", "</LineString>",
    "<Point>", "</Point>", "<MultiGeometry>", "</MultiGeometry>", "<name>", "</name>",
    "122.8,45.6 ", "122.81,45.6 ", "122.81,45.61 ", "122.8,45.6,0 ", "abc,1 ", "&amp;",
    "&xxe;", "<!DOCTYPE kml [<!ENTITY xxe 'x'>]>", "<![CDATA[x]]>", "<?pi x?>"])


@FAST
@given(pieces=st.lists(_kml_piece, max_size=40), repair=st.booleans())
def test_kml_shaped_input_gives_a_valid_site_or_a_domain_error(pieces, repair):
    text = '<kml xmlns="http://www.opengis.net/kml/2.2">' + "".join(pieces) + "</kml>"
    _site_or_domain_error(text, fmt="kml", repair=repair)


_txt_line = st.one_of(
    st.sampled_from(["[属性描述]", "[地块坐标]", "坐标系=2000国家大地坐标系", "带号=41", "带号=40",
                     "几度分带=3", "几度分带=6", "坐标系=1980西安坐标系", "计量单位=米",
                     "4,1.0,1,地块,面,,,,@", "5,1.0,2,线,线,,,,@", "@", "", "J1,1,x,y"]),
    st.builds(lambda p, r, x, y: f"J{p},{r},{x},{y}", st.integers(0, 9), st.integers(0, 3),
              st.one_of(st.floats(5.0e6, 5.1e6), st.floats(allow_nan=True), st.text(max_size=3)),
              st.one_of(st.floats(4.1487e7, 4.1489e7), st.floats(4.8e5, 4.9e5),
                        st.floats(allow_nan=True))),
)


@MEDIUM
@given(lines=st.lists(_txt_line, max_size=30), repair=st.booleans(),
       encoding=st.sampled_from(["utf-8", "gb18030"]))
def test_txt_shaped_input_gives_a_valid_site_or_a_domain_error(lines, repair, encoding):
    data = "\r\n".join(lines).encode(encoding)
    _site_or_domain_error(data, fmt="txt", repair=repair)


_member_name = st.one_of(
    st.sampled_from(["a.shp", "a.shx", "a.dbf", "a.prj", "../a.shp", "/a.shp", "d/a.shp",
                     "a.SHP", "b.shp", "C:/a.shp", "a\\..\\..\\b.shp"]),
    # zipfile itself cuts names at NUL and cannot store lone surrogates: leave those out.
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
            min_size=1, max_size=12))


@FEW
@given(members=st.dictionaries(_member_name, st.binary(max_size=300), max_size=6))
def test_arbitrary_zips_give_only_domain_errors(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    _site_or_domain_error(buf.getvalue(), fmt="shapefile", crs="EPSG:4326")


@FAST
@given(text=st.one_of(st.text(max_size=300), st.integers(), st.floats(), st.none(),
                      st.binary(max_size=20),
                      st.builds(lambda p, n: f"{p}{n}",
                                st.sampled_from(["EPSG:", "epsg::", "urn:ogc:def:crs:EPSG::",
                                                 "http://www.opengis.net/def/crs/EPSG/0/", ""]),
                                st.integers(0, 99999))))
def test_parse_crs_returns_a_supported_name_or_a_crs_error(text):
    try:
        name = gcrs.parse_crs(text)
    except PlanmapError as exc:
        assert exc.code == "unsupported_crs" and exc.param == "crs"
    else:
        assert name in gcrs.SUPPORTED_CRS


_coord = st.floats(allow_nan=True, allow_infinity=True)


@FAST
@given(x=st.lists(_coord, min_size=1, max_size=5), y=st.lists(_coord, min_size=1, max_size=5),
       crs=st.sampled_from(gcrs.SUPPORTED_CRS))
def test_to_wgs84_returns_finite_degrees_or_a_domain_error(x, y, crs):
    n = min(len(x), len(y))
    try:
        lon, lat = gcrs.to_wgs84(x[:n], y[:n], crs)
    except PlanmapError:
        return
    assert np.all(np.isfinite(lon)) and np.all(np.abs(lat) <= 90)


@MEDIUM
@given(rows=st.lists(st.tuples(st.text(max_size=5), st.one_of(st.floats(), st.text(max_size=5)),
                               st.one_of(st.floats(), st.text(max_size=5))), max_size=20),
       header=st.sampled_from(["id,lon,lat", "id,x,y", "lon,lat", ""]))
def test_points_csv_gives_arrays_or_a_domain_error(rows, header):
    text = header + "\n" + "\n".join(f"{a},{b},{c}" for a, b, c in rows)
    try:
        ids, lon, lat = parse_points(text, fmt="csv", limits=SMALL)
    except PlanmapError:
        return
    assert len(ids) == len(lon) == len(lat)
    assert np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))


# --------------------------------------------------------------------------- round trips

@st.composite
def baicheng_polygons(draw):
    """Star-shaped simple polygons (sorted angles, positive radii), 50 m – 3 km across."""
    cx = draw(st.floats(122.0, 124.3))
    cy = draw(st.floats(44.5, 46.0))
    n = draw(st.integers(3, 24))
    angles = np.sort(np.array(draw(st.lists(st.floats(0, 2 * math.pi - 1e-3), min_size=n,
                                            max_size=n, unique=True))))
    if np.min(np.diff(np.append(angles, angles[0] + 2 * math.pi))) < 1e-3:
        angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    radius = np.array(draw(st.lists(st.floats(0.0005, 0.02), min_size=n, max_size=n)))
    ring = np.column_stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)])
    poly = shapely.Polygon(ring)
    if not poly.is_valid or poly.area == 0:
        poly = shapely.convex_hull(shapely.MultiPoint(ring))
    return poly


def _ring_lonlat(poly):
    return np.asarray(poly.exterior.coords)


def _as_geojson(poly):
    return json.dumps({"type": "Polygon", "coordinates": [_ring_lonlat(poly).tolist()]})


def _as_wkt(poly):
    return shapely.to_wkt(poly, rounding_precision=-1)


def _as_kml(poly):
    coords = " ".join(f"{float(x)!r},{float(y)!r}" for x, y in _ring_lonlat(poly))
    return ('<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>p</name><Polygon>'
            f"<outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing>"
            "</outerBoundaryIs></Polygon></Placemark></kml>")


def _as_txt(poly):
    ring = _ring_lonlat(poly)
    east, north = gcrs.from_wgs84(ring[:, 0], ring[:, 1], "EPSG:4529")
    rows = [f"J{i + 1},1,{n:.4f},{e:.4f}" for i, (n, e) in enumerate(zip(north, east,
                                                                          strict=True))]
    header = ["[属性描述]", "坐标系=2000国家大地坐标系", "几度分带=3", "投影类型=高斯克吕格",
              "计量单位=米", "带号=41", "[地块坐标]", f"{len(rows)},1,1,随机,面,,,,@"]
    return "\n".join(header + rows).encode("gb18030")


# (writer, Hausdorff tolerance in metres, relative area tolerance).  Lon/lat formats carry
# full float precision; TXT keeps 0.1 mm of a survey coordinate, so its area may move by
# up to perimeter × 0.1 mm — still far inside the promised 0.01 %.
WRITERS = {"geojson": (_as_geojson, 1e-6, 1e-9), "wkt": (_as_wkt, 1e-6, 1e-9),
           "kml": (_as_kml, 1e-6, 1e-9), "txt": (_as_txt, 1e-3, 1e-4)}


@MEDIUM
@given(poly=baicheng_polygons(), fmt=st.sampled_from(sorted(WRITERS)))
def test_valid_polygons_round_trip(poly, fmt):
    write, tol_m, tol_area = WRITERS[fmt]
    site = parse_site(write(poly), fmt=fmt)
    assert site.fmt == fmt and site.repairs == []
    a = gcrs.to_metric(poly)
    b = gcrs.to_metric(site.geometry)
    assert shapely.hausdorff_distance(a, b) < tol_m
    assert gcrs.area_m2(site.geometry) == pytest.approx(a.area, rel=tol_area)


@FEW
@given(poly=baicheng_polygons())
def test_validate_accepts_valid_polygons_unchanged(poly):
    out, repairs = validate_geometry(poly)
    assert repairs == [] and out.equals(poly)


@FAST
@given(lon=st.floats(*BAICHENG_LON), lat=st.floats(*BAICHENG_LAT))
def test_gcj02_round_trip_below_one_centimetre(lon, lat):
    glon, glat = gcrs.wgs84_to_gcj02(lon, lat)
    back_lon, back_lat = gcrs.gcj02_to_wgs84(glon, glat)
    x, y = gcrs.metric_xy([lon, float(back_lon)], [lat, float(back_lat)])
    assert math.hypot(x[1] - x[0], y[1] - y[0]) < 0.01
    # ... and the GCJ-02 → WGS 84 direction: forward of the inverse lands on the input.
    fwd_lon, fwd_lat = gcrs.wgs84_to_gcj02(*gcrs.gcj02_to_wgs84(lon, lat))
    x, y = gcrs.metric_xy([lon, float(fwd_lon)], [lat, float(fwd_lat)])
    assert math.hypot(x[1] - x[0], y[1] - y[0]) < 0.01


@FAST
@given(lon=st.floats(*BAICHENG_LON), lat=st.floats(*BAICHENG_LAT),
       crs=st.sampled_from(gcrs.SUPPORTED_CRS))
def test_every_crs_round_trips_through_wgs84(lon, lat, crs):
    x, y = gcrs.from_wgs84(lon, lat, crs)
    gcrs.check_coordinates(x, y, crs)  # a Baicheng point is inside every CRS's area
    lon2, lat2 = gcrs.to_wgs84(x, y, crs)
    assert abs(float(lon2) - lon) < 1e-8 and abs(float(lat2) - lat) < 1e-8


# --------------------------------------------------------------------------- mutated samples

SAMPLES = sorted(p for p in (pathlib.Path(__file__).resolve().parents[1] / "data" / "sites")
                 .iterdir() if p.suffix != ".py")


@MEDIUM
@given(index=st.integers(0, len(SAMPLES) - 1), data=st.data())
def test_mutated_sample_files_give_a_valid_site_or_a_domain_error(index, data):
    raw = bytearray(SAMPLES[index].read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    _site_or_domain_error(bytes(raw), filename=SAMPLES[index].name)


@FEW
@given(data=st.data())
def test_mutated_shapefile_members_give_a_valid_site_or_a_domain_error(data):
    path = next(p for p in SAMPLES if p.suffix == ".zip")
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: bytearray(zf.read(i)) for i in zf.infolist()}
    name = data.draw(st.sampled_from(sorted(members)))
    body = members[name]
    for _ in range(data.draw(st.integers(1, 6))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        members[name] = body[: data.draw(st.integers(0, len(body)))]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for member, content in members.items():
            zf.writestr(member, bytes(content))
    _site_or_domain_error(buf.getvalue(), fmt="shapefile")
