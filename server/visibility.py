"""Per-layer visibility: layers restricted to planners (issue 14).

A layer is restricted when its id is in the ``RESTRICTED_LAYERS`` setting or its catalog
entry says ``"visibility": "planner"``.  For a request without a logged-in user (or token)
a restricted layer does not exist: it is absent from the map page, ``/api/v1`` (layers,
zones, site-check results), ``/ogc``, exports, tiles and search, and asking for it by name
answers 404 like an unknown layer.

What such a caller gets is computed without the hidden layers, not filtered afterwards:
:func:`server.services` hands them zone indexes of the visible data
(:func:`visible_services`), and :func:`server.workers.run` runs their pooled work on a
worker state without those layers (:func:`visible_task`) — so a site check's verdict can
never come from a zone the caller cannot see.

Other blueprints call :func:`hidden_layers` / :func:`layer_visible` (e.g. the tile server:
``if not layer_visible(layer_id): raise NotFound(...)``), :func:`visible_data` (a view of
the plan data without the hidden layers) and :func:`filter_result` (drop entries of hidden
layers from a JSON answer).
"""

from __future__ import annotations

import dataclasses
import threading

from flask import current_app, g, has_request_context


def restricted_layers(data=None, config=None) -> frozenset[str]:
    """Ids of the layers restricted to planners (setting + catalog flag)."""
    config = config if config is not None else current_app.config
    data = data if data is not None else current_app.extensions["planmap"].data
    raw = str(config.get("RESTRICTED_LAYERS") or "")
    key = (id(data), raw)
    cached = _restricted.get(key)
    if cached is not None and cached[0] is data:  # asked several times per request
        return cached[1]
    named = {s.strip() for s in raw.split(",") if s.strip()}
    flagged = {e["id"] for e in getattr(data, "catalog", ()) or ()
               if str(e.get("visibility", "")).lower() in ("planner", "restricted")}
    found = frozenset(named | flagged)
    if len(_restricted) > 16:
        _restricted.clear()
    _restricted[key] = (data, found)
    return found


_restricted: dict = {}


def sees_restricted() -> bool:
    """True when the current request comes from a logged-in planner/admin (or their token)."""
    if not has_request_context():
        return True  # the command line and workers: the local operator sees everything
    return getattr(g, "pm_user", None) is not None


def hidden_layers() -> frozenset[str]:
    """The layer ids the current request must not see (empty for planners and admins)."""
    if sees_restricted():
        return frozenset()
    return restricted_layers()


def layer_visible(layer_id: str) -> bool:
    return layer_id not in hidden_layers()


_views: dict = {}


def visible_data(data):
    """``data`` without the layers hidden from the current request (the same object when
    none is hidden); views are cached per data object and hidden set."""
    hidden = hidden_layers()
    if not hidden:
        return data
    return data_without(data, hidden)


def data_without(data, hidden: frozenset[str]):
    """A view of the plan data without the layers ``hidden`` (no Flask needed: workers)."""
    if not hidden:
        return data
    key = (id(data), hidden)
    found = _views.get(key)
    if found is not None and found[0] is data:
        return found[1]
    # clauses stay (they are plan text) but stop naming hidden layers and their features
    gone = set(hidden)
    for lid in hidden:
        gdf = data.layers.get(lid)
        if gdf is not None:
            gone.update(str(i) for i in gdf.index)
    def without(clause):
        out = dict(clause)
        for key in ("applies_to", "official_layers"):
            if key in out:
                out[key] = [a for a in out[key] or [] if a not in gone]
        return out

    clauses = [without(c) if set(c.get("applies_to") or []) & gone else c
               for c in getattr(data, "clauses", None) or []]
    view = dataclasses.replace(
        data, catalog=[e for e in data.catalog if e["id"] not in hidden],
        layers={k: v for k, v in data.layers.items() if k not in hidden}, clauses=clauses,
        store_layers={k: v for k, v in (getattr(data, "store_layers", None) or {}).items()
                      if k not in hidden})
    if len(_views) > 8:
        _views.clear()
    _views[key] = (data, view)
    return view


# --- answers computed without the hidden layers (issue 14: no verdict from a hidden zone)
#
# A site check's verdict, a point query's tiers, a batch's pair count, a conflict run and
# a report's map must not be computed from features the caller may not see and filtered
# afterwards (the verdict would still come from them): callers who cannot see some layers
# get zone indexes built from the data without those layers — in this process for work in
# the request thread (:func:`visible_services`, built once per data version and hidden
# set, warmed at start-up by :func:`warm`), and in each worker process for pooled work
# (:func:`visible_task`, built at the worker's first such task and kept in its state).

_services: dict = {}
_services_lock = threading.Lock()


def _state_for(data) -> dict:
    from planmap.geo.budget import zone_worker_init

    return zone_worker_init(data)


def visible_services(svc, data):
    """``svc`` with ``data`` (a view from :func:`data_without`) and indexes of that view."""
    key = (id(svc), id(data))
    found = _services.get(key)
    if found is not None and found[0] is svc and found[1] is data:
        return found[2]
    with _services_lock:  # one build; concurrent callers wait for it
        found = _services.get(key)
        if found is not None and found[0] is svc and found[1] is data:
            return found[2]
        state = _state_for(data)
        view = dataclasses.replace(svc, data=data, index=state["index"],
                                   plan_index=state["plan_index"]
                                   if svc.plan_index is not None else None)
        if hasattr(svc, "pool"):  # set by a data reload (server/reload.py)
            view.pool = svc.pool
        if len(_services) > 4:
            _services.clear()
        _services[key] = (svc, data, view)
        return view


def visible_task(state: dict, hidden, fn, *args, **kwargs):
    """Worker task: ``fn`` on a state (data, indexes) without the ``hidden`` layers."""
    hidden = frozenset(hidden)
    views = state.setdefault("planmap_visible", {})
    sub = views.get(hidden)
    if sub is None:
        sub = views[hidden] = _state_for(data_without(state["data"], hidden))
    return fn(sub, *args, **kwargs)


def warm(app) -> None:
    """Build the anonymous callers' indexes in the background when some layer is restricted
    (so that the first anonymous request does not wait for them)."""
    svc = app.extensions["planmap"]
    hidden = restricted_layers(svc.data, app.config)
    if not hidden:
        return

    def build():
        try:
            visible_services(svc, data_without(svc.data, hidden))
        except Exception:  # noqa: BLE001 - built again by the first request that needs it
            app.logger.exception("planmap: index without restricted layers not prebuilt")

    threading.Thread(target=build, daemon=True, name="planmap-visible-index").start()


def filter_result(body, hidden: frozenset[str] | None = None):
    """Remove, at any depth, what belongs to a hidden layer: list items that are (or hold,
    as a direct field, e.g. a conflict's ``prevailing`` zone) a dict whose ``layer`` (or
    ``properties.layer``) is hidden, and dict fields holding such a dict (set to None).
    Returns (body, number removed)."""
    hidden = hidden_layers() if hidden is None else hidden
    if not hidden:
        return body, 0
    dropped = 0

    def belongs(item) -> bool:
        if not isinstance(item, dict):
            return False
        layer = item.get("layer")
        if layer is None and isinstance(item.get("properties"), dict):
            layer = item["properties"].get("layer")
        return isinstance(layer, str) and layer in hidden

    def holds(item) -> bool:
        return belongs(item) or (isinstance(item, dict) and any(
            belongs(v) for v in item.values()))

    def walk(value):
        nonlocal dropped
        if isinstance(value, list):
            kept = []
            for item in value:
                if holds(item):
                    dropped += 1
                    continue
                kept.append(walk(item))
            return kept
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if belongs(v):
                    dropped += 1
                    out[k] = None
                else:
                    out[k] = walk(v)
            return out
        return value

    return walk(body), dropped
