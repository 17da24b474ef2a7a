"""The layer store: imported layers, kept as numbered data versions, one active at a time.

One small interface, two backends:

* :class:`GpkgStore` (embedded default, nothing to install): a folder per layer, one
  GeoPackage per data version (``v000001.gpkg``, with its R-tree spatial index, written
  and read with pyogrio) and ``state.json`` naming the active version. A version is
  written to ``.v000001.partial.gpkg`` and renamed when complete; activation replaces
  ``state.json`` with ``os.replace`` (atomic), so a reader — or an import killed with
  SIGKILL at any moment — sees the old version or the new one, never a mix.
* :class:`PostgisStore` (``PLANMAP_DATABASE_URL=postgresql://…``, psycopg 3): one table
  per version (``pm_v<n>``: ``fid``, ``ord``, ``props`` jsonb, ``geom`` with a GiST
  index), written inside one transaction that commits only when the version is complete;
  activation updates the pointer row of ``planmap_layer`` in one transaction.

A chunk is a :class:`geopandas.GeoDataFrame` in EPSG:4326 with an ``id`` column and one
column per feature property (lists/objects as Python values); :meth:`LayerStore.read`
gives the loader's shape (index = feature id).

Where the store is (:func:`default_store`): ``PLANMAP_DATABASE_URL`` when set, else the
folder ``store/`` of the instance folder ``PLANMAP_HOME`` (default
``~/.local/share/planmap``, or ``$XDG_DATA_HOME/planmap``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from planmap.geo.errors import LayerError, NotFound
from planmap.geo.vocab import ID_RE

HOME_ENV = "PLANMAP_HOME"
DATABASE_ENV = "PLANMAP_DATABASE_URL"
CHUNK_FEATURES = 50_000
"""Features per chunk when reading or writing in pieces (bounded memory)."""
_LAYER_ID = ID_RE
_VERSION = re.compile(r"^v(\d{6,})$")
# Properties that hold lists/objects: kept as JSON text in a GeoPackage column.
JSON_COLUMNS = ("county", "citation", "extra_citations")


@dataclass
class VersionInfo:
    """One data version of a layer.

    Attributes
    ----------
    version : str
        ``v000001``, ``v000002``, …, in the order written.
    features : int
    active : bool
    """

    version: str
    features: int
    active: bool


def home_dir() -> Path:
    """Return the instance folder (``PLANMAP_HOME``; default the per-user data folder)."""
    value = os.environ.get(HOME_ENV)
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "planmap"


def open_store(url_or_path) -> LayerStore:
    """Open the store at a ``postgresql://`` URL or a folder path.

    Parameters
    ----------
    url_or_path : str or Path

    Returns
    -------
    LayerStore
    """
    text = str(url_or_path)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgisStore(text)
    return GpkgStore(Path(text))


def default_store(create: bool = False) -> LayerStore | None:
    """Return the configured store, or None when there is none yet (and not ``create``)."""
    url = os.environ.get(DATABASE_ENV)
    if url:
        return PostgisStore(url)
    folder = home_dir() / "store"
    if not create and not folder.is_dir():
        return None
    return GpkgStore(folder)


def configured_store(database_url: str | None = None, home: str | None = None):
    """Return the store named by the settings ``DATABASE_URL`` / ``HOME``.

    Returns
    -------
    LayerStore, None or False
        A PostGIS store for a URL; else the GeoPackage store under ``home`` (False when
        that folder holds none yet: nothing to add); None when neither is set (the loader
        then uses :func:`default_store`, from the environment).
    """
    if database_url:
        return PostgisStore(database_url)
    if home:
        folder = Path(home).expanduser() / "store"
        return GpkgStore(folder) if folder.is_dir() else False
    return None


def _check_layer_id(layer_id: str) -> None:
    if not isinstance(layer_id, str) or not _LAYER_ID.match(layer_id):
        raise LayerError("invalid_layer_id", f"layer id {layer_id!r} must match ^[a-z0-9_]+$",
                         f"图层 id {layer_id!r} 只能含小写字母、数字和下划线", param="layer")


def _no_version(layer_id: str, version: str | None = None) -> NotFound:
    what = f"version {version} of layer {layer_id!r}" if version else f"layer {layer_id!r}"
    return NotFound("no_such_version", f"the store holds no {what}",
                    f"存储中没有图层 {layer_id!r} 的该版本", param="layer")


def _to_frame(ids, props: list[dict], geoms, index_by_id: bool) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(props)
    geometry = gpd.GeoSeries(list(geoms), crs="EPSG:4326")
    if index_by_id:
        index = pd.Index(list(ids), dtype=object)
        frame.index = index
        geometry.index = index
    else:
        frame.insert(0, "id", list(ids))
    return gpd.GeoDataFrame(frame, geometry=geometry)


class LayerStore:
    """What every backend offers (see the module docstring)."""

    def layers(self) -> list[str]:
        """Layer ids that have an active version, sorted."""
        raise NotImplementedError

    def versions(self, layer_id: str) -> list[VersionInfo]:
        """Complete versions of a layer, oldest first."""
        raise NotImplementedError

    def current(self, layer_id: str) -> str | None:
        """Return the active version (None when the layer has none)."""
        raise NotImplementedError

    def meta(self, layer_id: str) -> dict:
        """Return the catalog entry stored with the active version (``{}`` when none)."""
        raise NotImplementedError

    def token(self) -> str:
        """Return a text that changes whenever an active version changes (cache keys)."""
        return ";".join(f"{lid}={self.current(lid)}" for lid in self.layers())

    def iter_chunks(self, layer_id: str, chunk_size: int = CHUNK_FEATURES, bbox=None,
                    version: str | None = None) -> Iterator[gpd.GeoDataFrame]:
        """Yield the features of a version (default the active one) in chunks.

        Parameters
        ----------
        layer_id : str
        chunk_size : int, optional
        bbox : (minx, miny, maxx, maxy), optional
            Only features whose bounding box meets it (spatial index).
        version : str, optional

        Yields
        ------
        GeoDataFrame
            ``id`` column, property columns, EPSG:4326 geometry; in import order.
        """
        raise NotImplementedError

    def read(self, layer_id: str, bbox=None, version: str | None = None) -> gpd.GeoDataFrame:
        """Read the whole layer (or the part meeting ``bbox``) in the loader's shape.

        Returns
        -------
        GeoDataFrame
            Index = feature id, one column per property (``citation`` a dict,
            ``county`` a list), EPSG:4326.
        """
        parts = list(self.iter_chunks(layer_id, bbox=bbox, version=version))
        if not parts:
            return gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))\
                .set_index("id")
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        frame = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
        frame.index = pd.Index(frame.pop("id").tolist(), dtype=object)
        return frame

    def write_version(self, layer_id: str, chunks: Iterable[gpd.GeoDataFrame]) -> str:
        """Write a new, not yet active, version from an iterable of chunks.

        Nothing is visible to readers until :meth:`activate`; a write that fails or is
        killed leaves no complete version behind.

        Returns
        -------
        str
            The new version's name.
        """
        raise NotImplementedError

    def activate(self, layer_id: str, version: str, meta: dict) -> str | None:
        """Make ``version`` the active one (atomically); return the replaced version.

        ``meta`` is the layer's catalog entry, stored with the pointer.
        """
        raise NotImplementedError

    def restore_previous(self, layer_id: str) -> str:
        """Re-activate the version active before the current one; return it.

        Raises
        ------
        NotFound
            No earlier version to go back to.
        """
        raise NotImplementedError

    def drop_layer(self, layer_id: str) -> None:
        """Delete a layer and all its versions."""
        raise NotImplementedError


# ------------------------------------------------------------------ GeoPackage
def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_json(path: Path, doc: dict) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def _flock(path: Path):
    try:
        import fcntl
    except ImportError:  # Windows: writers are run one at a time
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _encode(value):
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _encode_column(values: list) -> list:
    # The same citation/county object recurs on most rows: encode each one once.
    memo: dict[int, object] = {}
    out = []
    for v in values:
        if isinstance(v, (list, dict, tuple)):
            key = id(v)
            if key not in memo:
                memo[key] = (v, _encode(v))  # keep v alive so its id is not reused
            out.append(memo[key][1])
        else:
            out.append(v)
    return out


_WKB_COLUMN = "geom"


@contextlib.contextmanager
def _gdal_options(options: dict):
    import pyogrio

    before = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def _arrow_type(values: list):
    import pyarrow as pa

    try:
        kind = pa.array(values, from_pandas=True).type
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.string()
    if pa.types.is_null(kind) or not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                      or pa.types.is_boolean(kind) or pa.types.is_string(kind)):
        return pa.string()
    return pa.int64() if pa.types.is_integer(kind) else kind


def _coerce(values: list, kind) -> list:
    """Values that do not fit the column's type (set by the first chunk), as GDAL would."""
    import pyarrow as pa

    def one(v):
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return None
        if pa.types.is_string(kind):
            return v if isinstance(v, str) else str(v)
        try:
            if pa.types.is_integer(kind):
                return int(v)
            if pa.types.is_floating(kind):
                return float(v)
            return bool(v)
        except (TypeError, ValueError, OverflowError):
            return None
    return [one(v) for v in values]


class _ArrowChunks:
    """Store chunks as one Arrow stream for ``pyogrio.write_arrow``.

    The first chunk fixes the columns and their types (lists/objects as JSON text);
    later chunks are brought to them (a missing column is null).  An exception raised
    by the chunks ends the stream early and is kept in :attr:`error`, for the writer to
    re-raise once GDAL has let go of the file.
    """

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self.error: BaseException | None = None
        self.schema = None
        self._first = None
        for chunk in self._chunks:
            if len(chunk):
                self._start(chunk)
                break

    def _start(self, chunk):
        import pyarrow as pa

        self.columns = [c for c in chunk.columns if c != chunk.geometry.name]
        fields = []
        for col in self.columns:
            values = chunk[col].tolist()
            kind = pa.string() if chunk[col].dtype == object and any(
                isinstance(v, (list, dict, tuple)) for v in values) else _arrow_type(values)
            fields.append(pa.field(str(col), kind))
        fields.append(pa.field(_WKB_COLUMN, pa.binary(),
                               metadata={b"ARROW:extension:name": b"geoarrow.wkb"}))
        self.schema = pa.schema(fields)
        self._first = chunk

    def _batch(self, chunk):
        import pyarrow as pa

        arrays = []
        for col, fld in zip(self.columns, self.schema, strict=False):
            if col not in chunk.columns:
                arrays.append(pa.nulls(len(chunk), fld.type))
                continue
            values = chunk[col].tolist()
            try:  # plain values straight in: a list/object value fails at once
                arrays.append(pa.array(values, type=fld.type, from_pandas=True))
                continue
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                pass
            if chunk[col].dtype == object:
                values = _encode_column(values)
            try:
                arrays.append(pa.array(values, type=fld.type, from_pandas=True))
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                arrays.append(pa.array(_coerce(values, fld.type), type=fld.type))
        geoms = np.asarray(chunk.geometry.values, dtype=object)
        arrays.append(pa.array(shapely.to_wkb(geoms), type=pa.binary()))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _batches(self):
        chunk, self._first = self._first, None
        try:
            if chunk is not None:
                yield self._batch(chunk)
            for chunk in self._chunks:
                if len(chunk):
                    yield self._batch(chunk)
        except Exception as exc:  # noqa: BLE001 - re-raised by the writer
            self.error = exc

    def reader(self):
        import pyarrow as pa

        return pa.RecordBatchReader.from_batches(self.schema, self._batches())


class GpkgStore(LayerStore):
    """Layer store in a folder of GeoPackages (see the module docstring).

    Parameters
    ----------
    root : Path
        The store folder (created on first write).
    """

    def __init__(self, root):
        self.root = Path(root)

    def __repr__(self):
        return f"GpkgStore({str(self.root)!r})"

    def _dir(self, layer_id: str) -> Path:
        _check_layer_id(layer_id)
        return self.root / layer_id

    def _state(self, layer_id: str) -> dict:
        path = self._dir(layer_id) / "state.json"
        try:
            return json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise LayerError("store_error", f"{path}: unreadable ({exc})",
                             f"{path}：无法读取", param="layer") from None

    def layers(self) -> list[str]:
        """See :meth:`LayerStore.layers`."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if _LAYER_ID.match(p.name) and (p / "state.json").is_file()
                      and self._state(p.name).get("current"))

    def _version_files(self, layer_id: str) -> list[Path]:
        folder = self._dir(layer_id)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.glob("v*.gpkg") if _VERSION.match(p.stem))

    def versions(self, layer_id: str) -> list[VersionInfo]:
        """See :meth:`LayerStore.versions`."""
        import pyogrio

        cur = self.current(layer_id)
        out = []
        for p in self._version_files(layer_id):
            n = int(pyogrio.read_info(str(p), layer=layer_id)["features"])
            out.append(VersionInfo(p.stem, n, p.stem == cur))
        return out

    def current(self, layer_id: str) -> str | None:
        """See :meth:`LayerStore.current`."""
        return self._state(layer_id).get("current")

    def meta(self, layer_id: str) -> dict:
        """See :meth:`LayerStore.meta`."""
        return dict(self._state(layer_id).get("meta") or {})

    def _path(self, layer_id: str, version: str | None) -> Path:
        version = version or self.current(layer_id)
        path = self._dir(layer_id) / f"{version}.gpkg"
        if not version or not _VERSION.match(version) or not path.is_file():
            raise _no_version(layer_id, version)
        return path

    def iter_chunks(self, layer_id, chunk_size=CHUNK_FEATURES, bbox=None, version=None):
        """See :meth:`LayerStore.iter_chunks`."""
        import pyogrio

        path = str(self._path(layer_id, version))
        total = int(pyogrio.read_info(path, layer=layer_id)["features"])
        # fid order is write order; bbox uses the R-tree (GDAL's spatial filter)
        for start in range(0, max(total, 1), chunk_size):
            frame = pyogrio.read_dataframe(path, layer=layer_id, skip_features=start,
                                           max_features=chunk_size,
                                           bbox=tuple(bbox) if bbox is not None else None)
            for col in JSON_COLUMNS:
                if col in frame.columns:
                    frame[col] = [json.loads(v) if isinstance(v, str) else None
                                  for v in frame[col]]
            if len(frame):
                yield frame.set_crs("EPSG:4326", allow_override=True)
            if len(frame) < chunk_size:
                break

    def write_version(self, layer_id, chunks):
        """See :meth:`LayerStore.write_version`.

        The chunks go to GDAL as one Arrow stream (``pyogrio.write_arrow``): one dataset
        session, large transactions, and the R-tree built once at the end (GDAL defers a
        new layer's spatial index until the layer is complete) instead of row by row
        through its triggers, as appending chunk by chunk did.
        """
        import pyogrio

        folder = self._dir(layer_id)
        folder.mkdir(parents=True, exist_ok=True)
        with _flock(folder / ".write.lock"):
            for stale in folder.glob(".v*.partial.gpkg*"):  # left by a killed write
                with contextlib.suppress(OSError):
                    stale.unlink()
            seqs = [int(_VERSION.match(p.stem).group(1)) for p in self._version_files(layer_id)]
            seqs.append(int(self._state(layer_id).get("last_seq", 0)))
            version = f"v{max(seqs) + 1:06d}"
            partial = folder / f".{version}.partial.gpkg"
            try:
                stream = _ArrowChunks(chunks)
                if stream.schema is None:
                    raise LayerError("empty_input", "no features to write",
                                     "没有要写入的要素", param="file")
                # the partial file is thrown away unless complete (and fsynced below):
                # SQLite's journal and per-commit syncs buy nothing here
                with _gdal_options({"OGR_SQLITE_SYNCHRONOUS": "OFF",
                                    "OGR_SQLITE_JOURNAL": "OFF"}):
                    pyogrio.write_arrow(
                        stream.reader(), str(partial), layer=layer_id, driver="GPKG",
                        geometry_name=_WKB_COLUMN, geometry_type="Unknown", crs="EPSG:4326",
                        layer_options={"SPATIAL_INDEX": "YES", "FID": "fid"})
                if stream.error is not None:  # the chunks failed: the stream was cut short
                    raise stream.error
                with open(partial, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(partial, folder / f"{version}.gpkg")
                _fsync_dir(folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    partial.unlink()
                raise
        return version

    def activate(self, layer_id, version, meta):
        """See :meth:`LayerStore.activate`."""
        folder = self._dir(layer_id)
        self._path(layer_id, version)  # raises when the version is not complete
        with _flock(folder / ".write.lock"):
            state = self._state(layer_id)
            before = state.get("current")
            history = list(state.get("history") or [])
            if before and before != version:
                history.append(before)
            seq = int(_VERSION.match(version).group(1))
            _atomic_json(folder / "state.json", {
                "current": version, "history": history, "meta": meta,
                "last_seq": max(seq, int(state.get("last_seq", 0)))})
        return before

    def restore_previous(self, layer_id):
        """See :meth:`LayerStore.restore_previous`."""
        folder = self._dir(layer_id)
        with _flock(folder / ".write.lock"):
            state = self._state(layer_id)
            history = list(state.get("history") or [])
            while history and not (folder / f"{history[-1]}.gpkg").is_file():
                history.pop()
            if not history:
                raise NotFound("no_previous_version",
                               f"no earlier version of layer {layer_id!r} in the store",
                               f"图层 {layer_id!r} 没有可恢复的旧版本", param="layer")
            back = history.pop()
            _atomic_json(folder / "state.json", {**state, "current": back, "history": history})
        return back

    def drop_layer(self, layer_id):
        """See :meth:`LayerStore.drop_layer`."""
        import shutil

        shutil.rmtree(self._dir(layer_id), ignore_errors=True)


# ------------------------------------------------------------------ PostGIS
_SCHEMA = """
CREATE TABLE IF NOT EXISTS planmap_layer (
    layer text PRIMARY KEY, current text, history jsonb NOT NULL DEFAULT '[]', meta jsonb);
CREATE TABLE IF NOT EXISTS planmap_version (
    layer text NOT NULL, version text NOT NULL, tbl text NOT NULL UNIQUE,
    features bigint NOT NULL, created timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (layer, version));
CREATE SEQUENCE IF NOT EXISTS planmap_table_seq;
"""


def _copy_text(text: str) -> str:
    """Escape a value for PostgreSQL's COPY text format."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    return text


_COPY_SLICE = 10_000
# what json.dumps(..., ensure_ascii=False) escapes in a string: none of it, and the
# string's JSON text is the string in quotes
_JSON_ESCAPED = r'[\x00-\x1f"\\]'


def _json_fragments(key: str, values: list):
    """``key`` + the JSON text of each value, None for a missing value (an Arrow array)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    if all(type(v) is str for v in values):
        arr = pa.array(values, type=text)
        if not pc.any(pc.match_substring_regex(arr, _JSON_ESCAPED)).as_py():
            return pc.binary_join_element_wise(pa.scalar(key + '"', text), arr,
                                               pa.scalar('"', text), pa.scalar("", text))
    memo: dict[int, tuple] = {}

    def one(v):
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return None
        if isinstance(v, (list, dict)):
            hit = memo.get(id(v))
            if hit is None:  # the same citation/county object recurs on most rows
                hit = memo[id(v)] = (v, key + json.dumps(v, ensure_ascii=False,
                                                         separators=(",", ":")))
            return hit[1]
        if type(v) is str and v.isprintable() and '"' not in v and "\\" not in v:
            return f'{key}"{v}"'  # what json.dumps gives, without its cost per call
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return key + json.dumps(v, ensure_ascii=False, default=str)

    return pa.array([one(v) for v in values], type=text)


def _copy_lines(ids: list[str], values: dict, geoms: np.ndarray, start: int) -> bytes:
    """COPY text rows ``fid, ord, props, geom`` (hex WKB) of one slice of a chunk."""
    import binascii

    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    empty, tab = pa.scalar("", text), pa.scalar("\t", text)
    n = len(ids)
    fid = pa.array(ids, type=text)
    if pc.any(pc.match_substring_regex(fid, r"[\\\t\n\r]")).as_py():
        fid = pa.array([_copy_text(f) for f in ids], type=text)
    order = pa.array(np.arange(start, start + n, dtype=np.int64)).cast(text)
    # each property as ",key:value" ("" when missing), joined, the first comma dropped
    frags = [pc.fill_null(pc.binary_join_element_wise(
        pa.scalar(",", text), _json_fragments(json.dumps(str(c), ensure_ascii=False) + ":",
                                              v), empty), empty) for c, v in values.items()]
    if frags:
        body = pc.binary_join_element_wise(*frags, empty)
        body = pc.utf8_slice_codeunits(body, 1)
    else:
        body = pa.array([""] * n, type=text)
    body = pc.binary_join_element_wise(pa.scalar("{", text), body, pa.scalar("}", text), empty)
    if pc.any(pc.match_substring(body, "\\")).as_py():  # COPY text doubles backslashes
        body = pc.replace_substring(body, "\\", "\\\\")
    # the WKB of the slice hexed at once (hexlify of one buffer), offsets doubled; no
    # SRID in it: PostGIS gives a geometry without one the column's 4326
    wkb = pa.array(shapely.to_wkb(geoms), type=pa.large_binary())
    offsets = np.frombuffer(wkb.buffers()[1], dtype=np.int64)[wkb.offset:wkb.offset + n + 1]
    blob = memoryview(wkb.buffers()[2])[offsets[0]:offsets[-1]]
    hexes = pa.LargeStringArray.from_buffers(
        n, pa.py_buffer((offsets - offsets[0]) * 2), pa.py_buffer(binascii.hexlify(blob)))
    lines = pc.binary_join_element_wise(fid, order, body, hexes, tab)
    lines = pc.binary_join_element_wise(lines, empty, pa.scalar("\n", text))
    ends = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:lines.offset + n + 1]
    return bytes(memoryview(lines.buffers()[2])[ends[0]:ends[-1]])



class PostgisStore(LayerStore):
    """Layer store in a PostGIS database (see the module docstring).

    Parameters
    ----------
    url : str
        ``postgresql://user@host:port/db`` (libpq syntax, e.g. ``?host=/run/socket``).
    """

    def __init__(self, url: str):
        self.url = url
        self._ready = False

    def __repr__(self):
        return "PostgisStore(<url>)"  # the URL may carry a password

    def _connect(self):
        try:
            import psycopg
        except ImportError:
            raise LayerError("store_error", "PLANMAP_DATABASE_URL needs psycopg 3 "
                             "(pip install 'psycopg[binary]')",
                             "使用 PostGIS 需安装 psycopg 3", param="store") from None
        try:
            conn = psycopg.connect(self.url, autocommit=False, connect_timeout=10)
        except psycopg.Error as exc:
            raise LayerError("store_error", f"cannot connect to the PostGIS store: "
                             f"{str(exc).strip()[:200]}", "无法连接 PostGIS 存储",
                             param="store") from None
        if not self._ready:
            with conn.cursor() as cur:
                # two processes creating the schema at once would clash: serialise
                cur.execute("SELECT pg_advisory_xact_lock(8150412)")
                cur.execute(_SCHEMA)
            conn.commit()
            self._ready = True
        return conn

    def _row(self, cur, layer_id):
        cur.execute("SELECT current, history, meta FROM planmap_layer WHERE layer = %s",
                    (layer_id,))
        return cur.fetchone()

    def layers(self):
        """See :meth:`LayerStore.layers`."""
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT layer FROM planmap_layer WHERE current IS NOT NULL ORDER BY 1")
            return [r[0] for r in cur.fetchall()]

    def versions(self, layer_id):
        """See :meth:`LayerStore.versions`."""
        _check_layer_id(layer_id)
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT v.version, v.features, v.version = l.current "
                        "FROM planmap_version v LEFT JOIN planmap_layer l USING (layer) "
                        "WHERE v.layer = %s ORDER BY v.version", (layer_id,))
            return [VersionInfo(v, int(n), bool(a)) for v, n, a in cur.fetchall()]

    def current(self, layer_id):
        """See :meth:`LayerStore.current`."""
        _check_layer_id(layer_id)
        with self._connect() as conn, conn.cursor() as cur:
            row = self._row(cur, layer_id)
            return row[0] if row else None

    def meta(self, layer_id):
        """See :meth:`LayerStore.meta`."""
        _check_layer_id(layer_id)
        with self._connect() as conn, conn.cursor() as cur:
            row = self._row(cur, layer_id)
            return dict(row[2] or {}) if row else {}

    def token(self):
        """See :meth:`LayerStore.token`."""
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT layer, current FROM planmap_layer ORDER BY 1")
            return ";".join(f"{a}={b}" for a, b in cur.fetchall())

    def _table(self, cur, layer_id, version):
        version = version or (self._row(cur, layer_id) or (None,))[0]
        cur.execute("SELECT tbl FROM planmap_version WHERE layer = %s AND version = %s",
                    (layer_id, version))
        row = cur.fetchone()
        if row is None:
            raise _no_version(layer_id, version)
        return row[0]

    def iter_chunks(self, layer_id, chunk_size=CHUNK_FEATURES, bbox=None, version=None):
        """See :meth:`LayerStore.iter_chunks`."""
        from psycopg import sql

        _check_layer_id(layer_id)
        with self._connect() as conn:
            with conn.cursor() as cur:
                table = self._table(cur, layer_id, version)
            query = sql.SQL("SELECT fid, props::text, ST_AsBinary(geom) FROM {}").format(
                sql.Identifier(table))
            params: tuple = ()
            if bbox is not None:
                query += sql.SQL(" WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)")
                params = tuple(float(v) for v in bbox)
            query += sql.SQL(" ORDER BY ord")
            # a named (server-side) cursor: rows come chunk by chunk, not all at once
            with conn.cursor(name="planmap_read") as cur:
                cur.itersize = chunk_size
                cur.execute(query, params)
                while rows := cur.fetchmany(chunk_size):
                    ids = [r[0] for r in rows]
                    props = [json.loads(r[1]) for r in rows]
                    geoms = shapely.from_wkb([bytes(r[2]) for r in rows])
                    yield _to_frame(ids, props, geoms, index_by_id=False)

    def write_version(self, layer_id, chunks):
        """See :meth:`LayerStore.write_version`."""
        from psycopg import sql

        _check_layer_id(layer_id)
        with self._connect() as conn:
            with conn.cursor() as cur:
                # one writer per layer at a time; the lock ends with the transaction
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (layer_id,))
                cur.execute("SELECT coalesce(max(substr(version, 2)::int), 0) FROM "
                            "planmap_version WHERE layer = %s", (layer_id,))
                version = f"v{cur.fetchone()[0] + 1:06d}"
                cur.execute("SELECT nextval('planmap_table_seq')")
                table = f"pm_v{cur.fetchone()[0]}"
                ident = sql.Identifier(table)
                cur.execute(sql.SQL("CREATE TABLE {} (fid text NOT NULL, ord bigint NOT NULL, "
                                    "props jsonb NOT NULL, geom geometry(Geometry, 4326) "
                                    "NOT NULL)").format(ident))
                # props are read, never filtered in SQL: no statistics (half of ANALYZE)
                cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN props SET STATISTICS 0")
                            .format(ident))
                # room for the key and GiST builds to sort in memory (this transaction only)
                cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
                written = 0
                # FREEZE: the table is new in this transaction, so its rows need no later
                # visibility pass (no other transaction can see the table before commit)
                with cur.copy(sql.SQL("COPY {} (fid, ord, props, geom) FROM STDIN "
                                      "(FREEZE)").format(ident)) as copy:
                    for chunk in chunks:
                        written = self._copy_chunk(copy, chunk, written)
                if not written:
                    raise LayerError("empty_input", "no features to write",
                                     "没有要写入的要素", param="file")
                cur.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (fid)").format(ident))
                cur.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(ident))
                cur.execute("INSERT INTO planmap_version (layer, version, tbl, features) "
                            "VALUES (%s, %s, %s, %s)", (layer_id, version, table, written))
                cur.execute(sql.SQL("ANALYZE {}").format(ident))
            conn.commit()  # only now does the version exist: a killed write leaves nothing
        return version

    @staticmethod
    def _copy_chunk(copy, chunk, start: int) -> int:
        # COPY text rows assembled column-wise by Arrow kernels: per-row Python (one
        # json.dumps per value, one join per row) was most of the PostGIS store's import.
        ids = [str(f) for f in chunk["id"].tolist()]
        columns = [c for c in chunk.columns if c not in ("geometry", "id")]
        values = {c: chunk[c].tolist() for c in columns}
        geoms = np.asarray(chunk.geometry.values, dtype=object)
        n = len(ids)
        for lo in range(0, n, _COPY_SLICE):  # bounded text per slice (hex doubles the WKB)
            hi = min(n, lo + _COPY_SLICE)
            copy.write(_copy_lines(ids[lo:hi], {c: v[lo:hi] for c, v in values.items()},
                                   geoms[lo:hi], start + lo))
        return start + n

    def activate(self, layer_id, version, meta):
        """See :meth:`LayerStore.activate`."""
        from psycopg.types.json import Jsonb

        _check_layer_id(layer_id)
        with self._connect() as conn, conn.cursor() as cur:
            self._table(cur, layer_id, version)  # raises when the version does not exist
            cur.execute("INSERT INTO planmap_layer (layer) VALUES (%s) ON CONFLICT DO NOTHING",
                        (layer_id,))
            cur.execute("SELECT current, history FROM planmap_layer WHERE layer = %s "
                        "FOR UPDATE", (layer_id,))
            before, history = cur.fetchone()
            history = list(history or [])
            if before and before != version:
                history.append(before)
            cur.execute("UPDATE planmap_layer SET current = %s, history = %s, meta = %s "
                        "WHERE layer = %s", (version, Jsonb(history), Jsonb(meta), layer_id))
            conn.commit()
        return before

    def restore_previous(self, layer_id):
        """See :meth:`LayerStore.restore_previous`."""
        from psycopg.types.json import Jsonb

        _check_layer_id(layer_id)
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT current, history FROM planmap_layer WHERE layer = %s "
                        "FOR UPDATE", (layer_id,))
            row = cur.fetchone()
            history = list(row[1] or []) if row else []
            if not history:
                raise NotFound("no_previous_version",
                               f"no earlier version of layer {layer_id!r} in the store",
                               f"图层 {layer_id!r} 没有可恢复的旧版本", param="layer")
            back = history.pop()
            cur.execute("UPDATE planmap_layer SET current = %s, history = %s WHERE layer = %s",
                        (back, Jsonb(history), layer_id))
            conn.commit()
        return back

    def drop_layer(self, layer_id):
        """See :meth:`LayerStore.drop_layer`."""
        from psycopg import sql

        _check_layer_id(layer_id)
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT tbl FROM planmap_version WHERE layer = %s", (layer_id,))
            for (table,) in cur.fetchall():
                # with the version's seeded tiles (layers/tileseed.py names them so)
                for name in (table, f"{table}_tiles", f"{table}_tiles_meta"):
                    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
            cur.execute("DELETE FROM planmap_version WHERE layer = %s", (layer_id,))
            cur.execute("DELETE FROM planmap_layer WHERE layer = %s", (layer_id,))
            conn.commit()
