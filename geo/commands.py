"""``planmap zones``, ``planmap check`` and ``planmap conflicts``.

``server/cli.py`` parses the arguments and reports :class:`geo.errors.PlanmapError`
(exit status 2); these functions do the work and return the exit status.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import shapely

from geo import crs as gcrs
from geo.errors import InvalidInput, NotFound
from geo.index import ZoneIndex
from geo.limits import DEFAULT_LIMITS
from geo.sitecheck import VERDICT_ZH, site_check


def _index(args) -> ZoneIndex:
    from layers import load  # the data room; geo itself stays independent of it

    return ZoneIndex.from_plan_data(load(getattr(args, "data_dir", None)))


def _scoped_check(args, geom, repairs) -> dict:
    """Site check answered by the plans whose area holds the site (see :mod:`geo.plans`).

    Only the index the site needs is built: Baicheng's (as before) or the other plans'.
    """
    from geo.plans import other_plan_ids, scope_from_plan_data, scope_result
    from layers import load

    data = load(getattr(args, "data_dir", None))
    scope = scope_from_plan_data(data)
    ids = scope.plans_for(geom) if scope is not None else []
    if scope is not None and ids and scope.home not in ids:
        index = ZoneIndex.from_plan_data(data, plan_ids=other_plan_ids(scope))
        result = scope_result(site_check(index, geom, repairs=repairs), scope, ids)
    else:
        result = site_check(_index(args), geom, repairs=repairs)  # the home plan, as before
    result["plans"] = scope.describe(ids) if scope is not None else []
    return result


def _read_user_file(path: str, param: str) -> bytes:
    """Read at most one byte more than the size limit, so a huge file fails fast."""
    p = Path(path)
    if not p.is_file():
        raise NotFound(code="file_not_found", param=param,
                       message_en=f"no such file: {path}",
                       message_zh=f"文件不存在：{path}")
    with p.open("rb") as fh:
        return fh.read(DEFAULT_LIMITS.max_bytes + 1)


def run_zones(args) -> int:
    """Batch point-in-zone: CSV ``id,lon,lat`` or GeoJSON points → CSV ``point_id,zone_id,layer``.

    Parameters
    ----------
    args : argparse.Namespace
        ``points`` (path), ``crs`` (default WGS 84), ``output`` (path or None for stdout),
        ``data_dir``.

    Returns
    -------
    int
        Exit status 0.
    """
    from geo.parsers import parse_points

    data = _read_user_file(args.points, "points")
    ids, lon, lat = parse_points(data, crs=args.crs or gcrs.WGS84, filename=args.points)
    index = _index(args)
    result = index.batch(lon, lat)
    point_ids = ids[result.point_idx] if len(result.point_idx) else []
    out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["point_id", "zone_id", "layer"])
        writer.writerows(zip(point_ids, result.zone_ids, result.layers, strict=True))
    finally:
        if args.output:
            out.close()
    if args.output:
        print(f"planmap: {len(ids)} points, {len(result.point_idx)} point-zone pairs -> "
              f"{args.output}", file=sys.stderr)
    return 0


def _parse_point(text: str, crs: str | None):
    parts = str(text).replace("，", ",").split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidInput(code="invalid_point", param="point",
                           message_en=f"--point must be LON,LAT (two numbers), got {text!r}",
                           message_zh=f"--point 须为 经度,纬度（两个数字），收到 {text!r}",
                           ) from None
    lon, lat = gcrs.to_wgs84([x], [y], crs or gcrs.WGS84, param="point")
    return shapely.Point(float(lon[0]), float(lat[0]))


def run_check(args) -> int:
    """Print the site check of a file (``FILE``) or a point (``--point LON,LAT``).

    Parameters
    ----------
    args : argparse.Namespace
        ``file`` or ``point``, ``crs``, ``format`` (``json`` | ``text``), ``repair``,
        ``data_dir``.

    Returns
    -------
    int
        Exit status 0.
    """
    if bool(args.file) == bool(args.point):
        raise InvalidInput(code="file_or_point", param="file",
                           message_en="give either a FILE or --point LON,LAT (exactly one)",
                           message_zh="请给出 FILE 或 --point 经度,纬度（二者选一）")
    repairs: list[str] = []
    if args.point:
        geom = _parse_point(args.point, args.crs)
        source = f"point {args.point}" + (f" ({args.crs})" if args.crs else "")
    else:
        from geo.parsers import parse_site

        parsed = parse_site(_read_user_file(args.file, "file"), filename=args.file,
                            crs=args.crs, repair=bool(args.repair))
        geom, repairs = parsed.geometry, list(parsed.repairs)
        source = f"{args.file} ({parsed.fmt}, {parsed.crs_in})"
    result = _scoped_check(args, geom, repairs)
    if args.format == "json":
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_text(result, source))
    return 0


def run_conflicts(args) -> int:
    """Plan-conflict report: ``planmap conflicts [--format json|text] [--distance M]``."""
    from geo.conflicts import DEFAULT_DISTANCE_M, check_distance, find_conflicts, report_text

    distance = DEFAULT_DISTANCE_M if args.distance is None else check_distance(args.distance)
    from layers import load  # the data room; geo itself stays independent of it

    data = load(getattr(args, "data_dir", None))
    result = find_conflicts(data, None, distance)
    if args.format == "json":
        doc = {"distance_m": distance, "count": len(result), "conflicts": result}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    else:
        sys.stdout.write(report_text(result, distance) + "\n")
    return 0


def _cite(c: dict) -> str:
    cit = c.get("citation") or {}
    return f"{str(cit.get('seed', ''))[:3]}:{cit.get('line', '?')}" if cit else "—"


def tiers_text(result: dict) -> str:
    """Return the first lines of an answer: verdict, deciding clause, tiers, conflicts.

    Parameters
    ----------
    result : dict
        A point query or site check with ``tiers`` (:mod:`geo.tiers`).

    Returns
    -------
    str
    """
    out = io.StringIO()
    w = out.write
    verdict = result.get("verdict", "none")
    w(f"\n结论 Verdict: {VERDICT_ZH.get(verdict, verdict)} {verdict}\n")
    dc = result.get("deciding_clause")
    if dc:
        zone = dc["zone"]
        w(f"  依据 Decided by: {dc['id']} ({_cite(dc)}) 「{dc['citation'].get('quote', '')}」\n"
          f"  区域 Zone: {zone['name_zh']} [{zone['layer']}] · 几何精度 accuracy "
          f"{zone.get('accuracy')}\n")
    else:
        w("  依据 Decided by: 无约束性区域 no binding zone here\n")
    tiers = result.get("tiers") or {}
    w(f"\n约束性区域 Binding zones ({len(tiers.get('binding', []))}):\n")
    for e in tiers.get("binding", []):
        w(f"  - {e['name_zh']} [{e['layer']} · {e.get('accuracy')}] "
          f"{VERDICT_ZH.get(e['effect'], e['effect'])} {e['effect']}\n")
        for c in e["clauses"]:
            w(f"      {c['id']} ({c['scope']}, {c['effect']}, {_cite(c)})\n")
    w(f"\n规划布局 Plan designations ({len(tiers.get('designations', []))}):\n")
    for e in tiers.get("designations", []):
        ids = ", ".join(c["id"] for c in e["clauses"]) or "—"
        w(f"  - {e['name_zh']} [{e['layer']} · {e.get('accuracy')}] ({_cite(e)}) {ids}\n")
    title = tiers.get("area_wide_title") or {}
    w(f"\n{title.get('zh', '')} {title.get('en', '')} ({len(tiers.get('area_wide', []))}):\n")
    for e in tiers.get("area_wide", []):
        ids = ", ".join(f"{c['id']} ({_cite(c)})" for c in e["clauses"])
        w(f"  - {e['name_zh']} ({_cite(e)}): {ids or '—'}\n")
    for c in result.get("conflicts") or ():
        w(f"\n{c['zh']}\n  {c['en']}\n")
    return out.getvalue()


def _num(v, digits=2) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def format_text(result: dict, source: str = "") -> str:
    """Render a site check as a readable Chinese-first text summary.

    Parameters
    ----------
    result : dict
        What :func:`geo.sitecheck.site_check` returned.
    source : str, optional
        What was checked (file name or point), shown in the heading.

    Returns
    -------
    str
    """
    out = io.StringIO()
    w = out.write
    site = result["site"]
    w(f"用地核查 Site check{(': ' + source) if source else ''}\n")
    kind_zh = {"point": "点", "line": "线", "polygon": "面"}.get(site["kind"], site["kind"])
    if site["kind"] == "polygon":
        w(f"用地 Site: {kind_zh} polygon, 面积 {_num(site['area_ha'], 4)} 公顷 ha = "
          f"{_num(site['area_mu'], 2)} 亩 mu = {_num(site['area_m2'], 1)} m²\n")
    elif site["kind"] == "line":
        w(f"用地 Site: {kind_zh} line, 长度 length {_num(site['length_m'], 1)} m\n")
    else:
        w(f"用地 Site: {kind_zh} point\n")
    w("位于白城市 In Baicheng: " + ("是 yes" if result.get("in_service_area") else "否 no") + "\n")
    if result.get("plans"):
        w("适用规划 Plans: " + "、".join(f"{p['id']} {p['name_zh']}" for p in result["plans"])
          + "\n")

    w(tiers_text(result))
    zones = result["zones"]
    w(f"\n所有涉及要素（按图层）All features at the site, by layer ({len(zones)}):\n")
    for z in zones:
        line = f"  - {z['name_zh']} {z.get('name_en') or ''} [{z['layer']} · {z.get('accuracy')}]"
        if z.get("overlap_m2") is not None:
            line += (f" 重叠 overlap {_num(z['overlap_ha'], 4)} 公顷 ha "
                     f"({_num(z['pct_of_site'], 2)}% 用地 of site, "
                     f"{_num(z['pct_of_zone'], 4)}% 区域 of zone)")
        elif z.get("overlap_length_m") is not None:
            line += f" 重叠长度 overlap {_num(z['overlap_length_m'], 1)} m"
        w(line + "\n")
    if not zones:
        w("  （无 none）\n")

    if result["nearest"]:
        w("\n最近要素 Nearest (per layer):\n")
        for n in result["nearest"]:
            w(f"  - [{n['layer']}] {n['name_zh']}: {_num(n['distance_m'], 0)} m\n")
    w("\n缓冲区 Rings:\n")
    for ring in result["rings"]:
        names = "、".join(f["name_zh"] for f in ring.get("features", [])) or "—"
        w(f"  ≤ {_num(ring['distance_m'], 0)} m: {names}\n")

    clauses = result["clauses"]
    w(f"\n规划条款 Clauses ({len(clauses)}):\n")
    for c in clauses:
        cit = c.get("citation") or {}
        title = (c.get("plan") or {}).get("title_zh") or cit.get("seed", "")
        w(f"  [{VERDICT_ZH.get(c['effect'], c['effect'])} {c['effect']}] {c['id']}: "
          f"{c.get('text_zh', '')}\n      —《{title}》第 {cit.get('line', '?')} 行\n")
    if not clauses:
        w("  （无 none）\n")
    w(f"\n结论 Verdict: {result['verdict_zh']} {result['verdict']}\n")  # repeated after the list
    official = result.get("official_layers_note")
    if official:
        w(f"\n三区三线 Official lines: {official['zh']}\n  {official['en']}\n")
    note = result.get("accuracy_note")
    if note:
        w(f"\n精度提示 Accuracy: {note['zh']}\n  {note['en']}\n")
    if result.get("repairs"):
        w("\n已修复 Repairs:\n" + "".join(f"  - {r}\n" for r in result["repairs"]))
    return out.getvalue()
