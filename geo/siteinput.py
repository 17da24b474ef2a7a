"""What a site check says about its input: parcels, 界址点 tables, 四至 and CRS hints.

A 选址分析报告 goes into a case file, so it lists the submitted site as the surveyor drew
it: one row per parcel (a 国土 TXT with two parcels gives two rows, not one merged site),
the numbered boundary points (界址点) of each parcel in the input CRS and in CGCS2000
3° Gauss-Krüger CM 123°E (EPSG:4550), and the site's extreme coordinates (四至).  The
merged whole-site answer is kept beside them by the site check itself.

It also says which CRS the input was read in and where that came from, with hints when
the choice looks wrong: a file that names AMap/Gaode/Tencent (GCJ-02 coordinates, about
500 m off WGS 84 in Baicheng) read as WGS 84, or a site outside Baicheng (the hints of
:mod:`geo.crs` that otherwise appear only in errors).
"""

from __future__ import annotations

import re

import numpy as np
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.units import area_fields, round_to

DEFAULT_MAX_POINTS = 2000
"""Most 界址点 listed per check (the setting ``REPORT_MAX_POINTS`` passes its own)."""
POINT_NAME_MAX = 32
"""A file's own point name (国土 TXT 点号) is kept to this many characters."""

# Words by which an exported file says it holds GCJ-02 coordinates (AMap/Gaode and Tencent
# use GCJ-02; their exports often carry the service's name in properties or the file name).
_GCJ_MARKERS = re.compile(
    r"gcj[-_ ]?02|amap|gaode|autonavi|高德|火星坐标|tencent|腾讯地图|qq\.com/map|lbs\.qq", re.I)
_SCAN_BYTES = 256 * 1024  # the markers are looked for in the file's first 256 KiB only


def _coord_pair(x: float, y: float, crs: str) -> list[float]:
    digits = 3 if crs in gcrs.PROJECTED_CRS else 8
    return [round(float(x), digits), round(float(y), digits)]


def _rings(geom) -> list:
    """Split a geometry into point sequences: polygon rings, lines, or one run of points."""
    out = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            out.append(np.asarray(part.exterior.coords)[:-1])
            out.extend(np.asarray(r.coords)[:-1] for r in part.interiors)
        elif part.geom_type == "LineString":
            out.append(np.asarray(part.coords))
        elif part.geom_type == "Point":
            out.append(np.asarray(part.coords))
    if out and all(geom_type == "Point" for geom_type in
                   (p.geom_type for p in shapely.get_parts(geom))):
        out = [np.vstack(out)]  # a multipoint parcel is one run of numbered points
    return [r[:, :2] for r in out if len(r)]


def parcels(parts, names, crs_in: str, *, max_points: int = DEFAULT_MAX_POINTS,
            point_names=None) -> dict:
    """Per-parcel rows, totals, 界址点 and 四至 of a parsed site.

    Parameters
    ----------
    parts : list of shapely.Geometry
        The parcels in ``crs_in`` (``geo.io.ParsedSite.parts``).
    names : list of str
        Their names (``ParsedSite.parcels``); empty names are numbered.
    crs_in : str
        The input CRS (one of :data:`geo.crs.SUPPORTED_CRS`).
    max_points : int, optional
        Most boundary points listed over all parcels; the rest are counted, not listed.
    point_names : list of dict, optional
        Per parcel, the file's own 界址点 names keyed by ``(x, y)`` in ``crs_in``
        (``ParsedSite.point_names``, 国土 TXT); a point without one is named ``J<no>``.

    Returns
    -------
    dict
        ``{"parcels": [{"no", "name", "kind", "area_m2", "area_ha", "area_mu", "length_m",
        "vertices", "rings": [{"ring", "points": [[no, x_in, y_in, x_gk, y_gk, name], …]}]}],
        "totals": {"count", "area_m2", "area_ha", "area_mu", "length_m", "vertices"},
        "extent": {"east"|"west"|"south"|"north": {"x_gk", "y_gk", "lon", "lat"}},
        "points_listed", "points_total", "crs_in", "crs_gk"}``.  Input points are
        ``[x, y]`` as given (lon/lat, or easting/northing); GK points are easting/northing
        in EPSG:4550.  Areas are computed in EPSG:4550; totals add the parcels (overlaps
        counted twice, unlike the merged site's area).
    """
    rows = []
    listed = 0
    total = 0
    all_gk = []
    for i, part in enumerate(parts):
        dim = int(shapely.get_dimensions(part))
        kind = ("polygon", "line", "point")[2 - dim] if dim in (0, 1, 2) else "polygon"
        metric = gcrs.to_metric(part, crs_in)
        area = float(metric.area) if dim == 2 else None
        row = {"no": i + 1, "name": str(names[i]) if i < len(names) and names[i]
               else f"{i + 1}", "kind": kind,
               **(area_fields(area) if area is not None else
                  {"area_m2": None, "area_ha": None, "area_mu": None}),
               "length_m": round_to(float(metric.length), 2) if dim == 1 else None,
               "vertices": 0, "rings": []}
        number = 0
        own = point_names[i] if point_names and i < len(point_names) else {}
        for ring_no, xy in enumerate(_rings(part), start=1):
            gx, gy = gcrs.transform_xy(xy[:, 0], xy[:, 1], crs_in, gcrs.GK_CM123)
            all_gk.append(np.column_stack([gx, gy]))
            row["vertices"] += len(xy)
            total += len(xy)
            points = []
            for (x, y), ex, ny in zip(xy.tolist(), gx.tolist(), gy.tolist(), strict=True):
                number += 1
                if listed >= max_points:
                    continue
                listed += 1
                points.append([number, *_coord_pair(x, y, crs_in),
                               round(ex, 3), round(ny, 3),
                               str(own.get((x, y)) or f"J{number}")[:POINT_NAME_MAX]])
            row["rings"].append({"ring": ring_no, "points": points})
        rows.append(row)
    polys = [r for r in rows if r["area_m2"] is not None]
    totals = {"count": len(rows), "vertices": total,
              **(area_fields(sum(r["area_m2"] for r in polys)) if polys else
                 {"area_m2": None, "area_ha": None, "area_mu": None}),
              "length_m": round_to(sum(r["length_m"] for r in rows if r["length_m"]), 2)
              if any(r["length_m"] for r in rows) else None}
    return {"parcels": rows, "totals": totals, "extent": _extent(all_gk),
            "points_listed": listed, "points_total": total, "crs_in": crs_in,
            "crs_gk": gcrs.GK_CM123}


def _extent(all_gk: list) -> dict | None:
    """四至: the site's easternmost, westernmost, southernmost and northernmost points."""
    if not all_gk:
        return None
    xy = np.vstack(all_gk)
    picks = {"east": int(np.argmax(xy[:, 0])), "west": int(np.argmin(xy[:, 0])),
             "south": int(np.argmin(xy[:, 1])), "north": int(np.argmax(xy[:, 1]))}
    idx = np.array(list(picks.values()))
    lon, lat = gcrs.transform_xy(xy[idx, 0], xy[idx, 1], gcrs.GK_CM123, gcrs.WGS84)
    return {side: {"x_gk": round(float(xy[i, 0]), 3), "y_gk": round(float(xy[i, 1]), 3),
                   "lon": round(float(lo), 7), "lat": round(float(la), 7)}
            for (side, i), lo, la in zip(picks.items(), lon.tolist(), lat.tolist(),
                                         strict=True)}


def crs_hints(raw: bytes | None, filename: str | None, crs_in: str, source: str,
              parts=(), in_service_area: bool | None = None) -> list[dict]:
    """Warn about the CRS a site was read in.

    Returns ``[{"code", "message_en", "message_zh", "suggest_crs"}]`` (``suggest_crs``
    may be None):

    * ``looks_gcj02`` — read as WGS 84 or CGCS2000 although the file (its first 256 KiB)
      or its name mentions AMap/Gaode/Tencent/GCJ-02: those coordinates are about 500 m off.
    * ``crs_assumed`` — the file names no CRS and none was given: WGS 84 was assumed.
    * ``outside_baicheng`` — the site lies outside Baicheng; the hint of :mod:`geo.crs`
      for its first point says what may be wrong (swapped axes, wrong zone, 41 prefix).
    """
    hints = []
    text = (filename or "") + " "
    if raw:
        text += raw[:_SCAN_BYTES].decode("utf-8", errors="ignore")
    if crs_in in (gcrs.WGS84, gcrs.CGCS2000) and _GCJ_MARKERS.search(text):
        hints.append({
            "code": "looks_gcj02", "suggest_crs": gcrs.GCJ02,
            "message_en": f"the file mentions AMap/Gaode/Tencent or GCJ-02, but was read as "
                          f"{gcrs.CRS_LABELS[crs_in]}: if its coordinates come from AMap they "
                          "are about 500 m off — choose GCJ-02",
            "message_zh": f"文件提到高德/腾讯地图或 GCJ-02，却按 {crs_in} 读取："
                          "若坐标来自高德地图，位置约偏 500 米——请选择 GCJ-02（火星坐标）"})
    if source == "default":
        hints.append({
            "code": "crs_assumed", "suggest_crs": None,
            "message_en": f"the file names no coordinate system: {gcrs.CRS_LABELS[crs_in]} "
                          "was assumed; choose the right one if it is not",
            "message_zh": f"文件未说明坐标系，已按 {crs_in} 读取；如不是，请选择正确的坐标系"})
    if in_service_area is False and len(parts):
        x, y = shapely.get_coordinates(parts[0])[0]
        if crs_in in gcrs.PROJECTED_CRS:
            en, zh = gcrs._projected_hint(float(x), float(y), crs_in)
        else:
            en, zh = gcrs._geographic_hint(float(x), float(y))
        hints.append({"code": "outside_baicheng", "suggest_crs": None,
                      "message_en": f"the site lies outside Baicheng: {en}",
                      "message_zh": f"地块不在白城市范围内：{zh}"})
    return hints


def describe_input(site, raw: bytes | None, filename: str | None, *,
                   in_service_area: bool | None = None) -> dict:
    """Describe a ``geo.io.ParsedSite`` for the ``input`` member of a site check.

    Returns ``{"format", "crs", "crs_label", "crs_source", "parcels" (names),
    "crs_hints"}``.
    """
    crs_in = site.crs_in
    return {"format": site.fmt, "crs": crs_in, "crs_label": gcrs.CRS_LABELS.get(crs_in, crs_in),
            "crs_source": site.crs_source or "parameter", "parcels": list(site.parcels),
            "crs_hints": crs_hints(raw, filename, crs_in, site.crs_source, site.parts,
                                   in_service_area)}
