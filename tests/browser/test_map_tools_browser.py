"""The everyday map tools (static/planmap-tools.js, issue 18) in real chromium.

Shares the server, browser and page fixtures of test_map_browser (one waitress server on
127.0.0.1 with the built-in data; a screenshot per test in artifacts/screenshots/).
"""

from __future__ import annotations

import csv
import io

import pytest
from pyproj import Transformer

from tests.browser import test_map_browser as base

# the same waitress server, chromium and per-test page (with its screenshot) as the map tests
server, browser, page = base.server, base.browser, base.page
open_map, screen_xy, wait_js = base.open_map, base.screen_xy, base.wait_js

pytestmark = pytest.mark.external


def popup_name(page):
    return page.evaluate("() => { const n = document.querySelector('.leaflet-popup .pm-pop-name');"
                         " return n && n.textContent; }")


def ready(page, server, query=""):
    open_map(page, server, query)
    page.wait_for_selector("html[data-planmap-tools]", state="attached", timeout=45000)


def view(page):
    return page.evaluate("""() => { const m = window.planmapMap, c = m.getCenter();
        return {zoom: m.getZoom(), lat: c.lat, lon: c.lng,
                on: Object.keys(window.planmapLayers).filter(
                    id => m.hasLayer(window.planmapLayers[id].group)).sort()}; }""")


def search_and_pick(page, query, name):
    page.fill("#pm-search", query)
    page.wait_for_selector("#pm-search-foot")
    page.locator("#pm-search-results li", has_text=name).first.dispatch_event("mousedown")
    page.wait_for_selector(".leaflet-popup .pm-pop-name")


def test_permalink_restores_view_layers_and_selection_in_a_new_page(page, server, browser):
    ready(page, server)
    search_and_pick(page, "白城经开区", "白城经开区")
    # hide 交通 through the map itself: the layer tree may start folded (issue 16) and what is
    # tested here is the permalink, not the tree
    page.evaluate("window.planmapMap.removeLayer(window.planmapLayers.transport.group)")
    wait_js(page, "() => !location.hash.includes('transport')")
    page.evaluate("window.planmapMap.setZoom(12, {animate: false})")
    wait_js(page, "() => location.hash.includes('map=12/')")
    before, url = view(page), page.url
    assert "f=park_baicheng_edz" in url or "f=" in url
    assert "transport" not in before["on"]
    other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    try:
        other.goto(url)
        other.wait_for_selector("html[data-planmap-tools]", state="attached", timeout=45000)
        after = view(other)
        assert after["zoom"] == before["zoom"] and after["on"] == before["on"]
        assert abs(after["lat"] - before["lat"]) < 1e-4 and abs(after["lon"] - before["lon"]) < 1e-4
        assert other.locator(".leaflet-popup .pm-pop-name").inner_text() == "白城经开区"
    finally:
        other.context.close()


def test_citation_opens_beside_the_map_and_back_restores_after_following_it(page, server):
    ready(page, server)
    search_and_pick(page, "洮北区", "洮北区")
    link = page.locator(".leaflet-popup .pm-cite a").first
    href = link.get_attribute("href")
    link.click()
    # a side view: the map page is still here, the plan text is beside it at the cited line
    page.wait_for_selector("#pm-cite-view:not([hidden])")
    assert page.url.split("#")[0].endswith("/")
    frame = page.frame_locator("#pm-cite-frame")
    line = href.rsplit("#L", 1)[1]
    assert "pm-hl" in (frame.locator(f"#L{line}").get_attribute("class") or "")
    assert page.locator("#pm-cite-open").get_attribute("target") == "_blank"
    # following the plan in this tab and coming Back restores the view and the selection
    before = view(page)
    page.goto(server["base"] + href)
    page.go_back()
    page.wait_for_selector("html[data-planmap-tools]", state="attached", timeout=45000)
    page.wait_for_selector(".leaflet-popup .pm-pop-name")
    after = view(page)
    assert after["zoom"] == before["zoom"] and after["on"] == before["on"]
    assert abs(after["lat"] - before["lat"]) < 1e-4
    assert page.locator(".leaflet-popup .pm-pop-name").inner_text() == "洮北区"


def test_back_and_forward_step_through_selections(page, server):
    ready(page, server)
    search_and_pick(page, "白城经开区", "白城经开区")
    search_and_pick(page, "洮南经开区", "洮南经开区")
    page.go_back()
    wait_js(page, "() => (document.querySelector('.leaflet-popup .pm-pop-name') || {})"
                  ".textContent === '白城经开区'")
    page.go_forward()
    wait_js(page, "() => (document.querySelector('.leaflet-popup .pm-pop-name') || {})"
                  ".textContent === '洮南经开区'")


def test_coordinate_readout_shows_gauss_krueger_as_pyproj_computes_it(page, server):
    ready(page, server)
    lon, lat = 122.839, 45.620
    x, y = screen_xy(page, lon, lat, 12)
    page.mouse.move(x, y)
    text = page.inner_text("#pm-coords")
    shown_lon, shown_lat = (float(v) for v in text.split("WGS 84 ")[1].split(" ·")[0].split(", "))
    assert abs(shown_lon - lon) < 1e-3 and abs(shown_lat - lat) < 1e-3
    gx = float(text.split(" X ")[1].split(" Y ")[0])
    gy = float(text.split(" Y ")[1])
    e, n = Transformer.from_crs("EPSG:4326", "EPSG:4550", always_xy=True).transform(
        shown_lon, shown_lat)
    assert abs(gx - n) < 0.5 and abs(gy - e) < 0.5  # display rounding of the shown lon/lat
    # the projection itself, both ways, over Baicheng, against pyproj: under a centimetre
    pts = [(121.7 + 0.4 * i, 44.3 + 0.4 * j) for i in range(7) for j in range(5)]
    fwd = Transformer.from_crs("EPSG:4326", "EPSG:4550", always_xy=True)
    js = page.evaluate("pts => pts.map(p => window.planmapGK.forward(p[0], p[1]))", pts)
    for (plon, plat), (je, jn) in zip(pts, js, strict=True):
        pe, pn = fwd.transform(plon, plat)
        assert abs(je - pe) < 0.01 and abs(jn - pn) < 0.01, (plon, plat)
    back = page.evaluate("xy => xy.map(p => window.planmapGK.inverse(p[0], p[1]))", js)
    for (plon, plat), (blon, blat) in zip(pts, back, strict=True):
        assert abs(blon - plon) < 1e-8 and abs(blat - plat) < 1e-8


def test_pasted_boundary_points_in_gk_draw_the_parcel_and_check_it(page, server):
    ready(page, server)
    fwd = Transformer.from_crs("EPSG:4326", "EPSG:4550", always_xy=True)
    corners = [(122.80, 45.60), (122.88, 45.60), (122.88, 45.65), (122.80, 45.65)]
    lines = []
    for i, (lon, lat) in enumerate(corners, 1):
        e, n = fwd.transform(lon, lat)
        lines.append(f"J{i},{n:.3f},{e:.3f}")  # 界址点: point name, X (north), Y (east)
    page.click("#pm-goto-btn")
    page.fill("#pm-goto-input", "\n".join(lines))
    page.click("#pm-goto-go")
    assert "EPSG:4550" in page.inner_text("#pm-goto-out")
    drawn = page.evaluate("""() => { const out = [];
        window.planmapHooks.marks().eachLayer(l => { if (l.getLatLngs) out.push(
            l.getLatLngs()[0].map(p => [p.lng, p.lat])); }); return out; }""")
    assert len(drawn) == 1 and len(drawn[0]) == 4
    for (jlon, jlat), (lon, lat) in zip(drawn[0], corners, strict=True):
        assert abs(jlon - lon) < 1e-6 and abs(jlat - lat) < 1e-6
    page.click("#pm-goto-check")
    # a site check runs in a worker process; on a loaded CI machine it may queue
    page.wait_for_selector("#pm-verdict", timeout=90000)
    wait_js(page, "() => location.hash.includes('s=')")


def test_attribute_table_filters_and_downloads_csv(page, server):
    ready(page, server)
    page.click("#pm-table-btn")
    page.select_option("#pm-table-layer", "parks")
    data = server["app"].extensions["planmap"].data
    parks = data.layers["parks"]
    assert page.locator("#pm-table tbody tr").count() == len(parks)
    page.fill("#pm-table-filter", "经开区")
    want = sorted(n for n in parks["name_zh"] if "经开区" in n)
    rows = page.locator("#pm-table tbody tr")
    assert rows.count() == len(want) > 0
    assert f"{len(want)} / {len(parks)}" in page.inner_text("#pm-table-count")
    with page.expect_download() as dl:
        page.click("#pm-table-csv")
    body = open(dl.value.path(), encoding="utf-8-sig").read()
    table = list(csv.DictReader(io.StringIO(body)))
    assert sorted(r["name_zh"] for r in table) == want
    assert dl.value.suggested_filename == "parks-filtered.csv"
    # the kind column shows the kind's label (server/i18n.py KIND_LABELS), never the code
    from planmap.server.i18n import kind_label

    codes = set(parks.loc[parks["name_zh"].isin(want), "kind"])
    assert sorted({r["kind"] for r in table}) == sorted({kind_label("zh", k) for k in codes})
    assert not {r["kind"] for r in table} & codes


def test_download_menu_links_exports_and_the_servers_ogc_url(page, server):
    ready(page, server)
    page.click("#pm-downloads-btn")
    assert page.input_value("#pm-ogc-url") == server["base"] + "/ogc"
    assert page.request.get(server["base"] + "/ogc").ok
    page.select_option("#pm-dl-layer", "parks")
    page.select_option("#pm-dl-format", "gpkg")
    page.select_option("#pm-dl-crs", "EPSG:4550")
    href = page.get_attribute("#pm-dl-link", "href")
    assert href == "/export/parks.gpkg?crs=EPSG%3A4550"
    got = page.request.get(server["base"] + href)
    assert got.ok and got.body()[:16] == b"SQLite format 3\x00"
    assert page.get_attribute("#pm-conflicts-link", "href") == "/conflicts"


def test_search_says_when_results_are_capped_and_reads_coordinates(page, server):
    ready(page, server)
    page.fill("#pm-search", "洮")
    page.wait_for_selector("#pm-search-foot")
    total = page.request.get(server["base"] + "/api/v1/search?q=洮&plan=000").json()["total"]
    foot = page.inner_text("#pm-search-foot")
    assert str(total) in foot and ("显示前 20 条" in foot if total > 20 else True)
    page.fill("#pm-search", "45.62, 122.839")
    page.wait_for_selector(".pm-search-coord")
    page.locator(".pm-search-coord").dispatch_event("mousedown")
    page.wait_for_selector(".pm-panel .pm-muted:has-text('122.839')")


def test_legend_follows_layer_visibility_and_labels_appear_when_zoomed_in(page, server):
    ready(page, server)
    legend = "#pm-legend li[data-layer='transport']"
    assert page.locator(legend).is_visible()
    box = page.locator(".leaflet-control-layers-overlays label:visible", has_text="交通").locator(
        "input")
    box.evaluate("el => el.click()")  # the unfolded tree may lie under a map feature's path
    assert not box.is_checked()
    wait_js(page, "sel => !document.querySelector(sel).offsetParent", legend)
    page.locator(".leaflet-control-layers-overlays label:visible", has_text="交通").locator(
        "input").check()
    wait_js(page, "sel => !!document.querySelector(sel).offsetParent", legend)
    screen_xy(page, 122.839, 45.620, 10)
    page.wait_for_selector(".pm-label-text", state="attached")
    assert "洮北区" in page.locator(".pm-label-text").all_inner_texts()
