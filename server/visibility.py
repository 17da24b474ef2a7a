"""Per-layer visibility: layers restricted to planners (issue 14).

A layer is restricted when its id is in the ``RESTRICTED_LAYERS`` setting or its catalog
entry says ``"visibility": "planner"``.  For a request without a logged-in user (or token)
a restricted layer does not exist: it is absent from the map page, ``/api/v1`` (layers,
zones, site-check results), ``/ogc``, exports, tiles and search, and asking for it by name
answers 404 like an unknown layer.

Other blueprints call :func:`hidden_layers` / :func:`layer_visible` (e.g. the tile server:
``if not layer_visible(layer_id): raise NotFound(...)``), :func:`visible_data` (a view of
the plan data without the hidden layers) and :func:`filter_result` (drop entries of hidden
layers from a JSON answer).
"""

from __future__ import annotations

import dataclasses

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
