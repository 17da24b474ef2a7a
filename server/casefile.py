"""The 选址分析报告 as it goes into a case file: project fields, parcels, 界址点, PDF.

* ``POST /api/v1/sitecheck`` takes ``project_name``, ``applicant`` (bounded by
  ``PROJECT_TEXT_MAX_CHARS``) and ``project_type`` (:mod:`geo.projecttypes`); they are
  stored with the check under ``project``, with the project type's verdict.
* The answer's ``input`` says which CRS was read and where it came from, with hints
  (:mod:`geo.siteinput`); ``parcels`` holds one row per parcel, the 界址点 tables and 四至.
* ``/report/<id>.pdf`` (also ``/report/<id>?format=pdf``) is the report rendered to A4
  PDF by WeasyPrint in a worker process, with the Noto CJK font from Debian
  (``fonts-noto-cjk``), so every reader gets the same document.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from pathlib import Path

from flask import Blueprint, Response, current_app, g, request
from planmap.geo.errors import InvalidInput
from planmap.server import i18n, services

bp = Blueprint("casefile", __name__)

BEIJING = _dt.timezone(_dt.timedelta(hours=8), "UTC+8")
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PRINT_CSS = ("planmap.css", "planmap-report.css")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


# ------------------------------------------------------------------ request fields

def _text_field(name: str, max_chars: int) -> str | None:
    body = getattr(g, "site_body", None)
    if isinstance(body, dict) and name in body:
        raw = body[name]
        if raw is not None and not isinstance(raw, str):
            raise InvalidInput("invalid_text", f"{name} must be a string",
                               f"{name} 必须是字符串", param=name)
    else:
        raw = request.form.get(name) if request.files else None
        if raw is None:
            raw = request.args.get(name)
    if raw is None:
        return None
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", raw)).strip()
    if len(text) > max_chars:
        raise InvalidInput("text_too_long",
                           f"{name} has {len(text)} characters; at most {max_chars} "
                           "(PROJECT_TEXT_MAX_CHARS)",
                           f"{name} 有 {len(text)} 个字符，最多 {max_chars} 个"
                           "（PROJECT_TEXT_MAX_CHARS）", param=name)
    return text or None


def project_fields() -> dict:
    """``{"name", "applicant", "type"}`` of the current site-check request (None = not given)."""
    from planmap.geo.projecttypes import parse_project_type

    limit = int(current_app.config["PROJECT_TEXT_MAX_CHARS"])
    body = getattr(g, "site_body", None)
    if isinstance(body, dict) and "project_type" in body:
        raw_type = body["project_type"]
    else:
        raw_type = (request.form.get("project_type") if request.files else None) \
            or request.args.get("project_type")
    return {"name": _text_field("project_name", limit),
            "applicant": _text_field("applicant", limit),
            "type": parse_project_type(raw_type)}


def describe(result: dict, site, raw: bytes, filename: str | None, project: dict) -> None:
    """Add ``input``, ``parcels`` and ``project`` to a site-check ``result`` (in place)."""
    from planmap.geo import siteinput
    from planmap.geo.projecttypes import project_verdict

    result["input"] = siteinput.describe_input(
        site, raw, filename, in_service_area=result.get("in_service_area"))
    result["parcels"] = siteinput.parcels(
        site.parts, site.parcels, site.crs_in,
        max_points=int(current_app.config["REPORT_MAX_POINTS"]),
        point_names=getattr(site, "point_names", None)) if site.parts else None
    kind = project.get("type")
    result["project"] = {
        "name": project.get("name"), "applicant": project.get("applicant"),
        "type": project_verdict(kind, result.get("activity_verdicts") or []) if kind else None}


# ------------------------------------------------------------------ report view

def beijing_time(created) -> str:
    """A stored check's time in Beijing time, labelled (``2026-12-03 20:45:12 北京时间``)."""
    if not isinstance(created, (int, float)):
        return ""
    return _dt.datetime.fromtimestamp(created, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def beijing_label(created, lang: str) -> str:
    """:func:`beijing_time` with its label in ``lang``."""
    when = beijing_time(created)
    return f"{when} {i18n.t(lang, 'case_beijing_time')}" if when else ""


def plan_title(citation, lang: str) -> str:
    """The cited plan's title (``layers/plans/index.json``), or its seed when unknown."""
    if not isinstance(citation, dict) or not citation.get("seed"):
        return ""
    plan = (getattr(services().data, "plans", None) or {}).get(citation["seed"])
    if plan is None:
        return str(citation["seed"])
    return (plan.title_en if lang == "en" else plan.title_zh) or plan.title_zh or plan.seed


def case_view(record: dict, lang: str) -> dict:
    """What the case-file sections of the report show (project, parcels, 界址点, 四至)."""
    result = record.get("result") or {}
    project = result.get("project") if isinstance(result.get("project"), dict) else {}
    ptype = project.get("type") if isinstance(project.get("type"), dict) else None
    inp = result.get("input") if isinstance(result.get("input"), dict) else {}
    parcels = result.get("parcels") if isinstance(result.get("parcels"), dict) else None
    hints = [str(h.get(f"message_{lang}") or h.get("message_zh") or "")
             for h in inp.get("crs_hints") or [] if isinstance(h, dict)]
    return {
        "project_name": project.get("name") or "",
        "applicant": project.get("applicant") or "",
        "project_type": None if ptype is None else {
            "name": ptype.get("name_en" if lang == "en" else "name_zh") or ptype.get("id"),
            "effect_code": str(ptype.get("effect") or "none"),
            "effect": i18n.verdict_label(lang, ptype.get("effect"))
            if ptype.get("effect") not in (None, "none")
            else i18n.t(lang, "case_project_no_activity"),
            "activities": [{"name": str(a.get("activity_en" if lang == "en" else "activity_zh")
                                        or ""),
                            "effect": i18n.effect_label(lang, a.get("effect")),
                            "effect_code": str(a.get("effect") or ""),
                            "clauses": list(a.get("clauses") or [])}
                           for a in ptype.get("activities") or [] if isinstance(a, dict)]},
        "when": beijing_label(record.get("created"), lang),
        "crs": str(inp.get("crs") or ""), "crs_label": str(inp.get("crs_label") or ""),
        "crs_source": str(inp.get("crs_source") or ""),
        "projected_in": str(inp.get("crs") or "") in ("EPSG:4550", "EPSG:4529"),
        "crs_hints": hints,
        "parcels": parcels,
        "basis": [str(b) for b in result.get("verdict_basis") or []],
        "page_content": _page_content(lang),
    }


def _page_content(lang: str) -> str:
    """The CSS ``content`` of the page footer: 第 n 页，共 m 页 / page n of m."""
    text = i18n.t(lang, "case_page").replace('"', "'").replace("\\", "")
    head, _, rest = text.partition("{page}")
    middle, _, tail = rest.partition("{pages}")
    return f'"{head}" counter(page) "{middle}" counter(pages) "{tail}"'


@bp.get("/api/v1/project-types")
def project_types():
    """The project types of the site-check panel's picker, with their activity clauses."""
    from flask import jsonify
    from planmap.geo.projecttypes import list_types

    types = list_types(getattr(services().data, "clauses", None) or [])
    return jsonify({"count": len(types), "project_types": types})


# ------------------------------------------------------------------ PDF

def render_pdf_task(state: dict, html: str) -> bytes:
    """The report HTML as A4 PDF (``geo.budget`` worker task: seconds of CPU for a long table)."""
    return html_to_pdf(html)


def html_to_pdf(html: str) -> bytes:
    """Render ``html`` with WeasyPrint; it fetches nothing (the stylesheets are given)."""
    import weasyprint
    from weasyprint.urls import URLFetcher

    class _NoFetch(URLFetcher):
        # user text is escaped by the template; still, the PDF reads no URL or file
        def fetch(self, url, headers=None):
            raise ValueError(f"planmap's PDF fetches no resources ({url[:60]})")

    sheets = [weasyprint.CSS(filename=str(STATIC_DIR / name)) for name in PRINT_CSS]
    return weasyprint.HTML(string=html, base_url=str(STATIC_DIR) + "/",
                           url_fetcher=_NoFetch()).write_pdf(stylesheets=sheets)


@bp.get("/report/<check_id>.pdf")
def report_pdf(check_id: str):
    """The report as A4 PDF (404 JSON for an unknown or expired check)."""
    from planmap.server import pages, workers

    lang = i18n.current_lang()
    html = pages.report_html(check_id, lang, pdf=True)
    data = workers.run(render_pdf_task, html)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="planmap-{check_id}.pdf"'
    response.headers["Cache-Control"] = "no-cache"
    return response
