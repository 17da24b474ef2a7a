"""Check store: saves per second with the quota/expiry bookkeeping on and off.

Run:  python bench/bench_store.py [--saves 3000]

Saves ``--saves`` checks of ~22 KB (100 zone entries) into a fresh SQLite file, once with
the default quotas and expiry (``STORE_MAX_CHECKS``, ``STORE_MAX_BYTES``,
``STORE_MAX_AGE_DAYS``: one row read of the running totals per save, the purge at most once
a minute) and once with all three 0 (no quota read); the two runs alternate twice.
Prints saves/s of each and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run(saves: int, bounded: bool) -> float:
    from planmap.server.settings import DEFAULTS
    from planmap.server.store import CheckStore

    kw = {"max_checks": DEFAULTS["STORE_MAX_CHECKS"], "max_bytes": DEFAULTS["STORE_MAX_BYTES"],
          "max_age_s": DEFAULTS["STORE_MAX_AGE_DAYS"] * 86400} if bounded else {}
    store = CheckStore(Path(tempfile.mkdtemp(prefix="planmap-bench-store-")) / "c.db", **kw)
    result = {"zones": [{"id": f"z{i}", "x": "a" * 200} for i in range(100)]}
    site = {"type": "Point", "coordinates": [122.8, 45.6]}
    t = time.perf_counter()
    for _ in range(saves):
        store.save(result, site)
    return saves / (time.perf_counter() - t)


def main() -> int:
    from bench.machine import cpu_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--saves", type=int, default=3000)
    args = ap.parse_args()
    rates = {True: [], False: []}
    for _ in range(2):
        for bounded in (False, True):
            rates[bounded].append(run(args.saves, bounded))
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for bounded, label in ((False, "no quotas/expiry"), (True, "default quotas + expiry")):
        print(f"{label:24s} best {max(rates[bounded]):.0f} saves/s "
              f"(runs: {', '.join(f'{r:.0f}' for r in rates[bounded])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
