"""Bytes on the wire and conditional-request round trips for the OGC/REST/export JSON.

Run:  python bench/bench_delivery.py        (prints a Markdown table for docs/API.md)

* serves planmap under waitress on 127.0.0.1 (a free port, private SQLite file) in-process;
* per URL: body bytes without and with ``Accept-Encoding: gzip``; then the median of
  ``--runs`` full GETs (200, body read, gzip) against the median of as many conditional GETs
  with the ETag just received (304, no body), on one keep-alive connection;
* the naive baseline is the full GET: a client that does not revalidate downloads it again.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

URLS = ["/ogc/collections/admin/items?limit=1000", "/ogc/collections/urban_polygons/items",
        "/ogc/collections", "/api/v1/layers/admin", "/export/all.geojson", "/ogc/api"]


def _get(conn, url, headers):
    start = time.perf_counter()
    conn.request("GET", url, headers=headers)
    response = conn.getresponse()
    body = response.read()
    return time.perf_counter() - start, response, body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    from tests.server.live import live_server

    with tempfile.TemporaryDirectory() as tmp, \
            live_server({"DB_PATH": os.path.join(tmp, "b.db")}) as (base, _app):
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        print("| URL | identity bytes | gzip bytes | full GET (200) ms | conditional GET "
              "(304) ms |")
        print("|---|---:|---:|---:|---:|")
        for url in URLS:
            _t, _r, plain = _get(conn, url, {})
            _t, first, zipped = _get(conn, url, {"Accept-Encoding": "gzip"})
            assert first.status == 200 and first.getheader("Content-Encoding") == "gzip", url
            tag = first.getheader("ETag")
            full, cond = [], []
            for _ in range(args.runs):  # interleaved, so background load hits both alike
                t, r, _b = _get(conn, url, {"Accept-Encoding": "gzip"})
                assert r.status == 200
                full.append(t)
                t, r, b = _get(conn, url, {"Accept-Encoding": "gzip", "If-None-Match": tag})
                assert r.status == 304 and b == b""
                cond.append(t)
            print(f"| `{url}` | {len(plain):,} | {len(zipped):,} | "
                  f"{statistics.median(full) * 1e3:.1f} | {statistics.median(cond) * 1e3:.1f} |")
        conn.close()
    print(f"\nload average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
