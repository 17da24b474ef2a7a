"""The map a planner reads (issue 16 item 3) in a real browser: the first view fits the city,
the layer tree and legend fold, no control covers a clicked popup, a phone can click and read
a result, the offline basemap draws with no foreign request, swipe/compare, and the print
button's PDF (legend, scale, north arrow, data version, accuracy note).

Uses the server and browser of ``test_map_browser``; screenshots and the PDFs go to
``artifacts/screenshots/``.
"""

from __future__ import annotations

import io
import re
import subprocess
from contextlib import contextmanager

import pytest

from tests.browser.test_map_browser import (  # noqa: F401  (fixtures used by name)
    SHOTS,
    Watch,
    browser,
    open_map,
    screen_xy,
    server,
)
from tests.external import need_program

pytestmark = pytest.mark.external

DESKTOP, WIDE, PHONE = (1280, 720), (1920, 1080), (390, 844)
XIANGHAI_CORE = (122.350, 45.033)  # the 向海 core of issue 16
BAICHENG = (122.839, 45.620)

CONTROL_RECTS = """() => Array.from(document.querySelectorAll(
    '.leaflet-control, #pm-legend, .pm-top')).filter(e => e.offsetParent !== null)
    .map(e => { const r = e.getBoundingClientRect();
        return {cls: e.className || e.id, l: r.left, t: r.top, r: r.right, b: r.bottom}; })
    .filter(r => r.r > r.l && r.b > r.t)"""


@contextmanager
def viewport_page(browser, size, name):  # noqa: F811
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.watch = Watch(page)
    try:
        yield page
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))
        context.close()


def _overlap(a, b):
    return a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]


def city_rect(page):
    """The city's bounding box on screen (from the admin layer's bounds the page fits)."""
    return page.evaluate("""() => {
        const m = window.planmapMap, b = window.planmapConfig.bounds;
        const r = m.getContainer().getBoundingClientRect();
        const sw = m.latLngToContainerPoint(b[0]), ne = m.latLngToContainerPoint(b[1]);
        return {l: sw.x + r.left, r: ne.x + r.left, t: ne.y + r.top, b: sw.y + r.top,
                ml: r.left, mr: r.right, mt: r.top, mb: r.bottom};
    }""")


# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [DESKTOP, WIDE, PHONE], ids=["1280x720", "1920x1080", "390x844"])
def test_first_view_fits_the_city_clear_of_every_control(browser, server, size):  # noqa: F811
    with viewport_page(browser, size, f"layout_first_view_{size[0]}") as page:
        open_map(page, server)
        city = city_rect(page)
        # the whole city is on the map...
        assert city["l"] >= city["ml"] and city["r"] <= city["mr"], city
        assert city["t"] >= city["mt"] and city["b"] <= city["mb"], city
        # ...and no control lies over its bounding box
        for rect in page.evaluate(CONTROL_RECTS):
            assert not _overlap(city, rect), (rect, city)
        # not a postage stamp: the city takes a good part of the map's shorter side
        side = min(city["mr"] - city["ml"], city["mb"] - city["mt"])
        assert max(city["r"] - city["l"], city["b"] - city["t"]) > 0.45 * side
        assert page.watch.errors == []


def test_layer_tree_and_legend_fold_and_start_folded_on_a_phone(browser, server):  # noqa: F811
    with viewport_page(browser, PHONE, "layout_phone_folded") as page:
        open_map(page, server)
        assert page.locator(".leaflet-control-layers-list").is_hidden()
        assert page.evaluate("document.getElementById('pm-legend').open") is False
        page.click(".pm-tree-toggle")
        assert page.locator(".leaflet-control-layers-list").is_visible()
        page.click(".pm-tree-toggle")
        assert page.locator(".leaflet-control-layers-list").is_hidden()
    with viewport_page(browser, WIDE, "layout_wide_open") as page:
        open_map(page, server)
        assert page.locator(".leaflet-control-layers-list").is_visible()
        assert page.locator("#pm-legend li[data-layer]:visible").count() > 3
        page.click(".pm-tree-toggle")
        assert page.locator(".leaflet-control-layers-list").is_hidden()
        page.click("#pm-legend > summary")
        assert page.locator("#pm-legend li[data-layer]:visible").count() == 0


def _point_feature(page, layer_order=("tourism", "parks", "urban", "water_projects")):
    """Lat/lng of a drawn point feature (a circle marker: clicking it opens its popup)."""
    return page.evaluate("""(order) => {
        for (const id of order) {
            const reg = window.planmapLayers[id];
            if (!reg || !window.planmapMap.hasLayer(reg.group)) continue;
            let found = null;
            reg.geojson.eachLayer(l => { if (!found && l instanceof L.CircleMarker) found = l; });
            if (found) { const ll = found.getLatLng(); return [ll.lng, ll.lat]; }
        }
        return null; }""", list(layer_order))


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280x720", "390x844"])
def test_no_control_covers_the_clicked_popup(browser, server, size):  # noqa: F811
    with viewport_page(browser, size, f"layout_popup_{size[0]}") as page:
        open_map(page, server)
        # the hardest case: tree and legend open, the feature right beside the tree
        if page.locator(".leaflet-control-layers-list").is_hidden():
            page.click(".pm-tree-toggle")
        page.evaluate("document.getElementById('pm-legend').open = true")
        lonlat = _point_feature(page)
        assert lonlat, "no point feature on the map"
        tree = page.locator(".leaflet-control-layers").bounding_box()
        # put the feature just left of the tree, level with its middle
        page.evaluate("""([lon, lat, x, y]) => {
            const m = window.planmapMap; m.setView([lat, lon], 11, {animate: false});
            const r = m.getContainer().getBoundingClientRect();
            const p = m.latLngToContainerPoint([lat, lon]);
            m.panBy([p.x - (x - r.left), p.y - (y - r.top)], {animate: false}); }""",
                      [*lonlat, max(30, tree["x"] - 25), tree["y"] + min(tree["height"] / 2, 150)])
        page.mouse.click(*screen_xy(page, *lonlat))
        page.wait_for_selector(".leaflet-popup .pm-pop-name", timeout=5000)
        page.wait_for_timeout(600)  # autoPan and the folding run after the popup opens
        box = page.locator(".leaflet-popup-content-wrapper").bounding_box()
        pop = {"l": box["x"], "t": box["y"], "r": box["x"] + box["width"],
               "b": box["y"] + box["height"]}
        covering = [r for r in page.evaluate(CONTROL_RECTS) if _overlap(pop, r)]
        assert covering == [], (pop, covering)
        # the popup is on screen and readable
        assert pop["l"] >= 0 and pop["r"] <= size[0] and pop["t"] >= 0 and pop["b"] <= size[1]
        assert page.locator(".leaflet-popup .pm-pop-name").is_visible()


def test_a_phone_can_click_and_read_a_result(browser, server):  # noqa: F811
    with viewport_page(browser, PHONE, "layout_phone_result") as page:
        open_map(page, server)
        page.mouse.click(*screen_xy(page, *BAICHENG, zoom=10))
        page.wait_for_selector("#pm-panel .pm-zones", timeout=45000)
        panel = page.locator("#pm-panel").bounding_box()
        # the answer is a full-width sheet inside the screen, below the map
        assert panel["width"] >= PHONE[0] - 2
        assert panel["y"] >= 0 and panel["y"] + panel["height"] <= PHONE[1] + 1
        zones = page.locator("#pm-panel .pm-zones")
        zones.scroll_into_view_if_needed()
        zbox = zones.bounding_box()
        assert 0 <= zbox["y"] < PHONE[1] and zbox["x"] >= 0
        assert "洮北区" in zones.inner_text()
        # nothing runs off the side of the phone
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
        assert page.watch.errors == []


def test_offline_basemap_draws_with_zero_foreign_requests(browser, server):  # noqa: F811
    from PIL import Image

    with viewport_page(browser, DESKTOP, "layout_basemap") as page:
        open_map(page, server)
        page.wait_for_load_state("networkidle")
        foreign = [u for u in page.watch.requests
                   if not u.startswith(server["base"] + "/") and not u.startswith("data:")]
        assert foreign == []
        tiles = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.leaflet-tile-pane img.leaflet-tile-loaded')).map(
            i => [i.src, i.naturalWidth])""")
        assert len(tiles) >= 6
        assert all(src.startswith(server["base"] + "/basemap/") and w == 256
                   for src, w in tiles), tiles[:3]
        # a tile under the city is a drawing, not a blank square
        middle = page.evaluate("""() => { const m = window.planmapMap, c = m.getCenter();
            const z = m.getZoom(), n = Math.pow(2, z);
            const x = Math.floor((c.lng + 180) / 360 * n);
            const r = c.lat * Math.PI / 180;
            const y = Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n);
            return '/basemap/' + z + '/' + x + '/' + y + '.png'; }""")
        png = page.request.get(server["base"] + middle).body()
        assert len(Image.open(io.BytesIO(png)).convert("RGB").getcolors(100_000)) > 20
        assert page.watch.errors == []


def test_swipe_compares_two_layers_side_by_side(browser, server):  # noqa: F811
    with viewport_page(browser, DESKTOP, "layout_swipe") as page:
        open_map(page, server)
        page.click(".pm-swipe-button")
        page.wait_for_selector("html[data-planmap-swipe]", state="attached")
        page.select_option(".pm-swipe-box select[data-side=left]", "ecology")
        page.select_option(".pm-swipe-box select[data-side=right]", "agriculture")
        state = page.evaluate("window.planmapSwipe.state()")
        assert (state["left"], state["right"]) == ("ecology", "agriculture")
        x, y = screen_xy(page, *XIANGHAI_CORE, zoom=10)  # inside the 向海 core polygon
        handle = page.locator(".pm-swipe-handle").bounding_box()
        hit_left = """([x, y]) => !!document.elementFromPoint(x, y)
            .closest('.leaflet-pmSwipeLeft-pane')"""
        # drag the divider right of the core: the left layer (ecology) shows there
        page.mouse.move(handle["x"] + 15, handle["y"] + 15)
        page.mouse.down()
        page.mouse.move(x + 120, handle["y"] + 15, steps=5)
        page.mouse.up()
        assert page.evaluate(hit_left, [x, y]) is True
        page.screenshot(path=str(SHOTS / "layout_swipe_right_of_core.png"))
        # drag it left of the core: the ecology layer is clipped away there
        page.mouse.move(x + 120, handle["y"] + 15)
        page.mouse.down()
        page.mouse.move(x - 120, handle["y"] + 15, steps=5)
        page.mouse.up()
        assert page.evaluate(hit_left, [x, y]) is False
        divider = page.locator(".pm-swipe-divider").bounding_box()
        assert abs(divider["x"] - (x - 120)) < 6
        page.click(".pm-swipe-off")
        assert page.locator(".leaflet-pmSwipeLeft-pane path").count() == 0
        assert page.evaluate("window.planmapMap.hasLayer(window.planmapLayers.ecology.group)")
        assert page.watch.errors == []


PAPER_PT = {"a4": (842, 595), "a3": (1191, 842)}  # landscape, PDF points


@pytest.mark.parametrize("paper", ["a4", "a3"])
def test_print_button_gives_a_pdf_with_legend_scale_and_notes(browser, server, paper):  # noqa: F811
    pdftotext = need_program("pdftotext")
    pdfinfo = need_program("pdfinfo")
    pdftoppm = need_program("pdftoppm")
    with viewport_page(browser, DESKTOP, f"layout_print_{paper}") as page:
        open_map(page, server)
        # (a function expression given to evaluate would itself be called: wrap the stub)
        page.evaluate("""() => { window.__printed = 0;
            window.print = () => { window.__printed += 1; }; }""")
        page.click(".pm-print-button")
        page.click(f".pm-print-menu button[data-paper={paper}]")
        page.wait_for_selector(f"html[data-planmap-print-ready={paper}]", state="attached",
                               timeout=10000)
        assert page.evaluate("window.__printed") == 1
        page.wait_for_load_state("networkidle")
        shown = page.evaluate("""() => Object.keys(window.planmapLayers).filter(
            id => window.planmapMap.hasLayer(window.planmapLayers[id].group))
            .map(id => window.planmapConfig.layers[id].title)""")
        version = page.locator("#pm-legend .pm-version").inner_text().split(":", 1)[1].strip()
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"map_print_{paper}.pdf"
    path.write_bytes(pdf)
    info = subprocess.run([pdfinfo, str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    w, h = (float(v) for v in info.split("Page size:")[1].split("pts")[0].split("x"))
    assert (round(w), round(h)) == PAPER_PT[paper], info
    text = subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    compact = "".join(text.split())
    for needle in ["白城市国土空间规划图", "图例", "比例尺约1:", "精度说明", "北", version]:
        assert needle.replace(" ", "") in compact, needle
    for title in shown:  # the legend lists every layer on the map
        assert "".join(title.split()) in compact, title
    assert " km" in text or " m" in text  # Leaflet's scale bar
    subprocess.run([pdftoppm, "-png", "-r", "50", "-singlefile", str(path),
                    str(SHOTS / f"map_print_{paper}")], check=True)
    assert (SHOTS / f"map_print_{paper}.png").stat().st_size > 20_000
