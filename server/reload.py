"""Hot data reload: a layer import (from the CLI or another worker) reaches a running app.

Every web worker process holds its own :class:`server.Services` (plan data, zone indexes).
At most once every ``DATA_CHECK_S`` seconds a request checks the data folder's files
(``catalog.json``, ``clauses.json``, the layer files the catalog names, ``plans/``) by
size and modification time; when they changed, a background thread loads the new data,
builds its indexes and a worker pool, and publishes them with one assignment of
``app.extensions["planmap"]``. Each request reads the services once
(:func:`server.services` pins them on ``flask.g``), so no response mixes two versions;
requests keep being answered from the old data while the new one builds.

The layer store counts as a data file: its version token (:func:`store_token`: the
GeoPackage ``state.json`` files or the PostGIS pointer table) is part of the signature, so
an import into a shared PostGIS store from any machine reaches every worker the same way.
While a new version builds, requests past ``RELOAD_REQUEST_SLOTS`` wait for a slot
(:func:`_enter_gate`, at most ``RELOAD_WAIT_S``) so that the build is not starved of the GIL
by many request threads.

The stored checks and the accounts need no reload: every worker opens the same SQLite
files (WAL), or the same PostgreSQL database when ``DATABASE_URL`` is set.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from flask import Flask, current_app

_EXT = "planmap_reload"
SETTLE_S = 0.2
"""Seconds the data files must stay unchanged before they are loaded."""


def _data_dir(app: Flask) -> Path:
    if app.config.get("DATA_DIR"):
        return Path(app.config["DATA_DIR"])
    from planmap.layers import loader

    return Path(loader.__file__).resolve().parent


def signature(data_dir: Path) -> tuple:
    """Size and modification time of every file the plan data is loaded from.

    Parameters
    ----------
    data_dir : Path

    Returns
    -------
    tuple
        Comparable: equal tuples mean unchanged files (a missing file counts as missing).
    """
    import json

    names = ["catalog.json", "clauses.json"]
    try:
        doc = json.loads((data_dir / "catalog.json").read_bytes())
        names += [str(e.get("file") or f"data/{e['id']}.geojson")
                  for e in doc.get("layers", []) if isinstance(e, dict)]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # an unreadable catalog: its own stat still shows when it changes
    plans = data_dir / "plans"
    try:
        names += sorted(f"plans/{p.name}" for p in plans.iterdir())
    except OSError:
        pass
    out = []
    for name in names:
        try:
            st = os.stat(data_dir / name)
            out.append((name, st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append((name, None, None, None))
    return tuple(out)


def layer_store(config):
    """The layer store the app loads from (as :func:`server.create_app` opens it), or None."""
    from planmap.layers.store import configured_store, default_store

    store = configured_store(config.get("DATABASE_URL"), config.get("HOME"))
    if store is None:
        store = default_store()
    return store or None


def store_token(store, last: str = "") -> str:
    """The layer store's version token (:meth:`layers.store.LayerStore.token`).

    It changes whenever an import or restore activates a version, in any process or on any
    machine sharing the store (the GeoPackage folder's ``state.json`` files, the PostGIS
    pointer table ``planmap_layer``). A store that cannot be read now gives ``last``: an
    unreachable database is not a new version (the next check asks again).
    """
    if store is None:
        return ""
    try:
        return "store:" + store.token()
    except Exception:  # noqa: BLE001 - any failure: keep serving what is loaded
        return last


class _Watch:
    def __init__(self, data_dir: Path, interval: float, config, slots: int):
        self.data_dir, self.interval, self.config = data_dir, interval, config
        self._store = None
        self.token = store_token(self.store())
        self.current = self.signature()
        self.checked = time.monotonic()
        self.lock = threading.Lock()
        self.building = False
        self.swaps = 0
        self.slots = slots
        self.gate = threading.BoundedSemaphore(slots) if slots > 0 else None

    def store(self):
        """The layer store, opened once it exists (a GeoPackage store appears at the first
        import into ``HOME``)."""
        if self._store is None:
            try:
                self._store = layer_store(self.config)
            except Exception:  # noqa: BLE001 - asked again at the next check
                return None
        return self._store

    def signature(self) -> tuple:
        """The data folder's :func:`signature` and the layer store's token, one tuple."""
        self.token = store_token(self.store(), self.token)
        return signature(self.data_dir) + ((self.token, None, None, None),)


def register(app: Flask) -> None:
    """Check for new data before requests (``DATA_CHECK_S`` > 0)."""
    interval = float(app.config.get("DATA_CHECK_S", 0) or 0)
    if interval <= 0:
        return
    slots = int(app.config.get("RELOAD_REQUEST_SLOTS", 0) or 0)
    app.extensions[_EXT] = _Watch(_data_dir(app), interval, app.config, slots)
    app.before_request(_maybe_reload)
    app.teardown_request(_leave_gate)
    _seed_cache(app)


def _enter_gate(watch: _Watch) -> None:
    """While a new version builds, let at most ``RELOAD_REQUEST_SLOTS`` requests run at once.

    The build runs in a thread of this process and needs the GIL; 8 (or 32) request threads
    would each get as large a share, and the build took up to a minute under load. Requests
    past the slots wait here (not counted as CPU) until a slot frees, the build finishes, or
    ``RELOAD_WAIT_S`` has passed (then they run anyway: never an error for a wait). The wait
    is short on purpose: a build that waits for another process (the index cache's lock) or
    hangs must slow requests by at most that, never hold them until their clients give up.
    """
    from flask import g

    if watch.gate is None or not watch.building:
        return
    limit = float(current_app.config.get("RELOAD_WAIT_S", 1.0) or 0)
    deadline = time.monotonic() + limit
    while watch.building and time.monotonic() < deadline:
        if watch.gate.acquire(timeout=min(0.05, max(deadline - time.monotonic(), 0.001))):
            g.planmap_reload_slot = watch.gate
            return


def _leave_gate(_exc=None) -> None:
    from flask import g

    gate = g.pop("planmap_reload_slot", None)
    if gate is not None:
        gate.release()


def _seed_cache(app: Flask) -> None:
    """Save the index just built into the cache, if it has none for this data folder.

    A served folder then has a cache file, which ``planmap import`` refreshes after an
    import (layers/commands.py): the workers load the new index instead of building it.
    """
    from planmap.geo import indexcache
    from planmap.layers.zonecommands import cache_file

    try:
        where = cache_file(_cache_args(app), "zoneindex")
    except OSError:
        return
    if where is None or where[0].exists():
        return
    index = app.extensions["planmap"].index

    def save():
        try:
            indexcache.save(index, where[0], where[1])
        except OSError:
            pass  # no cache: each worker builds the index itself on a reload

    threading.Thread(target=save, daemon=True, name="planmap-cache-seed").start()


def _maybe_reload() -> None:
    app = current_app._get_current_object()
    watch = app.extensions[_EXT]
    if watch.building:
        _enter_gate(watch)
        return
    now = time.monotonic()
    if now - watch.checked < watch.interval:
        return
    with watch.lock:
        if now - watch.checked < watch.interval or watch.building:
            return
        watch.checked = now
        sig = watch.signature()
        if sig == watch.current:
            return
        watch.building = True
    threading.Thread(target=_rebuild, args=(app, watch, sig), daemon=True,
                     name="planmap-reload").start()


def _wait_for_import(app: Flask) -> None:
    """Wait while ``planmap import`` holds this data folder's index-cache lock.

    The import holds it from its first written file until its cache refresh is saved
    (layers/commands.py): loading after it means the finished data and an index from the
    cache, instead of a half-written state, an index built here under load, and a second
    reload for the rest.
    """
    from planmap.geo import indexcache
    from planmap.layers.zonecommands import cache_file

    try:
        where = cache_file(_cache_args(app), "zoneindex")
    except OSError:
        return
    if where is not None:
        with indexcache.building(where[0]):
            pass


def _rebuild(app: Flask, watch: _Watch, sig: tuple) -> None:
    started = time.monotonic()
    try:
        _wait_for_import(app)
        sig = watch.signature()
        while True:  # an import writes the layer, then the catalog: wait until both are there
            time.sleep(SETTLE_S)
            again = watch.signature()
            if again == sig:
                break
            sig = again
        changed = changed_files(watch.current, sig)
        swap(app, changed)
        watch.current = sig
        watch.swaps += 1
        print(f"planmap: new data version served by process {os.getpid()}, "
              f"{time.monotonic() - started:.1f} s after it was noticed", file=sys.stderr)
    except Exception as exc:  # a broken import must not stop serving the current data
        print(f"planmap: data reload failed, still serving the previous data: {exc!r}",
              file=sys.stderr)
        watch.current = sig  # retried when the files change again
    finally:
        watch.checked = time.monotonic()
        watch.building = False


def changed_files(before: tuple, after: tuple) -> set:
    """Names whose entry differs between two :func:`signature` tuples (added, removed or
    changed files), matched by name: a new layer's file in the middle of the catalog
    must not make every file after it look changed (and the other plans' index rebuilt)."""
    old = {e[0]: e for e in before}
    new = {e[0]: e for e in after}
    return {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}


def _cache_args(app: Flask):
    from argparse import Namespace

    from planmap.server.cli import _cache_dir

    return Namespace(data_dir=app.config["DATA_DIR"] or None,
                     cache_dir=_cache_dir(str(app.config.get("CACHE_DIR", ""))))


def _home_index(app: Flask, data):
    """The home plan's index: from the index cache when another process built it already.

    Several web workers see an import at once; the command line's cache (``CACHE_DIR``,
    :func:`layers.zonecommands._cached`, one builder at a time under the cache file's lock) lets
    one of them build it (or ``planmap import``, which warms it) and the others load it:
    a fraction of a second instead of seconds of CPU each.
    """
    from planmap.server.startup import home_index

    # keyed by the store versions ``data`` holds (not what the store says now: an import
    # activated meanwhile must not file this index under the newer version's key)
    return home_index(app.config, data)


def _other_files(data, scope) -> set:
    """Files the other plans' index depends on (their layers, the shared files)."""
    from planmap.geo.plans import other_plan_ids

    layers = scope.layers_of(other_plan_ids(scope)) if scope is not None else set()
    files = {str(e.get("file") or f"data/{e['id']}.geojson") for e in data.catalog
             if e["id"] in layers}
    return files | {"clauses.json", "data/admin.geojson"}


def _reusable_plan_index(old, data, scope, changed) -> bool:
    """True when nothing the other plans' index is built from changed."""
    if old.plan_index is None or scope is None or old.scope is None or changed is None:
        return False
    if any(n.startswith("plans/") for n in changed):
        return False
    if changed & (_other_files(data, scope) | _other_files(old.data, old.scope)):
        return False
    layers = scope.layers_of([p for p in scope.layer_plan.values() if p != scope.home])
    entries = [e for e in data.catalog if e["id"] in layers]
    return entries == [e for e in old.data.catalog if e["id"] in layers]


def swap(app: Flask, changed: set | None = None) -> None:
    """Load the data folder again and publish new services (one atomic assignment).

    Parameters
    ----------
    app : Flask
    changed : set of str, optional
        The data files that changed (names relative to the data folder); when none of
        the other plans' files is among them, their index is kept. None: rebuild all.
    """
    from planmap.geo.plans import other_plan_ids, scope_from_plan_data
    from planmap.server import Services, startup, workers

    from planmap import layers

    old = app.extensions["planmap"]
    # the store create_app loaded from (DATABASE_URL / HOME), not only the environment's
    data = layers.load(app.config["DATA_DIR"] or None, strict=False,
                       store=layer_store(app.config) or False)
    index = _home_index(app, data)
    scope = scope_from_plan_data(data)
    if _reusable_plan_index(old, data, scope, changed):
        plan_index = old.plan_index
    else:
        # from the index cache when another process (an import, a worker) built it
        plan_index = (startup.plan_index(app.config, data, other_plan_ids(scope))
                      if scope is not None else None)
    fresh = Services(data=data, index=index, store=old.store, limits=old.limits,
                     plan_index=plan_index, scope=scope)
    size = int(app.config["WORKERS"])
    old_pool = getattr(old, "pool", app.extensions.get("planmap_pool"))
    pool = workers.pool_for(data, size) if size > 0 else None
    if pool is not None:
        pool.start()
    fresh.pool = pool  # read with the services (server.workers.pool), so never mixed
    # Per-data caches of the old version are dropped with it.
    for key in ("planmap_pages", "planmap_conflicts"):
        app.extensions.pop(key, None)
    app.extensions["planmap_pool"] = pool
    app.extensions["planmap"] = fresh
    limit = float(app.config.get("REQUEST_TIME_LIMIT_S", 30)) + 5
    if old_pool is not None and old_pool is not pool:
        # requests already holding the old services finish on the old pool first
        threading.Timer(limit, workers.retire, (old_pool,)).start()
    _refreeze_later(limit)


def _refreeze_later(delay: float) -> None:
    """Let the old version be collected, then freeze the new one (``GC_FREEZE``).

    ``planmap serve`` froze the start-up objects (server/commands.py): frozen cycles are
    never collected, and the old index is one (its lazy store tables refer back to it).
    Unfrozen now, the old objects are freed by the next collection once the last request
    holding them has finished; after ``delay`` (those requests' time limit) what is alive,
    the new version, is frozen again.
    """
    import gc

    if not gc.get_freeze_count():
        return  # nothing was frozen (tests, GC_FREEZE off)
    gc.unfreeze()

    def refreeze():
        gc.collect()
        gc.freeze()

    timer = threading.Timer(delay, refreeze)
    timer.daemon = True
    timer.start()
