"""GeoJSON site files, and the hardened JSON loader used by every JSON input.

Depth, size and duplicate keys are checked before a document is built.
"""

from __future__ import annotations

import json
import re

import numpy as np
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.errors import InvalidGeometry, InvalidInput, LimitExceeded
from planmap.geo.io.common import (
    _NAME_KEYS,
    ParsedSite,
    _as_bytes,
    _Builder,
    _decode_utf8,
    _err,
    _finish,
    _resolve_crs,
)
from planmap.geo.limits import DEFAULT_LIMITS, Limits
from shapely.geometry.base import BaseGeometry

# --------------------------------------------------------------------------- JSON

_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)


def json_shape(text: str) -> tuple[int, int]:
    """Return the deepest ``[``/``{`` nesting of a JSON text and its number of ``[``.

    Strings are removed with a linear regular expression first, then brackets are counted
    with numpy: no recursion, so 100 000 levels cannot overflow the stack, and a 20 MB
    document takes well under a second.  Every GeoJSON position is an array, so the ``[``
    count bounds the number of vertices before anything is parsed.
    """
    bare = _JSON_STRING.sub("", text)
    buf = np.frombuffer(bare.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)
    if buf.size == 0:
        return 0, 0
    opens = buf == 0x5B
    step = (opens | (buf == 0x7B)).astype(np.int32) - ((buf == 0x5D) | (buf == 0x7D))
    return int(np.cumsum(step).max(initial=0)), int(np.count_nonzero(opens))


def json_depth(text: str) -> int:
    """Return the deepest ``[``/``{`` nesting of a JSON text (see :func:`json_shape`)."""
    return json_shape(text)[0]


def _reject_constant(name: str):
    raise _err(InvalidInput, "non_finite_coordinate",
               f"JSON contains {name}; numbers must be finite",
               f"JSON 中含有 {name}；数值必须为有限值", "file")


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            shown = repr(key)[:40]
            raise _err(InvalidInput, "duplicate_key", f"duplicate JSON key {shown}",
                       f"JSON 键 {shown} 重复", "file")
        obj[key] = value
    return obj


def load_json(data, limits: Limits = DEFAULT_LIMITS, *, param: str = "file",
              max_arrays: int | None = None):
    """Parse JSON safely: size and depth first; NaN, ±Infinity, duplicate keys rejected.

    Numbers such as ``1e400`` parse to infinity (a Python-level float hook would cost
    seconds on large files); coordinates are checked for finiteness afterwards.

    Parameters
    ----------
    data : bytes or str
        The JSON document (UTF-8).
    limits : Limits
        ``max_bytes`` and ``max_json_depth`` apply.
    param : str
        Parameter name reported in errors.
    max_arrays : int, optional
        Refuse (``too_many_vertices``) a document with more JSON arrays than this: a
        bound on GeoJSON positions checked before parsing.

    Returns
    -------
    object
        The parsed document.
    """
    raw = _as_bytes(data, limits, param)
    text = _decode_utf8(raw, param)
    depth, arrays = json_shape(text)
    if depth > limits.max_json_depth:
        raise _err(LimitExceeded, "json_too_deep",
                   f"JSON is nested {depth} levels deep; the limit is {limits.max_json_depth}",
                   f"JSON 嵌套 {depth} 层，上限为 {limits.max_json_depth} 层", param)
    if max_arrays is not None and arrays > max_arrays:
        raise _err(LimitExceeded, "too_many_vertices",
                   f"GeoJSON has about {arrays} positions; the vertex limit is "
                   f"{limits.max_vertices}",
                   f"GeoJSON 约有 {arrays} 个坐标点，顶点上限为 {limits.max_vertices}", "geometry")
    try:
        return json.loads(text, parse_constant=_reject_constant,
                          object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise _err(InvalidInput, "invalid_json",
                   f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                   f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}",
                   param) from None
    except (ValueError, RecursionError) as exc:  # e.g. a 5000-digit integer
        raise _err(InvalidInput, "invalid_json", f"invalid JSON: {str(exc)[:120]}",
                   f"JSON 无法解析：{str(exc)[:120]}", param) from None


_GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                   "MultiPolygon", "GeometryCollection")


def _geojson_crs(doc: dict) -> str | None:
    """Read the (obsolete, 2008) ``crs`` member if present; it must name a supported CRS."""
    member = doc.get("crs")
    if member is None:
        return None
    name = None
    if isinstance(member, dict) and isinstance(member.get("properties"), dict):
        name = member["properties"].get("name")
    return gcrs.parse_crs(name, param="crs")


def _type_of(obj, where: str) -> str:
    if not isinstance(obj, dict):
        raise _err(InvalidGeometry, "invalid_geojson",
                   f"{where}: expected a JSON object, got {type(obj).__name__}",
                   f"{where}：需要 JSON 对象，得到 {type(obj).__name__}", "file")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise _err(InvalidGeometry, "invalid_geojson", f"{where}: missing \"type\"",
                   f"{where}：缺少 \"type\"", "file")
    return kind


def _geojson_geometry(obj, b: _Builder, where: str, depth: int = 0) -> BaseGeometry | None:
    if obj is None:
        return None
    kind = _type_of(obj, where)
    if kind not in _GEOMETRY_TYPES:
        shown = repr(kind)[:40]
        raise _err(InvalidGeometry, "invalid_geojson",
                   f"{where}: unknown geometry type {shown}",
                   f"{where}：未知的几何类型 {shown}", "file")
    if kind == "GeometryCollection":
        members = obj.get("geometries")
        if not isinstance(members, list) or depth > 2:
            raise _err(InvalidGeometry, "invalid_geojson",
                       f"{where}: GeometryCollection needs a \"geometries\" list",
                       f"{where}：GeometryCollection 需要 \"geometries\" 列表", "file")
        parts = [_geojson_geometry(m, b, f"{where}.geometries[{i}]", depth + 1)
                 for i, m in enumerate(members)]
        parts = [p for p in parts if p is not None and not p.is_empty]
        return shapely.GeometryCollection(parts) if parts else None
    coords = obj.get("coordinates")
    if not isinstance(coords, list):
        raise _err(InvalidGeometry, "invalid_geojson",
                   f"{where}: {kind} needs a \"coordinates\" list",
                   f"{where}：{kind} 需要 \"coordinates\" 列表", "file")
    if not coords:
        return None
    if kind == "Point":
        b.part()
        return shapely.Point(b.coords([coords], where)[0])
    if kind == "MultiPoint":
        pts = b.coords(coords, where)
        for _ in range(len(pts)):
            b.part()
        return shapely.MultiPoint(pts)
    if kind == "LineString":
        b.part()
        return shapely.LineString(b.coords(coords, where, min_len=2))
    if kind == "MultiLineString":
        lines = []
        for i, line in enumerate(coords):
            b.part()
            lines.append(b.coords(line, f"{where} line {i}", min_len=2))
        return shapely.MultiLineString(lines)
    if kind == "Polygon":
        return b.polygon(coords, where)
    polys = [b.polygon(p, f"{where} polygon {i}") for i, p in enumerate(coords)]
    return shapely.MultiPolygon(polys)


def _feature_name(feature: dict, i: int) -> str:
    props = feature.get("properties")
    if isinstance(props, dict):
        for key in _NAME_KEYS:
            value = props.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                return str(value)[:200]
    fid = feature.get("id")
    if isinstance(fid, (str, int)) and not isinstance(fid, bool):
        return str(fid)[:200]
    return ""


def _parse_geojson(data: bytes, crs: str | None, limits: Limits, repair: bool) -> ParsedSite:
    # Positions + rings + polygons ≤ 2 × positions for any real polygon; the exact count
    # is enforced while the coordinates are read.
    doc = load_json(data, limits, max_arrays=2 * limits.max_vertices + 4 * limits.max_parts)
    kind = _type_of(doc, "document")
    embedded = _geojson_crs(doc)
    crs_in = _resolve_crs(crs, embedded, gcrs.WGS84, "GeoJSON crs member")
    b = _Builder(limits, repair)
    geoms: list[BaseGeometry] = []
    names: list[str] = []
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise _err(InvalidGeometry, "invalid_geojson",
                       "FeatureCollection needs a \"features\" list",
                       "FeatureCollection 需要 \"features\" 列表", "file")
        if len(features) > limits.max_parts:
            raise _err(LimitExceeded, "too_many_parts",
                       f"{len(features)} features; the limit is {limits.max_parts}",
                       f"要素数 {len(features)}，上限为 {limits.max_parts}", "geometry")
        for i, feat in enumerate(features):
            if _type_of(feat, f"features[{i}]") != "Feature":
                raise _err(InvalidGeometry, "invalid_geojson",
                           f"features[{i}] is not a Feature", f"features[{i}] 不是 Feature",
                           "file")
            if "geometry" not in feat:
                raise _err(InvalidGeometry, "invalid_geojson",
                           f"features[{i}] has no \"geometry\" member",
                           f"features[{i}] 缺少 \"geometry\"", "file")
            g = _geojson_geometry(feat["geometry"], b, f"features[{i}].geometry")
            if g is not None and not g.is_empty:
                geoms.append(g)
                names.append(_feature_name(feat, i))
    elif kind == "Feature":
        if "geometry" not in doc:
            raise _err(InvalidGeometry, "invalid_geojson", "Feature has no \"geometry\" member",
                       "Feature 缺少 \"geometry\"", "file")
        g = _geojson_geometry(doc["geometry"], b, "geometry")
        if g is not None:
            geoms.append(g)
            names.append(_feature_name(doc, 0))
    elif kind in _GEOMETRY_TYPES:
        g = _geojson_geometry(doc, b, kind)
        if g is not None:
            geoms.append(g)
            names.append("")
    else:
        shown = repr(kind)[:40]
        raise _err(InvalidGeometry, "invalid_geojson",
                   f"expected a GeoJSON Geometry, Feature or FeatureCollection; got type {shown}",
                   f"需要 GeoJSON 几何、Feature 或 FeatureCollection；得到类型 {shown}", "file")
    return _finish(geoms, names, crs_in, "geojson", b, limits, repair)
