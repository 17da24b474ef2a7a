"""Place search for the map: ``GET /api/v1/search?q=…[&plan=…][&limit=…]``.

A query matches a feature by its Chinese name (with synonyms: "开发区" also finds
"经开区"), its English name, or its name's pinyin (full syllables or initials, from
:mod:`pypinyin`, computed once per app), and a query that reads as a coordinate (WGS 84
lon/lat or lat/lon, or CGCS2000 Gauss-Krüger EPSG:4550/4529 metres) answers with that
point.  The answer carries ``total`` (all matches) beside the ``limit`` it returns, so
the page can say when results were cut.
"""

from __future__ import annotations

import re
import threading

from flask import Blueprint, current_app, jsonify, request
from markupsafe import Markup, escape
from planmap.geo.errors import InvalidInput
from planmap.server import services
from planmap.server.args import query_limit

bp = Blueprint("search", __name__, url_prefix="/api/v1")

DEFAULT_LIMIT = 20  # what the page shows at once
MAX_LIMIT = 200
MAX_QUERY_CHARS = 100

#: words planners use interchangeably in Baicheng's plan names; a query containing one
#: also matches names containing any other of its group
SYNONYMS = (
    ("开发区", "经开区", "经济开发区", "经济技术开发区"),
    ("高新区", "高新技术产业开发区", "高新技术开发区"),
    ("工业园", "工业园区", "产业园", "产业园区", "工业集中区"),
    ("保护区", "自然保护区"),
    ("湿地", "湿地公园"),
    ("风电", "风力发电", "风能"),
    ("光伏", "太阳能"),
    ("水库", "泡"),
    ("市区", "城区", "中心城区"),
    ("县城", "城区", "城关"),
)

_lock = threading.Lock()
_CJK = re.compile(r"[\u3400-\u9fff]")
_NUM = r"[-+]?\d+(?:\.\d+)?"
_COORD_RE = re.compile(rf"^\s*({_NUM})\s*[,，\s]\s*({_NUM})\s*$")


def _pinyin(text: str) -> tuple[str, str]:
    """Full pinyin (no tones, no spaces) and the initials of ``text``; '' for no CJK."""
    if not _CJK.search(text or ""):
        return "", ""
    from pypinyin import Style, lazy_pinyin

    syllables = [s for s in lazy_pinyin(text, errors="ignore") if s.isalpha()]
    initials = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(syllables).lower(), "".join(s for s in initials if s.isalpha()).lower()


def build_index(data) -> list[dict]:
    """One search entry per named feature, in catalog order (computed once per app)."""
    home = getattr(data, "home_plan", None)
    out = []
    for entry in data.catalog:
        lid = entry["id"]
        gdf = data.layers.get(lid)
        if gdf is None:
            continue
        plan = entry.get("plan") or home
        for fid, row in gdf.iterrows():
            zh = str(row.get("name_zh") or "")
            en = str(row.get("name_en") or "")
            if not (zh or en):
                continue
            geom = row.geometry
            if geom is None or geom.is_empty:
                continue
            minx, miny, maxx, maxy = geom.bounds
            rep = geom.representative_point()
            full, initials = _pinyin(zh)
            out.append({
                "id": str(row.get("id") or fid), "layer": lid, "plan": plan,
                "name_zh": zh, "name_en": en, "kind": str(row.get("kind") or ""),
                "accuracy": str(row.get("accuracy") or ""),
                "bbox": [round(minx, 5), round(miny, 5), round(maxx, 5), round(maxy, 5)],
                "center": [round(rep.x, 5), round(rep.y, 5)],
                "_zh": zh.lower(), "_en": en.lower(), "_py": full, "_pyi": initials,
            })
    return out


def _index() -> list[dict]:
    # one index per data view: a visitor who may not see a restricted layer (server/visibility.py)
    # gets a different data object than a planner, and must not find its features
    data = services().data
    indexes = current_app.extensions.setdefault("planmap_search", {})
    found = indexes.get(id(data))
    if found is None or found[0] is not data:
        with _lock:
            found = indexes.get(id(data))
            if found is None or found[0] is not data:
                if len(indexes) > 16:  # old data versions and hidden sets
                    indexes.clear()
                found = indexes[id(data)] = (data, build_index(data))
    return found[1]


def variants(query: str) -> list[str]:
    """The query and its synonym forms (lower case)."""
    q = query.lower()
    out = [q]
    for group in SYNONYMS:
        for word in group:
            if word in q:
                out.extend(q.replace(word, other) for other in group if other != word)
    return list(dict.fromkeys(out))


def match(entry: dict, query: str, forms: list[str]) -> str | None:
    """How ``entry`` matches: 'name', 'synonym', 'english', 'pinyin', or None."""
    if forms[0] in entry["_zh"]:
        return "name"
    if any(f in entry["_zh"] for f in forms[1:]):
        return "synonym"
    if forms[0] in entry["_en"]:
        return "english"
    compact = re.sub(r"[\s'’-]+", "", forms[0])
    if compact.isascii() and compact.isalpha() and len(compact) >= 2 and (
            compact in entry["_py"] or compact in entry["_pyi"]):
        return "pinyin"
    return None


def parse_coordinate(query: str) -> dict | None:
    """A coordinate query as ``{"lon", "lat", "crs", "x", "y"}``, or None.

    Two numbers: degrees are lon/lat (or lat/lon when the first cannot be a longitude
    here); metres are Gauss-Krüger: Chinese surveyors write X (northing) first, so the
    number in the millions north of 4 000 000 is the northing, an easting of 8 digits
    carries the zone prefix 41 (EPSG:4529), 6 digits is EPSG:4550.
    """
    m = _COORD_RE.match(query or "")
    if not m:
        return None
    a, b = float(m.group(1)), float(m.group(2))
    if abs(a) <= 180 and abs(b) <= 180:
        lon, lat = a, b
        if abs(b) > 90 or (35 <= a <= 55 and 115 <= b <= 135):  # lat first, as phones show it
            lon, lat = b, a
        if abs(lat) > 90:
            return None
        return {"lon": lon, "lat": lat, "crs": "EPSG:4326", "x": a, "y": b}
    north, east = (a, b) if 4_000_000 <= a <= 6_500_000 else (b, a)
    if not 4_000_000 <= north <= 6_500_000:
        return None
    crs = "EPSG:4550"
    if 41_000_000 <= east < 42_000_000:
        crs, east = "EPSG:4529", east - 41_000_000
    elif not 100_000 <= east <= 900_000:
        return None
    lon, lat = _gk_to_wgs84().transform(east, north)
    return {"lon": round(lon, 7), "lat": round(lat, 7), "crs": crs, "x": a, "y": b}


def _gk_to_wgs84():
    # one per thread (geo.vocab): a pyproj Transformer must not be shared across threads
    from planmap.geo.vocab import wgs84_transformer

    return wgs84_transformer()


def search(entries: list[dict], query: str, plan: str | None, limit: int) -> dict:
    """The search answer (also used by tests without HTTP)."""
    query = (query or "").strip()
    result = {"query": query, "limit": limit, "total": 0, "count": 0, "capped": False,
              "coordinate": parse_coordinate(query), "results": []}
    if not query:
        return result
    forms = variants(query)
    hits = []
    for e in entries:
        if plan is not None and e["plan"] != plan:
            continue
        how = match(e, query, forms)
        if how is not None:
            hits.append((0 if how == "name" else 1, e, how))
    # exact names first, then shorter names (a closer match), stable in catalog order
    hits.sort(key=lambda h: (h[0], h[1]["_zh"] != forms[0], len(h[1]["name_zh"])))
    result["total"] = len(hits)
    shown = hits[:limit]
    result["count"] = len(shown)
    result["capped"] = len(hits) > limit
    result["results"] = [dict({k: v for k, v in e.items() if not k.startswith("_")}, match=how)
                         for _, e, how in shown]
    return result


_CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")


@bp.app_template_filter("zh_marked")
def zh_marked(text) -> Markup:
    """``text`` escaped, each run of Chinese in it wrapped in ``<span lang="zh-CN">``.

    For the English pages' data text that names Chinese documents or places in the
    original (a plan's title in an attribution, "named after 五棵树"): the marking is
    what the English scan (tests/server/test_english.py) accepts as a proper noun.
    """
    out, pos = [], 0
    text = "" if text is None else str(text)
    for m in _CJK_RUN.finditer(text):
        out.append(str(escape(text[pos:m.start()])))
        out.append(f'<span class="pm-verbatim" lang="zh-CN">{escape(m.group(0))}</span>')
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


@bp.get("/search")
def search_view():
    q = request.args.get("q", "")
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidInput("query_too_long",
                           f"q has {len(q)} characters; at most {MAX_QUERY_CHARS} are searched "
                           "— shorten the query",
                           f"q 有 {len(q)} 个字符，最多 {MAX_QUERY_CHARS} 个，请缩短查询",
                           param="q")
    limit = query_limit("limit", DEFAULT_LIMIT, MAX_LIMIT)
    from planmap.server.api import _plan_filter

    plan = _plan_filter(services().data)
    return jsonify(search(_index(), q, plan, limit))
