"""``planmap serve`` and ``planmap export``."""

from __future__ import annotations

import sys


def production_app(config: dict | None = None):
    """The app as ``serve`` runs it: debug and testing forced off, whatever the environment."""
    from planmap.server import create_app

    app = create_app(config)
    # debug (and its code-executing console) cannot be switched on here: FLASK_DEBUG,
    # PLANMAP_DEBUG or a config key are all overridden
    app.debug = False
    app.testing = False
    app.config["DEBUG"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    if app.config.get("GC_FREEZE", True):
        freeze_start_objects()
    return app


def freeze_start_objects() -> None:
    """Exclude the objects built at start from later cyclic garbage collections.

    The zone indexes hold ~10^5 shapely geometries (tracked objects); every full collection
    walked them all, a pause of 100–250 ms in the middle of a request.  Frozen objects are
    still freed by reference counting; cycles among them are not: a data reload's old
    index (its lazy store tables refer to it) stays until ``gc.unfreeze()``: a reload
    unfreezes and freezes again once the old version is retired (server/reload.py).
    """
    import gc

    gc.collect()
    gc.freeze()


def waitress_options(app, threads: int | None = None) -> dict:
    """waitress settings derived from the app's limits.

    ``max_request_body_size`` makes waitress refuse a body whose declared length is over
    MAX_BODY_BYTES before reading it (waitress otherwise buffers the whole body before
    the app sees the request).  ``channel_timeout`` closes idle keep-alive connections;
    the header and body deadlines are :func:`make_server`'s (waitress only knows
    inactivity, which a client sending one byte a second never reaches).  ``poll()``
    instead of ``select()`` lifts the 1,024 file-descriptor ceiling under
    CONNECTION_LIMIT, and channels are checked every second.
    """
    config = app.config
    return {"threads": threads or int(config["THREADS"]), "ident": "planmap",
            "max_request_body_size": int(config["MAX_BODY_BYTES"]),
            "connection_limit": int(config["CONNECTION_LIMIT"]),
            "channel_timeout": int(config["IDLE_TIMEOUT_S"]),
            "cleanup_interval": 1, "asyncore_use_poll": True,
            # bodies arrive in 64 KiB reads, not 8 KiB: a 19 MiB upload costs the
            # event-loop thread 300 passes instead of 2,400
            "recv_bytes": 65536}


def make_server(app, host: str, port: int, threads: int | None = None):
    """A waitress server for ``app`` that also cuts off slow clients.

    A connection whose request line and headers are not complete ``HEADER_TIMEOUT_S``
    after they began (its first byte, or its opening for a new connection), or whose
    body is not complete ``BODY_TIMEOUT_S`` after the headers, is closed: a slow client
    (slowloris) holds a connection for seconds, not for as long as it likes.
    """
    import time

    from waitress import create_server
    from waitress.channel import HTTPChannel

    header_s = float(app.config["HEADER_TIMEOUT_S"])
    body_s = float(app.config["BODY_TIMEOUT_S"])

    class BoundedChannel(HTTPChannel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.phase_start = self.creation_time  # waiting for the first request
            self.headers_seen = False
            self._tracked = None

        def received(self, data):
            now = time.time()
            result = super().received(data)
            req = self.request
            if req is None:  # nothing half-received: the idle timeout governs
                self.phase_start, self._tracked = None, None
            elif req is not self._tracked:  # a new request began in this data
                self._tracked, self.phase_start = req, now
                self.headers_seen = bool(req.headers_finished)
            elif req.headers_finished and not self.headers_seen:
                self.headers_seen, self.phase_start = True, now
            return result

    server = create_server(app, host=host, port=port, **waitress_options(app, threads))
    servers = [server] + [s for s in getattr(server, "effective_listen", ()) or ()
                          if hasattr(s, "maintenance")]
    for srv in servers:
        srv.channel_class = BoundedChannel
        idle_check = srv.maintenance

        def maintenance(now, _srv=srv, _idle=idle_check):
            _idle(now)
            for channel in list(_srv.active_channels.values()):
                start = getattr(channel, "phase_start", None)
                if start is None or channel.requests:
                    continue  # idle, or being answered (the app's own limits apply)
                limit = body_s if channel.headers_seen else header_s
                if now - start > limit:
                    channel.will_close = True

        srv.maintenance = maintenance
    return server


def _limit_heap_growth() -> None:
    """Keep freed memory returnable (glibc; no-op elsewhere).

    Under mixed load RSS grew 65 % and was never returned: each thread got its own malloc
    arena, and glibc's sliding mmap threshold moved large buffers (request bodies, answers
    of MBs) into those arenas, where freed holes stay mapped.  Two arenas, and a fixed
    512 KiB threshold above which every buffer is its own mapping, given back on free.
    """
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 512 * 1024)  # M_MMAP_THRESHOLD (setting it stops the sliding)
    except (OSError, AttributeError):
        pass


def run_serve(args) -> int:
    """Serve under waitress (never Flask's debug server); ``--workers N`` > 1: gunicorn."""
    import signal

    from planmap.server import workers

    web = getattr(args, "workers", None)
    if web is None:
        from planmap.server.settings import from_environ

        web = int(from_environ()["WEB_WORKERS"])
    if int(web) > 1:
        from planmap.server import multiserve

        status = multiserve.run(args, int(web))
        if status is not None:
            return status

    # SIGTERM (systemd, docker stop) ends the loop like Ctrl-C, so the workers are stopped
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _limit_heap_growth()
    app = production_app()
    pool = workers.pool(app)
    if pool is not None:
        pool.start()  # spawn the workers now: they build their zone index while we start
    server = make_server(app, args.host, args.port, args.threads)
    print(f"planmap: serving on http://{args.host}:{args.port}/ "
          f"({server.adj.threads} threads, {pool.size if pool else 0} workers)",
          file=sys.stderr)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if pool is not None:
            pool.close()
    return 0


def run_export(args) -> int:
    from planmap.layers import export, load

    data = load(args.data_dir)
    export.write(data, args.format, layer=args.layer, crs=args.crs, path=args.output)
    print(args.output)
    return 0
