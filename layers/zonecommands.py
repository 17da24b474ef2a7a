"""``planmap zones``, ``planmap check`` and ``planmap conflicts``, and the index cache they share.

``server/cli.py`` parses the arguments and reports :class:`geo.errors.PlanmapError`
(exit status 2); these functions do the work and return the exit status.  They live in
the data room, not in :mod:`geo`: they open the user's files, load the plan data and keep
the persisted zone index of a data folder (:func:`cache_entry`, :func:`_cached`, also used
by ``planmap import`` and by ``server/startup.py``, ``server/reload.py``,
``server/batch.py``); ``layers`` may read files and never imports ``server``.  The answers
themselves come from :mod:`geo` (pure), and their text from :mod:`geo.checktext`.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from planmap.geo import crs as gcrs
from planmap.geo.checktext import format_text, parse_point
from planmap.geo.errors import InvalidInput, LimitExceeded, NotFound
from planmap.geo.index import ZoneIndex
from planmap.geo.limits import Limits, local_limits
from planmap.geo.sitecheck import site_check

OUTPUT_FORMATS = ("csv", "parquet", "gpkg")
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
               ".gpkg": "gpkg"}
CHUNK_BYTES = 1 << 24
"""Bytes of a points CSV read, parsed and answered at a time (≈ 700,000 points)."""


def _limits(args) -> Limits:
    # server/cli.py fills args.limits from the CLI_MAX_* settings; default: no limits
    return getattr(args, "limits", None) or local_limits()


def _layers_dir() -> Path:
    # the built-in data folder (as the cache keys have always named it)
    return Path(find_spec("planmap.layers").submodule_search_locations[0])


def _data_files(data_dir: Path) -> list[Path] | None:
    """Return the files the index is built from, or None when the catalog cannot be read."""
    try:
        doc = json.loads((data_dir / "catalog.json").read_bytes())
        entries = [e for e in doc["layers"] if isinstance(e, dict)]
        files = [data_dir / str(e.get("file") or f"data/{e['id']}.geojson") for e in entries]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    plans = data_dir / "plans"
    texts = sorted(f for f in plans.iterdir() if f.is_file()) if plans.is_dir() else []
    return [data_dir / "catalog.json", *files, data_dir / "clauses.json", *texts,
            _layers_dir() / "loader.py"]


def _store_token() -> str:
    # The loader adds the layer store's active versions: a switch must miss the cache.
    from planmap.layers.store import default_store

    store = default_store()
    token = "" if store is None else store.token()
    return f"store {token}" if token else ""


def data_store_token(data) -> str:
    """Return the cache-key text of the store layer versions ``data`` was loaded with."""
    token = ";".join(f"{e['id']}={e['store_version']}"
                     for e in sorted(data.catalog, key=lambda e: e["id"])
                     if "store_version" in e)
    return f"store {token}" if token else ""


def cache_entry(data_dir, cache_dir, name: str = "zoneindex",
                store_token: str | None = None) -> tuple[Path, str] | None:
    """Return the cache file and key of ``name`` for a data folder, or None (no cache).

    Parameters
    ----------
    data_dir : str or Path or None
        The data folder (None: the built-in one).
    cache_dir : str or Path or None
        ``CACHE_DIR`` as resolved by ``server/cli.py``; None means no cache.
    name : str
        Keeps the cached objects of one data folder apart.
    store_token : str, optional
        The layer store's active versions the data holds (:func:`data_store_token`); default
        those of the store ``layers.load`` would add (``PLANMAP_DATABASE_URL`` / ``HOME``).
    """
    from planmap.geo import indexcache

    data_dir = Path(data_dir) if data_dir else _layers_dir()
    files = _data_files(data_dir) if cache_dir else None
    if files is None:
        return None
    where = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    extra = _store_token() if store_token is None else store_token
    return Path(cache_dir) / f"{name}-{where}.pickle", indexcache.data_key(files, extra=extra)


def cache_file(args, name: str):
    """Return ``(path, key)`` of the cached object ``name`` of ``args.data_dir``, or None.

    None when there is no cache folder (``args.cache_dir``) or the catalog cannot be read.
    """
    return cache_entry(getattr(args, "data_dir", None), getattr(args, "cache_dir", None), name)


def _cached(args, name: str, build, data=None, store_token: str | None = None):
    """Return ``build(data)`` for ``args.data_dir``, from the cache when current.

    ``args.cache_dir`` (``CACHE_DIR``, filled by ``server/cli.py``) names the cache folder;
    None builds without a cache. ``name`` keeps the cached objects of one data folder apart.
    ``data``: the plan data when the caller has loaded it already (the server). A build holds
    the cache file's lock (:class:`geo.indexcache.building`): processes that need the same
    object at once build it once.
    """
    import contextlib

    from planmap.geo import indexcache

    where = cache_entry(getattr(args, "data_dir", None), getattr(args, "cache_dir", None), name,
                        store_token)
    lock = contextlib.nullcontext()
    if where is not None:
        path, key = where
        value = indexcache.load(path, key)
        if value is not None:
            return value, "cache"
        lock = indexcache.building(path)
    with lock:
        if where is not None:  # built by another process while this one waited
            value = indexcache.load(path, key)
            if value is not None:
                return value, "cache"
        if data is None:
            from planmap.layers import load

            data = load(getattr(args, "data_dir", None))
        value = build(data)
        if where is not None and value is not None:
            try:
                indexcache.save(value, path, key)
            except OSError as exc:  # a read-only cache folder costs speed, not the answer
                print(f"planmap: {name} cache not written ({exc.strerror})", file=sys.stderr)
    return value, "built"


def _index(args) -> ZoneIndex:
    """Return the home plan's zone index of ``args.data_dir`` (cached, see :func:`_cached`)."""
    index, args.index_source = _cached(args, "zoneindex", ZoneIndex.from_plan_data)
    return index


def _scoped_check(args, geom, repairs) -> dict:
    """Site check answered by the plans whose area holds the site (see :mod:`geo.plans`).

    Only the index the site needs is used: Baicheng's (as before, cached) or the other
    plans' (built from the data). The plan areas are cached beside the index.
    """
    from planmap.geo.plans import other_plan_ids, scope_from_plan_data, scope_result

    scope, _ = _cached(args, "planscope", scope_from_plan_data)
    ids = scope.plans_for(geom) if scope is not None else []
    if scope is not None and ids and scope.home not in ids:
        from planmap.layers import load

        index = ZoneIndex.from_plan_data(load(getattr(args, "data_dir", None)),
                                         plan_ids=other_plan_ids(scope))
        result = scope_result(site_check(index, geom, repairs=repairs), scope, ids)
    else:
        result = site_check(_index(args), geom, repairs=repairs)  # the home plan, as before
    result["plans"] = scope.describe(ids) if scope is not None else []
    return result


def _user_file(path: str, param: str, limits: Limits) -> Path:
    p = Path(path)
    if not p.is_file():
        raise NotFound(code="file_not_found", param=param,
                       message_en=f"no such file: {path}",
                       message_zh=f"文件不存在：{path}")
    size = p.stat().st_size
    if size > limits.max_bytes:
        raise LimitExceeded(code="too_large", param=param,
                            message_en=f"input is {size} bytes; the limit is {limits.max_bytes} "
                                       "bytes (setting CLI_MAX_BYTES)",
                            message_zh=f"输入大小为 {size} 字节，上限为 {limits.max_bytes} 字节"
                                       "（设置 CLI_MAX_BYTES）")
    return p


def _read_user_file(path: str, param: str, limits: Limits | None = None) -> bytes:
    """Read a local file (the user's own: only the CLI_MAX_BYTES setting bounds it)."""
    return _user_file(path, param, limits or local_limits()).read_bytes()


def _progress(args, total: int, desc: str):
    from tqdm import tqdm

    # quiet when stderr is not a terminal (logs, pipes, tests) or with --quiet
    off = bool(getattr(args, "quiet", False)) or not sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                disable=off, file=sys.stderr, leave=False)


def _shift_lines(exc, offset: int):
    # a chunk's parse error names its line within the chunk: name the file's line instead
    def fix(pattern, text):
        return re.sub(pattern, lambda m: m.group(0).replace(m.group(1),
                                                            str(int(m.group(1)) + offset)), text)
    exc.message_en = fix(r"CSV line (\d+)", exc.message_en)
    exc.message_zh = fix(r"CSV 第 (\d+) 行", exc.message_zh)
    exc.args = (exc.message_en,)
    return exc


def _csv_chunks(path: Path, crs, bar):
    """Yield ``(ids, lon, lat)`` for successive pieces of a points CSV (bounded memory).

    Each piece is whole lines, given the header line and parsed by
    :func:`geo.io.parse_points`, so every rule (header names, encodings, bad numbers,
    CRS area) is the same as for one whole file.
    """
    from planmap.geo.errors import PlanmapError
    from planmap.geo.io import parse_points

    unbounded = local_limits()
    with path.open("rb") as fh:
        head = b""
        while not head.strip():  # the header: first non-blank line
            line = fh.readline()
            if not line:
                break
            head += line
        bar.update(len(head))
        header = head.lstrip(b"\r\n")
        lines_before, first, rest = head.count(b"\n"), True, b""
        while True:
            block = fh.read(CHUNK_BYTES)
            data = rest + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            body, rest = data[:cut], data[cut:]
            if not body.strip():
                if not block:
                    break
                lines_before += body.count(b"\n")
                continue
            try:
                yield parse_points(header + body, fmt="csv", crs=crs, limits=unbounded)
            except PlanmapError as exc:
                raise _shift_lines(exc, lines_before - 1) from None
            first = False
            lines_before += body.count(b"\n")
            bar.update(len(body))
            if not block:
                break
        if first:  # header only: let the parser say what is wrong with it
            yield parse_points(head, fmt="csv", crs=crs, limits=unbounded)


def _point_chunks(path: Path, crs, bar):
    from planmap.geo.io import detect_format, parse_points

    with path.open("rb") as fh:
        start = fh.read(4096)
    if detect_format(start or b" ", str(path), allowed=("csv", "geojson")) == "csv":
        yield from _csv_chunks(path, crs, bar)
    else:  # a GeoJSON document is parsed whole
        yield parse_points(path.read_bytes(), crs=crs, limits=local_limits(), filename=str(path))
        bar.update(path.stat().st_size)


def _output_format(output: str | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    if not output or output == "-":
        return "csv"
    ext = Path(output).suffix.lower()
    if ext not in _EXTENSIONS:
        raise InvalidInput(code="unknown_output_format", param="output",
                           message_en=f"cannot tell the output format from {output!r}: use a "
                                      ".csv, .parquet or .gpkg name, or --format",
                           message_zh=f"无法从 {output!r} 判断输出格式：请使用 .csv、.parquet 或 "
                                      ".gpkg 文件名，或指定 --format")
    return _EXTENSIONS[ext]


class _PairWriter:
    """Writes (point, zone) pairs a chunk at a time with pyarrow's compiled writers."""

    def __init__(self, fmt: str, output: str | None):
        import pyarrow as pa

        self.pa, self.fmt, self.output, self.pairs = pa, fmt, output, 0
        self.schema = pa.schema([("point_id", pa.string()), ("zone_id", pa.string()),
                                 ("layer", pa.string())])
        self._fh = self._parquet = None
        self._gpkg_started = False
        if fmt == "gpkg" and not output:
            raise InvalidInput(code="output_required", param="output",
                               message_en="a GeoPackage needs -o OUT.gpkg",
                               message_zh="GeoPackage 输出需要 -o OUT.gpkg")
        if fmt == "gpkg":
            Path(output).unlink(missing_ok=True)  # replaced, not appended to
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetWriter(output if output else sys.stdout.buffer, self.schema)
        else:
            self._fh = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
            self._fh.write(b"point_id,zone_id,layer\n")

    def write(self, ids, lon, lat, result) -> None:
        pa = self.pa
        n = len(result.point_idx)
        self.pairs += n
        if not n and (self.fmt != "gpkg" or self._gpkg_started):
            return
        idx = pa.array(result.point_idx)
        zone = pa.array(result.zone_idx.astype(np.int32))
        # Zone and layer ids via their tables (dictionary decode in C, no Python strings).
        zones = pa.DictionaryArray.from_arrays(zone, pa.array(list(result.id_table)))
        layers = pa.DictionaryArray.from_arrays(zone, pa.array(list(result.layer_table)))
        pid = pa.array(ids, type=pa.string())
        table = pa.table([pid.take(idx), zones.dictionary_decode(), layers.dictionary_decode()],
                         schema=self.schema)
        if self.fmt == "csv":
            import pyarrow.compute as pc
            import pyarrow.csv as pcsv

            # Unquoted like csv.writer, unless an id holds a comma, quote or line break.
            needs = len(pid) and pc.any(pc.match_substring_regex(pid, '[",\r\n]')).as_py()
            pcsv.write_csv(table, self._fh, write_options=pcsv.WriteOptions(
                include_header=False, quoting_style="needed" if needs else "none"))
        elif self.fmt == "parquet":
            self._parquet.write_table(table)
        else:
            self._write_gpkg(table, np.asarray(lon)[result.point_idx],
                             np.asarray(lat)[result.point_idx])

    def _write_gpkg(self, table, lon, lat) -> None:
        import geopandas as gpd
        import pyogrio

        frame = gpd.GeoDataFrame(table.to_pandas(), geometry=gpd.points_from_xy(lon, lat),
                                 crs="EPSG:4326")
        pyogrio.write_dataframe(frame, self.output, layer="zones", driver="GPKG",
                                geometry_type="Point", append=self._gpkg_started)
        self._gpkg_started = True

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._fh is not None:
            self._fh.flush()
            if self.output:
                self._fh.close()


def run_zones(args) -> int:
    """Batch point-in-zone: CSV ``id,lon,lat`` or GeoJSON points → pairs ``point_id,zone_id,layer``.

    A CSV is read, answered and written a piece at a time (bounded memory); the output is
    CSV, Parquet or GeoPackage (points as geometry), by ``--format`` or the output's
    extension.

    Parameters
    ----------
    args : argparse.Namespace
        ``points`` (path), ``crs`` (default WGS 84), ``output`` (path or None for stdout),
        ``format`` (None: from the extension), ``data_dir``, ``quiet``; ``limits`` and
        ``cache_dir`` as ``server/cli.py`` fills them.

    Returns
    -------
    int
        Exit status 0.
    """
    started = time.perf_counter()
    limits = _limits(args)
    path = _user_file(args.points, "points", limits)
    output = None if args.output in (None, "", "-") else args.output  # "-": stdout
    fmt = _output_format(output, getattr(args, "format", None))
    index = _index(args)
    writer = _PairWriter(fmt, output)
    points = 0
    try:
        with _progress(args, path.stat().st_size, "points") as bar:
            for ids, lon, lat in _point_chunks(path, args.crs or gcrs.WGS84, bar):
                points += len(ids)
                if points > limits.max_points:
                    raise LimitExceeded(code="too_many_points", param="points",
                                        message_en=f"more than {limits.max_points} points "
                                                   "(setting CLI_MAX_POINTS)",
                                        message_zh=f"点数超过 {limits.max_points}"
                                                   "（设置 CLI_MAX_POINTS）")
                writer.write(ids, lon, lat, index.batch(lon, lat))
    finally:
        writer.close()
    if not getattr(args, "quiet", False):
        print(f"planmap: {points:,} points, {writer.pairs:,} point-zone pairs -> "
              f"{output or 'stdout'} ({fmt}) in {time.perf_counter() - started:.1f} s; "
              f"zone index {getattr(args, 'index_source', 'built')}", file=sys.stderr)
    return 0


def run_check(args) -> int:
    """Print the site check of a file (``FILE``) or a point (``--point LON,LAT``).

    Parameters
    ----------
    args : argparse.Namespace
        ``file`` or ``point``, ``crs``, ``format`` (``json`` | ``text``), ``repair``,
        ``data_dir``.

    Returns
    -------
    int
        Exit status 0.
    """
    if bool(args.file) == bool(args.point):
        raise InvalidInput(code="file_or_point", param="file",
                           message_en="give either a FILE or --point LON,LAT (exactly one)",
                           message_zh="请给出 FILE 或 --point 经度,纬度（二者选一）")
    repairs: list[str] = []
    if args.point:
        geom = parse_point(args.point, args.crs)
        source = f"point {args.point}" + (f" ({args.crs})" if args.crs else "")
    else:
        from planmap.geo.io import parse_site

        limits = _limits(args)
        parsed = parse_site(_read_user_file(args.file, "file", limits), filename=args.file,
                            crs=args.crs, repair=bool(args.repair), limits=limits)
        geom, repairs = parsed.geometry, list(parsed.repairs)
        source = f"{args.file} ({parsed.fmt}, {parsed.crs_in})"
    result = _scoped_check(args, geom, repairs)
    if args.format == "json":
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_text(result, source))
    return 0


def run_conflicts(args) -> int:
    """Plan-conflict report: ``planmap conflicts [--format json|text] [--distance M]``."""
    from planmap.geo.conflicts import (
        DEFAULT_DISTANCE_M,
        check_distance,
        find_conflicts,
        report_text,
    )

    distance = DEFAULT_DISTANCE_M if args.distance is None else check_distance(args.distance)
    from planmap.layers import load

    data = load(getattr(args, "data_dir", None))
    result = find_conflicts(data, None, distance)
    if args.format == "json":
        doc = {"distance_m": distance, "count": len(result), "conflicts": result}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    else:
        sys.stdout.write(report_text(result, distance) + "\n")
    return 0


