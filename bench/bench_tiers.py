"""Tier benchmark: what sorting a point's zones into tiers costs a point query (issue 16).

Run from the repository root:

    python bench/bench_tiers.py [--points 1000] [--rounds 7]

Side by side, on the same seeded random points over Baicheng: ``query_point`` without
tiers (the answer before issue 16), with tiers as dicts (Python callers), with tiers as
cached JSON text (the ``/api/v1/zones`` path), and the naive way — working the tiers out
from the clauses on every query (``geo.tiers._build`` uncached).  Prints a markdown table
(docs/PERFORMANCE.md, section "Answer tiers").
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

from machine import cpu_model  # bench/machine.py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import planmap.geo.index.core as gi  # noqa: E402  (query_point calls core._answer_tiers)
from planmap.geo import tiers  # noqa: E402
from planmap.geo.index import ZoneIndex  # noqa: E402
from planmap.geo.sitecheck import _clause_lookup  # noqa: E402

from planmap import layers  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    load0 = os.getloadavg()
    index = ZoneIndex.from_plan_data(layers.load())
    rng = random.Random(16)
    pts = [(rng.uniform(122.2, 123.9), rng.uniform(44.7, 45.9)) for _ in range(args.points)]
    real = gi._answer_tiers
    templates_of, _ = _clause_lookup(index, index.clauses)

    def naive(i, covering, as_json):
        return tiers._build(i, tuple(covering), templates_of)

    variants = [
        ("query_point, no tiers (before)", lambda i, c, j: {}, {}),
        ("query_point + tiers, naive (built per query)", naive, {}),
        ("query_point + tiers as dicts (cached per zone set)", real, {}),
        ("query_point + tiers as JSON text (API path)", real, {"tiers_as_json": True}),
    ]
    for _label, fn, kw in variants:  # warm every cache first
        gi._answer_tiers = fn
        for lon, lat in pts:
            index.query_point(lon, lat, **kw)
    # Interleaved rounds, median per variant: the machine is shared, load comes in bursts.
    times: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    for _ in range(args.rounds):
        for label, fn, kw in variants:
            gi._answer_tiers = fn
            t = time.perf_counter()
            for lon, lat in pts:
                index.query_point(lon, lat, **kw)
            times[label].append((time.perf_counter() - t) / len(pts) * 1e6)
    gi._answer_tiers = real
    rows = [(label, statistics.median(v)) for label, v in times.items()]
    print(f"{len(pts)} random points x {args.rounds} interleaved rounds (median); "
          f"{cpu_model()}, Python {platform.python_version()}; "
          f"load average {load0[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end\n")
    print("| variant | median of round means, µs / query |\n|---|---:|")
    for label, us in rows:
        print(f"| {label} | {us:,.0f} |")


if __name__ == "__main__":
    main()
