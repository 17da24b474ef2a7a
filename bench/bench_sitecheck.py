"""The HTTP site check over an in-place store layer, in process (issue 12: p99 ≤ 100 ms).

Run:  python bench/bench_sitecheck.py /work/data/b/home_1000000 [--sites 60] [--profile]
      python bench/bench_sitecheck.py HOME --workers 2      (the worker-process path)

``HOME`` holds ``store/`` (``planmap import … --store HOME/store``); it is opened read-only
(the check store and the index cache go to a temporary folder, or ``--cache DIR`` to keep
the index cache between runs).  ``create_app`` with ``WORKERS=0`` (default) and Flask's
test client send ``POST /api/v1/sitecheck`` of seeded 1 km² sites inside the city; the
bench prints, per request, wall-clock p50/p99 and the process's CPU time p50/p99
(``time.process_time``: robust to the other processes on a shared machine), and the
phases (``site_check``, report drawing, JSON, store) by cProfile with ``--profile``.
Prints a JSON document with ``uptime`` before and after.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import SITE_DEG, _points, _site_body  # noqa: E402


def _pcts(values: list[float]) -> dict:
    v = sorted(values)
    if not v:
        return {}

    def pct(p):
        return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] * 1000

    return {"n": len(v), "p50_ms": round(pct(50), 1), "p99_ms": round(pct(99), 1),
            "mean_ms": round(sum(v) / len(v) * 1000, 1), "max_ms": round(v[-1] * 1000, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("home", type=Path, help="folder holding store/ (read only)")
    ap.add_argument("--sites", type=int, default=60)
    ap.add_argument("--warm", type=int, default=3, help="requests before measuring")
    ap.add_argument("--seed", type=int, default=1000000)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=None, help="index cache folder to keep")
    ap.add_argument("--freeze", action="store_true", help="gc.freeze() after start")
    ap.add_argument("--profile", action="store_true", help="cProfile the measured requests")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench_sitecheck_"))
    home = tmp / "home"
    home.mkdir()
    # the store is read in place; the link keeps the prepared data read-only
    (home / "store").symlink_to((args.home / "store").resolve())
    os.environ["PLANMAP_HOME"] = str(home)
    os.environ.pop("PLANMAP_DATABASE_URL", None)
    os.environ.pop("PLANMAP_DATA_DIR", None)
    cache = args.cache or tmp / "cache"
    from planmap.server import create_app

    out = {"uptime_before": subprocess.run(["uptime"], capture_output=True,
                                           text=True).stdout.strip()}
    t = time.perf_counter()
    app = create_app({"TESTING": True, "WORKERS": args.workers, "CACHE_DIR": str(cache),
                      "DB_PATH": str(tmp / "checks.sqlite3"), "RATE_LIMIT_EXPENSIVE": 0,
                      "RATE_LIMIT_CHEAP": 0})
    out["create_app_s"] = round(time.perf_counter() - t, 1)
    out["gc_tracked_after_start"] = len(gc.get_objects())
    if args.freeze:
        gc.freeze()
    client = app.test_client()
    pts = _points(args.sites + args.warm, args.seed)
    bodies = [_site_body(x, y) for x, y in pts]
    for body in bodies[: args.warm]:
        r = client.post("/api/v1/sitecheck", data=body, content_type="application/json")
        assert r.status_code == 201, r.get_data(as_text=True)[:500]
    wall, cpu, rings = [], [], []
    pauses, started = [], []

    def on_gc(phase, info):  # the collector's pauses (CPU time), a source of tail latency
        if phase == "start":
            started.append(time.process_time())
        elif started:
            pauses.append((info.get("generation"), time.process_time() - started.pop()))

    gc.callbacks.append(on_gc)
    prof = cProfile.Profile() if args.profile else None
    for body in bodies[args.warm:]:
        if prof:
            prof.enable()
        t, c = time.perf_counter(), time.process_time()
        r = client.post("/api/v1/sitecheck", data=body, content_type="application/json")
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        if prof:
            prof.disable()
        assert r.status_code == 201, r.get_data(as_text=True)[:500]
        rings.append(sum(len(g.get("zones") or []) for g in r.get_json().get("rings") or []))
    gc.callbacks.remove(on_gc)
    out["gc_tracked_after"] = len(gc.get_objects())
    slow = sorted(range(len(cpu)), key=lambda i: -cpu[i])[:3]
    out.update({"slowest_cpu_ms": [(round(cpu[i] * 1000, 1), rings[i]) for i in slow],
                "gc": {"collections": len(pauses),
                       "gen2": sum(1 for g, _ in pauses if g == 2),
                       "max_pause_ms": round(max([p for _, p in pauses] or [0]) * 1000, 1),
                       "total_ms": round(sum(p for _, p in pauses) * 1000, 1)}})
    out.update({"sites": args.sites, "site_deg": SITE_DEG, "workers": args.workers,
                "wall": _pcts(wall), "cpu": _pcts(cpu),
                "ring_entries_mean": round(sum(rings) / max(1, len(rings))),
                "uptime_after": subprocess.run(["uptime"], capture_output=True,
                                               text=True).stdout.strip()})
    print(json.dumps(out, indent=1))
    if prof:
        stats = pstats.Stats(prof, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
