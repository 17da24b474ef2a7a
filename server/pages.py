"""The HTML pages: the map ``/``, the plan text ``/plan/<seed>``, the report ``/report/<id>``.

The map page is built once per process and language (Folium + the vendored assets)
and served from memory; its script is a separate file ``/map/<lang>.js`` so the
pages carry no inline script (the page CSP sets ``script-src 'self'``).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request
from planmap.geo.errors import NotFound
from planmap.server import i18n, services

bp = Blueprint("pages", __name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_OWN_ASSETS = ("planmap.js", "planmap.css", "planmap-report.js", "planmap-report.css",
               "planmap-tools.js", "planmap-tools.css")
# issue 16: the map a planner reads (layout, swipe/compare, print), loaded after planmap.js
LAYOUT_ASSETS = ("planmap-layout.css", "planmap-print.css", "planmap-layout.js",
                 "planmap-swipe.js", "planmap-print.js")
_HL_MAX_LINES = 500  # a ?hl= range wider than this is cut (a highlight, not a dump)

# Pages built here hold no inline script; inline style is kept for Leaflet/Folium.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob:{img}; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'self'; form-action 'self'"
)


class _PageCache:
    """Built map pages per language, for the lifetime of one app (process)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pages: dict[str, dict] = {}
        self.cited: dict[str, set[int]] | None = None


def _cache() -> _PageCache:
    ext = current_app.extensions
    if "planmap_pages" not in ext:
        ext["planmap_pages"] = _PageCache()
    return ext["planmap_pages"]


def _asset_version(name: str) -> str:
    try:
        return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def _lang_url(path: str, lang: str) -> str:
    return path if lang == i18n.DEFAULT_LANG else f"{path}?lang={lang}"


def _other_lang(lang: str) -> str:
    return "en" if lang == "zh" else "zh"


def _csp(img_origins=()) -> str:
    extra = "".join(" " + o for o in img_origins)
    return PAGE_CSP.format(img=extra)


def _respond(body: bytes, mimetype: str, status: int = 200, gz: bytes | None = None,
             etag: str | None = None, csp: str | None = None, max_age: int | None = None):
    """Send ``body`` (or its gzip form when the client accepts it)."""
    if etag and request.if_none_match.contains(etag):
        response = Response(status=304)
        response.set_etag(etag)
        return response
    use_gz = gz is not None and "gzip" in (request.headers.get("Accept-Encoding") or "")
    response = Response(gz if use_gz else body, status=status, mimetype=mimetype)
    if use_gz:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    if etag:
        response.set_etag(etag)
    if max_age is not None:
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
    else:
        response.headers["Cache-Control"] = "no-cache"
    if csp:
        response.headers["Content-Security-Policy"] = csp
    return response


def _build_page(lang: str) -> dict:
    from planmap.server import mapbuild

    svc = services()
    parts = mapbuild.build_map(svc.data, lang, current_app.config)
    errors = getattr(svc.data, "errors", {}) or {}
    html = render_template(
        "map.html", lang=lang, t=lambda key, **kw: i18n.t(lang, key, **kw), parts=parts,
        other_lang=_other_lang(lang), toggle_url=_lang_url("/", _other_lang(lang)),
        script_url=f"/map/{lang}.js?v={parts.script_version}",
        asset_v={name: _asset_version(name) for name in _OWN_ASSETS + LAYOUT_ASSETS},
        layout_assets=LAYOUT_ASSETS,
        layer_errors=sorted(errors), data_version=getattr(svc.data, "data_version", ""),
    )
    html_b = html.encode("utf-8")
    script_b = parts.script.encode("utf-8")
    return {
        "html": html_b, "html_gz": gzip.compress(html_b, 6),
        "html_etag": hashlib.sha256(html_b).hexdigest()[:16],
        "script": script_b, "script_gz": gzip.compress(script_b, 6),
        "script_etag": parts.script_version,
        "csp": _csp(getattr(parts, "basemap_origins", [])),
    }


def map_page(lang: str) -> dict:
    """The built map page for ``lang`` (built on first use, then cached)."""
    from planmap.server.visibility import hidden_layers

    cache = _cache()
    hidden = hidden_layers()  # a page without the layers restricted to planners
    key = (lang, hidden) if hidden else lang
    page = cache.pages.get(key)
    if page is None:
        with cache.lock:
            page = cache.pages.get(key)
            if page is None:
                page = cache.pages[key] = _build_page(lang)
    return page


@bp.get("/")
def index():
    page = map_page(i18n.current_lang())
    return _respond(page["html"], "text/html", gz=page["html_gz"], etag=page["html_etag"],
                    csp=page["csp"])


@bp.get("/map/<lang>.js")
def map_script(lang: str):
    if lang not in i18n.LANGS:
        return _not_found_page(i18n.DEFAULT_LANG, i18n.t(i18n.DEFAULT_LANG, "not_found"))
    page = map_page(lang)
    # the URL carries the script's hash (?v=), so it may be cached for a day
    return _respond(page["script"], "text/javascript", gz=page["script_gz"],
                    etag=page["script_etag"], max_age=86400)


# --- plan text -------------------------------------------------------------------------------

def _cited_lines() -> dict[str, set[int]]:
    """Lines cited by any feature or clause, per seed (computed once per app)."""
    cache = _cache()
    if cache.cited is not None:
        return cache.cited
    cited: dict[str, set[int]] = {}

    def add(citation):
        if isinstance(citation, dict):
            try:
                cited.setdefault(str(citation.get("seed")), set()).add(int(citation.get("line")))
            except (TypeError, ValueError):
                pass

    data = services().data
    for gdf in data.layers.values():
        for column in ("citation", "extra_citations"):
            if column not in gdf.columns:
                continue
            for value in gdf[column]:
                if isinstance(value, list):
                    for item in value:
                        add(item)
                else:
                    add(value)
    for clause in getattr(data, "clauses", []) or []:
        add(clause.get("citation"))
    cache.cited = cited
    return cited


def parse_hl(value: str | None, n_lines: int) -> set[int]:
    """Lines named by ``?hl=559-561,600``; malformed parts are ignored."""
    lines: set[int] = set()
    for part in (value or "").split(",")[:50]:
        match = re.fullmatch(r"\s*(\d{1,7})\s*(?:-\s*(\d{1,7})\s*)?", part)
        if not match:
            continue
        start = int(match.group(1))
        end = int(match.group(2) or start)
        if end < start:
            start, end = end, start
        end = min(end, start + _HL_MAX_LINES - 1, n_lines)
        lines.update(range(max(start, 1), end + 1))
    return lines


@bp.get("/plan/<seed>")
def plan(seed: str):
    lang = i18n.current_lang()
    plans = getattr(services().data, "plans", {}) or {}
    text = plans.get(seed)
    if text is None:
        return _not_found_page(lang, i18n.t(lang, "not_found_plan", seed=seed))
    lines = list(text.lines)
    hl_arg = request.args.get("hl")
    cited = _cited_lines().get(seed, set())
    highlight = parse_hl(hl_arg, len(lines)) if hl_arg else set(cited)
    title = (text.title_en if lang == "en" else text.title_zh) or text.title_zh or seed
    html = render_template(
        "plan.html", lang=lang, t=lambda key, **kw: i18n.t(lang, key, **kw), seed=seed,
        title=title, lines=lines, highlight=highlight, cited=cited, n_lines=len(lines),
        toggle_url=_lang_url(f"/plan/{seed}", _other_lang(lang)), other_lang=_other_lang(lang),
        map_url=_lang_url("/", lang), asset_v={n: _asset_version(n) for n in _OWN_ASSETS},
    )
    return _respond(html.encode("utf-8"), "text/html", csp=_csp())


# --- report ----------------------------------------------------------------------------------

@bp.get("/report/<check_id>")
def report(check_id: str):
    lang = i18n.current_lang()
    if (request.args.get("format") or "").strip().lower() == "pdf":
        from planmap.server import casefile

        return casefile.report_pdf(check_id)
    try:
        html = report_html(check_id, lang)
    except NotFound:
        return _not_found_page(lang, i18n.t(lang, "not_found_report", id=check_id))
    return _respond(html.encode("utf-8"), "text/html", csp=_csp())


def report_html(check_id: str, lang: str, pdf: bool = False) -> str:
    """The report page of a stored check (raises ``NotFound``); ``pdf`` for WeasyPrint."""
    from planmap.server import casefile, reportview

    record = services().store.get(check_id)
    if not reportview.valid_rendering(record.get("report")):
        # a check stored before reports were drawn at save time (or whose drawing failed
        # then): draw it once, in a worker under REQUEST_TIME_LIMIT_S, and keep it
        drawn = _render_in_worker(record)
        if drawn is not None:
            record["report"] = drawn
            services().store.set_report(check_id, drawn)
        else:
            record["report"] = reportview.EMPTY_RENDERING
    view = reportview.build(record, services().data, lang, current_app.config)
    case = casefile.case_view(record, lang)
    return render_template(
        "report.html", lang=lang, t=lambda key, **kw: i18n.t(lang, key, **kw), view=view,
        check_id=check_id, when=case["when"], case=case, pdf=pdf,
        plan_title=lambda c: casefile.plan_title(c, lang),
        toggle_url=_lang_url(f"/report/{check_id}", _other_lang(lang)),
        other_lang=_other_lang(lang), map_url=_lang_url("/", lang),
        pdf_url=_lang_url(f"/report/{check_id}.pdf", lang),
        asset_v={n: _asset_version(n) for n in _OWN_ASSETS},
    )


def _render_in_worker(record):
    """The report's map drawn in a worker under REQUEST_TIME_LIMIT_S (a complex site took
    10.9 s per GET in the request thread); None past the limit or with every worker busy,
    and the report is then served without it."""
    from planmap.geo.budget import Busy, TimeLimitExceeded
    from planmap.server import reportview, workers

    try:
        return workers.run(reportview.render_map_task, record)
    except (TimeLimitExceeded, Busy):
        current_app.logger.warning("report map skipped (time limit or workers busy)")
        return None


def _not_found_page(lang: str, message: str):
    html = render_template(
        "notfound.html", lang=lang, t=lambda key, **kw: i18n.t(lang, key, **kw),
        message=message, map_url=_lang_url("/", lang),
        asset_v={n: _asset_version(n) for n in _OWN_ASSETS},
    )
    return _respond(html.encode("utf-8"), "text/html", status=404, csp=_csp())
