"""Coverage-guided fuzzing of every input parser (issue 20).

Each target feeds bytes to one parser *below* the catch-all of ``geo.io.parse_site`` /
``parse_points`` (which would turn any surprise into a generic ``invalid_<format>``), so
every exception class other than :class:`geo.errors.PlanmapError` counts as a crash and gets
its own code and regression test in ``tests/reliability/test_fuzz_regressions.py``.

Run one target (libFuzzer options after the name; the first directory collects new inputs,
the others are read-only seeds)::

    python -m tests.reliability.fuzz kml -max_total_time=600 .fuzz-corpus/kml \\
        tests/reliability/fuzz_corpus/kml

or every target in turn, sharing the time, with the corpus kept in ``.fuzz-corpus/``::

    python -m tests.reliability.fuzz --all --seconds 3600

The engine is atheris (libFuzzer driving instrumented Python bytecode of ``geo`` and
``layers``).  Where atheris is not installed (it has wheels for Linux x86-64 only) the same
targets run under a plain mutation loop over the seeds: still useful, but not coverage-guided.
``tests/reliability/test_fuzz.py`` runs every target for a CI-sized time box.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
SITES = ROOT / "tests" / "data" / "sites"

# Site parsers, point batches, and the importer's readers (which go through GDAL).
TARGETS = ("geojson", "wkt", "kml", "kmz", "shapefile", "txt", "points_csv", "points_geojson",
           "import_geojson", "import_gpkg", "import_shpzip")

# Seeds: the test sample files of each format plus small files in fuzz_corpus/<target>/.
_SAMPLES = {
    "geojson": ["parcel.geojson"], "wkt": ["parcel.wkt"], "kml": ["parcel.kml"],
    "kmz": ["parcel.kmz"], "shapefile": ["parcel_shp.zip"],
    "txt": ["parcel.txt", "parcel_utf8.txt", "two_parcels.txt"],
    "import_geojson": ["parcel.geojson"], "import_shpzip": ["parcel_shp.zip"],
}


def seed_dirs(target: str) -> list[Path]:
    """Read-only seed folders of ``target`` (the committed corpus and the sample files)."""
    out = []
    committed = CORPUS / target
    if committed.is_dir():
        out.append(committed)
    return out


def seed_files(target: str) -> list[Path]:
    files = [SITES / name for name in _SAMPLES.get(target, [])]
    for folder in seed_dirs(target):
        files.extend(sorted(p for p in folder.iterdir() if p.is_file()))
    return files


def make_target(target: str):
    """Return ``run(data: bytes)`` that feeds ``data`` to the parser of ``target``.

    ``run`` raises whatever the parser raises; only :class:`geo.errors.PlanmapError` is
    an acceptable answer to bad input.
    """
    from planmap.geo import crs as gcrs
    from planmap.geo.io import common, points, site
    from planmap.geo.limits import Limits

    # Small limits: the same code paths, a thousand times cheaper per input.
    limits = Limits(max_bytes=256 * 1024, max_vertices=20_000, max_parts=100,
                    max_points=20_000, max_unzipped_bytes=8 * 1024 * 1024)

    if target in site._SITE_PARSERS:
        parse = site._SITE_PARSERS[target]

        def run(data: bytes) -> None:
            raw = common._as_bytes(data, limits)
            parse(raw, None, limits, len(data) % 2 == 1)  # repair on odd lengths
        return run

    if target.startswith("points_"):
        read = points._points_csv if target == "points_csv" else points._points_geojson

        def run(data: bytes) -> None:
            raw = common._as_bytes(data, limits, "points")
            _ids, x, y, _line_of = read(raw, limits)
            gcrs.to_wgs84(x, y, gcrs.WGS84, param="points")
        return run

    from planmap.layers import importer

    suffix = {"import_geojson": ".geojson", "import_gpkg": ".gpkg",
              "import_shpzip": ".zip"}[target]
    folder = Path(tempfile.mkdtemp(prefix="planmap-fuzz-"))
    path = folder / f"fuzz{suffix}"

    def run(data: bytes) -> None:
        path.write_bytes(data)
        frame = importer._read(path, "fuzz")
        if len(frame) == 0:
            return
        src, supported = importer._resolve_crs(frame.crs, None)
        importer._geometries(frame, src, supported, path)
    return run


def make_one_input(target: str):
    """The fuzz target: :func:`make_target` with :class:`PlanmapError` as the one answer."""
    from planmap.geo.errors import PlanmapError

    run = make_target(target)

    def one(data: bytes) -> None:
        try:
            run(data)
        except PlanmapError:
            pass
    return one


def _instrumented_one_input(target: str):
    import atheris

    with atheris.instrument_imports(include=["planmap.geo", "planmap.layers"]):
        import planmap.geo.crs  # noqa: F401
        import planmap.geo.io  # noqa: F401
        import planmap.geo.validate  # noqa: F401
        if target.startswith("import_"):
            import planmap.layers.importer  # noqa: F401
    return make_one_input(target)


# --------------------------------------------------------------------------- fallback

_TOKENS = [b"1e308", b"-1e308", b"1e999", b"NaN", b"nan", b"inf", b"-0", b"9" * 400, b"\x00",
           b"\xff", b"\xef\xbb\xbf", b",", b" ", b"\n", b"@", b"(", b")", b"[", b"]", b"{", b"}",
           b'"', b"<", b">", b"</", b"&", b'encoding="x-no-such"', b"\xe5\x9c\x88"]


def _mutate(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = rng.choice(_TOKENS)
        elif op == 2 and buf:
            del buf[pos:pos + rng.randint(1, 64)]
        elif op == 3 and buf:
            end = min(len(buf), pos + rng.randint(1, 64))
            buf[pos:pos] = buf[pos:end] * rng.randint(1, 50)
        elif op == 4:
            other = rng.choice(seeds)
            start = rng.randrange(len(other) + 1)
            buf[pos:] = other[start:]
        else:
            buf = buf[:pos]
    return bytes(buf[:256 * 1024])


def _fallback(target: str, seconds: float, artifact_prefix: str) -> int:
    one = make_one_input(target)
    seeds = [p.read_bytes() for p in seed_files(target)] or [b""]
    rng = random.Random(int(os.environ.get("PLANMAP_FUZZ_SEED", "20")))
    deadline = time.monotonic() + seconds
    runs = 0
    while time.monotonic() < deadline:
        data = _mutate(rng.choice(seeds), rng, seeds)
        runs += 1
        try:
            one(data)
        except Exception:
            crash = Path(f"{artifact_prefix}crash-fallback-{runs}")
            crash.write_bytes(data)
            import traceback
            traceback.print_exc()
            print(f"==fallback== crash after {runs} runs; input saved to {crash}",
                  file=sys.stderr)
            return 1
    print(f"==fallback== {runs} runs in {seconds:.0f} s, no crash", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- entry points

def _option(args: list[str], name: str, default: str) -> str:
    for a in args:
        if a.startswith(f"-{name}="):
            return a.split("=", 1)[1]
    return default


def run_target(target: str, args: list[str]) -> int:
    """Fuzz one target in this process (libFuzzer arguments as for atheris)."""
    if target not in TARGETS:
        raise SystemExit(f"unknown target {target!r}; one of: {', '.join(TARGETS)}")
    try:
        import atheris
    except ImportError:
        atheris = None
    if atheris is None or os.environ.get("PLANMAP_FUZZ_ENGINE") == "fallback":
        seconds = float(_option(args, "max_total_time", "60"))
        return _fallback(target, seconds, _option(args, "artifact_prefix", "./"))
    one = _instrumented_one_input(target)
    options = [a for a in args if a.startswith("-")]
    folders = [a for a in args if not a.startswith("-")]
    if not folders:  # new inputs go to the first folder: never into the committed seeds
        folders = [tempfile.mkdtemp(prefix=f"planmap-fuzz-{target}-")]
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)
    folders += [str(d) for d in seed_dirs(target)] + sample_dirs(target)
    dict_file = CORPUS / f"{target.split('_')[-1]}.dict"
    if dict_file.exists() and not any(a.startswith("-dict=") for a in options):
        options.append(f"-dict={dict_file}")
    atheris.Setup([sys.argv[0], *options, *folders], one)
    atheris.Fuzz()
    return 0  # not reached: atheris exits the process


def run_all(seconds: float, corpus_root: Path, targets=TARGETS) -> int:
    """Every target in turn, each in its own process, sharing ``seconds``."""
    share = max(1, int(seconds / len(targets)))
    crashes = corpus_root / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    worst = 0
    for target in targets:
        work = corpus_root / target
        work.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "tests.reliability.fuzz", target,
               f"-max_total_time={share}", "-timeout=30", "-rss_limit_mb=2048",
               f"-artifact_prefix={crashes}/{target}-", str(work)]
        print(f"== {target}: {share} s", flush=True)
        worst = max(worst, subprocess.call(cmd, cwd=ROOT))
    return worst


def sample_dirs(target: str) -> list[str]:
    """A temp folder holding the sample files of ``target`` (libFuzzer wants folders)."""
    names = _SAMPLES.get(target, [])
    if not names:
        return []
    folder = Path(tempfile.mkdtemp(prefix=f"planmap-seeds-{target}-"))
    for name in names:
        (folder / name).write_bytes((SITES / name).read_bytes())
    return [str(folder)]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--all"]:
        seconds = float(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else 3600
        root = Path(argv[argv.index("--corpus") + 1]) if "--corpus" in argv else \
            ROOT / ".fuzz-corpus"
        return run_all(seconds, root)
    if not argv:
        raise SystemExit(__doc__)
    return run_target(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
