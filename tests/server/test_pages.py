"""The HTML pages: map page (offline, escaped, light), plan text, report, languages."""

from __future__ import annotations

import gzip
import json
import re
from html import escape as html_escape

import pytest
from markupsafe import escape as markup_escape
from planmap.server import create_app, i18n

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_EN = "</script><script>alert(2)</script>"
HOSTILE_TITLE = "<b>bold</b>"
PLAN = "000_f32aaef515cfbb76"
SITE = {"type": "Polygon", "coordinates": [[[122.80, 45.60], [122.88, 45.60], [122.88, 45.65],
                                            [122.80, 45.65], [122.80, 45.60]]]}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    db = tmp_path_factory.mktemp("pages") / "checks.sqlite3"
    return create_app({"DB_PATH": str(db), "TESTING": True})


def _script_url(html: str, lang: str = "zh") -> str:
    match = re.search(rf'<script src="(/map/{lang}\.js\?v=\w+)"', html)
    assert match, "map page does not load its map script"
    return match.group(1)


def _page(client, query=""):
    html = client.get("/" + query).get_data(as_text=True)
    lang = "en" if "lang=en" in query else "zh"
    script = client.get(_script_url(html, lang)).get_data(as_text=True)
    return html, script


def _overlay_names(overlays: str) -> list[str]:
    """The layer names of Folium's layer-control ``overlays`` object literal."""
    return [json.loads(f'"{k}"') for k in re.findall(r'"((?:[^"\\]|\\.)*)"\s*:', overlays)]


def _asset_urls(html: str) -> list[str]:
    """URLs the browser fetches for the page (``data:`` URLs are inline, not fetched)."""
    urls = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    return [u for u in urls if not u.startswith("data:")]


# ---- map page ------------------------------------------------------------------------------

def test_map_page_registers_and_lists_every_catalog_layer(client, app):
    html, script = _page(client)
    from planmap.server import services

    with app.app_context():
        catalog = services().data.catalog
    assert {e["id"] for e in catalog} >= {"admin", "ecology", "urban", "parks", "water"}
    overlays = re.search(r"overlays\s*:\s*\{(.*?)\}", script, re.S)
    assert overlays, "no layer control in the map script"
    assert _overlay_names(overlays.group(1)) == [html_escape(e["title_zh"]) for e in catalog]
    for entry in catalog:
        # each layer is handed to planmap.js (tooltips, popups, search) under its id
        assert f'(window.planmapLayers = window.planmapLayers || {{}})["{entry["id"]}"]' in script
        # the legend names each layer too
        assert f'data-layer="{entry["id"]}"' in html


def test_map_page_has_no_external_urls_and_every_asset_is_served(client):
    html, script = _page(client)
    assert "https://" not in html and "http://" not in html
    assert not re.search(r"https?://", script), "the default map script references a remote URL"
    assets = _asset_urls(html)
    assert any(u.startswith("/static/vendor/leaflet/leaflet.js") for u in assets)
    for url in assets:
        assert url.startswith("/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith(".css") or ".css?" in url:
            css = response.get_data(as_text=True)
            assert not re.search(r"url\(\s*['\"]?https?:", css), url
            base = url.rsplit("/", 1)[0]
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
                if ref.startswith(("data:", "#")):  # inline data, old-IE VML behaviour
                    continue
                assert client.get(f"{base}/{ref}").status_code == 200, (url, ref)


def test_map_page_carries_no_inline_script_and_a_strict_csp(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert script_src.strip() == "'self'"


def test_map_page_is_cached_and_revalidates(client):
    first = client.get("/")
    second = client.get("/")
    assert first.data == second.data
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    zipped = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == first.data


def test_map_page_weight_is_within_budget(client):
    """The whole default page, assets included, transfers in at most 600 KB gzip-compressed."""
    html = client.get("/").data
    total = len(gzip.compress(html))
    for url in _asset_urls(html.decode()):
        total += len(gzip.compress(client.get(url).data))
    assert total <= 600 * 1024, total


def test_schematic_features_are_dashed_and_the_legend_says_so(client):
    html, script = _page(client)
    assert i18n.t("zh", "legend_schematic") in html
    assert '"dashArray": "6 4"' in script


def test_english_page_and_language_toggle(client):
    zh = client.get("/").get_data(as_text=True)
    en, script_en = _page(client, "?lang=en")
    assert i18n.t("zh", "app_title") in zh and 'href="/?lang=en"' in zh
    assert i18n.t("en", "app_title") in en and 'href="/"' in en
    assert '"lang": "en"' in script_en
    assert "Administrative divisions" in script_en


def test_every_ui_string_exists_in_both_languages():
    assert set(i18n.STRINGS["zh"]) == set(i18n.STRINGS["en"])
    assert all(key in i18n.STRINGS["zh"] for key in i18n.JS_KEYS)
    assert set(i18n.DRAW_LOCAL["zh"]) == set(i18n.DRAW_LOCAL["en"])


def test_basemap_setting_adds_tiles_and_widens_img_src_only_for_its_host(tmp_path):
    app = create_app({"DB_PATH": str(tmp_path / "c.sqlite3"),
                      "BASEMAP_URL": "http://tiles.intranet.example/{z}/{x}/{y}.png"})
    client = app.test_client()
    response = client.get("/")
    html = response.get_data(as_text=True)
    script = client.get(_script_url(html)).get_data(as_text=True)
    assert "http://tiles.intranet.example/{z}/{x}/{y}.png" in script
    assert "img-src 'self' data: blob: http://tiles.intranet.example;" in \
        response.headers["Content-Security-Policy"]


# ---- hostile data is text --------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory):

    from planmap import layers

    root = tmp_path_factory.mktemp("hostile")
    data_dir = layers.copy_data_dir(root / "data_dir")
    path = data_dir / "data" / "ecology.geojson"
    doc = json.loads(path.read_text("utf-8"))
    feature = doc["features"][0]
    feature["properties"]["name_zh"] = HOSTILE
    feature["properties"]["name_en"] = HOSTILE_EN
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    catalog = json.loads((data_dir / "catalog.json").read_text("utf-8"))
    for entry in catalog["layers"]:
        if entry["id"] == "parks":
            entry["title_zh"] = HOSTILE_TITLE
            entry["style"]["color"] = "red;background:url(http://evil.example/x)"
    (data_dir / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False), "utf-8")
    app = create_app({"DATA_DIR": str(data_dir), "DB_PATH": str(root / "c.sqlite3")})
    assert not app.extensions["planmap"].data.errors
    return app.test_client(), feature["id"]


def test_hostile_feature_name_is_never_markup(hostile_client):
    client, fid = hostile_client
    for query, lang in (("", "zh"), ("?lang=en", "en")):
        html = client.get("/" + query).get_data(as_text=True)
        script = client.get(_script_url(html, lang)).get_data(as_text=True)
        assert "<img" not in html and "<img" not in script
        assert "</script>" not in script
        assert "evil.example" not in html and "evil.example" not in script
        # the name is there, as JSON-escaped text (planmap.js puts it in with textContent)
        assert "\\u003cimg src=x onerror=alert(1)\\u003e" in script
        # a layer title reaches Leaflet's layer control (which uses innerHTML) HTML-escaped
        overlays = re.search(r"overlays\s*:\s*\{(.*?)\}", script, re.S).group(1)
        names = _overlay_names(overlays)
        if lang == "zh":
            assert "&lt;b&gt;bold&lt;/b&gt;" in names
        assert not any("<" in name for name in names)
    assert fid


def test_planmap_js_never_writes_html():
    from planmap.server.pages import STATIC_DIR

    code = (STATIC_DIR / "planmap.js").read_text("utf-8")
    assert "innerHTML" not in code.replace("never with innerHTML", "")
    assert "insertAdjacentHTML" not in code and "document.write" not in code


# ---- plan text -------------------------------------------------------------------------------

def test_plan_page_has_an_anchor_per_line_and_its_title(client, app):
    from planmap.server import services

    with app.app_context():
        plan = services().data.plans[PLAN]
    html = client.get(f"/plan/{PLAN}").get_data(as_text=True)
    assert plan.title_zh in html
    anchors = re.findall(r'<li id="L(\d+)"', html)
    assert [int(a) for a in anchors] == list(range(1, len(plan.lines) + 1))


def test_plan_page_highlights_the_requested_lines(client):
    html = client.get(f"/plan/{PLAN}?hl=559-561").get_data(as_text=True)
    highlighted = [int(n) for n in re.findall(r'<li id="L(\d+)" value="\d+" class="pm-hl"', html)]
    assert highlighted == [559, 560, 561]


def test_plan_page_highlights_cited_lines_by_default(client, app):
    from planmap.server import services

    with app.app_context():
        data = services().data
    cited = {int(row["line"]) for gdf in data.layers.values() for row in gdf["citation"]
             if isinstance(row, dict) and row.get("seed") == PLAN}
    html = client.get(f"/plan/{PLAN}").get_data(as_text=True)
    highlighted = {int(n) for n in re.findall(r'<li id="L(\d+)" value="\d+" class="pm-hl"', html)}
    assert cited and cited <= highlighted


def test_plan_text_is_escaped(client, app):
    from planmap.server import services

    with app.app_context():
        plan = services().data.plans[PLAN]
    html = client.get(f"/plan/{PLAN}").get_data(as_text=True)
    sample = next(line for line in plan.lines if "“" in line or "<" in line or "&" in line)
    from html import escape

    assert escape(sample, quote=False) in html


def test_unknown_plan_is_a_404_page(client):
    response = client.get("/plan/999_nope")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "999_nope" in response.get_data(as_text=True)


# ---- report ----------------------------------------------------------------------------------

def test_report_of_unknown_id_is_a_404_page(client):
    response = client.get("/report/doesnotexist")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    hostile = client.get("/report/%3Cscript%3Ex")
    assert hostile.status_code == 404 and "<script>x" not in hostile.get_data(as_text=True)


@pytest.fixture(scope="module")
def stored_check(client):
    response = client.post("/api/v1/sitecheck", json={"geometry": SITE})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response.get_json()


def test_report_page_prints_the_site_check(client, stored_check):
    url = stored_check.get("report_url") or f"/report/{stored_check['id']}"
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert i18n.t("zh", "report_title") in html
    table = re.search(r'<table class="pm-table" id="pm-report-zones">(.*?)</table>', html, re.S)
    assert table, "report has no zones table"
    for zone in stored_check["zones"]:
        assert zone["name_zh"] in table.group(1)
    assert "<svg" in html and "<path" in html
    assert re.search(r'href="/plan/000_f32aaef515cfbb76\?hl=\d+#L\d+"', html)
    css = client.get("/static/planmap.css").get_data(as_text=True)
    assert re.search(r"@page\s*\{\s*size:\s*A4", css)
    en = client.get(url + "?lang=en").get_data(as_text=True)
    assert i18n.t("en", "report_title") in en


# ---- display geometry ------------------------------------------------------------------------

def test_display_collection_simplifies_rounds_orders_and_flags_wide_zones():
    import geopandas as gpd
    import shapely
    from planmap.server import mapbuild

    big = shapely.box(122.0, 45.0, 123.0, 46.0).buffer(0.1, quad_segs=64)
    small = shapely.Point(122.123456789, 45.987654321).buffer(0.01, quad_segs=64)
    gdf = gpd.GeoDataFrame(
        {"id": ["small", "big"], "name_zh": ["小", "大"], "accuracy": ["schematic", "derived"],
         "citation": [{"seed": PLAN, "line": 1, "quote": "x" * 500}, None]},
        geometry=[small, big], crs=4326).set_index("id", drop=False)
    fc = mapbuild.display_collection(gdf, "ecology", wide_area=big.area * 0.9)
    assert [f["id"] for f in fc["features"]] == ["big", "small"]  # small ones drawn on top
    big_f, small_f = fc["features"]
    assert big_f["properties"].get("wide") is True and "wide" not in small_f["properties"]
    coords = [c for ring in small_f["geometry"]["coordinates"] for c in ring]
    assert all(round(x, 5) == x and round(y, 5) == y for x, y in coords)
    assert len(coords) < len(small.exterior.coords)  # simplified for display
    assert len(small_f["properties"]["citation"]["quote"]) <= mapbuild.QUOTE_MAX_CHARS + 1
    style = mapbuild._style_function(mapbuild.safe_style({"color": "#123456"}))
    assert style(big_f)["fill"] is False
    assert style(small_f)["dashArray"] == mapbuild.SCHEMATIC_DASH and "fill" not in style(small_f)
    assert mapbuild.safe_style({"color": "red;x:url(http://e)"})["color"] == "#555555"


def test_tianditu_token_adds_its_tiles_and_hosts(tmp_path):
    app = create_app({"DB_PATH": str(tmp_path / "c.sqlite3"), "TIANDITU_TOKEN": "abc&<x>"})
    client = app.test_client()
    response = client.get("/")
    script = client.get(_script_url(response.get_data(as_text=True))).get_data(as_text=True)
    assert "tianditu.gov.cn/vec_w/wmts" in script
    assert "tk=abc%26%3Cx%3E" in script  # the token is URL-quoted, never raw
    csp = response.headers["Content-Security-Policy"]
    assert "https://t0.tianditu.gov.cn" in csp and "script-src 'self';" in csp


def test_map_page_credits_every_layer_source(client, app):
    from planmap.server import services

    with app.app_context():
        catalog = services().data.catalog
    html = client.get("/").get_data(as_text=True)
    for entry in catalog:
        if entry.get("attribution"):
            assert str(markup_escape(entry["attribution"])) in html


def test_report_says_which_clauses_only_govern_an_activity_or_the_whole_city(client, stored_check):
    result = client.get(f"/api/v1/sitecheck/{stored_check['id']}").get_json()
    scopes = {c.get("scope") for c in result["clauses"]}
    assert {"citywide", "activity"} <= scopes  # the site lies in the main city
    html = client.get(f"/report/{stored_check['id']}").get_data(as_text=True)
    assert "全市通用条款" in html
    for clause in result["clauses"]:
        if clause.get("scope") == "activity":
            assert "仅适用于以下类型项目：" + clause["activity_zh"] in html
