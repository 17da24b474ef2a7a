"""How responses travel: CORS for the read-only routes, gzip for JSON, and conditional
requests (strong ``ETag`` + ``Last-Modified``, 304 on ``If-None-Match`` /
``If-Modified-Since``).

One ``after_request`` hook, so every blueprint (and layers added later) gets the same
treatment without code of its own.  Settings: ``CORS_ALLOW_ORIGINS``, ``CORS_PATHS``,
``GZIP_MIN_BYTES``, ``GZIP_LEVEL`` (docs/SETTINGS.md).
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import threading
from collections import OrderedDict
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from flask import Flask, current_app, request

READ_METHODS = ("GET", "HEAD")
#: media types compressed when the client accepts gzip
GZIP_TYPES = frozenset({"application/json", "application/geo+json",
                        "application/vnd.oai.openapi+json", "application/schema+json"})
#: headers a cross-origin script may read (beyond the CORS-safelisted ones)
EXPOSE = "ETag, Last-Modified, Content-Crs, Content-Disposition, Content-Encoding"
#: request headers a cross-origin GET may send (If-None-Match makes a conditional GET)
ALLOW_HEADERS = "Accept, Accept-Language, If-None-Match, If-Modified-Since"
CODE_DIRS = ("server", "geo", "layers")
_GZIP_CACHE_ENTRIES = 64

_gzip_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


def _prefixes(raw: str) -> tuple[str, ...]:
    return tuple(p.strip().rstrip("/") for p in str(raw).split(",") if p.strip())


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def last_modified(data) -> _dt.datetime:
    """When the served answers last changed: the newest data file or code file (whole
    seconds, UTC), computed once per loaded data."""
    cache = current_app.extensions.setdefault("planmap_last_modified", {})
    found = cache.get(id(data))
    if found is not None and found[0] is data:
        return found[1]
    root = Path(__file__).resolve().parent.parent
    newest = 0.0
    for folder in [Path(data.data_dir), *(root / d for d in CODE_DIRS)]:
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    newest = max(newest, path.stat().st_mtime)
    now = _dt.datetime.now(_dt.timezone.utc)
    moment = min(_dt.datetime.fromtimestamp(int(newest), _dt.timezone.utc), now) \
        .replace(microsecond=0)
    with _lock:
        cache.clear()
        cache[id(data)] = (data, moment)
    return moment


def _etag_matches(header: str, tag: str) -> bool:
    # If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ is ignored
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False


def _gzipped(key: str, body: bytes, level: int) -> bytes:
    with _lock:
        found = _gzip_cache.get(key)
        if found is not None:
            _gzip_cache.move_to_end(key)
            return found
    # mtime=0: the same bytes every time, so the gzip ETag stays strong
    packed = gzip.compress(body, compresslevel=level, mtime=0)
    with _lock:
        _gzip_cache[key] = packed
        while len(_gzip_cache) > _GZIP_CACHE_ENTRIES:
            _gzip_cache.popitem(last=False)
    return packed


def _cors(response, origins: list[str]) -> None:
    origin = request.headers.get("Origin")
    if "*" in origins:
        allowed = "*"
    elif origin and origin in origins:
        allowed = origin
    else:
        response.vary.add("Origin")
        return
    if allowed != "*":
        response.vary.add("Origin")
    if request.method == "OPTIONS":
        wanted = request.headers.get("Access-Control-Request-Method", "").upper()
        if wanted not in READ_METHODS:
            return  # a preflight for a state-changing method gets no CORS grant
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    elif request.method not in READ_METHODS:
        return
    response.headers["Access-Control-Allow-Origin"] = allowed
    response.headers["Access-Control-Expose-Headers"] = EXPOSE


def register(app: Flask) -> None:
    origins = [o.strip() for o in str(app.config["CORS_ALLOW_ORIGINS"]).split(",")
               if o.strip()]
    prefixes = _prefixes(app.config["CORS_PATHS"])
    min_bytes = int(app.config["GZIP_MIN_BYTES"])
    level = int(app.config["GZIP_LEVEL"])

    @app.after_request
    def _deliver(response):
        read_only = _under(request.path, prefixes)
        if origins and read_only:
            _cors(response, origins)
        if request.path.startswith("/ogc"):
            response.vary.add("Accept")  # JSON or HTML by the Accept header
        if response.direct_passthrough or response.is_streamed:
            return response
        compressible = (level > 0 and response.mimetype in GZIP_TYPES
                        and "Content-Encoding" not in response.headers)
        if compressible:
            response.vary.add("Accept-Encoding")
        body = response.get_data()
        use_gzip = (compressible and len(body) >= min_bytes
                    and request.accept_encodings.quality("gzip") > 0)
        if read_only and request.method in READ_METHODS and response.status_code == 200:
            from planmap.server import services

            digest = hashlib.blake2b(body, digest_size=16).hexdigest()
            tag = f'"{digest}{"-gzip" if use_gzip else ""}"'
            modified = last_modified(services().data)
            response.headers["ETag"] = tag
            response.headers["Last-Modified"] = format_datetime(modified, usegmt=True)
            if _not_modified(tag, modified):
                response.status_code = 304
                response.set_data(b"")
                for name in ("Content-Type", "Content-Length", "Content-Disposition"):
                    response.headers.pop(name, None)
                return response
        if use_gzip:
            response.set_data(_gzipped(response.headers.get("ETag") or
                                       hashlib.blake2b(body, digest_size=16).hexdigest(),
                                       body, level))
            response.headers["Content-Encoding"] = "gzip"
        return response


def _not_modified(tag: str, modified: _dt.datetime) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:  # takes precedence over If-Modified-Since (RFC 9110 13.2.2)
        return _etag_matches(inm, tag)
    ims = request.headers.get("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False  # an unparsable date is ignored, as RFC 9110 says
        if since.tzinfo is None:
            since = since.replace(tzinfo=_dt.timezone.utc)
        return modified <= since
    return False
