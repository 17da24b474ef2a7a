"""geo/mvt.py: tile maths, the numpy MVT encoder against the mapbox-vector-tile package."""

from __future__ import annotations

import math

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from planmap.geo.mvt import (
    EXTENT,
    TileError,
    TileIndex,
    check_tile,
    lonlat_to_mercator,
    popup_properties,
    tile_bounds,
)
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, shape

TO_MERC = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
Z, X, Y = 12, 3445, 1463  # a tile over 白城市区


def test_mercator_and_tile_bounds_agree_with_pyproj():
    lonlat = np.array([[122.84, 45.62], [-70.5, -33.4], [0.0, 0.0]])
    ours = lonlat_to_mercator(lonlat)
    theirs = np.column_stack(TO_MERC.transform(lonlat[:, 0], lonlat[:, 1]))
    assert np.allclose(ours, theirs, atol=1e-6)
    minx, miny, maxx, maxy = tile_bounds(0, 0, 0)
    assert (minx, maxy) == pytest.approx(TO_MERC.transform(-180, 85.0511287798), abs=1e-3)
    assert maxx == -minx and maxy == -miny
    b = tile_bounds(Z, X, Y)
    lon0, lat0 = TO_MERC.transform(*TO_MERC.transform(b[0], b[1], direction="INVERSE"))
    assert (lon0, lat0) == pytest.approx((b[0], b[1]), abs=1e-6)
    assert tile_bounds(Z, X + 1, Y)[0] == pytest.approx(b[2])  # neighbours share their edge


@pytest.mark.parametrize("zxy, param", [((9, 0, 0), "z"), ((19, 0, 0), "z"),
                                        ((2, 4, 0), "x"), ((2, 0, -1), "y")])
def test_check_tile_names_the_bad_part(zxy, param):
    with pytest.raises(TileError) as err:
        check_tile(*zxy, min_zoom=10 if zxy[0] != 2 else 0, max_zoom=18)
    assert err.value.param == param
    check_tile(12, 4095, 0, 10, 18)  # the last tile of a zoom is fine


def _frame(geoms, **extra):
    n = len(geoms)
    cols = {"id": [f"f{i}" for i in range(n)], "name_zh": [f"名{i}" for i in range(n)],
            "name_en": [f"n{i}" for i in range(n)], "layer": "t", "kind": "k",
            "county": [["220802", "220821"]] * n, "accuracy": ["official", "schematic"] * (n // 2)
            + ["derived"] * (n % 2), "source": "src",
            "citation": [{"seed": "000_x", "line": i + 1, "quote": "q" * 200} for i in range(n)]}
    cols.update(extra)
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs="EPSG:4326", index=cols["id"])


def _tile_lonlat_box(z, x, y):
    b = tile_bounds(z, x, y)
    lon0, lat0 = TO_MERC.transform(b[0], b[1], direction="INVERSE")
    lon1, lat1 = TO_MERC.transform(b[2], b[3], direction="INVERSE")
    return lon0, lat0, lon1, lat1


def _decoded(body, layer="t"):
    return {f["properties"]["id"]: f for f in mapbox_vector_tile.decode(
        body, default_options={"y_coord_down": True})[layer]["features"]}


def test_numpy_encoder_matches_the_reference_on_holes_multipolygons_and_edges():
    w, s, e, n = _tile_lonlat_box(Z, X, Y)
    dx, dy = e - w, n - s
    inside = box(w + 0.1 * dx, s + 0.1 * dy, w + 0.4 * dx, s + 0.4 * dy)
    holed = Polygon(inside.exterior.coords, [box(w + 0.2 * dx, s + 0.2 * dy,
                                                 w + 0.3 * dx, s + 0.3 * dy).exterior.coords])
    multi = MultiPolygon([box(w + 0.5 * dx, s + 0.5 * dy, w + 0.6 * dx, s + 0.6 * dy),
                          box(w + 0.7 * dx, s + 0.7 * dy, w + 0.8 * dx, s + 0.8 * dy)])
    across = box(w - 0.5 * dx, s + 0.45 * dy, e + 0.5 * dx, s + 0.55 * dy)  # crosses the tile
    clockwise = Polygon(list(box(w + 0.6 * dx, s + 0.1 * dy, w + 0.9 * dx, s + 0.3 * dy)
                             .exterior.coords)[::-1])
    outside = box(e + dx, n + dy, e + 2 * dx, n + 2 * dy)
    gdf = _frame([holed, multi, across, clockwise, outside],
                 地类=["耕地", "林地", "草地", "园地", "x"])
    index = TileIndex.from_frame(gdf, "t")
    assert index.polygonal
    ours, ref = _decoded(index.tile(Z, X, Y)), _decoded(index.tile_reference(Z, X, Y))
    assert set(ours) == set(ref) == {"f0", "f1", "f2", "f3"}
    for fid, feature in ours.items():
        got, want = shape(feature["geometry"]), shape(ref[fid]["geometry"])
        assert got.is_valid
        assert got.symmetric_difference(want).area <= 1e-3 * want.area + 4, fid
        assert feature["properties"] == ref[fid]["properties"]
    assert len(shape(ours["f0"]["geometry"]).interiors) == 1  # the hole stays a hole
    assert shape(ours["f1"]["geometry"]).geom_type == "MultiPolygon"
    across_got = shape(ours["f2"]["geometry"])
    pad = 64
    assert across_got.bounds[0] == pytest.approx(-pad, abs=1)  # clipped to the buffer
    assert across_got.bounds[2] == pytest.approx(EXTENT + pad, abs=1)


def test_tile_properties_are_flat_scalars_for_the_popup():
    w, s, e, n = _tile_lonlat_box(Z, X, Y)
    gdf = _frame([box(w, s, (w + e) / 2, (s + n) / 2)], area_m2=[12.5], parcel_no=[7])
    props = next(iter(_decoded(TileIndex.from_frame(gdf, "t").tile(Z, X, Y)).values()))[
        "properties"]
    assert props["citation_seed"] == "000_x" and props["citation_line"] == 1
    assert props["citation_quote"] == "q" * 160 + "…"
    assert props["county"] == "220802,220821"
    assert props["accuracy"] == "derived" and props["area_m2"] == 12.5 and props["parcel_no"] == 7
    assert popup_properties({"id": "a", "citation": None, "tags": ["x"]}, "t")["tags"] == '["x"]'


def test_points_and_lines_use_the_reference_encoder():
    w, s, e, n = _tile_lonlat_box(Z, X, Y)
    gdf = _frame([Point((w + e) / 2, (s + n) / 2), LineString([(w - 1, s), (e + 1, n)])])
    index = TileIndex.from_frame(gdf, "t")
    assert not index.polygonal
    got = _decoded(index.tile(Z, X, Y))
    assert got["f0"]["geometry"]["type"] == "Point"
    assert got["f1"]["geometry"]["type"] == "LineString"


def test_empty_tile_and_tiny_feature():
    w, s, e, n = _tile_lonlat_box(Z, X, Y)
    index = TileIndex.from_frame(_frame([box(w, s, w + 1e-4, s + 1e-4)]), "t")
    assert index.tile(Z, X + 5, Y) == b""
    # a parcel far smaller than one tile unit at z10 leaves no ring: it is not drawn there
    tiny = shapely.box(w + 0.5 * (e - w), s + 0.5 * (n - s), w + 0.5 * (e - w) + 2e-6,
                       s + 0.5 * (n - s) + 2e-6)
    index = TileIndex.from_frame(_frame([tiny]), "t")
    assert index.tile(10, X >> 2, Y >> 2) == b""
    assert len(_decoded(index.tile(18, *_tile_at(tiny, 18)))) == 1


def _tile_at(geom, z):
    import math

    lon, lat = geom.centroid.x, geom.centroid.y
    n = 1 << z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def _merc_area(geom):
    return shapely.transform(geom, lambda c: np.column_stack(TO_MERC.transform(c[:, 0],
                                                                               c[:, 1]))).area


@pytest.mark.parametrize("z", [10, 11, 12, 13])
def test_low_zooms_leave_out_only_polygons_under_the_pixel_threshold(z):
    """A polygon at or above MIN_PIXEL_AREA screen pixels is always drawn; smaller ones
    are left out at z <= GENERALISE_MAX_ZOOM and drawn above it."""
    from planmap.geo.mvt import GENERALISE_MAX_ZOOM, MIN_PIXEL_AREA

    w, s, e, n = _tile_lonlat_box(Z, X, Y)  # inside the z10..z12 tiles over it
    pixel = 2 * math.pi * 6378137.0 / (1 << z) / 256
    side = (e - w) / 4096 * 16 / 2 ** (z - Z)  # one screen pixel at zoom z, in degrees
    geoms, kinds = [], []
    for k, px2 in enumerate([0.5, 2.0, 3.5, 4.5, 8.0, 50.0]):  # nominal areas, in px^2
        x0 = w + (0.05 + 0.15 * k) * (e - w)
        g = box(x0, s + 0.5 * (n - s), x0 + side * math.sqrt(px2),
                s + 0.5 * (n - s) + side * math.sqrt(px2) * 0.7)
        geoms.append(g)
        kinds.append(_merc_area(g) / pixel ** 2)
    thin = box(w + 0.1 * (e - w), s + 0.2 * (n - s), w + 0.1 * (e - w) + side * 80,
               s + 0.2 * (n - s) + side * 0.1)  # a sliver: 8 px^2 but 1/10 px wide
    geoms.append(thin)
    kinds.append(_merc_area(thin) / pixel ** 2)
    index = TileIndex.from_frame(_frame(geoms), "t")
    for i, px2 in enumerate(kinds):
        got = set(_decoded(index.tile(z, *_tile_at(geoms[i], z)))) if index.tile(
            z, *_tile_at(geoms[i], z)) else set()
        if z > GENERALISE_MAX_ZOOM or px2 >= MIN_PIXEL_AREA:
            assert f"f{i}" in got, (z, i, px2)
        else:
            assert f"f{i}" not in got, (z, i, px2)
    assert any(p < MIN_PIXEL_AREA for p in kinds) and any(p >= MIN_PIXEL_AREA for p in kinds)


def test_a_feature_id_at_z12_resolves_to_its_properties():
    w, s, e, n = _tile_lonlat_box(Z, X, Y)
    gdf = _frame([box(w + 0.1 * (e - w), s + 0.1 * (n - s), w + 0.3 * (e - w), s + 0.3 * (n - s)),
                  box(w + 0.5 * (e - w), s + 0.5 * (n - s), w + 0.7 * (e - w), s + 0.7 * (n - s))],
                 地类=["耕地", "林地"])
    index = TileIndex.from_frame(gdf, "t")
    layer = mapbox_vector_tile.decode(index.tile(Z, X, Y))["t"]
    assert len(layer["features"]) == 2
    for f in layer["features"]:  # the MVT feature id is the feature's position + 1
        props = index.properties(f["id"] - 1)
        assert props == f["properties"]
        row = gdf.loc[props["id"]]
        assert props["地类"] == row["地类"] and props["accuracy"] == row["accuracy"]


def test_tile_lonlat_bounds_are_the_tile_square_in_lonlat():
    from planmap.geo.mvt import tile_lonlat_bounds

    b = tile_bounds(Z, X, Y)
    lon0, lat0 = TO_MERC.transform(b[0], b[1], direction="INVERSE")
    lon1, lat1 = TO_MERC.transform(b[2], b[3], direction="INVERSE")
    assert tile_lonlat_bounds(Z, X, Y) == pytest.approx((lon0, lat0, lon1, lat1), abs=1e-9)
    assert tile_lonlat_bounds(1, 0, 0)[3] == 90.0 and tile_lonlat_bounds(1, 0, 1)[1] == -90.0
