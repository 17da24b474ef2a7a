"""``planmap import``: replace a layer with authoritative data, atomically.

A planning bureau replaces our schematic geometry with its own red-line data:
:func:`import_layer` reads GeoJSON, GeoPackage or Shapefile (folder or ``.zip``),
validates, reprojects to WGS84, rounds to 6 decimals, marks every feature
``official`` and writes ``data/<layer>.geojson`` so that a reader (or a crash) sees
either the whole old file or the whole new one:

1. the new file is written to a temporary file in the same folder and fsynced;
2. the current file is kept as ``versions/<layer>.<UTC timestamp>.geojson``
   (a hard link: the old bytes stay exactly as they were);
3. ``os.replace`` swaps the new file in (atomic on POSIX and Windows), and the
   folder is fsynced.

:func:`restore_previous` brings back the newest kept version the same way.

What an imported feature carries
--------------------------------
* ``id``: the file's ``id`` column when every value is a unique string matching
  ``^[a-z0-9_]+$``; otherwise a feature whose ``name_zh`` equals that of exactly
  one feature of the current layer takes that feature's id (so clauses that name
  it keep applying), the rest get ``<layer>_<n>``; the file's own id is kept as
  ``source_id``.
* ``name_zh``/``name_en``/``kind``: the file's columns (``name_zh`` or a name-like
  column such as ``name``, ``名称``, ``mc``, ``xmmc``, ``dkmc``), else those of the
  matched current feature; ``name_en`` falls back to ``name_zh``, ``kind`` to
  ``"imported"``.
* ``citation`` (every feature must cite the plan): the file's ``citation``
  (object or JSON text) or ``citation_seed/_line/_quote`` columns (Shapefile's
  10-character truncations ``citation_s/_l/_q`` too); else the matched current
  feature's citation — its geometry is replaced, the plan text that justifies it
  is not; else the catalog entry's ``citation`` if it has one. Otherwise the
  import is refused (``citation_required``): official geometry does not make an
  uncited feature part of the plan. Every citation is checked against the
  vendored plan text (seed exists, quote found at the line, whitespace-insensitive).
* ``accuracy``: always ``official``; ``rule`` is dropped (it described how the old
  schematic geometry was drawn); ``source``: the ``source`` argument, else the
  file's ``source`` column, else the file name.
* ``county``: the file's ``county`` column, else the county units of the current
  ``admin`` layer whose interior the geometry meets.
* Other columns are kept as properties (JSON text of a list/object is read back
  as the list/object, as GIS formats store them that way).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.errors import CRSError, InvalidGeometry, InvalidInput, LayerError, NotFound
from planmap.geo.limits import DEFAULT_LIMITS, Limits
from planmap.geo.validate import flatten_collection
from planmap.layers import loader
from planmap.layers.export import FORMULA_START
from planmap.layers.loader import ID_PATTERN, REQUIRED_PROPERTIES

VERSIONS_DIR = "versions"
CHUNK_BYTES = 64 * 1024
CHUNK_HOOKS: list = []
"""Callables run after each chunk an import writes (none in production).  A test installs
one (``tests/slow_import.py``) to slow an import down and kill it in mid-write."""

NAME_COLUMNS = ("name_zh", "name", "名称", "名字", "mc", "xmmc", "dkmc", "qymc", "zqmc",
                "name_cn", "zh_name")
# Columns the importer sets itself; a file's values for them are read, never copied blindly.
_MANAGED = set(REQUIRED_PROPERTIES) | {"rule", "extra_citations", "source_id", "attribution",
                                       "licence"}
_CITATION_COLUMNS = {
    "seed": ("citation_seed", "cite_seed", "cit_seed", "citation_s"),
    "line": ("citation_line", "cite_line", "cit_line", "citation_l"),
    "quote": ("citation_quote", "cite_quote", "cit_quote", "citation_q"),
}
# Columns of planmap's own exports that describe the layer, not the feature: they feed a
# new layer's catalog entry instead of every feature.
_LAYER_COLUMNS = ("attribution", "licence", "layer")
_TIMESTAMP = re.compile(r"^\d{8}T\d{12}Z$")  # kept versions before sequence numbers
# <layer>.<sequence>.<UTC timestamp>.geojson: the sequence orders versions, the timestamp
# is for people (a clock set back must not make --restore pick an older version)
_VERSION_STAMP = re.compile(r"^v(?P<seq>\d{6,})\.\d{8}T\d{12}Z$")
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # tempfile.mkstemp in _write_temp
_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
_DEFAULT_STYLE = {"color": "#d62728", "fillColor": "#d62728", "weight": 2, "fillOpacity": 0.2,
                  "radius": 6}


@dataclass
class ImportResult:
    """What an import (or a restore) did.

    Attributes
    ----------
    layer_id : str
    path : Path
        The layer's data file, now holding the new version.
    features : int
        Number of features written.
    previous : Path or None
        Where the replaced version was kept (None when the layer was new).
    created_layer : bool
        True when a catalog entry was added.
    source_crs : str
        CRS the input was read in.
    matched : int
        Features that took id/citation/names from the current layer.
    warnings : list of str
        E.g. clauses that name features which no longer exist.
    """

    layer_id: str
    path: Path
    features: int
    previous: Path | None = None
    created_layer: bool = False
    source_crs: str = "EPSG:4326"
    matched: int = 0
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ atomic files
def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on Windows.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _chunk_written() -> None:
    for hook in CHUNK_HOOKS:
        hook()


def _write_temp(folder: Path, stem: str, data: bytes, mode: int = 0o644,
                hook: bool = True) -> Path:
    """Write ``data`` to a new temporary file in ``folder`` and fsync it; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".tmp")
    hooks = bool(CHUNK_HOOKS) and hook
    try:
        # mkstemp makes the file private (0600); the data file is read by the server.
        with contextlib.suppress(OSError, AttributeError):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            for start in range(0, len(data), CHUNK_BYTES):
                fh.write(data[start:start + CHUNK_BYTES])
                if hooks:
                    fh.flush()
                    _chunk_written()
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def _atomic_write(target: Path, data: bytes, before_replace=None):
    """Replace ``target`` with ``data`` so readers see the old or the new bytes, never a mix.

    ``before_replace()`` runs once the new bytes are safely on disk, just before the
    swap (used to keep the old version); its result is returned.
    """
    mode = 0o644
    with contextlib.suppress(OSError):
        mode = target.stat().st_mode & 0o777
    tmp = _write_temp(target.parent, target.name, data, mode)
    result = None
    try:
        if before_replace is not None:
            result = before_replace()
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(result, Path):  # the swap failed: the "previous" version is current
            with contextlib.suppress(OSError):
                result.unlink()
        raise
    _fsync_dir(target.parent)
    return result


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _version_key(path: Path, layer_id: str):
    """Order of a kept version: its sequence number (versions without one came first)."""
    stamp = path.name[len(layer_id) + 1:-len(".geojson")]
    match = _VERSION_STAMP.match(stamp)
    if match:
        return (1, int(match.group("seq")), path.name)
    if _TIMESTAMP.match(stamp):
        return (0, 0, path.name)
    return None


def _keep_version(current: Path, folder: Path, layer_id: str) -> Path:
    """Keep ``current`` as ``folder/<layer>.v<seq>.<timestamp>.geojson`` (hard link, else copy).

    ``seq`` is one more than the highest kept so far (callers hold the import lock).
    """
    folder.mkdir(parents=True, exist_ok=True)
    keys = [k for k in (_version_key(p, layer_id) for p in folder.glob(f"{layer_id}.*.geojson"))
            if k is not None]
    seq = max((k[1] for k in keys), default=0) + 1
    while True:
        kept = folder / f"{layer_id}.v{seq:06d}.{_timestamp()}.geojson"
        if not kept.exists():
            break
        seq += 1
    try:
        os.link(current, kept)
    except OSError:  # file systems without hard links: copy (atomically) instead
        _atomic_write(kept, current.read_bytes())
    _fsync_dir(folder)
    return kept


@contextlib.contextmanager
def _flock(data_dir: Path):
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; imports there are run one at a time
        yield
        return
    with open(data_dir / ".import.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def _import_lock(data_dir: Path):
    """Serialise imports into one data dir (a second import waits for the first).

    A file-system failure inside (read-only install, disk full) becomes a LayerError
    naming the file; the atomic writes leave the data as it was.
    """
    try:
        with _flock(data_dir):
            yield
    except OSError as exc:
        where = exc.filename or data_dir
        raise LayerError("write_failed", f"cannot write {where}: {exc.strerror or exc}",
                         f"无法写入 {where}：{exc.strerror or exc}", param="data_dir") from None


def _remove_stale_temps(folder: Path, stem: str) -> None:
    # Left by an import that was killed mid-write; safe to delete under the import lock.
    for tmp in folder.glob(f".{stem}.*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def _remove_all_stale_temps(data_dir: Path) -> None:
    """Delete every temp file an interrupted import or restore left (under the lock)."""
    folders = {data_dir, data_dir / "data", data_dir / VERSIONS_DIR,
               data_dir / VERSIONS_DIR / "undone"}
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):
        for entry in _catalog_doc(data_dir).get("layers", []):
            folders.add((data_dir / entry.get("file", "")).parent)
    for folder in folders:
        with contextlib.suppress(OSError):
            for tmp in folder.glob(".*.tmp"):
                if _TEMP_NAME.match(tmp.name):
                    with contextlib.suppress(OSError):
                        tmp.unlink()


# ------------------------------------------------------------------ reading
_SPLIT = re.compile(r"^(?P<base>.+)_(polygon|line|point)$")


def _pick_shapefiles(shps: list[str], layer_id: str, where: str) -> list[str]:
    """Choose the Shapefile(s) of a folder or zip that hold ``layer_id``.

    One file: that one. Several: the one named like the layer, or the parts of
    planmap's own export, which splits a mixed layer into ``<layer>_polygon``,
    ``_line`` and ``_point``.
    """
    if len(shps) == 1:
        return shps
    stems = {PurePosixPath(n).stem: n for n in shps}
    if layer_id in stems:
        return [stems[layer_id]]
    parts = {s: m.group("base") for s in stems if (m := _SPLIT.match(s))}
    bases = set(parts.values())
    if layer_id in bases:
        return sorted(stems[s] for s, base in parts.items() if base == layer_id)
    if len(bases) == 1 and len(parts) == len(stems):
        return sorted(shps)
    found = sorted(stems)
    raise InvalidInput("ambiguous_input" if found else "no_layer_found",
                       f"{where} must hold one Shapefile, or one named like the layer "
                       f"({layer_id!r}); found {found or 'none'}",
                       f"{where} 中应只有一个 Shapefile，或有一个与图层同名（{layer_id}）；"
                       f"找到 {found or '无'}", param="file")


# What zipfile raises on a damaged archive (bad central directory, CRC, deflate stream,
# unknown compression, encryption): each is the file's problem, reported as unreadable.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
               NotImplementedError, RuntimeError, ValueError, struct.error)


def _zip_members(path: Path, layer_id: str, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise InvalidInput("unreadable_file", f"{path.name}: not a readable zip ({exc})",
                           f"{path.name}：无法读取的 zip 文件", param="file") from None
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > limits.max_unzipped_bytes:
            raise InvalidInput("zip_too_large",
                               f"{path.name} unpacks to {total} bytes, more than "
                               f"{limits.max_unzipped_bytes}",
                               f"{path.name} 解压后 {total} 字节，超过上限", param="file")
        # (an empty member name, which ZipInfo.is_dir cannot judge, names no layer either)
        names = [i.filename for i in infos
                 if i.filename and not i.is_dir() and "__MACOSX" not in i.filename]
    shps = [n for n in names if n.lower().endswith(".shp")]
    if shps:
        return _pick_shapefiles(shps, layer_id, path.name)
    others = [n for n in names if n.lower().endswith((".geojson", ".json", ".gpkg"))]
    if len(others) == 1:
        return others
    raise InvalidInput("ambiguous_input" if others else "no_layer_found",
                       f"{path.name} must hold a Shapefile (or one GeoJSON/GeoPackage); "
                       f"found {others or 'none'}",
                       f"{path.name} 中应有一个 Shapefile；找到 {others or '无'}", param="file")


def _sources(path: Path, layer_id: str,
             limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, str | None]]:
    """Return the GDAL paths to read, each with the layer name inside it (or None)."""
    if not path.exists():
        raise InvalidInput("file_not_found", f"no such file: {path}", f"文件不存在：{path}",
                           param="file")
    if path.is_dir():
        shps = [str(p) for p in sorted(path.glob("*.shp"))]
        return [(p, None) for p in _pick_shapefiles(shps, layer_id, f"folder {path}")]
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise InvalidInput("unsupported_format",
                           f"{path.name}: unsupported format; use GeoJSON, GeoPackage or "
                           f"Shapefile (folder or .zip)",
                           f"{path.name}：不支持的格式；请使用 GeoJSON、GeoPackage 或 Shapefile",
                           param="file")
    if suffix == ".zip":
        members = _zip_members(path, layer_id, limits)
        return [(f"/vsizip/{path.resolve()}/{m}", None) for m in members]
    if suffix == ".gpkg":
        try:
            names = [str(n) for n, _ in pyogrio.list_layers(str(path))]
        except Exception as exc:  # pyogrio raises DataSourceError & co.
            raise InvalidInput("unreadable_file", f"{path.name}: {exc}",
                               f"{path.name}：无法读取", param="file") from None
        if len(names) > 1:
            if layer_id in names:
                return [(str(path), layer_id)]
            raise InvalidInput("ambiguous_input",
                               f"{path.name} holds several layers {names}; name one like the "
                               f"target layer ({layer_id!r})",
                               f"{path.name} 含多个图层 {names}", param="file")
    return [(str(path), None)]


def _planmap_zip_tables(path: Path) -> tuple[dict, dict]:
    """Read the side tables of a planmap Shapefile export.

    ``fields.csv`` (stem -> short -> full name) and ``attributes.csv`` ((layer, id) ->
    row) hold what DBF cannot: long names and text over 254 bytes.
    """
    fields: dict[str, dict[str, str]] = {}
    rows: dict[tuple[str, str], dict] = {}
    if path.suffix.lower() != ".zip":
        return fields, rows
    try:
        return _read_side_tables(path, fields, rows)
    except (*_ZIP_ERRORS, csv.Error) as exc:  # e.g. a bad CRC or a NUL in attributes.csv
        raise InvalidInput("unreadable_file", f"{path.name}: cannot read its side tables "
                           f"({type(exc).__name__}: {str(exc)[:120]})",
                           f"{path.name}：无法读取附表", param="file") from None


def _read_side_tables(path: Path, fields: dict, rows: dict) -> tuple[dict, dict]:
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        if "fields.csv" in names:
            text = zf.read("fields.csv").decode("utf-8", errors="replace")
            for r in csv.DictReader(io.StringIO(text)):
                fields.setdefault(r.get("file", ""), {})[r.get("short", "")] = r.get("full", "")
        if "attributes.csv" in names:
            text = zf.read("attributes.csv").decode("utf-8", errors="replace")
            for r in csv.DictReader(io.StringIO(text)):
                rows[(r.get("layer", ""), r.get("id", ""))] = r
    return fields, rows


def _restore_long_names_and_text(frame, stem: str, fields: dict, rows: dict):
    if stem in fields:
        frame = frame.rename(columns={k: v for k, v in fields[stem].items()
                                      if k in frame.columns and v})
    if not rows or "id" not in frame.columns:
        return frame
    layer_col = frame["layer"] if "layer" in frame.columns else [""] * len(frame)
    for i, (lid, fid) in enumerate(zip(layer_col, frame["id"], strict=True)):
        full = rows.get((str(lid), str(fid)))
        if not full:
            continue
        for col, value in full.items():
            # Only text DBF cut at 254 bytes: the full value starts with the cut one.
            # (a short row of attributes.csv gives None for the missing cells)
            if col in frame.columns and isinstance(frame[col].iat[i], str) \
                    and isinstance(value, str):
                cut = frame[col].iat[i]
                if value[:1] == "'" and value[1:].startswith(FORMULA_START) and \
                        value[1:].startswith(cut):
                    value = value[1:]  # the export's guard against spreadsheet formulas
                if len(value) > len(cut) and value.startswith(cut):
                    frame.iloc[i, frame.columns.get_loc(col)] = value
    return frame


def _read(path: Path, layer_id: str, limits: Limits = DEFAULT_LIMITS):
    parts = []
    fields, rows = _planmap_zip_tables(path) if path.suffix.lower() == ".zip" else ({}, {})
    for gdal_path, gdal_layer in _sources(path, layer_id, limits):
        try:
            frame = pyogrio.read_dataframe(gdal_path, layer=gdal_layer)
        except Exception as exc:  # any GDAL read problem is bad input, not a crash
            raise InvalidInput("unreadable_file", f"{path.name}: cannot read ({exc})",
                               f"{path.name}：无法读取（{exc}）", param="file") from None
        if not isinstance(frame, gpd.GeoDataFrame):
            # e.g. a GeoPackage attributes table: pyogrio gives a plain DataFrame
            raise InvalidInput("no_geometry_column",
                               f"{path.name}: the layer has no geometry column",
                               f"{path.name}：图层没有几何列", param="file")
        # Shapefile cannot tell a Point from a one-part MultiPoint, and a GeoPackage
        # layer has one type (Multi* when mixed): one-part multis become single parts.
        geoms = np.asarray(frame.geometry.values, dtype=object)
        single = np.array([g is not None and g.geom_type.startswith("Multi") and
                           len(g.geoms) == 1 for g in geoms], dtype=bool)
        if single.any():
            geoms[single] = [g.geoms[0] for g in geoms[single]]
            frame = frame.set_geometry(list(geoms), crs=frame.crs)
        parts.append(_restore_long_names_and_text(frame, PurePosixPath(gdal_path).stem,
                                                  fields, rows))
    if len(parts) > 1:
        crss = {str(p.crs) for p in parts}
        if len(crss) > 1:
            raise CRSError("mixed_crs", f"the parts of {path.name} have different CRSs {crss}",
                           f"{path.name} 各部分的坐标系不一致", param="file")
        frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                                 crs=parts[0].crs)
        if rows and "id" in frame.columns:
            # Split by geometry type on export; attributes.csv keeps the layer's order.
            order = {key: n for n, key in enumerate(rows)}
            layer_of = frame["layer"] if "layer" in frame.columns else [""] * len(frame)
            rank = [order.get((str(lid), str(fid)), len(order))
                    for lid, fid in zip(layer_of, frame["id"], strict=True)]
            frame = frame.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    else:
        frame = parts[0]
    # A planmap export of several layers ("all") names each row's layer: keep ours.
    layer_col = _column(frame, ("layer",))
    if layer_col is not None and len(frame):
        values = {str(v) for v in frame[layer_col].dropna()}
        if len(values) > 1 and layer_id in values:
            frame = frame[frame[layer_col].astype(str) == layer_id].reset_index(drop=True)
    return frame


def _resolve_crs(file_crs, crs_arg: str | None):
    """Return (name, supported): a geo.crs name, or a pyproj CRS for other file CRSs."""
    if crs_arg:
        return gcrs.parse_crs(crs_arg, param="crs"), True
    if file_crs is None:
        raise CRSError("crs_required",
                       "the file does not say its CRS (no .prj?); give --crs, e.g. EPSG:4550",
                       "文件未声明坐标系（缺少 .prj？）；请用 --crs 指定，例如 EPSG:4550",
                       param="crs")
    try:
        file_crs = pyproj.CRS.from_user_input(file_crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError("unsupported_crs", f"the file's CRS is not understood ({exc}); give --crs",
                       "无法识别文件的坐标系；请用 --crs 指定", param="crs") from None
    epsg = file_crs.to_epsg(min_confidence=70)
    if epsg is not None:
        with contextlib.suppress(CRSError):
            return gcrs.parse_crs(f"EPSG:{epsg}", param="crs"), True
    # A CRS embedded in the file (e.g. Xi'an 1980 GK) that pyproj knows: transform with
    # pyproj; the result is still checked against Baicheng below.
    return file_crs, False


# ------------------------------------------------------------------ values
def _plain(value):
    """Convert a value read by pyogrio into plain JSON data (None for missing)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (str, int, bool)):
        return value
    return str(value)


def _json_field(value, expect: type):
    """Read a list/object column value (GIS exports write them as JSON text)."""
    value = _plain(value)
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    return value if isinstance(value, expect) else None


def _column(frame: pd.DataFrame, names) -> str | None:
    lower = {str(c).lower(): c for c in frame.columns if c != "geometry"}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _check_citation(cit: dict, where: str, plans) -> dict:
    """Check a citation against the vendored plan text; return it normalised."""
    try:
        seed, line, quote = str(cit["seed"]), int(cit["line"]), str(cit["quote"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("bad_citation", f"{where}: citation needs seed, line and quote",
                           f"{where}：出处须含 seed、line、quote", param="citation") from None
    plan = plans.get(seed)
    if plan is None or not 1 <= line <= len(plan.lines):
        raise InvalidInput("bad_citation", f"{where}: citation {seed}:{line} names no plan line",
                           f"{where}：出处 {seed}:{line} 不存在", param="citation")
    # The PDF text breaks a sentence over line, blank, line: look at the cited line and
    # the next two, and the quote must start on the cited line.
    first = _squash(plan.lines[line - 1])
    window = "".join(_squash(x) for x in plan.lines[line - 1:line + 2])
    pos = window.find(_squash(quote))
    if not quote or pos < 0 or pos >= len(first):
        raise InvalidInput("bad_citation",
                           f"{where}: quote {quote[:40]!r} not found at {seed} line {line}",
                           f"{where}：在 {seed} 第 {line} 行找不到引文", param="citation")
    return {**cit, "seed": seed, "line": line, "quote": quote}


def _label(frame: pd.DataFrame, i: int, id_col: str | None) -> str:
    if id_col is not None and _plain(frame[id_col].iloc[i]) is not None:
        return f"feature {_plain(frame[id_col].iloc[i])!r} (row {i + 1})"
    return f"feature at row {i + 1}"


# ------------------------------------------------------------------ geometry
def _geometries(frame, src, supported: bool, path: Path) -> np.ndarray:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    id_col = _column(frame, ("id",))
    missing = np.array([g is None for g in geoms]) | shapely.is_empty(geoms)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InvalidGeometry("missing_geometry", f"{_label(frame, i, id_col)} has no geometry",
                              f"第 {i + 1} 行要素没有几何", param="file")
    geoms = shapely.force_2d(geoms)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        i = int(np.flatnonzero(invalid)[0])
        reason = shapely.is_valid_reason(geoms[i])
        raise InvalidGeometry("invalid_geometry",
                              f"{_label(frame, i, id_col)}: invalid geometry: {reason}",
                              f"第 {i + 1} 行要素几何无效：{reason}", param="file")
    if supported:
        xy = shapely.get_coordinates(geoms)
        # Names the first coordinate outside the CRS's area, with a hint (swapped axes,
        # metres read as degrees, wrong zone).
        gcrs.check_coordinates(xy[:, 0], xy[:, 1], src, param="file")
        out = gcrs.transform_geometry(geoms, src, gcrs.WGS84, param="file")
    else:
        try:
            out = frame.set_geometry(list(geoms), crs=src).to_crs("EPSG:4326").geometry.values
        except pyproj.exceptions.ProjError as exc:  # e.g. a .prj of another celestial body
            raise CRSError("invalid_crs", f"the file's CRS cannot be turned into WGS 84 ({exc})",
                           "文件的坐标系无法转换为 WGS 84", param="file") from None
        out = np.asarray(out, dtype=object)
    # Round to 6 decimals (≈ 0.1 m) keeping vertex order; where rounding breaks
    # validity (tiny spikes, near-touching rings) snap to the grid with GEOS instead,
    # which keeps the result valid.
    out = shapely.transform(out, lambda c: np.round(c, 6))
    broken = ~shapely.is_valid(out)
    if broken.any():
        out[broken] = shapely.set_precision(out[broken], 1e-6)
    collapsed = shapely.is_empty(out)
    if collapsed.any():
        i = int(np.flatnonzero(collapsed)[0])
        raise InvalidGeometry("collapsed_geometry",
                              f"{_label(frame, i, id_col)} collapses at 6-decimal precision",
                              f"第 {i + 1} 行要素在 6 位小数精度下退化", param="file")
    out = shapely.orient_polygons(out, exterior_cw=False)
    box = shapely.box(gcrs.BAICHENG_LON[0], gcrs.BAICHENG_LAT[0],
                      gcrs.BAICHENG_LON[1], gcrs.BAICHENG_LAT[1])
    outside = ~shapely.intersects(out, box)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        c = shapely.get_coordinates(out[i])[0]
        raise CRSError("outside_service_area",
                       f"{_label(frame, i, id_col)} lands at lon {c[0]:.4f}, lat {c[1]:.4f}, "
                       f"outside Baicheng: wrong CRS? (read as {src})",
                       f"第 {i + 1} 行要素落在白城市以外（经度 {c[0]:.4f}，纬度 {c[1]:.4f}）："
                       f"坐标系是否有误？", param="crs")
    return out


def _flatten_collections(frame) -> tuple:
    """Flatten collections inside collections (``serve`` could not index them).

    Returns the frame and ``(how many were flattened, first row)``.
    """
    geoms = np.asarray(frame.geometry.values, dtype=object)
    nested = [i for i, g in enumerate(geoms) if g is not None
              and g.geom_type == "GeometryCollection"
              and any(p.geom_type == "GeometryCollection" for p in shapely.get_parts(g))]
    if not nested:
        return frame, (0, 0)
    flat = geoms.copy()
    for i in nested:
        flat[i] = flatten_collection(geoms[i])
    frame = frame.set_geometry(gpd.GeoSeries(list(flat), index=frame.index, crs=frame.crs))
    return frame, (len(nested), nested[0])


def _round(obj):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), 6) for v in obj]
        return [_round(x) for x in obj]
    return obj


def _ring_json(ring) -> list:
    return [[round(x, 6), round(y, 6)] for x, y in shapely.get_coordinates(ring).tolist()]


def _geometry_json(geom) -> dict:
    # Fast path for 2D (multi)polygons, the parcels of a big import: what the general path
    # below gives, without shapely's mapping() tuples and the recursive rounding.
    kind = geom.geom_type
    if kind in ("Polygon", "MultiPolygon") and not geom.is_empty and not shapely.has_z(geom):
        polys = [geom] if kind == "Polygon" else list(geom.geoms)
        rings = [[_ring_json(r) for r in (g.exterior, *g.interiors)] for g in polys]
        return {"type": kind, "coordinates": rings[0] if kind == "Polygon" else rings}
    m = shapely.geometry.mapping(geom)
    if m["type"] == "GeometryCollection":
        return {"type": m["type"], "geometries": [_geometry_json(g) for g in geom.geoms]}
    return {"type": m["type"], "coordinates": _round(m["coordinates"])}


def _counties(geoms: np.ndarray, admin) -> list[list[str]]:
    combos, which = _county_codes(geoms, admin)
    return [list(combos[k]) for k in which]


def _county_codes(geoms: np.ndarray, admin) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Return the county combinations met and, per geometry, the index of its own.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
    admin : GeoDataFrame or None
        The admin layer (``kind == "county"`` rows with an ``adcode``).

    Returns
    -------
    combos : list of tuple of str
        Distinct sorted adcode tuples (``()`` for none).
    which : numpy.ndarray of int
        ``combos[which[i]]`` is the counties of ``geoms[i]``.
    """
    geoms = np.asarray(geoms, dtype=object)
    if admin is None or "adcode" not in admin:
        return [()], np.zeros(len(geoms), dtype=np.intp)
    units = admin[(admin["kind"] == "county") & admin["adcode"].notna()]
    codes = units["adcode"].astype(str).tolist()
    shapes = list(units.geometry.values)
    # unit j gets bit rank[j], ranks in code order: a mask's bits read low to high are
    # its sorted codes (one mask per geometry instead of a Python list per row)
    order = sorted(range(len(codes)), key=codes.__getitem__)
    if len(order) > 62:
        masks = np.zeros((len(geoms), len(order)), dtype=bool)
    else:
        masks = np.zeros(len(geoms), dtype=np.int64)
    tree = shapely.STRtree(geoms)
    for rank, j in enumerate(order):
        unit = shapes[j]
        # Meeting the interior, not just the border (a polygon on a county line is in one):
        # intersects and not touches. The tree finds what intersects; what the county
        # contains properly cannot touch it, so touches is computed only for the rest.
        hit = np.sort(tree.query(unit, predicate="intersects"))
        shapely.prepare(unit)  # a cache inside the geometry; the answer is the same
        inside = shapely.contains_properly(unit, geoms[hit])
        rest = hit[~inside]
        keep = np.concatenate([hit[inside], rest[~shapely.touches(geoms[rest], unit)]])
        if masks.ndim == 2:
            masks[keep, rank] = True
        else:
            masks[keep] |= np.int64(1) << rank
    if masks.ndim == 2:
        uniq, which = np.unique(masks, axis=0, return_inverse=True)
        combos = [tuple(codes[order[r]] for r in np.flatnonzero(m)) for m in uniq]
    else:
        uniq, which = np.unique(masks, return_inverse=True)
        combos = [tuple(codes[order[r]] for r in range(len(order)) if int(m) >> r & 1)
                  for m in uniq]
    return combos, np.asarray(which, dtype=np.intp).reshape(-1)


# ------------------------------------------------------------------ features
def _build_features(frame, geoms, layer_id, source, file_name, current, entry) -> tuple:
    n = len(frame)
    prev = current.layers.get(layer_id)
    other_ids = {fid for lid, gdf in current.layers.items() if lid != layer_id
                 for fid in gdf.index}

    id_col = _column(frame, ("id",))
    file_ids = [_plain(v) for v in frame[id_col]] if id_col is not None else [None] * n
    ids_usable = (id_col is not None and all(isinstance(v, str) and ID_PATTERN.match(v)
                                             for v in file_ids)
                  and len(set(file_ids)) == n)

    name_col = _column(frame, NAME_COLUMNS)
    names = [_plain(v) for v in frame[name_col]] if name_col is not None else [None] * n
    names = [str(v).strip() if v not in (None, "") else None for v in names]

    prev_by_name: dict[str, str] = {}
    if prev is not None:
        counts = prev["name_zh"].value_counts()
        prev_by_name = {nm: fid for fid, nm in prev["name_zh"].items() if counts[nm] == 1}

    ids: list[str] = []
    matched_prev: list[str | None] = []
    if ids_usable:
        ids = list(file_ids)
        matched_prev = [fid if prev is not None and fid in prev.index else None for fid in ids]
    else:
        taken: set[str] = set()
        for nm in names:
            fid = prev_by_name.get(nm) if nm else None
            if fid in taken:
                fid = None
            matched_prev.append(fid)
            if fid:
                taken.add(fid)
        k = 0
        for fid in matched_prev:
            if fid is None:
                k += 1
                while f"{layer_id}_{k}" in taken or f"{layer_id}_{k}" in other_ids:
                    k += 1
                fid = f"{layer_id}_{k}"
                taken.add(fid)
            ids.append(fid)
    clash = sorted(set(ids) & other_ids)
    if clash:
        raise InvalidInput("duplicate_id", f"ids {clash[:5]} are already used by other layers",
                           f"id {clash[:5]} 已被其他图层使用", param="id")

    county_col = _column(frame, ("county",))
    computed_counties = _counties(geoms, current.layers.get("admin"))
    cols = {k: _column(frame, v) for k, v in _CITATION_COLUMNS.items()}
    cit_col = _column(frame, ("citation",))
    extra_cit_col = _column(frame, ("extra_citations", "extra_cite"))
    name_en_col = _column(frame, ("name_en",))
    kind_col = _column(frame, ("kind",))
    source_col = _column(frame, ("source",))
    used = {c for c in (id_col, name_col, county_col, cit_col, extra_cit_col, name_en_col,
                        kind_col, source_col, *cols.values()) if c is not None}
    extras = [c for c in frame.columns
              if c != "geometry" and c not in used and str(c) not in _MANAGED]

    # Each column as a list once: per-row Series indexing dominated a 10^5-parcel import.
    values = {c: list(frame[c]) for c in frame.columns if c != "geometry"}
    features = []
    for i in range(n):
        where = f"feature {ids[i]!r} (row {i + 1})"
        old = prev.loc[matched_prev[i]] if matched_prev[i] is not None else None
        cit = _json_field(values[cit_col][i], dict) if cit_col is not None else None
        if cit is None and all(cols.values()):
            parts = {k: _plain(values[c][i]) for k, c in cols.items()}
            cit = parts if all(v not in (None, "") for v in parts.values()) else None
        if cit is None and old is not None:
            cit = old["citation"]
        if cit is None and isinstance(entry, dict) and isinstance(entry.get("citation"), dict):
            cit = entry["citation"]
        if cit is None:
            raise InvalidInput(
                "citation_required",
                f"{where}: no plan citation — add citation_seed/citation_line/citation_quote "
                f"columns (or a citation column), or keep the ids/names of the current "
                f"layer's features so their citations carry over",
                f"{where}：缺少规划出处——请添加 citation_seed/citation_line/citation_quote 列，"
                f"或沿用现有要素的 id/名称", param="citation")
        cit = _check_citation(cit, where, current.plans)
        extra_cits = (_json_field(values[extra_cit_col][i], list)
                      if extra_cit_col is not None else None)
        if extra_cits is None and old is not None and isinstance(old.get("extra_citations"), list):
            extra_cits = old["extra_citations"]
        extra_cits = [_check_citation(c, where, current.plans) for c in extra_cits or ()]

        name_zh = names[i] or (old["name_zh"] if old is not None else None) or ids[i]
        name_en = _plain(values[name_en_col][i]) if name_en_col is not None else None
        name_en = name_en or (old["name_en"] if old is not None else None) or name_zh
        kind = _plain(values[kind_col][i]) if kind_col is not None else None
        kind = kind or (old["kind"] if old is not None else None) or "imported"
        county = _json_field(values[county_col][i], list) if county_col is not None else None
        if county is None and county_col is not None:
            text = _plain(values[county_col][i])
            county = [c.strip() for c in str(text).split(",") if c.strip()] if text else None
        county = [str(c) for c in county] if county is not None else computed_counties[i]
        src = source or (_plain(values[source_col][i]) if source_col is not None else None)
        props = {
            "id": ids[i], "name_zh": str(name_zh), "name_en": str(name_en), "layer": layer_id,
            "kind": str(kind), "county": county, "accuracy": "official",
            "source": str(src or file_name), "citation": cit,
        }
        if extra_cits:
            props["extra_citations"] = extra_cits
        if not ids_usable and file_ids[i] is not None:
            props["source_id"] = file_ids[i]
        for c in extras:
            v = _plain(values[c][i])
            if isinstance(v, str) and v.strip()[:1] in ("[", "{"):
                # GIS formats keep lists/objects as JSON text (see layers/export.py).
                parsed = _json_field(v, (list, dict))
                v = v if parsed is None else parsed
            if v is not None:
                props[str(c)] = v
        features.append({"type": "Feature", "id": ids[i], "properties": props,
                         "geometry": _geometry_json(geoms[i])})
    return features, sum(m is not None for m in matched_prev)


def _uniform(frame, name: str) -> str | None:
    """Return the one value a column has on every row (else None)."""
    col = _column(frame, (name,))
    if col is None:
        return None
    values = {str(v) for v in (_plain(x) for x in frame[col]) if v not in (None, "")}
    return values.pop() if len(values) == 1 else None


def _collection_bytes(layer_id: str, features: list[dict]) -> bytes:
    # One feature per line: small diffs between versions, still valid RFC 7946.
    body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":"))
                      for f in features)
    return (f'{{"type":"FeatureCollection","name":{json.dumps(layer_id)},"features":[\n'
            f"{body}\n]}}\n").encode()


def _validate_like_loader(data: bytes, layer_id: str, data_dir: Path, plans) -> None:
    """Run the loader's own checks on the new bytes before they replace anything."""
    tmp = _write_temp(data_dir / "data", f"check_{layer_id}", data, hook=False)
    try:
        entry = {"id": layer_id, "file": str(tmp.relative_to(data_dir))}
        loader._read_layer(entry, data_dir, plans)
    except loader._Problem as prob:
        raise LayerError("layer_error", f"imported data would not load: {prob.problem}",
                         f"导入的数据无法加载：{prob.problem_zh}", param="file") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


# ------------------------------------------------------------------ catalog
def _catalog_doc(data_dir: Path) -> dict:
    return json.loads((data_dir / "catalog.json").read_text("utf-8"))


def _write_catalog(data_dir: Path, doc: dict) -> None:
    data = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    _atomic_write(data_dir / "catalog.json", data)


def _geometry_types(geoms) -> list[str]:
    return sorted({g.geom_type.replace("Multi", "") for g in geoms})


def _sync_geometry_types(data_dir: Path, layer_id: str, types: list[str]) -> None:
    """Make the catalog entry's ``geometry_types`` describe the new data (the map styles by it)."""
    doc = _catalog_doc(data_dir)
    for e in doc["layers"]:
        if e["id"] == layer_id and set(e.get("geometry_types") or ()) != set(types):
            e["geometry_types"] = types
            _write_catalog(data_dir, doc)


# ------------------------------------------------------------------ public API
def import_layer(path, layer_id: str, crs: str | None = None, source: str | None = None,
                 data_dir=None, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Import a GeoJSON, GeoPackage or Shapefile (folder or .zip) as layer ``layer_id``.

    Parameters
    ----------
    path : str or Path
        The file (or Shapefile folder) to import.
    layer_id : str
        Target layer; a new id adds a catalog entry.
    crs : str, optional
        CRS of the file's coordinates (``EPSG:4326``, ``EPSG:4490``, ``EPSG:4550``,
        ``EPSG:4529``, ``GCJ-02``); required when the file does not state one, and
        overrides the stated one when given.
    source : str, optional
        Source text for the features; default the file's ``source`` column, else its name.
    data_dir : str or Path, optional
        Data folder to write into (required: the built-in data in the installed package is
        read-only; without one, ``planmap import`` writes to the layer store).
    limits : Limits, optional
        ``max_unzipped_bytes`` bounds a zip; the command line passes its ``CLI_MAX_*``
        settings (default: no limit on the user's own files).

    Returns
    -------
    ImportResult

    Raises
    ------
    InvalidInput
        Unreadable or empty file, unusable ids, missing or wrong citation.
    InvalidGeometry
        A missing or invalid geometry (the GEOS reason is named).
    CRSError
        Unknown or missing CRS, coordinates outside the CRS's area or outside Baicheng.
    """
    data_dir = _data_dir(data_dir)
    path = Path(path)
    if not isinstance(layer_id, str) or not ID_PATTERN.match(layer_id):
        raise InvalidInput("invalid_layer_id", f"layer id {layer_id!r} must match ^[a-z0-9_]+$",
                           f"图层 id {layer_id!r} 只能含小写字母、数字和下划线", param="layer")
    frame = _read(path, layer_id, limits)
    if len(frame) == 0:
        raise InvalidInput("empty_input", f"{path.name} holds no features",
                           f"{path.name} 中没有要素", param="file")
    frame, flattened = _flatten_collections(frame)
    src, supported = _resolve_crs(frame.crs, crs)
    geoms = _geometries(frame, src, supported, path)

    with _import_lock(data_dir):
        _remove_all_stale_temps(data_dir)
        current = loader.load(data_dir, strict=False)
        entry = next((e for e in current.catalog if e["id"] == layer_id), None)
        features, matched = _build_features(frame, geoms, layer_id, source, path.name,
                                            current, entry)
        data = _collection_bytes(layer_id, features)
        _validate_like_loader(data, layer_id, data_dir, current.plans)

        rel = entry.get("file", f"data/{layer_id}.geojson") if entry else \
            f"data/{layer_id}.geojson"
        target = data_dir / rel
        _remove_stale_temps(target.parent, target.name)
        # Keep the current file only once the new one is fully written: an import killed
        # mid-write leaves neither a half file nor a spurious kept version.
        previous = _atomic_write(target, data, lambda: _keep_version(
            target, data_dir / VERSIONS_DIR, layer_id) if target.exists() else None)

        doc = _catalog_doc(data_dir)
        types = _geometry_types(geoms)
        created = entry is None
        if created:
            order = max((e.get("order", 0) for e in doc["layers"]), default=0) + 1
            label = source or _uniform(frame, "source") or path.name
            doc["layers"].append({
                "id": layer_id, "title_zh": layer_id, "title_en": layer_id,
                "group": "imported", "order": order, "default_on": True, "file": rel,
                "geometry_types": types, "style": dict(_DEFAULT_STYLE), "source": label,
                "licence": _uniform(frame, "licence")
                or "as supplied by the data owner (not checked by planmap)",
                "attribution": _uniform(frame, "attribution") or label,
                "description_zh": f"导入的权威数据：{path.name}",
                "description_en": f"Authoritative data imported from {path.name}",
            })
            _write_catalog(data_dir, doc)
        else:
            _sync_geometry_types(data_dir, layer_id, types)

    new_ids = {f["id"] for f in features}
    warnings = [f"{n} nested GeometryCollection(s) flattened (first: row {first + 1})"
                for n, first in [flattened] if n]
    if current.layers.get(layer_id) is not None:
        gone = set(current.layers[layer_id].index) - new_ids
        for c in current.clauses:
            lost = sorted(gone & set(c.get("applies_to", ())))
            if lost:
                warnings.append(f"clause {c['id']} names features no longer in {layer_id}: "
                                f"{', '.join(lost)}")
    return ImportResult(layer_id=layer_id, path=target, features=len(features),
                        previous=previous, created_layer=created, source_crs=str(src),
                        matched=matched, warnings=warnings)


def kept_versions(layer_id: str, data_dir=None) -> list[Path]:
    """Kept previous versions of a layer, oldest first (by sequence number, not clock)."""
    folder = _data_dir(data_dir) / VERSIONS_DIR
    keyed = [(k, p) for p in folder.glob(f"{layer_id}.*.geojson")
             if (k := _version_key(p, layer_id)) is not None]
    return [p for _, p in sorted(keyed)]


def _data_dir(data_dir) -> Path:
    # absolute: the loader check works with paths relative to it (a relative
    # --data-dir used to crash there)
    if not data_dir:
        # The built-in data (the installed package) is read-only: a `pip install -U` would
        # erase what was written there.  Imports without a data folder go to the layer store
        # (``planmap import`` without --data-dir: PLANMAP_HOME/store or PLANMAP_DATABASE_URL).
        raise InvalidInput("data_dir_required",
                           "give the data folder to import into (data_dir=, --data-dir); the "
                           "built-in data is read-only (`planmap import` without --data-dir "
                           "writes to the layer store under PLANMAP_HOME)",
                           "请指定导入的数据目录（--data-dir）；内置数据只读（不带 --data-dir 的 "
                           "`planmap import` 写入 PLANMAP_HOME 下的图层库）", param="data_dir")
    return Path(data_dir).resolve()


def restore_previous(layer_id: str, data_dir=None) -> ImportResult:
    """Put the newest kept version of ``layer_id`` back in place (atomically).

    The version is taken off the stack (restoring again goes one further back);
    the replaced file is kept under ``versions/undone/`` so nothing is lost.

    Raises
    ------
    NotFound
        No kept version of the layer.
    LayerError
        The kept version does not load (it is left where it is).
    """
    data_dir = _data_dir(data_dir)
    with _import_lock(data_dir):
        _remove_all_stale_temps(data_dir)
        versions = kept_versions(layer_id, data_dir)
        if not versions:
            raise NotFound("no_previous_version", f"no kept version of layer {layer_id!r}",
                           f"图层 {layer_id!r} 没有可恢复的旧版本", param="layer")
        kept = versions[-1]
        data = kept.read_bytes()
        current = loader.load(data_dir, strict=False)
        _validate_like_loader(data, layer_id, data_dir, current.plans)
        entry = next((e for e in current.catalog if e["id"] == layer_id), None)
        target = data_dir / (entry.get("file") if entry else f"data/{layer_id}.geojson")
        replaced = _atomic_write(target, data, lambda: _keep_version(
            target, data_dir / VERSIONS_DIR / "undone", layer_id) if target.exists() else None)
        kept.unlink()
        _fsync_dir(kept.parent)
        features = json.loads(data.decode("utf-8"))["features"]
        types = sorted({shapely.geometry.shape(f["geometry"]).geom_type.replace("Multi", "")
                        for f in features})
        if entry is not None:
            _sync_geometry_types(data_dir, layer_id, types)
    return ImportResult(layer_id=layer_id, path=target, features=len(features),
                        previous=replaced, source_crs="EPSG:4326")
