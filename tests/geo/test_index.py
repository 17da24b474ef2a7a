"""ZoneIndex: the boundary rule, batch == geopandas.sjoin, nearest in metres, real places."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.errors import InvalidInput
from planmap.geo.index import ZoneIndex
from shapely.geometry import LineString, Point, Polygon, box

# Synthetic layers near Baicheng (so EPSG:4550 distances are meaningful), in degrees.
X0, Y0, S = 123.0, 45.0, 0.01
A = box(X0, Y0, X0 + S, Y0 + S)
B = box(X0 + S, Y0, X0 + 2 * S, Y0 + S)  # shares the edge x = X0 + S with A
C = Polygon(  # a square with a hole
    [(X0 + 3 * S, Y0), (X0 + 5 * S, Y0), (X0 + 5 * S, Y0 + 2 * S), (X0 + 3 * S, Y0 + 2 * S)],
    [[(X0 + 3.5 * S, Y0 + 0.5 * S), (X0 + 4.5 * S, Y0 + 0.5 * S),
      (X0 + 4.5 * S, Y0 + 1.5 * S), (X0 + 3.5 * S, Y0 + 1.5 * S)]],
)
# A diamond: edges are diagonal, so their points fall strictly inside grid cells.
D = Polygon([(X0 + 7 * S, Y0), (X0 + 8 * S, Y0 + S), (X0 + 7 * S, Y0 + 2 * S),
             (X0 + 6 * S, Y0 + S)])
RIVER = LineString([(X0, Y0 + 3 * S), (X0 + 8 * S, Y0 + 3 * S)])
TOWN = Point(X0 + 2 * S, Y0 + 2 * S)


def _layer(rows):
    return gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name_zh": [r[0] + "名" for r in rows],
         "accuracy": [r[2] for r in rows], "kind": ["zone"] * len(rows)},
        geometry=[r[1] for r in rows], crs="EPSG:4326").set_index("id", drop=False)


@pytest.fixture(scope="module")
def syn():
    layers = {
        "l1": _layer([("a", A, "official"), ("b", B, "schematic")]),
        "l2": _layer([("c", C, "derived"), ("river", RIVER, "derived")]),
        "l3": _layer([("d", D, "schematic"), ("town", TOWN, "schematic")]),
    }
    service = box(X0 - S, Y0 - S, X0 + 9 * S, Y0 + 4 * S)
    return ZoneIndex(layers, service_area=service, grid_cells=64)


def _ids(result):
    return {z["id"] for z in result["zones"]}


def test_point_on_vertex_and_on_edge_is_inside(syn):
    assert _ids(syn.query_point(X0, Y0)) == {"a"}                    # outer vertex of a
    assert _ids(syn.query_point(X0 + S / 2, Y0 + S)) == {"a"}        # top edge of a
    assert _ids(syn.query_point(X0 + 7 * S, Y0)) == {"d"}            # vertex of d
    assert _ids(syn.query_point(X0 + 6.5 * S, Y0 + 0.5 * S)) == {"d"}  # diagonal edge of d


def test_point_on_shared_edge_or_shared_vertex_is_in_both(syn):
    assert _ids(syn.query_point(X0 + S, Y0 + S / 3)) == {"a", "b"}
    assert _ids(syn.query_point(X0 + S, Y0 + S)) == {"a", "b"}


def test_hole_is_outside_but_its_edge_is_inside(syn):
    assert _ids(syn.query_point(X0 + 4 * S, Y0 + S)) == set()          # middle of the hole
    assert _ids(syn.query_point(X0 + 3.5 * S, Y0 + S)) == {"c"}        # on the hole's edge
    assert _ids(syn.query_point(X0 + 3.2 * S, Y0 + S)) == {"c"}        # in the ring part


def test_lines_and_points_are_never_covering_zones(syn):
    on_river = syn.query_point(X0, Y0 + 3 * S)  # the river's first vertex
    assert _ids(on_river) == set()
    assert any(n["id"] == "river" and n["distance_m"] == 0 for n in on_river["nearest"])
    assert _ids(syn.query_point(TOWN.x, TOWN.y)) == set()


def _metric_distance(lon, lat, geom):
    x, y = gcrs.metric_xy(lon, lat)
    return shapely.distance(Point(float(x), float(y)), gcrs.to_metric(geom))


def test_nearest_distance_is_measured_in_epsg4550_metres(syn):
    lon, lat = X0 + 4 * S, Y0 + S  # in c's hole: every zone of l2 is "near", none covers
    res = syn.query_point(lon, lat)
    near = {n["id"]: n for n in res["nearest"]}
    assert near["c"]["layer"] == "l2"
    assert near["c"]["distance_m"] == pytest.approx(_metric_distance(lon, lat, C), abs=0.1)
    assert 300 < near["c"]["distance_m"] < 500  # half a hole (0.005°) in metres
    assert near["b"]["distance_m"] == pytest.approx(_metric_distance(lon, lat, B), abs=0.1)
    # per layer, closest first
    l1 = [n["id"] for n in res["nearest"] if n["layer"] == "l1"]
    assert l1 == ["b", "a"]


def test_nearest_skips_layers_that_cover_the_point_and_respects_radius(syn):
    res = syn.query_point(X0 + S / 2, Y0 + S / 2, radius_m=5000)  # inside a
    assert "l1" not in {n["layer"] for n in res["nearest"]}
    assert {"l2", "l3"} <= {n["layer"] for n in res["nearest"]}
    small = syn.query_point(X0 + S / 2, Y0 + S / 2, radius_m=100)
    assert small["nearest"] == []
    for n in res["nearest"]:
        assert n["distance_m"] <= 5000


def test_zone_entries_carry_accuracy_kind_and_citation_fields(syn):
    z = syn.query_point(X0 + S / 2, Y0 + S / 2)["zones"][0]
    assert {"id", "layer", "name_zh", "name_en", "accuracy", "kind", "citation"} <= set(z)
    assert z["accuracy"] == "official"


def test_service_area(syn):
    assert syn.query_point(X0, Y0)["in_service_area"] is True
    assert syn.query_point(X0 - S, Y0)["in_service_area"] is True  # on its edge
    assert syn.query_point(X0 - 2 * S, Y0)["in_service_area"] is False
    assert ZoneIndex({"l1": _layer([("a", A, "x")])}).query_point(X0, Y0)[
        "in_service_area"] is False


@pytest.mark.parametrize("bad", [(float("nan"), 45.0), (123.0, float("inf")), ("x", 45.0),
                                 (200.0, 45.0), (123.0, 95.0)])
def test_bad_coordinates_raise_domain_errors(syn, bad):
    with pytest.raises(InvalidInput):
        syn.query_point(*bad)


@pytest.mark.parametrize("radius", [-1, float("nan"), 1e9, "far"])
def test_bad_radius(syn, radius):
    with pytest.raises(InvalidInput) as e:
        syn.query_point(X0, Y0, radius_m=radius)
    assert e.value.code == "invalid_radius"


def _pairs(result):
    return set(zip(result.point_idx.tolist(), result.zone_ids.tolist(), strict=True))


def _sjoin_pairs(index, lon, lat, predicate="intersects"):
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    joined = gpd.sjoin(pts, index.zones_frame(), predicate=predicate)
    return set(zip(joined.index.tolist(), joined["id"].tolist(), strict=True))


def test_batch_boundary_rule_matches_query_point(syn):
    coords = shapely.get_coordinates(np.array([A, B, C, D]))
    edges = [(X0 + S, Y0 + S / 3), (X0 + S / 2, Y0 + S), (X0 + 3.5 * S, Y0 + S),
             (X0 + 6.5 * S, Y0 + 0.5 * S), (X0 + 4 * S, Y0 + S)]
    pts = np.vstack([coords, edges])
    res = syn.batch(pts[:, 0], pts[:, 1])
    got = _pairs(res)
    want = {(i, z["id"]) for i, (x, y) in enumerate(pts) for z in syn.query_point(x, y)["zones"]}
    assert got == want
    # and both agree with shapely's covers predicate, evaluated independently
    zones = {"a": A, "b": B, "c": C, "d": D}
    truth = {(i, k) for i, (x, y) in enumerate(pts) for k, g in zones.items()
             if g.covers(Point(x, y))}
    assert got == truth
    # sjoin "within" would drop boundary points: the rule is deliberate
    assert _sjoin_pairs(syn, pts[:, 0], pts[:, 1], "within") < got


def test_batch_layers_and_grouping(syn):
    lon = np.array([X0 + S, X0 + 4 * S, X0 + 3.2 * S])
    lat = np.array([Y0 + S / 3, Y0 + S, Y0 + S])
    res = syn.batch(lon, lat)
    assert res.point_idx.tolist() == [0, 0, 2]
    assert dict(zip(res.zone_ids.tolist(), res.layers.tolist(), strict=True)) == {
        "a": "l1", "b": "l1", "c": "l2"}


def test_batch_ignores_nan_and_far_points(syn):
    res = syn.batch([np.nan, 10.0, X0 + S / 2], [Y0, 10.0, np.nan])
    assert len(res.point_idx) == 0


def test_batch_rejects_mismatched_arrays(syn):
    with pytest.raises(InvalidInput):
        syn.batch([1.0, 2.0], [1.0])


def test_batch_equals_sjoin_on_random_points_near_boundaries(syn):
    rng = np.random.default_rng(7)
    n = 10_000
    lon = rng.uniform(X0 - S, X0 + 9 * S, n)
    lat = rng.uniform(Y0 - S, Y0 + 4 * S, n)
    # half of them within a hair of some zone boundary, where a wrong grid cell would show
    edge = shapely.line_interpolate_point(
        shapely.boundary(np.array([A, B, C, D])[rng.integers(0, 4, n // 2)]),
        rng.uniform(0, 1, n // 2), normalized=True)
    xy = shapely.get_coordinates(edge) + rng.normal(0, 1e-9, (n // 2, 2))
    lon[: n // 2], lat[: n // 2] = xy[:, 0], xy[:, 1]
    assert _pairs(syn.batch(lon, lat)) == _sjoin_pairs(syn, lon, lat)


def test_points_on_grid_lines_are_classified_exactly(syn):
    # Points exactly on cell edges are where a lax grid would fail.
    xs = syn._x0 + syn._dx * np.arange(syn._nx)
    ys = syn._y0 + syn._dy * np.arange(syn._ny)
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = gx.ravel(), gy.ravel()
    assert _pairs(syn.batch(lon, lat)) == _sjoin_pairs(syn, lon, lat)


# --------------------------------------------------------------------------- real data

SEATS = {  # county seat (lon, lat) -> adcode of its county
    "洮南": ((122.788, 45.335), "220881"),
    "大安": ((124.292, 45.507), "220882"),
    "镇赉": ((123.199, 45.848), "220821"),
    "通榆/开通": ((123.088, 44.813), "220822"),
    "白城": ((122.839, 45.620), "220802"),
}


@pytest.fixture(scope="module")
def real():
    from planmap import layers

    data = layers.load()
    return data, ZoneIndex.from_plan_data(data)


def _admin_county(index, lon, lat):
    ids = [z["id"] for z in index.query_point(lon, lat)["zones"]
           if z["layer"] == "admin" and z["kind"] != "city"]
    return ids


@pytest.mark.parametrize("seat", sorted(SEATS))
def test_county_seats_fall_in_their_counties(real, seat):
    data, index = real
    (lon, lat), adcode = SEATS[seat]
    admin = data.layers["admin"]
    county_id = admin.index[admin["adcode"].astype(str) == adcode][0]
    res = index.query_point(lon, lat)
    assert res["in_service_area"] is True
    assert _admin_county(index, lon, lat) == [county_id]


def test_inner_mongolia_point_is_out_of_the_service_area(real):
    data, index = real
    lon, lat = 122.0, 46.3  # Hinggan League, Inner Mongolia
    res = index.query_point(lon, lat)
    assert res["in_service_area"] is False
    assert [z for z in res["zones"] if z["layer"] == "admin"] == []
    # clearly outside, not a boundary accident: > 1 km from Baicheng's boundary
    assert _metric_distance(lon, lat, data.service_area) > 1000


def test_gcj02_point_near_a_county_border_gives_the_wgs84_zones(real):
    data, index = real
    admin = data.layers["admin"]
    counties = admin[admin["kind"] == "county"]
    borders = gcrs.to_metric(shapely.union_all(shapely.boundary(counties.geometry.values)))
    city_edge = gcrs.to_metric(shapely.boundary(data.service_area))
    inner = shapely.difference(borders, city_edge.buffer(1.0))  # borders between counties
    rng = np.random.default_rng(3)
    found = None
    for _ in range(200):
        pts = shapely.line_interpolate_point(inner, rng.uniform(0, inner.length, 400))
        xy = shapely.get_coordinates(pts) + rng.uniform(-300, 300, (400, 2))
        lon, lat = gcrs.transform_xy(xy[:, 0], xy[:, 1], gcrs.METRIC_CRS, gcrs.WGS84)
        glon, glat = gcrs.wgs84_to_gcj02(lon, lat)
        for i in range(len(lon)):
            here = _admin_county(index, lon[i], lat[i])
            naive = _admin_county(index, glon[i], glat[i])  # GCJ-02 misread as WGS 84
            d = shapely.distance(Point(xy[i]), inner)
            if here and naive and here != naive and d < 300:
                found = (lon[i], lat[i], glon[i], glat[i], here)
                break
        if found:
            break
    assert found, "no point near a county border where the datum matters"
    lon, lat, glon, glat, here = found
    wlon, wlat = gcrs.to_wgs84([glon], [glat], "gcj02")
    assert _admin_county(index, wlon[0], wlat[0]) == here
    assert (_ids(index.query_point(wlon[0], wlat[0])) == _ids(index.query_point(lon, lat)))


def test_real_batch_equals_sjoin_on_random_points(real):
    data, index = real
    minx, miny, maxx, maxy = data.service_area.bounds
    rng = np.random.default_rng(11)
    lon = rng.uniform(minx, maxx, 10_000)
    lat = rng.uniform(miny, maxy, 10_000)
    got = _pairs(index.batch(lon, lat))
    assert got == _sjoin_pairs(index, lon, lat)
    assert len(got) > 10_000  # most points lie in Baicheng and a county: ≥ 2 pairs each


def test_index_projection_equals_the_crs_module_and_rejects_what_it_rejects(syn):
    # The index projects sites with its own fast path; it must give geo.crs's numbers
    # exactly, keep holes and parts, and fail with the same CRS error.
    from planmap.geo.errors import CRSError

    shapes = [Point(123.1, 45.2), LineString([(122.5, 45.0), (123.4, 45.9)]),
              Polygon([(122, 45), (123, 45), (123, 46), (122, 46)],
                      [[(122.2, 45.2), (122.4, 45.2), (122.4, 45.4)]]),
              shapely.MultiPolygon([box(122, 45, 122.1, 45.1), box(123, 46, 123.2, 46.1)])]
    for geom in shapes:
        assert shapely.equals_exact(syn.project_site(geom).metric, gcrs.to_metric(geom), 0)
    for bad in (Point(123, 95), Polygon([(123, 45), (123, 95), (124, 45)])):
        with pytest.raises(CRSError):
            syn.project_site(bad)
        with pytest.raises(CRSError):
            gcrs.to_metric(bad)


def test_block_zones_equal_a_cell_by_cell_reading_of_the_grid(real):
    # The site check settles zones from the grid cells under a site's bbox; a shortcut
    # (summed-area tables) says when that block holds a single signature.  Both paths
    # must give what reading every cell gives.
    _, real = real
    rng = np.random.default_rng(7)
    grid = real._cell_sig.reshape(real._ny, real._nx)
    minx, miny, maxx, maxy = real.service_area.bounds
    uniform = 0
    for _ in range(3000):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        w, h = rng.uniform(0.0, 0.05, 2) * rng.choice([0.01, 0.1, 1.0])
        site = box(x, y, x + w, y + h)
        got = real._block_zones(site.bounds)
        ix0 = int(np.floor((x - real._x0) * real._inv_dx - 1e-6))
        iy0 = int(np.floor((y - real._y0) * real._inv_dy - 1e-6))
        ix1 = int(np.floor((x + w - real._x0) * real._inv_dx + 1e-6))
        iy1 = int(np.floor((y + h - real._y0) * real._inv_dy + 1e-6))
        if got is None:  # only for a bbox leaving the grid
            assert ix0 < 0 or iy0 < 0 or ix1 >= real._nx or iy1 >= real._ny
            continue
        sigs = np.unique(grid[iy0:iy1 + 1, ix0:ix1 + 1]).tolist()
        uniform += len(sigs) == 1
        full = set.intersection(*(set(real._sigs[s][0]) for s in sigs))
        anyz = set().union(*(set(real._sigs[s][0]) | set(real._sigs[s][1]) for s in sigs))
        assert got == (sorted(full), sorted(anyz - full))
    assert 300 < uniform < 2700  # both paths exercised


def test_project_site_gives_the_metric_geometry_and_both_bounds(syn):
    from planmap.geo.errors import CRSError

    ring = [(123 + 0.3 * np.cos(a), 45.5 + 0.2 * np.sin(a))
            for a in np.linspace(0, 2 * np.pi, 200)[:-1]]  # a larger site too
    for geom in (Point(123.1, 45.2), box(122.5, 45.1, 122.6, 45.3), Polygon(ring),
                 LineString([(122.5, 45.0), (123.4, 45.9), (123.0, 45.2)])):
        site = syn.project_site(geom)
        metric = gcrs.to_metric(geom)
        assert shapely.equals_exact(site.metric, metric, 0)
        assert site.bounds == geom.bounds
        assert site.metric_bounds == metric.bounds
        assert site.vertex == tuple(shapely.get_coordinates(geom)[0])
    with pytest.raises(CRSError):
        syn.project_site(Polygon([(123, 45), (123, 95), (124, 45)]))


def test_near_grid_lists_every_piece_within_the_radius(real):
    # nearest() reads candidate pieces from a metric cell grid; a piece missing from a
    # cell's list would silently drop a zone from the answer.
    from planmap.geo.tmerc import metric_point

    _, index = real
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = shapely.total_bounds(index._pieces)
    for _ in range(300):
        x, y = rng.uniform(x0 - 6000, x1 + 6000), rng.uniform(y0 - 6000, y1 + 6000)
        d = shapely.distance(Point(x, y), index._pieces)
        for radius in (5000.0, 1200.0):
            within = set(np.flatnonzero(d <= radius).tolist())
            assert within <= set(index._near_candidates(x, y, radius).tolist())
    # and the answers agree with a brute-force reading of every feature (a zone's
    # distance is to its boundary: nearest() is asked with no layer excluded here)
    outline = np.where(index._is_zone, shapely.boundary(index._fgeom_m), index._fgeom_m)
    for lon, lat in rng.uniform((121.5, 44.3), (124.5, 46.3), (200, 2)).tolist():
        x, y = metric_point(lon, lat)
        dist = shapely.distance(Point(x, y), outline)
        got = {(e["layer"], e["id"]): e["distance_m"]
               for e in index.nearest(lon, lat, per_layer=1000)}
        want = {(index._flayer[f], index._fid[f]): round(float(dist[f]), 1)
                for f in np.flatnonzero(dist <= 5000.0).tolist()}
        assert got.keys() == want.keys()
        assert all(abs(got[k] - want[k]) <= 0.11 for k in got)


# --------------------------------------------------------------------------- two-level grid


def _sub_cell_boxes(index, blocks):
    """Sub-cell boxes (shrunk by 1e-7 sub-cell) and signatures of the given block numbers."""
    k = 8
    cells = index._blocks[blocks]
    cy, cx = np.divmod(cells, index._nx)
    sy, sx = np.divmod(np.arange(k * k), k)
    gx = (cx[:, None] * k + sx[None, :]).ravel()
    gy = (cy[:, None] * k + sy[None, :]).ravel()
    w, h = index._dx / k, index._dy / k
    e = 1e-7
    boxes = shapely.box(index._x0 + (gx + e) * w, index._y0 + (gy + e) * h,
                        index._x0 + (gx + 1 - e) * w, index._y0 + (gy + 1 - e) * h)
    sigs = index._sub_sig.reshape(-1, k * k)[blocks].ravel()
    return boxes, sigs


def _check_sub_cells(index, blocks):
    boxes, sigs = _sub_cell_boxes(index, blocks)
    checked = 0
    for z in index.zone_idx.tolist():
        zone = index._fgeom[z]
        cov = np.array([z in index._sigs[s][0] for s in sigs.tolist()])
        out = np.array([z not in index._sigs[s][0] and z not in index._sigs[s][1]
                        for s in sigs.tolist()])
        # a sub-cell said to be covered lies wholly inside; one said to be clear of the
        # zone does not meet it at all (boundary included)
        assert shapely.covers(zone, boxes[cov]).all(), z
        assert not shapely.intersects(zone, boxes[out]).any(), z
        checked += int(cov.sum())
    return checked


def test_sub_cells_are_classified_exactly(syn):
    assert len(syn._blocks) > 0
    assert _check_sub_cells(syn, np.arange(len(syn._blocks))) > 0
    # points in crossed sub-cells are the only ones that need a geometry test
    stats = syn.grid_stats()
    assert 0 < stats["boundary_sub_cells"] < 0.5 * 64 * stats["boundary_cells"]


def test_points_on_sub_cell_lines_are_classified_exactly(syn):
    # every sub-cell corner and edge midpoint of every boundary cell
    k = 8
    cy, cx = np.divmod(syn._blocks, syn._nx)
    t = np.arange(2 * k + 1) / 2  # 0, ½, 1, …, k in sub-cell units
    gx = (cx[:, None, None] * k + t[None, :, None]) * (syn._dx / k) + syn._x0
    gy = (cy[:, None, None] * k + t[None, None, :]) * (syn._dy / k) + syn._y0
    lon, lat = np.broadcast_arrays(gx, gy)
    lon, lat = lon.ravel(), lat.ravel()
    assert _pairs(syn.batch(lon, lat)) == _sjoin_pairs(syn, lon, lat)


def test_batch_order_and_covering_agree(syn):
    rng = np.random.default_rng(5)
    n = 4000
    edge = shapely.line_interpolate_point(
        shapely.boundary(np.array([A, B, C, D])[rng.integers(0, 4, n)]),
        rng.uniform(0, 1, n), normalized=True)
    xy = shapely.get_coordinates(edge) + rng.normal(0, 1e-9, (n, 2))
    p, z = syn.batch_indices(xy[:, 0], xy[:, 1])
    assert p.dtype == np.int32 and z.dtype == np.uint8
    # grouped by ascending point, a point's zones in feature (= layer) order
    key = p.astype(np.int64) * 1000 + z
    assert (np.diff(key) > 0).all()
    want = [(i, f) for i, (x, y) in enumerate(xy.tolist()) for f in syn.covering(x, y)]
    assert list(zip(p.tolist(), z.tolist(), strict=True)) == want
    res = syn.batch(xy[:, 0], xy[:, 1])
    assert _pairs(res) == _sjoin_pairs(syn, xy[:, 0], xy[:, 1])
    assert res.layers.dtype == object and res.zone_ids.dtype == object
    assert res.zone_ids.tolist() == [syn._fid[f] for f in z.tolist()]
    assert res.layers.tolist() == [syn._flayer[f] for f in z.tolist()]


def test_many_features_use_wider_zone_indices():
    # 300 small squares on a 20 × 15 raster, half of them overlapping their neighbour
    rows = []
    for i in range(300):
        x, y = X0 + (i % 20) * S, Y0 + (i // 20) * S
        rows.append((f"z{i}", box(x, y, x + S * (1.5 if i % 2 else 1.0), y + S), "derived"))
    index = ZoneIndex({"many": _layer(rows)}, grid_cells=48)
    rng = np.random.default_rng(9)
    lon = rng.uniform(X0 - S, X0 + 21 * S, 20_000)
    lat = rng.uniform(Y0 - S, Y0 + 16 * S, 20_000)
    res = index.batch(lon, lat)
    assert res.zone_idx.dtype == np.uint16
    assert _pairs(res) == _sjoin_pairs(index, lon, lat)
    corners = shapely.get_coordinates(np.array([r[1] for r in rows]))
    assert _pairs(index.batch(corners[:, 0], corners[:, 1])) == _sjoin_pairs(
        index, corners[:, 0], corners[:, 1])


def test_real_sub_cells_are_classified_exactly(real):
    _, index = real
    blocks = np.random.default_rng(13).choice(len(index._blocks), 300, replace=False)
    assert _check_sub_cells(index, np.sort(blocks)) > 0


def test_real_batch_and_covering_equal_sjoin_near_boundaries(real):
    _, index = real
    rng = np.random.default_rng(17)
    n = 5000
    zones = index._fgeom[index.zone_idx]
    edge = shapely.line_interpolate_point(
        shapely.boundary(zones[rng.integers(0, len(zones), n)]), rng.uniform(0, 1, n),
        normalized=True)
    xy = shapely.get_coordinates(edge) + rng.normal(0, 1e-9, (n, 2))
    lon, lat = xy[:, 0], xy[:, 1]
    res = index.batch(lon, lat)
    assert _pairs(res) == _sjoin_pairs(index, lon, lat)
    want = [(i, f) for i, (x, y) in enumerate(xy.tolist()) for f in index.covering(x, y)]
    assert list(zip(res.point_idx.tolist(), res.zone_idx.tolist(), strict=True)) == want


def test_real_batch_id_strings_equal_the_tables(real, monkeypatch):
    import planmap.geo.index as gi

    data, index = real
    minx, miny, maxx, maxy = data.service_area.bounds
    rng = np.random.default_rng(19)
    lon, lat = rng.uniform(minx, maxx, 30_000), rng.uniform(miny, maxy, 30_000)
    res = index.batch(lon, lat)
    assert len(res.zone_idx) > 3 * gi._TAKE_CHUNK  # several chunks of the compiled take
    want_ids = [index._fid[z] for z in res.zone_idx.tolist()]
    want_layers = [index._flayer[z] for z in res.zone_idx.tolist()]
    assert res.zone_ids.dtype == object and res.zone_ids.tolist() == want_ids
    assert res.layers.dtype == object and res.layers.tolist() == want_layers
    import planmap.geo.fastpaths  # noqa: F401

    from planmap import geo

    monkeypatch.setattr(geo.fastpaths, "_private_take_kernel", lambda: None)  # numpy fallback
    again = index.batch(lon, lat)
    assert again.zone_ids.tolist() == want_ids and again.layers.tolist() == want_layers
