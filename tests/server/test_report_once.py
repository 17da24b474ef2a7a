"""The report map is drawn once, when the check is stored: ``GET /report/<id>`` only reads it.

Issue 22 item 3: every GET used to redraw the SVG (10.9 s on a complex site), so eight
readers held every server thread.  A check stored before the drawing was kept (a row with
no ``report``) is drawn on its first view and kept from then on.
"""

from __future__ import annotations

import re
import sqlite3

import pytest
from planmap.server import create_app, reportview

SITE = {"type": "Polygon", "coordinates": [[[122.80, 45.60], [122.88, 45.60], [122.88, 45.65],
                                            [122.80, 45.65], [122.80, 45.60]]]}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    # WORKERS=0: the pool's tasks run in this process, so the drawings can be counted here
    db = tmp_path_factory.mktemp("report") / "checks.sqlite3"
    return create_app({"DB_PATH": str(db), "TESTING": True, "WORKERS": 0})


@pytest.fixture()
def renders(monkeypatch):
    """Count calls of the drawing function (the expensive part of a report)."""
    calls = []
    real = reportview.render_svg

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(reportview, "render_svg", counting)
    return calls


def _svg(html: str) -> str:
    match = re.search(r"<svg .*?</svg>", html, re.S)
    assert match, "report has no map"
    return match.group(0)


def test_report_is_drawn_when_stored_and_never_on_get(app, renders):
    client = app.test_client()
    created = client.post("/api/v1/sitecheck", json={"geometry": SITE, "rings": [500, 2000]})
    assert created.status_code == 201
    assert len(renders) == 1  # drawn once, at save time
    url = created.get_json()["report_url"]
    pages = [client.get(url), client.get(url + "?lang=en"), client.get(url)]
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert len(renders) == 1  # three views, no redraw
    zh, en, zh_again = (p.get_data(as_text=True) for p in pages)
    assert zh == zh_again
    # one drawing serves both languages: only the county labels' language differs
    labels = re.compile(r"<tspan[^>]*>[^<]*</tspan>")
    assert labels.sub("", _svg(zh)) == labels.sub("", _svg(en))
    assert '<tspan lang="zh-CN">' in _svg(zh) and '<tspan lang="en">' not in _svg(zh)
    assert '<tspan lang="en">' in _svg(en) and '<tspan lang="zh-CN">' not in _svg(en)
    assert "<path" in _svg(zh)


def test_stored_drawing_is_the_drawing_a_fresh_render_gives(app, renders):
    """The cached report is the same page the old per-GET render produced, in both languages."""
    client = app.test_client()
    check_id = client.post("/api/v1/sitecheck", json={"geometry": SITE}).get_json()["id"]
    store = app.extensions["planmap"].store
    data = app.extensions["planmap"].data
    record = store.get(check_id)
    assert record["report"] is not None
    for lang in ("zh", "en"):
        cached = reportview.build(record, data, lang, app.config)
        fresh = reportview.build(dict(record, report=None), data, lang, app.config)
        assert cached == fresh
        # the legend speaks the page's language
        for item in cached["svg_legend"]:
            assert item["name"]


def test_old_check_without_a_drawing_is_drawn_once_then_kept(app, renders):
    client = app.test_client()
    check_id = client.post("/api/v1/sitecheck", json={"geometry": SITE}).get_json()["id"]
    before = client.get(f"/report/{check_id}").get_data(as_text=True)
    # make it a row from before the drawing was stored
    db = app.config["DB_PATH"]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE checks SET report = NULL WHERE id = ?", (check_id,))
    assert app.extensions["planmap"].store.get(check_id)["report"] is None
    renders.clear()
    first = client.get(f"/report/{check_id}").get_data(as_text=True)
    assert len(renders) == 1
    second = client.get(f"/report/{check_id}").get_data(as_text=True)
    third = client.get(f"/report/{check_id}?lang=en")
    assert len(renders) == 1
    assert third.status_code == 200
    assert before == first == second
    assert app.extensions["planmap"].store.get(check_id)["report"] is not None


def test_version_1_store_file_is_migrated_and_its_checks_get_a_report(tmp_path, renders):
    """A store written by planmap before this change opens, keeps its checks, draws on view."""
    import json
    import time

    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE checks (id TEXT PRIMARY KEY, created REAL NOT NULL, "
                     "result TEXT NOT NULL, site TEXT NOT NULL)")
        fresh = create_app({"DB_PATH": str(tmp_path / "scratch.sqlite3"), "TESTING": True,
                            "WORKERS": 0})
        body = fresh.test_client().post("/api/v1/sitecheck", json={"geometry": SITE}).get_json()
        result = {k: v for k, v in body.items()
                  if k not in ("id", "report_url", "url", "delete_token")}
        conn.execute("INSERT INTO checks VALUES (?, ?, ?, ?)",
                     ("oldcheck1234", time.time() - 60, json.dumps(result), json.dumps(SITE)))
    app = create_app({"DB_PATH": str(db), "TESTING": True, "WORKERS": 0})
    store = app.extensions["planmap"].store
    assert store.get("oldcheck1234")["result"] == result
    assert store.health()["checks"] == 1
    assert store.health()["bytes"] > 0
    renders.clear()
    client = app.test_client()
    assert client.get("/report/oldcheck1234").status_code == 200
    assert client.get("/report/oldcheck1234").status_code == 200
    assert len(renders) == 1


def test_wide_rings_drawn_from_the_hull_are_within_the_stated_bound():
    """render_svg draws a ring of radius r from the site's convex hull when span²/4r is
    under a pixel; the true buffer differs from the hull's by no more than that."""
    import math

    import shapely

    n = 498
    pts = [((5000 if i % 2 else 1000) * math.cos(2 * math.pi * i / n),
            (5000 if i % 2 else 1000) * math.sin(2 * math.pi * i / n)) for i in range(n)]
    site = shapely.Polygon(pts)
    minx, miny, maxx, maxy = site.bounds
    span = max(maxx - minx, maxy - miny)
    for r in (20_000, 100_000):
        exact, fast = site.buffer(r, 32), site.convex_hull.buffer(r, 32)
        assert exact.hausdorff_distance(fast) <= span * span / (4 * r)
