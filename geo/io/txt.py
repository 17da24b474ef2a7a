"""国土 TXT (报部格式) site files: the [属性描述] header and the [地块坐标] rows."""

from __future__ import annotations

import math
import re

import numpy as np
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.errors import CRSError, InvalidGeometry, InvalidInput, LimitExceeded
from planmap.geo.io.common import (
    ParsedSite,
    _Builder,
    _decode_text,
    _err,
    _finish,
    _polygon_from_rings,
    _resolve_crs,
    _strip_nul,
)
from planmap.geo.limits import Limits
from planmap.geo.validate import check_limits
from shapely.geometry.base import BaseGeometry

# --------------------------------------------------------------------------- 国土 TXT

_TXT_HEADER = "[属性描述]"
_TXT_COORDS = "[地块坐标]"


def _txt_header_crs(header: dict[str, str], sample_easting: float | None) -> str | None:
    """Map the [属性描述] keys onto a supported CRS (or raise with a clear reason)."""
    system = header.get("坐标系", "")
    if not system and not header.get("带号"):
        return None
    if system and "2000" not in system:
        raise _err(CRSError, "unsupported_crs",
                   f"坐标系={system[:40]} is not supported; only CGCS2000 (2000国家大地坐标系)",
                   f"不支持坐标系“{system[:40]}”；仅支持 2000国家大地坐标系", "坐标系")
    width = header.get("几度分带", "3").strip()
    if width not in ("3", "3度", "三度"):
        raise _err(CRSError, "unsupported_zone",
                   f"几度分带={width[:10]} is not supported; only 3° zones",
                   f"不支持 {width[:10]} 度分带；仅支持 3 度分带", "几度分带")
    projection = header.get("投影类型", "高斯克吕格")
    if projection and "高斯" not in projection:
        raise _err(CRSError, "unsupported_crs",
                   f"投影类型={projection[:20]} is not supported; only 高斯克吕格",
                   f"不支持投影类型“{projection[:20]}”；仅支持高斯克吕格投影", "投影类型")
    unit = header.get("计量单位", "米")
    if unit and unit not in ("米", "m", "M"):
        raise _err(CRSError, "unsupported_unit", f"计量单位={unit[:10]} is not supported; only 米",
                   f"不支持计量单位“{unit[:10]}”；仅支持米", "计量单位")
    zone = header.get("带号", "").strip()
    # Some exporters write the central meridian (123) where the zone number (41) belongs.
    if zone and zone not in ("41", "123"):
        raise _err(CRSError, "unsupported_zone",
                   f"带号={zone[:10]} is not supported: only 3° zone 41 (central meridian "
                   "123°E, which covers Baicheng)",
                   f"不支持带号 {zone[:10]}：仅支持 3 度带第 41 带（中央经线 123°E，覆盖白城市）",
                   "带号")
    if sample_easting is not None and sample_easting >= 1e7:
        return gcrs.GK_ZONE41
    return gcrs.GK_CM123


def _parse_txt(data: bytes, crs: str | None, limits: Limits, repair: bool) -> ParsedSite:
    text, notes = _strip_nul(_decode_text(data), "TXT")
    lines = text.splitlines()
    # Every point row is one vertex: a cheap bound before any number is parsed.
    if len(lines) > limits.max_vertices + 4 * limits.max_parts + 100:
        raise _err(LimitExceeded, "too_many_vertices",
                   f"the file has {len(lines)} lines; the vertex limit is {limits.max_vertices}",
                   f"文件有 {len(lines)} 行，顶点上限为 {limits.max_vertices}", "geometry")
    header: dict[str, str] = {}
    start = None
    section = None
    for i, raw in enumerate(lines):
        line = raw.strip()
        if line == _TXT_HEADER:
            section = "header"
        elif line == _TXT_COORDS:
            start = i + 1
            break
        elif section == "header" and "=" in line:
            key, _, value = line.partition("=")
            header[key.strip()] = value.strip()
    if start is None:
        raise _err(InvalidInput, "txt_missing_coordinates_section",
                   f"no {_TXT_COORDS} section: not a 国土 boundary-point (报部格式) file",
                   f"缺少 {_TXT_COORDS} 段：不是国土界址点坐标（报部格式）文件")
    # Parcels: a header line ending in '@', then rows 点号,圈号,X,Y.
    parcels: list[tuple[int, list[str], list[int]]] = []  # (line no, fields, row line idx)
    rows: list[list[str]] = []
    row_lines: list[int] = []
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line:
            continue
        if line.endswith("@"):
            parcels.append((i + 1, [f.strip() for f in line.split(",")], []))
            continue
        if not parcels:
            raise _err(InvalidInput, "txt_missing_parcel_header",
                       f"line {i + 1}: point row before any parcel line ending in '@'",
                       f"第 {i + 1} 行：在以“@”结尾的地块行之前出现了坐标行")
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 4:
            raise _err(InvalidInput, "txt_bad_row",
                       f"line {i + 1}: expected 点号,圈号,X,Y; got {len(fields)} fields",
                       f"第 {i + 1} 行：应为 点号,圈号,X,Y，实际只有 {len(fields)} 个字段")
        parcels[-1][2].append(len(rows))
        rows.append(fields[:4])
        row_lines.append(i + 1)
        if len(rows) > limits.max_vertices:
            check_limits(len(rows), len(parcels), limits)
    if not parcels:
        raise _err(InvalidInput, "txt_missing_parcel_header",
                   "no parcel line ending in '@' after [地块坐标]",
                   "[地块坐标] 之后没有以“@”结尾的地块行")
    check_limits(len(rows), len(parcels), limits)
    if rows:
        table = np.array(rows, dtype=object)
        x_north, y_east = _txt_numbers(table[:, 2], row_lines, "X"), \
            _txt_numbers(table[:, 3], row_lines, "Y")
        ring_no = _txt_numbers(table[:, 1], row_lines, "圈号")
        _txt_ring_numbers(ring_no, table[:, 1], row_lines, limits)
    else:
        x_north = y_east = ring_no = np.empty(0)
    finite_east = y_east[np.isfinite(y_east)]
    sample = float(np.median(finite_east)) if finite_east.size else None
    embedded = _txt_header_crs(header, sample)
    crs_in = _resolve_crs(crs, embedded, None, "[属性描述] header")
    b = _Builder(limits, repair)
    geoms: list[BaseGeometry] = []
    names: list[str] = []
    point_names: list[dict] = []
    for line_no, fields, idx in parcels:
        label = (fields[3] if len(fields) > 3 and fields[3] else
                 fields[2] if len(fields) > 2 and fields[2] else f"parcel at line {line_no}")
        kind = fields[4] if len(fields) > 4 else "面"
        if not idx:
            raise _err(InvalidInput, "txt_empty_parcel",
                       f"parcel {label!r} (line {line_no}) has no point rows",
                       f"地块“{label}”（第 {line_no} 行）没有坐标行")
        idx_arr = np.asarray(idx)
        gap = _txt_sequence_gap([rows[k][0] for k in idx], [row_lines[k] for k in idx])
        if gap:
            notes.append(f"parcel {label!r}: 界址点 numbers are not sequential ({gap})")
        xy = np.column_stack([y_east[idx_arr], x_north[idx_arr]])  # x = easting
        labels: dict = {}
        for k, (ex, ny) in zip(idx, xy.tolist(), strict=True):
            labels.setdefault((ex, ny), rows[k][0])
        point_names.append(labels)
        rings_of = ring_no[idx_arr]
        b.part()
        b.count(len(idx_arr))
        if kind in ("点",):
            geoms.append(shapely.MultiPoint(xy) if len(xy) > 1 else shapely.Point(xy[0]))
        elif kind in ("线",):
            if len(xy) < 2:
                raise _err(InvalidGeometry, "too_few_points",
                           f"line parcel {label!r} has fewer than 2 points",
                           f"线状地块“{label}”少于 2 个点")
            geoms.append(shapely.LineString(xy))
        else:
            # The boolean mask keeps each ring's points in file order.
            rings = [b.ring(None, f"parcel {label!r} ring {r:g}", xy[rings_of == r])
                     for r in np.unique(rings_of)]
            geoms.append(_txt_polygon(rings))
        names.append(label)
    try:
        site = _finish(geoms, names, crs_in, "txt", b, limits, repair)
        site.warnings.extend(notes)
        site.point_names = point_names
        return site
    except (CRSError, InvalidInput) as exc:
        index = getattr(exc, "index", None)
        if index is not None and 0 <= index < len(row_lines) and exc.code in (
                "coordinate_out_of_area", "non_finite_coordinate"):
            line_no = _txt_line_of(index, row_lines)
            exc.message_en = f"line {line_no}: {exc.message_en}"
            exc.message_zh = f"第 {line_no} 行：{exc.message_zh}"
            exc.args = (exc.message_en,)
        raise


def _txt_ring_numbers(ring_no: np.ndarray, raw: np.ndarray, row_lines: list[int],
                      limits: Limits) -> None:
    """圈号 must be a whole number from 1 (the outer ring) up to the part limit.

    A ring number such as 1e308 or 2.5 is not a numbering anyone wrote on purpose:
    refused rather than grouped into rings by float equality.
    """
    bad = (ring_no != np.floor(ring_no)) | (ring_no < 1) | (ring_no > limits.max_parts)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        shown = repr(str(raw[k]))[:30]
        raise _err(InvalidInput, "txt_bad_ring_number",
                   f"line {row_lines[k]}: 圈号 {shown} must be a whole number from 1 to "
                   f"{limits.max_parts}",
                   f"第 {row_lines[k]} 行：圈号 {shown} 应为 1 至 {limits.max_parts} 的整数")


_POINT_NO = re.compile(r"(\d{1,9})$")


def _txt_sequence_gap(labels: list[str], lines: list[int]) -> str | None:
    """Where the 界址点 numbers (J1, J2, …) of one parcel stop counting up by one.

    The closing row repeats its ring's first point and numbering carries on across
    rings (J1…J5, J1, J6…J9, J6), so a number equal to one seen before is fine only
    as a ring's closing row.  Labels without a trailing number are not checked.
    """
    top = None  # highest number so far
    first_of_ring = None
    for label, line in zip(labels, lines, strict=True):
        match = _POINT_NO.search(label)
        if not match:
            return None
        n = int(match.group(1))
        if n == first_of_ring:  # the closing row of the current ring
            first_of_ring = None
            continue
        if top is not None and n != top + 1:
            return f"{label[:20]} follows number {top} at line {line}"
        if first_of_ring is None:
            first_of_ring = n
        top = n
    return None


def _txt_polygon(rings: list[np.ndarray]) -> BaseGeometry:
    """Assemble a parcel from its rings in 圈号 order.

    Ring 1 is the outer ring and a later ring inside an earlier outer ring is a hole of it
    (the usual 报部格式 reading).  A later ring lying outside every outer ring so far is
    taken as a further outer ring — a detached part (飞地) of the same parcel — rather than
    as an impossible hole; anything else (partial overlaps) is left for the validity check
    to report with the GEOS reason.
    """
    shells: list[list[np.ndarray]] = []
    shell_polys: list[shapely.Polygon] = []
    for ring in rings:
        poly = shapely.Polygon(ring)
        host = next((k for k, sp in enumerate(shell_polys)
                     if sp.is_valid and poly.is_valid and sp.contains(poly)), None)
        if host is None and shell_polys and all(
                sp.is_valid and poly.is_valid and sp.disjoint(poly) for sp in shell_polys):
            shells.append([ring])
            shell_polys.append(poly)
        elif host is None and not shell_polys:
            shells.append([ring])
            shell_polys.append(poly)
        else:
            shells[host if host is not None else 0].append(ring)
    polys = [_polygon_from_rings(r) for r in shells]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _txt_line_of(index: int, row_lines: list[int]) -> int:
    # Repair may add closing points, so vertex index ≈ row index; good enough to locate.
    return row_lines[min(index, len(row_lines) - 1)]


def _txt_numbers(column: np.ndarray, row_lines: list[int], name: str) -> np.ndarray:
    try:
        values = np.array(column, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.all(np.isfinite(values)):
        return values
    for k, raw in enumerate(column):
        try:
            ok = math.isfinite(float(raw))
        except ValueError:
            ok = False
        if not ok:
            shown = repr(str(raw))[:30]
            raise _err(InvalidInput, "txt_bad_number",
                       f"line {row_lines[k]}: {name} value {shown} is not a finite number",
                       f"第 {row_lines[k]} 行：{name} 的值 {shown} 不是有效数值")
    return values  # pragma: no cover  (unreachable: a bad value was found above)
