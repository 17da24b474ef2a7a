"""planmap's settings: one named default each, overridable by ``PLANMAP_<NAME>``.

Every limit the service enforces is a setting here, with the help text that
``docs/SETTINGS.md`` and ``/-/settings`` show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATA_DIR", "", "Folder holding catalog.json and layer files; empty = built-in data"),
    Setting("DB_PATH", "instance/planmap.sqlite3", "SQLite file that stores site checks"),
    Setting("MAX_BODY_BYTES", 20 * 1024 * 1024, "Largest request body or upload (413 above)"),
    Setting("MAX_UNZIPPED_BYTES", 100 * 1024 * 1024, "Largest total size inside an uploaded zip"),
    Setting("MAX_VERTICES", 200_000, "Most vertices in one submitted site geometry"),
    Setting("MAX_PARTS", 1_000, "Most parts/parcels in one submitted site"),
    Setting("MAX_POINTS", 1_000_000, "Most points in one batch zone query"),
    Setting("MAX_JSON_DEPTH", 64, "Deepest JSON nesting accepted"),
    Setting("MAX_FEATURES_PER_PAGE", 1_000, "Largest `limit` for OGC API items"),
    Setting("DEFAULT_FEATURES_PER_PAGE", 100, "Default `limit` for OGC API items"),
    Setting("REQUEST_TIME_LIMIT_S", 30, "Wall-clock limit of one site check or conflict run in "
            "a worker process (413 `time_limit_exceeded` past it); 0 = no limit"),
    Setting("COMPLEX_SITE_VERTICES", 0, "Sites with at most this many vertices are checked in "
            "the request thread, without a time limit; 0 = every site in the worker pool"),
    Setting("NEAREST_RADIUS_M", 5000, "Radius for nearest zones in point queries"),
    Setting("RING_DISTANCES_M", "500,1000,2000", "Buffer ring distances of a site check (metres)"),
    Setting("BASEMAP_URL", "", "Optional XYZ tile URL on the intranet; empty = no tiles fetched"),
    Setting("BASEMAP_ATTRIBUTION", "", "Attribution shown for BASEMAP_URL"),
    Setting("TIANDITU_TOKEN", "", "天地图 token; when set, 天地图 vector tiles are offered"),
    Setting("THREADS", 8, "Worker threads of the production WSGI server"),
    # issue 22b: the check store's bounds
    Setting("STORE_MAX_CHECKS", 100_000, "Most stored site checks; past it new checks get 503 "
            "`store_quota_exceeded` (none are evicted); 0 = no limit"),
    Setting("STORE_MAX_BYTES", 2 * 1024 ** 3, "Most bytes of stored checks (result + site + "
            "report map); past it new checks get 503 `store_quota_exceeded`; 0 = no limit"),
    Setting("STORE_MAX_AGE_DAYS", 365, "Stored checks older than this are deleted "
            "(404 `check_expired`); 0 = kept forever"),
    # --- delivery of responses (server/delivery.py): CORS, gzip, conditional requests
    Setting("CORS_ALLOW_ORIGINS", "*", "Origins allowed to read GET/HEAD answers of CORS_PATHS "
            "cross-origin (comma-separated; `*` = any; empty = no CORS headers); never granted "
            "for state-changing methods"),
    Setting("CORS_PATHS", "/ogc,/api/v1,/export,/tiles", "Read-only path prefixes that get CORS, "
            "ETag/Last-Modified and 304 answers (GET/HEAD only)"),
    Setting("GZIP_MIN_BYTES", 1024, "Smallest JSON/GeoJSON body gzip-compressed for a client "
            "that accepts gzip"),
    Setting("GZIP_LEVEL", 6, "gzip level 1-9 for JSON/GeoJSON answers; 0 = never compress"),
    # The command line reads the user's own files: no HTTP upload limits unless set here.
    Setting("CLI_MAX_BYTES", 0, "Largest local file `planmap zones`/`check`/`import` reads "
            "(bytes); 0 = no limit"),
    Setting("CLI_MAX_UNZIPPED_BYTES", 0, "Largest total size inside a local zip read by the "
            "command line; 0 = no limit"),
    Setting("CLI_MAX_POINTS", 0, "Most points in one `planmap zones` file; 0 = no limit"),
    Setting("CACHE_DIR", "", "Folder of the command line's zone-index cache; empty = "
            "`$XDG_CACHE_HOME/planmap` (else `~/.cache/planmap`); `off` = no cache"),
    # -- request bounds (issue 22a): time, output, concurrency, rate, slow clients
    Setting("WORKERS", 2, "Worker processes (spawned at start-up, each with its own zone index) "
            "that run site checks and conflict runs; 0 = in the request thread, no time limit"),
    Setting("WORKER_WAIT_S", 10, "Longest wait for a free worker process (429 `server_busy` "
            "with Retry-After past it)"),
    Setting("MAX_PAIRS", 2_000_000, "Most (point, zone) pairs in one batch zone answer (413 "
            "`too_many_pairs`, counted before the answer is built)"),
    Setting("MAX_RESPONSE_BYTES", 128 * 1024 * 1024, "Largest list of pairs in one batch zone "
            "answer, in bytes (413 `response_too_large`, computed before the answer is built)"),
    Setting("EXPENSIVE_SLOTS", 6, "Most expensive requests (site checks, batch, reports, "
            "conflicts, exports) in progress at once; more get 429 `server_busy`, so that "
            "THREADS - EXPENSIVE_SLOTS threads stay free for cheap requests; 0 = no limit"),
    Setting("RATE_LIMIT_EXPENSIVE", 600, "Expensive requests per client address per minute "
            "(429 `rate_limited` past it); 0 = no limit"),
    Setting("RATE_LIMIT_CHEAP", 12_000, "Other requests per client address per minute "
            "(429 `rate_limited` past it); 0 = no limit"),
    Setting("CONNECTION_LIMIT", 1000, "Most open client connections of `planmap serve`"),
    Setting("HEADER_TIMEOUT_S", 10, "`planmap serve` closes a connection whose request line "
            "and headers have not all arrived this many seconds after its first byte"),
    Setting("BODY_TIMEOUT_S", 60, "`planmap serve` closes a connection whose request body has "
            "not all arrived this many seconds after its headers"),
    Setting("IDLE_TIMEOUT_S", 30, "`planmap serve` closes a connection idle (no request in "
            "progress) for this many seconds"),
    # -- scale out (issue 13): web worker processes, data reload
    Setting("WEB_WORKERS", 1, "Web worker processes of `planmap serve` (gunicorn on Linux; "
            "`--workers` overrides); each has its own THREADS and WORKERS"),
    Setting("DATA_CHECK_S", 1.0, "Seconds between checks of the data folder's files by each "
            "web worker; a changed file (an import) is loaded and swapped in without a "
            "restart; 0 = never"),
)

DEFAULTS = {s.name: s.default for s in SETTINGS}


def _coerce(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def from_environ(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the defaults overridden by ``PLANMAP_<NAME>`` environment variables."""
    environ = os.environ if environ is None else environ
    values = dict(DEFAULTS)
    for setting in SETTINGS:
        raw = environ.get(f"PLANMAP_{setting.name}")
        if raw is not None and raw != "":
            try:
                values[setting.name] = _coerce(raw, setting.default)
            except ValueError as exc:
                raise ValueError(f"PLANMAP_{setting.name}={raw!r}: {exc}") from exc
    return values
