"""``GET /report/<id>``: the map drawn once at save time against drawn on every GET.

Run:  python bench/bench_report.py [--gets 5] [--parallel 8]

* builds the app in process (Flask test client; a private SQLite file) and stores one
  check of a 499-vertex star site with a 100 km buffer ring (the issue-22 attack shape:
  every report view redrew the buffered star and every zone it touches);
* **stored** (now): ``--gets`` sequential GETs of the report, which reads the drawing;
* **naive baseline** (before): the same GETs with the stored drawing cleared before each
  one, so each GET redraws it, as every GET did before (the clearing UPDATE costs < 1 ms);
* then ``--parallel`` threads GET the report at once, both ways (threads of one process,
  as waitress serves them), and the slowest answer is reported;
* prints the POST time (which now includes the one drawing), medians and the load average.
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def star(cx=122.84, cy=45.62, n=498, r_out=0.05, r_in=0.01):
    pts = [[cx + (r_in if i % 2 else r_out) * math.cos(2 * math.pi * i / n),
            cy + (r_in if i % 2 else r_out) * math.sin(2 * math.pi * i / n)] for i in range(n)]
    return {"type": "Polygon", "coordinates": [pts + [pts[0]]]}


def main() -> int:
    from planmap.server import create_app

    from bench.machine import cpu_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--gets", type=int, default=5)
    ap.add_argument("--parallel", type=int, default=8)
    args = ap.parse_args()
    db = Path(tempfile.mkdtemp(prefix="planmap-bench-report-")) / "c.sqlite3"
    app = create_app({"DB_PATH": str(db)})
    client = app.test_client()
    t0 = time.perf_counter()
    created = client.post("/api/v1/sitecheck", json={"geometry": star(), "rings": [100_000]})
    post_s = time.perf_counter() - t0
    assert created.status_code == 201, created.get_data(as_text=True)
    url = created.get_json()["report_url"]
    check_id = created.get_json()["id"]

    def clear():
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE checks SET report = NULL WHERE id = ?", (check_id,))

    def timed(before=None):
        if before:
            before()
        t = time.perf_counter()
        response = client.get(url)
        assert response.status_code == 200
        return time.perf_counter() - t

    client.get(url)  # warm the template and page caches
    stored = [timed() for _ in range(args.gets)]
    naive = [timed(clear) for _ in range(args.gets)]
    client.get(url)  # the drawing is back

    def parallel():
        times, lock = [], threading.Lock()

        def one():
            local = app.test_client()
            t = time.perf_counter()
            assert local.get(url).status_code == 200
            with lock:
                times.append(time.perf_counter() - t)

        threads = [threading.Thread(target=one) for _ in range(args.parallel)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return max(times)

    par_stored = parallel()
    # baseline in parallel: patch the page to ignore the stored drawing, as the old code did
    from planmap.server import reportview

    real = reportview.valid_rendering
    reportview.valid_rendering = lambda rendering: False
    app.extensions["planmap"].store.set_report = lambda *a, **k: False
    try:
        par_naive = parallel()
    finally:
        reportview.valid_rendering = real
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"POST /api/v1/sitecheck (check + one drawing): {post_s:.2f} s")
    print(f"GET /report, stored drawing:  median {statistics.median(stored) * 1000:.1f} ms "
          f"(max {max(stored) * 1000:.1f})")
    print(f"GET /report, drawn per GET:   median {statistics.median(naive) * 1000:.1f} ms "
          f"(max {max(naive) * 1000:.1f})")
    print(f"{args.parallel} parallel GETs, slowest: stored {par_stored * 1000:.0f} ms, "
          f"drawn per GET {par_naive * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
