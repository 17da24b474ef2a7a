"""Argument parsing for the views: numbers, booleans, CRS names, integers, bbox numbers, tiles.

One definition of each argument rule, used by ``server/api.py``, ``ogc.py``, ``tiles.py`` and
``search.py``; the error codes and messages are those the views answered before (their tests
hold them).  Bad input raises a :class:`geo.errors.PlanmapError` subclass, which
``server/errors.py`` turns into the one JSON error shape.
"""

from __future__ import annotations

import math
import re

from flask import request
from planmap.geo.errors import InvalidInput
from planmap.geo.mvt import TileError
from planmap.server.i18n import lang_from

# A decimal number as people type it; "nan", "inf", hex and "1_000" are not numbers here.
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity",
               "-infinity"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_BBOX_NUMBER_RE = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?\s*$")
_QUERY_INT_RE = re.compile(r"^[0-9]{1,15}$")


def parse_number(raw, param: str) -> float:
    """Parse a finite decimal number from query/form text.

    Raises ``InvalidInput`` with code ``missing_parameter``, ``non_finite_coordinate``
    (NaN, ±inf, overflow such as 1e400) or ``invalid_number``.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        raise InvalidInput("missing_parameter", f"{param} is required and must be a number",
                           f"缺少参数 {param}（必须是数字）", param=param)
    if isinstance(raw, bool):
        raise InvalidInput("invalid_number", f"{param} must be a number",
                           f"{param} 必须是数字", param=param)
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = str(raw).strip()
        if text.lower() in _NON_FINITE:
            raise InvalidInput("non_finite_coordinate", f"{param} must be a finite number",
                               f"{param} 必须是有限数值", param=param)
        if len(text) > 64 or not _NUMBER_RE.match(text):
            raise InvalidInput("invalid_number",
                               f"{param} must be a number; got {text[:40]!r}",
                               f"{param} 必须是数字；收到 {text[:40]!r}", param=param)
        value = float(text)
    if not math.isfinite(value):
        raise InvalidInput("non_finite_coordinate", f"{param} must be a finite number",
                           f"{param} 必须是有限数值", param=param)
    return value


def parse_bool(raw, param: str, default: bool = False) -> bool:
    """Parse a boolean flag (``true/false/1/0/yes/no``)."""
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput("invalid_boolean", f"{param} must be true or false; got {text[:20]!r}",
                       f"{param} 必须是 true 或 false；收到 {text[:20]!r}", param=param)


def parse_crs_arg(raw, param: str = "crs") -> str:
    """Parse a ``crs`` argument of the JSON API (default EPSG:4326)."""
    from planmap.geo.crs import parse_crs

    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return "EPSG:4326"
    return parse_crs(raw, param=param)


def bbox_number(text: str, param: str) -> float:
    """Parse one number of a ``bbox`` list (``invalid_bbox`` / ``non_finite_coordinate``)."""
    if not _BBOX_NUMBER_RE.match(text):
        low = text.strip().lower().lstrip("+-")
        if low in ("nan", "inf", "infinity"):
            raise InvalidInput("non_finite_coordinate", f"{param} must be finite numbers",
                               f"{param} 必须是有限数值", param=param)
        raise InvalidInput("invalid_bbox", f"{param}: {text[:40]!r} is not a number",
                           f"{param}：{text[:40]!r} 不是数字", param=param)
    value = float(text)
    if not math.isfinite(value):
        raise InvalidInput("non_finite_coordinate", f"{param} must be finite numbers",
                           f"{param} 必须是有限数值", param=param)
    return value


def query_int(name: str, default: int, minimum: int) -> int:
    """Parse the query argument ``name`` as an integer ≥ ``minimum`` (``invalid_<name>``)."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not _QUERY_INT_RE.match(raw.strip()):
        raise InvalidInput(f"invalid_{name}",
                           f"{name} must be an integer ≥ {minimum}; got {raw[:40]!r}",
                           f"{name} 必须是不小于 {minimum} 的整数；收到 {raw[:40]!r}", param=name)
    value = int(raw.strip())
    if value < minimum:
        raise InvalidInput(f"invalid_{name}",
                           f"{name} must be an integer ≥ {minimum}; got {value}",
                           f"{name} 必须是不小于 {minimum} 的整数；收到 {value}", param=name)
    return value


def query_limit(name: str, default: int, maximum: int) -> int:
    """Parse the query argument ``name`` as an integer 1..``maximum`` (``invalid_<name>``)."""
    raw = request.args.get(name)
    limit = default
    if raw not in (None, ""):
        try:
            limit = int(raw)
        except ValueError:
            limit = -1
        if not 1 <= limit <= maximum:
            raise InvalidInput(f"invalid_{name}",
                               f"{name} must be an integer 1-{maximum}, got {raw[:20]!r}",
                               f"{name} 须为 1–{maximum} 的整数，收到 {raw[:20]!r}",
                               param=name)
    return limit


def tile_number(raw: str, name: str) -> int:
    """Parse a tile address number z, x or y (``invalid_tile_address``)."""
    if not raw.isdigit() or len(raw) > 9:
        raise TileError("invalid_tile_address",
                        f"{name}={raw!r} is not a tile number (a whole number ≥ 0)",
                        f"{name}={raw!r} 不是瓦片编号（应为非负整数）", param=name)
    return int(raw)


def query_lang(name: str = "lang") -> str:
    """The page/answer language of the query argument ``name`` (``zh`` unless ``en``)."""
    return lang_from(request.args.get(name))
