"""Downloads in GIS formats: ``/export/<layer|all>.<geojson|gpkg|shp.zip|kml|csv>``.

The files are written by :mod:`layers.export` (pyogrio/GDAL); this blueprint only
validates the name and ``crs``, caches the bytes per data version, and sends them.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

from flask import Blueprint, Response, request
from planmap.geo.errors import InvalidInput, NotFound
from planmap.server import services

bp = Blueprint("exports", __name__, url_prefix="/export")

_NAME_RE = re.compile(r"^(?P<layer>[a-z0-9_]{1,64})\.(?P<fmt>[a-z0-9.]{1,10})$")
CACHE_ENTRIES = 24  # exports are small (a few MB at most); keep the recent ones

_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


def export_bytes(layer: str, fmt: str, crs: str) -> bytes:
    """Export bytes, cached per (data, layer, format, crs)."""
    from planmap.layers import export

    data = services().data
    key = (id(data), data.data_version, layer, fmt, crs)
    with _lock:
        body = _cache.get(key)
        if body is not None:
            _cache.move_to_end(key)
            return body
    body = export.to_bytes(data, fmt, layer=layer, crs=crs)
    with _lock:
        _cache[key] = body
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return body


@bp.get("/<path:name>")
def download(name):
    from planmap.layers import export

    match = _NAME_RE.match(name)
    if not match:
        shown = name[:80]
        raise NotFound("unknown_export",
                       f"unknown export {shown!r}; use /export/<layer|all>.<format> with format "
                       f"one of {', '.join(export.FORMATS)}",
                       f"未知的导出 {shown!r}；请使用 /export/<图层|all>.<格式>", param="name")
    fmt = export.parse_format(match["fmt"]) if match["fmt"] in export.FORMATS else None
    if fmt is None:
        raise InvalidInput("unknown_format",
                           f"unknown export format {match['fmt']!r}; supported: "
                           f"{', '.join(export.FORMATS)}",
                           f"不支持的导出格式 {match['fmt']!r}；支持：{'、'.join(export.FORMATS)}",
                           param="format")
    layer = match["layer"]
    crs = export.parse_export_crs(request.args.get("crs"))
    export.layer_ids(services().data, layer)  # 404 for an unknown layer before any work
    body = export_bytes(layer, fmt, crs)
    response = Response(body, mimetype=export.media_type(fmt).split(";")[0])
    if fmt == "csv":
        response.headers["Content-Type"] = export.media_type(fmt)
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{export.filename(fmt, layer, crs)}"'
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
