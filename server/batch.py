"""``planmap batch``: site checks of every feature of a file, serially or on Dask.

The input (GeoPackage, GeoParquet, Shapefile as ``.shp`` or ``.zip``, GeoJSON, CSV with
``lon``/``lat`` or ``wkt`` columns) is cut into partitions (row groups, feature ranges,
byte ranges of whole lines) that are read, checked and written one at a time, so memory
stays bounded whatever the row count. Each partition's features go through
:func:`geo.batch.check_rows` (the API's site check); the output has one row per input
feature, in input order, whichever engine ran it.

``--engine dask`` turns the same partitions into a dask-geopandas frame
(``dask.dataframe.from_map``) checked by ``map_partitions`` on a ``dask.distributed``
cluster: a ``LocalCluster`` of ``--workers`` processes, or the scheduler at
``--scheduler``. Every worker process loads the zone indexes once, from the command line's
index cache (``CACHE_DIR``; a temporary folder when it is ``off``), so a remote worker
needs that folder at the same path (docs/DEPLOY.md). At most a few partitions per worker
are in flight; finished ones are written in order as they arrive.

A partition that cannot be read, or a feature whose geometry is missing or invalid, gives
rows with an ``error``; the rest of the batch completes.
"""

from __future__ import annotations

import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from planmap.geo import crs as gcrs
from planmap.geo.errors import InvalidInput, LimitExceeded

PART_ROWS = 10_000
"""Features per partition (row groups of a GeoParquet are kept whole): small enough to
spread 10^5 features over several workers, large enough that a task's overhead is noise."""

CSV_PART_BYTES = 1 << 18
"""Bytes of a CSV per partition (≈ 10,000 point rows)."""

INPUT_FORMATS = {".gpkg": "ogr", ".shp": "ogr", ".zip": "ogr", ".geojson": "ogr",
                 ".json": "ogr", ".fgb": "ogr", ".parquet": "parquet", ".geoparquet": "parquet",
                 ".pq": "parquet", ".csv": "csv", ".txt": "csv"}
OUTPUT_FORMATS = {".parquet": "parquet", ".geoparquet": "parquet", ".pq": "parquet",
                  ".gpkg": "gpkg", ".csv": "csv"}

_ID_NAMES = ("id", "fid", "ID", "FID", "编号")
_LON_NAMES = ("lon", "lng", "longitude", "x", "经度", "LON", "X")
_LAT_NAMES = ("lat", "latitude", "y", "纬度", "LAT", "Y")
_WKT_NAMES = ("wkt", "WKT", "geometry", "geom", "the_geom")


@dataclass(frozen=True)
class Part:
    """One partition of the input: what to read, and which rows it holds."""

    fmt: str  # "csv" | "ogr" | "parquet"
    path: str
    number: int
    first_row: int  # 0-based row number of its first feature in the file
    rows: int  # features in it (known before reading: an unreadable one still has rows)
    start: int = 0  # csv: byte offset; ogr: first feature; parquet: unused
    stop: int = 0  # csv: byte end
    groups: tuple = ()  # parquet row groups
    crs: str = gcrs.WGS84
    options: dict = field(default_factory=dict, hash=False, compare=False)


# --------------------------------------------------------------------------- planning

def _bad(code, en, zh, param="file"):
    return InvalidInput(code=code, param=param, message_en=en, message_zh=zh)


def _input_format(path: Path) -> str:
    fmt = INPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise _bad("unknown_input_format",
                   f"cannot tell the format of {path.name}: use .gpkg, .parquet, .shp, .zip "
                   "(Shapefile), .geojson or .csv",
                   f"无法判断 {path.name} 的格式：请使用 .gpkg、.parquet、.shp、.zip（Shapefile）、"
                   ".geojson 或 .csv")
    return fmt


def _crs_name(crs_obj, override: str | None) -> str:
    if override:
        return gcrs.parse_crs(override)
    if crs_obj is None:
        return gcrs.WGS84
    from pyproj import CRS

    crs = CRS.from_user_input(crs_obj)
    epsg = crs.to_epsg()
    if epsg is None and crs.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        epsg = 4326
    return gcrs.parse_crs(f"EPSG:{epsg}" if epsg else crs.name)


def _csv_columns(header: list[str]) -> dict:
    def first(names):
        return next((n for n in names if n in header), None)

    cols = {"id": first(_ID_NAMES), "lon": first(_LON_NAMES), "lat": first(_LAT_NAMES),
            "wkt": first(_WKT_NAMES)}
    if not cols["wkt"] and not (cols["lon"] and cols["lat"]):
        raise _bad("missing_columns",
                   f"the CSV needs lon and lat columns, or a wkt column; its header is {header}",
                   f"CSV 需要 lon 和 lat 列，或 wkt 列；表头为 {header}")
    return cols


def _plan_csv(path: Path, crs: str, part_bytes: int) -> list[Part]:
    import csv

    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.readline()
        if not head.strip():
            raise _bad("empty_file", "the CSV has no header line", "CSV 没有表头行")
        header = next(csv.reader([head.decode("utf-8-sig", errors="replace")]))
        cols = _csv_columns([h.strip() for h in header])
        parts, start, row = [], fh.tell(), 0
        while start < size:
            fh.seek(start)
            block = fh.read(part_bytes)
            if start + len(block) < size and not block.endswith(b"\n"):
                block += fh.readline()  # whole lines only
            rows = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            parts.append(Part("csv", str(path), len(parts), row, rows, start, start + len(block),
                              crs=crs, options={"header": head, "columns": cols}))
            row += rows
            start += len(block)
    return parts


def _plan_ogr(path: Path, crs_override: str | None, part_rows: int, layer) -> list[Part]:
    import pyogrio

    try:
        info = pyogrio.read_info(str(path), layer=layer, force_feature_count=True)
    except Exception as exc:  # GDAL's errors are many classes; the message says which
        raise _bad("unreadable_file", f"cannot read {path.name}: {exc}",
                   f"无法读取 {path.name}：{exc}") from None
    crs = _crs_name(info.get("crs"), crs_override)
    fields = list(info.get("fields", ()))
    id_col = next((n for n in _ID_NAMES if n in fields), None)
    n = int(info.get("features") or 0)
    opts = {"layer": layer, "id": id_col}
    return [Part("ogr", str(path), k, s, min(part_rows, n - s), start=s, crs=crs, options=opts)
            for k, s in enumerate(range(0, n, part_rows))]


def _plan_parquet(path: Path, crs_override: str | None, part_rows: int) -> list[Part]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(str(path)).metadata
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for a broken file
        raise _bad("unreadable_file", f"cannot read {path.name} as Parquet: {exc}",
                   f"无法按 Parquet 读取 {path.name}：{exc}") from None
    geo = json.loads((meta.metadata or {}).get(b"geo", b"{}") or b"{}")
    column = geo.get("primary_column", "geometry")
    col_meta = (geo.get("columns") or {}).get(column, {})
    names = meta.schema.names
    if column not in names:
        raise _bad("missing_columns", f"{path.name} has no geometry column {column!r}",
                   f"{path.name} 没有几何列 {column!r}")
    crs = _crs_name(col_meta.get("crs"), crs_override)
    opts = {"geometry": column, "id": next((n for n in _ID_NAMES if n in names), None)}
    parts, groups, rows, first = [], [], 0, 0
    for g in range(meta.num_row_groups):
        groups.append(g)
        rows += meta.row_group(g).num_rows
        if rows >= part_rows or g == meta.num_row_groups - 1:
            parts.append(Part("parquet", str(path), len(parts), first, rows,
                              groups=tuple(groups), crs=crs, options=opts))
            first, groups, rows = first + rows, [], 0
    return parts


def plan(path: Path, *, crs: str | None = None, part_rows: int | None = None,
         part_bytes: int | None = None, layer=None) -> list[Part]:
    """Cut the input into partitions (reads only metadata, or counts a CSV's lines).

    Parameters
    ----------
    path : Path
        The input file.
    crs : str, optional
        The input's CRS when the file does not say (CSV) or says wrongly.
    part_rows, part_bytes : int, optional
        Features per partition; bytes per CSV partition (default :data:`PART_ROWS`,
        :data:`CSV_PART_BYTES`).
    layer : str or int, optional
        The layer of a multi-layer GeoPackage (default: the first).

    Returns
    -------
    list of Part
    """
    fmt = _input_format(path)
    part_rows = int(part_rows or PART_ROWS)
    part_bytes = int(part_bytes or CSV_PART_BYTES)
    if fmt == "csv":
        return _plan_csv(path, gcrs.parse_crs(crs) if crs else gcrs.WGS84, part_bytes)
    if fmt == "parquet":
        return _plan_parquet(path, crs, part_rows)
    return _plan_ogr(path, crs, part_rows, layer)


# --------------------------------------------------------------------------- reading

def _frame(ids, geoms, errors):
    import geopandas as gpd
    import pandas as pd

    return gpd.GeoDataFrame(
        {"id": pd.Series(list(ids), dtype=object),
         "read_error": pd.Series(list(errors), dtype=object)},
        geometry=gpd.GeoSeries(list(geoms), crs=gcrs.WGS84))


def empty_input_frame():
    """The (empty) frame :func:`read_part` returns: the meta of the Dask frame."""
    return _frame([], [], [])


def _to_wgs84(geoms: list, errors: list, crs: str) -> list:
    """Transform to WGS 84; a feature that cannot be transformed gets an error."""
    from planmap.geo.errors import PlanmapError

    if crs == gcrs.WGS84:
        return geoms
    try:
        arr = np.array(geoms, dtype=object)
        ok = np.array([g is not None for g in geoms])
        out = arr.copy()
        out[ok] = gcrs.transform_geometry(arr[ok], crs, gcrs.WGS84)
        return list(out)
    except PlanmapError:  # some feature is outside the CRS's area: find which, one by one
        out = []
        for i, g in enumerate(geoms):
            try:
                out.append(None if g is None else gcrs.transform_geometry(g, crs, gcrs.WGS84))
            except PlanmapError as exc:
                errors[i] = errors[i] or f"{exc.code}: {exc.message_en}"
                out.append(None)
        return out


def _read_csv(part: Part):
    import pandas as pd
    import shapely

    opts = part.options
    cols = opts["columns"]
    with open(part.path, "rb") as fh:
        fh.seek(part.start)
        body = fh.read(part.stop - part.start)
    frame = pd.read_csv(io.BytesIO(opts["header"] + body), dtype=str, keep_default_na=False,
                        skip_blank_lines=False, encoding="utf-8-sig", encoding_errors="replace")
    frame.columns = [c.strip() for c in frame.columns]
    n = len(frame)
    rows = np.arange(part.first_row, part.first_row + n)
    ids = (frame[cols["id"]].astype(object).tolist() if cols["id"]
           else [str(r + 1) for r in rows])
    errors = [""] * n
    if cols["wkt"]:
        text = frame[cols["wkt"]].astype(object).to_numpy()
        geoms = list(shapely.from_wkt(np.where(text == "", None, text), on_invalid="ignore"))
        for i, (t, g) in enumerate(zip(text, geoms, strict=True)):
            if g is None and t:
                errors[i] = "invalid_wkt: the wkt column does not hold WKT"
    else:
        lon = pd.to_numeric(frame[cols["lon"]], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(frame[cols["lat"]], errors="coerce").to_numpy(float)
        bad = ~(np.isfinite(lon) & np.isfinite(lat))
        geoms = list(shapely.points(np.column_stack([lon, lat])))
        for i in np.flatnonzero(bad):
            geoms[i] = None
            errors[i] = "invalid_coordinates: lon/lat are not two numbers"
    return ids, geoms, errors


def _read_ogr(part: Part):
    import pyogrio

    opts = part.options
    frame = pyogrio.read_dataframe(part.path, layer=opts.get("layer"), skip_features=part.start,
                                   max_features=part.rows, fid_as_index=True,
                                   on_invalid="ignore")
    ids = (frame[opts["id"]].astype(str).tolist() if opts.get("id")
           else [str(i) for i in frame.index])
    return ids, list(frame.geometry.array), [""] * len(frame)


def _read_parquet(part: Part):
    import pyarrow.parquet as pq
    import shapely

    opts = part.options
    cols = [opts["geometry"]] + ([opts["id"]] if opts.get("id") else [])
    table = pq.ParquetFile(part.path).read_row_groups(list(part.groups), columns=cols)
    wkb = table.column(opts["geometry"]).to_numpy(zero_copy_only=False)
    geoms = list(shapely.from_wkb(wkb, on_invalid="ignore"))
    errors = ["invalid_wkb: the geometry cannot be decoded" if g is None and w is not None
              else "" for g, w in zip(geoms, wkb, strict=True)]
    ids = ([str(v) for v in table.column(opts["id"]).to_pylist()] if opts.get("id")
           else [str(part.first_row + i + 1) for i in range(len(geoms))])
    return ids, geoms, errors


_READERS = {"csv": _read_csv, "ogr": _read_ogr, "parquet": _read_parquet}


def read_part(part: Part):
    """Read one partition as a GeoDataFrame ``id, read_error, geometry`` (WGS 84).

    A partition that cannot be read gives its ``part.rows`` rows, each with the error.
    """
    try:
        ids, geoms, errors = _READERS[part.fmt](part)
        geoms = _to_wgs84(geoms, errors, part.crs)
    except Exception as exc:  # any reading failure costs this partition's rows, not the batch
        why = f"unreadable_partition: partition {part.number} (rows {part.first_row + 1}–" \
              f"{part.first_row + part.rows}) could not be read: {type(exc).__name__}: {exc}"
        ids = [str(part.first_row + i + 1) for i in range(part.rows)]
        return _frame(ids, [None] * part.rows, [why] * part.rows)
    return _frame(ids, geoms, errors)


# --------------------------------------------------------------------------- checking

_engines: dict = {}  # per process (each Dask worker): loaded once per index-cache spec


def load_engine(spec: tuple):
    """The :class:`geo.batch.Engine` of a spec of cached index files, loaded once per process.

    ``spec`` is ``((path, key) or None for zoneindex, planscope, planindex)``.
    """
    engine = _engines.get(spec)
    if engine is None:
        from planmap.geo import indexcache
        from planmap.geo.batch import Engine

        loaded = []
        for name, entry in zip(("zoneindex", "planscope", "planindex"), spec, strict=True):
            value = None if entry is None else indexcache.load(Path(entry[0]), entry[1])
            if value is None and entry is not None:
                raise RuntimeError(f"the {name} cache {entry[0]} is missing or stale "
                                   "(the data changed during the batch?)")
            loaded.append(value)
        engine = _engines[spec] = Engine(loaded[0], plan_index=loaded[2], scope=loaded[1])
    return engine


def _rows_frame(rows: list, geoms: list):
    import geopandas as gpd
    import pandas as pd
    from planmap.geo.batch import COLUMNS, FLOAT_COLUMNS, columns_of

    cols = columns_of(rows)
    data = {c: pd.Series(cols[c], dtype=float if c in FLOAT_COLUMNS else object)
            for c in COLUMNS}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=gcrs.WGS84))


def check_part(frame, spec: tuple):
    """Check one partition (the frame :func:`read_part` gave); a GeoDataFrame of rows."""
    from planmap.geo.batch import check_rows

    engine = load_engine(spec)
    geoms = list(frame.geometry.array)
    rows = check_rows(engine, frame["id"].tolist(), geoms, frame["read_error"].tolist())
    return _rows_frame(rows, geoms)


def empty_output_frame():
    """The (empty) frame :func:`check_part` returns: the meta of the Dask frame."""
    return _rows_frame([], [])


def parquet_table(frame):
    """The GeoParquet table (WKB, CRS84) of a checked partition, as the output file holds it."""
    import pyarrow as pa
    import shapely
    from planmap.geo.batch import COLUMNS, FLOAT_COLUMNS

    fields = [(c, pa.float64() if c in FLOAT_COLUMNS else
               pa.bool_() if c == "in_service_area" else pa.string()) for c in COLUMNS]
    schema = pa.schema(fields + [("geometry", pa.binary())])
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": []}}}
    schema = schema.with_metadata({"geo": json.dumps(geo)})  # no crs: OGC:CRS84
    arrays = [pa.array(frame[c].tolist(), type=t) for c, t in fields]
    geoms = np.array(list(frame.geometry.array), dtype=object)
    arrays.append(pa.array(list(shapely.to_wkb(geoms)), type=pa.binary()))
    return pa.Table.from_arrays(arrays, schema=schema)


PART_FILE_META = {"part": "int64", "path": "object", "rows": "int64", "errors": "int64"}


def check_part_to_file(frame, spec: tuple, folder: str, partition_info=None):
    """Check one partition on a worker and write it there as a GeoParquet part file.

    Returns a one-row frame (part number, path, rows, rows with an error) instead of the
    rows themselves: the client then only appends files, so it does not become the one
    process that unpickles and re-encodes every checked row (on a 2-core machine it had
    to share the cores with the workers, and 2 workers were barely faster than 1).
    """
    import os

    import pandas as pd
    import pyarrow.parquet as pq

    out = check_part(frame, spec)
    k = int((partition_info or {}).get("number", 0))
    path = Path(folder) / f"part-{k:07d}.parquet"
    tmp = path.with_suffix(".tmp")
    pq.write_table(parquet_table(out), tmp)
    os.replace(tmp, path)  # a part file is whole or absent
    return pd.DataFrame({"part": [k], "path": [str(path)], "rows": [len(out)],
                         "errors": [int((out["error"] != "").sum())]}).astype(PART_FILE_META)


# --------------------------------------------------------------------------- writing

class RowWriter:
    """Appends checked partitions to a GeoParquet, GeoPackage or CSV file."""

    def __init__(self, path: str, fmt: str):
        self.path, self.fmt, self.rows, self.errors = path, fmt, 0, 0
        self._parquet = None
        self._started = False
        Path(path).unlink(missing_ok=True)  # replaced, not appended to

    def write(self, frame) -> None:
        self.rows += len(frame)
        self.errors += int((frame["error"] != "").sum())
        if self.fmt == "parquet":
            self._write_parquet(frame)
        elif self.fmt == "gpkg":
            import pyogrio

            pyogrio.write_dataframe(frame, self.path, layer="batch", driver="GPKG",
                                    geometry_type="Unknown", append=self._started)
        else:
            out = frame.drop(columns="geometry")
            out["wkt"] = frame.geometry.to_wkt()
            out["in_service_area"] = out["in_service_area"].map(
                {True: "true", False: "false"}).fillna("")
            out.to_csv(self.path, mode="a", header=not self._started, index=False)
        self._started = True

    def _write_parquet(self, frame) -> None:
        self._write_table(parquet_table(frame))

    def _write_table(self, table) -> None:
        import pyarrow.parquet as pq

        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, table.schema)
        self._parquet.write_table(table)

    def append_part_file(self, path: str, rows: int, errors: int) -> None:
        """Append a GeoParquet part a worker wrote (:func:`check_part_to_file`); remove it."""
        import pyarrow.parquet as pq

        self.rows += rows
        self.errors += errors
        self._write_table(pq.read_table(path))
        self._started = True
        Path(path).unlink(missing_ok=True)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif not self._started:  # an empty input still gives a (header-only) file
            self.write(empty_output_frame())


# --------------------------------------------------------------------------- running

def engine_spec(args) -> tuple:
    """Make sure the three cached objects exist; return their ``(path, key)`` entries."""
    from planmap.geo.index import ZoneIndex
    from planmap.geo.plans import other_plan_ids
    from planmap.layers.zonecommands import _cached, cache_file

    _cached(args, "zoneindex", ZoneIndex.from_plan_data)
    scope, _ = _cached(args, "planscope", _scope_of)

    def plan_index(data):
        return (ZoneIndex.from_plan_data(data, plan_ids=other_plan_ids(scope))
                if scope is not None else None)

    _cached(args, "planindex", plan_index)
    spec = []
    for name, present in (("zoneindex", True), ("planscope", scope is not None),
                          ("planindex", scope is not None)):
        entry = cache_file(args, name) if present else None
        spec.append(None if entry is None else (str(entry[0]), entry[1]))
    if spec[0] is None:
        raise _bad("unreadable_catalog", "the data folder's catalog cannot be read",
                   "无法读取数据目录的图层目录")
    return tuple(spec)


def _scope_of(data):
    from planmap.geo.plans import scope_from_plan_data

    return scope_from_plan_data(data)


def _progress(args, total: int):
    from tqdm import tqdm

    off = bool(getattr(args, "quiet", False)) or not sys.stderr.isatty()
    return tqdm(total=total, desc="features", unit=" rows", disable=off, file=sys.stderr,
                leave=False)


def run_local(parts: list[Part], spec: tuple, writer: RowWriter, bar) -> None:
    """Read, check and write each partition in turn, in this process."""
    for part in parts:
        out = check_part(read_part(part), spec)
        writer.write(out)
        bar.update(len(out))


def _client(args):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise _bad("dask_not_installed",
                   "--engine dask needs dask.distributed and dask-geopandas: "
                   "pip install 'planmap[scale]'",
                   "--engine dask 需要 dask.distributed 与 dask-geopandas："
                   "pip install 'planmap[scale]'", param="engine") from None

    if getattr(args, "scheduler", None):
        return Client(args.scheduler), None
    workers = int(getattr(args, "workers", None) or 2)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=getattr(args, "dashboard", None) or ":0",
                           silence_logs=40)
    return Client(cluster), cluster


def run_dask(parts: list[Part], spec: tuple, writer: RowWriter, bar, client,
             part_folder: str | None = None) -> None:
    """Check the partitions on ``client``'s cluster; write them in input order.

    The input is a dask-geopandas frame of the same partitions (``from_map`` over
    :func:`read_part`), checked by ``map_partitions(check_part)``; a few partitions per
    worker are computed at a time, so memory stays bounded.
    """
    import dask.dataframe as dd
    import dask_geopandas  # registers GeoDataFrame partitions (from_map → a dask-geopandas frame)
    from distributed import as_completed

    frame = dd.from_map(read_part, parts, meta=empty_input_frame(), enforce_metadata=False)
    assert isinstance(frame, dask_geopandas.GeoDataFrame)
    folder = None
    if writer.fmt == "parquet" and part_folder is not None:
        # the workers write GeoParquet parts beside the output; the client appends them
        import pandas as pd

        folder = part_folder
        meta = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in PART_FILE_META.items()})
        checked = frame.map_partitions(check_part_to_file, spec, folder, meta=meta,
                                       enforce_metadata=False)
    else:
        checked = frame.map_partitions(check_part, spec, meta=empty_output_frame(),
                                       enforce_metadata=False)
    delayed = checked.to_delayed()
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    window = 2 * workers + 1
    pending: dict = {}
    done: dict = {}
    queue = as_completed()
    nxt = 0  # the next partition to submit
    out = 0  # the next partition to write

    def submit():
        nonlocal nxt
        while nxt < len(delayed) and len(pending) + len(done) < window:
            fut = client.compute(delayed[nxt])
            pending[fut.key] = nxt
            queue.add(fut)
            nxt += 1

    submit()
    for fut in queue:
        k = pending.pop(fut.key)
        try:
            done[k] = fut.result()
        except Exception as exc:  # a worker lost or a task failed: this partition's rows say so
            done[k] = _failed_part(parts[k], exc)
        fut.release()
        while out in done:
            result = done.pop(out)
            if folder is not None and "path" in result.columns and "geometry" not in result:
                row = result.iloc[0]
                writer.append_part_file(row["path"], int(row["rows"]), int(row["errors"]))
                bar.update(int(row["rows"]))
            else:  # rows in hand: another format, or a failed partition's error rows
                writer.write(result)
                bar.update(len(result))
            out += 1
        submit()


def _failed_part(part: Part, exc):
    """Error rows for a partition whose task failed (a worker lost, an index not loaded)."""
    from planmap.geo.batch import empty_row

    why = (f"failed_partition: partition {part.number} (rows {part.first_row + 1}–"
           f"{part.first_row + part.rows}) failed: {type(exc).__name__}: {exc}")
    rows = [empty_row(str(part.first_row + i + 1), why) for i in range(part.rows)]
    return _rows_frame(rows, [None] * part.rows)


def _output_format(output: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    found = OUTPUT_FORMATS.get(Path(output).suffix.lower())
    if found is None:
        raise _bad("unknown_output_format",
                   f"cannot tell the output format from {output!r}: use a .parquet, .gpkg or "
                   ".csv name, or --format", f"无法从 {output!r} 判断输出格式：请使用 .parquet、"
                   ".gpkg 或 .csv 文件名，或指定 --format", param="output")
    return found


def run_batch(args) -> int:
    """``planmap batch FILE -o OUT [--engine local|dask] [--scheduler ADDR] [--workers N]``.

    Parameters
    ----------
    args : argparse.Namespace
        ``file``, ``output``, ``format``, ``engine``, ``scheduler``, ``workers``, ``crs``,
        ``layer``, ``data_dir``, ``quiet``; ``limits`` and ``cache_dir`` as
        ``server/cli.py`` fills them.

    Returns
    -------
    int
        0, also when some rows carry an error (their count is reported).
    """
    import tempfile

    from planmap.layers.zonecommands import _limits, _user_file

    started = time.perf_counter()
    limits = _limits(args)
    path = _user_file(args.file, "file", limits)
    fmt = _output_format(args.output, getattr(args, "format", None))
    parts = plan(path, crs=getattr(args, "crs", None), layer=getattr(args, "layer", None))
    total = sum(p.rows for p in parts)
    if total > limits.max_points:
        raise LimitExceeded(code="too_many_features", param="file",
                            message_en=f"{total} features; the limit is {limits.max_points} "
                                       "(setting CLI_MAX_POINTS)",
                            message_zh=f"要素数 {total}，上限为 {limits.max_points}"
                                       "（设置 CLI_MAX_POINTS）")
    temp = None
    if not getattr(args, "cache_dir", None):  # the workers load the index from files
        temp = tempfile.TemporaryDirectory(prefix="planmap-batch-")
        args.cache_dir = temp.name
    try:
        spec = engine_spec(args)
        writer = RowWriter(args.output, fmt)
        engine = getattr(args, "engine", "local") or "local"
        try:
            with _progress(args, total) as bar:
                if engine == "dask":
                    client, cluster = _client(args)
                    try:
                        if not getattr(args, "quiet", False):
                            print(f"planmap: dask dashboard {client.dashboard_link}",
                                  file=sys.stderr)
                        # part files of a GeoParquet output: beside it (the workers of
                        # a --scheduler cluster must reach the folder: a shared disk)
                        with tempfile.TemporaryDirectory(
                                prefix=".planmap-parts-",
                                dir=str(Path(args.output).resolve().parent)) as part_folder:
                            run_dask(parts, spec, writer, bar, client, part_folder)
                    finally:
                        client.close()
                        if cluster is not None:
                            cluster.close()
                else:
                    run_local(parts, spec, writer, bar)
        finally:
            writer.close()
    finally:
        if temp is not None:
            temp.cleanup()
    if not getattr(args, "quiet", False):
        print(f"planmap: {writer.rows:,} features ({writer.errors:,} with an error) -> "
              f"{args.output} ({fmt}, {engine}) in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    return 0
