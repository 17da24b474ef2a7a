"""The REST API under ``/api/v1``.

Each view parses HTTP arguments strictly, calls one ``geo``/``layers`` function
with plain values and returns JSON.  Every error leaves through
``server/errors.py`` in the one shape ``{"error": {status, code, param,
message_en, message_zh}}``.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from planmap.geo.errors import InvalidInput, LayerError, LimitExceeded, NotFound
from planmap.geo.plans import route, scope_result
from planmap.geo.vocab import FEATURE_ID_MAX, LAYER_ID_MAX, id_pattern
from planmap.layers.export import FORMULA_START, csv_safe
from planmap.server import services
from planmap.server.args import parse_bool, parse_crs_arg, parse_number  # noqa: F401
from planmap.server.store import new_delete_token
from planmap.server.visibility import filter_result

bp = Blueprint("api", __name__, url_prefix="/api/v1")

LAYER_ID_RE = re.compile(id_pattern(LAYER_ID_MAX))
FEATURE_ID_RE = re.compile(id_pattern(FEATURE_ID_MAX))



# ------------------------------------------------------------------ argument parsing

def _layer_id(layer_id: str) -> str:
    data = services().data
    catalog_ids = [e["id"] for e in data.catalog]
    if not LAYER_ID_RE.match(layer_id or "") or layer_id not in catalog_ids:
        shown = str(layer_id)[:64]
        # Name the home plan's layers only: with every plan's the message grew past a
        # readable length; /api/v1/layers lists them all.
        home = getattr(data, "home_plan", None)
        named = [e["id"] for e in data.catalog if (e.get("plan") or home) == home]
        raise NotFound("unknown_layer", f"unknown layer {shown!r}; layers: "
                       f"{', '.join(named)} (all plans: /api/v1/layers)",
                       f"未知图层 {shown!r}", param="layer_id")
    if layer_id not in data.layers and layer_id not in (getattr(data, "store_layers", None)
                                                        or {}):
        problem = (getattr(data, "errors", None) or {}).get(layer_id, "not loaded")
        raise LayerError("layer_unavailable", f"layer {layer_id!r} is unavailable: {problem}",
                         f"图层 {layer_id!r} 不可用：{problem}", param="layer_id")
    return layer_id


def _json_body(raw: bytes) -> object:
    """Parse a JSON request body safely (no NaN/Infinity, bounded depth, UTF-8 only)."""
    from planmap.geo.io import load_json

    limits = services().limits
    # Every GeoJSON position is a JSON array: bound them before parsing, as parse_site does
    # for the geometry itself (a million-vertex body is refused in milliseconds, not seconds).
    max_arrays = 2 * limits.max_vertices + 4 * limits.max_parts + 64
    return load_json(raw, limits, param="body", max_arrays=max_arrays)


def _is_json_request() -> bool:
    mime = (request.mimetype or "").lower()
    return mime in ("application/json", "application/geo+json") or mime.endswith("+json")


def _upload():
    """``(bytes, filename)`` of the multipart ``file`` field, or ``(None, None)``."""
    if not request.files:
        return None, None
    f = request.files.get("file")
    if f is None:
        raise InvalidInput("missing_parameter", "multipart upload needs a 'file' field",
                           "上传表单缺少 file 字段", param="file")
    return f.read(), f.filename or ""


# ------------------------------------------------------------------ layers, clauses

def _plan_filter(data) -> str | None:
    """The ``plan`` query parameter: a known plan id, or None when absent."""
    raw = request.args.get("plan")
    if raw is None:
        return None
    known = [p["id"] for p in getattr(data, "plan_list", None) or ()]
    if raw not in known:
        raise InvalidInput("unknown_plan", f"plan must be one of {known}, got {raw!r}",
                           f"plan 须为 {known} 之一，收到 {raw!r}", param="plan")
    return raw


@bp.get("/plans")
def plan_list():
    """The plans of the map: id, seed, names, level, extent, layers (catalog order)."""
    data = services().data
    out = []
    for plan in getattr(data, "plan_list", None) or ():
        item = {k: v for k, v in plan.items() if k not in ("area_feature", "focus_feature")}
        item["area_feature"] = plan.get("area_feature")
        item["layers_url"] = url_for("api.layer_list", plan=plan["id"])
        out.append(item)
    return jsonify({"count": len(out), "plans": out})


@bp.get("/layers")
def layer_list():
    data = services().data
    broken = dict(getattr(data, "errors", None) or {})
    plan = _plan_filter(data)
    out = []
    for entry in data.catalog:
        item = dict(entry)
        lid = entry["id"]
        item["plan"] = entry.get("plan") or getattr(data, "home_plan", None)
        if plan is not None and item["plan"] != plan:
            continue
        gdf = data.layers.get(lid)
        source = (getattr(data, "store_layers", None) or {}).get(lid)
        item["available"] = gdf is not None or source is not None
        item["problem"] = broken.get(lid)
        if source is not None:  # from the store's metadata, no feature read into memory
            from planmap.layers.storequery import accuracy_counts

            item["feature_count"] = source.count
            counts = Counter(accuracy_counts(source))
        else:
            item["feature_count"] = 0 if gdf is None else int(len(gdf))
            counts = Counter() if gdf is None or "accuracy" not in gdf.columns \
                else Counter(str(a) for a in gdf["accuracy"])
        item["accuracy_counts"] = {k: int(counts.get(k, 0))
                                   for k in ("official", "derived", "schematic")}
        item["url"] = url_for("api.layer_features_view", layer_id=lid)
        out.append(item)
    return jsonify({"data_version": data.data_version, "count": len(out), "layers": out})


@bp.get("/layers/<layer_id>")
def layer_features_view(layer_id):
    from planmap.server.ogc import layer_features

    lid = _layer_id(layer_id)
    features = layer_features(lid)
    body = {"type": "FeatureCollection", "layer": lid,
            "data_version": services().data.data_version, "features": features}
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    mimetype="application/geo+json")


@bp.get("/clauses")
def clauses():
    data = services().data
    feature = request.args.get("feature")
    if feature is not None and not FEATURE_ID_RE.match(feature):
        raise InvalidInput("invalid_feature_id",
                           "feature must be a feature id (lower-case letters, digits, _)",
                           "feature 必须是要素编号（小写字母、数字、下划线）", param="feature")
    plans = getattr(data, "plans", None) or {}
    out = []
    for clause in data.clauses:
        if feature is not None and feature not in (clause.get("applies_to") or []):
            continue
        item = dict(clause)
        seed = (clause.get("citation") or {}).get("seed")
        plan = plans.get(seed)
        item["plan"] = {"seed": seed, "title_zh": getattr(plan, "title_zh", None),
                        "title_en": getattr(plan, "title_en", None)} if seed else None
        out.append(item)
    return jsonify({"count": len(out), "clauses": out})


# ------------------------------------------------------------------ zones

def _to_wgs84_point(x: float, y: float, crs: str) -> tuple[float, float]:
    """One point to WGS 84; lon/lat already inside the accepted region skip the transform."""
    from planmap.geo import crs as gcrs

    if crs == gcrs.WGS84 and gcrs.CHINA_LON[0] <= x <= gcrs.CHINA_LON[1] \
            and gcrs.CHINA_LAT[0] <= y <= gcrs.CHINA_LAT[1]:
        return x, y  # the region check of geo.crs.check_coordinates, without numpy
    lon, lat = gcrs.to_wgs84([x], [y], crs, param="lon")  # raises with a hint otherwise
    return float(lon[0]), float(lat[0])


_ZONE_KEYS = {"in_service_area", "zones", "nearest", "tiers_json"}


def _entry_fragment(cache: dict, entry: dict) -> str:
    """JSON of a feature entry without its closing brace (entries are fixed per feature)."""
    key = (entry.get("layer"), entry.get("id"))
    fragment = cache.get(key)
    if fragment is None:
        static = {k: v for k, v in entry.items() if k != "distance_m"}
        fragment = json.dumps(static, ensure_ascii=False, separators=(",", ":"))[:-1]
        cache[key] = fragment
    return fragment


def _point_result_json(query: dict, result: dict) -> str:
    """Serialise a point result, reusing each feature entry's JSON (the hot path of /zones)."""
    cache = current_app.extensions.setdefault("planmap_entry_json", {})
    zones = ",".join(_entry_fragment(cache, e) + "}" for e in result["zones"])
    nearest = ",".join(
        _entry_fragment(cache, e) + ',"distance_m":' + float.__repr__(float(e["distance_m"]))
        + "}" for e in result["nearest"])
    return ('{"query":' + json.dumps(query, ensure_ascii=False, separators=(",", ":"))
            + ',"in_service_area":' + ("true" if result["in_service_area"] else "false")
            + ',"zones":[' + zones + '],"nearest":[' + nearest + "],"
            + result["tiers_json"][1:])  # tiers, verdict, deciding_clause, conflicts


@bp.get("/zones")
def zones_point():
    x = parse_number(request.args.get("lon"), "lon")
    y = parse_number(request.args.get("lat"), "lat")
    crs = parse_crs_arg(request.args.get("crs"))
    raw_radius = request.args.get("radius")
    radius = float(current_app.config.get("NEAREST_RADIUS_M", 5000)) if raw_radius is None \
        else parse_number(raw_radius, "radius")
    lon, lat = _to_wgs84_point(x, y, crs)
    svc = services()
    index, plan_ids, scoped = _route(svc, _point(lon, lat))
    try:
        result = index.query_point(lon, lat, radius_m=radius, tiers_as_json=True)
    except InvalidInput as exc:
        if exc.param == "radius_m":
            exc.param = "radius"
        raise
    if scoped:
        scope_result(result, svc.scope, plan_ids)
    plans = svc.scope.describe(plan_ids) if svc.scope is not None else []
    query = {"lon": x, "lat": y, "crs": crs, "lon_wgs84": round(lon, 7),
             "lat_wgs84": round(lat, 7), "radius_m": radius}
    if set(result) == _ZONE_KEYS and all("distance_m" in e for e in result["nearest"]):
        return Response(_point_result_json(query, result)[:-1] + ',"plans":'
                        + json.dumps(plans, ensure_ascii=False, separators=(",", ":")) + "}",
                        mimetype="application/json")
    body = {"query": query}
    body.update(result)
    if "tiers_json" in body:
        body.update(json.loads(body.pop("tiers_json")))
    body["plans"] = plans
    return jsonify(body)


def _point(lon: float, lat: float):
    import shapely

    return shapely.Point(lon, lat)


def _route(svc, geom):
    """(index, answering plan ids, scoped?) for a site: see :mod:`geo.plans`."""
    return route(getattr(svc, "scope", None), svc.index, getattr(svc, "plan_index", None),
                 geom)


def _points_payload():
    """``(raw, fmt, crs, filename)`` of a CSV, GeoJSON or multipart body (not parsed yet)."""
    raw, filename = _upload()
    crs_raw = request.form.get("crs") if raw is not None else None
    crs = parse_crs_arg(crs_raw or request.args.get("crs"))
    fmt = None
    if raw is None:
        raw = request.get_data(cache=False)
        mime = (request.mimetype or "").lower()
        if "csv" in mime:
            fmt = "csv"
        elif _is_json_request():
            fmt = "geojson"
    if not raw:
        raise InvalidInput("empty_body", "no points given (send CSV id,lon,lat or GeoJSON)",
                           "没有提交点位（请发送 CSV id,lon,lat 或 GeoJSON）", param="body")
    return raw, fmt, crs, filename or None


def _json_str(value) -> str:
    return json.dumps(str(value), ensure_ascii=False)


@bp.post("/zones")
def zones_batch():
    from planmap.server import workers

    raw, fmt, crs, filename = _points_payload()
    config = current_app.config
    # parsing a million points and building the answer take seconds of CPU: in a worker
    # under REQUEST_TIME_LIMIT_S, so that this process keeps answering cheap requests
    data, mimetype = workers.run(
        batch_task, raw, fmt=fmt, crs=crs, filename=filename, limits=services().limits,
        out_format=(request.args.get("format") or "json").strip().lower(),
        max_pairs=config["MAX_PAIRS"], max_bytes=config["MAX_RESPONSE_BYTES"])
    return _bytes_response(data, mimetype)


def batch_task(state: dict, raw: bytes, *, fmt, crs, filename, limits, out_format: str,
               max_pairs, max_bytes) -> tuple[bytes, str]:
    """The batch zone answer as ``(UTF-8 bytes, mimetype)`` (``geo.budget`` worker task)."""
    from planmap.geo.io import parse_points

    ids, lon, lat = parse_points(raw, fmt=fmt, crs=crs, limits=limits, filename=filename)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    index = state["index"]
    # both output limits refuse before the answer is built (1 M points at one spot would
    # make 18 M pairs: a 1.25 GB answer and +4 GB of server memory)
    point_idx, zone_idx = index.batch_indices(
        lon, lat, max_pairs=None if max_pairs is None else int(max_pairs))
    zones = np.unique(zone_idx)
    entries = {int(z): index.entry(int(z)) for z in zones.tolist()}
    # zone_idx as positions 0..k-1 into `zones` (k = distinct zones hit: a few hundred at most)
    zone_pos = np.searchsorted(zones, zone_idx).astype(np.int32)
    zone_ids = [entries[z]["id"] for z in zones.tolist()]
    zone_layers = [entries[z]["layer"] for z in zones.tolist()]
    if out_format not in ("json", "csv"):
        raise InvalidInput("unknown_format", "format must be json or csv",
                           "format 必须是 json 或 csv", param="format")
    if ids is None:
        ids = [str(i) for i in range(len(lon))]
    max_bytes = None if max_bytes is None else int(max_bytes)
    if out_format == "csv":
        tails = ["," + _csv_cell(z) + "," + _csv_cell(lay)
                 for z, lay in zip(zone_ids, zone_layers, strict=True)]
        body = _assemble(ids, point_idx, zone_pos, "", tails, "\n", _csv_cell, max_bytes)
        text = "point_id,zone_id,layer\n" + body + ("\n" if body else "")
        return text.encode("utf-8"), "text/csv"
    # 10^5 points can make 10^6 pairs: a list of dicts through json.dumps would be the slow
    # part, so the JSON text is assembled from per-zone pieces (see _assemble).
    from planmap.geo.tiers import feature_tier

    tails = ['","zone_id":' + _json_str(z) + ',"layer":' + _json_str(lay)
             + ',"tier":' + _json_str(feature_tier(index, f)) + "}"
             for z, lay, f in zip(zone_ids, zone_layers, zones.tolist(), strict=True)]
    pairs = _assemble(ids, point_idx, zone_pos, '{"point_id":"', tails, ",",
                      lambda t: _json_str(t)[1:-1], max_bytes)
    matched = 0 if len(point_idx) == 0 else \
        int(np.count_nonzero(np.diff(point_idx)) + 1)
    text = ('{"count":' + str(len(lon)) + ',"matched_points":' + str(matched)
            + ',"pair_count":' + str(len(point_idx)) + ',"pairs":[' + pairs + "]}")
    return text.encode("utf-8"), "application/json"


STREAM_CHUNK = 1 << 20  # large answers leave in 1 MiB pieces while the client reads


def _bytes_response(data: bytes, mimetype: str) -> Response:
    """A response of ``data``; large ones are streamed in pieces while the client reads."""
    if len(data) <= STREAM_CHUNK:
        return Response(data, mimetype=mimetype)
    view = memoryview(data)
    chunks = (bytes(view[i: i + STREAM_CHUNK]) for i in range(0, len(data), STREAM_CHUNK))
    response = Response(chunks, mimetype=mimetype)
    response.headers["Content-Length"] = str(len(data))
    return response


_NEEDS_ESCAPE = re.compile(r'["\\,\x00-\x1f]')


def _assemble(ids, point_idx, zone_pos, opening: str, tails: list[str], sep: str,
              escape, max_bytes: int | None = None) -> str:
    """Text of all (point, zone) pairs without building one Python object per pair.

    Pair ``i`` is ``opening + id(point_idx[i]) + tails[zone_pos[i]]``; pairs are joined by
    ``sep``.  Pairs arrive grouped by point, and points covered by the same zones (most
    points: they share a grid cell's zone set) share one template, so a point's pairs are a
    single ``point_id.join(template)``.  ``escape`` is applied to ids only when some id
    needs it (quotes, commas, backslashes, control characters).  The size in UTF-8 bytes
    is computed first: over ``max_bytes`` raises ``LimitExceeded`` before any text is made.
    """
    if len(point_idx) == 0:
        return ""
    point_idx = np.asarray(point_idx, dtype=np.int64)
    codes = np.ascontiguousarray(zone_pos, dtype=np.int32)
    starts = np.flatnonzero(np.r_[True, point_idx[1:] != point_idx[:-1]])
    lengths = np.diff(np.r_[starts, len(point_idx)])
    id_text = [str(ids[p]) for p in point_idx[starts].tolist()]
    if _NEEDS_ESCAPE.search("".join(id_text)) or (
            escape is _csv_cell and any(t.startswith(FORMULA_START) for t in id_text)):
        id_text = [escape(t) for t in id_text]
    if max_bytes is not None:
        _check_size(id_text, lengths, codes, opening, tails, sep, max_bytes)
    blob = codes.tobytes()
    templates: dict = {}
    chunks = []
    for pid, s0, n in zip(id_text, starts.tolist(), lengths.tolist(), strict=True):
        sig = blob[4 * s0: 4 * (s0 + n)]
        template = templates.get(sig)
        if template is None:
            zs = np.frombuffer(sig, dtype=np.int32).tolist()
            template = [opening] + [tails[z] + sep + opening for z in zs[:-1]] + [tails[zs[-1]]]
            templates[sig] = template
        chunks.append(pid.join(template))
    return sep.join(chunks)


def _check_size(id_text, lengths, codes, opening, tails, sep, max_bytes: int) -> None:
    id_bytes = np.fromiter((len(t.encode("utf-8")) for t in id_text), dtype=np.int64,
                           count=len(id_text))
    tail_bytes = np.array([len(t.encode("utf-8")) for t in tails], dtype=np.int64)
    size = int(np.dot(id_bytes, lengths)) + int(tail_bytes[codes].sum()) \
        + len(codes) * len(opening.encode("utf-8")) + (len(codes) - 1) * len(sep)
    if size > max_bytes:
        raise LimitExceeded(
            "response_too_large",
            f"the answer would be {size / 2**20:,.0f} MiB; at most "
            f"{max_bytes / 2**20:,.0f} MiB (MAX_RESPONSE_BYTES): send fewer points per request",
            f"结果约 {size / 2**20:,.0f} MiB，超过上限 {max_bytes / 2**20:,.0f} MiB"
            f"（MAX_RESPONSE_BYTES）；请分批提交点位", param="MAX_RESPONSE_BYTES")


def _csv_cell(value) -> str:
    text = csv_safe(str(value))  # no formula cells (the ids are the client's own text)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


# ------------------------------------------------------------------ site check

def _site_request():
    """Return ``(payload, fmt, filename, crs, repair, rings)`` from JSON or multipart."""
    raw, filename = _upload()
    if raw is not None:
        form = request.form
        crs = form.get("crs") or request.args.get("crs")
        fmt = form.get("format") or request.args.get("format") or None
        if fmt is not None and fmt.strip().lower() == "shp.zip":
            fmt = "shapefile"  # the name /export uses for the same thing
        repair = parse_bool(form.get("repair", request.args.get("repair")), "repair")
        rings = _rings(form.get("rings", request.args.get("rings")))
        return raw, fmt, filename, crs, repair, rings
    raw = request.get_data(cache=False)
    if not raw:
        raise InvalidInput("empty_body", "send a site as JSON {\"geometry\": …} or a file upload",
                           "请以 JSON {\"geometry\": …} 或文件上传方式提交地块", param="body")
    if not _is_json_request() and raw.lstrip()[:1] not in (b"{", b"["):
        # a bare file body (KML, WKT, 国土 TXT...): format from ?format= or sniffed by the parser
        return (raw, request.args.get("format"), request.args.get("filename", ""),
                request.args.get("crs"), parse_bool(request.args.get("repair"), "repair"),
                _rings(request.args.get("rings")))
    body = _json_body(raw)
    if not isinstance(body, dict):
        raise InvalidInput("invalid_body", "the JSON body must be an object",
                           "JSON 请求内容必须是对象", param="body")
    g.site_body = body  # project name/applicant/type are read from it too (server/casefile.py)
    if body.get("type") in ("Feature", "FeatureCollection", "Polygon", "MultiPolygon",
                            "Point", "LineString", "MultiLineString", "MultiPoint",
                            "GeometryCollection"):
        site, fmt = body, "geojson"  # a bare GeoJSON document
        body = {}
    else:
        given = [k for k in ("geometry", "site", "wkt") if k in body]
        if not given:
            raise InvalidInput("missing_parameter",
                               "give the site as 'geometry' (GeoJSON) or 'wkt'",
                               "请以 geometry（GeoJSON）或 wkt 提交地块", param="geometry")
        if len(given) > 1:
            raise InvalidInput("ambiguous_site",
                               f"give the site once, not as {' and '.join(given)}",
                               f"地块只能提交一次，不能同时使用 {'、'.join(given)}",
                               param=given[1])
        key = given[0]
        site = body[key]
        fmt = "wkt" if key == "wkt" else "geojson"
        if key == "wkt" and not isinstance(site, str):
            raise InvalidInput("invalid_wkt", "wkt must be a string", "wkt 必须是字符串",
                               param="wkt")
        if key != "wkt" and not isinstance(site, dict):
            raise InvalidInput("invalid_geometry", f"{key} must be a GeoJSON object",
                               f"{key} 必须是 GeoJSON 对象", param=key)
    payload = site if isinstance(site, str) else json.dumps(site, ensure_ascii=False)
    crs = body.get("crs", request.args.get("crs"))
    if "crs" in body and not isinstance(crs, str):
        raise InvalidInput("unsupported_crs", "crs must be a string such as EPSG:4490",
                           "crs 必须是字符串，例如 EPSG:4490", param="crs")
    repair = body.get("repair")
    if repair is not None and not isinstance(repair, bool):
        raise InvalidInput("invalid_boolean", "repair must be true or false (a JSON boolean)",
                           "repair 必须是 true 或 false（JSON 布尔值）", param="repair")
    rings = body.get("rings")
    if rings is not None and (not isinstance(rings, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in rings)):
        raise InvalidInput("invalid_rings", "rings must be a list of distances in metres",
                           "rings 必须是以米为单位的距离列表", param="rings")
    return payload.encode("utf-8"), fmt, "", crs, bool(repair), _rings(rings)


def _rings(raw):
    """Ring distances in metres from a JSON list or ``"500,1000"``; None = the setting."""
    if raw is None or raw == "":
        return None
    values = raw if isinstance(raw, list) else str(raw).split(",")
    if len(values) > 10:
        raise InvalidInput("too_many_rings", "at most 10 ring distances",
                           "缓冲环距离最多 10 个", param="rings")
    out = []
    for v in values:
        d = parse_number(v, "rings")
        if not 0 < d <= 100_000:
            raise InvalidInput("invalid_rings", "ring distances must be in (0, 100000] metres",
                               "缓冲环距离必须在 (0, 100000] 米之间", param="rings")
        out.append(d)
    return sorted(set(out))


def _default_rings() -> list[float]:
    raw = current_app.config.get("RING_DISTANCES_M", "500,1000,2000")
    if isinstance(raw, (list, tuple)):
        return [float(v) for v in raw]
    return [float(v) for v in str(raw).split(",") if v.strip()]


@bp.post("/sitecheck")
def sitecheck_create():
    import shapely
    from planmap.geo.budget import site_check_task
    from planmap.geo.io import parse_site
    from planmap.geo.sitecheck import site_check
    from planmap.server import casefile, workers

    svc = services()
    svc.store.ensure_room()  # a full or broken store refuses before the check is computed
    payload, fmt, filename, crs, repair, rings = _site_request()
    project = casefile.project_fields()
    site = parse_site(payload, fmt=fmt, filename=filename, crs=crs, limits=svc.limits,
                      repair=repair)
    check_args = dict(rings=rings or _default_rings(), repairs=site.repairs,
                      radius_m=float(current_app.config.get("NEAREST_RADIUS_M", 5000)))
    in_thread = int(current_app.config["COMPLEX_SITE_VERTICES"])
    index, plan_ids, scoped = _route(svc, site.geometry)
    if shapely.get_num_coordinates(site.geometry) > in_thread:
        # GEOS cannot be interrupted, and the vertex count does not bound the cost (a 5-vertex
        # box over the whole city takes 0.3 s, a 499-vertex star 29 s): a worker process
        # killed at REQUEST_TIME_LIMIT_S does the work, off this process's CPU share. The
        # worker holds both indexes; `scoped` picks the other plans' one (see geo.plans).
        result = workers.run(site_check_task, site.geometry, use_plan_index=scoped,
                             **check_args)
    else:
        result = site_check(index, site.geometry, **check_args)
    if scoped:
        scope_result(result, svc.scope, plan_ids)
    result["plans"] = svc.scope.describe(plan_ids) if svc.scope is not None else []
    casefile.describe(result, site, payload, filename, project)  # input, parcels, project
    result["warnings"] = list(site.warnings)  # oddities accepted (docs/SECURITY.md)
    result = json.loads(json.dumps(result, ensure_ascii=False, default=_json_default))
    result = filter_result(result)[0]  # layers restricted to planners: not for anonymous
    site_geojson = _site_geojson(site)
    report = _render_report(result, site_geojson)
    delete_token = new_delete_token()
    check_id = svc.store.save(result, site_geojson, report=report, delete_token=delete_token)
    body = {"id": check_id, "report_url": f"/report/{check_id}",
            "url": url_for("api.sitecheck_get", check_id=check_id),
            "delete_token": delete_token}
    body.update(result)
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = body["url"]
    return response


def _render_report(result: dict, site_geojson) -> dict | None:
    """The report's map, drawn once now (in a worker, under REQUEST_TIME_LIMIT_S) so that
    ``/report/<id>`` only reads it; None leaves it to the report page's first view."""
    from planmap.server import reportview, workers

    try:
        # only what the sketch reads (zones, tiers, ring distances): the ring feature lists
        # (~1,000 entries over a parcel layer) need not travel to the worker and back
        return workers.run(reportview.render_map_task,
                           {"result": reportview.sketch_input(result), "site": site_geojson})
    except Exception:  # the check itself is answered; the report page draws it on first view
        current_app.logger.exception("report map could not be rendered at save time")
        return None


def _site_geojson(site) -> dict | None:
    import shapely

    geom = getattr(site, "geometry", site)
    if isinstance(geom, shapely.Geometry):
        return json.loads(shapely.to_geojson(geom))
    if isinstance(geom, dict):
        return geom
    return None


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    try:
        import shapely

        if isinstance(value, shapely.Geometry):
            return json.loads(shapely.to_geojson(value))
    except ImportError:  # pragma: no cover
        pass
    return str(value)


@bp.get("/sitecheck/<check_id>")
def sitecheck_get(check_id):
    stored = services().store.get(check_id)
    body = {"id": stored["id"], "report_url": f"/report/{stored['id']}",
            "url": url_for("api.sitecheck_get", check_id=stored["id"]),
            "created": stored["created"], "site_geometry": stored["site"]}
    body.update(stored["result"])
    return jsonify(body)


@bp.delete("/sitecheck/<check_id>")
def sitecheck_delete(check_id):
    """Delete a stored check: needs the ``delete_token`` its creation answered with."""
    token = request.headers.get("X-Delete-Token") or request.args.get("delete_token")
    services().store.delete(check_id, token)
    return Response(status=204)


@bp.get("/openapi.json")
def openapi():
    from planmap.server.openapi import api_document

    return Response(json.dumps(api_document(), ensure_ascii=False), mimetype="application/json")
