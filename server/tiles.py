"""Vector tiles of the large layers: ``/tiles/<layer>/<z>/<x>/<y>.mvt``.

A layer with more than ``TILE_THRESHOLD_FEATURES`` features is not embedded in the map
script (``/map/<lang>.js``): the page draws it from these tiles (``static/planmap-tiles.js``),
so the page's weight does not grow with the data.  Tiles come from a *tile source*, one
small object with ``encoded(layer_id, z, x, y) -> (raw, gzip)``; :class:`MemoryTileSource`
cuts them from the loaded layers (``geo.mvt.TileIndex``, built per layer on first use), and
those of an in-place store layer from the store's index, or reads the low zooms seeded at
import (``layers/tileseed.py``: one indexed lookup).  A store
with its own tiler (PostGIS ``ST_AsMVT``) can stand in its place by offering the same method.

Tiles at ``z <= geo.mvt.GENERALISE_MAX_ZOOM`` are generalised (polygons under
``geo.mvt.MIN_PIXEL_AREA`` screen pixels left out, outlines snapped below a pixel) and say
so in the ``X-Planmap-Generalised`` header.  Answers are cached per data version in memory
(an LRU bounded by ``TILE_CACHE_BYTES``) and sent with ``Cache-Control: public,
max-age=TILE_MAX_AGE_S``; ``server/delivery.py`` adds the ETag and answers 304.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict

from flask import Blueprint, Response, current_app, request
from planmap.geo.errors import NotFound
from planmap.geo.mvt import (
    GENERALISATION,
    GENERALISE_MAX_ZOOM,
    TileIndex,
    check_tile,
)
from planmap.layers.tileseed import GZIP_LEVEL, cut_tile, seeds_of
from planmap.server import services
from planmap.server.args import tile_number as _int

bp = Blueprint("tiles", __name__)

MVT_MIMETYPE = "application/vnd.mapbox-vector-tile"
URL_TEMPLATE = "/tiles/{layer}/{z}/{x}/{y}.mvt"
# the tiled popups' own labels (planmap-tiles.js); the rest come from server/i18n.py
STRINGS = {"zh": {"source": "数据来源", "rule": "绘制规则"},
           "en": {"source": "Data source", "rule": "How it was drawn"}}


def tiled_layer_ids(data, settings) -> list[str]:
    """Ids of the loaded layers served as tiles (more features than the threshold)."""
    threshold = int(settings.get("TILE_THRESHOLD_FEATURES", 0) or 0)
    if threshold <= 0:
        return []
    ids = [lid for lid, gdf in data.layers.items() if len(gdf) > threshold]
    # bulk layers left in the store (PlanData.store_layers) are always large: tiled too
    in_store = getattr(data, "store_layers", None) or {}
    return ids + [lid for lid, src in in_store.items()
                  if lid not in data.layers and int(src.count) > threshold]


class MemoryTileSource:
    """Tiles cut from the in-memory layers of one :class:`layers.PlanData`."""

    def __init__(self, data, layer_ids):
        self.data = data
        self.layer_ids = frozenset(layer_ids)
        self._indexes: dict[str, TileIndex] = {}
        self._lock = threading.Lock()

    def index(self, layer_id: str) -> TileIndex:
        found = self._indexes.get(layer_id)
        if found is None:
            with self._lock:  # one build per layer, however many tiles ask at once
                found = self._indexes.get(layer_id)
                if found is None:
                    found = TileIndex.from_frame(self.data.layers[layer_id], layer_id)
                    self._indexes[layer_id] = found
        return found

    def tile(self, layer_id: str, z: int, x: int, y: int) -> bytes:
        """Return the MVT bytes of tile ``z/x/y`` of a tiled layer."""
        return self.encoded(layer_id, z, x, y)[0]

    def encoded(self, layer_id: str, z: int, x: int, y: int) -> tuple[bytes, bytes]:
        """Return tile ``z/x/y`` as ``(raw MVT, gzip'd MVT)``.

        An in-place store layer's seeded low zooms (``layers/tileseed.py``) are read
        gzip'd from the version, other tiles are cut and compressed here.
        """
        in_store = getattr(self.data, "store_layers", None) or {}
        if layer_id not in self.data.layers and layer_id in in_store:
            seeds = seeds_of(in_store[layer_id])
            if seeds is not None and seeds.covers(z):
                packed = seeds.get(z, x, y)
                return (gzip.decompress(packed) if packed else b""), packed
            # cut from the store's spatial index: the MVT id is the row's ordinal
            raw = cut_tile(in_store[layer_id], z, x, y)
        else:
            raw = self.index(layer_id).tile(z, x, y)
        return raw, (gzip.compress(raw, GZIP_LEVEL, mtime=0) if raw else b"")


class TileCache:
    """LRU of encoded tiles (raw and gzip) keyed by data version and address, bounded in bytes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self.bytes = 0
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key, value: tuple[bytes, bytes]) -> None:
        size = len(value[0]) + len(value[1])
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= len(old[0]) + len(old[1])
            self._items[key] = value
            self.bytes += size
            while self.bytes > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self.bytes -= len(dropped[0]) + len(dropped[1])


class _State:
    def __init__(self, data, settings):
        self.data = data
        self.version = getattr(data, "data_version", "")
        self.layer_ids = tiled_layer_ids(data, settings)
        self.source = MemoryTileSource(data, self.layer_ids)
        self.cache = TileCache(int(settings.get("TILE_CACHE_BYTES", 0) or 0))


_state_lock = threading.Lock()


def state() -> _State:
    """The app's tile source and cache, rebuilt when the loaded data changes."""
    data = services().data
    ext = current_app.extensions
    found = ext.get("planmap_tiles")
    if found is None or found.data is not data or found.version != data.data_version:
        with _state_lock:
            found = ext.get("planmap_tiles")
            if found is None or found.data is not data or found.version != data.data_version:
                found = ext["planmap_tiles"] = _State(data, current_app.config)
    return found


@bp.get("/tiles/<layer_id>/<z>/<x>/<y>.mvt")
def tile(layer_id: str, z: str, x: str, y: str):
    st = state()
    from planmap.server.visibility import hidden_layers

    hidden = hidden_layers()  # a layer restricted to planners does not exist for the public
    if layer_id not in st.layer_ids or layer_id in hidden:
        known = ", ".join(sorted(set(st.layer_ids) - set(hidden))) or "none"
        raise NotFound("tile_layer_not_found",
                       f"layer {layer_id!r} is not served as tiles (tiled layers: {known})",
                       f"图层 {layer_id!r} 不以瓦片提供（瓦片图层：{known}）", param="layer")
    zi, xi, yi = _int(z, "z"), _int(x, "x"), _int(y, "y")
    cfg = current_app.config
    check_tile(zi, xi, yi, int(cfg["TILE_MIN_ZOOM"]), int(cfg["TILE_MAX_ZOOM"]))
    key = (st.version, layer_id, zi, xi, yi)
    found = st.cache.get(key)
    if found is None:
        found = st.source.encoded(layer_id, zi, xi, yi)
        st.cache.put(key, found)
    raw, packed = found
    use_gz = bool(raw) and request.accept_encodings.quality("gzip") > 0
    response = Response(packed if use_gz else raw, mimetype=MVT_MIMETYPE)
    if use_gz:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = f"public, max-age={int(cfg['TILE_MAX_AGE_S'])}"
    if zi <= GENERALISE_MAX_ZOOM:  # the tile is honest about leaving small polygons out
        response.headers["X-Planmap-Generalised"] = GENERALISATION
    return response
