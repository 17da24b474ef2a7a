"""The bad-input table: every entry point, hostile or broken input, one specific 4xx each.

Each row is ``(method, url, request builder, status, code)``.  The request builder returns
the keyword arguments of the Flask test client (built lazily, so the big bodies exist
only while their row runs).  Every answer must be the one JSON error shape with the
row's status and code; none may be a 500; the server must still answer afterwards.

A handful of the worst rows (50 MB body, 100 000-deep JSON, zip bomb, million-vertex
polygon) run a second time against a real waitress server on 127.0.0.1 with bounded time
and memory (``test_real_server_*``).
"""

from __future__ import annotations

import io
import json
import resource
import socket
import time
from pathlib import Path

import pytest

from tests.reliability.support import (
    BOWTIE,
    SQUARE,
    assert_error,
    make_zip,
    real_server,
    zip_bomb,
)

SITES = Path(__file__).resolve().parent.parent / "data" / "sites"
KML = (SITES / "parcel.kml").read_bytes()
TXT = (SITES / "parcel.txt").read_bytes().decode("gbk")  # 国土 报部格式, GBK as delivered


def js(obj) -> dict:
    return {"data": json.dumps(obj), "content_type": "application/json"}


def raw_json(text) -> dict:
    return {"data": text, "content_type": "application/json"}


def upload(content: bytes, name: str, **form) -> dict:
    data = {"file": (io.BytesIO(content), name)}
    data.update(form)
    return {"data": data, "content_type": "multipart/form-data"}


def site(coords, **extra) -> dict:
    body = {"geometry": {"type": "Polygon", "coordinates": coords}}
    body.update(extra)
    return js(body)


def txt(text: str) -> dict:
    return upload(text.encode("gbk"), "parcel.txt")


def million_vertices() -> dict:
    # compact positions so that the body stays under MAX_BODY_BYTES and the vertex
    # limit (not the byte limit) is what refuses it
    ring = ",".join(["[122,45]"] * 1_000_000)
    return raw_json('{"geometry":{"type":"Polygon","coordinates":[[' + ring + "]]}}")


def deep_json(levels: int = 100_000) -> dict:
    return raw_json("[" * levels + "]" * levels)


XXE = (b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name>'
       b"</Placemark></kml>")
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10)
                     for i in range(1, 10))
          + b"]><kml>&lol9;</kml>")
NETWORK_LINK = (b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><NetworkLink>'
                b"<Link><href>http://10.0.0.1/site.kml</href></Link></NetworkLink></kml>")
STUB = b"x" * 64
SHP_TRIO = {".shp": STUB, ".shx": STUB, ".dbf": STUB}


def shp_zip(stem: str) -> bytes:
    return make_zip({stem + ext: body for ext, body in SHP_TRIO.items()})


Z = "/api/v1/zones?"
SC = "/api/v1/sitecheck"
ITEMS = "/ogc/collections/admin/items?"

CASES = [
    # --- query parameters of the point query
    ("GET", Z + "lon=nan&lat=45.6", None, 400, "non_finite_coordinate", "zones-lon-nan"),
    ("GET", Z + "lon=122.8&lat=Infinity", None, 400, "non_finite_coordinate", "zones-lat-inf"),
    ("GET", Z + "lon=1e400&lat=45.6", None, 400, "non_finite_coordinate", "zones-lon-1e400"),
    ("GET", Z + "lon=&lat=45.6", None, 400, "missing_parameter", "zones-lon-empty"),
    ("GET", Z + "lat=45.6", None, 400, "missing_parameter", "zones-lon-missing"),
    ("GET", Z + "lon=1,2&lat=45.6", None, 400, "invalid_number", "zones-lon-1,2"),
    ("GET", Z + "lon=0x7a&lat=45.6", None, 400, "invalid_number", "zones-lon-hex"),
    ("GET", Z + "lon=45.62&lat=122.84", None, 400, "coordinate_out_of_area", "zones-swapped"),
    ("GET", Z + "lon=200&lat=45.6", None, 400, "coordinate_out_of_area", "zones-lon-200"),
    ("GET", Z + "lon=41500000&lat=5050000", None, 400, "coordinate_out_of_area",
     "zones-metres-as-degrees"),
    ("GET", Z + "lon=122.8&lat=45.6&crs=EPSG:99999", None, 400, "unsupported_crs",
     "zones-crs-unknown"),
    ("GET", Z + "lon=122.8&lat=45.6&crs=%2Bproj%3Dlonglat%20%2Bnadgrids%3D%40http%3A%2F%2F"
     "10.0.0.1%2Fg.tif", None, 400, "unsupported_crs", "zones-crs-proj-string"),
    ("GET", Z + "lon=122.8&lat=45.6&crs=" + "EPSG:" + "9" * 5000, None, 400, "unsupported_crs",
     "zones-crs-very-long"),
    ("GET", Z + "lon=122.8&lat=45.6&crs=http%3A%2F%2F10.0.0.1%2Fcrs.wkt", None, 400,
     "unsupported_crs", "zones-crs-url"),
    ("GET", Z + "lon=122.8&lat=45.6&radius=-5", None, 400, "invalid_radius", "zones-radius-neg"),
    ("GET", "/api/v1/clauses?feature=..%2Fx", None, 400, "invalid_feature_id",
     "clauses-feature-traversal"),
    # --- JSON bodies of the site check
    ("POST", SC, lambda: raw_json('{"geometry": {'), 400, "invalid_json", "site-invalid-json"),
    ("POST", SC, deep_json, 413, "json_too_deep", "site-100000-deep"),
    ("POST", SC, lambda: raw_json("[1, 2]"), 400, "invalid_body", "site-body-array"),
    ("POST", SC, lambda: js({"geometry": "POLYGON"}), 400, "invalid_geometry",
     "site-geometry-string"),
    ("POST", SC, lambda: site("abc"), 400, "invalid_geojson", "site-coordinates-string"),
    ("POST", SC, lambda: site([SQUARE[:-1]]), 400, "unclosed_ring", "site-unclosed-ring"),
    ("POST", SC, lambda: site([BOWTIE]), 400, "invalid_geometry", "site-bowtie-no-repair"),
    ("POST", SC, lambda: site([]), 400, "empty_geometry", "site-empty-polygon"),
    ("POST", SC, lambda: js({"wkt": "POLYGON EMPTY"}), 400, "empty_geometry", "site-wkt-empty"),
    ("POST", SC, lambda: js({"wkt": ["POLYGON"]}), 400, "invalid_wkt", "site-wkt-not-string"),
    ("POST", SC, lambda: raw_json('{"geometry": {"type": "Polygon", "coordinates": '
                                  '[[[NaN, 45.6], [122.84, 45.61], [122.84, 45.62], '
                                  '[NaN, 45.6]]]}}'), 400, "non_finite_coordinate",
     "site-nan-literal"),
    ("POST", SC, lambda: raw_json('{"geometry": {"type": "Polygon", "coordinates": '
                                  '[[[1e400, 45.6], [122.84, 45.61], [122.84, 45.62], '
                                  '[1e400, 45.6]]]}}'), 400, "non_finite_coordinate",
     "site-1e400"),
    ("POST", SC, lambda: raw_json('{"type": "Point", "type": "Polygon"}'), 400, "duplicate_key",
     "site-duplicate-key"),
    ("POST", SC, lambda: raw_json('{"rings": ' + "7" * 5000 + "}"), 400, "invalid_json",
     "site-5000-digit-int"),
    ("POST", SC, lambda: {"data": json.dumps({"geometry": None}).encode("utf-16"),
                          "content_type": "application/json"}, 400, "bad_encoding",
     "site-utf16"),
    ("POST", SC, lambda: site([SQUARE], crs=4490), 400, "unsupported_crs", "site-crs-not-string"),
    ("POST", SC, lambda: site([SQUARE], crs="+proj=longlat +nadgrids=@http://10.0.0.1/g"), 400,
     "unsupported_crs", "site-crs-proj-string"),
    ("POST", SC, lambda: site([SQUARE], repair="maybe"), 400, "invalid_boolean",
     "site-repair-not-bool"),
    ("POST", SC, lambda: site([SQUARE], rings=[-1]), 400, "invalid_rings", "site-rings-negative"),
    ("POST", SC, lambda: {"data": b"", "content_type": "application/json"}, 400, "empty_body",
     "site-empty-body"),
    ("POST", SC, million_vertices, 413, "too_many_vertices", "site-million-vertices"),
    ("POST", SC, lambda: js({"geometry": {"type": "MultiPolygon", "coordinates": [
        [[[122.8 + i * 1e-3, 45.6], [122.8005 + i * 1e-3, 45.6], [122.8005 + i * 1e-3, 45.6005],
          [122.8 + i * 1e-3, 45.6]]] for i in range(1001)]}}), 413, "too_many_parts",
     "site-1001-parts"),
    ("POST", SC, lambda: site([[[122.8, 45.6], [122.9, 45.6], [122.9, 45.7], [122.8, 45.7],
                                [122.8, 45.6]]] + [
        [[x, y], [x + 1e-3, y], [x + 1e-3, y + 1e-3], [x, y + 1e-3], [x, y]]
        for x, y in ((122.801 + (i % 40) * 0.0024, 45.601 + (i // 40) * 0.0024)
                     for i in range(1500))]), 413, "too_many_rings", "site-1500-holes"),
    ("POST", SC, lambda: {"data": b"{" + b" " * (50 * 1024 * 1024), "content_type":
                          "application/json"}, 413, "body_too_large", "site-50MB-body"),
    # --- uploads, each format
    ("POST", SC, lambda: upload(XXE, "site.kml"), 400, "xml_dtd_forbidden", "kml-xxe"),
    ("POST", SC, lambda: upload(LAUGHS, "site.kml"), 400, "xml_dtd_forbidden",
     "kml-billion-laughs"),
    ("POST", SC, lambda: upload(KML[:-40], "site.kml"), 400, "invalid_xml", "kml-truncated"),
    ("POST", SC, lambda: upload(NETWORK_LINK, "site.kml"), 400, "empty_geometry",
     "kml-networklink-only"),
    ("POST", SC, lambda: upload(zip_bomb(), "site.zip"), 413, "zip_bomb", "zip-bomb"),
    ("POST", SC, lambda: upload(shp_zip("../x"), "site.zip"), 400, "unsafe_zip_member",
     "zip-member-dotdot"),
    ("POST", SC, lambda: upload(shp_zip("/etc/x"), "site.zip"), 400, "unsafe_zip_member",
     "zip-member-absolute"),
    ("POST", SC, lambda: upload(shp_zip("C:\\temp\\x"), "site.zip"), 400, "unsafe_zip_member",
     "zip-member-drive-letter"),
    ("POST", SC, lambda: upload(make_zip({"readme.txt": b"no shapefile"}), "site.zip"), 400,
     "shapefile_missing", "zip-without-shp"),
    ("POST", SC, lambda: upload(shp_zip("site"), "site.zip", crs="EPSG:4326"), 400,
     "invalid_shapefile", "zip-corrupt-shp"),
    ("POST", SC, lambda: upload(b"PK\x03\x04 not really a zip", "site.zip"), 400, "invalid_zip",
     "zip-corrupt-archive"),
    ("POST", SC, lambda: txt(TXT.replace(",@", ",")), 400, "txt_missing_parcel_header",
     "txt-missing-at"),
    ("POST", SC, lambda: txt("\n".join(x for x in TXT.splitlines() if not x.startswith("J"))),
     400, "txt_empty_parcel", "txt-missing-ring"),
    ("POST", SC, lambda: txt(TXT.replace("5053800.120", "5O53800.120", 1)), 400,
     "txt_bad_number", "txt-non-numeric"),
    ("POST", SC, lambda: txt(TXT.replace("带号=41", "带号=99")), 400, "unsupported_zone",
     "txt-unknown-zone"),
    ("POST", SC, lambda: txt(TXT.split("[地块坐标]")[0]), 400,
     "txt_missing_coordinates_section", "txt-no-coordinates-section"),
    # --- file names: only ever used for the extension, never opened
    ("POST", SC, lambda: upload(b"\x00\x01 not a site", "../../etc/passwd"), 400,
     "unknown_format", "filename-traversal"),
    ("POST", SC, lambda: upload(b"\x00\x01 not a site", "a" * 5000), 400, "unknown_format",
     "filename-very-long"),
    ("POST", SC, lambda: upload(b"\x00\x01 not a site", "a\x00.kml"), 400, "nul_byte",
     "filename-nul"),
    # --- layer ids
    ("GET", "/api/v1/layers/%2e%2e", None, 404, "unknown_layer", "layer-dotdot-encoded"),
    ("GET", "/api/v1/layers/..%2F..%2Fetc%2Fpasswd", None, 404, "not_found", "layer-traversal"),
    ("GET", "/api/v1/layers/nope", None, 404, "unknown_layer", "layer-unknown"),
    ("GET", "/api/v1/layers/a%00b", None, 404, "unknown_layer", "layer-nul"),
    ("GET", "/api/v1/layers/" + "x" * 10_000, None, 404, "unknown_layer", "layer-10000-chars"),
    # --- export options
    ("GET", "/export/admin.exe", None, 400, "unknown_format", "export-unknown-format"),
    ("GET", "/export/admin.geojson?crs=EPSG:99999", None, 400, "unsupported_crs",
     "export-unknown-crs"),
    ("GET", "/export/admin.kml?crs=EPSG:4550", None, 400, "kml_requires_wgs84",
     "export-kml-epsg4550"),
    ("GET", "/export/nope.geojson", None, 404, "unknown_layer", "export-unknown-layer"),
    ("GET", "/export/..%2F..%2Fsetup.cfg", None, 404, "unknown_export", "export-traversal"),
    # --- OGC API parameters
    ("GET", ITEMS + "bbox=1,2,3", None, 400, "invalid_bbox", "ogc-bbox-3-numbers"),
    ("GET", ITEMS + "bbox=nan,nan,nan,nan", None, 400, "non_finite_coordinate", "ogc-bbox-nan"),
    ("GET", ITEMS + "bbox=a,b,c,d", None, 400, "invalid_bbox", "ogc-bbox-text"),
    ("GET", ITEMS + "bbox=124,46,122,45", None, 400, "invalid_bbox", "ogc-bbox-inverted"),
    ("GET", ITEMS + "limit=-1", None, 400, "invalid_limit", "ogc-limit-negative"),
    ("GET", ITEMS + "limit=1e9", None, 400, "invalid_limit", "ogc-limit-1e9"),
    ("GET", ITEMS + "limit=abc", None, 400, "invalid_limit", "ogc-limit-abc"),
    ("GET", ITEMS + "offset=-5", None, 400, "invalid_offset", "ogc-offset-negative"),
    ("GET", ITEMS + "crs=EPSG:99999", None, 400, "unsupported_crs", "ogc-crs-unknown"),
    ("GET", ITEMS + "f=xml", None, 400, "unknown_format", "ogc-f-unknown"),
    ("GET", "/ogc/collections/nope/items", None, 404, "unknown_collection",
     "ogc-unknown-collection"),
    ("GET", "/ogc/collections/admin/items/nope", None, 404, "unknown_feature",
     "ogc-unknown-feature"),
    # --- stored checks, batch
    ("GET", "/api/v1/sitecheck/doesnotexist", None, 404, "check_not_found",
     "sitecheck-unknown-id"),
    ("GET", "/api/v1/sitecheck/" + "x" * 200, None, 404, "check_not_found",
     "sitecheck-long-id"),
    ("POST", "/api/v1/zones", lambda: {"data": "id,lon,lat\n" + "1,122,45\n" * 1_000_001,
                                       "content_type": "text/csv"}, 413, "too_many_points",
     "batch-over-max-points"),
    ("POST", "/api/v1/zones", lambda: {"data": "id,lon,lat\n1,nan,45\n",
                                       "content_type": "text/csv"}, 400,
     "non_finite_coordinate", "batch-nan"),
    ("POST", "/api/v1/zones", lambda: {"data": b"", "content_type": "text/csv"}, 400,
     "empty_body", "batch-empty"),
    ("DELETE", "/api/v1/zones", None, 405, "method_not_allowed", "zones-wrong-method"),
]


@pytest.mark.parametrize("method, url, build, status, code",
                         [pytest.param(*c[:5], id=c[5]) for c in CASES])
def test_bad_input_gets_a_specific_4xx(rel_client, method, url, build, status, code):
    kwargs = build() if build else {}
    started = time.perf_counter()
    response = rel_client.open(url, method=method, **kwargs)
    elapsed = time.perf_counter() - started
    assert_error(response, status, code)
    assert elapsed < 10, f"{url} took {elapsed:.1f} s"


def test_the_table_is_large_and_ids_are_unique():
    ids = [c[5] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 40


def test_errors_name_the_offending_parameter_and_value(rel_client):
    err = assert_error(rel_client.get(Z + "lon=45.62&lat=122.84"), 400, "coordinate_out_of_area")
    assert "swap" in err["message_en"]  # the hint a user needs
    err = assert_error(rel_client.get(Z + "lon=41500000&lat=5050000"), 400)
    assert "EPSG:4529" in err["message_en"]  # metres recognised, the right CRS named
    err = assert_error(rel_client.post(SC, **site([BOWTIE])), 400, "invalid_geometry")
    assert "Self-intersection" in err["message_en"]  # the GEOS reason


def test_bowtie_with_repair_is_accepted_and_the_repair_reported(rel_client):
    response = rel_client.post(SC, **site([BOWTIE], repair=True))
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    repairs = response.get_json()["repairs"]
    assert any("Self-intersection" in r and "MultiPolygon" in r for r in repairs), repairs


def test_unclosed_ring_with_repair_is_closed_and_reported(rel_client):
    response = rel_client.post(SC, **site([SQUARE[:-1]], repair=True))
    assert response.status_code == 201
    assert any("clos" in r for r in response.get_json()["repairs"])


def test_3d_polygon_is_accepted_with_heights_dropped_and_said_so(rel_client):
    # decision (docs/SECURITY.md): Z is accepted and dropped, never silently
    response = rel_client.post(SC, **site([[p + [150.0] for p in SQUARE]]))
    assert response.status_code == 201
    body = response.get_json()
    assert any("Z" in r for r in body["repairs"])
    stored = rel_client.get(body["url"]).get_json()["site_geometry"]
    assert all(len(p) == 2 for p in stored["coordinates"][0])


@pytest.mark.parametrize("name", ["../../etc/passwd.kml", "a" * 5000 + ".kml", "x\x00.kml",
                                  "C:\\Windows\\win.kml"])
def test_hostile_file_names_of_a_valid_file_are_only_an_extension(rel_client, name, monkeypatch):
    import builtins

    opened = []
    real_open = builtins.open

    def spy(file, *a, **k):
        opened.append(str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", spy)
    response = rel_client.post(SC, **upload(KML, name))
    assert response.status_code == 201
    assert not [p for p in opened if "passwd" in p or "win.kml" in p or "aaaa" in p]


@pytest.mark.parametrize("url", ["/plan/..%2F..%2Fetc%2Fpasswd", "/plan/nope",
                                 "/plan/<script>alert(1)<%2Fscript>", "/report/nope",
                                 "/report/<img src=x onerror=alert(1)>"])
def test_page_routes_with_bad_ids_are_404_pages_with_the_id_escaped(rel_client, url):
    response = rel_client.get(url)
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "/etc/passwd" not in text or response.mimetype == "application/json"


def test_server_still_healthy_after_the_table(rel_client):
    response = rel_client.get("/-/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
    ok = rel_client.get(Z + "lon=122.84&lat=45.62")
    assert ok.status_code == 200 and ok.get_json()["in_service_area"] is True


# ------------------------------------------------------------------ a real server

def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # pragma: no cover


def _send(port: int, head: bytes, body_parts, timeout: float = 5.0) -> tuple[int, bytes, float]:
    """Send a raw request (body from an iterator, stops early on reset); status, body, secs."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused the rest: what we want
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    header, _, rest = data.partition(b"\r\n\r\n")
                    length = [ln for ln in header.split(b"\r\n")
                              if ln.lower().startswith(b"content-length:")]
                    if length and len(rest) >= int(length[0].split(b":")[1]):
                        break
        except ConnectionResetError:
            pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data.partition(b"\r\n\r\n")[2], time.perf_counter() - started


def _head(path: str, length: int, ctype: str = "application/json") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def test_real_server_refuses_50mb_before_reading_it(rel_app):
    size = 50 * 1024 * 1024
    sent = [0]

    def body():
        chunk = b" " * (1 << 20)
        for _ in range(size // len(chunk)):
            sent[0] += len(chunk)
            yield chunk

    with real_server(rel_app) as port:
        before = _rss_kb()
        status, _, secs = _send(port, _head(SC, size), body())
        grown = _rss_kb() - before
        assert status == 413
        assert secs < 5
        # refused on the declared length: not all 50 MB was accepted, nothing buffered
        assert grown < 20 * 1024, f"RSS grew {grown} KiB"
        health = _send(port, b"GET /-/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", [])
        assert health[0] == 200


@pytest.mark.parametrize("name, make, status, code", [
    pytest.param("deep-json", lambda: ("[" * 100_000 + "]" * 100_000).encode(), 413,
                 "json_too_deep", id="deep-json"),
    pytest.param("million-vertices", lambda: million_vertices()["data"].encode(), 413,
                 "too_many_vertices", id="million-vertices"),
])
def test_real_server_json_bombs_are_refused_in_bounded_time_and_memory(rel_app, name, make,
                                                                        status, code):
    body = make()
    with real_server(rel_app) as port:
        before = _rss_kb()
        got, text, secs = _send(port, _head(SC, len(body)), [body], timeout=10)
        grown = _rss_kb() - before
    assert got == status, text[:300]
    assert json.loads(text)["error"]["code"] == code
    assert secs < 5, f"{name}: {secs:.1f} s"
    # memory: RSS growth of the whole test process (server threads included); a 6 MB body
    # parsed into Python lists would need hundreds of MiB
    assert grown < 150 * 1024, f"{name}: RSS grew {grown} KiB"


def test_real_server_zip_bomb_is_refused_without_expanding_it(rel_app):
    bomb = zip_bomb()
    boundary = "planmapboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"site.zip\"\r\nContent-Type: application/zip\r\n\r\n").encode() \
        + bomb + f"\r\n--{boundary}--\r\n".encode()
    with real_server(rel_app) as port:
        before = _rss_kb()
        got, text, secs = _send(port, _head(SC, len(body), f"multipart/form-data; boundary="
                                                           f"{boundary}"), [body])
        grown = _rss_kb() - before
    assert got == 413, text[:300]
    assert json.loads(text)["error"]["code"] == "zip_bomb"
    assert secs < 5
    assert grown < 50 * 1024, f"RSS grew {grown} KiB (the bomb expands to 200 MiB)"
