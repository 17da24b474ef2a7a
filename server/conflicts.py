"""Plan-conflict report: ``GET /api/v1/conflicts`` (JSON) and the page ``/conflicts``.

The work is :func:`geo.conflicts.find_conflicts`; results are cached per distance for the
life of the app (the data do not change while it runs). A bad ``distance`` raises
``InvalidInput`` which ``server/errors.py`` turns into a 400 in the one error shape.
"""

from __future__ import annotations

import threading

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from planmap.geo.budget import conflicts_task
from planmap.geo.conflicts import DEFAULT_DISTANCE_M, check_distance
from planmap.server import i18n, services, workers
from planmap.server.args import query_lang

bp = Blueprint("conflicts", __name__)
_CACHE_MAX = 16  # distinct distances kept per app
_lock = threading.Lock()

STRINGS = {
    "zh": {
        "title": "规划冲突检测",
        "intro": "受“禁止/限制”条款保护的要素与其他图层或规划的开发要素"
        "（能源、交通、旅游开发、园区）重叠或相距不足 {d} 米的情况。"
        "每条冲突引用双方规划原文（规划编号与行号）。",
        "count": "共 {n} 处冲突",
        "none": "未发现冲突。",
        "protected": "受保护要素",
        "development": "开发要素",
        "relation": "关系",
        "overlap": "重叠",
        "near": "邻近",
        "area": "重叠面积",
        "length": "穿越长度",
        "distance": "距离",
        "accuracy": "精度",
        "clauses": "条款",
        "plan_text": "规划原文",
        "schematic": "示意：该冲突基于示意性几何，仅提示需核查。",
        "line": "第 {line} 行",
        "other_lang": "English",
        "distance_label": "邻近距离（米）",
        "submit": "重新检测",
    },
    "en": {
        "title": "Plan-conflict report",
        "intro": "Features protected by a prohibited/restricted clause that overlap, or lie within "
        "{d} m of, a development feature of another layer or plan (energy, transport, tourism "
        "development, parks). Each conflict quotes both plans with seed and line.",
        "count": "{n} conflict(s)",
        "none": "No conflicts found.",
        "protected": "Protected feature",
        "development": "Development feature",
        "relation": "Relation",
        "overlap": "overlap",
        "near": "near",
        "area": "Overlap area",
        "length": "Length inside",
        "distance": "Distance",
        "accuracy": "Accuracy",
        "clauses": "Clauses",
        "plan_text": "Plan text",
        "schematic": "Schematic: this conflict rests on schematic geometry — a prompt to check.",
        "line": "line {line}",
        "other_lang": "中文",
        "distance_label": "Nearness distance (m)",
        "submit": "Re-run",
    },
}


def _s(lang: str, key: str, **fmt) -> str:
    return STRINGS.get(lang, STRINGS["zh"])[key].format(**fmt)


def _distance() -> float:
    raw = request.args.get("distance")
    if raw is None or raw == "":
        return DEFAULT_DISTANCE_M
    return check_distance(raw)


def conflicts_for(distance_m: float) -> list[dict]:
    """Cached :func:`find_conflicts` for the running app's data."""
    app = current_app._get_current_object()
    from planmap.server.visibility import hidden_layers

    cache = app.extensions.setdefault("planmap_conflicts", {})
    key = (distance_m, hidden_layers())  # computed without the layers the caller cannot see
    with _lock:
        if key in cache:
            return cache[key]
    # in a worker under REQUEST_TIME_LIMIT_S, like site checks (0.1-0.3 s at the defaults)
    result = workers.run(conflicts_task, distance_m)
    with _lock:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = result
    return result


@bp.get("/api/v1/conflicts")
def api_conflicts():
    distance = _distance()
    result = conflicts_for(distance)
    return jsonify({
        "distance_m": distance,
        "count": len(result),
        "data_version": getattr(services().data, "data_version", None),
        "conflicts": result,
    })


@bp.get("/conflicts")
def page_conflicts():
    lang = query_lang()
    distance = _distance()
    result = conflicts_for(distance)
    other = "en" if lang == "zh" else "zh"
    rows = []
    for c in result:
        if c["relation"] == "overlap":
            if c["overlap_m2"]:
                # Schematic extents: show ~3 significant figures, not false metre precision.
                km2 = float(f"{c['overlap_m2'] / 1e6:.3g}")
                what = f"{_s(lang, 'area')}: ≈{km2:,g} km² (≈{c['overlap_m2'] / 1e4:,.0f} ha)"
            elif c["overlap_length_m"]:
                what = f"{_s(lang, 'length')}: ≈{c['overlap_length_m'] / 1000:,.1f} km"
            else:
                what = _s(lang, "overlap")
        else:
            what = f"{_s(lang, 'distance')}: {c['distance_m']:,.0f} m"
        note = c["note_zh"] if lang == "zh" else c["note_en"]
        rows.append({"c": c, "what": what, "note": note})
    from planmap.server.pages import _OWN_ASSETS, _asset_version, _lang_url

    data = services().data
    titles = {e["id"]: e.get("title_en" if lang == "en" else "title_zh") or e["id"]
              for e in data.catalog}
    plans = getattr(data, "plans", {}) or {}

    def plan_title(seed):
        text = plans.get(seed)
        if text is None:
            return seed
        return (text.title_en if lang == "en" else text.title_zh) or text.title_zh or seed

    def fname(f):
        return (f.get("name_en") if lang == "en" else None) or f.get("name_zh") or f["id"]

    html = render_template(
        "conflicts.html", lang=lang, t=lambda key, **kw: i18n.t(lang, key, **kw),
        s=lambda key, **kw: _s(lang, key, **kw), rows=rows, distance_text=f"{distance:g}",
        plan_title=plan_title, fname=fname, layer_title=lambda lid: titles.get(lid, lid),
        acc=lambda a: i18n.accuracy_label(lang, a), eff=lambda e: i18n.effect_label(lang, e),
        map_url=_lang_url("/", lang), other_lang=other,
        toggle_url=f"/conflicts?distance={distance:g}" + ("" if other == "zh" else "&lang=en"),
        asset_v={n: _asset_version(n) for n in _OWN_ASSETS},
    )
    return Response(html, mimetype="text/html")
