"""planmap's settings: one named default each, overridable by ``PLANMAP_<NAME>``.

Every limit the service enforces is a setting here, with the help text that
``docs/SETTINGS.md`` and ``/-/settings`` show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATA_DIR", "", "Folder holding catalog.json and layer files; empty = built-in data"),
    Setting("DB_PATH", "", "SQLite file that stores site checks; empty = `checks.sqlite3` in "
            "the instance folder HOME (never the working directory or the installed package)"),
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
    Setting("CACHE_DIR", "", "Folder of the zone-index cache (command line, and `planmap serve` "
            "and its workers at start-up); empty = `$PLANMAP_HOME/cache` when PLANMAP_HOME is set, "
            "else `$XDG_CACHE_HOME/planmap` (else `~/.cache/planmap`); `off` = no cache"),
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
    # issue 12: the layer store (layers/store.py)
    Setting("HOME", "", "Instance folder; `planmap import` (without --data-dir) writes the "
            "GeoPackage layer store to its `store/` folder; empty = the per-user data folder "
            "($XDG_DATA_HOME/planmap, else ~/.local/share/planmap)"),
    Setting("DATABASE_URL", "", "PostGIS layer store (`postgresql://…`) used instead of the "
            "GeoPackage store under HOME; when set it also holds the stored site checks and the "
            "accounts/audit log (shared by every instance, instead of DB_PATH / AUTH_DB_PATH); "
            "never shown by /-/settings (it may hold a password)"),
    # -- the map a planner reads (issue 16): planmap's own offline basemap
    Setting("BASEMAP_OFFLINE", True, "Offer planmap's own basemap (`/basemap/{z}/{x}/{y}.png`, "
            "drawn from the vendored boundaries, rivers, lakes and places, labelled in Chinese); "
            "the default base layer unless BASEMAP_URL is set"),
    Setting("BASEMAP_TILE_CACHE", 2048, "Most offline basemap tiles kept in memory (PNG, about "
            "2-15 kB each); 0 = draw every request"),
    # -- the 选址分析报告 as a case file (issue 18, server/casefile.py)
    Setting("PROJECT_TEXT_MAX_CHARS", 200, "Longest `project_name` or `applicant` of a site "
            "check, in characters (400 `text_too_long` past it)"),
    Setting("REPORT_MAX_POINTS", 2000, "Most boundary points (界址点) listed in a site check's "
            "`parcels` and its report; the rest are counted, not listed"),
    # -- vector tiles (issue 12, server/tiles.py): large layers leave the map script
    Setting("TILE_THRESHOLD_FEATURES", 2_000, "Layers with more features than this are drawn "
            "from vector tiles (`/tiles/<layer>/<z>/<x>/<y>.mvt`) instead of being embedded in "
            "the map script; 0 = every layer embedded"),
    Setting("TILE_MIN_ZOOM", 10, "Lowest zoom served as tiles (400 `tile_zoom_out_of_range` "
            "below it; the map shows tiled layers from this zoom on)"),
    Setting("TILE_MAX_ZOOM", 18, "Highest zoom served as tiles (400 `tile_zoom_out_of_range` "
            "above it)"),
    Setting("TILE_CACHE_BYTES", 64 * 1024 * 1024, "Memory for encoded tiles (LRU, per data "
            "version); 0 = no cache"),
    Setting("TILE_MAX_AGE_S", 3600, "`Cache-Control: max-age` of a tile answer (the page's "
            "tile URLs carry the data version, so a new import is fetched anew)"),
    # -- accounts, roles and the audit trail (issue 14, server/auth.py, docs/ACCOUNTS.md)
    Setting("AUTH_ANONYMOUS", "check", "What a visitor who is not logged in may do: `check` = "
            "view the map, layers, plan texts and OGC API and run site checks and exports (as "
            "without accounts); `view` = view only (site checks, batch zone queries, exports "
            "and stored checks need a planner); `none` = nothing but the login page and health "
            "(401 elsewhere)"),
    Setting("AUTH_DB_PATH", "", "SQLite file of users, sessions, API tokens, ownership of "
            "stored checks and the audit log; empty = `<DB_PATH stem>-accounts.sqlite3` beside the "
            "check store (a file of its own)"),
    Setting("RESTRICTED_LAYERS", "", "Comma-separated layer ids visible to planners and admins "
            "only (also catalog entries with `\"visibility\": \"planner\"`); absent for "
            "everyone else from the map, /api/v1, /ogc, exports, tiles and search"),
    Setting("SESSION_HOURS", 12, "A login session ends this many hours after its last request"),
    Setting("SESSION_COOKIE_SECURE", False, "Mark the session and CSRF cookies `Secure` (set it "
            "when planmap is served over https behind a proxy)"),
    Setting("LOGIN_MAX_FAILURES", 5, "Consecutive failed logins (form or HTTP basic) after "
            "which an account is locked for LOGIN_LOCKOUT_S"),
    Setting("LOGIN_LOCKOUT_S", 900, "Seconds an account stays locked after LOGIN_MAX_FAILURES "
            "failed logins (answered like a wrong password, 401 `invalid_credentials`, so that "
            "locked names cannot be told apart; the audit log says `locked`)"),
    Setting("LOGIN_RATE_PER_MIN", 20, "Login attempts per client address per minute (429 "
            "`login_rate_limited` past it); 0 = no limit"),
    Setting("SHARE_LINK_DAYS", 7, "Days a read-only share link of a stored check stays valid"),
    Setting("ARGON2_MEMORY_KIB", 65536, "Memory of one argon2id password hash (KiB); the time "
            "cost is 3 passes"),
    # -- scale out (issue 13): web worker processes, data reload
    Setting("WEB_WORKERS", 1, "Web worker processes of `planmap serve` (gunicorn on Linux; "
            "`--workers` overrides); each has its own THREADS and WORKERS"),
    Setting("DATA_CHECK_S", 1.0, "Seconds between checks of the data folder's files by each "
            "web worker; a changed file (an import) is loaded and swapped in without a "
            "restart; 0 = never"),
    Setting("RELOAD_REQUEST_SLOTS", 1, "Requests a web worker runs at once while it builds "
            "a new data version (the others wait, at most RELOAD_WAIT_S), so that the "
            "build is not starved by request threads; 0 = no limit"),
    # -- issue 14 (rest): proxies, web import
    Setting("TRUSTED_PROXIES", "", "Comma-separated addresses/CIDRs of reverse proxies "
            "(nginx) whose `X-Forwarded-For` is believed: from such a peer the client address "
            "(rate limits, audit log) is the right-most untrusted hop; empty = always the peer"),
    Setting("ADMIN_IMPORT_MAX_FEATURES", 50_000, "Most features of a web import "
            "(`/admin/import`): its preview and its activation run in the request, so bigger "
            "files get 413 `too_many_features` (use `planmap import` on the server)"),
    Setting("ADMIN_IMPORT_STAGE_S", 3600, "Seconds an uploaded, previewed web import stays "
            "staged (in HOME's `staging/` folder) awaiting its confirmation; then it is "
            "deleted and its confirm answers 404 `unknown_import`"),
    Setting("ADMIN_IMPORT_PREVIEW_ROWS", 50, "Repaired/refused rows listed by a web import's "
            "preview (all of them are counted)"),
    Setting("RELOAD_WAIT_S", 1.0, "Longest wait of a request for one of RELOAD_REQUEST_SLOTS "
            "while a new data version builds; then it runs anyway (a slow or stuck build never "
            "holds requests longer)"),
    Setting("TILE_SEED_MAX_ZOOM", 12, "Highest zoom whose tiles an import into the layer store "
            "cuts once and keeps in the version (`TILE_MIN_ZOOM`..this, gzip'd, empty tiles "
            "left out; layers/tileseed.py): those tiles of an in-place store layer are one "
            "indexed lookup; -1 = no seeding (every tile cut when asked). Read by `planmap "
            "import` from `PLANMAP_TILE_SEED_MAX_ZOOM`"),
    Setting("TILE_SEED_WORKERS", 0, "Processes that cut and compress an import's seeded tiles "
            "(TILE_SEED_MAX_ZOOM), one block of tiles each at a time; 0 = one per CPU, 1 = in "
            "the import process. Read by `planmap import` from `PLANMAP_TILE_SEED_WORKERS`"),
    Setting("GC_FREEZE", True, "`planmap serve`: move everything built at start (zone indexes, "
            "plan data) out of Python's cyclic garbage collector (`gc.freeze()`), so its "
            "collections no longer walk them: each full collection paused a site check by "
            "~100–250 ms at 10^6 parcels; site-check worker processes do the same after "
            "building their indexes; off = the collector's default"),
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


def instance_paths(values: dict[str, Any]) -> dict[str, Any]:
    """Fill the file settings left empty with their place in the instance folder ``HOME``.

    ``DB_PATH`` (the check store, and beside it the accounts file) becomes
    ``<HOME>/checks.sqlite3``: every file planmap writes lives in the instance folder, never
    in the working directory or the installed package.  ``values`` is changed and returned.
    """
    if not str(values.get("DB_PATH") or "").strip():
        from planmap.layers.store import home_dir

        home = Path(str(values["HOME"])).expanduser() if values.get("HOME") else home_dir()
        values["DB_PATH"] = str(home / "checks.sqlite3")
    return values


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
