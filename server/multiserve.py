"""``planmap serve --workers N``: N web worker processes on one port (gunicorn).

Each gunicorn worker builds its own app (no preloading: the plan data, the zone indexes,
the SQLite store connection and the ``geo.budget`` pool are per process), so the workers
share nothing but the data folder and the store file: a check stored through one is read
through any other (SQLite WAL), and a layer import reaches each of them through
:mod:`server.reload`. Where gunicorn cannot run (not POSIX, or not installed) the single
waitress process of ``planmap serve`` serves instead, and says so.

gunicorn's ``gthread`` workers take ``THREADS`` threads each; slow clients are cut off by
its ``timeout``/``keepalive`` rather than by waitress's header and body deadlines, so a
public deployment puts nginx in front (docs/DEPLOY.md).
"""

from __future__ import annotations

import os
import sys


def gunicorn_available() -> bool:
    """True where gunicorn can run (POSIX, installed)."""
    if os.name != "posix":
        return False
    try:
        import gunicorn.app.base  # noqa: F401
    except ImportError:
        return False
    return True


def pool_size(web_workers: int, environ=None) -> int | None:
    """Site-check pool size per web worker, or None to keep the configured ``WORKERS``.

    Unless ``PLANMAP_WORKERS`` is set, the default pool (2 processes) is shared out over
    the web workers: ``max(1, 2 // N)`` each, so N web workers do not spawn 2N index-holding
    processes on a small machine.
    """
    from planmap.server.settings import DEFAULTS

    environ = os.environ if environ is None else environ
    if environ.get("PLANMAP_WORKERS"):
        return None
    return max(1, int(DEFAULTS["WORKERS"]) // max(1, web_workers))


def gunicorn_options(config: dict, host: str, port: int, web_workers: int,
                     threads: int | None = None) -> dict:
    """gunicorn settings derived from the app's settings."""
    return {
        "bind": f"{host}:{port}",
        "workers": int(web_workers),
        "worker_class": "gthread",
        "threads": int(threads or config["THREADS"]),
        "worker_connections": int(config["CONNECTION_LIMIT"]),
        # a worker silent for longer than the longest request (plus its pool wait) is stuck
        "timeout": int(float(config["REQUEST_TIME_LIMIT_S"]) + float(config["WORKER_WAIT_S"])
                       + 30),
        "graceful_timeout": 30,
        "keepalive": int(config["IDLE_TIMEOUT_S"]),
        "limit_request_line": 8190,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "planmap",
        "preload_app": False,
    }


def run(args, web_workers: int) -> int:
    """Serve with ``web_workers`` gunicorn processes (waitress fallback)."""
    from planmap.server.commands import _limit_heap_growth, production_app
    from planmap.server.settings import from_environ

    size = pool_size(web_workers)
    overrides = {} if size is None else {"WORKERS": size}
    if not gunicorn_available():
        print("planmap: gunicorn cannot run here; serving with one waitress process",
              file=sys.stderr)
        return None  # the caller serves under waitress
    from gunicorn.app.base import BaseApplication

    config = {**from_environ(), **overrides}
    options = gunicorn_options(config, args.host, args.port, web_workers, args.threads)

    def post_worker_init(worker):
        from planmap.server import workers

        _limit_heap_growth()
        pool = workers.pool(worker.wsgi)
        if pool is not None:
            pool.start()  # this worker's site-check processes build their index now

    def worker_exit(server, worker):
        from planmap.server import workers

        app = getattr(worker, "wsgi", None)
        pool = workers.pool(app) if app is not None else None
        if pool is not None:
            pool.close()

    class PlanmapApplication(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)
            self.cfg.set("post_worker_init", post_worker_init)
            self.cfg.set("worker_exit", worker_exit)

        def load(self):
            return production_app(overrides or None)

    print(f"planmap: serving on http://{args.host}:{args.port}/ ({web_workers} web workers "
          f"x {options['threads']} threads, {config['WORKERS']} site-check workers each)",
          file=sys.stderr)
    PlanmapApplication().run()
    return 0
