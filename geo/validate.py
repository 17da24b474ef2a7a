"""Geometry validation and (opt-in) repair for user-supplied sites.

:func:`validate_geometry` is the one gate every parsed site passes: size limits first
(cheap counts), then emptiness, non-finite coordinates, Z, and GEOS validity.  Repair is
never silent: it happens only when asked for, and every change is reported.
"""

from __future__ import annotations

import numpy as np
import shapely
from planmap.geo.errors import InvalidGeometry, InvalidInput, LimitExceeded
from planmap.geo.limits import DEFAULT_LIMITS, Limits
from shapely.geometry.base import BaseGeometry

POLYGONAL = ("Polygon", "MultiPolygon")


def count_parts(geom: BaseGeometry) -> tuple[int, int, int]:
    """Count vertices, parts and rings of a geometry without copying it.

    Parameters
    ----------
    geom : shapely.Geometry

    Returns
    -------
    (int, int, int)
        Number of vertices (all parts and rings), number of parts (members of a
        multi-geometry or collection, 1 for a single geometry) and number of polygon
        rings (shells plus holes; 0 for points and lines).
    """
    vertices = int(shapely.get_num_coordinates(geom))
    parts = shapely.get_parts(geom)
    rings = 0
    polys = parts[shapely.get_type_id(parts) == 3]
    if len(polys):
        rings = int(len(polys) + np.sum(shapely.get_num_interior_rings(polys)))
    return vertices, len(parts), rings


def check_limits(vertices: int, parts: int, limits: Limits = DEFAULT_LIMITS, *,
                 param: str = "geometry", rings: int = 0) -> None:
    """Raise :class:`LimitExceeded` if counts exceed ``limits``.

    Parameters
    ----------
    vertices, parts : int
        Counts of the site (all parts and rings).
    limits : Limits
        The limits in force.
    param : str
        Parameter name reported in the error.
    rings : int, optional
        Polygon rings (shells + holes); bounded by ``limits.max_parts`` too, because
        ten thousand holes cost as much as ten thousand parts.
    """
    if vertices > limits.max_vertices:
        raise LimitExceeded(
            code="too_many_vertices",
            message_en=f"geometry has {vertices} vertices; the limit is {limits.max_vertices}",
            message_zh=f"几何图形有 {vertices} 个顶点，上限为 {limits.max_vertices}",
            param=param,
        )
    if parts > limits.max_parts:
        raise LimitExceeded(
            code="too_many_parts",
            message_en=f"geometry has {parts} parts; the limit is {limits.max_parts}",
            message_zh=f"几何图形有 {parts} 个部分，上限为 {limits.max_parts}",
            param=param,
        )
    if rings > limits.max_parts:
        raise LimitExceeded(
            code="too_many_rings",
            message_en=f"geometry has {rings} polygon rings; the limit is {limits.max_parts}",
            message_zh=f"几何图形有 {rings} 个环，上限为 {limits.max_parts}",
            param=param,
        )


def polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """Return the polygons of ``geom`` (e.g. of a ``make_valid`` collection) as one geometry."""
    parts = shapely.get_parts(geom)
    polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    if len(polys) == 0:
        return shapely.Polygon()
    if len(polys) == 1:
        return polys[0]
    return shapely.union_all(polys)


def validate_geometry(geom, repair: bool = False, *, limits: Limits = DEFAULT_LIMITS,
                      param: str = "geometry") -> tuple[BaseGeometry, list[str]]:
    """Check a site geometry and optionally repair it.

    Order: limits (vertex/part/ring counts, cheap), empty, non-finite coordinates,
    Z dropped, GEOS validity.

    Parameters
    ----------
    geom : shapely.Geometry
        The geometry, in any CRS.
    repair : bool, optional
        If True, an invalid geometry is fixed with ``shapely.make_valid`` (for polygon
        input only the polygonal part is kept) and the repair is reported; if False
        (default) it is rejected with the GEOS reason.
    limits : Limits, optional
        Size limits in force.
    param : str, optional
        Parameter name reported in errors.

    Returns
    -------
    (shapely.Geometry, list of str)
        The (possibly repaired) 2-D geometry and human-readable notes of every change
        made: ``"Z coordinates dropped"`` for 3-D input (accepted, Z ignored) and one
        note per repair.

    Raises
    ------
    InvalidGeometry
        ``empty_geometry``, ``invalid_geometry`` (GEOS reason in the message) or
        ``empty_after_repair``.
    InvalidInput
        ``non_finite_coordinate``, ``not_a_geometry``.
    LimitExceeded
        ``too_many_vertices``, ``too_many_parts``, ``too_many_rings``.
    """
    if not isinstance(geom, BaseGeometry):
        raise InvalidInput(code="not_a_geometry", message_en="expected a geometry",
                           message_zh="需要一个几何图形", param=param)
    vertices, parts, rings = count_parts(geom)
    check_limits(vertices, parts, limits, param=param, rings=rings)
    if geom.is_empty:
        raise InvalidGeometry(code="empty_geometry", message_en="geometry is empty",
                              message_zh="几何图形为空", param=param)
    repairs: list[str] = []
    coords = shapely.get_coordinates(geom, include_z=True)
    if not np.all(np.isfinite(coords[:, :2])):
        i = int(np.flatnonzero(~np.all(np.isfinite(coords[:, :2]), axis=1))[0])
        raise InvalidInput(
            code="non_finite_coordinate",
            message_en=f"vertex {i} has a non-finite coordinate (NaN or infinity)",
            message_zh=f"第 {i} 个顶点的坐标不是有限数值（NaN 或无穷大）",
            param=param,
        )
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
        repairs.append("Z coordinates dropped (3-D input accepted, heights ignored)")
    if shapely.is_valid(geom):
        return geom, repairs
    reason = shapely.is_valid_reason(geom)
    if not repair:
        raise InvalidGeometry(
            code="invalid_geometry",
            message_en=f"invalid geometry: {reason} (ask for repair to fix it automatically)",
            message_zh=f"几何图形无效：{reason}（可请求自动修复）",
            param=param,
        )
    kind = geom.geom_type
    fixed = shapely.make_valid(geom)
    if kind in POLYGONAL:
        fixed = polygonal_part(fixed)
    if fixed.is_empty:
        raise InvalidGeometry(
            code="empty_after_repair",
            message_en=f"invalid geometry ({reason}); nothing of type {kind} is left after repair",
            message_zh=f"几何图形无效（{reason}）；修复后不再有 {kind} 部分",
            param=param,
        )
    note = f"repaired invalid geometry ({reason}) with make_valid: {kind} -> {fixed.geom_type}"
    if kind in POLYGONAL and geom.area > 0:
        # Area of an invalid polygon is what GEOS computes ring by ring; still useful as
        # an order of magnitude of how much the repair changed.
        change = (fixed.area - geom.area) / geom.area * 100.0
        note += f", area change {change:+.3f}%"
    repairs.append(note)
    return fixed, repairs


def flatten_collection(geom: BaseGeometry) -> BaseGeometry:
    """Flatten nested GeometryCollections into one geometry covering the same points.

    A collection (at any depth) whose members are all polygons, all lines or all points
    becomes one MultiPolygon, MultiLineString or MultiPoint; a collection of mixed kinds
    becomes a single-level GeometryCollection of at most one multi-part geometry per kind.
    Other geometries are returned unchanged.  Consumers (the zone index, exports) then
    never meet a collection inside a collection.

    Parameters
    ----------
    geom : shapely.Geometry

    Returns
    -------
    shapely.Geometry
    """
    if geom is None or geom.geom_type != "GeometryCollection":
        return geom
    by_kind: dict[str, list] = {"Polygon": [], "LineString": [], "Point": []}
    todo = [geom]
    while todo:  # iterative: the nesting depth is whatever the file says
        item = todo.pop()
        if item.geom_type == "GeometryCollection":
            todo.extend(reversed(list(shapely.get_parts(item))))
        elif not item.is_empty:
            for part in shapely.get_parts(item):
                by_kind[part.geom_type].append(part)
    multi = {"Polygon": shapely.MultiPolygon, "LineString": shapely.MultiLineString,
             "Point": shapely.MultiPoint}
    parts = []
    for kind, members in by_kind.items():
        if members:
            part = members[0] if len(members) == 1 else multi[kind](members)
            if kind == "Polygon" and not part.is_valid and all(m.is_valid for m in members):
                part = shapely.union_all(members)  # overlapping members: dissolve them
            parts.append(part)
    if len(parts) == 1:
        return parts[0]
    return shapely.GeometryCollection(parts)
