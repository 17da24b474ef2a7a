"""Store-side reads of a bulk layer: candidates by bounding box from the store's own index.

A bureau's parcels (10^5–10^6 polygons) are not read into a GeoDataFrame at start: the
server keeps a :class:`StoreLayer` per bulk store layer and asks the store for the few
features a query meets, one SQL statement per query:

* GeoPackage: the ``rtree_<table>_<geom>`` virtual table joined to the feature table,
  read with the standard library's :mod:`sqlite3` (read-only); the GeoPackage geometry
  blobs are cut after their header and decoded with one vectorised ``shapely.from_wkb``.
* PostGIS: ``geom && ST_MakeEnvelope(…)`` (GiST index), WKB decoded the same way.

Both indexes keep float32 boxes rounded outwards, so their answer is a superset; the
exact bounding-box test is then done on the decoded geometries (``shapely.bounds``), and
the callers (:mod:`geo.index.storezones`) test the geometry itself with shapely — the same
predicates as for an in-memory layer, so the answers are identical.

Metadata (feature count, bounds, property columns) comes from the store's tables
without reading features.

A feature's *ordinal* identifies it within the active version: the GeoPackage ``fid``
(1…N in import order), PostGIS ``ord`` (0…N-1).  :meth:`StoreLayer.size` bounds them.
Never imports Flask.  A :class:`StoreLayer` pickles as its location only (the
connections are per process and per thread, opened when first used).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from pathlib import Path

import numpy as np
import shapely
from planmap.geo.errors import LayerError

from .store import JSON_COLUMNS, GpkgStore, PostgisStore

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# GeoPackage binary header: envelope bytes by the envelope indicator (flags bits 1-3)
_ENVELOPE = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def _gpkg_wkb(blobs) -> np.ndarray:
    """Decode GeoPackage geometry blobs (header + WKB) with one ``shapely.from_wkb``."""
    wkb = []
    for b in blobs:
        if b is None or len(b) < 8 or b[0:2] != b"GP":
            wkb.append(None)
            continue
        flags = b[3]
        if flags & 0x10:  # empty geometry
            wkb.append(None)
            continue
        wkb.append(bytes(b[8 + _ENVELOPE.get((flags >> 1) & 0x07, 0):]))
    return shapely.from_wkb(wkb) if wkb else np.zeros(0, dtype=object)


def _box_filter(geoms, minx, miny, maxx, maxy) -> np.ndarray:
    """Mask: the geometry's bounding box meets the box (closed)."""
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    b = shapely.bounds(geoms)
    return ((b[:, 0] <= maxx) & (b[:, 2] >= minx) & (b[:, 1] <= maxy) & (b[:, 3] >= miny)
            & ~shapely.is_missing(geoms))


class StoreLayer:
    """One bulk layer's active version, queried in place (see the module docstring).

    Attributes
    ----------
    layer_id : str
    version : str
    count : int
        Features in the version (from the store's metadata).
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` WGS 84 of the whole layer (from the spatial index).
    columns : list of str
        Property columns (``id`` first).
    """

    layer_id: str
    version: str
    count: int
    bounds: tuple
    columns: list

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_local", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()

    def size(self) -> int:
        """One more than the largest ordinal."""
        raise NotImplementedError

    def candidates(self, minx, miny, maxx, maxy):
        """Features whose bounding box meets the WGS 84 box.

        Returns
        -------
        (ndarray of int64, ndarray of shapely geometries, list of dict)
            Ordinals (ascending), geometries (WGS 84), properties (``id`` included;
            lists and objects decoded).
        """
        raise NotImplementedError

    def fetch(self, ordinals):
        """Return the same triple for the given ordinals (ascending; missing ones left out)."""
        raise NotImplementedError

    def find(self, feature_id: str) -> int | None:
        """Ordinal of the feature with this ``id``, or None."""
        raise NotImplementedError

    def page(self, offset: int, limit: int, bbox=None):
        """Features in import order, ``offset``/``limit`` (for OGC items without a filter)."""
        raise NotImplementedError


class GpkgLayer(StoreLayer):
    """A layer version in a GeoPackage, read through its R-tree with :mod:`sqlite3`."""

    def __init__(self, path, layer_id: str, version: str):
        self.path = str(path)
        self.layer_id = layer_id
        self.version = version
        self._local = threading.local()
        conn = self._conn()
        row = conn.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                           (layer_id,)).fetchone()
        if row is None or not _IDENT.match(layer_id) or not _IDENT.match(row[0]):
            raise LayerError("store_error", f"{self.path}: no geometry table {layer_id!r}",
                             f"{self.path}：没有图层 {layer_id}", param="layer")
        self.geom_col = row[0]
        self.rtree = f"rtree_{layer_id}_{self.geom_col}"
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?",
                        (self.rtree,)).fetchone() is None:
            raise LayerError("store_error", f"{self.path}: layer {layer_id!r} has no R-tree",
                             f"{self.path}：图层 {layer_id} 没有空间索引", param="layer")
        info = conn.execute(f'PRAGMA table_info("{layer_id}")').fetchall()
        self.columns = [r[1] for r in info if r[1] not in ("fid", self.geom_col)]
        count = None
        try:
            got = conn.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE "
                               "table_name = ?", (layer_id,)).fetchone()
            count = None if got is None else got[0]
        except sqlite3.Error:
            pass
        if count is None:
            count = conn.execute(f'SELECT count(*) FROM "{self.rtree}"').fetchone()[0]
        self.count = int(count)
        # the extent GDAL keeps in gpkg_contents; the R-tree's (a scan) only without it
        b = conn.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE "
                         "table_name = ?", (layer_id,)).fetchone()
        if b is None or any(v is None for v in b):
            b = conn.execute(f'SELECT min(minx), min(miny), max(maxx), max(maxy) FROM '
                             f'"{self.rtree}"').fetchone()
        self.bounds = tuple(float(v) for v in b) if b[0] is not None else (0.0, 0.0, 0.0, 0.0)
        self._size = int(conn.execute(f'SELECT coalesce(max(fid), 0) FROM "{layer_id}"')
                         .fetchone()[0]) + 1
        cols = ", ".join(f't."{c}"' for c in self.columns)
        self._select = f't.fid, t."{self.geom_col}"' + (f", {cols}" if cols else "")

    def __repr__(self):
        return f"GpkgLayer({self.path!r}, {self.layer_id!r})"

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{Path(self.path).as_posix()}?mode=ro", uri=True,
                                   check_same_thread=False)
            self._local.conn = conn
        return conn

    def size(self):
        """See :meth:`StoreLayer.size`."""
        return self._size

    def _rows(self, rows):
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, dtype=object), []
        ords = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        geoms = _gpkg_wkb([r[1] for r in rows])
        cols = self.columns
        json_at = [k for k, c in enumerate(cols) if c in JSON_COLUMNS]
        props = []
        memo: dict = {}  # the same citation/county text recurs on most rows: decode once
        for r in rows:
            p = dict(zip(cols, r[2:], strict=True))
            for k in json_at:
                v = r[2 + k]
                if isinstance(v, str):
                    got = memo.get(v)
                    if got is None:
                        got = memo[v] = json.loads(v)
                    p[cols[k]] = got
                else:
                    p[cols[k]] = None
            props.append(p)
        return ords, geoms, props

    def candidates(self, minx, miny, maxx, maxy):
        """See :meth:`StoreLayer.candidates`."""
        rows = self._conn().execute(
            f'SELECT {self._select} FROM "{self.rtree}" r JOIN "{self.layer_id}" t '
            f"ON t.fid = r.id WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? "
            f"AND r.maxy >= ? ORDER BY t.fid",
            (float(maxx), float(minx), float(maxy), float(miny))).fetchall()
        ords, geoms, props = self._rows(rows)
        keep = _box_filter(geoms, minx, miny, maxx, maxy)
        return ords[keep], geoms[keep], [p for p, k in zip(props, keep.tolist(), strict=True) if k]

    def fetch(self, ordinals):
        """See :meth:`StoreLayer.fetch`."""
        ordinals = sorted({int(o) for o in ordinals})
        out = []
        conn = self._conn()
        for s in range(0, len(ordinals), 500):
            part = ordinals[s:s + 500]
            out.extend(conn.execute(
                f'SELECT {self._select} FROM "{self.layer_id}" t WHERE t.fid IN '
                f'({",".join("?" * len(part))}) ORDER BY t.fid', part).fetchall())
        return self._rows(out)

    def find(self, feature_id):
        """See :meth:`StoreLayer.find`."""
        if "id" not in self.columns:
            return None
        row = self._conn().execute(f'SELECT fid FROM "{self.layer_id}" WHERE id = ?',
                                   (str(feature_id),)).fetchone()
        return None if row is None else int(row[0])

    def page(self, offset, limit, bbox=None):
        """See :meth:`StoreLayer.page`."""
        if bbox is not None:
            ords, geoms, props = self.candidates(*bbox)
            return ords[offset:offset + limit], geoms[offset:offset + limit], \
                props[offset:offset + limit]
        rows = self._conn().execute(
            f'SELECT {self._select} FROM "{self.layer_id}" t ORDER BY t.fid LIMIT ? OFFSET ?',
            (int(limit), int(offset))).fetchall()
        return self._rows(rows)


class PostgisLayer(StoreLayer):
    """A layer version in a PostGIS table, read through its GiST index with psycopg."""

    def __init__(self, url: str, table: str, layer_id: str, version: str, count: int):
        self.url = url
        self.table = table
        self.layer_id = layer_id
        self.version = version
        self.count = int(count)
        self._local = threading.local()
        if not _IDENT.match(table):
            raise LayerError("store_error", f"bad table name {table!r}", "表名无效",
                             param="layer")
        with self._conn().cursor() as cur:
            cur.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                        f"(SELECT ST_EstimatedExtent('{table}', 'geom')::geometry e) s")
            row = cur.fetchone()
            if row is None or row[0] is None:
                cur.execute(f'SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM '
                            f'(SELECT ST_Extent(geom)::geometry e FROM "{table}") s')
                row = cur.fetchone()
            self.bounds = tuple(float(v) for v in row) if row and row[0] is not None \
                else (0.0, 0.0, 0.0, 0.0)
            cur.execute(f'SELECT props FROM "{table}" LIMIT 1')
            first = cur.fetchone()
        self.columns = ["id", *[k for k in (first[0] if first else {}) if k != "id"]]

    def __repr__(self):
        return f"PostgisLayer(<url>, {self.table!r})"

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            import psycopg

            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            self._local.conn = conn
        return conn

    def size(self):
        """See :meth:`StoreLayer.size`."""
        return self.count

    def _run(self, where: str, params) -> tuple:
        with self._conn().cursor() as cur:
            cur.execute(f'SELECT ord, fid, props::text, ST_AsBinary(geom) FROM "{self.table}" '
                        f"{where}", params)
            rows = cur.fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, dtype=object), []
        ords = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        geoms = shapely.from_wkb([bytes(r[3]) for r in rows])
        props = []
        for r in rows:
            p = {"id": r[1]}
            p.update(json.loads(r[2]))
            props.append(p)
        return ords, geoms, props

    def candidates(self, minx, miny, maxx, maxy):
        """See :meth:`StoreLayer.candidates`."""
        ords, geoms, props = self._run(
            "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) ORDER BY ord",
            (float(minx), float(miny), float(maxx), float(maxy)))
        keep = _box_filter(geoms, minx, miny, maxx, maxy)
        return ords[keep], geoms[keep], [p for p, k in zip(props, keep.tolist(), strict=True) if k]

    def fetch(self, ordinals):
        """See :meth:`StoreLayer.fetch`."""
        return self._run("WHERE ord = ANY(%s) ORDER BY ord", ([int(o) for o in ordinals],))

    def find(self, feature_id):
        """See :meth:`StoreLayer.find`."""
        with self._conn().cursor() as cur:
            cur.execute(f'SELECT ord FROM "{self.table}" WHERE fid = %s', (str(feature_id),))
            row = cur.fetchone()
        return None if row is None else int(row[0])

    def page(self, offset, limit, bbox=None):
        """See :meth:`StoreLayer.page`."""
        if bbox is not None:
            ords, geoms, props = self.candidates(*bbox)
            return ords[offset:offset + limit], geoms[offset:offset + limit], \
                props[offset:offset + limit]
        return self._run("ORDER BY ord LIMIT %s OFFSET %s", (int(limit), int(offset)))


def store_layer(store, layer_id: str) -> StoreLayer:
    """Return the :class:`StoreLayer` of a layer's active version in ``store``.

    Reads only metadata (no feature).
    """
    version = store.current(layer_id)
    if isinstance(store, GpkgStore):
        return GpkgLayer(store._path(layer_id, version), layer_id, version)
    if isinstance(store, PostgisStore):
        with store._connect() as conn, conn.cursor() as cur:
            table = store._table(cur, layer_id, version)
            cur.execute("SELECT features FROM planmap_version WHERE layer = %s AND "
                        "version = %s", (layer_id, version))
            count = cur.fetchone()[0]
        return PostgisLayer(store.url, table, layer_id, version, count)
    raise LayerError("store_error", f"no in-place queries for {store!r}",
                     "该存储不支持就地查询", param="store")


def feature_count(store, layer_id: str) -> int:
    """Features of the active version, from the store's metadata (no feature read)."""
    version = store.current(layer_id)
    if isinstance(store, GpkgStore):
        import pyogrio

        return int(pyogrio.read_info(str(store._path(layer_id, version)),
                                     layer=layer_id)["features"])
    for v in store.versions(layer_id):
        if v.version == version:
            return int(v.features)
    return 0


def geojson_features(ords, geoms, props) -> list[dict]:
    """RFC 7946 Feature dicts of store rows (as ``layers.export.geojson_features`` builds)."""
    from planmap.layers.export import _plain

    texts = shapely.to_geojson(geoms) if len(geoms) else []
    out = []
    for p, g in zip(props, texts, strict=True):
        properties = {str(k): _plain(v) for k, v in p.items()}
        out.append({"type": "Feature", "id": str(properties.get("id")),
                    "geometry": json.loads(g) if g is not None else None,
                    "properties": properties})
    return out


def _ragged_texts(geoms, out, at, kind: str) -> None:
    """GeoJSON texts of Polygons or MultiPolygons ``geoms`` into ``out[at[j]]``.

    Coordinates written with ``float.__repr__`` (what ``json.dumps`` writes), nested by the
    ragged offsets: no list per vertex is made (they cost more than the text and fed the GC).
    """
    _, coords, offsets = shapely.to_ragged_array(geoms)
    r = list(map(float.__repr__, coords.ravel().tolist()))
    text = ["[" + r[i] + "," + r[i + 1] + "]" for i in range(0, len(r), 2)]
    for off in offsets:  # rings, then polygons (then multipolygons): one level each
        o = off.tolist()
        text = ["[" + ",".join(text[o[k]:o[k + 1]]) + "]" for k in range(len(o) - 1)]
    head = '{"type":"' + kind + '","coordinates":'
    for j, k in enumerate(at):
        out[k] = head + text[j] + "}"


def _geometry_texts(geoms) -> list:
    """``json.dumps(json.loads(shapely.to_geojson(g)), separators=(",", ":"))`` per geometry.

    GEOS writes some coordinates with 17 digits where ``json.dumps`` writes the shortest
    repr, so polygons are written here from their coordinates; other types (and 3D or
    non-finite coordinates) go through the GEOS text.
    """
    out: list = [None] * len(geoms)
    if len(geoms) == 0:
        return out
    tid = shapely.get_type_id(geoms)
    plain = ~shapely.has_z(geoms) & ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    coords = shapely.get_coordinates(geoms)
    if not np.isfinite(coords).all():
        plain[:] = False
    for type_id, kind in ((3, "Polygon"), (6, "MultiPolygon")):
        at = np.flatnonzero(plain & (tid == type_id))
        if len(at):
            _ragged_texts(geoms[at], out, at.tolist(), kind)
    rest = [k for k, t in enumerate(out) if t is None and geoms[k] is not None]
    if rest:
        for k, t in zip(rest, shapely.to_geojson(geoms[rest]).tolist(), strict=True):
            out[k] = None if t is None else json.dumps(json.loads(t), separators=(",", ":"))
    return out


def geojson_texts(ords, geoms, props) -> list[str]:
    """Return the JSON text of each of :func:`geojson_features`' Features, without dicts.

    Each equals ``json.dumps(feature, ensure_ascii=False, separators=(",", ":"))`` (the OGC
    items page writes it as is; tests/layers/test_i12http_geojson_text.py compares).
    """
    from planmap.layers.export import _plain

    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    out = []
    for p, g in zip(props, _geometry_texts(geoms), strict=True):
        properties = {str(k): v if type(v) is str or v is None or type(v) is int else _plain(v)
                      for k, v in p.items()}
        out.append('{"type":"Feature","id":' + dumps(str(properties.get("id")))
                   + ',"geometry":' + ("null" if g is None else g)
                   + ',"properties":' + dumps(properties) + "}")
    return out


def accuracy_counts(source) -> dict:
    """``{"official", "derived", "schematic"}`` counts of a store layer (one SQL, cached)."""
    found = getattr(source, "_accuracy_counts", None)
    if found is not None:
        return found
    counts = dict.fromkeys(("official", "derived", "schematic"), 0)
    if isinstance(source, GpkgLayer):
        if "accuracy" in source.columns:
            rows = source._conn().execute(
                f'SELECT accuracy, count(*) FROM "{source.layer_id}" GROUP BY 1').fetchall()
        else:
            rows = []
    else:
        with source._conn().cursor() as cur:
            cur.execute(f"SELECT props->>'accuracy', count(*) FROM \"{source.table}\" GROUP BY 1")
            rows = cur.fetchall()
    for k, n in rows:
        if k in counts:
            counts[k] = int(n)
    source._accuracy_counts = counts
    return counts
