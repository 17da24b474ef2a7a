"""geo.validate: limits first, then empty / non-finite / Z / GEOS validity, repair reported."""

from __future__ import annotations

import math

import pytest
import shapely
from planmap.geo.errors import InvalidGeometry, InvalidInput, LimitExceeded
from planmap.geo.limits import Limits
from planmap.geo.validate import count_parts, validate_geometry

SQUARE = shapely.box(0, 0, 10, 10)
BOWTIE = shapely.from_wkt("POLYGON ((0 0, 10 10, 10 0, 0 10, 0 0))")


def test_valid_geometry_is_returned_unchanged_with_no_repairs():
    geom, repairs = validate_geometry(SQUARE)
    assert geom.equals(SQUARE) and repairs == []


@pytest.mark.parametrize("wkt", ["POLYGON EMPTY", "MULTIPOLYGON EMPTY", "POINT EMPTY",
                                 "GEOMETRYCOLLECTION EMPTY", "LINESTRING EMPTY"])
def test_empty_geometry_is_rejected(wkt):
    with pytest.raises(InvalidGeometry) as info:
        validate_geometry(shapely.from_wkt(wkt), param="site")
    assert info.value.code == "empty_geometry" and info.value.param == "site"


def test_not_a_geometry_is_an_input_error():
    with pytest.raises(InvalidInput) as info:
        validate_geometry("POLYGON ((0 0, 1 0, 1 1, 0 0))")
    assert info.value.code == "not_a_geometry"


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # shapely building the bad input
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_vertex_is_rejected(bad):
    poly = shapely.Polygon([(0, 0), (10, 0), (bad, 10), (0, 0)])
    with pytest.raises(InvalidInput) as info:
        validate_geometry(poly)
    assert info.value.code == "non_finite_coordinate"


def test_bowtie_is_rejected_with_the_geos_reason():
    with pytest.raises(InvalidGeometry) as info:
        validate_geometry(BOWTIE)
    assert info.value.code == "invalid_geometry"
    assert "Self-intersection" in info.value.message_en
    assert "Self-intersection" in info.value.message_zh


def test_bowtie_repair_keeps_both_lobes_and_reports_it():
    geom, repairs = validate_geometry(BOWTIE, repair=True)
    assert geom.is_valid and geom.geom_type == "MultiPolygon"
    assert geom.area == pytest.approx(50.0)  # two triangles of 25
    assert len(repairs) == 1 and "Self-intersection" in repairs[0]
    assert "Polygon -> MultiPolygon" in repairs[0]


def test_hole_outside_shell_is_invalid_and_repair_keeps_only_polygons():
    poly = shapely.Polygon(SQUARE.exterior.coords, [[(20, 20), (21, 20), (21, 21), (20, 20)]])
    with pytest.raises(InvalidGeometry) as info:
        validate_geometry(poly)
    assert "Hole lies outside shell" in info.value.message_en
    geom, repairs = validate_geometry(poly, repair=True)
    assert geom.geom_type in ("Polygon", "MultiPolygon") and geom.is_valid and repairs


def test_zero_area_polygon_has_nothing_left_after_repair():
    flat = shapely.Polygon([(0, 0), (5, 0), (10, 0), (0, 0)])
    with pytest.raises(InvalidGeometry) as info:
        validate_geometry(flat, repair=True)
    assert info.value.code == "empty_after_repair"


def test_three_d_input_is_accepted_with_z_dropped_and_reported():
    geom, repairs = validate_geometry(shapely.from_wkt("POLYGON Z ((0 0 5, 1 0 5, 1 1 5, 0 0 5))"))
    assert not shapely.has_z(geom)
    assert repairs == ["Z coordinates dropped (3-D input accepted, heights ignored)"]


def test_lines_and_points_pass():
    for wkt in ("LINESTRING (0 0, 1 1)", "MULTIPOINT ((0 0), (1 1))"):
        geom, repairs = validate_geometry(shapely.from_wkt(wkt))
        assert repairs == [] and not geom.is_empty


def test_count_parts():
    poly = shapely.Polygon(SQUARE.exterior.coords, [[(1, 1), (2, 1), (2, 2), (1, 1)]])
    multi = shapely.MultiPolygon([poly, shapely.box(20, 20, 21, 21)])
    assert count_parts(multi) == (5 + 4 + 5, 2, 3)


def test_vertex_limit_at_and_past():
    ring = [(math.cos(t / 50), math.sin(t / 50)) for t in range(99)] + [(1.0, 0.0)]
    poly = shapely.Polygon(ring)
    validate_geometry(poly, limits=Limits(max_vertices=100))
    with pytest.raises(LimitExceeded) as info:
        validate_geometry(poly, limits=Limits(max_vertices=99), param="site")
    assert info.value.code == "too_many_vertices" and info.value.param == "site"
    assert "100" in info.value.message_en and "99" in info.value.message_en


def test_part_limit_at_and_past():
    multi = shapely.MultiPolygon([shapely.box(i * 2, 0, i * 2 + 1, 1) for i in range(5)])
    validate_geometry(multi, limits=Limits(max_parts=5))
    with pytest.raises(LimitExceeded) as info:
        validate_geometry(multi, limits=Limits(max_parts=4))
    assert info.value.code == "too_many_parts"


def test_many_holes_count_against_the_part_limit():
    holes = [[(i + 0.1, 0.1), (i + 0.5, 0.1), (i + 0.5, 0.5), (i + 0.1, 0.1)] for i in range(9)]
    poly = shapely.Polygon(SQUARE.exterior.coords, holes)
    with pytest.raises(LimitExceeded) as info:
        validate_geometry(poly, limits=Limits(max_parts=5))
    assert info.value.code == "too_many_rings"


def test_limits_are_checked_before_validity():
    # An invalid geometry over the limit reports the limit: no GEOS work was done on it.
    with pytest.raises(LimitExceeded):
        validate_geometry(BOWTIE, limits=Limits(max_vertices=3))
