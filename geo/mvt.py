"""Mapbox Vector Tiles of one layer: select by the tile's box, clip, simplify, encode.

Pure: no Flask, no files.  :class:`TileIndex` holds one layer's geometries in Web
Mercator (EPSG:3857) with an STRtree over them and the popup properties of every
feature; :meth:`TileIndex.tile` answers one ``z/x/y`` tile as MVT bytes, encoded with the
``mapbox-vector-tile`` package.  A feature is in a tile when its geometry intersects the
tile's square (not the buffer around it): the buffer only keeps outlines continuous
across tile edges.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import mapbox_vector_tile
import numpy as np
import shapely

from geo.errors import PlanmapError

EARTH_R = 6378137.0
HALF_WORLD = math.pi * EARTH_R  # Web Mercator spans [-HALF_WORLD, HALF_WORLD] on both axes
MAX_LAT = 85.05112878  # the latitude where Web Mercator's square ends
EXTENT = 4096  # tile units per side (the MVT default)
BUFFER_UNITS = 64  # clip this far outside the tile, so strokes do not stop at its edge
QUOTE_MAX_CHARS = 160  # as the inline popups (server.mapbuild): the plan link shows all
# feature properties copied into tiles as text; citation and county are flattened below
CORE_PROPERTIES = ("id", "name_zh", "name_en", "layer", "kind", "accuracy", "source", "rule")
SKIP_PROPERTIES = frozenset({"geometry", "citation", "county", "extra_citations"})


class TileError(PlanmapError):
    """A tile address outside the tile grid or the served zoom range (HTTP 400)."""


def lonlat_to_mercator(xy: np.ndarray) -> np.ndarray:
    """EPSG:4326 lon/lat pairs (n, 2) to EPSG:3857 metres (latitudes clamped to ±85.05°)."""
    lon = xy[:, 0]
    lat = np.clip(xy[:, 1], -MAX_LAT, MAX_LAT)
    x = np.radians(lon) * EARTH_R
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * EARTH_R
    return np.column_stack([x, y])


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds ``(minx, miny, maxx, maxy)`` of tile ``z/x/y`` (XYZ, y down)."""
    size = 2 * HALF_WORLD / (1 << z)
    minx = -HALF_WORLD + x * size
    maxy = HALF_WORLD - y * size
    return (minx, maxy - size, minx + size, maxy)


def check_tile(z: int, x: int, y: int, min_zoom: int, max_zoom: int) -> None:
    """Raise :class:`TileError` unless ``z/x/y`` is a tile of the served zoom range."""
    if not min_zoom <= z <= max_zoom:
        raise TileError("tile_zoom_out_of_range",
                        f"zoom {z} is outside the served range {min_zoom}..{max_zoom} "
                        "(TILE_MIN_ZOOM..TILE_MAX_ZOOM)",
                        f"缩放级别 {z} 超出瓦片服务范围 {min_zoom}..{max_zoom}"
                        "（TILE_MIN_ZOOM..TILE_MAX_ZOOM）", param="z")
    n = 1 << z
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < n:
            raise TileError("tile_out_of_range",
                            f"{name}={value} is outside 0..{n - 1} at zoom {z}",
                            f"缩放级别 {z} 的 {name}={value} 超出 0..{n - 1}", param=name)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _scalar(value):
    """A property value MVT can carry (str, int, float, bool); others as JSON text."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        return value
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def popup_properties(record: dict, layer_id: str) -> dict:
    """The properties a tiled feature carries for its popup (all MVT scalars).

    The core fields (id, names, kind, accuracy, source, rule), the citation flattened to
    ``citation_seed``/``citation_line``/``citation_quote``, ``county`` as comma-separated
    adcodes, and every other scalar column (e.g. a parcel's 地类) as it is.
    """
    out = {key: _text(record.get(key)) for key in CORE_PROPERTIES}
    out["layer"] = layer_id
    citation = record.get("citation")
    if isinstance(citation, str):
        try:
            citation = json.loads(citation)
        except ValueError:
            citation = None
    if isinstance(citation, dict):
        quote = _text(citation.get("quote"))
        if len(quote) > QUOTE_MAX_CHARS:
            quote = quote[:QUOTE_MAX_CHARS] + "…"
        out["citation_seed"] = _text(citation.get("seed"))
        try:
            out["citation_line"] = int(citation.get("line"))
        except (TypeError, ValueError):
            pass
        out["citation_quote"] = quote
    county = record.get("county")
    if isinstance(county, (list, tuple, np.ndarray)):
        out["county"] = ",".join(str(c) for c in county)
    elif county is not None:
        out["county"] = _text(county)
    for key, value in record.items():
        if key in out or key in SKIP_PROPERTIES or key in CORE_PROPERTIES:
            continue
        value = _scalar(value)
        if value is not None:
            out[str(key)] = value
    return {k: v for k, v in out.items() if v != ""}


@dataclass
class TileIndex:
    """One layer ready to be cut into tiles.

    Attributes
    ----------
    layer_id : str
        The MVT layer name in every tile.
    geoms : ndarray of shapely geometries
        The features in Web Mercator (EPSG:3857).
    properties : list of dict
        Popup properties per feature (:func:`popup_properties`), same order as ``geoms``.
    tree : shapely.STRtree
        Over ``geoms``.
    """

    layer_id: str
    geoms: np.ndarray
    properties: list
    tree: shapely.STRtree

    @classmethod
    def from_frame(cls, gdf, layer_id: str) -> TileIndex:
        """Build from a layer's GeoDataFrame (EPSG:4326, index = feature id)."""
        geoms = shapely.transform(np.asarray(gdf.geometry.values, dtype=object),
                                  lonlat_to_mercator)
        columns = [c for c in gdf.columns if c != gdf.geometry.name]
        records = gdf[columns].to_dict("records")
        props = []
        for fid, record in zip(gdf.index, records):
            record.setdefault("id", fid)
            if not record.get("id"):
                record["id"] = fid
            props.append(popup_properties(record, layer_id))
        return cls(layer_id=layer_id, geoms=geoms, properties=props,
                   tree=shapely.STRtree(geoms))

    def __len__(self) -> int:
        return len(self.geoms)

    def select(self, z: int, x: int, y: int) -> np.ndarray:
        """Positions of the features whose geometry intersects tile ``z/x/y``."""
        box = shapely.box(*tile_bounds(z, x, y))
        return np.sort(self.tree.query(box, predicate="intersects"))

    def tile(self, z: int, x: int, y: int) -> bytes:
        """The MVT bytes of tile ``z/x/y``: clipped to the buffered tile, simplified to
        one tile unit (finer detail is lost in the integer grid anyway)."""
        bounds = tile_bounds(z, x, y)
        idx = self.select(z, x, y)
        unit = (bounds[2] - bounds[0]) / EXTENT
        pad = unit * BUFFER_UNITS
        geoms = shapely.clip_by_rect(self.geoms[idx], bounds[0] - pad, bounds[1] - pad,
                                     bounds[2] + pad, bounds[3] + pad)
        geoms = shapely.simplify(geoms, unit, preserve_topology=True)
        features = []
        for pos, geom in zip(idx, geoms):
            if geom is None or geom.is_empty:
                continue  # only touched the tile's edge
            features.append({"geometry": geom, "properties": self.properties[pos],
                             "id": int(pos) + 1})
        if not features:
            return b""  # an empty tile is a valid MVT (no layers)
        return mapbox_vector_tile.encode(
            [{"name": self.layer_id, "features": features}],
            default_options={"quantize_bounds": bounds, "extents": EXTENT,
                             "y_coord_down": False})
