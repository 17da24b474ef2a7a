"""Map page benchmark: transfer weight of the default page and cached serve times.

Run from the repository root:

    python bench/bench_page.py            # print the figures (markdown)
    python bench/bench_page.py --write    # also replace "## Map page" in docs/PERFORMANCE.md

Weight: the gzip-compressed bytes (level 6, what a compressing server or proxy sends) of
the page HTML plus every file it references (scripts, stylesheets, and every image the
stylesheets name — an upper bound: the default page loads fewer).  The page and its map
script are served gzip-compressed by planmap itself; Flask serves /static uncompressed,
so the uncompressed total is shown too.
Serve time: wall time of ``GET /`` once the page is cached, in-process (Flask test
client) and over HTTP on 127.0.0.1 (waitress, one keep-alive connection).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine import cpu_model  # bench/machine.py (the script's folder is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_KB = 600
SERVE_BUDGET_MS = 150
SECTION = "## Map page"


def page_assets(client, html: str) -> list[str]:
    """Every URL the page references, plus the images its stylesheets name."""
    urls = [u for u in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
            if not u.startswith("data:")]
    extra = []
    for url in urls:
        if url.split("?")[0].endswith(".css"):
            css = client.get(url).get_data(as_text=True)
            base = url.split("?")[0].rsplit("/", 1)[0]
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
                if not ref.startswith(("data:", "#")):
                    extra.append(f"{base}/{ref}")
    return urls + sorted(set(extra))


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in samples_s)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]
    return p50, p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    parser.add_argument("-n", type=int, default=1000, help="cached requests per measure")
    args = parser.parse_args()

    from planmap.server import create_app
    from waitress.server import create_server

    load0 = os.getloadavg()
    t0 = time.perf_counter()
    app = create_app({"DB_PATH": os.path.join(tempfile.mkdtemp(), "bench.sqlite3")})
    startup_s = time.perf_counter() - t0
    client = app.test_client()

    build = {}
    for lang, query in (("zh", "/"), ("en", "/?lang=en")):
        t0 = time.perf_counter()
        assert client.get(query).status_code == 200
        build[lang] = time.perf_counter() - t0

    html = client.get("/").data
    rows = [("/ (HTML)", len(html), len(gzip.compress(html, 6)))]
    for url in page_assets(client, html.decode("utf-8")):
        body = client.get(url).data
        rows.append((url.split("?")[0], len(body), len(gzip.compress(body, 6))))
    raw_total = sum(r[1] for r in rows)
    gz_total = sum(r[2] for r in rows)

    def serve_inproc():
        samples = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            r = client.get("/", headers={"Accept-Encoding": "gzip"})
            samples.append(time.perf_counter() - t0)
            assert r.status_code == 200
        return samples

    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=srv.run, daemon=True).start()

    def serve_http():
        conn = http.client.HTTPConnection("127.0.0.1", srv.effective_port, timeout=30)
        samples = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            conn.request("GET", "/", headers={"Accept-Encoding": "gzip"})
            resp = conn.getresponse()
            resp.read()
            samples.append(time.perf_counter() - t0)
            assert resp.status == 200
        conn.close()
        return samples

    inproc = percentiles(serve_inproc())
    over_http = percentiles(serve_http())
    srv.close()

    lines = [
        SECTION,
        "",
        f"Measured by `python bench/bench_page.py` on {time.strftime('%Y-%m-%d', time.gmtime())}: "
        f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average at start {load0[0]:.2f} (other work shares this machine).",
        "",
        f"**Weight** of the default map page (`/`, Chinese) with everything it references: "
        f"**{gz_total / 1024:.0f} KB gzip-compressed** (budget {BUDGET_KB} KB), "
        f"{raw_total / 1024:.0f} KB uncompressed. planmap sends the page and its map script "
        "gzip-compressed itself; `/static` files go uncompressed unless a proxy compresses "
        "them. Stylesheet images are counted although the default page does not load them.",
        "",
        "| file | bytes | gzip bytes |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{name}` | {raw:,} | {gz:,} |" for name, raw, gz in rows]
    lines += [
        f"| **total** | **{raw_total:,}** | **{gz_total:,}** |",
        "",
        f"**Serve time** of `GET /` once cached ({args.n} requests each; budget "
        f"{SERVE_BUDGET_MS} ms):",
        "",
        "| path | p50 ms | p99 ms |",
        "|---|---:|---:|",
        f"| in-process (Flask test client) | {inproc[0]:.2f} | {inproc[1]:.2f} |",
        f"| HTTP 127.0.0.1, waitress, keep-alive | {over_http[0]:.2f} | {over_http[1]:.2f} |",
        "",
        f"First build of the page per process (Folium render, then cached): "
        f"zh {build['zh'] * 1000:.0f} ms, en {build['en'] * 1000:.0f} ms; "
        f"app start (layers + zone index) {startup_s:.1f} s. Display geometry is simplified "
        "per layer (`server/mapbuild.py: SIMPLIFY_DEG`) and rounded to 5 decimals; "
        "queries and site checks use the full geometry.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    ok = gz_total <= BUDGET_KB * 1024 and over_http[0] <= SERVE_BUDGET_MS
    if args.write:
        path = ROOT / "docs" / "PERFORMANCE.md"
        old = path.read_text("utf-8") if path.exists() else "# Performance\n\n"
        pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
        new = pattern.sub(lambda _m: text + "\n", old) if pattern.search(old) else (
            old.rstrip("\n") + "\n\n" + text + "\n")
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(new, "utf-8")
        os.replace(tmp, path)  # atomic: other sections are never half-written
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
