"""Screenshots of the map tools (issue 18): ``python -m tests.browser.screenshots_tools``.

Starts the app on 127.0.0.1 with the built-in data, drives Debian's chromium (playwright)
through each tool and writes ``docs/screenshots/tools_*.png`` (regenerate after UI changes).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    from planmap.server import create_app
    from playwright.sync_api import sync_playwright
    from pyproj import Transformer
    from waitress.server import create_server

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("chromium not found", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="planmap-shots-")
    app = create_app({"DB_PATH": str(Path(tmp) / "checks.sqlite3")})
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=srv.run, daemon=True).start()
    base = f"http://127.0.0.1:{srv.effective_port}"
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4550", always_xy=True)

    def shot(page, name):
        page.wait_for_timeout(400)
        page.screenshot(path=str(OUT / f"tools_{name}.png"))
        print("wrote", OUT / f"tools_{name}.png")

    def open_map(page, query=""):
        page.goto(base + "/" + query)
        page.wait_for_selector("html[data-planmap-tools]", state="attached", timeout=30000)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        # labels + coordinate readout at town scale
        open_map(page)
        page.evaluate("window.planmapMap.setView([45.62, 122.84], 11, {animate: false})")
        page.mouse.move(500, 450)
        shot(page, "labels_coordinates")
        # search: synonyms and the capped note
        page.fill("#pm-search", "开发区")
        page.wait_for_selector("#pm-search-foot")
        shot(page, "search_synonym")
        page.fill("#pm-search", "洮")
        page.wait_for_selector("#pm-search-foot.pm-capped, #pm-search-foot")
        shot(page, "search_capped")
        page.fill("#pm-search", "")
        # attribute table
        page.click("#pm-table-btn")
        page.select_option("#pm-table-layer", "parks")
        page.fill("#pm-table-filter", "经开区")
        shot(page, "attribute_table")
        page.click("#pm-table .pm-btn >> text=关闭")
        # download / services menu
        page.click("#pm-downloads-btn")
        shot(page, "downloads_menu")
        page.click("#pm-downloads-btn")
        # 界址点 pasted in GK → parcel
        pts = [(122.80, 45.60), (122.88, 45.60), (122.88, 45.65), (122.80, 45.65)]
        lines = []
        for i, (lon, lat) in enumerate(pts, 1):
            e, n = to_gk.transform(lon, lat)
            lines.append(f"J{i},{n:.3f},{e:.3f}")
        page.click("#pm-goto-btn")
        page.fill("#pm-goto-input", "\n".join(lines))
        page.click("#pm-goto-go")
        shot(page, "goto_boundary_points")
        page.click("#pm-goto-check")
        page.wait_for_selector("#pm-verdict", timeout=120000)
        shot(page, "goto_parcel_checked")
        # citation side view
        page.fill("#pm-search", "洮北区")
        page.wait_for_selector("#pm-search-foot")
        page.locator("#pm-search-results li").first.dispatch_event("mousedown")
        page.wait_for_selector(".leaflet-popup .pm-cite a")
        page.locator(".leaflet-popup .pm-cite a").first.click()
        page.wait_for_selector("#pm-cite-view:not([hidden])")
        page.wait_for_timeout(800)
        shot(page, "citation_side_view")
        # /conflicts, English map
        page.goto(base + "/conflicts")
        shot(page, "conflicts_page")
        open_map(page, "?lang=en")
        page.evaluate("window.planmapMap.setView([45.62, 122.84], 10, {animate: false})")
        page.click("#pm-downloads-btn")
        shot(page, "english_downloads")
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        page = phone
        open_map(page)
        page.click("#pm-goto-btn")
        shot(page, "phone_goto")
        browser.close()
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
