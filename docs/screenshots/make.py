"""Regenerate the screenshots in docs/screenshots/ (issue 16).

The map, a click result, a phone, a site-check report and the printed map sheet.

    python docs/screenshots/make.py

Needs chromium (Debian package) and poppler-utils (pdftoppm); serves the built-in data on
127.0.0.1 only, with planmap's offline basemap, so the pictures need no network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
XIANGHAI_CORE = (122.350, 45.033)  # the 向海 core point of issue 16
SITE = [(122.80, 45.60), (122.88, 45.60), (122.88, 45.65), (122.80, 45.65), (122.80, 45.60)]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _serve(tmp: Path):
    from planmap.server import create_app
    from waitress.server import create_server

    app = create_app({"DB_PATH": str(tmp / "checks.sqlite3"), "WORKERS": 0})
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=srv.run, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.effective_port}"


def _tiles_drawn(page):
    """Every basemap tile on screen has arrived (rendered on first request: may take a while)."""
    page.wait_for_function("""() => document.querySelectorAll('.leaflet-tile-pane img').length
        && !document.querySelector('.leaflet-tile-pane img:not(.leaflet-tile-loaded)')""",
                           timeout=180000)
    page.wait_for_timeout(300)


def _ready(page, url):
    page.goto(url)
    page.wait_for_selector("html[data-planmap-ready]", state="attached", timeout=60000)
    _tiles_drawn(page)


def _click(page, lon, lat, zoom):
    x, y = page.evaluate("""([lon, lat, zoom]) => { const m = window.planmapMap;
        m.setView([lat, lon], zoom, {animate: false});
        const p = m.latLngToContainerPoint([lat, lon]);
        const r = m.getContainer().getBoundingClientRect();
        return [p.x + r.left, p.y + r.top]; }""", [lon, lat, zoom])
    page.mouse.click(x, y)
    page.mouse.move(1, 1)  # off the feature: its hover tooltip goes, the popup stays
    page.wait_for_selector("#pm-panel .pm-zones", timeout=60000)
    _tiles_drawn(page)


def main() -> int:
    """Write the PNGs; 1 when chromium or pdftoppm is missing."""
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    pdftoppm = shutil.which("pdftoppm")
    if not chromium or not pdftoppm:
        print("needs chromium and pdftoppm (poppler-utils)", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        srv, base = _serve(tmp)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                _ready(page, base + "/")
                page.screenshot(path=str(OUT / "map.png"))
                _click(page, *XIANGHAI_CORE, zoom=10)
                page.screenshot(path=str(OUT / "click_result.png"))
                # the printed sheet (A4 landscape), as the print button lays it out
                _ready(page, base + "/")
                page.evaluate("() => { window.print = () => {}; }")
                page.click(".pm-print-button")
                page.click(".pm-print-menu button[data-paper=a4]")
                page.wait_for_selector("html[data-planmap-print-ready]", state="attached")
                _tiles_drawn(page)
                pdf = tmp / "map_a4.pdf"
                pdf.write_bytes(page.pdf(prefer_css_page_size=True, print_background=True))
                subprocess.run([pdftoppm, "-png", "-r", "80", "-singlefile", str(pdf),
                                str(OUT / "print_a4")], check=True)
                # a site-check report
                response = page.request.post(base + "/api/v1/sitecheck", data={
                    "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in SITE]]}})
                report = response.json()["report_url"]
                page.set_viewport_size({"width": 1000, "height": 1300})
                page.goto(base + report)
                page.wait_for_selector("svg.pm-report-svg", timeout=60000)
                page.screenshot(path=str(OUT / "report.png"))
                # a phone: click, read the answer under the map
                phone = browser.new_page(viewport={"width": 390, "height": 844})
                _ready(phone, base + "/")
                _click(phone, 122.839, 45.620, zoom=10)
                phone.screenshot(path=str(OUT / "phone_result.png"))
                browser.close()
        finally:
            srv.close()
    for name in sorted(OUT.glob("*.png")):
        print(name.relative_to(ROOT), name.stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
