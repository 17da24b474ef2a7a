"""Text of the command line's answers, and its point argument: pure functions.

``planmap zones``, ``planmap check`` and ``planmap conflicts`` themselves read the user's
files and load the plan data, which :mod:`geo` never does: they live in
:mod:`layers.zonecommands`.  What they print is rendered here.
"""

from __future__ import annotations

import io

import shapely
from planmap.geo import crs as gcrs
from planmap.geo.errors import InvalidInput
from planmap.geo.sitecheck import VERDICT_ZH


def parse_point(text: str, crs: str | None):
    """Parse ``LON,LAT`` (the CLI's ``--point``; a full-width comma too) to a WGS 84 point.

    Parameters
    ----------
    text : str
        Two numbers separated by a comma, in ``crs``.
    crs : str or None
        CRS of the numbers (default WGS 84).

    Returns
    -------
    shapely.Point

    Raises
    ------
    InvalidInput
        ``invalid_point`` when not two numbers; CRS errors from :func:`geo.crs.to_wgs84`.
    """
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
