"""Accounts in a real browser (issue 14): a planner logs in from the map, runs a site check
(its session's CSRF token travels in the page's own request), and the admin finds the check
in the audit log.  Anonymous visitors may only view (``AUTH_ANONYMOUS=view``)."""

from __future__ import annotations

import pytest

from tests.browser import test_map_browser as base
from tests.browser.test_map_browser import SHOTS, SITE, _draw_polygon, screen_xy, serve_app, wait_js

pytestmark = pytest.mark.external
browser = base.browser  # the shared chromium fixture

PASSWORD = "a long test password"
ORG = "白城市自然资源局"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from planmap.server import create_app

    root = tmp_path_factory.mktemp("auth_browser")
    # WORKERS=0: the check runs in the request thread (the worker pool is tested elsewhere)
    app = create_app({"DB_PATH": str(root / "c.db"), "AUTH_ANONYMOUS": "view",
                      "ARGON2_MEMORY_KIB": 1024, "WORKERS": 0,
                      "HOME": str(root)})  # the layer store of the web import: HOME/store
    store = app.extensions["planmap_accounts"]
    store.add_user("planner", PASSWORD, ORG, "planner", "张规划")
    store.add_user("admin", PASSWORD, ORG, "admin", "李管理")
    yield from serve_app(app)




def _context(browser):
    return browser.new_context(viewport={"width": 1400, "height": 900})


def _login(page, user):
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.pm-auth-form button[type=submit]")


def test_login_site_check_and_the_admin_sees_it_in_the_audit_log(browser, server):
    base = server["base"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = _context(browser)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/")
    page.wait_for_selector("html[data-planmap-ready]", state="attached", timeout=45000)
    badge = page.locator("#pm-auth-badge")
    badge.wait_for(timeout=10000)
    assert badge.inner_text().strip() == "登录"
    badge.locator("a").click()
    page.wait_for_selector("form.pm-auth-form")
    assert "用户名" in page.content()
    _login(page, "planner")
    page.wait_for_selector("html[data-planmap-ready]", state="attached", timeout=45000)
    page.locator("#pm-auth-badge .pm-auth-user").wait_for(timeout=10000)
    assert page.locator("#pm-auth-badge .pm-auth-user").inner_text() == \
        f"张规划 · {ORG} · 规划人员"
    screen_xy(page, 122.84, 45.625, zoom=11)
    _draw_polygon(page, SITE)
    page.wait_for_selector("#pm-verdict", timeout=60000)
    href = page.locator("#pm-report-link").get_attribute("href")
    check_id = href.rsplit("/", 1)[-1]
    page.screenshot(path=str(SHOTS / "auth_planner_site_check.png"))
    # the report of the planner's check: share a read-only link, open it without a login
    page.goto(base + href)
    page.locator("#pm-share").click()
    wait_js(page, "() => document.getElementById('pm-share-url').value.includes('share=')",
            timeout_s=60)
    link = page.locator("#pm-share-url").input_value().split()[0]
    page.screenshot(path=str(SHOTS / "auth_share_link.png"))
    assert errors == []
    ctx.close()
    stranger = _context(browser).new_page()
    stranger.goto(base + href)  # AUTH_ANONYMOUS=view: no login, no report
    assert "/auth/login" in stranger.url
    assert stranger.goto(link).status == 200
    assert check_id in stranger.title()
    stranger.context.close()

    admin = _context(browser).new_page()
    admin.goto(base + "/admin/audit")  # not logged in: sent to the login page
    admin.wait_for_selector("form.pm-auth-form")
    assert "/auth/login" in admin.url
    _login(admin, "admin")
    admin.wait_for_selector("#pm-audit")
    row = admin.locator("#pm-audit tr[data-action=sitecheck]").first
    assert check_id in row.inner_text() and "planner" in row.inner_text()
    assert admin.locator("#pm-audit tr[data-action=login]").count() >= 2
    admin.screenshot(path=str(SHOTS / "auth_admin_audit.png"), full_page=True)
    # the check belongs to the organisation: the admin (same organisation) opens its report
    admin.goto(base + href)
    assert admin.locator("h1").count() >= 1 and "404" not in admin.title()
    admin.context.close()


def test_login_page_in_english_and_a_wrong_password(browser, server):
    ctx = _context(browser)
    page = ctx.new_page()
    page.goto(server["base"] + "/auth/login?lang=en")
    assert page.locator("h1").inner_text() == "Log in"
    page.fill("input[name=username]", "planner")
    page.fill("input[name=password]", "not the password")
    page.click("form.pm-auth-form button[type=submit]")
    assert page.locator(".pm-auth-message").inner_text().startswith(
        "Wrong user name or password")
    page.screenshot(path=str(SHOTS / "auth_login_en.png"))
    ctx.close()


def test_admin_imports_a_layer_with_preview_and_it_appears_on_the_map(browser, server,
                                                                      tmp_path):
    """admin → /admin/import → preview (nothing served yet) → confirm → the layer is in
    the API and on the map page."""
    from tests.server.test_admin_import import _file

    upload = tmp_path / "web_parcels.gpkg"
    _file(upload, "旱地")
    base_url = server["base"]
    page = _context(browser).new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base_url + "/admin/import")
    page.wait_for_selector("form.pm-auth-form")
    _login(page, "admin")
    page.wait_for_selector("#pm-import-form")
    page.fill("#pm-import-form input[name=layer]", "web_parcels")
    page.set_input_files("#pm-import-form input[name=file]", str(upload))
    page.click("#pm-import-form button[type=submit]")
    page.wait_for_selector("#pm-import-preview", timeout=60000)
    assert page.locator("#pm-import-count").inner_text() == "6"
    assert page.locator("#pm-import-refused").inner_text() == "0"
    assert page.locator(".pm-import-sketch svg path").count() == 2
    page.screenshot(path=str(SHOTS / "auth_admin_import_preview.png"), full_page=True)

    def api_status():
        return page.evaluate("fetch('/api/v1/layers/web_parcels').then(r => r.status)")

    assert api_status() == 404  # the preview activated nothing
    page.click("#pm-import-confirm button[type=submit]")
    page.wait_for_selector("#pm-store-layers tr[data-layer=web_parcels]", timeout=120000)
    assert "web_parcels" in page.locator("#pm-layers-message").inner_text()
    page.screenshot(path=str(SHOTS / "auth_admin_layers.png"), full_page=True)
    assert api_status() == 200
    count = page.evaluate("fetch('/api/v1/layers/web_parcels').then(r => r.json())"
                          ".then(b => b.features.length)")
    assert count == 6
    page.goto(base_url + "/")
    page.wait_for_selector("html[data-planmap-ready]", state="attached", timeout=45000)
    listed = page.evaluate("fetch('/api/v1/layers').then(r => r.json())"
                           ".then(b => b.layers.map(l => l.id))")
    assert "web_parcels" in listed
    assert "web_parcels" in page.content()  # the map page carries the new layer
    assert errors == []
    page.context.close()

