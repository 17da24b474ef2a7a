"""Many server threads sharing one zone index must not crash the process.

GEOS prepared geometries are not thread-safe (libgeos/geos#825); before ``geo.index``
serialised its prepared predicates, 16 threads doing site checks and point queries on the
shared index segfaulted in two runs out of three (and ``planmap serve`` died under
``bench/bench_load.py``).  The work runs in a subprocess so that a crash is a failed test,
not a dead test run; the results are compared with a single-threaded run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, random, sys, threading
import shapely
from planmap import layers
from planmap.geo.index import ZoneIndex
from planmap.geo.sitecheck import site_check

idx = ZoneIndex.from_plan_data(layers.load())
jobs = []
rng = random.Random(6)
for _ in range(16 * 30):
    lon, lat, d = rng.uniform(122.2, 123.9), rng.uniform(44.7, 45.9), rng.uniform(0.001, 0.004)
    jobs.append((lon, lat, d))

def answer(job):
    lon, lat, d = job
    check = site_check(idx, shapely.box(lon, lat, lon + d, lat + d), rings=[500, 1000])
    point = idx.query_point(lon, lat)
    return [sorted(z["id"] for z in check["zones"]), [z["id"] for z in point["zones"]],
            [(z["id"], round(z["distance_m"], 3)) for z in point["nearest"]]]

expected = [answer(j) for j in jobs[:64]]  # single-threaded reference
got, errors = {}, []

def work(k):
    try:
        for i in range(k, len(jobs), 16):
            got[i] = answer(jobs[i])
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=work, args=(k,)) for k in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"errors": errors, "n": len(got),
                  "mismatch": [i for i in range(64) if got.get(i) != expected[i]]}))
"""


@pytest.mark.slow
def test_sixteen_threads_on_one_index_neither_crash_nor_mix_up_results():
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-3000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["errors"] == []
    assert out["n"] == 16 * 30
    assert out["mismatch"] == []
