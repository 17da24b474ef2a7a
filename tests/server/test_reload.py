"""A layer import reaches running web workers without a restart, one version per response.

In-process: an app whose data folder gets a new layer serves it within seconds, and a
request that began before the swap keeps the services it started with. Across processes
(slow): two ``planmap serve`` instances on two ports (one of them gunicorn with two web
workers) sharing a data folder and a check store: a check stored through one is read
through the other, and an import under a 32-client load is served by both within 5 s
with no failed request.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import shapely
from planmap.server import create_app, services
from planmap.server.reload import signature, swap

from tests.conftest import MINI_SEED

# The tests run on the tiny data set (tests/conftest.py): what they check is the switch,
# not the build time of the real indexes (bench/bench_scale_out.py times that).
SITE = shapely.Point(122.40, 45.30)  # in the mini county 220802, outside its zones


def _redline(tmp_path: Path) -> Path:
    src = tmp_path / "redline.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": shapely.geometry.mapping(SITE.buffer(0.02)),
        "properties": {"id": "redline_1", "name_zh": "生态保护红线（测试）",
                       "citation_seed": MINI_SEED, "citation_line": 3,
                       "citation_quote": "两核"}}]}, ensure_ascii=False),
        "utf-8")
    return src


def _zone_ids(body: dict) -> set:
    return {z["id"] for z in body["zones"]}


QUERY = f"/api/v1/zones?lon={SITE.x}&lat={SITE.y}"


def test_import_is_served_without_restart(mini_data_dir, tmp_path):
    from planmap.layers.importer import import_layer

    app = create_app({"DATA_DIR": str(mini_data_dir), "DB_PATH": str(tmp_path / "c.db"),
                      "WORKERS": 0, "DATA_CHECK_S": 0.2})
    client = app.test_client()
    before = client.get("/-/version").get_json()["data_version"]
    assert "redline_1" not in _zone_ids(client.get(QUERY).get_json())

    import_layer(_redline(tmp_path), "eco_redline", crs="EPSG:4326", data_dir=mini_data_dir)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        body = client.get(QUERY).get_json()
        if "redline_1" in _zone_ids(body):
            break
        time.sleep(0.1)
    assert "redline_1" in _zone_ids(body)
    assert client.get("/-/version").get_json()["data_version"] != before
    check = client.post("/api/v1/sitecheck", json={"geometry": shapely.geometry.mapping(SITE)})
    assert check.status_code == 201
    assert "redline_1" in _zone_ids(check.get_json())  # the site check sees it too


def test_a_request_keeps_the_services_it_started_with(mini_data_dir, tmp_path):
    app = create_app({"DATA_DIR": str(mini_data_dir), "DB_PATH": str(tmp_path / "c.db"),
                      "WORKERS": 0, "DATA_CHECK_S": 0})
    with app.test_request_context("/"):
        first = services()
        swap(app)  # a reload finishing while this request runs
        assert services() is first
    with app.test_request_context("/"):
        assert services() is not first  # the next request sees the new version
        assert services() is app.extensions["planmap"]


def test_signature_sees_a_replaced_layer_file(mini_data_dir):
    before = signature(mini_data_dir)
    assert signature(mini_data_dir) == before
    path = mini_data_dir / "data" / "zones.geojson"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(path.read_bytes())
    os.replace(tmp, path)  # what the importer does: same bytes, a new file
    assert signature(mini_data_dir) != before


# --------------------------------------------------------------------------- two servers

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, json.loads(r.read())


def _wait_up(url: str, proc, seconds=120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            _get(url + "/-/health", timeout=2)
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.3)
    raise AssertionError(f"{url} did not start")


@pytest.mark.slow
def test_two_instances_share_store_and_see_an_import(mini_data_dir, tmp_path):
    env = {**os.environ, "PLANMAP_DATA_DIR": str(mini_data_dir),
           "PLANMAP_DB_PATH": str(tmp_path / "shared.db"), "PLANMAP_WORKERS": "1",
           "PLANMAP_RATE_LIMIT_CHEAP": "0", "PLANMAP_RATE_LIMIT_EXPENSIVE": "0",
           # this test's own index cache: no other test's builder in the folder
           "PLANMAP_CACHE_DIR": str(tmp_path / "cache")}
    ports = [_free_port(), _free_port()]
    cmds = [[sys.executable, "-m", "planmap.server.cli", "serve", "--port", str(ports[0]),
             "--workers", "2"],
            [sys.executable, "-m", "planmap.server.cli", "serve", "--port", str(ports[1])]]
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for c in cmds]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for url, proc in zip(urls, procs, strict=True):
            _wait_up(url, proc)
        # a check stored through one instance is read through the other
        req = urllib.request.Request(
            urls[0] + "/api/v1/sitecheck", method="POST",
            data=json.dumps({"geometry": shapely.geometry.mapping(SITE.buffer(0.001))}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            stored = json.loads(r.read())
        status, again = _get(urls[1] + f"/api/v1/sitecheck/{stored['id']}")
        assert status == 200 and again["verdict"] == stored["verdict"]

        # 32 clients query both instances while the CLI imports a layer
        errors, seen = [], {0: None, 1: None}
        stop = threading.Event()

        def client(k):
            i = k % 2
            while not stop.is_set():
                try:
                    status, body = _get(urls[i] + QUERY)
                    if status != 200:
                        errors.append(status)
                    elif "redline_1" in _zone_ids(body) and seen[i] is None:
                        seen[i] = time.monotonic()
                except Exception as exc:  # any failure is what the test counts
                    errors.append(repr(exc))

        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(32)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        subprocess.run([sys.executable, "-m", "planmap.server.cli", "import",
                        str(_redline(tmp_path)),
                        "--layer", "eco_redline", "--crs", "EPSG:4326", "--quiet",
                        "--data-dir", str(mini_data_dir)], env=env, check=True)
        imported = time.monotonic()
        deadline = imported + 5
        while time.monotonic() < deadline and None in seen.values():
            time.sleep(0.1)
        time.sleep(1.0)  # and keep serving after the swap
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert None not in seen.values(), seen
        assert max(seen.values()) - imported <= 5
        # every web worker of the gunicorn instance has the new version (connections spread)
        for _ in range(8):
            assert "redline_1" in _zone_ids(_get(urls[0] + QUERY)[1])
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_a_new_layer_file_changes_only_its_own_entry():
    # signatures list the files in catalog order: a layer added in the middle shifted every
    # later file, so the other plans' files looked changed and their index was rebuilt
    from planmap.server.reload import changed_files

    before = (("catalog.json", 1, 10, 1), ("data/a.geojson", 1, 5, 2),
              ("data/p002_admin.geojson", 1, 7, 3))
    after = (("catalog.json", 2, 12, 4), ("data/a.geojson", 1, 5, 2),
             ("data/new.geojson", 3, 9, 5), ("data/p002_admin.geojson", 1, 7, 3))
    assert changed_files(before, after) == {"catalog.json", "data/new.geojson"}
    assert changed_files(after, before) == {"catalog.json", "data/new.geojson"}
