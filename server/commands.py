"""``planmap serve`` and ``planmap export``."""

from __future__ import annotations

import sys


def production_app(config: dict | None = None):
    """The app as ``serve`` runs it: debug and testing forced off, whatever the environment."""
    from server import create_app

    app = create_app(config)
    # debug (and its code-executing console) cannot be switched on here: FLASK_DEBUG,
    # PLANMAP_DEBUG or a config key are all overridden
    app.debug = False
    app.testing = False
    app.config["DEBUG"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def waitress_options(app, threads: int | None = None) -> dict:
    """waitress settings derived from the app's limits.

    ``max_request_body_size`` makes waitress refuse a body whose declared length is over
    MAX_BODY_BYTES before reading it (waitress otherwise buffers the whole body before
    the app sees the request).
    """
    return {"threads": threads or int(app.config["THREADS"]), "ident": "planmap",
            "max_request_body_size": int(app.config["MAX_BODY_BYTES"])}


def run_serve(args) -> int:
    """Serve under waitress (never Flask's debug server)."""
    from waitress import serve

    app = production_app()
    options = waitress_options(app, args.threads)
    print(f"planmap: serving on http://{args.host}:{args.port}/ ({options['threads']} threads)",
          file=sys.stderr)
    serve(app, host=args.host, port=args.port, **options)
    return 0


def run_export(args) -> int:
    from layers import export, load

    data = load(args.data_dir)
    export.write(data, args.format, layer=args.layer, crs=args.crs, path=args.output)
    print(args.output)
    return 0
