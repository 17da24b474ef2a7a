"""geo.crs: the CRS allowlist, GCJ-02, transforms, metric helpers and area-of-use hints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from coordTransform import coordTransform as ct
from planmap.geo import crs as gcrs
from planmap.geo.errors import CRSError, InvalidInput

BAICHENG = (122.84, 45.62)  # Baicheng city centre, WGS 84


# --------------------------------------------------------------------------- parse_crs

@pytest.mark.parametrize("text, expected", [
    ("4326", "EPSG:4326"), ("epsg:4326", "EPSG:4326"), ("EPSG:4326", "EPSG:4326"),
    (" EPSG:4326 ", "EPSG:4326"), (4326, "EPSG:4326"), ("CRS84", "EPSG:4326"),
    ("OGC:CRS84", "EPSG:4326"), ("urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326"),
    ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "EPSG:4326"),
    ("urn:ogc:def:crs:EPSG::4490", "EPSG:4490"),
    ("http://www.opengis.net/def/crs/EPSG/0/4490", "EPSG:4490"),
    ("https://www.opengis.net/def/crs/EPSG/0/4550", "EPSG:4550"),
    ("EPSG:4529", "EPSG:4529"), ("4550", "EPSG:4550"),
    ("GCJ02", "gcj02"), ("gcj-02", "gcj02"), ("GCJ_02", "gcj02"),
])
def test_parse_crs_accepts_the_usual_spellings(text, expected):
    assert gcrs.parse_crs(text) == expected


@pytest.mark.parametrize("text", [
    "EPSG:3857", "EPSG:99999", "4214", "", "   ", "wgs", "epsg:4326x",
    "+proj=longlat +datum=WGS84 +nadgrids=@http://evil.example/grid.tif",
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]]]',
    "http://www.opengis.net/def/crs/EPSG/0/3857", "http://evil.example/def/crs/EPSG/0/4326",
    "file:///etc/passwd", "EPSG:4326" + " " * 200, "x" * 100_000, None, 4326.0, True,
    ["EPSG:4326"], b"EPSG:4326",
])
def test_parse_crs_rejects_everything_else_listing_the_supported(text):
    with pytest.raises(CRSError) as info:
        gcrs.parse_crs(text)
    err = info.value
    assert err.code == "unsupported_crs"
    assert err.param == "crs"
    for name in gcrs.SUPPORTED_CRS:
        assert name in err.message_en and name in err.message_zh
    assert len(err.message_en) < 400  # a 100 000-char input is not echoed back


def test_parse_crs_never_hands_user_text_to_pyproj(monkeypatch):
    class Boom:
        def __getattr__(self, name):
            raise AssertionError(f"pyproj.{name} touched")

    monkeypatch.setattr(gcrs, "pyproj", Boom())
    for text in ("+proj=longlat +nadgrids=@http://x/y.tif", "EPSG:3857", "EPSG:4326", "gcj02"):
        try:
            gcrs.parse_crs(text)
        except CRSError:
            pass


# --------------------------------------------------------------------------- GCJ-02

def _random_baicheng(n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(121.5, 124.8, n), rng.uniform(44.0, 46.5, n)


def test_gcj_forward_matches_the_coordtransform_package():
    lon, lat = _random_baicheng(200)
    glon, glat = gcrs.wgs84_to_gcj02(lon, lat)
    ref = np.array([ct.wgs84_to_gcj02(float(a), float(b)) for a, b in zip(lon, lat, strict=True)])
    assert np.max(np.abs(glon - ref[:, 0])) < 1e-9
    assert np.max(np.abs(glat - ref[:, 1])) < 1e-9


def test_gcj_inverse_round_trips_below_one_centimetre():
    lon, lat = _random_baicheng(5000, seed=2)
    back_lon, back_lat = gcrs.gcj02_to_wgs84(*gcrs.wgs84_to_gcj02(lon, lat))
    ex, ny = gcrs.metric_xy(lon, lat)
    bx, by = gcrs.metric_xy(back_lon, back_lat)
    assert np.max(np.hypot(bx - ex, by - ny)) < 0.01


def test_gcj_inverse_beats_the_one_step_inverse_of_coordtransform():
    # coordtransform's gcj02_to_wgs84 subtracts the offset once (metre-level error);
    # ours must land within a few metres of it but closer to the truth.
    lon, lat = BAICHENG
    g = ct.wgs84_to_gcj02(lon, lat)
    one_step = ct.gcj02_to_wgs84(*g)
    ours = gcrs.gcj02_to_wgs84(*g)
    err_ours = math.hypot(float(ours[0]) - lon, float(ours[1]) - lat)
    err_one = math.hypot(one_step[0] - lon, one_step[1] - lat)
    assert err_ours < 1e-9 < err_one
    assert abs(float(ours[0]) - one_step[0]) < 1e-4  # same neighbourhood (~10 m)


def test_gcj_shift_at_baicheng_is_hundreds_of_metres_mostly_east():
    glon, glat = gcrs.wgs84_to_gcj02(*BAICHENG)
    (x0, x1), (y0, y1) = gcrs.metric_xy([BAICHENG[0], glon], [BAICHENG[1], glat])
    east, north = x1 - x0, y1 - y0
    assert 400 < math.hypot(east, north) < 600
    assert east > 2 * abs(north) and east > 0


def test_gcj_is_identity_outside_china_and_keeps_shapes():
    lon, lat = gcrs.wgs84_to_gcj02([2.35, -74.0], [48.85, 40.7])  # Paris, New York
    assert lon.tolist() == [2.35, -74.0] and lat.tolist() == [48.85, 40.7]
    grid = np.full((3, 4), 122.8), np.full((3, 4), 45.6)
    out = gcrs.gcj02_to_wgs84(*grid)
    assert out[0].shape == (3, 4)


# --------------------------------------------------------------------------- transforms

def test_gauss_kruger_central_meridian_and_zone_prefix():
    lon, lat = gcrs.to_wgs84([500000.0], [5_050_000.0], "EPSG:4550")
    assert lon[0] == pytest.approx(123.0, abs=1e-9)  # false easting 500 km on CM 123°E
    x41, y41 = gcrs.from_wgs84(*BAICHENG, "EPSG:4529")
    x, y = gcrs.from_wgs84(*BAICHENG, "EPSG:4550")
    assert float(x41 - x) == pytest.approx(41_000_000.0, abs=1e-6)
    assert float(y41) == pytest.approx(float(y), abs=1e-6)


def test_round_trips_through_wgs84_are_sub_millimetre():
    lon, lat = _random_baicheng(1000, seed=3)
    for crs in ("EPSG:4550", "EPSG:4529", "EPSG:4490", "gcj02"):
        x, y = gcrs.from_wgs84(lon, lat, crs)
        lon2, lat2 = gcrs.to_wgs84(x, y, crs)
        assert np.max(np.abs(lon2 - lon)) < 1e-8, crs
        assert np.max(np.abs(lat2 - lat)) < 1e-8, crs


def test_cgcs2000_geographic_is_wgs84_to_the_metre():
    lon, lat = gcrs.to_wgs84([122.84], [45.62], "EPSG:4490")
    assert abs(lon[0] - 122.84) < 1e-5 and abs(lat[0] - 45.62) < 1e-5


def test_two_km_square_in_4550_is_400_hectares_6000_mu_after_wgs84():
    x0, y0 = gcrs.from_wgs84(*BAICHENG, "EPSG:4550")
    x0, y0 = float(x0), float(y0)
    square = shapely.box(x0, y0, x0 + 2000, y0 + 2000)
    in_wgs84 = gcrs.transform_geometry(square, "EPSG:4550", "EPSG:4326")
    assert shapely.Point(BAICHENG).distance(in_wgs84.exterior) < 1e-9  # corner stays put
    area = gcrs.area_m2(in_wgs84)
    assert area == pytest.approx(4_000_000.0, rel=1e-7)
    assert area / 10_000 == pytest.approx(400.0, rel=1e-7)  # 公顷
    assert area / (10_000 / 15) == pytest.approx(6000.0, rel=1e-7)  # 亩
    assert gcrs.length_m(in_wgs84) == pytest.approx(8000.0, rel=1e-7)


def test_transform_geometry_gcj_polygon_moves_but_keeps_area():
    x0, y0 = (float(v) for v in gcrs.from_wgs84(*BAICHENG, "EPSG:4550"))
    square = gcrs.from_metric(shapely.box(x0, y0, x0 + 500, y0 + 500))
    gcj = gcrs.transform_geometry(square, "EPSG:4326", "gcj02")
    assert gcj.centroid.x - square.centroid.x > 0.004  # ~460 m east
    back = gcrs.transform_geometry(gcj, "gcj02", "EPSG:4326")
    assert gcrs.area_m2(back) == pytest.approx(250_000.0, rel=1e-6)
    assert shapely.hausdorff_distance(gcrs.to_metric(back), gcrs.to_metric(square)) < 0.01


def test_to_metric_of_an_array_of_geometries():
    pts = shapely.points([[122.0, 45.0], [123.0, 45.0]])
    out = gcrs.to_metric(pts)
    assert shapely.get_x(out)[1] == pytest.approx(500000.0, abs=1e-6)


# --------------------------------------------------------------------------- area-of-use checks

def _reject(x, y, crs):
    with pytest.raises(CRSError) as info:
        gcrs.check_coordinates(x, y, crs, param="site")
    err = info.value
    assert err.code == "coordinate_out_of_area" and err.param == "site"
    assert err.message_zh and err.message_zh != err.message_en
    return err


def test_baicheng_points_pass_in_every_crs():
    for crs in gcrs.SUPPORTED_CRS:
        x, y = gcrs.from_wgs84(*BAICHENG, crs)
        gcrs.check_coordinates(x, y, crs)


def test_swapped_lon_lat_gets_a_swap_hint():
    err = _reject([45.62], [122.84], "EPSG:4326")
    assert "swapped" in err.message_en and "颠倒" in err.message_zh


def test_metres_passed_as_degrees_get_a_crs_hint():
    err = _reject([487521.3], [5053862.3], "EPSG:4326")
    assert "metres passed as degrees" in err.message_en and "EPSG:4550" in err.message_en
    err = _reject([41487521.3], [5053862.3], "EPSG:4490")
    assert "EPSG:4529" in err.message_en


def test_point_outside_china_is_rejected_without_a_misleading_hint():
    err = _reject([2.35], [48.85], "EPSG:4326")
    assert "swapped" not in err.message_en and "metres" not in err.message_en


def test_latitude_beyond_90_names_the_range():
    err = _reject([122.8], [91.0], "gcj02")
    assert "[-90, 90]" in err.message_en


def test_zone_41_prefix_on_4550_points_to_4529_and_back():
    err = _reject([41487521.3], [5053862.3], "EPSG:4550")
    assert "EPSG:4529" in err.message_en
    err = _reject([487521.3], [5053862.3], "EPSG:4529")
    assert "EPSG:4550" in err.message_en


def test_northing_easting_swapped_is_hinted():
    err = _reject([5053862.3], [487521.3], "EPSG:4550")
    assert "swapped" in err.message_en
    err = _reject([5053862.3], [41487521.3], "EPSG:4529")
    assert "swapped" in err.message_en


def test_wrong_zone_prefix_is_named():
    err = _reject([40487521.3], [5053862.3], "EPSG:4550")
    assert "zone prefix 40" in err.message_en and "41" in err.message_en


def test_degrees_passed_as_metres_is_hinted():
    err = _reject([122.84], [45.62], "EPSG:4550")
    assert "EPSG:4326" in err.message_en


def test_first_bad_index_is_reported():
    err = _reject([122.8, 122.9, 45.6], [45.6, 45.7, 122.8], "EPSG:4326")
    assert err.index == 2 and "coordinate 2" in err.message_en


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_coordinates_are_rejected_in_every_crs(bad):
    for crs in gcrs.SUPPORTED_CRS:
        with pytest.raises(InvalidInput) as info:
            gcrs.check_coordinates([122.8, bad], [45.6, 45.6], crs)
        assert info.value.code == "non_finite_coordinate"
        assert "coordinate 1" in info.value.message_en


def test_to_wgs84_checks_by_default_and_can_skip():
    with pytest.raises(CRSError):
        gcrs.to_wgs84([45.62], [122.84], "4326")
    lon, _ = gcrs.to_wgs84([45.62], [10.0], "4326", check=False)
    assert lon[0] == 45.62


def test_mismatched_array_lengths_are_an_input_error():
    with pytest.raises(InvalidInput) as info:
        gcrs.to_wgs84([122.8, 122.9], [45.6], "EPSG:4326")
    assert info.value.code == "shape_mismatch"
