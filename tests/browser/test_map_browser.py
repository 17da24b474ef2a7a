"""The map page in a real browser (Debian chromium driven by playwright-python).

One waitress server on 127.0.0.1 serves a copy of the built-in data in which one feature
carries a hostile name.  Every test saves a screenshot into ``artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.external import need_program

pytestmark = pytest.mark.external

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_FEATURE = "eco_core_xianghai"
BAICHENG = (122.839, 45.620)  # 白城市区
SITE = [(122.80, 45.60), (122.88, 45.60), (122.88, 45.65), (122.80, 45.65)]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from planmap.server import create_app

    from planmap import layers

    root = tmp_path_factory.mktemp("browser")
    data_dir = layers.copy_data_dir(root / "data_dir")
    path = data_dir / "data" / "ecology.geojson"
    doc = json.loads(path.read_text("utf-8"))
    hostile = [f for f in doc["features"] if f["id"] == HOSTILE_FEATURE]
    assert hostile, f"{HOSTILE_FEATURE} missing from the ecology layer"
    hostile[0]["properties"]["name_zh"] = HOSTILE
    hostile[0]["properties"]["name_en"] = HOSTILE
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")

    app = create_app({"DATA_DIR": str(data_dir), "DB_PATH": str(root / "checks.sqlite3")})
    yield from serve_app(app)


def serve_app(app, **extra):
    """Serve ``app`` with waitress on a free loopback port for a module's browser tests
    (a generator for fixtures: ``yield from serve_app(app)``)."""
    from waitress.server import create_server

    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=srv.run, daemon=True).start()
    try:
        yield {"base": f"http://127.0.0.1:{srv.effective_port}", "app": app, **extra}
    finally:
        srv.close()


@pytest.fixture(scope="module")
def browser():
    exe = need_program("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watch:
    """Everything a page did that a test may need to check."""

    def __init__(self, page):
        self.requests, self.errors, self.dialogs = [], [], []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

        def on_dialog(dialog):
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)


@pytest.fixture
def page(browser, server, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.watch = Watch(pg)
    yield pg
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        # whole page, unless it is a very long document (the plan text: the viewport will do)
        tall = pg.evaluate("document.documentElement.scrollHeight") > 6000
        pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=not tall)
    finally:
        context.close()



def wait_js(page, fn, arg=None, timeout_s=45.0):
    """Poll ``fn`` (a JS function) until truthy. ``page.wait_for_function`` re-evaluates its
    predicate with ``eval`` once the first try is false, which the page's CSP (script-src
    'self', no unsafe-eval) refuses: under load that turned a slow page into an EvalError."""
    import time

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if page.evaluate(fn, arg):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"not true within {timeout_s} s: {fn}")

def open_map(page, server, query=""):
    page.goto(server["base"] + "/" + query)
    page.wait_for_selector("html[data-planmap-ready]", state="attached", timeout=45000)


def screen_xy(page, lon, lat, zoom=None):
    """Viewport pixel of a lon/lat (after an optional instant zoom there)."""
    return page.evaluate(
        """([lon, lat, zoom]) => {
            const m = window.planmapMap;
            if (zoom) m.setView([lat, lon], zoom, {animate: false});
            const p = m.latLngToContainerPoint([lat, lon]);
            const r = m.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top];
        }""", [lon, lat, zoom])


def _data(server):
    return server["app"].extensions["planmap"].data


def home_layers(server):
    """Catalog entries of the plan the page opens on (Baicheng's)."""
    data = _data(server)
    return [e for e in data.catalog if data.layer_plan(e["id"]) == data.home_plan]


# ---------------------------------------------------------------------------------------------

def test_page_loads_with_zero_requests_to_other_hosts(page, server):
    open_map(page, server)
    page.wait_for_load_state("networkidle")
    assert page.watch.requests, "no request recorded"
    foreign = [u for u in page.watch.requests
               if not u.startswith(server["base"] + "/") and not u.startswith("data:")]
    assert foreign == []
    assert page.watch.errors == []
    # the vector layers are drawn (no basemap tiles needed)
    assert page.locator(".leaflet-overlay-pane path").count() > 20


def test_every_layer_group_is_listed_and_toggles(page, server):
    open_map(page, server)
    catalog = home_layers(server)
    labels = page.locator(".leaflet-control-layers-overlays label:visible")
    assert [s.strip() for s in labels.all_inner_texts()] == [e["title_zh"] for e in catalog]
    on_map = "id => window.planmapMap.hasLayer(window.planmapLayers[id].group)"
    for i, entry in enumerate(catalog):
        box = labels.nth(i).locator("input")
        assert box.is_checked() == bool(entry.get("default_on", True))
        before = page.evaluate(on_map, entry["id"])
        box.click()
        assert page.evaluate(on_map, entry["id"]) is (not before)
        box.click()
        assert page.evaluate(on_map, entry["id"]) is before


def test_click_on_baicheng_city_lists_taobei_and_the_main_city(page, server):
    data = _data(server)
    urban = data.layers["urban"]
    main_city = urban[urban["kind"] == "main_city"]["name_zh"].tolist()
    assert main_city, "no main-city feature in the urban layer"
    open_map(page, server)
    page.mouse.click(*screen_xy(page, *BAICHENG, zoom=11))
    page.wait_for_selector("#pm-panel .pm-zones", timeout=10000)
    zones = page.locator("#pm-panel .pm-zones").inner_text()
    assert "洮北区" in zones
    assert any(name in zones for name in main_city)
    assert page.locator("#pm-panel").get_by_text("适用条款").count() == 1


def _draw_polygon(page, points):
    page.click("button[data-tool=draw-polygon]")
    pixels = [screen_xy(page, lon, lat) for lon, lat in points]
    for x, y in pixels:
        page.mouse.click(x, y)
        page.wait_for_timeout(120)
    page.mouse.click(*pixels[0])  # close the ring


def _assert_site_check_result(page):
    page.wait_for_selector("#pm-verdict", timeout=45000)
    assert page.locator("#pm-verdict").inner_text().startswith("结论")
    rows = page.locator("#pm-overlap tbody tr")
    assert rows.count() >= 1
    header = page.locator("#pm-overlap thead").inner_text()
    assert "公顷" in header and "亩" in header and "占选址" in header
    first_area = rows.nth(0).locator("td").nth(1).inner_text()
    assert first_area.replace(",", "").isdigit() and int(first_area.replace(",", "")) > 0
    assert page.locator("#pm-report-link").get_attribute("href").startswith("/report/")


def test_drawing_a_polygon_shows_verdict_and_overlap_areas(page, server):
    open_map(page, server)
    screen_xy(page, 122.84, 45.625, zoom=11)
    _draw_polygon(page, SITE)
    _assert_site_check_result(page)
    assert page.watch.errors == []


SAMPLE_SITES = ROOT / "tests" / "data" / "sites"


@pytest.mark.parametrize("sample", [None, "parcel.kml", "parcel.txt", "parcel_shp.zip"],
                         ids=["geojson", "kml", "guotu_txt_gbk", "shapefile_zip"])
def test_uploading_a_file_shows_verdict_and_overlap_areas(page, server, tmp_path, sample):
    if sample is None:
        ring = [list(p) for p in SITE] + [list(SITE[0])]
        upload = tmp_path / "site.geojson"
        upload.write_text(json.dumps({"type": "Feature", "properties": {},
                                      "geometry": {"type": "Polygon", "coordinates": [ring]}}))
    else:
        upload = SAMPLE_SITES / sample
        assert upload.exists(), upload
    open_map(page, server)
    page.set_input_files("#pm-upload", str(upload))
    _assert_site_check_result(page)
    # the uploaded site is drawn on the map from the stored check
    page.wait_for_selector('.leaflet-overlay-pane path[stroke="#000"][stroke-width="2.5"]',
                           timeout=5000)


def test_drawing_a_point_checks_the_point(page, server):
    open_map(page, server)
    page.click("button[data-tool=draw-point]")
    page.mouse.click(*screen_xy(page, *BAICHENG, zoom=11))
    page.wait_for_selector("#pm-verdict", timeout=45000)
    assert "洮北区" in page.locator("#pm-overlap").inner_text()


def test_measuring_an_area_shows_mu_and_hectares(page, server):
    open_map(page, server)
    screen_xy(page, 122.84, 45.625, zoom=11)
    page.click("button[data-tool=measure-area]")
    pixels = [screen_xy(page, lon, lat) for lon, lat in SITE]
    for x, y in pixels:
        page.mouse.click(x, y)
        page.wait_for_timeout(120)
    page.mouse.click(*pixels[0])
    page.wait_for_selector("#pm-panel .pm-measure", timeout=5000)
    text = page.locator("#pm-panel").inner_text()
    assert "公顷" in text and "亩" in text
    # ~6.2 km × 5.6 km ≈ 3,470 ha: the measure agrees with the site check to 1 %
    hectares = float(text.split("公顷")[0].split("\n")[-1].split("平方米")[-1].strip()
                     .replace(",", ""))
    assert 3400 < hectares < 3540


def test_hostile_feature_name_renders_as_text(page, server):
    open_map(page, server)
    page.fill("#pm-search", "onerror")
    item = page.locator("#pm-search-results li").first
    item.wait_for(timeout=5000)
    assert HOSTILE in item.inner_text()
    item.dispatch_event("mousedown")
    page.wait_for_selector(".leaflet-popup .pm-pop-name", timeout=5000)
    assert page.locator(".leaflet-popup .pm-pop-name").inner_text() == HOSTILE
    page.wait_for_timeout(300)
    assert page.watch.dialogs == []
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.querySelectorAll('img[onerror]').length") == 0


def test_report_page_has_its_table_and_prints(page, server):
    ring = [list(p) for p in SITE] + [list(SITE[0])]
    response = page.request.post(server["base"] + "/api/v1/sitecheck",
                                 data={"geometry": {"type": "Polygon", "coordinates": [ring]}})
    assert response.ok
    result = response.json()
    page.goto(server["base"] + result["report_url"])
    table = page.locator("#pm-report-zones")
    assert table.locator("tbody tr").count() == len(result["zones"])
    assert page.locator("svg.pm-report-svg path").count() > 0
    assert page.locator("[data-action=print]").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".pm-doc-head").is_visible()  # navigation hidden on paper
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf[:4] == b"%PDF" and len(pdf) > 10_000
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "report.pdf").write_bytes(pdf)
    page.emulate_media(media="screen")


def test_popup_citation_opens_the_plan_at_its_line(page, server):
    open_map(page, server)
    page.fill("#pm-search", "洮北区")
    page.locator("#pm-search-results li").first.dispatch_event("mousedown")
    link = page.locator(".leaflet-popup .pm-cite a").first
    href = link.get_attribute("href")
    assert href.startswith("/plan/") and "#L" in href
    # the popup names the feature's kind by its label, not the internal code (issue 18)
    meta = page.locator(".leaflet-popup .pm-pop > .pm-muted").first.inner_text()
    assert "县（市、区）" in meta and "county" not in meta
    link.click()
    # issue 18: the plan opens beside the map (static/planmap-tools.js), the map stays
    page.wait_for_selector("#pm-cite-view:not([hidden])")
    frame = page.frame_locator("#pm-cite-frame")
    line = href.rsplit("#L", 1)[1]
    target = frame.locator(f"#L{line}")
    assert "pm-hl" in (target.get_attribute("class") or "")
    assert target.is_visible()


def test_english_page(page, server):
    open_map(page, server, "?lang=en")
    assert page.locator(".pm-brand").inner_text().startswith("Baicheng")
    labels = page.locator(".leaflet-control-layers-overlays label:visible").all_inner_texts()
    assert [s.strip() for s in labels] == [e["title_en"] for e in home_layers(server)]


@pytest.mark.parametrize("plan_id", ["001", "002", "003", "004", "000"])
def test_plan_switcher_moves_to_the_plans_extent_tree_and_legend(page, server, plan_id):
    data = _data(server)
    plan = next(p for p in data.plan_list if p["id"] == plan_id)
    open_map(page, server)
    page.select_option("#pm-plan", plan_id)
    page.wait_for_selector(f"html[data-planmap-plan='{plan_id}']", state="attached")
    # extent: the map's centre lies inside the plan's extent, and the view is not far wider
    w, s, e, n = plan["extent"]
    view = page.evaluate("""() => { const b = window.planmapMap.getBounds();
        return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }""")
    cx, cy = (view[0] + view[2]) / 2, (view[1] + view[3]) / 2
    assert w <= cx <= e and s <= cy <= n, (view, plan["extent"])
    px, py = (w + e) / 2, (s + n) / 2
    assert view[0] <= px <= view[2] and view[1] <= py <= view[3], (view, plan["extent"])
    assert view[2] - view[0] < 3 * (e - w) + 1.0, (view, plan["extent"])
    # layer tree: exactly the plan's layers, in catalog order, its default layers on the map
    mine = [x for x in data.catalog if data.layer_plan(x["id"]) == plan_id]
    labels = page.locator(".leaflet-control-layers-overlays label:visible")
    assert [t.strip() for t in labels.all_inner_texts()] == [x["title_zh"] for x in mine]
    on_map = page.evaluate("""() => Object.keys(window.planmapLayers).filter(
        id => window.planmapMap.hasLayer(window.planmapLayers[id].group))""")
    assert set(on_map) == {x["id"] for x in mine if x.get("default_on", True)}
    # legend: only the plan's layers, and of those only the ones on the map (issue 18)
    page.wait_for_timeout(200)  # the legend follows layer changes after a short debounce
    legend = page.locator("#pm-legend li[data-plan]:visible")
    assert [legend.nth(i).get_attribute("data-layer") for i in range(legend.count())] == \
        [x["id"] for x in mine if x["id"] in on_map]
    assert page.watch.errors == []
