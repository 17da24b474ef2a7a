"""The 选址分析报告 walk in a real browser (issue 18): upload, pickers, the PDF.

Upload a two-parcel 国土 TXT with a project name, applicant and project type → the panel
shows the CRS used, the verdict basis and the project type's verdict → the report PDF
(fetched like the panel's link, text extracted with pdftotext) has two parcel rows, the
界址点 table, Beijing time and the plan's title.  An AMap (GCJ-02) file read as WGS 84
gets a warning; choosing GCJ-02 from it changes the result.  Screenshots of the panel and
the PDF pages (pdftoppm) go to ``artifacts/screenshots/``; ``docs/screenshots/make_report.sh``
copies them into ``docs/screenshots/``.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from tests.browser import test_map_browser as base
from tests.external import need_program

pytestmark = pytest.mark.external
browser = base.browser  # the shared chromium fixture
serve_app, wait_js = base.serve_app, base.wait_js

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
SITES = ROOT / "tests" / "data" / "sites"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from planmap.server import create_app

    root = tmp_path_factory.mktemp("report_browser")
    # WORKERS=0: this walk is about the page; the worker path is tested in tests/server
    # (on the shared machine a pool's workers were killed with SIGTERM mid-test, main too)
    app = create_app({"DB_PATH": str(root / "checks.sqlite3"), "WORKERS": 0})
    yield from serve_app(app)




@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.js_errors = errors
    yield pg
    context.close()


def open_map(page, server):
    page.goto(server["base"] + "/")
    page.wait_for_selector("html[data-planmap-ready]", state="attached", timeout=45000)
    page.wait_for_selector("#pm-case-type option[value=wind_solar]", state="attached",
                           timeout=10000)


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(data)
    return subprocess.run([need_program("pdftotext"), "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def _pdf_pages_png(data: bytes, tmp_path: Path, stem: str, last: int = 0) -> list[Path]:
    pdf = tmp_path / f"{stem}.pdf"
    pdf.write_bytes(data)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob(f"{stem}-*.png"):
        old.unlink()
    pages = ["-l", str(last)] if last else []
    subprocess.run([need_program("pdftoppm"), "-r", "70", "-png", *pages, str(pdf),
                    str(SHOTS / stem)], check=True)
    return sorted(SHOTS.glob(f"{stem}-*.png"))


def test_two_parcel_upload_project_type_and_the_pdf(page, server, tmp_path):
    open_map(page, server)
    page.fill("#pm-case-name-input", "洮北风光储一体化项目")
    page.fill("#pm-case-applicant-input", "白城某新能源有限公司")
    page.select_option("#pm-case-type", "wind_solar")
    page.set_input_files("#pm-upload", str(SITES / "two_parcels.txt"))
    page.wait_for_selector("#pm-case-result", timeout=20000)
    used = page.locator("#pm-case-crs-used").inner_text()
    assert "EPSG:4529" in used and "文件中注明" in used  # the CRS the file names, said so
    assert page.locator("#pm-case-basis-line").inner_text().startswith("结论依据")
    verdict = page.locator("#pm-case-type-verdict").inner_text()
    assert "风电/光伏" in verdict
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#pm-panel").screenshot(path=str(SHOTS / "report_panel_two_parcels.png"))

    href = page.locator("#pm-report-pdf").get_attribute("href")
    assert href.startswith("/report/") and href.endswith(".pdf")
    response = page.request.get(server["base"] + href)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    pdf = response.body()
    text = _pdf_text(pdf, tmp_path)
    check = page.request.get(server["base"] + "/api/v1/sitecheck/"
                             + href.split("/")[2][:-len(".pdf")]).json()
    lines = text.splitlines()
    rows = check["parcels"]["parcels"]
    assert [r["name"] for r in rows] == ["测试地块", "第二地块"]
    for row in rows:  # one row per parcel, with its own area
        assert any(row["name"] in ln and f"{row['area_m2']:,.2f}" in ln for ln in lines)
    assert "界址点坐标表" in text and "四至" in text
    j2 = rows[1]["rings"][0]["points"][1]
    assert f"{j2[4]:.3f}" in text and f"{j2[3]:.3f}" in text
    beijing = dt.datetime.fromtimestamp(check["created"], dt.timezone(dt.timedelta(hours=8)))
    assert beijing.strftime("%Y-%m-%d %H:%M") in text and "北京时间" in text
    title = server["app"].extensions["planmap"].data.plans["000_f32aaef515cfbb76"].title_zh
    assert title[:20] in text.replace("\n", "")
    assert "洮北风光储一体化项目" in text and "风电/光伏" in text
    pages = _pdf_pages_png(pdf, tmp_path, "report_pdf_two_parcels")
    assert len(pages) >= 2
    assert page.js_errors == []


def test_crs_picker_changes_the_result_for_a_gcj02_file(page, server, tmp_path):
    open_map(page, server)
    page.set_input_files("#pm-upload", str(SITES / "amap_gcj02.geojson"))
    page.wait_for_selector("#pm-case-result", timeout=20000)
    assert "WGS 84" in page.locator("#pm-case-crs-used").inner_text()
    warn = page.locator(".pm-case-warn[data-code=looks_gcj02]")
    assert warn.count() == 1 and "GCJ-02" in warn.inner_text()
    before = page.locator("#pm-verdict").inner_text()
    assert "洮北东湖湿地" not in page.locator("#pm-overlap").inner_text()  # nearby only
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#pm-panel").screenshot(path=str(SHOTS / "report_panel_gcj02_warning.png"))
    warn.locator("button.pm-case-use-crs").click()
    wait_js(page, "() => { const n = document.getElementById('pm-case-crs-used');"
                  " return n && n.textContent.indexOf('GCJ-02') >= 0; }", timeout_s=45)
    assert page.locator("#pm-case-crs").input_value() == "gcj02"
    assert page.locator(".pm-case-warn[data-code=looks_gcj02]").count() == 0
    after = page.locator("#pm-verdict").inner_text()
    assert after != before
    assert "洮北东湖湿地" in page.locator("#pm-overlap").inner_text()  # the wetland it lies in
    page.locator("#pm-panel").screenshot(path=str(SHOTS / "report_panel_gcj02_chosen.png"))
    # its report draws the wetland that decides the verdict (the PDF's first pages kept)
    href = page.locator("#pm-report-pdf").get_attribute("href")
    response = page.request.get(server["base"] + href)
    assert response.ok
    assert _pdf_pages_png(response.body(), tmp_path, "report_pdf_gcj02", last=2)
    assert page.js_errors == []


def test_project_type_picker_checks_the_site_again(page, server):
    open_map(page, server)
    page.set_input_files("#pm-upload", str(SITES / "amap_gcj02.geojson"))
    page.wait_for_selector("#pm-case-result", timeout=20000)
    assert page.locator("#pm-case-type-verdict").count() == 0  # no type chosen yet
    page.select_option("#pm-case-type", "tourism")
    page.wait_for_selector("#pm-case-type-verdict", timeout=20000)
    assert "旅游" in page.locator("#pm-case-type-verdict").inner_text()


def test_wrong_zone_error_offers_the_crs_it_names(page, server, tmp_path):
    # survey metres with the 41 zone prefix, uploaded as plain EPSG:4550 (no prefix)
    ring = [[41487400.35, 5053800.12], [41487712.9, 5053812.48], [41487705.23, 5054015.76],
            [41487400.35, 5053800.12]]
    path = tmp_path / "zone41.geojson"
    path.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}), "utf-8")
    open_map(page, server)
    page.select_option("#pm-case-crs", "EPSG:4550")
    page.set_input_files("#pm-upload", str(path))
    page.wait_for_selector(".pm-error", timeout=20000)
    assert "EPSG:4529" in page.locator(".pm-error").inner_text()  # the API's own hint
    page.locator(".pm-case-warn[data-code=error] button.pm-case-use-crs").click()
    page.wait_for_selector("#pm-case-result", timeout=20000)
    assert "EPSG:4529" in page.locator("#pm-case-crs-used").inner_text()
    assert page.locator("#pm-case-crs").input_value() == "EPSG:4529"
