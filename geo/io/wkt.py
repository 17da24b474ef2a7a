"""WKT / EWKT site input."""

from __future__ import annotations

import re

import numpy as np
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.errors import InvalidGeometry, InvalidInput, LimitExceeded
from planmap.geo.io.common import (
    ParsedSite,
    _Builder,
    _decode_utf8,
    _err,
    _finish,
    _resolve_crs,
    _strip_nul,
)
from planmap.geo.io.safety import MAX_WKT_DEPTH
from planmap.geo.limits import Limits

# --------------------------------------------------------------------------- WKT

_WKT_START = re.compile(
    rb"^\s*(srid=\d+;\s*)?(point|linestring|polygon|multipoint|multilinestring|multipolygon|"
    rb"geometrycollection)\b", re.IGNORECASE)


_SRID = re.compile(r"^\s*srid=(\d{1,6})\s*;", re.IGNORECASE)


def _parse_wkt(data: bytes, crs: str | None, limits: Limits, repair: bool) -> ParsedSite:
    text, notes = _strip_nul(_decode_utf8(data), "WKT")
    text = text.strip()
    embedded = None
    match = _SRID.match(text)
    if match:
        embedded = gcrs.parse_crs(match.group(1), param="crs")
        text = text[match.end():]
    crs_in = _resolve_crs(crs, embedded, gcrs.WGS84, "WKT SRID")
    if not _WKT_START.match(text.encode("utf-8")):
        raise _err(InvalidInput, "invalid_wkt",
                   "input is not WKT (expected POINT, LINESTRING, POLYGON, MULTI… or "
                   "GEOMETRYCOLLECTION)",
                   "输入不是 WKT（应以 POINT、LINESTRING、POLYGON、MULTI… 或 "
                   "GEOMETRYCOLLECTION 开头）")
    # Each vertex but the last of a ring is followed by a comma: a cheap upper-bound
    # check before GEOS builds anything.
    commas = text.count(",")
    if commas > limits.max_vertices + 2 * limits.max_parts:
        raise _err(LimitExceeded, "too_many_vertices",
                   f"WKT has about {commas} vertices; the limit is {limits.max_vertices}",
                   f"WKT 约有 {commas} 个顶点，上限为 {limits.max_vertices}", "geometry")
    # GEOS reads WKT recursively: 100 000 nested GEOMETRYCOLLECTIONs crash the process
    # (segfault), so bound the parenthesis depth first.
    buf = np.frombuffer(text.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)
    depth = int(np.cumsum((buf == 0x28).astype(np.int32) - (buf == 0x29)).max(initial=0))
    if depth > MAX_WKT_DEPTH:
        raise _err(LimitExceeded, "wkt_too_deep",
                   f"WKT is nested {depth} levels deep; the limit is {MAX_WKT_DEPTH}",
                   f"WKT 嵌套 {depth} 层，上限为 {MAX_WKT_DEPTH} 层", "geometry")
    b = _Builder(limits, repair)
    try:
        geom = shapely.from_wkt(text, on_invalid="raise")
    except (shapely.errors.ShapelyError, ValueError, TypeError) as exc:
        reason = str(exc).split("\n")[0][:160]
        if repair and "closed linestring" in reason:
            geom = shapely.from_wkt(text, on_invalid="fix")
            b.repairs.append("closed unclosed ring(s)")
        else:
            code = "unclosed_ring" if "closed linestring" in reason else "invalid_wkt"
            cls = InvalidGeometry if code == "unclosed_ring" else InvalidInput
            raise _err(cls, code, f"invalid WKT: {reason}", f"WKT 无效：{reason}") from None
    if geom is None:
        raise _err(InvalidInput, "invalid_wkt", "invalid WKT", "WKT 无效")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
        b.repairs.append("Z coordinates dropped (3-D input accepted, heights ignored)")
    for poly in shapely.get_parts(geom):
        if isinstance(poly, shapely.Polygon) and not poly.is_empty:
            for i, ring in enumerate([poly.exterior, *poly.interiors]):
                if len(ring.coords) < 4:
                    raise _err(InvalidGeometry, "ring_too_short",
                               f"ring {i} has {len(ring.coords)} positions; at least 4 required",
                               f"第 {i} 个环只有 {len(ring.coords)} 个点，至少需要 4 个",
                               "geometry")
    if isinstance(geom, shapely.GeometryCollection) and not geom.is_empty:
        geoms = [g for g in shapely.get_parts(geom) if not g.is_empty]
        site = _finish(geoms, [""] * len(geoms), crs_in, "wkt", b, limits, repair)
    else:
        site = _finish([geom], [""], crs_in, "wkt", b, limits, repair)
    site.warnings.extend(notes)
    return site
