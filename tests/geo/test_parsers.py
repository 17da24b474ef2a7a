"""geo.io: every site format, the points batch, and the bad input each must refuse."""

from __future__ import annotations

import importlib.util
import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.errors import CRSError, InvalidGeometry, InvalidInput, LimitExceeded, PlanmapError
from planmap.geo.io import detect_format, json_depth, load_json, parse_points, parse_site
from planmap.geo.limits import Limits

SITES = Path(__file__).resolve().parents[1] / "data" / "sites"


def _load_maker():
    spec = importlib.util.spec_from_file_location("make_sites", SITES / "make_sites.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _load_maker()


def _shoelace(ring):
    """Plane area of a ring given as (northing, easting) pairs — independent of shapely."""
    pts = np.array(ring, dtype=float)
    n, e = pts[:, 0], pts[:, 1]
    return abs(np.dot(e, np.roll(n, -1)) - np.dot(n, np.roll(e, -1))) / 2


# The parcel's true area on the Gauss-Krüger plane (EPSG:4529 = EPSG:4550 + 41 000 000 m).
PARCEL_AREA = _shoelace(MAKER.OUTER) - _shoelace(MAKER.HOLE)


def _read(name):
    return (SITES / name).read_bytes()


def _raises(cls, code, fn, *args, **kwargs):
    with pytest.raises(cls) as info:
        fn(*args, **kwargs)
    err = info.value
    assert err.code == code, (err.code, err.message_en)
    assert err.message_en and err.message_zh
    return err


# --------------------------------------------------------------------------- same parcel

@pytest.mark.parametrize("name, fmt, crs_in", [
    ("parcel.txt", "txt", "EPSG:4529"), ("parcel_utf8.txt", "txt", "EPSG:4529"),
    ("parcel.geojson", "geojson", "EPSG:4326"), ("parcel.wkt", "wkt", "EPSG:4326"),
    ("parcel.kml", "kml", "EPSG:4326"), ("parcel.kmz", "kmz", "EPSG:4326"),
    ("parcel_shp.zip", "shapefile", "EPSG:4326"),
])
def test_same_parcel_in_every_format_has_the_same_area(name, fmt, crs_in):
    site = parse_site(_read(name), filename=name)
    assert site.fmt == fmt and site.crs_in == crs_in
    assert site.geometry.geom_type == "Polygon" and site.geometry.is_valid
    assert len(site.geometry.interiors) == 1
    assert gcrs.area_m2(site.geometry) == pytest.approx(PARCEL_AREA, rel=1e-4)  # 0.01 %
    # Content sniffing finds the same format without the file name.
    assert parse_site(_read(name)).fmt == fmt
    assert parse_site(_read(name), fmt=fmt).fmt == fmt


def test_parcel_names_are_reported():
    assert parse_site(_read("parcel.txt")).parcels == ["测试地块"]
    assert parse_site(_read("parcel.geojson")).parcels == ["测试地块"]
    assert parse_site(_read("parcel.kml")).parcels == ["测试地块"]
    assert parse_site(_read("parcel_shp.zip")).parcels == ["测试地块"]


def test_txt_with_several_parcels_gives_their_union():
    site = parse_site(_read("two_parcels.txt"))
    assert site.parcels == ["测试地块", "第二地块"]
    assert site.geometry.geom_type == "MultiPolygon"
    expected = PARCEL_AREA + _shoelace(MAKER.SECOND)
    assert gcrs.area_m2(site.geometry) == pytest.approx(expected, rel=1e-4)


def test_parsed_geometry_is_wgs84_in_baicheng():
    lon, lat = parse_site(_read("parcel.txt")).geometry.centroid.coords[0]
    assert 122.5 < lon < 123.2 and 45.4 < lat < 45.8


# --------------------------------------------------------------------------- 国土 TXT

TXT = (SITES / "parcel_utf8.txt").read_text(encoding="utf-8")


def _txt(old, new, count=1):
    assert old in TXT
    return TXT.replace(old, new, count).encode("utf-8")


def test_txt_without_zone_prefix_is_read_as_4550():
    text = TXT.replace(",414", ",4")
    site = parse_site(text.encode("utf-8"), fmt="txt")
    assert site.crs_in == "EPSG:4550"
    assert gcrs.area_m2(site.geometry) == pytest.approx(PARCEL_AREA, rel=1e-4)


def test_txt_missing_at_sign():
    err = _raises(InvalidInput, "txt_missing_parcel_header", parse_site,
                  _txt("面,,,,@", "面,,,,"), fmt="txt")
    assert "@" in err.message_en and "line 13" in err.message_en


def test_txt_missing_coordinates_section():
    _raises(InvalidInput, "txt_missing_coordinates_section", parse_site,
            _txt("[地块坐标]", "[坐标]"), fmt="txt")


def test_txt_unclosed_ring_is_refused_or_closed_on_request():
    lines = TXT.splitlines()
    drop = lines.index("J1,1,5053800.120,41487400.350", 14)  # the closing point
    data = "\n".join(lines[:drop] + lines[drop + 1:]).encode()
    _raises(InvalidGeometry, "unclosed_ring", parse_site, data, fmt="txt")
    site = parse_site(data, fmt="txt", repair=True)
    assert any("closed" in r for r in site.repairs)
    assert gcrs.area_m2(site.geometry) == pytest.approx(PARCEL_AREA, rel=1e-4)


def test_txt_ring_with_fewer_than_four_points():
    data = (TXT.split("J6,2")[0].replace("J2,1,5053812.480,41487712.900\n", "")
            .replace("J3,1,5054015.760,41487705.230\n", "")
            .replace("J4,1,5054040.010,41487560.640\n", "")).encode()
    _raises(InvalidGeometry, "ring_too_short", parse_site, data, fmt="txt")


def _extra_ring(ring_no, ring):
    pts = list(ring) + [ring[0]]
    return "".join(f"K{i},{ring_no},{x:.3f},{y:.3f}\n" for i, (x, y) in enumerate(pts))


def test_txt_detached_ring_is_a_further_part_not_a_hole():
    data = (TXT + _extra_ring(3, MAKER.SECOND)).encode()
    site = parse_site(data, fmt="txt")
    assert site.geometry.geom_type == "MultiPolygon"
    expected = PARCEL_AREA + _shoelace(MAKER.SECOND)
    assert gcrs.area_m2(site.geometry) == pytest.approx(expected, rel=1e-4)


def test_txt_ring_crossing_the_outer_ring_is_invalid():
    crossing = [(5053700.0, 41487450.0), (5053700.0, 41487500.0), (5053850.0, 41487500.0),
                (5053850.0, 41487450.0)]
    err = _raises(InvalidGeometry, "invalid_geometry", parse_site,
                  (TXT + _extra_ring(3, crossing)).encode(), fmt="txt")
    assert "invalid geometry" in err.message_en


def test_txt_unknown_zone_is_a_crs_error_naming_the_zone():
    err = _raises(CRSError, "unsupported_zone", parse_site, _txt("带号=41", "带号=40"), fmt="txt")
    assert err.param == "带号" and "40" in err.message_en and "123°E" in err.message_en


def test_txt_zone_given_as_central_meridian_is_accepted():
    site = parse_site(_txt("带号=41", "带号=123"), fmt="txt")
    assert site.crs_in == "EPSG:4529"


def test_txt_six_degree_zones_and_other_datums_are_refused():
    _raises(CRSError, "unsupported_zone", parse_site, _txt("几度分带=3", "几度分带=6"), fmt="txt")
    err = _raises(CRSError, "unsupported_crs", parse_site,
                  _txt("2000国家大地坐标系", "1980西安坐标系"), fmt="txt")
    assert err.param == "坐标系"


def test_txt_non_numeric_coordinate_names_the_line():
    err = _raises(InvalidInput, "txt_bad_number", parse_site,
                  _txt("5054015.760", "5O54015.760"), fmt="txt")
    assert "line 16" in err.message_en and "第 16 行" in err.message_zh


def test_txt_nan_coordinate_is_refused():
    _raises(InvalidInput, "txt_bad_number", parse_site, _txt("5054015.760", "nan"), fmt="txt")


def test_txt_with_swapped_columns_gets_a_swap_hint():
    lines = []
    for line in TXT.splitlines():
        parts = line.split(",")
        if line.startswith("J"):
            parts[2], parts[3] = parts[3], parts[2]
        lines.append(",".join(parts))
    err = _raises(CRSError, "coordinate_out_of_area", parse_site, "\n".join(lines).encode(),
                  fmt="txt")
    assert "swapped" in err.message_en and "line 14" in err.message_en


def test_txt_without_any_crs_header_needs_crs():
    data = "\n".join(line for line in TXT.splitlines()
                     if not line.startswith(("坐标系", "带号"))).encode()
    _raises(CRSError, "missing_crs", parse_site, data, fmt="txt")
    site = parse_site(data, fmt="txt", crs="EPSG:4529")
    assert gcrs.area_m2(site.geometry) == pytest.approx(PARCEL_AREA, rel=1e-4)


def test_txt_explicit_4529_without_prefix_gets_the_4550_hint():
    data = "\n".join(line for line in TXT.replace(",414", ",4").splitlines()
                     if not line.startswith(("坐标系", "带号"))).encode()
    err = _raises(CRSError, "coordinate_out_of_area", parse_site, data, fmt="txt",
                  crs="EPSG:4529")
    assert "EPSG:4550" in err.message_en


def test_txt_crs_argument_must_agree_with_header():
    _raises(CRSError, "crs_conflict", parse_site, TXT.encode(), fmt="txt", crs="EPSG:4326")


def test_txt_in_gbk_and_garbage_bytes():
    assert parse_site(_read("parcel.txt"), fmt="txt").parcels == ["测试地块"]
    _raises(InvalidInput, "bad_encoding", parse_site, b"[\x80\xff\xfe" * 10, fmt="txt")


# --------------------------------------------------------------------------- GeoJSON

def _poly(coords, **extra):
    return json.dumps({"type": "Polygon", "coordinates": coords, **extra})


SQ = [[[122.80, 45.60], [122.81, 45.60], [122.81, 45.61], [122.80, 45.61], [122.80, 45.60]]]


def test_geojson_geometry_feature_and_collection():
    assert parse_site(_poly(SQ)).geometry.geom_type == "Polygon"
    feat = {"type": "Feature", "id": "a1", "properties": None,
            "geometry": json.loads(_poly(SQ))}
    assert parse_site(json.dumps(feat)).parcels == ["a1"]
    shifted = [[[x + 0.02, y] for x, y in SQ[0]]]
    fc = {"type": "FeatureCollection", "features": [
        feat, {"type": "Feature", "properties": {"name": "b"},
               "geometry": {"type": "Polygon", "coordinates": shifted}}]}
    site = parse_site(json.dumps(fc))
    assert site.geometry.geom_type == "MultiPolygon" and site.parcels == ["a1", "b"]


def test_geojson_overlapping_features_are_unioned_not_double_counted():
    one = json.loads(_poly(SQ))
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": one},
        {"type": "Feature", "properties": {}, "geometry": one}]}
    single = gcrs.area_m2(parse_site(_poly(SQ)).geometry)
    assert gcrs.area_m2(parse_site(json.dumps(fc)).geometry) == pytest.approx(single)


@pytest.mark.parametrize("text, code", [
    ('{"type": "Polygon", "coordinates": [[[1, 2]', "invalid_json"),
    ("[1, 2, 3]", "invalid_geojson"),
    ('"hello"', "invalid_geojson"),
    ("null", "invalid_geojson"),
    ('{"coordinates": []}', "invalid_geojson"),
    ('{"type": "Poligon", "coordinates": []}', "invalid_geojson"),
    ('{"type": "Polygon"}', "invalid_geojson"),
    ('{"type": "Polygon", "coordinates": "abc"}', "invalid_geojson"),
    ('{"type": "Polygon", "coordinates": [[["122.8", "45.6"]]]}', "bad_coordinates"),
    ('{"type": "Polygon", "coordinates": [[[true, false]]]}', "bad_coordinates"),
    ('{"type": "Polygon", "coordinates": [[[1, 2, 3, 4, 5]]]}', "bad_coordinates"),
    ('{"type": "Polygon", "coordinates": [[[1], [2]]]}', "bad_coordinates"),
    ('{"type": "Polygon", "coordinates": [[[1, 2], [3, 4, 5]]]}', "bad_coordinates"),
    ('{"type": "Polygon", "coordinates": [[]]}', "bad_coordinates"),
    ('{"type": "Polygon", "coordinates": []}', "empty_geometry"),
    ('{"type": "Feature", "properties": {}, "geometry": null}', "empty_geometry"),
    ('{"type": "FeatureCollection", "features": []}', "empty_geometry"),
    ('{"type": "FeatureCollection", "features": [1]}', "invalid_geojson"),
    ('{"type": "FeatureCollection", "features": {}}', "invalid_geojson"),
    ('{"type": "Feature", "properties": {}}', "invalid_geojson"),
    ('{"type": "Point", "coordinates": [NaN, 45]}', "non_finite_coordinate"),
    ('{"type": "Point", "coordinates": [Infinity, 45]}', "non_finite_coordinate"),
    ('{"type": "Point", "coordinates": [1e400, 45]}', "non_finite_coordinate"),
    ('{"type": "Point", "type": "Polygon", "coordinates": [1, 2]}', "duplicate_key"),
    ('{"type": "Point", "coordinates": [' + "9" * 5000 + ", 45]}", "invalid_json"),
])
def test_geojson_bad_input_table(text, code):
    with pytest.raises(PlanmapError) as info:
        parse_site(text, fmt="geojson")
    assert info.value.code == code, info.value.message_en


def test_geojson_unclosed_ring_and_short_ring():
    unclosed = [SQ[0][:-1]]
    err = _raises(InvalidGeometry, "unclosed_ring", parse_site, _poly(unclosed))
    assert "ring 0" in err.message_en
    site = parse_site(_poly(unclosed), repair=True)
    assert site.repairs == ["closed Polygon ring 0"]
    closed = parse_site(_poly(SQ)).geometry
    assert gcrs.area_m2(site.geometry) == pytest.approx(gcrs.area_m2(closed))
    _raises(InvalidGeometry, "ring_too_short", parse_site,
            _poly([[SQ[0][0], SQ[0][1], SQ[0][0]]]))


def test_geojson_bowtie_rejected_with_reason_or_repaired():
    bow = [[[122.80, 45.60], [122.81, 45.61], [122.81, 45.60], [122.80, 45.61], [122.80, 45.60]]]
    err = _raises(InvalidGeometry, "invalid_geometry", parse_site, _poly(bow))
    assert "Self-intersection" in err.message_en
    site = parse_site(_poly(bow), repair=True)
    assert site.geometry.is_valid and site.geometry.geom_type == "MultiPolygon"
    assert any("Self-intersection" in r for r in site.repairs)


def test_geojson_3d_positions_are_accepted_with_z_dropped():
    site = parse_site(_poly([[p + [100.0] for p in SQ[0]]]))
    assert not shapely.has_z(site.geometry)
    assert site.repairs == ["Z coordinates dropped (3-D input accepted, heights ignored)"]


def test_geojson_lines_and_points_and_mixed_kinds():
    line = {"type": "LineString", "coordinates": [[122.8, 45.6], [122.81, 45.6]]}
    assert parse_site(json.dumps(line)).geometry.geom_type == "LineString"
    mixed = {"type": "GeometryCollection", "geometries": [line, json.loads(_poly(SQ))]}
    _raises(InvalidGeometry, "mixed_geometry_types", parse_site, json.dumps(mixed))
    pt = {"type": "Point", "coordinates": [122.8, 45.6]}
    assert parse_site(json.dumps(pt)).geometry.equals(shapely.Point(122.8, 45.6))


def test_geojson_swapped_and_metric_coordinates_get_hints():
    swapped = [[[y, x] for x, y in SQ[0]]]
    err = _raises(CRSError, "coordinate_out_of_area", parse_site, _poly(swapped))
    assert "swapped" in err.message_en
    metres = [[[487400.0, 5053800.0], [487700.0, 5053800.0], [487700.0, 5054000.0],
               [487400.0, 5053800.0]]]
    err = _raises(CRSError, "coordinate_out_of_area", parse_site, _poly(metres))
    assert "EPSG:4550" in err.message_en
    site = parse_site(_poly(metres), crs="EPSG:4550")
    assert gcrs.area_m2(site.geometry) == pytest.approx(300 * 200 / 2, rel=1e-6)


def test_geojson_crs_member_is_honoured_and_checked():
    named = json.loads(_poly(SQ))
    named["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
    assert parse_site(json.dumps(named)).crs_in == "EPSG:4490"
    _raises(CRSError, "crs_conflict", parse_site, json.dumps(named), crs="gcj02")
    named["crs"]["properties"]["name"] = "EPSG:3857"
    _raises(CRSError, "unsupported_crs", parse_site, json.dumps(named))


def test_gcj02_site_lands_hundreds_of_metres_west_of_the_same_numbers_in_wgs84():
    wgs = parse_site(_poly(SQ)).geometry
    gcj = parse_site(_poly(SQ), crs="GCJ-02").geometry
    shift = gcrs.to_metric(wgs).centroid.x - gcrs.to_metric(gcj).centroid.x
    assert 400 < shift < 600


def test_deep_json_is_refused_without_recursion_error():
    deep = "[" * 100_000 + "]" * 100_000
    t0 = time.perf_counter()
    err = _raises(LimitExceeded, "json_too_deep", parse_site, deep, fmt="geojson")
    assert time.perf_counter() - t0 < 2.0
    assert "100000" in err.message_en
    assert json_depth('{"a": "[[[[[[", "b": [[1]]}') == 3  # brackets in strings don't count
    assert json_depth('{"a": "\\"[[[["}') == 1


def test_json_depth_at_and_past_the_limit():
    doc = '{"a":' * 9 + "1" + "}" * 9
    load_json(doc, Limits(max_json_depth=9))
    _raises(LimitExceeded, "json_too_deep", load_json, doc, Limits(max_json_depth=8))


def test_size_limit_is_checked_before_parsing():
    limits = Limits(max_bytes=100)
    _raises(LimitExceeded, "too_large", parse_site, _poly(SQ) + " " * 200, limits=limits)
    _raises(LimitExceeded, "too_large", parse_site, b"x" * 101, limits=limits)


def test_vertex_and_part_limits_are_checked_while_parsing():
    ring = [[122.8 + 0.001 * np.cos(t), 45.6 + 0.001 * np.sin(t)]
            for t in np.linspace(0, 6.28, 300)]
    ring.append(ring[0])
    _raises(LimitExceeded, "too_many_vertices", parse_site, _poly([ring]),
            limits=Limits(max_vertices=300))
    parse_site(_poly([ring]), limits=Limits(max_vertices=301))
    multi = {"type": "MultiPolygon", "coordinates": [SQ] * 6}
    _raises(LimitExceeded, "too_many_parts", parse_site, json.dumps(multi),
            limits=Limits(max_parts=5))


def test_a_million_vertices_are_refused_fast():
    ring = ",".join(["[122.8,45.6]"] * 1_000_000)
    data = '{"type":"Polygon","coordinates":[[' + ring + "]]}"
    t0 = time.perf_counter()
    _raises(LimitExceeded, "too_many_vertices", parse_site, data)
    assert time.perf_counter() - t0 < 5.0


# --------------------------------------------------------------------------- WKT

def test_wkt_variants():
    assert parse_site("POLYGON ((122.8 45.6, 122.81 45.6, 122.81 45.61, 122.8 45.6))").fmt == "wkt"
    site = parse_site("SRID=4490;POINT (122.8 45.6)")
    assert site.crs_in == "EPSG:4490"
    site = parse_site("POINT Z (122.8 45.6 150)")
    assert site.repairs and not shapely.has_z(site.geometry)
    site = parse_site("POLYGON ((487400 5053800, 487700 5053800, 487700 5054000, 487400 5053800))",
                      crs="4550")
    assert gcrs.area_m2(site.geometry) == pytest.approx(30000.0, rel=1e-6)


@pytest.mark.parametrize("text, cls, code", [
    ("POLYGON ((122.8 45.6, 122.81 45.6", InvalidInput, "invalid_wkt"),
    ("POLYGON ((122.8 45.6, 122.81 45.6, 122.81 45.61))", InvalidGeometry, "unclosed_ring"),
    ("POLYGON EMPTY", InvalidGeometry, "empty_geometry"),
    ("SRID=3857;POINT (1 2)", CRSError, "unsupported_crs"),
    ("hello world", InvalidInput, "invalid_wkt"),
    ("POINT (nan 45)", InvalidInput, "non_finite_coordinate"),
    ("POINT (45.6 122.8)", CRSError, "coordinate_out_of_area"),
])
def test_wkt_bad_input(text, cls, code):
    _raises(cls, code, parse_site, text, fmt="wkt")


def test_deeply_nested_wkt_is_refused_before_geos_reads_it():
    # GEOS's recursive WKT reader segfaults on this; the depth check must come first.
    n = 100_000
    text = "GEOMETRYCOLLECTION (" * n + "POINT (122.8 45.6)" + ")" * n
    _raises(LimitExceeded, "wkt_too_deep", parse_site, text, fmt="wkt")
    nested = "GEOMETRYCOLLECTION (" * 3 + "POINT (122.8 45.6)" + ")" * 3
    site = parse_site(nested)
    assert site.geometry.geom_type == "Point" and site.geometry.equals(shapely.Point(122.8, 45.6))


def test_wkt_unclosed_ring_repaired_on_request():
    site = parse_site("POLYGON ((122.8 45.6, 122.81 45.6, 122.81 45.61))", repair=True)
    assert site.geometry.is_valid and any("closed" in r for r in site.repairs)


# --------------------------------------------------------------------------- KML

KML_HEAD = '<?xml version="1.0"?>\n'
KML_BODY = ('<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>{name}</name>'
            "<Polygon><outerBoundaryIs><LinearRing><coordinates>"
            "122.80,45.60 122.81,45.60 122.81,45.61 122.80,45.60"
            "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>")


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE kml SYSTEM "http://evil.example/kml.dtd">',
    '<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
    '<!DOCTYPE kml [<!ENTITY % p SYSTEM "http://evil.example/p.dtd"> %p;]>',
])
def test_kml_with_dtd_or_entities_is_refused(doctype):
    name = "&xxe;" if "xxe" in doctype else "&d;" if "&c;" in doctype else "x"
    data = KML_HEAD + doctype + KML_BODY.format(name=name)
    _raises(InvalidInput, "xml_dtd_forbidden", parse_site, data, fmt="kml")


def test_kml_undefined_entity_and_broken_xml():
    _raises(InvalidInput, "invalid_xml", parse_site, KML_BODY.format(name="&xxe;"), fmt="kml")
    _raises(InvalidInput, "invalid_xml", parse_site, KML_BODY[:-10], fmt="kml")


def test_kml_multigeometry_name_and_gcj_override():
    two = KML_BODY.replace("<Polygon>", "<MultiGeometry><Polygon>").replace(
        "</Polygon>", "</Polygon><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        "122.90,45.60 122.91,45.60 122.91,45.61 122.90,45.60</coordinates></LinearRing>"
        "</outerBoundaryIs></Polygon></MultiGeometry>", 1)
    site = parse_site(two.format(name="白城 &amp; 洮北"))
    assert site.fmt == "kml" and site.parcels == ["白城 & 洮北"]
    assert site.geometry.geom_type == "MultiPolygon"
    gcj = parse_site(KML_BODY.format(name="x"), crs="gcj02")
    assert gcj.crs_in == "gcj02"
    assert gcj.geometry.centroid.x < parse_site(KML_BODY.format(name="x")).geometry.centroid.x


def test_kml_without_geometry_and_with_bad_coordinates():
    _raises(InvalidGeometry, "empty_geometry", parse_site,
            '<kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>')
    bad = KML_BODY.replace("122.81,45.60 ", "122.81;45.60 ")
    _raises(InvalidGeometry, "bad_coordinates", parse_site, bad.format(name="x"))
    bad = KML_BODY.replace("122.81,45.60 ", "abc,45.60 ")
    _raises(InvalidGeometry, "bad_coordinates", parse_site, bad.format(name="x"))


def test_kml_tuples_with_spaces_after_commas_are_read():
    spaced = KML_BODY.replace("122.81,45.60 ", "122.81, 45.60 ").format(name="x")
    assert parse_site(spaced).geometry.equals(parse_site(KML_BODY.format(name="x")).geometry)


def test_kmz_with_several_kml_and_no_doc_kml_is_ambiguous():
    data = _zip({"a.kml": KML_BODY.format(name="a"), "b.kml": KML_BODY.format(name="b")})
    _raises(InvalidInput, "multiple_kml", parse_site, data, fmt="kmz")
    data = _zip({"doc.kml": KML_BODY.format(name="a"), "b.kml": KML_BODY.format(name="b")})
    assert parse_site(data, filename="site.kmz").parcels == ["a"]


def test_kmz_path_traversal_is_refused():
    _raises(InvalidInput, "unsafe_zip_member", parse_site,
            _zip({"../doc.kml": KML_BODY.format(name="a")}), fmt="kmz")


def test_kml_deep_nesting_is_refused():
    data = "<kml>" + "<Folder>" * 200 + "</Folder>" * 200 + "</kml>"
    _raises(LimitExceeded, "xml_too_deep", parse_site, data, fmt="kml")


# --------------------------------------------------------------------------- Shapefile zip

def _members(zip_bytes):
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _zip(members, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


GOOD = _members(_read("parcel_shp.zip"))


def _renamed(prefix):
    return {prefix + k: v for k, v in GOOD.items()}


def test_shapefile_in_a_folder_inside_the_zip_is_fine():
    site = parse_site(_zip(_renamed("export/")), fmt="shapefile")
    assert gcrs.area_m2(site.geometry) == pytest.approx(PARCEL_AREA, rel=1e-4)


@pytest.mark.parametrize("prefix", ["../", "../../etc/", "/tmp/", "C:/", "a/../../"])
def test_shapefile_zip_path_traversal_is_refused(prefix):
    err = _raises(InvalidInput, "unsafe_zip_member", parse_site, _zip(_renamed(prefix)),
                  fmt="shapefile")
    assert err.param == "file"


def test_zip_bomb_is_refused_before_extracting():
    members = dict(GOOD)
    members["padding.txt"] = b"\0" * (20 * 1024 * 1024)
    data = _zip(members)
    assert len(data) < 100_000
    _raises(LimitExceeded, "zip_bomb", parse_site, data, fmt="shapefile")


def test_zip_total_size_limit():
    members = dict(GOOD)
    members["notes.txt"] = bytes(range(256)) * 400  # ~100 kB, barely compressible
    data = _zip(members)
    _raises(LimitExceeded, "zip_too_large", parse_site, data, fmt="shapefile",
            limits=Limits(max_unzipped_bytes=50_000))


def test_zip_member_count_limit():
    members = dict(GOOD)
    members.update({f"x{i}.txt": b"x" for i in range(30)})
    _raises(LimitExceeded, "too_many_zip_members", parse_site, _zip(members), fmt="shapefile")


def test_incomplete_and_ambiguous_shapefiles():
    no_dbf = {k: v for k, v in GOOD.items() if not k.endswith(".dbf")}
    _raises(InvalidInput, "shapefile_incomplete", parse_site, _zip(no_dbf), fmt="shapefile")
    _raises(InvalidInput, "shapefile_missing", parse_site, _zip({"a.txt": b"x"}),
            fmt="shapefile")
    two = dict(GOOD)
    two.update({"other" + k[len("parcel"):]: v for k, v in GOOD.items()})
    _raises(InvalidInput, "multiple_shapefiles", parse_site, _zip(two), fmt="shapefile")


def test_shapefile_crs_comes_from_prj_or_the_caller():
    no_prj = {k: v for k, v in GOOD.items() if not k.endswith(".prj")}
    _raises(CRSError, "missing_crs", parse_site, _zip(no_prj), fmt="shapefile")
    site = parse_site(_zip(no_prj), fmt="shapefile", crs="EPSG:4326")
    assert gcrs.area_m2(site.geometry) == pytest.approx(PARCEL_AREA, rel=1e-4)
    _raises(CRSError, "crs_conflict", parse_site, _read("parcel_shp.zip"), crs="EPSG:4550")


def test_shapefile_with_unsupported_prj():
    import pyproj

    for wkt in (pyproj.CRS.from_epsg(3857).to_wkt("WKT1_ESRI"), "+proj=longlat", "garbage"):
        members = dict(GOOD)
        members["parcel.prj"] = wkt.encode()
        err = _raises(CRSError, "unsupported_crs", parse_site, _zip(members), fmt="shapefile")
        assert err.param == "prj"


ESRI_GK_CM123 = (
    'PROJCS["CGCS2000_3_Degree_GK_CM_123E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
    'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",123.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')


def _gk_square_zip(prj: str, prefix: float = 0.0):
    import tempfile

    import geopandas as gpd

    x, y = gcrs.from_wgs84(122.84, 45.62, "EPSG:4550")
    x0 = float(x) + prefix
    poly = shapely.box(x0, float(y), x0 + 100, float(y) + 100)
    with tempfile.TemporaryDirectory() as tmp:
        gpd.GeoDataFrame(geometry=[poly], crs="EPSG:4550").to_file(f"{tmp}/a.shp")
        members = {f"a{ext}": Path(f"{tmp}/a{ext}").read_bytes()
                   for ext in (".shp", ".shx", ".dbf")}
    members["a.prj"] = prj.encode()
    return _zip(members)


@pytest.mark.parametrize("epsg, flavour, expected", [
    (4550, "WKT1_ESRI", "EPSG:4550"), (4550, "WKT1_GDAL", "EPSG:4550"),
    (4550, "WKT2_2019", "EPSG:4550"), (4529, "WKT1_ESRI", "EPSG:4529"),
    (4529, "WKT1_GDAL", "EPSG:4529"),
    (4510, "WKT1_GDAL", "EPSG:4550"),  # 6° "CM 123E": the very same projection parameters
])
def test_shapefile_cgcs2000_gauss_kruger_prj_flavours(epsg, flavour, expected):
    import pyproj

    prj = pyproj.CRS.from_epsg(epsg).to_wkt(flavour)
    site = parse_site(_gk_square_zip(prj, 41_000_000.0 if epsg == 4529 else 0.0),
                      fmt="shapefile")
    assert site.crs_in == expected
    assert gcrs.area_m2(site.geometry) == pytest.approx(10_000.0, rel=1e-6)


def test_shapefile_esri_named_cgcs2000_prj():
    site = parse_site(_gk_square_zip(ESRI_GK_CM123), fmt="shapefile")
    assert site.crs_in == "EPSG:4550"
    zone41 = ESRI_GK_CM123.replace("500000.0", "41500000.0")
    site = parse_site(_gk_square_zip(zone41, 41_000_000.0), fmt="shapefile")
    assert site.crs_in == "EPSG:4529"
    beijing54 = ESRI_GK_CM123.replace("6378137.0,298.257222101", "6378245.0,298.3")
    _raises(CRSError, "unsupported_crs", parse_site, _gk_square_zip(beijing54), fmt="shapefile")


def _unclosed_shp(shp: bytes) -> bytes:
    """Move the last point of the first ring of the first record (ESRI shapefile layout)."""
    import struct

    buf = bytearray(shp)
    rec = 100 + 8  # file header, record header
    num_parts, num_points = struct.unpack_from("<ii", buf, rec + 4 + 32)
    parts = struct.unpack_from(f"<{num_parts}i", buf, rec + 44)
    end = (parts[1] if num_parts > 1 else num_points) - 1
    offset = rec + 44 + 4 * num_parts + 16 * end
    x, = struct.unpack_from("<d", buf, offset)
    struct.pack_into("<d", buf, offset, x + 0.0001)
    return bytes(buf)


def test_shapefile_unclosed_ring_is_not_closed_silently():
    members = dict(GOOD)
    members["parcel.shp"] = _unclosed_shp(GOOD["parcel.shp"])
    _raises(InvalidGeometry, "unclosed_ring", parse_site, _zip(members), fmt="shapefile")
    site = parse_site(_zip(members), fmt="shapefile", repair=True)
    assert "closed unclosed ring(s)" in site.repairs


def test_not_a_zip_and_corrupt_shp():
    _raises(InvalidInput, "invalid_zip", parse_site, b"PK\x03\x04garbage", fmt="shapefile")
    members = dict(GOOD)
    members["parcel.shp"] = b"\0" * 50
    _raises(InvalidInput, "invalid_shapefile", parse_site, _zip(members), fmt="shapefile")


# --------------------------------------------------------------------------- formats

def test_format_names_and_detection():
    _raises(InvalidInput, "unsupported_format", parse_site, _poly(SQ), fmt="gml")
    _raises(InvalidInput, "unknown_format", parse_site, b"just some words")
    _raises(InvalidInput, "empty_input", parse_site, b"   \n")
    _raises(InvalidInput, "invalid_type", parse_site, 12345)
    assert detect_format(b"{}", "site.KML") == "kml"  # the name wins over the content
    _raises(InvalidInput, "shapefile_not_zipped", parse_site, GOOD["parcel.shp"],
            filename="parcel.shp")
    assert parse_site(_poly(SQ), fmt="JSON").fmt == "geojson"


# --------------------------------------------------------------------------- points

def test_points_csv():
    csv = "id,lon,lat\na,122.84,45.62\nb,122.90,45.50\n"
    ids, lon, lat = parse_points(csv)
    assert ids.tolist() == ["a", "b"] and lon.tolist() == [122.84, 122.90]
    assert lat.dtype == np.float64


def test_points_csv_gbk_chinese_ids_and_gcj():
    csv = "编号,经度,纬度\r\n白城,122.84,45.62\r\n".encode("gbk")
    ids, lon, lat = parse_points(csv, fmt="csv", crs="gcj02")
    assert ids.tolist() == ["白城"] and lon[0] < 122.84


def test_points_csv_projected():
    x, y = gcrs.from_wgs84([122.84], [45.62], "EPSG:4529")
    ids, lon, lat = parse_points(f"id,x,y\np,{x[0]},{y[0]}\n", crs="EPSG:4529")
    assert lon[0] == pytest.approx(122.84) and lat[0] == pytest.approx(45.62)


@pytest.mark.parametrize("csv, cls, code, where", [
    ("122.84,45.62\n122.9,45.5\n", InvalidInput, "missing_header", None),
    ("id,lon,lat\na,122.84,45.62\nb,nan,45.5\n", InvalidInput, "non_finite_coordinate",
     "CSV line 3"),
    ("id,lon,lat\na,122.84,45.62\n\nb,inf,45.5\n", InvalidInput, "non_finite_coordinate",
     "CSV line 4"),
    ("id,lon,lat\na,122.84,45.62\nb,12x,45.5\n", InvalidInput, "bad_number", "CSV line 3"),
    ("id,lon,lat\na,122.84,45.62\nb,,45.5\n", InvalidInput, "bad_number", "CSV line 3"),
    ("id,lon,lat\na,45.62,122.84\n", CRSError, "coordinate_out_of_area", "CSV line 2"),
    ("id,lon,lat\n", InvalidInput, "no_points", None),
    ('id,lon,lat\na,"122.8\n', InvalidInput, "invalid_csv", None),
])
def test_points_csv_bad_input(csv, cls, code, where):
    err = _raises(cls, code, parse_points, csv, fmt="csv")
    assert err.param == "points"
    if where:
        assert where in err.message_en


def test_points_limit_at_and_past():
    csv = "id,lon,lat\n" + "".join(f"p{i},122.8,45.6\n" for i in range(5))
    assert len(parse_points(csv, limits=Limits(max_points=5))[0]) == 5
    _raises(LimitExceeded, "too_many_points", parse_points, csv, limits=Limits(max_points=4))


def test_points_geojson():
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "p1", "properties": {},
         "geometry": {"type": "Point", "coordinates": [122.84, 45.62]}},
        {"type": "Feature", "properties": {"id": "m"},
         "geometry": {"type": "MultiPoint", "coordinates": [[122.8, 45.6], [122.9, 45.7]]}}]}
    ids, lon, lat = parse_points(json.dumps(fc))
    assert ids.tolist() == ["p1", "m", "m"] and lat.tolist() == [45.62, 45.6, 45.7]
    fc["features"][0]["geometry"] = {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}
    _raises(InvalidInput, "not_a_point", parse_points, json.dumps(fc))
    swapped = {"type": "MultiPoint", "coordinates": [[122.8, 45.6], [45.6, 122.8]]}
    err = _raises(CRSError, "coordinate_out_of_area", parse_points, json.dumps(swapped))
    assert "features[0]" in err.message_en and "swapped" in err.message_en


def test_points_refuse_unknown_crs_and_format():
    _raises(CRSError, "unsupported_crs", parse_points, "id,lon,lat\na,1,2\n", crs="EPSG:3857")
    _raises(InvalidInput, "unsupported_format", parse_points, "x", fmt="kml")


# --- issue 18: a file renamed .kml is named for what it is, not by an expat/decoder offset ---

def _docx_bytes() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document xmlns:w='w'><w:body/></w:document>")
    return buf.getvalue()


@pytest.mark.parametrize("data, what_en, what_zh", [
    (_docx_bytes(), "Word document (.docx)", "Word 文档"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document", "PDF 文档"),
])
def test_renamed_file_as_kml_says_what_it_is_and_what_to_upload(data, what_en, what_zh):
    from planmap.geo.errors import InvalidInput
    from planmap.geo.io import parse_site

    with pytest.raises(InvalidInput) as info:
        parse_site(data, filename="site.kml")
    err = info.value
    assert err.code == "not_kml"
    assert what_en in err.message_en and "KML/KMZ" in err.message_en
    assert what_zh in err.message_zh and "界址点" in err.message_zh
    assert "byte" not in err.message_en and "expat" not in err.message_en.lower()
