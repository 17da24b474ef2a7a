"""Plan-conflict report: ``GET /api/v1/conflicts`` (JSON) and the page ``/conflicts``.

The work is :func:`geo.conflicts.find_conflicts`; results are cached per distance for the
life of the app (the data do not change while it runs). A bad ``distance`` raises
``InvalidInput`` which ``server/errors.py`` turns into a 400 in the one error shape.
"""

from __future__ import annotations

import threading

from flask import Blueprint, Response, current_app, jsonify, request
from markupsafe import escape

from geo.budget import conflicts_task
from geo.conflicts import DEFAULT_DISTANCE_M, check_distance
from server import i18n, services, workers

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
        "seed_line": "规划 {seed} 第 {line} 行",
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
        "seed_line": "seed {seed}, line {line}",
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
    cache = app.extensions.setdefault("planmap_conflicts", {})
    with _lock:
        if distance_m in cache:
            return cache[distance_m]
    # in a worker under REQUEST_TIME_LIMIT_S, like site checks (0.1-0.3 s at the defaults)
    result = workers.run(conflicts_task, distance_m)
    with _lock:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[distance_m] = result
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


def _cite(lang: str, cit: dict) -> str:
    return _s(lang, "seed_line", seed=escape(cit.get("seed") or "?"),
              line=escape(str(cit.get("line") or "?")))


def _feature_html(lang: str, f: dict, label: str) -> str:
    name = f["name_zh"] if lang == "zh" else (f["name_en"] or f["name_zh"])
    cit = f.get("citation") or {}
    parts = [
        f"<h3>{escape(label)}: {escape(name)} <code>{escape(f['id'])}</code></h3>",
        f"<p>{escape(_s(lang, 'accuracy'))}: {escape(i18n.accuracy_label(lang, f['accuracy']))}"
        f" · {escape(f['layer'])}</p>",
    ]
    if cit.get("quote"):
        parts.append(f"<p>{escape(_s(lang, 'plan_text'))}: “{escape(cit['quote'])}” "
                     f"<small>({_cite(lang, cit)})</small></p>")
    if f["clauses"]:
        items = "".join(
            f"<li><strong>{escape(i18n.effect_label(lang, c['effect']))}</strong> "
            f"“{escape(c['text_zh'] or '')}” "
            f"<small>({_cite(lang, c['citation'])}"
            f"{' · ' + escape(c['plan']['title_zh'] or '') if c['plan'].get('title_zh') else ''})"
            f"</small></li>"
            for c in f["clauses"]
        )
        parts.append(f"<p>{escape(_s(lang, 'clauses'))}:</p><ul>{items}</ul>")
    return "".join(parts)


@bp.get("/conflicts")
def page_conflicts():
    lang = i18n.lang_from(request.args.get("lang"))
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
        warn = (f"<p class=\"pm-warn\"><strong>{escape(_s(lang, 'schematic'))}</strong></p>"
                if c["schematic"] else "")
        rows.append(
            f"<section class=\"pm-conflict\" id=\"{escape(c['id'])}\">"
            f"<h2>{escape(_s(lang, c['relation']))} — {escape(what)}</h2>"
            f"<p>{escape(note)}</p>{warn}"
            f"{_feature_html(lang, c['protected'], _s(lang, 'protected'))}"
            f"{_feature_html(lang, c['development'], _s(lang, 'development'))}</section>"
        )
    body = "".join(rows) or f"<p>{escape(_s(lang, 'none'))}</p>"
    html = (
        f"<!DOCTYPE html><html lang=\"{'zh-CN' if lang == 'zh' else 'en'}\"><head>"
        "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\"><link rel=\"icon\" href=\"data:,\">"
        "<link rel=\"stylesheet\" href=\"/static/planmap.css\">"
        f"<title>{escape(_s(lang, 'title'))}</title></head><body class=\"pm-doc\"><main>"
        f"<p><a href=\"/conflicts?lang={other}&amp;distance={distance:g}\">"
        f"{escape(_s(lang, 'other_lang'))}</a> · <a href=\"/?lang={lang}\">map</a></p>"
        f"<h1>{escape(_s(lang, 'title'))}</h1>"
        f"<p>{escape(_s(lang, 'intro', d=f'{distance:g}'))}</p>"
        f"<form method=\"get\" action=\"/conflicts\"><input type=\"hidden\" name=\"lang\" "
        f"value=\"{lang}\"><label>{escape(_s(lang, 'distance_label'))} <input name=\"distance\" "
        f"type=\"number\" min=\"0\" step=\"100\" value=\"{distance:g}\"></label> "
        f"<button>{escape(_s(lang, 'submit'))}</button></form>"
        f"<p><strong>{escape(_s(lang, 'count', n=len(result)))}</strong></p>{body}"
        "</main></body></html>"
    )
    return Response(html, mimetype="text/html")
