"""The attacks of issue 22, replayed against a real ``planmap serve`` on 127.0.0.1.

Each test starts ``planmap serve`` (waitress, 8 threads, the default worker pool) as a
subprocess with a private SQLite file, runs bounded client loops that stop by themselves
after ``PLANMAP_ATTACK_SECONDS`` (default 20 s; docs/SECURITY.md records 60 s runs), and
only ever talks to loopback.  What a user relies on:

* point queries answer within 200 ms (p99) while eight attackers send pathological site
  checks, one-spot batch floods and report requests (on a shared machine: within 200 ms
  more than the same probe without attackers), and nothing answers 5xx;
* a thousand site checks through the worker pool under load are all answered (no
  false ``time_limit_exceeded``: the fork-after-threads deadlock is gone);
* resident memory grows ≤ 10 % over a mixed load;
* 150 slow sockets (slowloris) neither delay the health probe past 1 s nor stay open.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import socket
import threading
import time

import numpy as np
import pytest

from tests.reliability.support import child_pids, planmap_serve, rss_kib

SECONDS = float(os.environ.get("PLANMAP_ATTACK_SECONDS", "20"))
POOL_CHECKS = int(os.environ.get("PLANMAP_POOL_CHECKS", "200"))
LON, LAT = (122.2, 123.9), (44.7, 45.9)  # inside Baicheng
SPOT = (122.835, 45.615)


def _request(base, method, path, body=None, headers=None, timeout=120):
    """(status, seconds, body bytes) of one request on a fresh connection."""
    host, port = base.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, time.perf_counter() - started, data
    finally:
        conn.close()


def _post_json(base, path, obj, timeout=120):
    return _request(base, "POST", path, json.dumps(obj).encode(),
                    {"Content-Type": "application/json"}, timeout)


def _star(n: int, spikes_m=20_000.0) -> dict:
    from planmap.geo import crs

    cx, cy = crs.from_wgs84(np.array([122.84]), np.array([45.62]), "EPSG:4550")
    ang = np.linspace(0, 2 * math.pi, n, endpoint=False)
    r = np.where(np.arange(n) % 2 == 0, spikes_m, 500.0)
    lon, lat = crs.to_wgs84(cx[0] + r * np.cos(ang), cy[0] + r * np.sin(ang), "EPSG:4550")
    coords = np.c_[lon, lat].round(7).tolist()
    return {"type": "Polygon", "coordinates": [coords + coords[:1]]}


def _box(rng) -> dict:
    lon, lat, d = rng.uniform(*LON), rng.uniform(*LAT), rng.uniform(0.001, 0.004)
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _wait_for_workers(base) -> None:
    """The first site check waits for the workers to build their zone index."""
    status, _, body = _post_json(base, "/api/v1/sitecheck", {"geometry": {
        "type": "Point", "coordinates": list(SPOT)}}, timeout=300)
    assert status == 201, body[:300]


def _p99(values) -> float:
    return float(np.percentile(np.asarray(values), 99)) if values else float("nan")


class Loop(threading.Thread):
    """Repeat ``job()`` until ``stop`` is set (or ``until`` passes); keep every status."""

    def __init__(self, job, stop, until):
        super().__init__(daemon=True)
        self.job, self.stop, self.until = job, stop, until
        self.statuses, self.errors, self.times = [], [], []

    def run(self):
        while not self.stop.is_set() and time.monotonic() < self.until:
            try:
                status, seconds, _ = self.job()
                self.statuses.append(status)
                self.times.append(seconds)
            except OSError as exc:  # a refused or dropped connection is a failure too
                self.errors.append(repr(exc))
                time.sleep(0.2)


def _prober(base, stop, until, path_fn):
    """Point queries one after another on a keep-alive connection, with their latency."""
    host, port = base.rsplit("/", 1)[1].split(":")
    out = {"times": [], "statuses": [], "errors": []}

    def run():
        rng = random.Random(5)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        while not stop.is_set() and time.monotonic() < until:
            started = time.perf_counter()
            try:
                conn.request("GET", path_fn(rng))
                response = conn.getresponse()
                response.read()
                out["times"].append(time.perf_counter() - started)
                out["statuses"].append(response.status)
            except OSError as exc:
                out["errors"].append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
            time.sleep(0.02)
        conn.close()

    thread = threading.Thread(target=run, daemon=True)
    return thread, out


_PROBE_SCRIPT = r"""
import http.client, json, random, sys, time
host, port, seconds, kind = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rng = random.Random(5)
out = {"times": [], "statuses": [], "errors": []}
conn = http.client.HTTPConnection(host, port, timeout=30)
until = time.monotonic() + seconds
while time.monotonic() < until:
    path = "/-/health" if kind == "health" else (
        f"/api/v1/zones?lon={rng.uniform(122.2, 123.9):.6f}&lat={rng.uniform(44.7, 45.9):.6f}")
    started = time.perf_counter()
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        out["times"].append(time.perf_counter() - started)
        out["statuses"].append(response.status)
    except OSError as exc:
        out["errors"].append(repr(exc))
        conn.close()
        conn = http.client.HTTPConnection(host, port, timeout=30)
    time.sleep(0.02)
print(json.dumps(out))
"""


class ProbeProcess:
    """The latency probe in a process of its own, so that the attackers' threads in this
    process (their GIL) do not add to the latency it measures."""

    def __init__(self, base, seconds, kind="point"):
        import subprocess
        import sys

        host, port = base.rsplit("/", 1)[1].split(":")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _PROBE_SCRIPT, host, port, str(seconds), kind],
            stdout=subprocess.PIPE)

    def result(self, timeout) -> dict:
        out, _ = self.proc.communicate(timeout=timeout)
        return json.loads(out)


def _point_path(rng) -> str:
    return f"/api/v1/zones?lon={rng.uniform(*LON):.6f}&lat={rng.uniform(*LAT):.6f}"


def test_point_queries_stay_fast_while_eight_attackers_run(tmp_path):
    # a 5 s limit (default 30 s) so that killed and replaced workers happen inside the run
    with planmap_serve(tmp_path, {"PLANMAP_REQUEST_TIME_LIMIT_S": "5"}) as (base, pid):
        _wait_for_workers(base)
        # a stored check of a large site, whose report page is the costliest GET
        status, _, body = _post_json(base, "/api/v1/sitecheck", {"geometry": _star(3000, 3000.0)})
        assert status in (201, 413), body[:300]
        if status != 201:  # too slow on this machine: any complex stored check will do
            status, _, body = _post_json(base, "/api/v1/sitecheck", {"geometry": _star(200)})
            assert status == 201, body[:300]
        report = "/report/" + json.loads(body)["id"]
        # the same probe without attackers first: what this (shared) machine itself adds
        quiet = ProbeProcess(base, min(8.0, SECONDS / 2)).result(60)
        star = json.dumps({"geometry": _star(499), "rings": [100000]}).encode()
        # 1 M points at one spot (19 MiB, under MAX_BODY_BYTES): 18 M pairs if answered
        flood = ("id,lon,lat\n" + "".join(f"{i},122.83,45.61\n"
                                          for i in range(1_000_000))).encode()
        stop = threading.Event()
        until = time.monotonic() + SECONDS
        jobs = (
            [lambda: _request(base, "POST", "/api/v1/sitecheck", star,
                              {"Content-Type": "application/json"})] * 3
            + [lambda: _request(base, "POST", "/api/v1/zones", flood,
                                {"Content-Type": "text/csv"})] * 3
            + [lambda: _request(base, "GET", report)] * 2
        )
        attackers = [Loop(job, stop, until) for job in jobs]
        for a in attackers:
            a.start()
        time.sleep(1.0)  # let the attack take hold before measuring
        out = ProbeProcess(base, SECONDS - 1.0).result(SECONDS + 60)
        stop.set()
        for a in attackers:
            a.join(180)
        statuses = [s for a in attackers for s in a.statuses] + out["statuses"]
        summary = {
            "p99_ms": round(_p99(out["times"]) * 1000, 1), "probes": len(out["times"]),
            "p50_ms": round(float(np.median(out["times"])) * 1000, 1),
            "quiet_p99_ms": round(_p99(quiet["times"]) * 1000, 1),
            "quiet_p50_ms": round(float(np.median(quiet["times"])) * 1000, 1),
            "per_attacker": [sorted(set(a.statuses)) for a in attackers],
            "attack_requests": [len(a.statuses) for a in attackers],
            "attack_statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
            "errors": [e for a in attackers for e in a.errors] + out["errors"],
            "load": os.getloadavg()}
        print("attack summary:", json.dumps(summary))
        assert not summary["errors"], summary
        assert not [s for s in statuses if s >= 500], summary
        assert set(out["statuses"]) == {200}, summary
        assert len(out["times"]) >= SECONDS * 5, summary
        # ≤ 200 ms on a quiet machine; on a shared one, ≤ 200 ms more than the same probe
        # measured just before without attackers (the attack's share of the latency)
        assert summary["p99_ms"] <= 200 + summary["quiet_p99_ms"], summary
        flood_statuses = {s for a in attackers[3:6] for s in a.statuses}
        assert flood_statuses <= {413, 429}, summary  # refused, never answered in full
        status, _, body = _request(base, "GET", "/-/health")
        assert status == 200 and json.loads(body)["status"] == "ok"


def test_pool_checks_under_load_never_time_out_falsely(tmp_path):
    with planmap_serve(tmp_path, {"PLANMAP_RATE_LIMIT_EXPENSIVE": "0"}) as (base, pid):
        _wait_for_workers(base)
        workers_before = sorted(child_pids(pid))
        stop = threading.Event()
        until = time.monotonic() + 600
        probes = [_prober(base, stop, until, _point_path) for _ in range(2)]
        for thread, _ in probes:
            thread.start()
        rng = random.Random(22)
        sites = [_box(rng) for _ in range(POOL_CHECKS)]
        lock = threading.Lock()
        statuses = []

        def checker(k):
            for site in sites[k::6]:
                status, _, body = _post_json(base, "/api/v1/sitecheck", {"geometry": site})
                with lock:
                    statuses.append(status if status != 413 else json.loads(body)["error"]["code"])

        threads = [threading.Thread(target=checker, args=(k,)) for k in range(6)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        elapsed = time.perf_counter() - started
        stop.set()
        for thread, _ in probes:
            thread.join(60)
        counts = {str(s): statuses.count(s) for s in set(statuses)}
        print("pool checks:", json.dumps({"checks": len(statuses), "seconds": round(elapsed, 1),
                                          "statuses": counts, "load": os.getloadavg()}))
        assert len(statuses) == POOL_CHECKS
        assert counts == {"201": POOL_CHECKS}, counts  # 0 false time_limit_exceeded, 0 busy
        assert sorted(child_pids(pid)) == workers_before  # no worker was killed or replaced
        assert all(set(out["statuses"]) == {200} for _, out in probes)


def test_memory_grows_at_most_ten_percent_over_a_mixed_load(tmp_path):
    # one address stands for many users here: the per-client limits are off
    env = {"PLANMAP_RATE_LIMIT_EXPENSIVE": "0", "PLANMAP_RATE_LIMIT_CHEAP": "0"}
    with planmap_serve(tmp_path, env) as (base, pid):
        _wait_for_workers(base)
        rng = random.Random(8)
        exports = ("/export/admin.geojson", "/export/urban.geojson", "/export/parks.csv",
                   "/export/ecology.kml")
        batch = ("id,lon,lat\n" + "".join(
            f"b{i},{rng.uniform(*LON):.5f},{rng.uniform(*LAT):.5f}\n"
            for i in range(20_000))).encode()

        def mixed(r):
            kind = r.random()
            if kind < 0.45:
                return _request(base, "GET", _point_path(r))
            if kind < 0.65:
                return _post_json(base, "/api/v1/sitecheck", {"geometry": _box(r)})
            if kind < 0.75:
                return _request(base, "POST", "/api/v1/zones", batch, {"Content-Type": "text/csv"})
            if kind < 0.85:
                return _request(base, "GET", exports[int(r.random() * len(exports))])
            if kind < 0.92:
                return _request(base, "GET", "/")
            return _request(base, "GET", "/ogc/collections/urban/items?limit=50")

        def run_load(seconds, seed):
            stop = threading.Event()
            until = time.monotonic() + seconds
            loops = [Loop(lambda r=random.Random(seed + k): mixed(r), stop, until)
                     for k in range(8)]
            for loop in loops:
                loop.start()
            for loop in loops:
                loop.join(seconds + 180)
            return loops

        for path in exports:  # fill the caches (map page, exports) before the first reading
            _request(base, "GET", path)
        run_load(min(10.0, SECONDS / 2), 1)  # warm-up: the same mix, shorter
        time.sleep(1)
        before = rss_kib(pid)
        loops = run_load(SECONDS, 100)
        time.sleep(1)
        after = rss_kib(pid)
        statuses = [s for loop in loops for s in loop.statuses]
        growth = (after - before) / before
        summary = {"requests": len(statuses), "rss_before_mib": round(before / 1024),
                   "rss_after_mib": round(after / 1024), "growth_pct": round(100 * growth, 1),
                   "worker_rss_mib": [round(rss_kib(p) / 1024) for p in child_pids(pid)
                                      if os.path.exists(f"/proc/{p}/status")],
                   "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
                   "p99_ms": round(_p99([t for loop in loops for t in loop.times]) * 1000),
                   "load": os.getloadavg()}
        print("mixed load:", json.dumps(summary))
        assert not [e for loop in loops for e in loop.errors], summary
        assert not [s for s in statuses if s >= 500], summary
        assert len(statuses) >= SECONDS * 5, summary
        assert growth <= 0.10, summary


def test_slow_sockets_neither_delay_the_health_probe_nor_stay_open(tmp_path):
    env = {"PLANMAP_HEADER_TIMEOUT_S": "5"}
    with planmap_serve(tmp_path, env) as (base, pid):
        port = int(base.rsplit(":", 1)[1])
        socks = []
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /-/health HTTP/1.1\r\nHost: localhost\r\n")
            socks.append(s)
        stop = threading.Event()
        duration = max(12.0, min(SECONDS, 30.0))
        until = time.monotonic() + duration
        closed = set()

        def drip():  # one header byte a second per socket: never inactive, never complete
            while not stop.is_set() and time.monotonic() < until:
                for i, s in enumerate(socks):
                    if i in closed:
                        continue
                    try:
                        s.sendall(b"X")
                    except OSError:
                        closed.add(i)
                time.sleep(1.0)

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        out = ProbeProcess(base, duration, "health").result(duration + 30)
        stop.set()
        dripper.join(10)
        for i, s in enumerate(socks):  # a socket the server closed reads EOF (or a reset)
            if i in closed:
                continue
            s.settimeout(0.5)
            try:
                if s.recv(1024) == b"":
                    closed.add(i)
            except (ConnectionResetError, BrokenPipeError):
                closed.add(i)
            except OSError:
                pass
        for s in socks:
            s.close()
        summary = {"probes": len(out["times"]), "max_ms": round(max(out["times"]) * 1000),
                   "closed_by_server": len(closed), "load": os.getloadavg()}
        print("slowloris:", json.dumps(summary))
        assert not out["errors"] and set(out["statuses"]) == {200}, summary
        assert max(out["times"]) <= 1.0, summary
        assert len(closed) == 150, summary  # none outlived HEADER_TIMEOUT_S


if not hasattr(os, "getloadavg") or not os.path.exists("/proc/self/status"):
    pytestmark = pytest.mark.skip(reason="needs Linux /proc to read server memory")
