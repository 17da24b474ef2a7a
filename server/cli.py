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

    s = sub.add_parser("conflicts", help="plan-conflict report")
    s.add_argument("--format", choices=("json", "text"), default="text")
    s.add_argument("--distance", type=float, default=None)
    s.add_argument("--data-dir", default=None)
    return p


def _handler(command: str):
    if command in ("layers", "import"):
        from layers import commands
    elif command in ("zones", "check", "conflicts"):
        from geo import commands
    elif command == "batch":
        from server import batch as commands
    else:
        from server import commands
    return getattr(commands, "run_" + command)


def _cache_dir(value: str) -> str | None:
    """CACHE_DIR: empty = the per-user cache folder (never inside the package); ``off`` = none."""
    import os
    from pathlib import Path

    if value.strip().lower() == "off":
        return None
    if value:
        return value
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "planmap")


def _local_settings(args) -> None:
    # Local files are the user's own: the CLI_MAX_* settings (default none), not HTTP's limits.
    from geo.limits import local_limits
    from server.settings import from_environ

    values = from_environ()
    args.limits = local_limits(values["CLI_MAX_BYTES"], values["CLI_MAX_UNZIPPED_BYTES"],
                               values["CLI_MAX_POINTS"])
    args.cache_dir = _cache_dir(str(values["CACHE_DIR"]))


def main(argv: list[str] | None = None) -> int:
    from geo.errors import PlanmapError

    args = _parser().parse_args(argv)
    try:
        _local_settings(args)
        return int(_handler(args.command)(args) or 0)
    except PlanmapError as exc:
        where = f" [{exc.param}]" if exc.param else ""
        print(f"planmap: {exc.code}{where}: {exc.message_en}\n         {exc.message_zh}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
