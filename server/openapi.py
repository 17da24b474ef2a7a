"""The OpenAPI 3.0.3 documents: ``/api/v1/openapi.json`` and the OGC service description.

Both are built here from plain dicts, self-contained (every ``$ref`` points into
``#/components``; nothing remote), so they load on an offline machine.  Parameter
schemas carry the same constraints the views enforce, so generated clients and
fuzzers (schemathesis) see what is valid.
"""

from __future__ import annotations

import copy
from functools import lru_cache

from planmap.geo import vocab
from planmap.server.system import VERSION

LAYER_ID = {"type": "string", "pattern": vocab.id_pattern(vocab.LAYER_ID_MAX), "example": "admin"}
FEATURE_ID = {"type": "string", "pattern": vocab.id_pattern(vocab.FEATURE_ID_MAX),
              "example": "admin_220802"}
CHECK_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$", "example": "q3Zt0bS1xYk2"}
CRS_PARAM = {
    "type": "string",
    "enum": list(vocab.CRS_PARAM_VALUES),
    "default": "EPSG:4326",
    "description": "CRS of the input coordinates. EPSG:4326/4490/CRS84/gcj02: lon, lat in "
                   "degrees; EPSG:4550: CGCS2000 3° Gauss-Krüger CM 123°E easting, northing "
                   "(metres); EPSG:4529: the same with the zone prefix 41 on the easting.",
}
EXPORT_CRS = {"type": "string", "enum": list(vocab.EXPORT_CRS),
              "default": "EPSG:4326"}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "param", "message_en", "message_zh"],
            "properties": {
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "code": {"type": "string", "description": "machine-readable error code"},
                "param": {"type": "string", "nullable": True,
                          "description": "the offending parameter, field or file"},
                "message_en": {"type": "string"},
                "message_zh": {"type": "string"},
            },
        }
    },
}

CITATION = {
    "type": "object",
    "required": ["seed", "line", "quote"],
    "properties": {"seed": {"type": "string"}, "line": {"type": "integer"},
                   "quote": {"type": "string", "description": "verbatim plan text"}},
}

GEOMETRY = {
    "type": "object",
    "nullable": True,
    "required": ["type"],
    "properties": {"type": {"type": "string", "enum": [
        "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
        "GeometryCollection"]}},
    "description": "GeoJSON geometry (RFC 7946)",
}

FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string"},
        "geometry": {"$ref": "#/components/schemas/Geometry"},
        "properties": {"type": "object", "nullable": True, "properties": {
            "id": {"type": "string"}, "name_zh": {"type": "string"},
            "name_en": {"type": "string", "nullable": True}, "layer": {"type": "string"},
            "accuracy": {"type": "string", "enum": list(vocab.ACCURACY)},
            "source": {"type": "string"},
            "citation": {"$ref": "#/components/schemas/Citation"},
            "county": {"type": "array", "items": {"type": "string"}},
        }},
        "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
    },
}

FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
        "layer": {"type": "string"},
        "data_version": {"type": "string"},
        "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
        "timeStamp": {"type": "string", "format": "date-time"},
    },
}

LINK = {
    "type": "object",
    "required": ["href", "rel"],
    "properties": {"href": {"type": "string"}, "rel": {"type": "string"},
                   "type": {"type": "string"}, "title": {"type": "string"}},
}

LAYER = {
    "type": "object",
    "required": ["id", "title_zh", "title_en", "feature_count", "accuracy_counts", "available"],
    "properties": {
        "id": {"type": "string"}, "title_zh": {"type": "string"}, "title_en": {"type": "string"},
        "group": {"type": "string"}, "order": {"type": "integer"},
        "default_on": {"type": "boolean"},
        "geometry_types": {"type": "array", "items": {"type": "string"}},
        "source": {"type": "string"}, "licence": {"type": "string"},
        "attribution": {"type": "string"},
        "available": {"type": "boolean"},
        "problem": {"type": "string", "nullable": True},
        "feature_count": {"type": "integer", "minimum": 0},
        "accuracy_counts": {
            "type": "object",
            "required": ["official", "derived", "schematic"],
            "properties": {k: {"type": "integer", "minimum": 0}
                           for k in ("official", "derived", "schematic")},
        },
        "url": {"type": "string"},
    },
}

ZONE = {
    "type": "object",
    "required": ["id", "layer"],
    "properties": {
        "id": {"type": "string"}, "layer": {"type": "string"}, "name_zh": {"type": "string"},
        "name_en": {"type": "string", "nullable": True},
        "accuracy": {"type": "string", "enum": list(vocab.ACCURACY)},
        "kind": {"type": "string", "nullable": True},
        "distance_m": {"type": "number", "minimum": 0},
    },
}

POINT_RESULT = {
    "type": "object",
    "required": ["query", "in_service_area", "zones", "nearest"],
    "properties": {
        "query": {"type": "object", "required": ["lon", "lat", "crs"], "properties": {
            "lon": {"type": "number"}, "lat": {"type": "number"}, "crs": {"type": "string"},
            "lon_wgs84": {"type": "number"}, "lat_wgs84": {"type": "number"},
            "radius_m": {"type": "number"}}},
        "in_service_area": {"type": "boolean"},
        "zones": {"type": "array", "items": {"$ref": "#/components/schemas/Zone"}},
        "nearest": {"type": "array", "items": {"$ref": "#/components/schemas/Zone"}},
    },
}

BATCH_RESULT = {
    "type": "object",
    "required": ["count", "pairs"],
    "properties": {
        "count": {"type": "integer", "minimum": 0, "description": "number of input points"},
        "matched_points": {"type": "integer", "minimum": 0},
        "pair_count": {"type": "integer", "minimum": 0},
        "pairs": {"type": "array", "items": {
            "type": "object", "required": ["point_id", "zone_id", "layer"],
            "properties": {"point_id": {"type": "string"}, "zone_id": {"type": "string"},
                           "layer": {"type": "string"}}}},
    },
}

SITE_REQUEST = {
    "type": "object",
    "description": "A site as GeoJSON (`geometry`, or `site`) or WKT (`wkt`). "
                   "A bare GeoJSON Geometry/Feature/FeatureCollection is accepted too.",
    "properties": {
        "geometry": {"type": "object", "description": "GeoJSON Geometry, Feature or "
                     "FeatureCollection"},
        "site": {"type": "object", "description": "alias of geometry"},
        "wkt": {"type": "string", "maxLength": 20_000_000},
        "crs": CRS_PARAM,
        "repair": {"type": "boolean", "default": False, "nullable": True,
                   "description": "repair invalid geometry (and report what changed)"},
        "rings": {"type": "array", "maxItems": 10, "nullable": True,
                  "items": {"type": "number", "exclusiveMinimum": True, "minimum": 0,
                            "maximum": 100000},
                  "description": "buffer ring distances in metres"},
    },
    "example": {"geometry": {"type": "Polygon", "coordinates": [[
        [122.83, 45.61], [122.85, 45.61], [122.85, 45.63], [122.83, 45.63], [122.83, 45.61]]]},
        "crs": "EPSG:4326"},
}

SITE_RESULT = {
    "type": "object",
    "required": ["id", "report_url", "site", "zones", "nearest", "rings", "clauses", "verdict"],
    "properties": {
        "id": {"type": "string"}, "report_url": {"type": "string"}, "url": {"type": "string"},
        "delete_token": {"type": "string", "description": "secret for DELETE (only in the 201)"},
        "created": {"type": "number"},
        "site": {"type": "object", "required": ["kind"], "properties": {
            "kind": {"type": "string"}, "geometry_type": {"type": "string"},
            "area_m2": {"type": "number", "nullable": True},
            "area_ha": {"type": "number", "nullable": True},
            "area_mu": {"type": "number", "nullable": True},
            "length_m": {"type": "number", "nullable": True}}},
        "in_service_area": {"type": "boolean"},
        "zones": {"type": "array", "items": {"type": "object", "required": ["id", "layer"],
                                             "properties": {
            "id": {"type": "string"}, "layer": {"type": "string"},
            "accuracy": {"type": "string", "enum": list(vocab.ACCURACY)},
            "overlap_m2": {"type": "number", "nullable": True},
            "pct_of_site": {"type": "number", "nullable": True}}}},
        "nearest": {"type": "array", "items": {"type": "object", "required": ["id", "layer"],
                                               "properties": {
            "id": {"type": "string"}, "layer": {"type": "string"},
            "distance_m": {"type": "number", "minimum": 0}}}},
        "rings": {"type": "array", "items": {"type": "object", "required": ["distance_m"],
                                             "properties": {
            "distance_m": {"type": "number"},
            "zones": {"type": "array", "items": {"type": "string"}},
            "features": {"type": "array", "items": {"type": "object"}}}}},
        "clauses": {"type": "array", "items": {"type": "object",
                                               "required": ["id", "effect", "citation"],
                                               "properties": {
            "id": {"type": "string"}, "effect": {"type": "string"},
            "scope": {"type": "string", "enum": list(vocab.SCOPES)},
            "activity_zh": {"type": "string", "nullable": True},
            "activity_en": {"type": "string", "nullable": True},
            "text_zh": {"type": "string"},
            "citation": {"$ref": "#/components/schemas/Citation"}}}},
        "verdict": {"type": "string", "description": "strongest effect of the zone-scoped "
                    "clauses (activity, city-wide and programme clauses never set it)"},
        "verdict_zh": {"type": "string"},
        "verdict_basis": {"type": "array", "items": {"type": "string"}},
        "activity_verdicts": {"type": "array", "items": {"type": "object", "properties": {
            "activity_zh": {"type": "string"}, "activity_en": {"type": "string"},
            "effect": {"type": "string"},
            "clauses": {"type": "array", "items": {"type": "string"}}}}},
        "official_layers_note": {"nullable": True, "description": "须核对官方三区三线: the "
                                 "official layers (eco_redline, basic_farmland, "
                                 "urban_growth_boundary, basic_grassland) the binding clauses "
                                 "need but are not loaded ({zh, en, layers, clauses})"},
        "accuracy_note": {"nullable": True, "description": "why schematic/derived zones limit "
                          "what the verdict can say (text, or {zh, en, zones})"},
        "repairs": {"type": "array", "items": {"type": "string"}},
        "warnings": {"type": "array", "items": {"type": "string"},
                     "description": "oddities in the input that were accepted (content "
                     "ignored, NUL padding, 界址点 numbers out of sequence)"},
        "input": {"type": "object", "properties": {
            "format": {"type": "string"}, "crs": {"type": "string"},
            "parcels": {"type": "array", "items": {"type": "string"}}}},
        "site_geometry": {"type": "object", "nullable": True},
    },
}

CLAUSE = {
    "type": "object",
    "required": ["id", "effect", "text_zh", "citation", "applies_to"],
    "properties": {
        "id": {"type": "string"},
        "effect": {"type": "string", "enum": list(vocab.EFFECTS)},
        "scope": {"type": "string", "enum": list(vocab.SCOPES)},
        "activity_zh": {"type": "string"}, "activity_en": {"type": "string"},
        "text_zh": {"type": "string"}, "summary_en": {"type": "string"},
        "citation": {"$ref": "#/components/schemas/Citation"},
        "applies_to": {"type": "array", "items": {"type": "string"}},
        "plan": {"type": "object", "nullable": True},
    },
}


# Tiers of an answer (issue 16, geo/tiers.py), shared by the point query and the site check.
_TIER_CLAUSE = {"type": "object", "required": ["id", "effect", "scope", "citation"],
                "properties": {"id": {"type": "string"}, "effect": {"type": "string"},
                               "scope": {"type": "string"}, "text_zh": {"type": "string"},
                               "summary_en": {"type": "string", "nullable": True},
                               "citation": {"$ref": "#/components/schemas/Citation"},
                               "plan": {"type": "object"}}}
_TIER_ENTRY = {"type": "object", "required": ["id", "layer", "clauses"], "properties": {
    "id": {"type": "string"}, "layer": {"type": "string"}, "name_zh": {"type": "string"},
    "name_en": {"type": "string", "nullable": True},
    "accuracy": {"type": "string", "nullable": True},
    "kind": {"type": "string", "nullable": True},
    "citation": {"nullable": True, "description": "where the plan places or names the feature"},
    "effect": {"type": "string", "description": "binding zones: strongest zone-clause effect"},
    "precedence": {"type": "string", "nullable": True,
                   "description": "binding zones: the plan precedence class (geo/precedence.py)"},
    "units": {"type": "array", "items": {"type": "string"},
              "description": "area-wide programmes: the admin units the extent repeats"},
    "clauses": {"type": "array", "items": _TIER_CLAUSE}}}
TIERS = {
    "type": "object",
    "required": ["binding", "designations", "area_wide", "area_wide_title", "counties"],
    "description": "binding zones (zone-scoped clauses; ranked strictest first, they alone "
                   "set the verdict), plan designations (placed, no zone clause) and "
                   "area-wide programmes (extents covering >= 90 % of a county or the city, "
                   "and the admin units), shown once under area_wide_title",
    "properties": {
        "binding": {"type": "array", "items": _TIER_ENTRY},
        "designations": {"type": "array", "items": _TIER_ENTRY},
        "area_wide": {"type": "array", "items": _TIER_ENTRY},
        "area_wide_title": {"type": "object", "properties": {"zh": {"type": "string"},
                                                             "en": {"type": "string"}}},
        "counties": {"type": "array", "items": {"type": "object"}},
    },
}
_TIER_PROPERTIES = {
    "tiers": {"$ref": "#/components/schemas/Tiers"},
    "deciding_clause": {"type": "object", "nullable": True,
                        "description": "the clause that set the verdict, with its quote and "
                                       "the zone (and its accuracy) it governs"},
    "conflicts": {"type": "array", "description": "a restrictive binding zone against an "
                  "encouraged feature, with the plan rules that make the zone prevail",
                  "items": {"type": "object", "required": ["prevailing", "yielding", "rules"],
                            "properties": {"prevailing": {"type": "object"},
                                           "yielding": {"type": "object", "description":
                                                        "its tier: binding, designation or "
                                                        "area_wide"},
                                           "rules": {"type": "array", "items": {
                                               "type": "object"}},
                                           "zh": {"type": "string"},
                                           "en": {"type": "string"}}}},
}
POINT_RESULT["properties"].update(_TIER_PROPERTIES)
POINT_RESULT["properties"]["verdict"] = {
    "type": "string", "description": "strongest zone-clause effect of the binding zones"}
SITE_RESULT["properties"].update(_TIER_PROPERTIES)
BATCH_RESULT["properties"]["pairs"]["items"]["properties"]["tier"] = {
    "type": "string", "enum": ["binding", "designation", "area_wide"]}


def _error_responses(*statuses: int) -> dict:
    text = {400: "invalid input", 404: "not found", 405: "method not allowed",
            413: "input larger than a limit", 415: "unsupported media type",
            503: "the layer failed to load, or the check store cannot be written (the "
                 "problem is named)",
            403: "missing or wrong delete token",
            429: "server busy or client rate-limited (see Retry-After)"}
    return {str(s): {"description": text.get(s, "error"),
                     "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/Error"}}}}
            for s in statuses}


def _json_response(ref: str, description: str, media: str = "application/json") -> dict:
    return {"description": description,
            "content": {media: {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _components() -> dict:
    return {"schemas": {
        "Error": ERROR, "Citation": CITATION, "Geometry": GEOMETRY, "Feature": FEATURE,
        "FeatureCollection": FEATURE_COLLECTION, "Link": LINK, "Layer": LAYER, "Zone": ZONE,
        "PointResult": POINT_RESULT, "BatchResult": BATCH_RESULT,
        "SiteCheckRequest": SITE_REQUEST, "SiteCheckResult": SITE_RESULT, "Clause": CLAUSE,
        "Tiers": TIERS,
    }}


def _info(title: str) -> dict:
    return {
        "title": title,
        "version": VERSION,
        "description": "planmap: spatial plans of Baicheng City (白城市), Jilin Province. "
                       "Every feature carries accuracy (official/derived/schematic), source and "
                       "a citation (seed, line, verbatim quote). Every error has the shape "
                       "`{\"error\": {status, code, param, message_en, message_zh}}`.",
        "license": {"name": "MIT (code); data licences per layer, see /api/v1/layers"},
    }


PLAN = {
    "type": "object", "required": ["id", "seed", "name_zh", "level", "layers", "extent"],
    "properties": {
        "id": {"type": "string", "example": "002"}, "seed": {"type": "string"},
        "name_zh": {"type": "string"}, "name_en": {"type": "string"},
        "level": {"type": "string",
                  "enum": ["province", "prefecture", "county-level city", "metropolitan area"]},
        "title_zh": {"type": "string"}, "title_en": {"type": "string"},
        "home": {"type": "boolean"}, "defers_to": {"type": "array", "items": {"type": "string"}},
        "layers": {"type": "array", "items": {"type": "string"}},
        "extent": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "area_feature": {"type": "string"}, "layers_url": {"type": "string"}},
}


def _plan_paths(paths: dict) -> dict:
    """Issue 15: ``/api/v1/plans`` and the ``plan`` filter of ``/api/v1/layers``."""
    layers = copy.deepcopy(paths["/api/v1/layers"])
    layers["get"].setdefault("parameters", []).append(
        {"name": "plan", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "only the layers of this plan (an id of /api/v1/plans)"})
    return {
        "/api/v1/layers": layers,
        "/api/v1/plans": {"get": {
            "operationId": "listPlans", "summary": "The plans on the map (plan switcher)",
            "tags": ["layers"],
            "responses": {"200": {"description": "plans", "content": {"application/json": {
                "schema": {"type": "object", "required": ["plans", "count"], "properties": {
                    "count": {"type": "integer"},
                    "plans": {"type": "array", "items": PLAN}}}}}}}}},
    }


def _search_paths() -> dict:
    """``GET /api/v1/search`` (issue 18, server/search.py)."""
    coordinate = {"type": "object", "nullable": True,
                  "required": ["lon", "lat", "crs", "x", "y"], "properties": {
                      "lon": {"type": "number"}, "lat": {"type": "number"},
                      "crs": {"type": "string", "enum": ["EPSG:4326", "EPSG:4550", "EPSG:4529"]},
                      "x": {"type": "number"}, "y": {"type": "number"}}}
    result = {"type": "object", "required": ["id", "layer", "name_zh", "match"], "properties": {
        "id": {"type": "string"}, "layer": {"type": "string"},
        "plan": {"type": "string", "nullable": True},
        "name_zh": {"type": "string"}, "name_en": {"type": "string"}, "kind": {"type": "string"},
        "accuracy": {"type": "string"},
        "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "center": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "match": {"type": "string", "enum": ["name", "synonym", "english", "pinyin"]}}}
    return {"/api/v1/search": {"get": {
        "operationId": "searchPlaces",
        "summary": "Search feature names (synonyms, English, pinyin) and read coordinates",
        "tags": ["layers"],
        "parameters": [
            {"name": "q", "in": "query", "required": False,
             "schema": {"type": "string", "maxLength": 100},
             "description": "name, pinyin, or a coordinate pair (WGS 84 degrees or GK metres)"},
            {"name": "plan", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "only this plan's layers (a plan id from /api/v1/plans)"},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}}],
        "responses": {"200": {"description": "matches", "content": {"application/json": {
            "schema": {"type": "object",
                       "required": ["query", "limit", "total", "count", "capped", "results"],
                       "properties": {
                           "query": {"type": "string"}, "limit": {"type": "integer"},
                           "total": {"type": "integer", "minimum": 0},
                           "count": {"type": "integer", "minimum": 0},
                           "capped": {"type": "boolean"}, "coordinate": coordinate,
                           "results": {"type": "array", "items": result}}}}}},
            **_error_responses(400)}}}}


def _rate_limited(paths: dict) -> dict:
    """Document 429 on every operation: the per-client rate limits (``RATE_LIMIT_CHEAP``,
    ``RATE_LIMIT_EXPENSIVE``) and the expensive-request slots answer it on any route."""
    for item in paths.values():
        for op in item.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"].setdefault("429", _error_responses(429)["429"])
    return paths


@lru_cache(maxsize=1)
def _api_document() -> dict:
    points_csv_example = "id,lon,lat\np1,122.84,45.62\np2,123.1,45.3\n"
    paths = {
        "/api/v1/layers": {"get": {
            "operationId": "listLayers", "summary": "The layer catalog with feature counts",
            "tags": ["layers"],
            "responses": {"200": {"description": "catalog", "content": {"application/json": {
                "schema": {"type": "object", "required": ["layers", "count"], "properties": {
                    "data_version": {"type": "string"}, "count": {"type": "integer"},
                    "layers": {"type": "array",
                               "items": {"$ref": "#/components/schemas/Layer"}}}}}}},
                **_error_responses(400)}}},
        "/api/v1/layers/{layer_id}": {"get": {
            "operationId": "getLayer", "summary": "One layer as a GeoJSON FeatureCollection",
            "tags": ["layers"],
            "parameters": [{"name": "layer_id", "in": "path", "required": True,
                            "schema": LAYER_ID}],
            "responses": {"200": _json_response("FeatureCollection", "features (WGS 84)",
                                                "application/geo+json"),
                          **_error_responses(400, 404, 503)}}},
        "/api/v1/zones": {
            "get": {
                "operationId": "zonesAtPoint",
                "summary": "Zones covering a point, and the nearest zones per layer",
                "tags": ["zones"],
                "parameters": [
                    {"name": "lon", "in": "query", "required": True,
                     "schema": {"type": "number", "example": 122.84},
                     "description": "longitude (or easting for projected crs)"},
                    {"name": "lat", "in": "query", "required": True,
                     "schema": {"type": "number", "example": 45.62},
                     "description": "latitude (or northing for projected crs)"},
                    {"name": "crs", "in": "query", "required": False, "schema": CRS_PARAM},
                    {"name": "radius", "in": "query", "required": False,
                     "schema": {"type": "number", "minimum": 0, "maximum": 100000,
                                "default": 5000},
                     "description": "search radius of `nearest`, metres"},
                ],
                "responses": {"200": _json_response("PointResult", "zones at the point"),
                              **_error_responses(400)}},
            "post": {
                "operationId": "zonesBatch",
                "summary": "Batch point-in-zone: CSV id,lon,lat or GeoJSON points",
                "tags": ["zones"],
                "parameters": [
                    {"name": "crs", "in": "query", "required": False, "schema": CRS_PARAM},
                    {"name": "format", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}},
                ],
                "requestBody": {"required": True, "content": {
                    "text/csv": {"schema": {"type": "string"}, "example": points_csv_example},
                    "application/json": {"schema": {"type": "object", "description":
                                                    "GeoJSON FeatureCollection of Points "
                                                    "(feature id = point id) or MultiPoint"}},
                    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                       "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "crs": CRS_PARAM}}},
                }},
                "responses": {"200": {"description": "(point, zone) pairs", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/BatchResult"}},
                    "text/csv": {"schema": {"type": "string"}}}},
                    **_error_responses(400, 413, 429)}},
        },
        "/api/v1/sitecheck": {"post": {
            "operationId": "siteCheck",
            "summary": "Site check of a proposed site; the result is stored",
            "tags": ["sitecheck"],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SiteCheckRequest"}},
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                   "properties": {
                    "file": {"type": "string", "format": "binary",
                             "description": "GeoJSON, WKT, KML, zipped Shapefile or 国土 TXT"},
                    "crs": CRS_PARAM,
                    "format": {"type": "string",
                               "enum": ["geojson", "wkt", "kml", "shapefile", "txt"]},
                    "repair": {"type": "boolean"}}}},
            }},
            "responses": {"201": _json_response("SiteCheckResult", "the stored site check"),
                          **_error_responses(400, 413, 429, 503)}}},
        "/api/v1/sitecheck/{check_id}": {"get": {
            "operationId": "getSiteCheck", "summary": "A stored site check", "tags": ["sitecheck"],
            "parameters": [{"name": "check_id", "in": "path", "required": True,
                            "schema": CHECK_ID}],
            "responses": {"200": _json_response("SiteCheckResult", "the stored site check"),
                          **_error_responses(400, 404, 503)}},
            "delete": {
                "operationId": "deleteSiteCheck",
                "summary": "Delete a stored site check (needs its delete_token)",
                "tags": ["sitecheck"],
                "parameters": [{"name": "check_id", "in": "path", "required": True,
                                "schema": CHECK_ID},
                               {"name": "X-Delete-Token", "in": "header", "required": False,
                                "schema": {"type": "string", "maxLength": 200},
                                "description": "the delete_token answered at creation"}],
                "responses": {"204": {"description": "deleted"},
                              **_error_responses(403, 404, 503)}}},
        "/api/v1/clauses": {"get": {
            "operationId": "listClauses", "summary": "Policy clauses with citations",
            "tags": ["clauses"],
            "parameters": [{"name": "feature", "in": "query", "required": False,
                            "schema": FEATURE_ID,
                            "description": "only clauses that apply to this feature id"}],
            "responses": {"200": {"description": "clauses", "content": {"application/json": {
                "schema": {"type": "object", "required": ["count", "clauses"], "properties": {
                    "count": {"type": "integer", "minimum": 0},
                    "clauses": {"type": "array",
                                "items": {"$ref": "#/components/schemas/Clause"}}}}}}},
                **_error_responses(400)}}},
        "/api/v1/conflicts": {"get": {
            "operationId": "listConflicts",
            "summary": "Plan conflicts: protected features overlapping or near development "
                       "features, each quoting both plans",
            "tags": ["clauses"],
            "parameters": [{"name": "distance", "in": "query", "required": False,
                            "allowEmptyValue": True,
                            "schema": {"type": "number", "minimum": 0, "maximum": 50000,
                                       "default": 1000},
                            "description": "nearness distance in metres (0: overlaps only)"}],
            "responses": {"200": {"description": "conflicts", "content": {"application/json": {
                "schema": {"type": "object", "required": ["distance_m", "count", "conflicts"],
                           "properties": {
                    "distance_m": {"type": "number"}, "count": {"type": "integer"},
                    "data_version": {"type": "string", "nullable": True},
                    "conflicts": {"type": "array", "items": {
                        "type": "object", "required": ["id", "relation", "protected"],
                        "properties": {"id": {"type": "string"},
                                       "relation": {"type": "string"},
                                       "distance_m": {"type": "number"},
                                       "protected": {"type": "object"}}}}}}}}},
                **_error_responses(400, 413, 429)}}},
        "/api/v1/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document", "tags": ["meta"],
            "responses": {"200": {"description": "OpenAPI 3.0.3", "content": {
                "application/json": {"schema": {"type": "object"}}}}}}},
        "/export/{filename}": {"get": {
            "operationId": "export", "summary": "Download a layer (or all) in a GIS format",
            "tags": ["exports"],
            "description": "`filename` is `<layer|all>.<geojson|gpkg|shp.zip|kml|csv>`. "
                           "KML is WGS 84 only.",
            "parameters": [
                {"name": "filename", "in": "path", "required": True,
                 "schema": {"type": "string",
                            "pattern": r"^[a-z0-9_]{1,64}\.(geojson|gpkg|shp\.zip|kml|csv)$",
                            "example": "all.gpkg"}},
                {"name": "crs", "in": "query", "required": False, "schema": EXPORT_CRS},
            ],
            "responses": {"200": {"description": "the file", "content": {
                "application/geo+json": {"schema": {"type": "string", "format": "binary"}},
                "application/geopackage+sqlite3": {"schema": {"type": "string",
                                                              "format": "binary"}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                "application/vnd.google-earth.kml+xml": {"schema": {"type": "string",
                                                                    "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}}}},
                **_error_responses(400, 404, 503)}}},
        "/-/health": {"get": {
            "operationId": "health", "summary": "Service and layer status", "tags": ["meta"],
            "responses": {"200": {"description": "status", "content": {"application/json": {
                "schema": {"type": "object", "required": ["status"], "properties": {
                    "status": {"type": "string", "enum": ["ok", "degraded"]},
                    "data_version": {"type": "string"},
                    "layers": {"type": "object"}}}}}}}}},
    }
    paths.update(_plan_paths(paths))
    _case_file_paths(paths)
    paths.update(_search_paths())
    _rate_limited(paths)
    return {
        "openapi": "3.0.3",
        "info": _info("planmap API"),
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in ("layers", "zones", "sitecheck", "clauses", "exports",
                                       "meta")],
        "paths": paths,
        "components": _components(),
    }


# -- the report as a case file (issue 18, server/casefile.py): one block ------------------
_CASE_TEXT = {"type": "string", "maxLength": 200, "nullable": True}
CASE_FIELDS = {
    "project_name": {**_CASE_TEXT, "description": "project name shown on the report "
                     "(at most PROJECT_TEXT_MAX_CHARS characters; 400 `text_too_long`)"},
    "applicant": {**_CASE_TEXT, "description": "applicant shown on the report (same bound)"},
    "project_type": {"type": "string", "nullable": True,
                     "enum": ["wind_solar", "industry", "tourism", "livestock", "major_project",
                              None],
                     "description": "project type (GET /api/v1/project-types): its activity "
                     "clauses' verdict is answered as `project.type`"},
}
SITE_REQUEST["properties"].update(CASE_FIELDS)
_HINT = {"type": "object", "properties": {
    "code": {"type": "string", "enum": ["looks_gcj02", "crs_assumed", "outside_baicheng"]},
    "message_en": {"type": "string"}, "message_zh": {"type": "string"},
    "suggest_crs": {"type": "string", "nullable": True}}}
SITE_RESULT["properties"]["input"]["properties"].update({
    "crs_label": {"type": "string"},
    "crs_source": {"type": "string", "enum": ["parameter", "file", "default"],
                   "description": "where `crs` came from: the request, the file, or assumed"},
    "crs_hints": {"type": "array", "items": _HINT,
                  "description": "why the CRS may be wrong (AMap/GCJ-02 file read as WGS 84, "
                  "CRS assumed, site outside Baicheng with the geo.crs hint)"}})
SITE_RESULT["properties"].update({
    "project": {"type": "object", "nullable": True, "properties": {
        "name": {"type": "string", "nullable": True},
        "applicant": {"type": "string", "nullable": True},
        "type": {"type": "object", "nullable": True, "properties": {
            "id": {"type": "string"}, "name_zh": {"type": "string"},
            "name_en": {"type": "string"}, "effect": {"type": "string"},
            "activities": {"type": "array", "items": {"type": "object"}},
            "clauses": {"type": "array", "items": {"type": "string"}}}}}},
    "parcels": {"type": "object", "nullable": True, "description": "one row per parcel "
                "(areas in m², 公顷, 亩), numbered 界址点 `[no, x_in, y_in, x_gk, y_gk]` per "
                "ring in the input CRS and EPSG:4550, totals and 四至 (`extent`)",
                "properties": {"parcels": {"type": "array", "items": {"type": "object"}},
                               "totals": {"type": "object"}, "extent": {"type": "object",
                                                                         "nullable": True},
                               "points_listed": {"type": "integer"},
                               "points_total": {"type": "integer"},
                               "crs_in": {"type": "string"}, "crs_gk": {"type": "string"}}},
})


def _case_file_paths(paths: dict) -> None:
    form = paths["/api/v1/sitecheck"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form["schema"]["properties"].update(CASE_FIELDS)
    paths["/api/v1/project-types"] = {"get": {
        "operationId": "listProjectTypes", "tags": ["sitecheck"],
        "summary": "Project types of the site check (风电/光伏, 工业, 旅游 …) and their "
                   "activity clauses",
        "responses": {"200": {"description": "project types", "content": {"application/json": {
            "schema": {"type": "object", "required": ["count", "project_types"], "properties": {
                "count": {"type": "integer", "minimum": 0},
                "project_types": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "string"}, "name_zh": {"type": "string"},
                    "name_en": {"type": "string"},
                    "activities": {"type": "array", "items": {"type": "string"}},
                    "clauses": {"type": "array", "items": {"type": "string"}}}}}}}}}},
            **_error_responses(400)}}}


def api_document() -> dict:
    """Return the OpenAPI document of ``/api/v1`` (plus ``/export`` and ``/-/health``)."""
    return copy.deepcopy(_api_document())


OGC_F = {"name": "f", "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["json", "html"]},
         "description": "response format (default: by Accept header, JSON otherwise)"}
OGC_CRS_ENUM = ["http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                "http://www.opengis.net/def/crs/EPSG/0/4490",
                "http://www.opengis.net/def/crs/EPSG/0/4550"]


_INSTANT = r"\d{4}-\d{2}-\d{2}(?:[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2}))?"
OGC_DATETIME = {
    "name": "datetime", "in": "query", "required": False, "style": "form", "explode": False,
    "schema": {"type": "string",
               "pattern": rf"^(?:{_INSTANT}|\.\.)?(?:/(?:{_INSTANT}|\.\.)?)?$"},
    "description": "An RFC 3339 date-time (2021-01-01T00:00:00Z) or interval "
                   "(start/end, `..` or empty for an open end). Validated (400 otherwise); "
                   "no feature carries a time, so it does not narrow the result.",
}


OGC_FILTER_PARAMS = [
    {"name": "filter", "in": "query", "required": False,
     "schema": {"type": "string", "maxLength": 20000},
     "description": "CQL2 filter (OGC API – Features Part 3), e.g. `kind='public_park' AND "
                    "S_INTERSECTS(geometry, POLYGON((...)))`; names are the collection's "
                    "queryables (`/queryables`). A syntax error is 400 `invalid_filter` naming "
                    "the line and column. Besides this, every queryable is an equality "
                    "parameter: `?kind=public_park`."},
    {"name": "filter-lang", "in": "query", "required": False,
     "schema": {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}},
    {"name": "filter-crs", "in": "query", "required": False,
     "schema": {"type": "string", "format": "uri", "enum": OGC_CRS_ENUM}},
    {"name": "sortby", "in": "query", "required": False, "style": "form", "explode": False,
     "schema": {"type": "array", "items": {"type": "string", "pattern": "^[+-]?[A-Za-z0-9_]+$"}},
     "description": "comma-separated queryables, `-` for descending: `sortby=kind,-name_zh`"},
    {"name": "properties", "in": "query", "required": False, "style": "form",
     "explode": False,
     "schema": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"}},
     "description": "only these properties in each feature: `properties=name_zh,kind`"},
]


@lru_cache(maxsize=1)
def _ogc_document() -> dict:
    json_any = {"application/json": {"schema": {"type": "object"}},
                "text/html": {"schema": {"type": "string"}}}
    # a layer id, or a layer id + _points/_lines/_polygons for a layer of mixed geometry
    cid = {"name": "collectionId", "in": "path", "required": True,
           "schema": dict(LAYER_ID, pattern=vocab.id_pattern(80))}
    content_crs = {"Content-Crs": {"description": "CRS of the geometries, as <URI>",
                                   "schema": {"type": "string"}}}
    paths = {
        "/ogc": {"get": {"operationId": "landingPage", "summary": "Landing page",
                         "tags": ["Capabilities"], "parameters": [OGC_F],
                         "responses": {"200": {"description": "links", "content": json_any},
                                       **_error_responses(400)}}},
        "/ogc/conformance": {"get": {"operationId": "getConformance",
                                     "summary": "Conformance classes",
                                     "tags": ["Capabilities"], "parameters": [OGC_F],
                                     "responses": {"200": {"description": "conformsTo",
                                                           "content": json_any},
                                                   **_error_responses(400)}}},
        "/ogc/collections": {"get": {"operationId": "getCollections",
                                     "summary": "One collection per layer and geometry type",
                                     "tags": ["Capabilities"], "parameters": [OGC_F],
                                     "responses": {"200": {"description": "collections",
                                                           "content": json_any},
                                                   **_error_responses(400)}}},
        "/ogc/collections/{collectionId}": {"get": {
            "operationId": "describeCollection", "summary": "A collection",
            "tags": ["Capabilities"], "parameters": [cid, OGC_F],
            "responses": {"200": {"description": "collection", "content": json_any},
                          **_error_responses(400, 404, 503)}}},
        "/ogc/collections/{collectionId}/items": {"get": {
            "operationId": "getFeatures", "summary": "Features, paged, with bbox and crs",
            "tags": ["Data"],
            "parameters": [
                cid,
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "default": 100},
                 "description": "page size; values above the server's maximum "
                                "(setting MAX_FEATURES_PER_PAGE, default 1000) are reduced "
                                "to it, as OGC API – Features permits",
                 "style": "form", "explode": False},
                {"name": "offset", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "default": 0}},
                {"name": "bbox", "in": "query", "required": False, "style": "form",
                 "explode": False,
                 "schema": {"type": "array", "minItems": 4, "maxItems": 6,
                            "items": {"type": "number"}}},
                {"name": "bbox-crs", "in": "query", "required": False,
                 "schema": {"type": "string", "format": "uri", "enum": OGC_CRS_ENUM}},
                {"name": "crs", "in": "query", "required": False,
                 "schema": {"type": "string", "format": "uri", "enum": OGC_CRS_ENUM}},
                OGC_DATETIME,
                *OGC_FILTER_PARAMS,
                OGC_F,
            ],
            "responses": {"200": {"description": "features", "headers": content_crs,
                                  "content": {"application/geo+json": {"schema": {
                                      "$ref": "#/components/schemas/FeatureCollection"}},
                                      "text/html": {"schema": {"type": "string"}}}},
                          **_error_responses(400, 404, 503)}}},
        "/ogc/collections/{collectionId}/queryables": {"get": {
            "operationId": "getQueryables", "summary": "Queryables (JSON Schema)",
            "tags": ["Capabilities"], "parameters": [cid, OGC_F],
            "responses": {"200": {"description": "the properties a filter can use", "content": {
                "application/schema+json": {"schema": {"type": "object"}},
                "text/html": {"schema": {"type": "string"}}}},
                **_error_responses(400, 404, 503)}}},
        "/ogc/collections/{collectionId}/items/{featureId}": {"get": {
            "operationId": "getFeature", "summary": "One feature", "tags": ["Data"],
            "parameters": [cid, {"name": "featureId", "in": "path", "required": True,
                                 "schema": {"type": "string"}},
                           {"name": "crs", "in": "query", "required": False,
                            "schema": {"type": "string", "format": "uri",
                                       "enum": OGC_CRS_ENUM}},
                           OGC_F],
            "responses": {"200": {"description": "feature", "headers": content_crs,
                                  "content": {"application/geo+json": {"schema": {
                                      "$ref": "#/components/schemas/Feature"}},
                                      "text/html": {"schema": {"type": "string"}}}},
                          **_error_responses(400, 404, 503)}}},
        "/ogc/api": {"get": {"operationId": "getServiceDesc",
                             "summary": "This API definition", "tags": ["Capabilities"],
                             "responses": {"200": {"description": "OpenAPI 3.0", "content": {
                                 "application/vnd.oai.openapi+json;version=3.0": {
                                     "schema": {"type": "object"}}}}}}},
    }
    return {
        "openapi": "3.0.3",
        "info": _info("planmap OGC API – Features"),
        "servers": [{"url": "/"}],
        "paths": _rate_limited(paths),
        "components": _components(),
    }


def ogc_document() -> dict:
    """Return the OpenAPI document of the OGC API – Features service at ``/ogc``."""
    return copy.deepcopy(_ogc_document())
