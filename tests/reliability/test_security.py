"""Browser safety and server-side safety.

* security headers on every kind of response (page, JSON, static file, error, 404);
* hostile text in layer data, catalog titles and uploaded site names is escaped wherever
  it is shown (map page and its script, layer JSON, OGC HTML, the stored report);
* ``planmap serve`` cannot run in debug mode, whatever the environment says;
* the service never opens a connection to a URL a user supplied.
"""

from __future__ import annotations

import io
import json
import re
import socket
from pathlib import Path

import pytest
from planmap.server import create_app

from planmap import layers
from tests.reliability.support import SQUARE

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = '"><script>alert(2)</script>'
RAW_MARKERS = ("<img src=x", "<script>alert")


# ------------------------------------------------------------------ headers

HEADER_URLS = [
    ("/", 200, "text/html"),
    ("/?lang=en", 200, "text/html"),
    ("/map/zh.js", 200, "text/javascript"),
    ("/plan/000_f32aaef515cfbb76", 200, "text/html"),
    ("/api/v1/layers", 200, "application/json"),
    ("/api/v1/layers/admin", 200, "application/geo+json"),
    ("/ogc/collections?f=html", 200, "text/html"),
    ("/ogc/collections/admin/items?limit=2", 200, "application/geo+json"),
    ("/static/planmap.js", 200, None),
    ("/static/planmap.css", 200, "text/css"),
    ("/export/admin.geojson", 200, None),
    ("/-/health", 200, "application/json"),
    ("/api/v1/zones?lon=nan&lat=1", 400, "application/json"),
    ("/api/v1/layers/nope", 404, "application/json"),
    ("/no/such/page", 404, "application/json"),
    ("/plan/nope", 404, "text/html"),
    ("/report/nope", 404, "text/html"),
    ("/static/nope.js", 404, None),
]


def _csp_directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.parametrize("url, status, mimetype", HEADER_URLS, ids=[u for u, *_ in HEADER_URLS])
def test_security_headers_on_every_response_kind(rel_client, url, status, mimetype):
    response = rel_client.get(url)
    assert response.status_code == status
    if mimetype:
        assert response.mimetype == mimetype
    csp = response.headers.get("Content-Security-Policy")
    assert csp, f"no CSP on {url}"
    directives = _csp_directives(csp)
    assert directives.get("default-src") == ["'self'"]
    assert directives.get("frame-ancestors") in (["'self'"], ["'none'"])
    assert directives.get("object-src") == ["'none'"]
    # only the own origin: no other host, scheme wildcard or '*' anywhere
    for name, sources in directives.items():
        for src in sources:
            assert src in ("'self'", "'none'", "'unsafe-inline'", "data:", "blob:"), \
                f"{url}: {name} allows {src}"
    # no inline script on our HTML pages
    if response.mimetype == "text/html":
        assert "'unsafe-inline'" not in directives.get("script-src", [])
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer",
                                                       "strict-origin-when-cross-origin")


def test_405_and_413_carry_the_headers_too(rel_client):
    for response in (rel_client.delete("/api/v1/zones"),
                     rel_client.post("/api/v1/sitecheck", data=b" " * (21 * 1024 * 1024),
                                     content_type="application/json")):
        assert response.status_code in (405, 413)
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


# ------------------------------------------------------------------ hostile text

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """An app whose every feature has a hostile name and whose 'urban' title is hostile."""
    d = layers.copy_data_dir(tmp_path_factory.mktemp("hostile"))
    catalog = json.loads((d / "catalog.json").read_text("utf-8"))
    for entry in catalog["layers"]:
        if entry["id"] == "urban":
            entry["title_zh"], entry["title_en"] = XSS_IMG, XSS_SCRIPT
    (d / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False), "utf-8")
    for entry in catalog["layers"]:
        path = d / entry["file"]
        fc = json.loads(path.read_text("utf-8"))
        for f in fc["features"]:
            f["properties"]["name_zh"], f["properties"]["name_en"] = XSS_IMG, XSS_SCRIPT
        path.write_text(json.dumps(fc, ensure_ascii=False), "utf-8")
    app = create_app({"DATA_DIR": str(d), "DB_PATH": str(d / "checks.sqlite3")})
    data = app.extensions["planmap"].data
    assert not data.errors and "urban" in data.layers  # the hostile layers did load
    return app


def _assert_no_raw_payload(text: str, where: str):
    for marker in RAW_MARKERS:
        assert marker not in text, f"{where}: raw {marker!r} found"


@pytest.mark.parametrize("url", ["/", "/?lang=en", "/ogc/collections?f=html",
                                 "/ogc/collections/urban_polygons?f=html",
                                 "/ogc/collections/urban_polygons/items?f=html&limit=50",
                                 "/ogc/collections/urban_polygons/items/urb_main_baicheng?f=html",
                                 "/ogc?f=html", "/conflicts"])
def test_hostile_layer_text_is_escaped_in_html(hostile, url):
    response = hostile.test_client().get(url)
    assert response.status_code in (200, 404)
    _assert_no_raw_payload(response.get_data(as_text=True), url)


@pytest.mark.parametrize("url", ["/ogc/collections/urban_polygons/items/urb_main_baicheng?f=html",
                                 "/conflicts"])
def test_hostile_names_are_shown_only_escaped(hostile, url):
    text = hostile.test_client().get(url).get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in text  # shown, as text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_map_script_carries_hostile_text_only_as_inert_json(hostile, lang):
    client = hostile.test_client()
    response = client.get(f"/map/{lang}.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    script = response.get_data(as_text=True)
    # the layer-control title is HTML for Leaflet: it must arrive escaped; the feature
    # names are data that planmap.js puts into the page with textContent
    _assert_no_raw_payload(script, f"/map/{lang}.js")
    assert "</script" not in script.lower()


def test_planmap_js_never_uses_innerhtml_for_data():
    js = (Path(__file__).resolve().parents[2] / "static" / "planmap.js").read_text("utf-8")
    assert not re.search(r"\.innerHTML\s*=", js)
    assert "insertAdjacentHTML" not in js and "document.write" not in js


def test_hostile_text_in_layer_json_is_json_with_nosniff(hostile):
    response = hostile.test_client().get("/api/v1/layers/urban")
    assert response.mimetype == "application/geo+json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    names = {f["properties"]["name_zh"] for f in response.get_json()["features"]}
    assert names == {XSS_IMG}  # data round-trips unchanged in JSON


def test_report_escapes_hostile_zone_names_and_site_names(hostile):
    client = hostile.test_client()
    urban = hostile.extensions["planmap"].data.layers["urban"]
    main = urban.geometry[urban["id"] == "urb_main_baicheng"].iloc[0]
    pt = main.representative_point()
    d = 0.002
    ring = [[pt.x - d, pt.y - d], [pt.x + d, pt.y - d], [pt.x + d, pt.y + d],
            [pt.x - d, pt.y + d], [pt.x - d, pt.y - d]]
    coords = " ".join(f"{x},{y},0" for x, y in ring)
    kml = (f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
           f"<Placemark><name>{XSS_IMG.replace('<', '&lt;')}</name><Polygon><outerBoundaryIs>"
           f"<LinearRing><coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs>"
           f"</Polygon></Placemark></kml>").encode()
    created = client.post("/api/v1/sitecheck", data={"file": (io.BytesIO(kml), "s.kml")},
                          content_type="multipart/form-data")
    assert created.status_code == 201, created.get_data(as_text=True)[:300]
    body = created.get_json()
    assert "urb_main_baicheng" in {z["id"] for z in body["zones"]}
    for lang in ("zh", "en"):
        page = client.get(f"{body['report_url']}?lang={lang}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        _assert_no_raw_payload(text, f"report ({lang})")
        assert "&lt;img src=x" in text or "&lt;script&gt;" in text or "&#34;&gt;&lt;script" in text
    stored = client.get(body["url"])
    assert stored.mimetype == "application/json"


def test_plan_page_escapes_hostile_query_and_path(rel_client):
    page = rel_client.get("/plan/000_f32aaef515cfbb76?hl=<script>alert(1)</script>")
    assert page.status_code == 200
    _assert_no_raw_payload(page.get_data(as_text=True), "/plan?hl=")
    page = rel_client.get("/plan/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert page.status_code == 404
    _assert_no_raw_payload(page.get_data(as_text=True), "/plan/<img>")


# ------------------------------------------------------------------ no debug in serve

@pytest.mark.parametrize("env", [{"FLASK_DEBUG": "1"},
                                 {"FLASK_DEBUG": "1", "PLANMAP_DEBUG": "true",
                                  "FLASK_ENV": "development", "FLASK_TESTING": "1"}],
                         ids=["FLASK_DEBUG", "every-debug-variable"])
def test_serve_cannot_run_debug(monkeypatch, tmp_path, mini_data_dir, env):
    import waitress
    from planmap.server import cli

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("PLANMAP_DB_PATH", str(tmp_path / "c.sqlite3"))
    monkeypatch.setenv("PLANMAP_DATA_DIR", str(mini_data_dir))  # small data: a fast start
    served = {}

    def fake_create_server(app, **kwargs):  # what `serve` hands to waitress, not served
        from types import SimpleNamespace

        served["app"], served["kwargs"] = app, kwargs
        return SimpleNamespace(run=lambda: None, adj=SimpleNamespace(threads=kwargs["threads"]),
                               maintenance=lambda now: None, active_channels={})

    monkeypatch.setattr(waitress, "create_server", fake_create_server)
    assert cli.main(["serve", "--port", "0"]) == 0
    app = served["app"]
    assert app.debug is False and app.testing is False
    assert app.config["PROPAGATE_EXCEPTIONS"] is False
    assert served["kwargs"]["max_request_body_size"] == app.config["MAX_BODY_BYTES"]

    # an unexpected exception is a JSON 500 without a traceback, not the debugger
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret detail /work/main/server")

    from planmap.server.auth import POLICY  # a route without an access rule is refused (issue 14)

    monkeypatch.setitem(POLICY, "boom", "open")

    response = app.test_client().get("/boom-for-test")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "secret detail" not in text and "Traceback" not in text and "Werkzeug" not in text


def test_serve_has_no_debug_switch():
    from planmap.server import cli

    with pytest.raises(SystemExit):
        cli.main(["serve", "--debug"])


# ------------------------------------------------------------------ no outbound requests

@pytest.fixture
def no_network(monkeypatch):
    """Record, and refuse, every connection attempt to a non-loopback address."""
    attempts = []
    real_connect = socket.socket.connect
    real_create = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def loopback(host) -> bool:
        return str(host) in ("127.0.0.1", "::1", "localhost") or str(host).startswith("/")

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if not loopback(host):
            attempts.append(address)
            raise OSError("outbound connection refused by test")
        return real_connect(self, address)

    def create_connection(address, *a, **k):
        if not loopback(address[0]):
            attempts.append(address)
            raise OSError("outbound connection refused by test")
        return real_create(address, *a, **k)

    def getaddrinfo(host, *a, **k):
        if host is not None and not loopback(host):
            attempts.append(("dns", host))
            raise OSError("name lookup refused by test")
        return real_getaddrinfo(host, *a, **k)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


URL = "http://10.0.0.1/evil"
FEATURE = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
                                                              "coordinates": [SQUARE]}}


def _kml(inner: str) -> bytes:
    return (f'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"{inner}</Document></kml>").encode()


SSRF_REQUESTS = [
    ("kml-networklink", "POST", "/api/v1/sitecheck", lambda: {"data": {"file": (io.BytesIO(_kml(
        f"<NetworkLink><Link><href>{URL}.kml</href></Link></NetworkLink>")), "s.kml")},
        "content_type": "multipart/form-data"}),
    ("kml-icon-href", "POST", "/api/v1/sitecheck", lambda: {"data": {"file": (io.BytesIO(_kml(
        f"<Style><IconStyle><Icon><href>{URL}.png</href></Icon></IconStyle></Style>"
        "<Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        + " ".join(f"{x},{y}" for x, y in SQUARE)
        + "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>")), "s.kml")},
        "content_type": "multipart/form-data"}),
    ("geojson-$ref", "POST", "/api/v1/sitecheck", lambda: {"json": {
        "type": "FeatureCollection", "$ref": URL, "features": [FEATURE]}}),
    ("geojson-geometry-$ref", "POST", "/api/v1/sitecheck", lambda: {"json": {
        "geometry": {"$ref": URL + ".json"}}}),
    ("geojson-crs-link", "POST", "/api/v1/sitecheck", lambda: {"json": {
        "type": "FeatureCollection", "features": [FEATURE],
        "crs": {"type": "link", "properties": {"href": URL, "type": "proj4"}}}}),
    ("geojson-crs-url-name", "POST", "/api/v1/sitecheck", lambda: {"json": {
        "type": "FeatureCollection", "features": [FEATURE],
        "crs": {"type": "name", "properties": {"name": URL}}}}),
    ("body-crs-url", "POST", "/api/v1/sitecheck", lambda: {"json": {
        "geometry": FEATURE["geometry"], "crs": URL}}),
    ("zones-crs-url", "GET", "/api/v1/zones?lon=122.8&lat=45.6&crs=" + URL, dict),
    ("zones-crs-proj-grid-url", "GET", "/api/v1/zones?lon=122.8&lat=45.6&crs="
     "%2Bproj%3Dlonglat%20%2Bnadgrids%3D" + URL.replace(":", "%3A"), dict),
    ("ogc-crs-url", "GET", "/ogc/collections/admin/items?crs=" + URL, dict),
    ("export-crs-url", "GET", "/export/admin.geojson?crs=" + URL, dict),
    ("batch-crs-url", "POST", "/api/v1/zones?crs=" + URL, lambda: {
        "data": "id,lon,lat\n1,122.8,45.6\n", "content_type": "text/csv"}),
]


@pytest.mark.parametrize("method, url, build", [pytest.param(*r[1:], id=r[0])
                                                 for r in SSRF_REQUESTS])
def test_user_supplied_urls_are_never_fetched(rel_client, no_network, method, url, build):
    response = rel_client.open(url, method=method, **build())
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert no_network == [], f"outbound attempt: {no_network}"


def test_the_refusing_socket_would_catch_an_outbound_attempt(no_network):
    # the guard itself works: a connection to a non-loopback address is recorded
    with pytest.raises(OSError):
        socket.create_connection(("10.0.0.1", 80), timeout=0.1)
    assert no_network


def test_pyproj_network_grids_are_off():
    import pyproj

    assert pyproj.network.is_network_enabled() is False
