"""Constants, validation and small helpers shared by the zone index modules."""

from __future__ import annotations

import math
import os
import threading
from typing import NamedTuple

import numpy as np
import pyproj
from planmap.geo import crs as _crs
from planmap.geo.errors import InvalidInput
from planmap.geo.fastpaths import project_in_place

_PREPARED_LOCK = threading.Lock()


def _fresh_lock_in_child() -> None:
    # A fork copies the lock in whatever state another thread left it (geo.budget spawns
    # its workers instead, but a forking embedder would still need this).
    global _PREPARED_LOCK
    _PREPARED_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_lock_in_child)


DEFAULT_RADIUS_M = 5000.0
"""Default search radius of ``nearest`` (metres)."""


DEFAULT_NEAREST_PER_LAYER = 3
"""Most nearest features reported per layer."""


_EPS = 1e-6  # in cell units: slack that makes boundary-cell marking conservative


_SUB = 8  # sub-cells per side of a boundary cell (a power of two; _SUB² bits fit 64)


_POLYGONAL = (3, 6)  # shapely type ids of Polygon, MultiPolygon


_CHUNK_VERTICES = 16  # vertices per distance piece: short pieces → cheap exact distances


_TILE_MIN_VERTICES = 200  # zones with more vertices are cut into tiles for overlaps


_NEAR_CELL_M = 1000.0  # cell of the point-query candidate grid (metres)


BULK_MIN_FEATURES = 2000
"""Layers with at least this many polygons (a bureau's 图斑 or parcels) are *bulk* layers:
their zones are indexed by a compact bounding-box grid and tested exactly at query time,
instead of the per-zone cell classification, distance pieces and metric copies built
for the plan's few hundred zones (which cost ~10 ms and ~50 KB per zone)."""


_BULK_DEG_MARGIN = 1.02  # metres → degrees: EPSG:4550 scale ≥ 1, so a 2 % wider box is safe


AREA_TILE_M = 5000.0
"""Tile size (metres) used to cut large zones for fast overlap measures."""


ADMIN_LAYER = "admin"
"""Layer of the administrative units (the city and its counties) the area-wide rule uses;
the other plans' unit layers are named ``<plan>_admin`` (:func:`is_admin_layer`)."""


COUNTY_KINDS = frozenset({"county", "county-level city", "district"})
"""Admin-unit kinds that name "this county" in an answer (not the city or province)."""


def is_admin_layer(layer_id: str) -> bool:
    """Return whether a layer holds administrative units (``admin``, ``p001_admin``…)."""
    return layer_id == ADMIN_LAYER or layer_id.endswith("_" + ADMIN_LAYER)


AREA_WIDE_SHARE = 0.90
"""Area-wide rule (issue 16): a zone is an *area-wide programme* when it covers at least
this share of each of some admin units (a county or the whole city) and those units hold
at least this share of its area inside the admin units; the admin units are area-wide
themselves.  Such extents repeat a county or the city; they are not places."""


def _to_metric_transformer() -> pyproj.Transformer:
    # WGS 84 → EPSG:4550, shared with geo.crs's cache: building one costs ~1 s.
    return _crs._transformer(_crs.WGS84, _crs.METRIC_CRS)


def _project_to_metric(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS 84 lon/lat arrays (float64, contiguous, owned: overwritten) to EPSG:4550.

    In place, through :func:`geo.fastpaths.project_in_place` (same numbers as
    ``Transformer.transform``, without its copies).
    """
    return project_in_place(_to_metric_transformer(), x, y)


class ProjectedSite(NamedTuple):
    """A site in WGS 84 and EPSG:4550 with the bounds the queries need."""

    wgs84: object
    metric: object
    bounds: tuple
    metric_bounds: tuple
    vertex: tuple


def _scalar_text(value, default=None):
    if value is None:
        return default
    try:
        if value != value:  # NaN from a pandas column
            return default
    except (TypeError, ValueError):
        pass
    return value


_GEOM_NAMES = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                        "MultiLineString", "MultiPolygon", "GeometryCollection"], dtype=object)


def _bit_indices(bits: int) -> list[int]:
    """Positions of the set bits of a non-negative int, ascending."""
    out = []
    while bits:
        low = bits & -bits
        out.append(low.bit_length() - 1)
        bits ^= low
    return out


def _check_lonlat(lon, lat) -> tuple[float, float]:
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise InvalidInput(code="invalid_coordinate", param="point",
                           message_en=f"coordinates must be numbers, got {lon!r}, {lat!r}",
                           message_zh=f"坐标必须是数字，收到 {lon!r}, {lat!r}") from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidInput(code="non_finite_coordinate", param="point",
                           message_en=f"coordinates must be finite, got {lon}, {lat}",
                           message_zh=f"坐标必须是有限数值，收到 {lon}, {lat}")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InvalidInput(code="coordinate_out_of_range", param="point",
                           message_en=f"longitude/latitude out of range: {lon}, {lat}",
                           message_zh=f"经纬度超出范围：{lon}, {lat}")
    return lon, lat


def check_radius(radius_m) -> float:
    """Validate a search radius in metres (finite, 0 … 100 km).

    Parameters
    ----------
    radius_m : float
        Radius in metres.

    Returns
    -------
    float

    Raises
    ------
    InvalidInput
        ``invalid_radius`` when not a finite number in range.
    """
    try:
        r = float(radius_m)
    except (TypeError, ValueError):
        r = float("nan")
    if not (math.isfinite(r) and 0.0 <= r <= MAX_RADIUS_M):
        raise InvalidInput(code="invalid_radius", param="radius_m",
                           message_en=f"radius must be between 0 and {MAX_RADIUS_M:g} m, "
                                      f"got {radius_m!r}",
                           message_zh=f"半径必须在 0 到 {MAX_RADIUS_M:g} 米之间，收到 {radius_m!r}")
    return r


MAX_RADIUS_M = 100_000.0
"""Largest accepted search radius (metres)."""

