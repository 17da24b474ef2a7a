"""CQL2 filters (OGC 21-065) for the OGC API: parsed by pygeofilter, evaluated here.

The text and JSON encodings are parsed by `pygeofilter <https://github.com/geopython/
pygeofilter>`_ into its syntax tree; this module turns that tree into nested Python
closures over feature properties and shapely geometries.  Nothing is ever passed to
``eval`` or built into SQL text (pygeofilter's own "native" backend uses ``eval``, so it is
not used), so a filter can only compare values: an injection attempt is a syntax error or a
literal that matches nothing.

Comparisons follow CQL2's three-valued logic: a comparison with a missing (null) value is
*unknown*; ``NOT unknown`` stays unknown; only features for which the filter is *true* match.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Callable
from typing import Any

import shapely
from planmap.geo.errors import InvalidInput
from pygeofilter import ast, values

#: filter-lang values
LANGS = ("cql2-text", "cql2-json")
GEOMETRY = "geometry"  # the one spatial queryable
_MAX_FILTER_CHARS = 20_000  # a filter is a short expression; a page of text is an attack

Predicate = Callable[[dict, Any], "bool | None"]


def _bad(code: str, en: str, zh: str, param: str = "filter") -> InvalidInput:
    return InvalidInput(code, en, zh, param=param)


def parse(text: str, lang: str = "cql2-text"):
    """Parse a CQL2 filter into pygeofilter's syntax tree.

    Parameters
    ----------
    text : str
        The filter, in CQL2 text or CQL2 JSON.
    lang : str
        ``"cql2-text"`` or ``"cql2-json"``.

    Returns
    -------
    pygeofilter.ast.Node
        The syntax tree.

    Raises
    ------
    InvalidInput
        ``invalid_filter`` naming the line and column of a syntax error, or
        ``unknown_filter_lang``.
    """
    if lang not in LANGS:
        raise _bad("unknown_filter_lang",
                   f"filter-lang {str(lang)[:40]!r} is not supported; use {' or '.join(LANGS)}",
                   f"不支持 filter-lang {str(lang)[:40]!r}；请使用 {' 或 '.join(LANGS)}",
                   "filter-lang")
    if len(text) > _MAX_FILTER_CHARS:
        raise _bad("invalid_filter", f"filter longer than {_MAX_FILTER_CHARS} characters",
                   f"filter 超过 {_MAX_FILTER_CHARS} 个字符")
    if lang == "cql2-json":
        return _parse_json(text)
    return _parse_text(text)


def _parse_text(text: str):
    from lark.exceptions import LarkError, UnexpectedInput
    from pygeofilter.parsers.cql2_text import parse as parse_text

    try:
        return parse_text(text)
    except UnexpectedInput as exc:
        line, column = getattr(exc, "line", None), getattr(exc, "column", None)
        pos = getattr(exc, "pos_in_stream", None)
        near = text[pos: pos + 20] if isinstance(pos, int) and pos >= 0 else ""
        where = f"line {line}, column {column}" if line and column and line > 0 else \
            "the end of the filter"
        raise _bad("invalid_filter",
                   f"CQL2 syntax error at {where}" + (f" near {near!r}" if near else ""),
                   f"CQL2 语法错误，位于第 {line} 行第 {column} 列" if line and line > 0
                   else "CQL2 语法错误，位于表达式末尾") from None
    except (LarkError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _bad("invalid_filter", f"CQL2 filter not understood: {str(exc)[:120]}",
                   "无法解析 CQL2 表达式") from None


def _parse_json(text: str):
    from pygeofilter.parsers.cql2_json import parse as parse_json

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad("invalid_filter",
                   f"CQL2 JSON is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                   f"CQL2 JSON 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列") from None
    if not isinstance(doc, dict):
        raise _bad("invalid_filter", "CQL2 JSON must be an object ({\"op\": ..., \"args\": ...})",
                   "CQL2 JSON 必须是对象（{\"op\": ..., \"args\": ...}）")
    try:
        return parse_json(_bbox_to_polygon(doc))
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 — pygeofilter raises bare errors on bad trees
        raise _bad("invalid_filter", f"CQL2 JSON not understood: {str(exc)[:120]}",
                   "无法解析 CQL2 JSON 表达式") from None


def _bbox_to_polygon(node):
    """Replace CQL2 JSON ``{"bbox": [x0, y0, x1, y1]}`` by the box polygon.

    pygeofilter 0.4 builds ``Envelope(x1, x2, y1, y2)`` from the list in CQL2 order
    (x0, y0, x1, y1), which swaps the corners; a plain polygon has one meaning.
    """
    if isinstance(node, list):
        return [_bbox_to_polygon(v) for v in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"bbox"}:
        box = node["bbox"]
        if not isinstance(box, list) or len(box) not in (4, 6) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in box):
            raise _bad("invalid_filter", "bbox needs 4 (or 6) finite numbers",
                       "bbox 需要 4 个（或 6 个）有限数值")
        x0, y0, x1, y1 = box[:4] if len(box) == 4 else (box[0], box[1], box[3], box[4])
        return json.loads(shapely.to_geojson(shapely.box(x0, y0, x1, y1)))
    return {k: _bbox_to_polygon(v) for k, v in node.items()}


# ------------------------------------------------------------------ compilation


def _and(*values_):
    if any(v is False for v in values_):
        return False
    return None if any(v is None for v in values_) else True


def _or(*values_):
    if any(v is True for v in values_):
        return True
    return None if any(v is None for v in values_) else False


def _not(value):
    return None if value is None else not value


_COMPARE = {
    ast.Equal: lambda a, b: a == b, ast.NotEqual: lambda a, b: a != b,
    ast.LessThan: lambda a, b: a < b, ast.LessEqual: lambda a, b: a <= b,
    ast.GreaterThan: lambda a, b: a > b, ast.GreaterEqual: lambda a, b: a >= b,
}
_SPATIAL = {
    ast.GeometryIntersects: shapely.intersects, ast.GeometryDisjoint: shapely.disjoint,
    ast.GeometryContains: shapely.contains, ast.GeometryWithin: shapely.within,
    ast.GeometryTouches: shapely.touches, ast.GeometryCrosses: shapely.crosses,
    ast.GeometryOverlaps: shapely.overlaps, ast.GeometryEquals: shapely.equals,
}


def _kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, _dt.datetime):
        return "timestamp"
    if isinstance(value, _dt.date):
        return "date"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "other"


def _comparable(a, b) -> bool:
    return _kind(a) == _kind(b) and _kind(a) != "other"


def _like_regex(pattern: str, wildcard: str, single: str, escape: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if escape and ch == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == wildcard else "." if ch == single else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.S)


class Compiler:
    """Turn a pygeofilter tree into a predicate ``f(properties, geometry) -> bool | None``.

    Parameters
    ----------
    queryables : dict of str to str
        Queryable name -> JSON type (``"string"``, ``"number"``, ``"integer"``,
        ``"boolean"``); ``geometry`` is the spatial one.
    to_wgs84 : callable, optional
        Converts a literal shapely geometry from the filter's CRS (``filter-crs``) to WGS 84.
    """

    def __init__(self, queryables: dict[str, str], to_wgs84=None):
        self.queryables = queryables
        self.to_wgs84 = to_wgs84 or (lambda g: g)

    def compile(self, node) -> Predicate:
        """Return the predicate of a whole filter (its top node must be a condition)."""
        if not isinstance(node, (ast.Condition, ast.Predicate, bool)):
            raise _bad("invalid_filter", "a filter must be a condition (true or false), not a "
                       "value", "filter 必须是条件表达式，而不是一个值")
        return self._cond(node)

    # conditions ---------------------------------------------------------
    def _cond(self, node) -> Predicate:
        if isinstance(node, bool):
            return lambda p, g, v=node: v
        if isinstance(node, ast.And):
            a, b = self._cond(node.lhs), self._cond(node.rhs)
            return lambda p, g: _and(a(p, g), b(p, g))
        if isinstance(node, ast.Or):
            a, b = self._cond(node.lhs), self._cond(node.rhs)
            return lambda p, g: _or(a(p, g), b(p, g))
        if isinstance(node, ast.Not):
            a = self._cond(node.sub_node)
            return lambda p, g: _not(a(p, g))
        if isinstance(node, ast.Include):
            return lambda p, g, v=not node.not_: v
        if type(node) in _COMPARE:
            return self._comparison(node)
        if isinstance(node, ast.Between):
            return self._between(node)
        if isinstance(node, ast.Like):
            return self._like(node)
        if isinstance(node, ast.In):
            return self._in(node)
        if isinstance(node, ast.IsNull):
            value = self._value(node.lhs)
            return lambda p, g: (value(p, g) is None) != node.not_
        if type(node) in _SPATIAL:
            return self._spatial(node)
        if isinstance(node, ast.BBox):
            box = shapely.box(node.minx, node.miny, node.maxx, node.maxy)
            inner = self._spatial(ast.GeometryIntersects(node.lhs, values.Geometry(
                json.loads(shapely.to_geojson(box)))))
            return inner
        if isinstance(node, ast.TemporalPredicate):
            raise _bad("unsupported_filter", "temporal operators are not supported: no "
                       "queryable carries a time", "不支持时间运算符：没有含时间的可查询属性")
        name = type(node).__name__
        raise _bad("unsupported_filter", f"CQL2 operator {name} is not supported here",
                   f"不支持 CQL2 运算符 {name}")

    def _comparison(self, node) -> Predicate:
        op = _COMPARE[type(node)]
        a, b = self._value(node.lhs), self._value(node.rhs)
        self._check_types(node.lhs, node.rhs)

        def compare(p, g):
            x, y = a(p, g), b(p, g)
            if x is None or y is None:
                return None
            return op(x, y) if _comparable(x, y) else None
        return compare

    def _between(self, node) -> Predicate:
        v, lo, hi = self._value(node.lhs), self._value(node.low), self._value(node.high)
        self._check_types(node.lhs, node.low)
        self._check_types(node.lhs, node.high)

        def between(p, g):
            x, a, b = v(p, g), lo(p, g), hi(p, g)
            if x is None or a is None or b is None or not (_comparable(x, a)
                                                           and _comparable(x, b)):
                return None
            return (a <= x <= b) != node.not_
        return between

    def _like(self, node) -> Predicate:
        if not isinstance(node.pattern, str):
            raise _bad("invalid_filter", "LIKE needs a text pattern", "LIKE 需要文本模式")
        # CQL2 fixes the wildcards: % any run, _ one character, \\ escapes (pygeofilter's
        # text parser reports "." as the single-character wildcard, which CQL2 does not have)
        regex = _like_regex(node.pattern, "%", "_", "\\")
        if node.nocase:
            regex = re.compile(regex.pattern, re.S | re.I)
        value = self._value(node.lhs)

        def like(p, g):
            x = value(p, g)
            if not isinstance(x, str):
                return None
            return (regex.fullmatch(x) is not None) != node.not_
        return like

    def _in(self, node) -> Predicate:
        value = self._value(node.lhs)
        options = [self._value(n) for n in node.sub_nodes]
        for n in node.sub_nodes:
            self._check_types(node.lhs, n)

        def in_(p, g):
            x = value(p, g)
            if x is None:
                return None
            found = [o(p, g) for o in options]
            hit = any(_comparable(x, o) and x == o for o in found if o is not None)
            return hit != node.not_
        return in_

    def _spatial(self, node) -> Predicate:
        func = _SPATIAL[type(node)]
        a, b = self._geometry(node.lhs), self._geometry(node.rhs)

        def spatial(p, g):
            x, y = a(p, g), b(p, g)
            if x is None or y is None or shapely.is_empty(x) or shapely.is_empty(y):
                return None
            return bool(func(x, y))
        return spatial

    # values -------------------------------------------------------------
    def _attribute(self, node) -> str:
        name = node.name
        if name not in self.queryables and name != GEOMETRY:
            shown = str(name)[:64]
            known = ", ".join(sorted(self.queryables))
            raise _bad("unknown_queryable",
                       f"{shown!r} is not a queryable of this collection; queryables: {known}",
                       f"{shown!r} 不是此要素集合的可查询属性；可查询属性：{known}")
        return name

    def _value(self, node):
        if isinstance(node, ast.Attribute):
            name = self._attribute(node)
            if name == GEOMETRY:
                raise _bad("invalid_filter", "geometry can only be used in a spatial "
                           "operator (S_INTERSECTS, ...)", "geometry 只能用于空间运算符")
            return lambda p, g: _scalar(p.get(name))
        if isinstance(node, (str, bool, _dt.date)) or node is None:
            return lambda p, g, v=node: v
        if isinstance(node, (int, float)):
            if not math.isfinite(node):
                raise _bad("invalid_filter", "numbers in a filter must be finite",
                           "filter 中的数字必须是有限值")
            return lambda p, g, v=node: v
        if isinstance(node, (values.Geometry, values.Envelope)):
            raise _bad("invalid_filter", "a geometry can only be used in a spatial operator",
                       "几何只能用于空间运算符")
        name = type(node).__name__
        raise _bad("unsupported_filter", f"CQL2 expression {name} is not supported here",
                   f"不支持 CQL2 表达式 {name}")

    def _geometry(self, node):
        if isinstance(node, ast.Attribute):
            if self._attribute(node) != GEOMETRY:
                raise _bad("invalid_filter", f"{node.name!r} is not a geometry; use geometry",
                           f"{node.name!r} 不是几何属性；请使用 geometry")
            return lambda p, g: g
        if isinstance(node, ast.Function) and str(node.name).lower() == "bbox":
            coords = node.arguments
            if len(coords) not in (4, 6) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool)
                    and math.isfinite(v) for v in coords):
                raise _bad("invalid_filter", "BBOX needs 4 (or 6) finite numbers",
                           "BBOX 需要 4 个（或 6 个）有限数值")
            x0, y0, x1, y1 = (coords[0], coords[1], coords[2], coords[3]) if len(coords) == 4 \
                else (coords[0], coords[1], coords[3], coords[4])
            node = values.Geometry(json.loads(shapely.to_geojson(shapely.box(x0, y0, x1, y1))))
        if isinstance(node, values.Envelope):  # ECQL ENVELOPE(...), not CQL2
            raise _bad("unsupported_filter", "ENVELOPE is not CQL2; use BBOX(x0, y0, x1, y1)",
                       "ENVELOPE 不是 CQL2；请使用 BBOX(x0, y0, x1, y1)")
        if isinstance(node, values.Geometry):
            try:
                geom = shapely.geometry.shape(node.__geo_interface__)
            except (ValueError, TypeError, KeyError, AttributeError,
                    shapely.errors.GEOSException) as exc:
                raise _bad("invalid_filter", f"invalid geometry literal: {str(exc)[:80]}",
                           "无效的几何字面量") from None
            geom = self.to_wgs84(geom)
            shapely.prepare(geom)
            return lambda p, g: geom
        raise _bad("invalid_filter", "a spatial operator needs geometry and a geometry literal",
                   "空间运算符需要 geometry 和一个几何字面量")

    def _check_types(self, lhs, rhs) -> None:
        """Refuse a typed queryable compared with a literal of another type (400, not no match)."""
        for attr, lit in ((lhs, rhs), (rhs, lhs)):
            if isinstance(attr, ast.Attribute) and not isinstance(lit, ast.Node) \
                    and lit is not None and attr.name in self.queryables:
                want = self.queryables[attr.name]
                got = _kind(lit)
                if {"integer": "number"}.get(want, want) != got:
                    raise _bad("filter_type_mismatch",
                               f"{attr.name!r} is {want}; compared with {got} {lit!r:.40}",
                               f"{attr.name!r} 的类型是 {want}，不能与 {got} 比较")


def _scalar(value):
    if isinstance(value, float) and value != value:
        return None
    return value


def queryable_type(values_) -> str | None:
    """JSON type of a column if every non-null value is one scalar type, else None."""
    kinds = {_kind(v) for v in values_ if _scalar(v) is not None}
    if len(kinds) != 1 or "other" in kinds:
        return None if kinds else "string"
    kind = kinds.pop()
    if kind == "number" and all(isinstance(v, int) or (isinstance(v, float) and v.is_integer())
                                for v in values_ if _scalar(v) is not None):
        return "integer" if all(isinstance(v, int) for v in values_
                                if _scalar(v) is not None) else "number"
    return kind


__all__ = ["LANGS", "GEOMETRY", "Compiler", "parse", "queryable_type"]
