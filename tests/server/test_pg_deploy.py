"""The deployment of issue 13 on loopback: two ``planmap serve`` instances on two ports (one of
them gunicorn with two web workers), each with its own data folder and its own SQLite paths,
sharing one PostGIS database (``PLANMAP_DATABASE_URL``, tests/pgcluster.py).

What a bureau behind a load balancer relies on: a check stored through one instance is read
through the other; a user created and logged in on one is valid on the other (the session is
in the database); a layer import from the CLI into the PostGIS store during a 32-client load
gives no failed request and both instances (every web worker) serve it within 5 s.
Skipped locally without PostgreSQL, failed under ``PLANMAP_REQUIRE_EXTERNAL=1``.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import geopandas as gpd
import pyogrio
import pytest
import shapely

PASSWORD = "a long test password"
ORG = "白城市自然资源局"
CIT = ("000_f32aaef515cfbb76", 849, "严格执行生态保护红线管理办法")
SITE = shapely.Point(122.40, 45.30)  # in the mini county 220802 (tests/conftest.py) and Baicheng
QUERY = f"/api/v1/zones?lon={SITE.x}&lat={SITE.y}"
LAYER = "bureau_redline"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, opener=None, timeout=30):
    with (opener or urllib.request.build_opener()).open(url, timeout=timeout) as r:
        return r.status, json.loads(r.read())


def _reloads(logs) -> list[str]:
    out = []
    for log in logs:
        log.seek(0)
        out += [ln for ln in log.read().decode(errors="replace").splitlines()
                if "new data version" in ln]
    return out


def _wait_up(url: str, proc, log, seconds=120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise AssertionError(f"server exited: {log.read().decode()[-2000:]}")
        try:
            _get(url + "/-/health", timeout=2)
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.3)
    raise AssertionError(f"{url} did not start")


class Browser:
    """One user agent: a cookie jar, sent to every port of 127.0.0.1 (cookies ignore ports)."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name):
        return next((c.value for c in self.jar if c.name == name), None)

    def post_form(self, url, fields):
        data = urllib.parse.urlencode({**fields, "csrf_token": self.cookie("planmap_csrf")})
        with self.opener.open(urllib.request.Request(url, data=data.encode(), method="POST"),
                              timeout=60) as r:
            return r.status

    def login(self, base, username):
        self.opener.open(base + "/auth/login", timeout=30).read()  # the CSRF cookie
        return self.post_form(base + "/auth/login", {"username": username,
                                                     "password": PASSWORD, "next": "/"})

    def me(self, base):
        return _get(base + "/auth/me", self.opener)[1]["user"]


def _redline(path):
    frame = gpd.GeoDataFrame({"id": ["bureau_redline_1"], "name_zh": ["生态保护红线（测试）"],
                              "citation_seed": [CIT[0]], "citation_line": [CIT[1]],
                              "citation_quote": [CIT[2]]},
                             geometry=[SITE.buffer(0.02)], crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path)
    return path


def _zone_ids(body: dict) -> set:
    return {z["id"] for z in body["zones"]}


@pytest.mark.slow
def test_two_instances_on_one_postgis(pg_url, mini_data_dir, tmp_path):
    from tests import pgcluster

    for url in pgcluster.fresh_database(pg_url, postgis=True):
        _deployment(url, mini_data_dir, tmp_path)


def _deployment(url, mini_data_dir, tmp_path):
    base_env = {**os.environ, "PLANMAP_DATABASE_URL": url, "PLANMAP_WORKERS": "1",
                "PLANMAP_RATE_LIMIT_CHEAP": "0", "PLANMAP_RATE_LIMIT_EXPENSIVE": "0",
                "PLANMAP_LOGIN_RATE_PER_MIN": "0", "PLANMAP_ARGON2_MEMORY_KIB": "1024",
                "PLANMAP_DATA_CHECK_S": "0.5"}
    envs = []
    for name in ("a", "b"):  # nothing on disk is shared: each has its own folder and files
        data_dir = tmp_path / name / "data"
        shutil.copytree(mini_data_dir, data_dir)
        envs.append({**base_env, "PLANMAP_DATA_DIR": str(data_dir),
                     "PLANMAP_DB_PATH": str(tmp_path / name / "checks.sqlite3"),
                     "PLANMAP_HOME": str(tmp_path / name / "home"),
                     "PLANMAP_CACHE_DIR": str(tmp_path / name / "cache")})
    ports = [_free_port(), _free_port()]
    cmds = [[sys.executable, "-m", "planmap.server.cli", "serve", "--port", str(ports[0]),
             "--workers", "2"],
            [sys.executable, "-m", "planmap.server.cli", "serve", "--port", str(ports[1])]]
    logs = [open(tmp_path / f"serve-{i}.log", "w+b") for i in range(2)]  # noqa: SIM115
    procs = [subprocess.Popen(c, env=e, stdout=subprocess.DEVNULL, stderr=log)
             for c, e, log in zip(cmds, envs, logs, strict=True)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    cli = [sys.executable, "-m", "planmap.server.cli"]
    try:
        for base, proc, log in zip(urls, procs, logs, strict=True):
            _wait_up(base, proc, log)

        # a check stored through one instance is read through the other
        req = urllib.request.Request(
            urls[0] + "/api/v1/sitecheck", method="POST",
            data=json.dumps({"geometry": shapely.geometry.mapping(SITE.buffer(0.001))}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            stored = json.loads(r.read())
        status, again = _get(urls[1] + f"/api/v1/sitecheck/{stored['id']}")
        assert status == 200 and again["verdict"] == stored["verdict"]
        assert not (tmp_path / "a" / "checks.sqlite3").exists()  # it is in the database

        # accounts: an admin made by the CLI logs in on A; its session is valid on B; a user
        # it creates on A logs in on B
        subprocess.run(cli + ["user", "add", "chief", "--org", ORG, "--role", "admin"],
                       env={**envs[0], "PLANMAP_NEW_PASSWORD": PASSWORD}, check=True,
                       capture_output=True)
        admin = Browser()
        assert admin.login(urls[0], "chief") == 200  # (the 303 is followed to the map)
        assert admin.me(urls[1])["username"] == "chief"
        assert admin.post_form(urls[1] + "/admin/users", {
            "username": "newbie", "password": PASSWORD, "org": ORG, "role": "planner"}) == 200
        planner = Browser()
        assert planner.me(urls[0]) is None
        planner.login(urls[0], "newbie")
        assert planner.me(urls[1])["username"] == "newbie"

        # 32 clients query both instances while the CLI imports a layer into the PostGIS store
        before = [_zone_ids(_get(u + QUERY)[1]) for u in urls]
        assert all("bureau_redline_1" not in b for b in before)
        errors, seen, done = [], {0: None, 1: None}, [0]
        stop = threading.Event()

        def client(k):
            i = k % 2
            while not stop.is_set():
                try:
                    status, body = _get(urls[i] + QUERY)
                    done[0] += 1
                    if status != 200:
                        errors.append(status)
                    elif "bureau_redline_1" in _zone_ids(body) and seen[i] is None:
                        seen[i] = time.monotonic()
                except Exception as exc:  # any failure is what the test counts
                    errors.append(repr(exc))

        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(32)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        subprocess.run(cli + ["import", str(_redline(tmp_path / "redline.gpkg")), "--layer",
                              LAYER, "--crs", "EPSG:4326", "--quiet"],
                       env=envs[1], check=True, capture_output=True)
        imported = time.monotonic()
        deadline = imported + 10
        while time.monotonic() < deadline and None in seen.values():
            time.sleep(0.05)
        time.sleep(1.0)  # and keep serving after the swap
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert done[0] >= 100, done  # a real load, bounded by the time it runs
        assert None not in seen.values(), seen
        lag = max(seen.values()) - imported
        print(f"\nboth instances served the import {lag:.2f} s after it finished "
              f"(A {seen[0] - imported:.2f} s, B {seen[1] - imported:.2f} s); "
              f"{done[0]} requests, 0 errors; reloads: {_reloads(logs)}")
        assert lag <= 5
        # every web worker of the gunicorn instance has the new version (connections spread)
        for _ in range(8):
            assert "bureau_redline_1" in _zone_ids(_get(urls[0] + QUERY)[1])
        # the CLI's import is in the shared audit log (read with instance B's settings)
        rows = subprocess.run(cli + ["audit", "--action", "import"], env=envs[1], check=True,
                              capture_output=True, text=True).stdout
        assert LAYER in rows
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
