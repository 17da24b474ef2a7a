"""``planmap serve`` and ``planmap export``."""

from __future__ import annotations

import sys


def run_serve(args) -> int:
    """Serve under waitress (never Flask's debug server)."""
    from waitress import serve

    from server import create_app

    app = create_app()
    app.debug = False  # debug (and its code-executing console) cannot be switched on here
    threads = args.threads or int(app.config["THREADS"])
    print(f"planmap: serving on http://{args.host}:{args.port}/ ({threads} threads)",
          file=sys.stderr)
    serve(app, host=args.host, port=args.port, threads=threads, ident="planmap")
    return 0


def run_export(args) -> int:
    from layers import export, load

    data = load(args.data_dir)
    export.write(data, args.format, layer=args.layer, crs=args.crs, path=args.output)
    print(args.output)
    return 0
