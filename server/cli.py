"""The ``planmap`` command line.

Each subcommand's work lives with its room; this module only parses arguments
and turns domain errors into a message and exit status 2.
"""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="planmap", description="Baicheng spatial plan map service")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("layers", help="list the layers (table, or --json)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--data-dir", default=None)

    s = sub.add_parser("import", help="import authoritative data into a layer (atomic)")
    s.add_argument("file", nargs="?", help="GeoJSON, GeoPackage or Shapefile (folder or .zip)")
    s.add_argument("--layer", required=True)
    s.add_argument("--crs", default=None)
    s.add_argument("--source", default=None,
                   help="source/attribution text for the imported features")
    s.add_argument("--data-dir", default=None)
    s.add_argument("--restore", action="store_true", help="restore the previous version instead")
    s.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    s.add_argument("--store", default=None,
                   help="layer store (folder or postgresql:// URL) to import into; default "
                        "without --data-dir: PLANMAP_DATABASE_URL, else PLANMAP_HOME/store")
    s.add_argument("--skip-refused", action="store_true",
                   help="store import: import the other rows when some are refused")
    s.add_argument("--chunk-size", type=int, default=20_000,
                   help="store import: rows read, checked and written at a time")

    s = sub.add_parser("zones", help="batch point-in-zone for a CSV id,lon,lat or GeoJSON")
    s.add_argument("points")
    s.add_argument("--crs", default="EPSG:4326")
    s.add_argument("-o", "--output", default=None,
                   help="OUT.csv, OUT.parquet or OUT.gpkg (default: CSV on stdout)")
    s.add_argument("--format", choices=("csv", "parquet", "gpkg"), default=None,
                   help="output format (default: from the output's extension, else csv)")
    s.add_argument("--quiet", action="store_true", help="no progress bar or summary on stderr")
    s.add_argument("--data-dir", default=None)

    s = sub.add_parser("check", help="site check of a file or a point")
    s.add_argument("file", nargs="?")
    s.add_argument("--point", default=None, help="LON,LAT")
    s.add_argument("--crs", default=None)
    s.add_argument("--format", choices=("json", "text"), default="text")
    s.add_argument("--repair", action="store_true")
    s.add_argument("--data-dir", default=None)

    s = sub.add_parser("batch", help="site check of every feature of a file (serial or Dask)")
    s.add_argument("file", help="GeoPackage, GeoParquet, Shapefile (.shp or .zip), GeoJSON, "
                                "or CSV with lon,lat or wkt columns")
    s.add_argument("-o", "--output", required=True,
                   help="OUT.parquet, OUT.gpkg or OUT.csv (one row per input feature)")
    s.add_argument("--format", choices=("parquet", "gpkg", "csv"), default=None)
    s.add_argument("--engine", choices=("local", "dask"), default="local")
    s.add_argument("--scheduler", default=None,
                   help="address of a running dask scheduler (default: a LocalCluster)")
    s.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    s.add_argument("--crs", default=None, help="input CRS when the file does not name one")
    s.add_argument("--layer", default=None, help="layer of a multi-layer GeoPackage")
    s.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    s.add_argument("--data-dir", default=None)

    s = sub.add_parser("export", help="export layers as geojson|gpkg|shp.zip|kml|csv")
    s.add_argument("format")
    s.add_argument("--layer", default="all")
    s.add_argument("--crs", default="EPSG:4326")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--data-dir", default=None)

    s = sub.add_parser("serve", help="serve the web map under a production WSGI server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--threads", type=int, default=None)
    s.add_argument("--workers", type=int, default=None,
                   help="web worker processes (gunicorn; default WEB_WORKERS = 1)")

    # issue 14: accounts (server/accountcmds.py)
    s = sub.add_parser("user", help="accounts: add|list|disable|enable|role|passwd|unlock")
    s.add_argument("action", choices=("add", "list", "disable", "enable", "role", "passwd",
                                      "unlock"))
    s.add_argument("username", nargs="?")
    s.add_argument("--org", default="", help="organisation (add)")
    s.add_argument("--role", choices=("planner", "admin"), default="planner")
    s.add_argument("--display", default="", help="full name (add)")
    s.add_argument("--password-stdin", action="store_true",
                   help="read the password from stdin (else PLANMAP_NEW_PASSWORD or a prompt)")

    s = sub.add_parser("token", help="API tokens: add USER | list [USER] | revoke ID")
    s.add_argument("action", choices=("add", "list", "revoke"))
    s.add_argument("username", nargs="?", help="user name (add, list) or token id (revoke)")
    s.add_argument("--name", default="", help="what the token is for (add)")

    s = sub.add_parser("audit", help="the audit log as CSV on stdout")
    s.add_argument("--user", default=None)
    s.add_argument("--action", default=None)
    s.add_argument("--limit", type=int, default=0, help="newest N rows (0 = all)")

    s = sub.add_parser("conflicts", help="plan-conflict report")
    s.add_argument("--format", choices=("json", "text"), default="text")
    s.add_argument("--distance", type=float, default=None)
    s.add_argument("--data-dir", default=None)
    return p


def _handler(command: str):
    if command in ("user", "token", "audit"):
        from planmap.server import accountcmds as commands
    elif command in ("layers", "import"):
        from planmap.layers import commands
    elif command in ("zones", "check", "conflicts"):
        from planmap.layers import zonecommands as commands
    elif command == "batch":
        from planmap.server import batch as commands
    else:
        from planmap.server import commands
    return getattr(commands, "run_" + command)


def _cache_dir(value: str) -> str | None:
    """CACHE_DIR: empty = ``$PLANMAP_HOME/cache`` when the instance folder is set, else the
    per-user cache folder (never inside the package); ``off`` = none."""
    import os
    from pathlib import Path

    from planmap.layers.store import HOME_ENV

    if value.strip().lower() == "off":
        return None
    if value:
        return value
    if os.environ.get(HOME_ENV):
        return str(Path(os.environ[HOME_ENV]).expanduser() / "cache")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "planmap")


def _local_settings(args) -> None:
    # Local files are the user's own: the CLI_MAX_* settings (default none), not HTTP's limits.
    from planmap.geo.limits import local_limits
    from planmap.server.settings import from_environ

    values = from_environ()
    args.limits = local_limits(values["CLI_MAX_BYTES"], values["CLI_MAX_UNZIPPED_BYTES"],
                               values["CLI_MAX_POINTS"])
    args.cache_dir = _cache_dir(str(values["CACHE_DIR"]))


def main(argv: list[str] | None = None) -> int:
    from planmap.geo.errors import PlanmapError

    args = _parser().parse_args(argv)
    if args.command == "user" and args.action != "list" and not args.username:
        print("planmap: user " + args.action + " needs a user name", file=sys.stderr)
        return 2
    try:
        _local_settings(args)
        status = int(_handler(args.command)(args) or 0)
        if args.command == "import":
            _audit_import(args, "ok" if status == 0 else "error", status)
        return status
    except PlanmapError as exc:
        if args.command == "import":
            _audit_import(args, "refused", 2, exc.code)
        where = f" [{exc.param}]" if exc.param else ""
        print(f"planmap: {exc.code}{where}: {exc.message_en}\n         {exc.message_zh}",
              file=sys.stderr)
        return 2


def _audit_import(args, result: str, status: int, detail: str = "") -> None:
    """An import or restore from the shell goes into the service's audit log too."""
    try:
        from planmap.server import accountcmds

        store = accountcmds._store()
        action = "restore" if getattr(args, "restore", False) else "import"
        target = f"{args.layer} {'' if args.restore else (args.file or '')}".strip()
        accountcmds.log(store, action, target, result, status, detail)
    except Exception as exc:  # the import itself is done; say that the log missed it
        print(f"planmap: audit log not written: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
