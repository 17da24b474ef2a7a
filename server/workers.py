"""The app's worker pool (``geo.budget.WorkerPool``): where site checks and conflict runs go.

One pool per distinct plan data in a process: apps built from the same data (the test
suite builds dozens) share it, so that the workers, each holding a zone index, are not
multiplied.  ``WORKERS = 0`` runs the work in the request thread with no time limit
(embedding, debugging; not for a public server).
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict

from flask import Flask, current_app
from planmap.geo.budget import WorkerPool

_POOLS_KEPT = 3  # distinct data sets with live pools in one process (tests make several)
_pools: OrderedDict = OrderedDict()
_lock = threading.Lock()


def _init_from_blob(blob: bytes, cache=None) -> dict:
    from planmap.geo.budget import zone_worker_init

    index = None
    if cache is not None:  # the server's zone-index cache file (server/startup.py)
        from planmap.geo import indexcache

        index = indexcache.load(*cache)
    return zone_worker_init(pickle.loads(blob), index=index)


def pool_for(data, size: int, cache=None) -> WorkerPool:
    """The shared pool for ``data`` (workers not started yet).

    ``cache``: ``(path, key)`` of the home zone index's cache file, which the workers read
    instead of building the index (built again when it is missing or stale).
    """
    blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    key = (hashlib.sha256(blob).hexdigest(), int(size), cache)
    with _lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        pool = WorkerPool(size, _init_from_blob, (blob, cache))
        _pools[key] = pool
        old = []
        while len(_pools) > _POOLS_KEPT:
            old.append(_pools.popitem(last=False)[1])
    for stale in old:
        stale.close()
    return pool


def register(app: Flask, data) -> None:
    """Attach the pool for ``data`` to ``app`` (``WORKERS`` processes)."""
    from planmap.server.startup import cache_entry

    size = int(app.config["WORKERS"])
    app.extensions["planmap_pool"] = (pool_for(data, size, cache_entry(app.config, data))
                                      if size > 0 else None)


def pool(app: Flask | None = None) -> WorkerPool | None:
    if app is None:
        from flask import has_request_context
        from planmap.server import services

        svc = services() if has_request_context() else None
        if svc is not None and hasattr(svc, "pool"):  # set by a data reload (server/reload.py)
            return svc.pool
    return (app or current_app).extensions.get("planmap_pool")


def retire(old: WorkerPool) -> None:
    """Forget and close a pool of data that is no longer served."""
    with _lock:
        for key, value in list(_pools.items()):
            if value is old:
                del _pools[key]
    old.close()


def run(fn, *args, **kwargs):
    """``fn(state, *args, **kwargs)`` in a worker under ``REQUEST_TIME_LIMIT_S``.

    Without a pool (``WORKERS = 0``) ``fn`` gets a state built from the app's own index.
    """
    config = current_app.config
    workers = pool()
    if workers is not None and workers.closed:  # dropped from the registry by newer apps
        # the full data: callers who may not see some layers get their answers computed
        # without them (server/visibility.py visible_task)
        register(current_app, current_app.extensions["planmap"].data)
        workers = pool()
    from flask import has_request_context
    from planmap.server.visibility import hidden_layers, visible_task

    hidden = hidden_layers() if has_request_context() else frozenset()
    if workers is None:
        from planmap.server import services

        # the request's services: without the layers it may not see (indexes included)
        svc = services() if has_request_context() else current_app.extensions["planmap"]
        return fn({"data": svc.data, "index": svc.index,
                   "plan_index": getattr(svc, "plan_index", None)}, *args, **kwargs)
    if hidden:  # computed in the worker without the hidden layers (server/visibility.py)
        args, fn = (hidden, fn, *args), visible_task
    return workers.run(fn, *args, seconds=float(config["REQUEST_TIME_LIMIT_S"]),
                       wait_s=float(config["WORKER_WAIT_S"]), **kwargs)
