"""Every parser turns every kind of bad input into the one error shape with its own code.

Issue 20: inputs an outside attack run found (KML with an unknown encoding → 500; KML
coordinates outside any Placemark, a 国土 TXT with NUL bytes or ring number 1e308 → 201),
and one case per exception class each parser can meet (codec lookups, codec errors, NUL,
absurd numbers in every numeric field, zip/struct/expat errors, deep nesting).  The
accepted oddities must show up as ``warnings`` in the result and on the report page.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from planmap.geo.errors import PlanmapError
from planmap.geo.io import parse_points, parse_site

from tests.reliability.support import assert_error, make_zip

SITES = Path(__file__).resolve().parent.parent / "data" / "sites"
KML = (SITES / "parcel.kml").read_bytes()
KMZ = (SITES / "parcel.kmz").read_bytes()
TXT = (SITES / "parcel.txt").read_bytes()  # GBK, as delivered
WKT = (SITES / "parcel.wkt").read_bytes()
GEOJSON = (SITES / "parcel.geojson").read_bytes()
SHP_ZIP = (SITES / "parcel_shp.zip").read_bytes()
SC = "/api/v1/sitecheck"

OUTSIDE = (b"<Placemark><name>x</name></Placemark><Polygon><outerBoundaryIs><LinearRing>"
           b"<coordinates>122.8,45.6 122.9,45.6 122.9,45.7 122.8,45.6</coordinates>"
           b"</LinearRing></outerBoundaryIs></Polygon>")


def upload(content: bytes, name: str, **form) -> dict:
    data = {"file": (io.BytesIO(content), name)}
    data.update(form)
    return {"data": data, "content_type": "multipart/form-data"}


def kml_declaring(encoding: str) -> bytes:
    return KML.replace(b'encoding="UTF-8"', f'encoding="{encoding}"'.encode())


def txt_ring_number(value: bytes) -> bytes:
    # ring 2 (the hole, lines 20-24) renumbered
    return TXT.replace(b",2,", b"," + value + b",")


def shp_member(data: bytes, ext: str, change) -> bytes:
    """The sample shapefile zip with one member's bytes passed through ``change``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    members = {i.filename: src.read(i) for i in src.infolist()}
    name = next(n for n in members if n.lower().endswith(ext))
    members[name] = change(members[name])
    return make_zip(members)


# --- the cases, over HTTP ---------------------------------------------------

def test_kml_with_an_unknown_encoding_is_a_400_not_a_500(rel_client):
    response = rel_client.post(SC, **upload(kml_declaring("x-no-such"), "site.kml"))
    err = assert_error(response, 400, "unsupported_encoding", "file")
    assert "x-no-such" in err["message_en"]


@pytest.mark.parametrize("encoding", ["zlib", "rot13", "undefined", "utf-7", "EBCDIC-CP-US"])
def test_kml_declaring_a_non_text_or_odd_codec_is_refused_by_name(rel_client, encoding):
    response = rel_client.post(SC, **upload(kml_declaring(encoding), "site.kml"))
    assert_error(response, 400, "unsupported_encoding", "file")


@pytest.mark.parametrize("encoding", ["GBK", "GB2312", "UTF-16"])
def test_kml_in_gbk_or_utf16_as_declared_is_read(rel_client, encoding):
    body = kml_declaring(encoding).decode("utf-8").encode(encoding)
    response = rel_client.post(SC, **upload(body, "site.kml"))
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert response.get_json()["input"]["parcels"] == ["测试地块"]


def test_kml_bytes_that_do_not_match_the_declared_encoding_are_bad_encoding(rel_client):
    body = kml_declaring("GBK") + b"<!-- \xff\xff -->"
    assert_error(rel_client.post(SC, **upload(body, "site.kml")), 400, "bad_encoding")


def test_kml_coordinates_outside_any_placemark_are_ignored_with_a_warning(rel_client):
    body = KML.replace(b"</Document>", OUTSIDE + b"</Document>")
    response = rel_client.post(SC, **upload(body, "site.kml"))
    assert response.status_code == 201
    result = response.get_json()
    assert any("outside any Placemark" in w for w in result["warnings"]), result["warnings"]
    # the stored check and its report say so too
    stored = rel_client.get(result["url"]).get_json()
    assert stored["warnings"] == result["warnings"]
    page = rel_client.get(result["report_url"]).get_data(as_text=True)
    assert "outside any Placemark" in page


def test_kml_with_only_coordinates_outside_placemarks_is_empty_and_says_why(rel_client):
    body = b"<kml><Document>" + OUTSIDE + b"</Document></kml>"
    err = assert_error(rel_client.post(SC, **upload(body, "site.kml")), 400, "empty_geometry")
    assert "outside any Placemark" in err["message_en"]


def test_txt_with_a_nul_byte_inside_is_refused_naming_the_line(rel_client):
    body = TXT.replace(b"J2,1", b"J2\x00,1")
    err = assert_error(rel_client.post(SC, **upload(body, "parcel.txt")), 400, "nul_byte")
    assert "line 15" in err["message_en"]


def test_txt_padded_with_nul_bytes_is_read_with_a_warning(rel_client):
    response = rel_client.post(SC, **upload(TXT + b"\x00" * 512, "parcel.txt"))
    assert response.status_code == 201
    assert any("NUL" in w for w in response.get_json()["warnings"])


@pytest.mark.parametrize("value", [b"1e308", b"2.5", b"0", b"-3", b"100000"])
def test_txt_ring_number_that_is_not_a_small_whole_number_is_refused(rel_client, value):
    response = rel_client.post(SC, **upload(txt_ring_number(value), "parcel.txt"))
    err = assert_error(response, 400, "txt_bad_ring_number")
    assert "line 20" in err["message_en"]


def test_txt_non_sequential_point_numbers_are_accepted_with_a_warning(rel_client):
    body = TXT.replace(b"J3,1", b"J7,1")
    response = rel_client.post(SC, **upload(body, "parcel.txt"))
    assert response.status_code == 201
    warnings = response.get_json()["warnings"]
    assert any("not sequential" in w and "J7" in w for w in warnings), warnings
    page = rel_client.get(response.get_json()["report_url"]).get_data(as_text=True)
    assert "not sequential" in page


def test_a_clean_sample_has_no_warnings(rel_client):
    for name, body in (("parcel.txt", TXT), ("parcel.kml", KML), ("parcel.wkt", WKT)):
        response = rel_client.post(SC, **upload(body, name))
        assert response.status_code == 201
        assert response.get_json()["warnings"] == [], name


def test_lone_surrogate_in_a_feature_name_is_not_a_500(rel_client):
    doc = json.loads(GEOJSON)
    text = json.dumps(doc).replace('"properties": {', '"properties": {"name": "\\ud800x", ', 1)
    response = rel_client.post(SC, **upload(text.encode(), "site.geojson"))
    assert response.status_code in (201, 400), response.get_data(as_text=True)[:300]
    if response.status_code == 400:
        assert_error(response, 400)


# --- every exception class, per parser (library level) ------------------------------

BIG = b"9" * 5000  # int() of 5000 digits raises ValueError (CPython's digit limit)

CASES = [
    # GeoJSON: codec, NaN/Infinity, huge integers, 1e400, nesting
    ("geojson", b"\xff\xfe{}", "bad_encoding"),
    ("geojson", b'{"type":"Point","coordinates":[NaN,1]}', "non_finite_coordinate"),
    ("geojson", b'{"type":"Point","coordinates":[' + BIG + b',1]}', "invalid_json"),
    ("geojson", b'{"type":"Point","coordinates":[1e400,45.6]}', "non_finite_coordinate"),
    ("geojson", b'{"type":"Point","coordinates":[' + b"9" * 400 + b',45.6]}',
     "bad_coordinates"),
    ("geojson", b"[" * 100 + b"]" * 100, "json_too_deep"),
    ("geojson", b'{"type":"Point","coordinates":[1,2],"crs":{"properties":{"name":1e308}}}',
     "unsupported_crs"),
    # WKT: NUL, 1e308, inf, depth, SRID out of range
    ("wkt", b"POLYGON((1\x00 1, 2 2, 3 1, 1 1))", "nul_byte"),
    ("wkt", b"POLYGON((1e308 1, 2 2, 3 1, 1e308 1))", "coordinate_out_of_area"),
    ("wkt", b"POLYGON((inf 1, 2 2, 3 1, inf 1))", "non_finite_coordinate"),
    ("wkt", b"GEOMETRYCOLLECTION(" * 40 + b"POINT(1 2)" + b")" * 40, "wkt_too_deep"),
    ("wkt", b"SRID=999999;POINT(122.8 45.6)", "unsupported_crs"),
    ("wkt", b"POINT(" + BIG + b" 45.6)", "non_finite_coordinate"),
    # KML: encodings, NUL, numbers, XML errors
    ("kml", kml_declaring("x-no-such"), "unsupported_encoding"),
    ("kml", kml_declaring("utf-7"), "unsupported_encoding"),
    ("kml", KML.replace(b"<name>", b"<name>\x00"), "nul_byte"),
    ("kml", KML.replace(b"122.838450785,45.619438465", b"1e999,45.619438465"),
     "non_finite_coordinate"),
    ("kml", KML.replace(b"122.838450785,45.619438465", b"1e308,45.619438465"),
     "coordinate_out_of_area"),
    ("kml", KML.replace(b"122.838450785,45.619438465", BIG + b",45.619438465"),
     "non_finite_coordinate"),
    ("kml", KML.replace(b"122.838450785,45.619438465", b"0x7a,45.619438465", 1),
     "bad_coordinates"),
    ("kml", KML[:-20], "invalid_xml"),
    ("kml", b"<a>" * 100 + b"</a>" * 100, "xml_too_deep"),
    # KMZ: broken zip members
    ("kmz", KMZ[:-30], "invalid_zip"),
    ("kmz", make_zip({"doc.kml": kml_declaring("x-no-such")}), "unsupported_encoding"),
    # Shapefile zip: broken headers and CRCs
    ("shapefile", SHP_ZIP[:200], "invalid_zip"),
    ("shapefile", shp_member(SHP_ZIP, ".shp", lambda b: b[:60]), "invalid_shapefile"),
    ("shapefile", shp_member(SHP_ZIP, ".shp", lambda b: b[:100] + b"\xff" * (len(b) - 100)),
     "empty_geometry"),
    ("shapefile", shp_member(SHP_ZIP, ".prj", lambda b: b"PROJCS[" + b"\xff" * 40),
     "bad_encoding"),
    ("shapefile", shp_member(SHP_ZIP, ".prj", lambda b: b"\x00" * 10), "unsupported_crs"),
    # 国土 TXT: codec, NUL, absurd numbers in every numeric field
    ("txt", b"\xff\xff\xff[\xe5", "bad_encoding"),
    ("txt", TXT.replace(b"J2,1", b"J2\x00,1"), "nul_byte"),
    ("txt", txt_ring_number(b"1e308"), "txt_bad_ring_number"),
    ("txt", txt_ring_number(b"nan"), "txt_bad_number"),
    ("txt", txt_ring_number(BIG), "txt_bad_number"),
    ("txt", TXT.replace(b"5053800.120", b"1e308"), "coordinate_out_of_area"),
    ("txt", TXT.replace(b"5053800.120", b"inf"), "txt_bad_number"),
    ("txt", TXT.replace(b"5053800.120", BIG), "txt_bad_number"),
    ("txt", TXT.replace("带号=41".encode("gbk"), "带号=1e308".encode("gbk")), "unsupported_zone"),
]


@pytest.mark.parametrize("fmt, data, code", [pytest.param(f, d, c, id=f"{f}-{i}-{c}")
                                             for i, (f, d, c) in enumerate(CASES)])
def test_each_parser_maps_each_failure_to_its_own_code(fmt, data, code):
    with pytest.raises(PlanmapError) as info:
        parse_site(data, fmt=fmt)
    assert info.value.code == code, info.value.to_dict()


POINT_CASES = [
    ("csv", b"id,lon,lat\n1,122.8\x00,45.6\n", "nul_byte"),
    ("csv", b"id,lon,lat\n1," + BIG + b",45.6\n", "bad_number"),
    ("csv", b"id,lon,lat\n1,1e999,45.6\n", "non_finite_coordinate"),
    ("csv", b"id,lon,lat\n1,0x10,45.6\n", "bad_number"),
    ("geojson", b'{"type":"MultiPoint","coordinates":[[1e400,45]]}', "non_finite_coordinate"),
    ("geojson", b'{"type":"Point","coordinates":"122,45"}', "bad_coordinates"),
]


@pytest.mark.parametrize("fmt, data, code", [pytest.param(f, d, c, id=f"{f}-{i}-{c}")
                                             for i, (f, d, c) in enumerate(POINT_CASES)])
def test_point_batches_map_each_failure_to_its_own_code(fmt, data, code):
    with pytest.raises(PlanmapError) as info:
        parse_points(data, fmt=fmt)
    assert info.value.code == code, info.value.to_dict()


def test_csv_padded_with_nul_bytes_is_read():
    ids, lon, lat = parse_points(b"id,lon,lat\n1,122.8,45.6\n" + b"\x00" * 64, fmt="csv")
    assert list(ids) == ["1"] and lon[0] == pytest.approx(122.8)
