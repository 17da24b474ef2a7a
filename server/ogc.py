"""OGC API – Features (Part 1 Core + Part 2 CRS by reference) at ``/ogc``.

One collection per loaded layer.  Conformance: core, geojson, html, oas30, crs.
Coordinates in a response follow the axis order of the requested CRS, as Part 2
requires: CRS84 is lon/lat, EPSG:4490 is lat/lon, EPSG:4550 is northing/easting.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np
import shapely
from flask import Blueprint, Response, current_app, render_template, request, url_for
from planmap.geo.errors import CRSError, InvalidInput, LayerError, LimitExceeded, NotFound
from planmap.geo.vocab import id_pattern
from planmap.server import services
from planmap.server.args import bbox_number as _parse_number
from planmap.server.args import query_int as _parse_int

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
#: OGC CRS URI -> (geo.crs name, axes swapped relative to x=east/lon, y=north/lat)
SUPPORTED = {
    CRS84: ("EPSG:4326", False),
    EPSG_URI.format(4490): ("EPSG:4490", True),
    EPSG_URI.format(4550): ("EPSG:4550", True),
}
CRS_LIST = list(SUPPORTED)

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3 Filtering + CQL2: only what tests/server/test_ogc_conformance.py checks
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
]

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
ID_RE = re.compile(id_pattern(80))  # a layer id (≤ 64) + a family suffix



_cache_lock = threading.Lock()

#: query parameters each route understands; anything else is a 400 (/req/core/query-param-unknown)
PARAMS_ITEMS = frozenset({"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime"})
PARAMS_FILTER = frozenset({"filter", "filter-lang", "filter-crs", "sortby", "properties"})
PARAMS_ITEM = frozenset({"f", "crs"})
#: a queryable with one of these names is filterable by `filter` only, not as `name=value`
RESERVED = PARAMS_ITEMS | PARAMS_FILTER
#: properties that are not scalar (lists, objects) are not queryable
_ENUM_MAX = 12  # a string queryable with at most this many values lists them (enum)
GEOMETRY_FORMAT = {"points": "geometry-point-or-multipoint",
                   "lines": "geometry-linestring-or-multilinestring",
                   "polygons": "geometry-polygon-or-multipolygon"}
PARAMS_OTHER = frozenset({"f"})

# RFC 3339 date-time (or full-date, which the OGC examples also use)
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2}))?$")
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


# ------------------------------------------------------------------ helpers

def layer_features(layer_id: str) -> list[dict]:
    """GeoJSON Feature dicts of a layer (WGS 84), built once per loaded data."""
    from planmap.layers import export

    data = services().data
    _refuse_whole_store_layer(data, layer_id)
    cache = current_app.extensions.setdefault("planmap_features", {})
    key = (id(data), layer_id)
    features = cache.get(key)
    if features is None:
        features = export.geojson_features(data, layer_id)
        with _cache_lock:
            cache[key] = features
    return features


#: geometry family of each GeoJSON type: a collection holds one family only, because QGIS
#: and GDAL type a layer from its first features and drop or mistype the rest
FAMILY = {"Point": "points", "MultiPoint": "points", "LineString": "lines",
          "MultiLineString": "lines", "Polygon": "polygons", "MultiPolygon": "polygons",
          "GeometryCollection": "geometries"}
FAMILY_ORDER = ("points", "lines", "polygons", "geometries")
FAMILY_ZH = {"points": "点", "lines": "线", "polygons": "面", "geometries": "几何集合"}


@dataclass(frozen=True)
class Collection:
    """One published OGC collection: all (or one geometry family of) a layer's features."""

    id: str
    layer: str
    family: str | None  # None: the layer has one family and keeps its own id
    rows: tuple[int, ...]  # positions in the layer's GeoDataFrame, in layer order
    families: tuple[str, ...]  # the layer's families (to name siblings)


def _store_layer(layer_id: str):
    """The in-place store layer (``PlanData.store_layers``) behind ``layer_id``, or None."""
    return (getattr(services().data, "store_layers", None) or {}).get(layer_id)


def _refuse_whole_store_layer(data, layer_id: str) -> None:
    """A store layer queried in place is never sent whole (10^6 parcels): a 413."""
    source = (getattr(data, "store_layers", None) or {}).get(layer_id)
    if source is not None:
        raise LimitExceeded(
            "layer_too_large",
            f"layer {layer_id!r} has {source.count:,} features and is served in parts: use "
            f"/ogc/collections/{layer_id}/items?bbox=… (limit, offset) or its vector tiles",
            f"图层 {layer_id!r} 有 {source.count:,} 个要素，分块提供：请用 bbox 查询 "
            f"/ogc/collections/{layer_id}/items 或矢量瓦片", param="layer")


def _build_collections(data) -> dict[str, Collection]:
    out: dict[str, Collection] = {}
    taken = {e["id"] for e in data.catalog}
    in_store = getattr(data, "store_layers", None) or {}
    for entry in data.catalog:
        lid = entry["id"]
        if lid in in_store:  # polygons only (layers.loader._in_place)
            out[lid] = Collection(lid, lid, None, (), ("polygons",))
            continue
        gdf = data.layers.get(lid)
        if gdf is None:
            continue
        kinds = [FAMILY.get(t) if t is not None else None for t in gdf.geometry.geom_type]
        families = tuple(f for f in FAMILY_ORDER if f in kinds)
        if len(families) <= 1:
            out[lid] = Collection(lid, lid, None, tuple(range(len(gdf))), families)
            continue
        for position, family in enumerate(families):
            # a feature without geometry fits any family; it goes with the first
            rows = tuple(i for i, k in enumerate(kinds)
                         if k == family or (k is None and position == 0))
            cid = f"{lid}_{family}"
            if cid in taken:  # a layer already has that id: keep both reachable
                cid = f"{lid}__{family}"
            out[cid] = Collection(cid, lid, family, rows, families)
    return out


def published() -> dict[str, Collection]:
    """The OGC collections of the loaded data, in catalog order (built once per data)."""
    data = services().data
    cache = current_app.extensions.setdefault("planmap_collections", {})
    found = cache.get(id(data))
    if found is None or found[0] is not data:
        found = (data, _build_collections(data))
        with _cache_lock:
            if len(cache) > 4:  # a few: the full data and its views without restricted layers
                cache.clear()
            cache[id(data)] = found
    return found[1]


_MULTI = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}


def collection_features(c: Collection) -> list[dict]:
    """The collection's Feature dicts, aligned with ``c.rows``.

    Where a collection holds both X and MultiX, every X is published as a one-part MultiX
    (lossless): GDAL types a layer from its first page and warns at a MultiX after X.
    """
    data = services().data
    _refuse_whole_store_layer(data, c.layer)
    cache = current_app.extensions.setdefault("planmap_collection_features", {})
    key = (id(data), c.id)
    found = cache.get(key)
    if found is not None and found[0] is data:
        return found[1]
    features = layer_features(c.layer)
    out = [features[i] for i in c.rows]
    types = {f["geometry"]["type"] for f in out if f["geometry"] is not None}
    if any(_MULTI.get(t) in types for t in types):
        out = [dict(f, geometry={"type": _MULTI[f["geometry"]["type"]],
                                 "coordinates": [f["geometry"]["coordinates"]]})
               if f["geometry"] is not None and f["geometry"]["type"] in _MULTI else f
               for f in out]
    with _cache_lock:
        cache[key] = (data, out)
    return out


def queryables(c: Collection) -> dict[str, str]:
    """Queryable name -> JSON type: every property whose non-null values share one scalar
    type in this collection (data-driven; a new layer's columns just appear)."""
    from planmap.geo.cql2 import queryable_type

    cache = current_app.extensions.setdefault("planmap_queryables", {})
    data = services().data
    found = cache.get((id(data), c.id))
    if found is not None and found[0] is data:
        return found[1]
    source = _store_layer(c.layer)
    if source is not None:  # a sample page of the store layer, not the whole layer
        from planmap.layers.storequery import geojson_features

        features = geojson_features(*source.page(0, 1000))
    else:
        features = collection_features(c)
    names: list[str] = []
    for f in features:
        names += [k for k in f["properties"] if k not in names]
    out = {}
    for name in names:
        kind = queryable_type([f["properties"].get(name) for f in features])
        if kind is not None and name != "geometry":
            out[name] = kind
    with _cache_lock:
        cache[(id(data), c.id)] = (data, out)
    return out


def _collection_ids() -> list[str]:
    return list(published())


def _get(cid: str) -> Collection:
    """The collection ``cid``; 404 (naming the typed collections of a mixed layer) or 503."""
    data = services().data
    broken = getattr(data, "errors", None) or {}
    if isinstance(cid, str) and cid in broken:  # in the catalog but failed to load: say so
        raise LayerError("layer_unavailable",
                         f"collection {cid!r} is unavailable: {broken[cid]}",
                         f"要素集合 {cid!r} 不可用：{broken[cid]}", param="collectionId")
    found = published().get(cid) if isinstance(cid, str) and ID_RE.match(cid) else None
    if found is None:
        shown = str(cid)[:64]
        typed = [c.id for c in published().values() if c.layer == cid]
        if typed:
            names = ", ".join(typed)
            raise NotFound("unknown_collection",
                           f"layer {shown!r} mixes geometry types; it is published as the "
                           f"collections {names}",
                           f"图层 {shown!r} 含多种几何类型，按类型发布为要素集合 {names}",
                           param="collectionId")
        raise NotFound("unknown_collection", f"unknown collection {shown!r}",
                       f"未知要素集合 {shown!r}", param="collectionId")
    return found


def _entry(cid: str) -> dict:
    """The catalog entry of the layer behind collection ``cid`` (404/503 as :func:`_get`)."""
    layer = _get(cid).layer
    for entry in services().data.catalog:
        if entry["id"] == layer:
            return entry
    raise AssertionError("unreachable")


def _wants_html() -> bool:
    f = request.args.get("f")
    if f is not None:
        f = f.strip().lower()
        if f in ("html", "text/html"):
            return True
        if f in ("json", "geojson", "application/json", GEOJSON):
            return False
        raise InvalidInput("unknown_format", f"unknown f={f[:20]!r}; use json or html",
                           f"不支持的 f={f[:20]!r}；请使用 json 或 html", param="f")
    best = request.accept_mimetypes.best_match([GEOJSON, JSON, HTML])
    if best != HTML:
        return False
    return request.accept_mimetypes[HTML] > max(request.accept_mimetypes[JSON],
                                                request.accept_mimetypes[GEOJSON])


def _json(body, media=JSON, status=200, headers=None):
    """``body`` as JSON (a ``str`` is taken as JSON text already)."""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False,
                                                         separators=(",", ":"))
    response = Response(text, status=status, mimetype=media)
    if media == GEOJSON or media == JSON:
        response.headers["Content-Type"] = media
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _url(endpoint: str, query: dict | None = None, **path) -> str:
    """Absolute URL of ``endpoint``; ``query`` is appended verbatim, never given to url_for
    (a request argument named ``_external`` or ``cid`` must not steer URL building)."""
    href = url_for(endpoint, _external=True, **path)
    return href + ("?" + urlencode(query) if query else "")


def check_params(allowed) -> None:
    """400 naming the first query parameter not in ``allowed``."""
    for name in request.args.keys():
        if name not in allowed:
            shown = name[:64]
            known = ", ".join(sorted(allowed))
            raise InvalidInput("unknown_parameter",
                               f"unknown query parameter {shown!r}; this resource accepts: "
                               f"{known}",
                               f"未知的查询参数 {shown!r}；此资源接受：{known}", param=shown)


def _instant(text: str) -> _dt.datetime:
    match = _DATETIME_RE.match(text)
    if match is None:
        raise ValueError(text)
    if match[4] is None:  # a date stands for its whole day; its start orders the interval
        return _dt.datetime(int(match[1]), int(match[2]), int(match[3]),
                            tzinfo=_dt.timezone.utc)
    value = _dt.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    return value


def parse_datetime(raw: str | None):
    """Validate ``datetime``: an RFC 3339 instant or an interval ``a/b`` (``..`` or empty =
    open).  Returns ``(start, end)`` (None = open) or None when absent."""
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    parts = text.split("/")
    try:
        if len(parts) == 1:
            if text == "..":
                raise ValueError(text)
            value = _instant(text)
            return value, value
        if len(parts) != 2:
            raise ValueError(text)
        start, end = (None if p in ("", "..") else _instant(p) for p in parts)
    except ValueError:
        shown = raw[:60]
        raise InvalidInput("invalid_datetime",
                           f"datetime {shown!r} is not an RFC 3339 date-time or interval "
                           "(e.g. 2021-01-01T00:00:00Z or 2021-01-01T00:00:00Z/..)",
                           f"datetime {shown!r} 不是 RFC 3339 时间或时间区间"
                           "（如 2021-01-01T00:00:00Z 或 2021-01-01T00:00:00Z/..）",
                           param="datetime") from None
    if start is not None and end is not None and start > end:
        raise InvalidInput("invalid_datetime", "datetime interval starts after it ends",
                           "datetime 时间区间的起点晚于终点", param="datetime")
    return start, end


def _parse_crs(name: str, default: str = CRS84) -> str:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    if value.startswith("[") and value.endswith("]"):  # safe-CURIE form [EPSG:4490]
        value = value[1:-1]
    aliases = {"OGC:CRS84": CRS84, "CRS84": CRS84,
               "EPSG:4490": EPSG_URI.format(4490), "EPSG:4550": EPSG_URI.format(4550)}
    value = aliases.get(value.upper(), value)
    if value.replace("https://", "http://") in SUPPORTED:
        return value.replace("https://", "http://")
    shown = raw[:80]
    raise CRSError("unsupported_crs",
                   f"unsupported {name} {shown!r}; supported: {', '.join(CRS_LIST)}",
                   f"不支持的 {name} {shown!r}；支持：{', '.join(CRS_LIST)}", param=name)


def parse_bbox(raw: str, crs_uri: str) -> shapely.Geometry:
    """Parse ``bbox`` (in the axis order of ``crs_uri``) into a WGS 84 polygon."""
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise InvalidInput("invalid_bbox",
                           f"bbox needs 4 (or 6) comma-separated numbers; got {len(parts)}",
                           f"bbox 需要 4 个（或 6 个）逗号分隔的数字；收到 {len(parts)} 个",
                           param="bbox")
    values = [_parse_number(p, "bbox") for p in parts]
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    a0, b0, a1, b1 = values
    crs_name, swapped = SUPPORTED[crs_uri]
    if b0 > b1 or a0 > a1:
        # CRS84 allows minx > maxx for a box across the antimeridian; Baicheng is far from it
        raise InvalidInput("invalid_bbox",
                           "bbox minimum exceeds maximum (boxes across the antimeridian are "
                           "not supported: the service area is Baicheng)",
                           "bbox 最小值大于最大值（不支持跨越 180° 经线的范围：服务区为白城市）",
                           param="bbox")
    if swapped:
        a0, b0, a1, b1 = b0, a0, b1, a1
    x0, y0, x1, y1 = a0, b0, a1, b1
    if crs_name == "EPSG:4550":
        from planmap.geo.crs import transform_xy

        # densify the edges: a projected box is not a lon/lat box
        t = np.linspace(0.0, 1.0, 21)
        xs = np.concatenate([x0 + (x1 - x0) * t, np.full_like(t, x1), x1 - (x1 - x0) * t,
                             np.full_like(t, x0)])
        ys = np.concatenate([np.full_like(t, y0), y0 + (y1 - y0) * t, np.full_like(t, y1),
                             y1 - (y1 - y0) * t])
        if max(abs(x0), abs(x1), abs(y0), abs(y1)) > 1e8:
            raise InvalidInput("invalid_bbox", "bbox is outside the area of EPSG:4550",
                               "bbox 超出 EPSG:4550 的适用范围", param="bbox")
        lon, lat = transform_xy(xs, ys, "EPSG:4550", "EPSG:4326", param="bbox")
        return shapely.box(float(lon.min()), float(lat.min()), float(lon.max()),
                           float(lat.max()))
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise InvalidInput("invalid_bbox", "bbox is outside [-180, -90, 180, 90]",
                           "bbox 超出 [-180, -90, 180, 90] 的范围", param="bbox")
    return shapely.box(x0, y0, x1, y1)


def _to_crs(geometry: dict | None, crs_uri: str) -> dict | None:
    """A GeoJSON geometry dict in WGS 84 converted to ``crs_uri`` (in its axis order)."""
    crs_name, swapped = SUPPORTED[crs_uri]
    if geometry is None or crs_name == "EPSG:4326":
        return geometry
    from planmap.geo.crs import transform_geometry

    geom = shapely.geometry.shape(geometry)
    geom = transform_geometry(geom, "EPSG:4326", crs_name)
    if swapped:
        geom = shapely.transform(geom, lambda c: c[:, ::-1])
    digits = 2 if crs_name == "EPSG:4550" else 7
    out = json.loads(shapely.to_geojson(geom))
    return _round(out, digits)


def _round(geometry: dict, digits: int) -> dict:
    def r(c):
        if isinstance(c, (int, float)):
            return round(c, digits)
        return [r(v) for v in c]

    if "coordinates" in geometry:
        geometry["coordinates"] = r(geometry["coordinates"])
    if "geometries" in geometry:
        geometry["geometries"] = [_round(g, digits) for g in geometry["geometries"]]
    return geometry


def _content_crs(crs_uri: str) -> dict:
    return {"Content-Crs": f"<{crs_uri}>"}


def _stamp() -> str:
    from planmap.server.delivery import last_modified

    return last_modified(services().data).isoformat().replace("+00:00", "Z")


def _extent(c: Collection) -> list[float]:
    source = _store_layer(c.layer)
    if source is not None:  # from the spatial index, no feature read
        return [round(float(v), 6) for v in source.bounds]
    gdf = services().data.layers[c.layer]
    geoms = gdf.geometry.values[list(c.rows)]
    geoms = geoms[~shapely.is_missing(geoms)] if len(geoms) else geoms
    if len(geoms) == 0:
        return [-180.0, -90.0, 180.0, 90.0]
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(geoms))
    return [round(x0, 6), round(y0, 6), round(x1, 6), round(y1, 6)]


def _collection(cid: str) -> dict:
    c = _get(cid)
    entry = _entry(cid)
    title = entry.get("title_zh") or c.layer
    description = (f"{entry.get('title_en', '')} — {entry.get('description_zh', '')} "
                   f"{entry.get('description_en', '')} Attribution: "
                   f"{entry.get('attribution', '')}").strip()
    if c.family is not None:
        title = f"{title}（{FAMILY_ZH[c.family]}）"
        description = (f"The {c.family} of layer {c.layer!r} (图层 {c.layer} 的"
                       f"{FAMILY_ZH[c.family]}要素); the layer mixes geometry types, so each "
                       f"type is its own collection. {description}")
    body = {
        "id": cid,
        "title": title,
        "description": description,
        "attribution": entry.get("attribution", ""),
        "license": entry.get("licence", ""),
        "plan": entry.get("plan") or services().data.home_plan,  # issue 15: the layer's plan
        "itemType": "feature",
        "layer": c.layer,
        # points | lines | polygons (Multi* included); None for a layer without geometries
        "geometry": c.family or (c.families[0] if c.families else None),
        "extent": {"spatial": {"bbox": [_extent(c)], "crs": CRS84},
                   # no interval: the plan features carry no time (datetime does not narrow)
                   "temporal": {"trs": GREGORIAN,
                                "description": "no temporal extent: features carry no time"}},
        "crs": CRS_LIST,
        "storageCrs": CRS84,
        "links": [
            {"href": _url("ogc.collection", cid=cid), "rel": "self", "type": JSON,
             "title": "this collection"},
            {"href": _url("ogc.collection", {"f": "html"}, cid=cid), "rel": "alternate",
             "type": HTML, "title": "this collection as HTML"},
            {"href": _url("ogc.items", cid=cid), "rel": "items", "type": GEOJSON,
             "title": "features"},
            {"href": _url("ogc.items", {"f": "html"}, cid=cid), "rel": "items", "type": HTML,
             "title": "features as HTML"},
            {"href": _url("ogc.queryables_view", cid=cid),
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "type": "application/schema+json", "title": "queryables (for filter)"},
            {"href": _url("api.layer_features_view", layer_id=c.layer), "rel": "related",
             "type": GEOJSON,
             "title": f"the whole layer {c.layer!r} (all geometry types)"},
        ],
    }
    return body


def _literal(name: str, kind: str, raw: str):
    """A ``name=value`` query parameter as a value of the queryable's type."""
    try:
        if kind == "integer":
            return int(raw.strip())
        if kind == "number":
            value = float(raw.strip())
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        if kind == "boolean":
            return {"true": True, "false": False}[raw.strip().lower()]
    except (ValueError, KeyError):
        raise InvalidInput("invalid_queryable_value",
                           f"{name} is {kind}; got {raw[:40]!r}",
                           f"{name} 的类型是 {kind}；收到 {raw[:40]!r}", param=name) from None
    return raw


def _to_wgs84(crs_uri: str):
    crs_name, swapped = SUPPORTED[crs_uri]
    if crs_name == "EPSG:4326":
        return None

    def convert(geom):
        from planmap.geo.crs import transform_geometry

        if swapped:
            geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
        return transform_geometry(geom, crs_name, "EPSG:4326", param="filter-crs")
    return convert


def _filtered(c: Collection, features: list[dict], geoms, positions: list[int]) -> list[int]:
    """``positions`` narrowed by the ``name=value`` parameters and the CQL2 ``filter``."""
    from planmap.geo import cql2

    kinds = queryables(c)
    equal = {name: _literal(name, kinds[name], raw) for name, raw in request.args.items()
             if name in kinds and name not in RESERVED}
    if equal:
        positions = [k for k in positions
                     if all(features[k]["properties"].get(n) == v for n, v in equal.items())]
    raw = request.args.get("filter")
    lang = (request.args.get("filter-lang") or "cql2-text").strip().lower()
    filter_crs = _parse_crs("filter-crs")  # a bad one is a 400 even without a filter
    if raw is None or raw.strip() == "":
        if request.args.get("filter-lang"):
            cql2.parse("TRUE", lang)  # still names a bad filter-lang
        return positions
    tree = cql2.parse(raw, lang)
    predicate = cql2.Compiler(kinds, _to_wgs84(filter_crs)).compile(tree)
    return [k for k in positions if predicate(features[k]["properties"], geoms[k]) is True]


def _sorted(c: Collection, features: list[dict], positions: list[int]) -> list[int]:
    """``sortby=a,-b,+c``: stable, by queryables; missing values last."""
    raw = request.args.get("sortby")
    if raw is None or raw.strip() == "":
        return positions
    kinds = queryables(c)
    keys = []
    for part in raw.split(","):
        part = part.strip()
        name = part.lstrip("+-").strip()
        if name not in kinds:
            shown = name[:64]
            raise InvalidInput("unknown_sortby",
                               f"cannot sort by {shown!r}; sortable: {', '.join(kinds)}",
                               f"无法按 {shown!r} 排序；可排序属性：{'、'.join(kinds)}",
                               param="sortby")
        keys.append((name, part.startswith("-")))
    for name, descending in reversed(keys):
        present = [k for k in positions if features[k]["properties"].get(name) is not None]
        missing = [k for k in positions if features[k]["properties"].get(name) is None]
        present.sort(key=lambda k, n=name: features[k]["properties"][n], reverse=descending)
        positions = present + missing
    return positions


def _project(c: Collection, page: list[dict]) -> list[dict]:
    """``properties=a,b``: only those properties (the feature ``id`` stays)."""
    raw = request.args.get("properties")
    if raw is None or raw.strip() == "":
        return page
    wanted = [p.strip() for p in raw.split(",") if p.strip()]
    known = set()
    for f in collection_features(c):
        known.update(f["properties"])
    for name in wanted:
        if name not in known:
            shown = name[:64]
            raise InvalidInput("unknown_property",
                               f"no property {shown!r} in this collection",
                               f"此要素集合没有属性 {shown!r}", param="properties")
    return [dict(f, properties={k: f["properties"][k] for k in wanted
                                if k in f["properties"]}) for f in page]


# ------------------------------------------------------------------ views

@bp.get("/")
@bp.get("")
def landing():
    check_params(PARAMS_OTHER)
    body = {
        "title": "planmap — 白城市规划“一张图” OGC API – Features",
        "description": "Spatial plans of Baicheng City (白城市), Jilin Province: every feature "
                       "carries accuracy (official/derived/schematic), source and a citation "
                       "of the plan text.",
        "links": [
            {"href": _url("ogc.landing"), "rel": "self", "type": JSON, "title": "this document"},
            {"href": _url("ogc.landing", {"f": "html"}), "rel": "alternate", "type": HTML,
             "title": "this document as HTML"},
            {"href": _url("ogc.service_desc"), "rel": "service-desc",
             "type": "application/vnd.oai.openapi+json;version=3.0",
             "title": "the API definition (OpenAPI 3.0)"},
            {"href": _url("ogc.conformance"), "rel": "conformance", "type": JSON,
             "title": "conformance classes"},
            {"href": _url("ogc.collections"), "rel": "data", "type": JSON,
             "title": "feature collections"},
        ],
    }
    if _wants_html():
        return render_template("ogc/landing.html", body=body)
    return _json(body)


@bp.get("/api", strict_slashes=False)
def service_desc():
    check_params(PARAMS_OTHER)
    from planmap.server.openapi import ogc_document

    return _json(ogc_document(), media="application/vnd.oai.openapi+json;version=3.0")


@bp.get("/conformance", strict_slashes=False)
def conformance():
    check_params(PARAMS_OTHER)
    body = {"conformsTo": CONFORMANCE}
    if _wants_html():
        return render_template("ogc/conformance.html", body=body)
    return _json(body)


@bp.get("/collections", strict_slashes=False)
def collections():
    check_params(PARAMS_OTHER)
    body = {
        "links": [
            {"href": _url("ogc.collections"), "rel": "self", "type": JSON},
            {"href": _url("ogc.collections", {"f": "html"}), "rel": "alternate", "type": HTML},
        ],
        "crs": CRS_LIST,
        "collections": [_collection(cid) for cid in _collection_ids()],
    }
    if _wants_html():
        return render_template("ogc/collections.html", body=body)
    return _json(body)


@bp.get("/collections/<cid>", strict_slashes=False)
def collection(cid):
    check_params(PARAMS_OTHER)
    body = _collection(cid)
    if _wants_html():
        return render_template("ogc/collection.html", body=body)
    return _json(body)


def _page_links(cid: str, offset: int, limit: int, matched: int) -> list[dict]:
    """self/alternate/collection links of an items page, plus next/prev where they exist.

    Only parameters ``check_params`` accepted reach here; they go into the query string only.
    """
    args = {k: v for k, v in request.args.items() if k not in ("offset", "f")}
    args["limit"] = str(limit)

    def page_url(start: int, **extra) -> str:
        return _url("ogc.items", dict(args, offset=str(start), **extra), cid=cid)

    links = [
        {"href": page_url(offset), "rel": "self", "type": GEOJSON, "title": "this page"},
        {"href": page_url(offset, f="html"), "rel": "alternate", "type": HTML,
         "title": "this page as HTML"},
        {"href": _url("ogc.collection", cid=cid), "rel": "collection", "type": JSON},
    ]
    if offset + limit < matched:
        links.append({"href": page_url(offset + limit), "rel": "next", "type": GEOJSON,
                      "title": "next page"})
    if offset > 0:
        links.append({"href": page_url(max(0, offset - limit)), "rel": "prev",
                      "type": GEOJSON, "title": "previous page"})
    return links


@bp.get("/collections/<cid>/items", strict_slashes=False)
def items(cid):
    queryable = queryables(_get(cid))  # 404/503 first: the parameters depend on it
    check_params(PARAMS_ITEMS | PARAMS_FILTER | (set(queryable) - RESERVED))
    html = _wants_html()
    cfg = current_app.config
    default_limit = int(cfg.get("DEFAULT_FEATURES_PER_PAGE", 100))
    max_limit = int(cfg.get("MAX_FEATURES_PER_PAGE", 1000))
    limit = min(_parse_int("limit", default_limit, 1), max_limit)
    offset = _parse_int("offset", 0, 0)
    crs_uri = _parse_crs("crs")
    bbox_crs = _parse_crs("bbox-crs")
    parse_datetime(request.args.get("datetime"))  # no feature carries a time: nothing to narrow
    raw_bbox = request.args.get("bbox")
    c = _get(cid)
    source = _store_layer(c.layer)
    if source is not None:
        return _store_items(cid, c, source, raw_bbox, bbox_crs, crs_uri, offset, limit, html)
    features = collection_features(c)
    gdf = services().data.layers[c.layer]
    if raw_bbox is not None and raw_bbox.strip() != "":
        box = parse_bbox(raw_bbox, bbox_crs)
        hits = np.sort(gdf.sindex.query(box, predicate="intersects"))
        where = {row: k for k, row in enumerate(c.rows)}  # layer row -> collection position
        positions = [where[int(i)] for i in hits if int(i) in where]
    else:
        positions = list(range(len(features)))
    positions = _filtered(c, features, gdf.geometry.values[list(c.rows)], positions)
    positions = _sorted(c, features, positions)
    selected = [features[k] for k in positions]
    matched = len(selected)
    page = _project(c, selected[offset: offset + limit])
    if crs_uri != CRS84:
        page = [dict(f, geometry=_to_crs(f["geometry"], crs_uri)) for f in page]
    links = _page_links(cid, offset, limit, matched)
    body = {
        "type": "FeatureCollection",
        "features": page,
        "links": links,
        "numberMatched": matched,
        "numberReturned": len(page),
        # the time the served data last changed, not the clock: a repeated request gets the
        # same bytes, so its strong ETag matches and a conditional GET can be a 304
        "timeStamp": _stamp(),
    }
    if html:
        response = Response(render_template("ogc/items.html", body=body, cid=cid,
                                            title=_entry(cid).get("title_zh", cid),
                                            crs=crs_uri), mimetype=HTML)
    else:
        response = _json(body, media=GEOJSON)
    response.headers.update(_content_crs(crs_uri))
    return response


def _store_items(cid, c, source, raw_bbox, bbox_crs, crs_uri, offset, limit, html):
    """:func:`items` of a store layer: the page read from the store's spatial index.

    ``bbox``: the features meeting it (``intersects``, as for an in-memory layer), from one
    index query; without it, the page in import order (``numberMatched`` from the store's
    metadata).  Filters and sorting need a ``bbox`` (a 400 otherwise): they are applied to
    its features, not to the whole layer.
    """
    from planmap.layers.storequery import geojson_features, geojson_texts

    kinds = queryables(c)
    narrowing = (request.args.get("filter") or request.args.get("sortby")
                 or any(k in kinds and k not in RESERVED for k in request.args))
    # the common page (JSON, CRS84, every property) is written as text, Feature by Feature
    as_text = not html and crs_uri == CRS84 and not request.args.get("properties")
    features = geojson_texts if as_text else geojson_features
    if raw_bbox is not None and raw_bbox.strip() != "":
        box = parse_bbox(raw_bbox, bbox_crs)
        ords, geoms, props = source.candidates(*box.bounds)
        hit = shapely.intersects(geoms, box) if len(geoms) else np.zeros(0, bool)
        k = np.flatnonzero(hit)
        if not narrowing:  # GeoJSON for the page only
            _parse_crs("filter-crs")
            matched = len(k)
            k = k[offset: offset + limit]
            page = features(ords[k], geoms[k], [props[i] for i in k.tolist()])
        else:
            as_text = False
            found = geojson_features(ords[k], geoms[k], [props[i] for i in k.tolist()])
            positions = _filtered(c, found, geoms[k], list(range(len(found))))
            positions = _sorted(c, found, positions)
            selected = [found[i] for i in positions]
            matched = len(selected)
            page = selected[offset: offset + limit]
    elif narrowing:
        raise InvalidInput("bbox_required",
                           f"collection {cid!r} holds {source.count:,} features: filters and "
                           "sorting need a bbox", f"要素集合 {cid!r} 有 {source.count:,} 个要素："
                           "筛选和排序需要 bbox", param="bbox")
    else:
        _parse_crs("filter-crs")
        matched = source.count
        page = features(*source.page(offset, limit))
    links = _page_links(cid, offset, limit, matched)
    if as_text:
        rest = json.dumps({"links": links, "numberMatched": matched,
                           "numberReturned": len(page), "timeStamp": _stamp()},
                          ensure_ascii=False, separators=(",", ":"))
        response = _json('{"type":"FeatureCollection","features":[' + ",".join(page) + "],"
                         + rest[1:], media=GEOJSON)
        response.headers.update(_content_crs(crs_uri))
        return response
    page = _project_known(page, set(kinds) | {"id"})
    if crs_uri != CRS84:
        page = [dict(f, geometry=_to_crs(f["geometry"], crs_uri)) for f in page]
    body = {"type": "FeatureCollection", "features": page, "links": links,
            "numberMatched": matched, "numberReturned": len(page), "timeStamp": _stamp()}
    if html:
        response = Response(render_template("ogc/items.html", body=body, cid=cid,
                                            title=_entry(cid).get("title_zh", cid),
                                            crs=crs_uri), mimetype=HTML)
    else:
        response = _json(body, media=GEOJSON)
    response.headers.update(_content_crs(crs_uri))
    return response


def _project_known(page: list[dict], known: set) -> list[dict]:
    """``properties=a,b`` on a store layer's page (known: its sampled property names)."""
    raw = request.args.get("properties")
    if raw is None or raw.strip() == "":
        return page
    wanted = [p.strip() for p in raw.split(",") if p.strip()]
    for name in wanted:
        if name not in known:
            raise InvalidInput("unknown_property", f"no property {name[:64]!r} in this "
                               "collection", f"此要素集合没有属性 {name[:64]!r}",
                               param="properties")
    return [dict(f, properties={k: f["properties"][k] for k in wanted
                                if k in f["properties"]}) for f in page]


def _store_feature(source, fid: str):
    from planmap.layers.storequery import geojson_features

    o = source.find(fid) if ID_RE.match(str(fid)) else None
    if o is None:
        return None
    found = geojson_features(*source.fetch([o]))
    return found[0] if found else None


@bp.get("/collections/<cid>/items/<fid>", strict_slashes=False)
def item(cid, fid):
    check_params(PARAMS_ITEM)
    _entry(cid)
    html = _wants_html()
    crs_uri = _parse_crs("crs")
    source = _store_layer(_get(cid).layer)
    found = [_store_feature(source, fid)] if source is not None else \
        collection_features(_get(cid))
    for feature in found:
        if feature is not None and feature["id"] == fid:
            break
    else:
        shown = str(fid)[:80]
        raise NotFound("unknown_feature", f"no feature {shown!r} in collection {cid!r}",
                       f"要素集合 {cid!r} 中没有要素 {shown!r}", param="featureId")
    body = dict(feature)
    if crs_uri != CRS84:
        body["geometry"] = _to_crs(feature["geometry"], crs_uri)
    body["links"] = [
        {"href": _url("ogc.item", cid=cid, fid=fid), "rel": "self", "type": GEOJSON},
        {"href": _url("ogc.item", {"f": "html"}, cid=cid, fid=fid), "rel": "alternate",
         "type": HTML},
        {"href": _url("ogc.collection", cid=cid), "rel": "collection", "type": JSON},
    ]
    if html:
        response = Response(render_template("ogc/item.html", body=body, cid=cid, crs=crs_uri),
                            mimetype=HTML)
    else:
        response = _json(body, media=GEOJSON)
    response.headers.update(_content_crs(crs_uri))
    return response


@bp.get("/collections/<cid>/queryables", strict_slashes=False)
def queryables_view(cid):
    check_params(PARAMS_OTHER)
    c = _get(cid)
    entry = _entry(cid)
    features = collection_features(c)
    props: dict = {"geometry": {"title": "geometry", "x-ogc-role": "primary-geometry",
                                "format": GEOMETRY_FORMAT.get(c.family or (
                                    c.families[0] if c.families else ""), "geometry-any")}}
    for name, kind in queryables(c).items():
        schema = {"title": name, "type": kind}
        if kind == "string":
            distinct = sorted({f["properties"].get(name) for f in features} - {None})
            if len(distinct) <= _ENUM_MAX and all(len(v) <= 40 for v in distinct) \
                    and name not in ("id", "name_zh", "name_en"):
                schema["enum"] = distinct
        if name in RESERVED:
            schema["description"] = "use filter: the name is also a query parameter"
        props[name] = schema
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _url("ogc.queryables_view", cid=cid),
        "type": "object",
        "title": f"{entry.get('title_zh', c.layer)} ({cid})",
        "properties": props,
        "additionalProperties": False,
    }
    if _wants_html():
        return render_template("ogc/queryables.html", body=body, cid=cid)
    return _json(body, media="application/schema+json")
