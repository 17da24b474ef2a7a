"""geo.tmerc.metric_point agrees with PROJ (pyproj) for EPSG:4326 → EPSG:4550."""

import numpy as np
import pyproj
import pytest
from planmap.geo.tmerc import metric_point


def test_matches_pyproj_to_a_millimetre_across_and_around_baicheng():
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4550", always_xy=True)
    rng = np.random.default_rng(7)
    lon = rng.uniform(119.5, 126.5, 5000)  # zone 41 ± 3.5° and beyond Baicheng's extent
    lat = rng.uniform(40.0, 50.0, 5000)
    ex, ey = tr.transform(lon, lat)
    got = np.array([metric_point(a, b) for a, b in zip(lon, lat, strict=True)])
    assert np.abs(got[:, 0] - ex).max() < 1e-3
    assert np.abs(got[:, 1] - ey).max() < 1e-3


def test_central_meridian_has_the_false_easting():
    x, y = metric_point(123.0, 45.0)
    assert x == pytest.approx(500000.0, abs=1e-6)
    assert 4.98e6 < y < 4.99e6  # ~ meridian arc length to 45°N
