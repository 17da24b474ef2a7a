"""Input readers: site files (GeoJSON, WKT, KML, zipped Shapefile, 国土 TXT) and point batches.

Every reader follows the same order so that hostile input costs little:

1. byte size against ``limits.max_bytes`` (before decoding);
2. cheap structural pre-checks (JSON nesting depth, zip member sizes and names, XML DTDs);
3. parsing into coordinate arrays, counting vertices and parts against the limits
   *before* shapely geometry is built;
4. area-of-use check of every coordinate in the source CRS (:func:`geo.crs.check_coordinates`);
5. validity (:func:`geo.validate.validate_geometry`), then the transform to WGS 84.

Every failure is a :class:`geo.errors.PlanmapError` subclass with a specific ``code`` and
``param``; nothing else escapes.

One module per format (``geojson``, ``wkt``, ``kml``, ``shapefile``, ``txt``, ``points``),
``safety`` (limits, zip checks), ``prj`` (``.prj`` matching), ``common`` (decoding, ring
builder, finishing) and ``site`` (format detection, :func:`parse_site`).  This package
re-exports the public names.
"""

from planmap.geo.io.common import FORMATS, POINT_FORMATS, ParsedSite
from planmap.geo.io.geojson import json_depth, json_shape, load_json
from planmap.geo.io.points import parse_points
from planmap.geo.io.safety import (
    MAX_PRJ_BYTES,
    MAX_WKT_DEPTH,
    MAX_XML_DEPTH,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_RATIO,
)
from planmap.geo.io.shapefile import shp_precheck
from planmap.geo.io.site import detect_format, normalise_format, parse_site

__all__ = [
    "FORMATS", "POINT_FORMATS", "ParsedSite", "parse_site", "parse_points", "detect_format",
    "normalise_format", "load_json", "json_depth", "json_shape", "shp_precheck",
    "MAX_ZIP_MEMBERS", "MAX_ZIP_RATIO", "MAX_PRJ_BYTES", "MAX_XML_DEPTH", "MAX_WKT_DEPTH",
]
