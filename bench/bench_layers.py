"""Benchmark: layers.load() and planmap import on the built-in data.

Run:  python bench/bench_layers.py            (prints the figures)
      python bench/bench_layers.py --write    (also updates its section of docs/PERFORMANCE.md)

Loading happens at every server start and every CLI call, so it should stay well
under a second; an import re-validates the whole data dir and writes atomically.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planmap.layers.importer import import_layer  # noqa: E402

from planmap import layers  # noqa: E402

SECTION = "## layers: load and import (bench/bench_layers.py)"


def _timed(fn, repeat):
    """Median and best wall time, and median CPU time (what a busy machine does not inflate)."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--write", action="store_true")
    args = p.parse_args()

    data = layers.load()
    n_features = sum(len(g) for g in data.layers.values())
    data_bytes = sum((layers.PACKAGE_DIR / e["file"]).stat().st_size for e in data.catalog)
    rows = []
    rows.append(("layers.load() strict, built-in data", *_timed(lambda: layers.load(),
                                                                 args.repeat)))
    rows.append(("layers.load(strict=False)", *_timed(lambda: layers.load(strict=False),
                                                       args.repeat)))

    def all_features():
        layers.load().all_features()

    rows.append(("load + all_features()", *_timed(all_features, args.repeat)))

    with tempfile.TemporaryDirectory() as tmp:
        d = layers.copy_data_dir(tmp)
        for lid in ("admin", "ecology"):
            src = layers.PACKAGE_DIR / "data" / f"{lid}.geojson"
            rows.append((f"import_layer({lid}.geojson, {src.stat().st_size // 1024} KiB)",
                         *_timed(lambda s=src, lid=lid: import_layer(s, lid, data_dir=d),
                                 max(3, args.repeat // 3))))

    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
               f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
               f"1-min load average {load_avg:.1f} when run")
    lines = [
        SECTION,
        "",
        f"Data: {len(data.catalog)} layers, {n_features} features, "
        f"{data_bytes / 1024:.0f} KiB of GeoJSON; {args.repeat} runs (import: fewer).",
        f"Machine: {machine}.",
        "",
        "`layers.load()` runs once per process (server start, each CLI command); an import",
        "re-reads and re-validates the whole data folder, then writes atomically. On a busy",
        "machine wall time grows; CPU time is what the work itself costs.",
        "",
        "| operation | wall median | wall best | CPU median |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {med * 1000:.0f} ms | {best * 1000:.0f} ms | {cpu * 1000:.0f} ms |"
              for name, med, best, cpu in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        path = ROOT / "docs" / "PERFORMANCE.md"
        old = path.read_text("utf-8") if path.exists() else "# Performance\n"
        if SECTION in old:
            head, rest = old.split(SECTION, 1)
            nxt = rest.find("\n## ")
            tail = rest[nxt + 1:] if nxt >= 0 else ""
            new = head + text + ("\n" + tail if tail else "")
        else:
            new = old.rstrip("\n") + "\n\n" + text
        path.write_text(new, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
