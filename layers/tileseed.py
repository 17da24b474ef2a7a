"""Pre-seeded low-zoom tiles of a bulk store layer (issue 12): a low-zoom tile is a lookup.

A z10–z12 tile of a bureau's parcels holds thousands of polygons: cutting it per request
(read the candidates from the store's index, build their tags, project, clip, encode) is
the slow part of the map.  When a version of a bulk layer is written, :func:`seed_version`
cuts every non-empty tile of zooms ``TILE_MIN_ZOOM..TILE_SEED_MAX_ZOOM`` once and stores
them, gzip'd, *in the version itself*, so they switch, restore and disappear with it:

* GeoPackage: tables ``planmap_tiles (zoom_level, tile_column, tile_row, tile_data)``
  (primary key z, x, y; XYZ rows, y down) and ``planmap_tiles_meta (key, value)`` in the
  version's ``.gpkg`` (plain SQLite tables, not registered in ``gpkg_contents``: GDAL and
  QGIS ignore them);
* PostGIS: tables ``<version table>_tiles (z, x, y, data)`` and ``<version table>_tiles_meta``.

Empty tiles are left out; the meta rows say which zooms were seeded, so a missing row of
a seeded zoom is an empty tile.  The meta also carries :data:`SEED_FORMAT` (the encoder's
format and the generalisation rule): seeds written by another encoder are not used, the
tile is cut instead.  Change :data:`SEED_FORMAT` with any change to what
``geo.mvt.TileIndex.tile`` or ``geo.mvt.popup_properties`` answer.

A seeded tile is the tile ``geo.mvt`` cuts from the store's candidates (the server's
``MemoryTileSource``, which calls :func:`cut_tile`): the same features, ids (row
ordinals), properties and geometries
(``tests/layers/test_i12tiles_seed.py`` decodes both and compares).  Seeding reads the
layer once per block of zoom ``max(TILE_MIN_ZOOM, max_zoom - 3)`` (a z10 tile and its
4 z11 and 16 z12 tiles are cut from one read), so it costs about one pass over the layer.

Never imports Flask.
"""

from __future__ import annotations

import gzip
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from planmap.geo.mvt import (
    BUFFER_UNITS,
    EXTENT,
    GENERALISATION,
    TileIndex,
    tile_lonlat_bounds,
    tiles_covering,
)

# bump the number with any change to the tiles geo.mvt cuts (seeds of another format are
# not served: the tile is cut instead)
SEED_FORMAT = f"planmap-mvt 1; extent {EXTENT}; buffer {BUFFER_UNITS}; {GENERALISATION}"
# the server's settings of the same names (server/settings.py, docs/SETTINGS.md): an import
# runs outside the app, so it reads them from the environment
MIN_ZOOM_ENV = "PLANMAP_TILE_MIN_ZOOM"
SEED_MAX_ZOOM_ENV = "PLANMAP_TILE_SEED_MAX_ZOOM"
SEED_WORKERS_ENV = "PLANMAP_TILE_SEED_WORKERS"
DEFAULT_MIN_ZOOM = 10
DEFAULT_SEED_MAX_ZOOM = 12
# the least features of a layer worth seeding: the layers cut from the store per tile
# (layers.loader.STORE_IN_PLACE_MIN; smaller ones are loaded and cut from memory)
SEED_MIN_FEATURES = 2000
# zooms cut from one read: a block of zoom max_zoom - BLOCK_DEPTH and its children (a z10
# block of 10^6 parcels over Baicheng holds ~30,000 of them: ~30 MB while it is cut)
BLOCK_DEPTH = 3
GZIP_LEVEL = 6  # as server/tiles.py compresses a cut tile
_INSERT_BATCH = 256


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise ValueError(f"{name}={raw!r}: not an integer") from None


def seed_zooms(min_zoom: int | None = None, max_zoom: int | None = None) -> range:
    """Return the zooms seeded: ``min_zoom..max_zoom``.

    Defaults: the settings ``TILE_MIN_ZOOM`` and ``TILE_SEED_MAX_ZOOM`` (environment).

    Empty when ``max_zoom < min_zoom`` (e.g. ``PLANMAP_TILE_SEED_MAX_ZOOM=-1``: no seeding).
    """
    lo = _env_int(MIN_ZOOM_ENV, DEFAULT_MIN_ZOOM) if min_zoom is None else int(min_zoom)
    hi = _env_int(SEED_MAX_ZOOM_ENV, DEFAULT_SEED_MAX_ZOOM) if max_zoom is None else int(max_zoom)
    return range(max(0, lo), hi + 1)


def cut_tile(source, z: int, x: int, y: int) -> bytes:
    """Cut tile ``z/x/y`` of a store layer from its candidates (the unseeded answer).

    ``source`` is a :class:`layers.storequery.StoreLayer`; the MVT feature id is the row's
    ordinal (plus one), the same in every tile.
    """
    ordinals, geoms, props = source.candidates(*tile_lonlat_bounds(z, x, y))
    if not len(ordinals):
        return b""
    return TileIndex.from_records(geoms, props, source.layer_id,
                                  feature_ids=ordinals).tile(z, x, y)


def cut_tiles(source, zooms: range) -> Iterator[tuple[int, int, int, bytes]]:
    """Yield ``(z, x, y, mvt bytes)`` of every non-empty tile of ``zooms`` over the layer.

    Zooms from ``zooms.stop - 1 - BLOCK_DEPTH`` up are cut block by block (one read of
    the block's candidates); lower ones (``TILE_MIN_ZOOM`` set below that) tile by tile.
    """
    if not len(zooms) or not source.count:
        return
    bounds = source.bounds
    block = _block_zoom(zooms)
    for z in range(zooms.start, block):
        for x, y in tiles_covering(bounds, z):
            raw = cut_tile(source, z, x, y)
            if raw:
                yield z, x, y, raw
    for bx, by in tiles_covering(bounds, block):
        yield from _block_tiles(source, block, bx, by, zooms.stop)


def _block_zoom(zooms: range) -> int:
    return max(zooms.start, zooms.stop - 1 - BLOCK_DEPTH)


def _block_tiles(source, block: int, bx: int, by: int, stop: int) -> list:
    """Cut block tile ``block/bx/by`` and its children up to zoom ``stop - 1``.

    One read of the block's candidates; returns the non-empty ``(z, x, y, mvt bytes)``.
    """
    ordinals, geoms, props = source.candidates(*tile_lonlat_bounds(block, bx, by))
    if not len(ordinals):
        return []
    # every feature meeting a child tile meets its block: the block's candidates are a
    # superset, and TileIndex.tile selects each tile's own features exactly
    index = TileIndex.from_records(geoms, props, source.layer_id, feature_ids=ordinals)
    out = []
    for z in range(block, stop):
        k = 1 << (z - block)
        for x in range(bx * k, (bx + 1) * k):
            for y in range(by * k, (by + 1) * k):
                raw = index.tile(z, x, y)
                if raw:
                    out.append((z, x, y, raw))
    return out


def _gzip(raw: bytes) -> bytes:
    return gzip.compress(raw, GZIP_LEVEL, mtime=0)


def _gzipped_block(task) -> list:
    """Cut and gzip one block's tiles (a worker process's task).

    The cutting and the gzip are the CPU of seeding.
    """
    source, block, bx, by, stop = task
    return [(z, x, y, _gzip(raw)) for z, x, y, raw in _block_tiles(source, block, bx, by, stop)]


def seed_workers() -> int:
    """Return how many processes cut the seeds (``TILE_SEED_WORKERS``; 0 = one per CPU)."""
    n = _env_int(SEED_WORKERS_ENV, 0)
    return n if n > 0 else (os.cpu_count() or 1)


def gzipped_tiles(source, zooms: range, workers: int = 1) -> Iterator[tuple]:
    """Yield ``(z, x, y, gzip'd mvt bytes)`` of every non-empty tile of ``zooms``.

    The tiles of :func:`cut_tiles`, in the same order. With ``workers`` > 1 the blocks are
    cut and compressed by that many spawned processes (each block is independent: one
    read of its candidates), so seeding takes about 1/``workers`` of the wall time; the
    tiles below the block zoom are few and cut here.
    """
    if not len(zooms) or not source.count:
        return
    block = _block_zoom(zooms)
    blocks = list(tiles_covering(source.bounds, block))
    if workers <= 1 or len(blocks) < 2:
        for z, x, y, raw in cut_tiles(source, zooms):
            yield z, x, y, _gzip(raw)
        return
    for z, x, y, raw in cut_tiles(source, range(zooms.start, block)):
        yield z, x, y, _gzip(raw)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    tasks = [(source, block, bx, by, zooms.stop) for bx, by in blocks]
    with ProcessPoolExecutor(min(workers, len(blocks)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        for rows in pool.map(_gzipped_block, tasks):
            yield from rows


def _meta(zooms: range, tiles: int, seconds: float) -> dict:
    return {"format": SEED_FORMAT, "min_zoom": str(zooms.start),
            "max_zoom": str(zooms.stop - 1), "tiles": str(tiles),
            "seconds": f"{seconds:.3f}"}


def _gpkg_write(path: Path, tiles, meta_of) -> dict:
    """Write the tiles into the version's GeoPackage; return the meta written.

    The tiles go first to a scratch SQLite file beside it (the version is being read
    while they are cut: a write transaction on it would lock those reads out), then into
    the GeoPackage with the meta rows in one transaction: all or nothing.
    """
    scratch = path.with_name(f".{path.stem}.tiles.partial")
    for stale in (scratch, scratch.with_name(scratch.name + "-journal")):
        stale.unlink(missing_ok=True)
    try:
        tmp = sqlite3.connect(str(scratch))
        try:
            tmp.execute("PRAGMA journal_mode = OFF")  # thrown away unless complete
            tmp.execute("PRAGMA synchronous = OFF")
            tmp.execute("CREATE TABLE t (z INTEGER, x INTEGER, y INTEGER, data BLOB)")
            n, batch = 0, []
            for row in tiles:
                batch.append(row)
                if len(batch) >= _INSERT_BATCH:
                    tmp.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", batch)
                    n += len(batch)
                    batch.clear()
            tmp.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", batch)
            n += len(batch)
            tmp.commit()
        finally:
            tmp.close()
        meta = meta_of(n)
        conn = sqlite3.connect(str(path), isolation_level=None)
        try:
            conn.execute("ATTACH DATABASE ? AS seed", (str(scratch),))
            conn.execute("BEGIN")
            conn.execute("DROP TABLE IF EXISTS main.planmap_tiles_meta")
            conn.execute("DROP TABLE IF EXISTS main.planmap_tiles")
            conn.execute("CREATE TABLE main.planmap_tiles (zoom_level INTEGER NOT NULL, "
                         "tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, "
                         "tile_data BLOB NOT NULL, "
                         "PRIMARY KEY (zoom_level, tile_column, tile_row)) WITHOUT ROWID")
            conn.execute("INSERT INTO main.planmap_tiles SELECT z, x, y, data FROM seed.t "
                         "ORDER BY z, x, y")
            conn.execute("CREATE TABLE main.planmap_tiles_meta (key TEXT PRIMARY KEY, "
                         "value TEXT)")
            conn.executemany("INSERT INTO main.planmap_tiles_meta VALUES (?, ?)", meta.items())
            conn.execute("COMMIT")
            conn.execute("DETACH DATABASE seed")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())
        return meta
    finally:
        scratch.unlink(missing_ok=True)


def _pg_names(table: str) -> tuple[str, str]:
    return f"{table}_tiles", f"{table}_tiles_meta"


def seed_source(store, source, zooms: range | None = None,
                workers: int | None = None) -> dict | None:
    """Cut and store the low-zoom tiles of one store layer version (see the module docstring).

    Parameters
    ----------
    store : layers.store.LayerStore
        The store holding the version (GeoPackage folder or PostGIS).
    source : layers.storequery.StoreLayer
        The version, read in place (need not be active).
    zooms : range, optional
        Default :func:`seed_zooms` (from the settings).
    workers : int, optional
        Processes cutting the tiles; default :func:`seed_workers` (from the settings).

    Returns
    -------
    dict or None
        The meta written (``format``, ``min_zoom``, ``max_zoom``, ``tiles``, ``seconds``),
        or None when nothing was seeded (no zoom to seed).
    """
    from planmap.layers.storequery import GpkgLayer, PostgisLayer

    zooms = seed_zooms() if zooms is None else zooms
    if not len(zooms):
        return None
    t0 = time.perf_counter()
    rows = gzipped_tiles(source, zooms, seed_workers() if workers is None else workers)
    if isinstance(source, GpkgLayer):
        return _gpkg_write(Path(source.path), rows,
                           lambda n: _meta(zooms, n, time.perf_counter() - t0))
    if isinstance(source, PostgisLayer):
        from psycopg import sql

        tiles_t, meta_t = _pg_names(source.table)
        with store._connect() as conn, conn.cursor() as cur:
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(
                sql.Identifier(tiles_t), sql.Identifier(meta_t)))
            cur.execute(sql.SQL("CREATE TABLE {} (z integer NOT NULL, x integer NOT NULL, "
                                "y integer NOT NULL, data bytea NOT NULL, "
                                "PRIMARY KEY (z, x, y))").format(sql.Identifier(tiles_t)))
            cur.execute(sql.SQL("CREATE TABLE {} (key text PRIMARY KEY, value text)")
                        .format(sql.Identifier(meta_t)))
            n = 0
            with cur.copy(sql.SQL("COPY {} (z, x, y, data) FROM STDIN").format(
                    sql.Identifier(tiles_t))) as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
            meta = _meta(zooms, n, time.perf_counter() - t0)
            cur.executemany(sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(
                sql.Identifier(meta_t)), list(meta.items()))
            conn.commit()
        return meta
    return None


def seed_version(store, layer_id: str, version: str, features: int,
                 zooms: range | None = None) -> dict | None:
    """Seed the low zooms of a just-written ``version`` of a bulk layer (import hook).

    Called by :func:`layers.storeimport.import_to_store` before the version is activated,
    so a served version has its seeds from its first request.  Layers of fewer than
    :data:`SEED_MIN_FEATURES` features (loaded whole and cut from memory) are not seeded.
    """
    from planmap.layers.store import GpkgStore, PostgisStore
    from planmap.layers.storequery import GpkgLayer, PostgisLayer

    if features < SEED_MIN_FEATURES:
        return None
    if isinstance(store, GpkgStore):
        source = GpkgLayer(store._path(layer_id, version), layer_id, version)
    elif isinstance(store, PostgisStore):
        with store._connect() as conn, conn.cursor() as cur:
            table = store._table(cur, layer_id, version)
        source = PostgisLayer(store.url, table, layer_id, version, features)
    else:
        return None
    return seed_source(store, source, zooms)


class SeededTiles:
    """The seeds of one store layer version, read by the server (one connection per thread).

    Attributes
    ----------
    min_zoom, max_zoom : int
        The seeded zooms: a tile of these zooms without a row is empty.
    meta : dict
    """

    def __init__(self, source, meta: dict):
        self.source = source
        self.meta = meta
        self.min_zoom = int(meta["min_zoom"])
        self.max_zoom = int(meta["max_zoom"])
        self._local = threading.local()

    def covers(self, z: int) -> bool:
        """Return True when zoom ``z`` was seeded."""
        return self.min_zoom <= z <= self.max_zoom

    def get(self, z: int, x: int, y: int) -> bytes:
        """Return the gzip'd MVT bytes of a seeded tile; ``b""`` for an empty tile."""
        raise NotImplementedError


class _GpkgSeeds(SeededTiles):
    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = _ro(self.source.path)
        return conn

    def get(self, z, x, y):
        row = self._conn().execute(
            "SELECT tile_data FROM planmap_tiles WHERE zoom_level = ? AND tile_column = ? "
            "AND tile_row = ?", (int(z), int(x), int(y))).fetchone()
        return b"" if row is None else bytes(row[0])


class _PgSeeds(SeededTiles):
    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            import psycopg

            conn = self._local.conn = psycopg.connect(self.source.url, autocommit=True,
                                                      connect_timeout=10)
        return conn

    def get(self, z, x, y):
        from psycopg import sql

        with self._conn().cursor() as cur:
            cur.execute(sql.SQL("SELECT data FROM {} WHERE z = %s AND x = %s AND y = %s")
                        .format(sql.Identifier(_pg_names(self.source.table)[0])),
                        (int(z), int(x), int(y)))
            row = cur.fetchone()
        return b"" if row is None else bytes(row[0])


def _ro(path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{Path(path).as_posix()}?mode=ro", uri=True,
                           check_same_thread=False)


def _read_meta(source) -> dict | None:
    from planmap.layers.storequery import GpkgLayer, PostgisLayer

    try:
        if isinstance(source, GpkgLayer):
            conn = _ro(source.path)
            try:
                if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                                "'planmap_tiles_meta'").fetchone() is None:
                    return None
                return dict(conn.execute("SELECT key, value FROM planmap_tiles_meta"))
            finally:
                conn.close()
        if isinstance(source, PostgisLayer):
            import psycopg

            meta_t = _pg_names(source.table)[1]
            with psycopg.connect(source.url, autocommit=True, connect_timeout=10) as conn:
                if conn.execute("SELECT to_regclass(%s)", (f'"{meta_t}"',)).fetchone()[0] is None:
                    return None
                from psycopg import sql

                return dict(conn.execute(sql.SQL("SELECT key, value FROM {}")
                                         .format(sql.Identifier(meta_t))).fetchall())
    except (sqlite3.Error, OSError, ValueError):
        return None
    return None


_found: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_found_lock = threading.Lock()


def seeds_of(source) -> SeededTiles | None:
    """Return the usable seeds of a store layer version, or None (none, or another format).

    Looked up once per :class:`~layers.storequery.StoreLayer` object (a new version is a
    new object).
    """
    from planmap.layers.storequery import GpkgLayer, PostgisLayer

    try:
        return _found[source]
    except (KeyError, TypeError):
        pass
    with _found_lock:
        if source in _found:
            return _found[source]
        meta = _read_meta(source)
        seeds = None
        if meta is not None and meta.get("format") == SEED_FORMAT:
            cls = _GpkgSeeds if isinstance(source, GpkgLayer) else \
                _PgSeeds if isinstance(source, PostgisLayer) else None
            if cls is not None:
                seeds = cls(source, meta)
        _found[source] = seeds
        return seeds


def describe(meta: dict | None) -> str:
    """One line for ``planmap import``: what was seeded and how long it took."""
    if not meta:
        return "no tiles seeded"
    return (f"seeded {meta['tiles']} tiles z{meta['min_zoom']}-z{meta['max_zoom']} in "
            f"{float(meta['seconds']):.1f} s")


__all__ = ["SEED_FORMAT", "SeededTiles", "cut_tile", "cut_tiles", "describe", "seed_source",
           "seed_version", "seed_zooms", "seeds_of"]
