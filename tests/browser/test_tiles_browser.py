"""A bureau-scale layer in a real browser (issue 12): 100,000 synthetic parcels inside
Baicheng, drawn from vector tiles at z12; a click on a parcel shows its 地类 and accuracy;
no request leaves the host.  The screenshot goes to ``artifacts/screenshots/``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench.synth_parcels import catalog_entry, parcels
from tests.browser import test_map_browser as base

pytestmark = pytest.mark.external
browser = base.browser  # the shared chromium fixture
serve_app = base.serve_app

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
N_PARCELS = 100_000
LAYER = "parcels"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from planmap.server import create_app, tiles

    root = tmp_path_factory.mktemp("tiles_browser")
    app = create_app({"DB_PATH": str(root / "checks.sqlite3"), "WORKERS": 0})
    data = app.extensions["planmap"].data
    gdf = parcels(N_PARCELS, seed=12)
    data.layers[LAYER] = gdf
    data.catalog.append(catalog_entry(LAYER))
    with app.app_context():  # build the layer's tile index before the page asks for tiles
        tiles.state().source.index(LAYER)
    yield from serve_app(app, gdf=gdf)




def test_large_layer_is_drawn_from_tiles_and_a_click_shows_its_land_class(browser, server):
    gdf = server["gdf"]
    target = gdf.iloc[N_PARCELS // 2 + 137]  # a parcel in the middle of the layer
    spot = target.geometry.representative_point()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(server["base"] + "/")
        page.wait_for_selector("html[data-planmap-ready]", state="attached", timeout=45000)
        page.evaluate("([lat, lon]) => window.planmapMap.setView([lat, lon], 12, {animate: false})",
                      [spot.y, spot.x])
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.planmapMap.getZoom()") == 12
        tile_urls = [u for u in requests if f"/tiles/{LAYER}/12/" in u]
        assert len(tile_urls) >= 4, tile_urls
        # the parcels are SVG paths inside the tile layer's own pane
        deadline = time.time() + 20
        while time.time() < deadline:
            drawn = page.locator(".leaflet-planmapTiles-pane svg path").count()
            if drawn > 1000:
                break
            page.wait_for_timeout(250)
        assert drawn > 1000, drawn
        # the script the page loaded carries no parcel: it stays small
        script = next(u for u in requests if "/map/zh.js" in u)
        body = page.request.get(script, headers={"Accept-Encoding": "gzip"}).body()
        assert target["id"] not in body.decode("utf-8")

        xy = page.evaluate("""([lat, lon]) => {
            const m = window.planmapMap, p = m.latLngToContainerPoint([lat, lon]);
            const r = m.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top]; }""", [spot.y, spot.x])
        page.mouse.click(*xy)
        popup = page.locator(".leaflet-popup .pm-tile-pop")
        popup.wait_for(timeout=10000)
        text = popup.inner_text()
        assert target["name_zh"] in text
        assert "地类" in text and target["地类"] in text
        assert "精度" in text and "示意" in text  # accuracy, schematic flagged
        assert popup.locator(".pm-badge.pm-acc-schematic").count() == 1
        href = popup.locator(".pm-cite a").get_attribute("href")
        assert href.startswith(f"/plan/{target['citation']['seed']}")
        foreign = [u for u in requests
                   if not u.startswith(server["base"] + "/") and not u.startswith("data:")]
        assert foreign == []
        assert errors == []
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "tiles_100k_parcels_z12.png"))
        context.close()
