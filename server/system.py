"""System pages under ``/-/``: health, version, settings."""

from __future__ import annotations

import os
from pathlib import PurePath

from flask import Blueprint, current_app, jsonify
from planmap.server import services
from planmap.server.settings import SETTINGS

bp = Blueprint("system", __name__, url_prefix="/-")

VERSION = "0.1.0"


@bp.get("/health")
def health():
    """Layer and store status, data version; ``degraded`` when a layer failed to load or the
    check store cannot be written (full disk, read-only, corrupt, deleted, quota reached)."""
    data = services().data
    broken = dict(getattr(data, "errors", {}) or {})
    layer_status = {}
    for entry in data.catalog:
        lid = entry["id"]
        if lid in broken:
            layer_status[lid] = {"status": "error", "problem": broken[lid]}
        else:
            in_store = (getattr(data, "store_layers", None) or {}).get(lid)
            count = in_store.count if in_store is not None else len(data.layers[lid])
            layer_status[lid] = {"status": "ok", "features": int(count)}
    store = services().store.health()
    status = "degraded" if broken or store["status"] != "ok" else "ok"
    return jsonify({"status": status, "data_version": data.data_version, "layers": layer_status,
                    "store": store})


@bp.get("/version")
def version():
    return jsonify({"planmap": VERSION, "data_version": services().data.data_version})


def shown_value(name: str, value):
    """A setting's value as ``/-/settings`` shows it: paths cut to their last part.

    The server's folder layout is no business of an anonymous client, but which file is in
    use (and whether a path is set at all) helps an operator reading the page.
    """
    if isinstance(value, (str, PurePath)) and str(value) and (
            name.endswith(("_PATH", "_DIR")) or os.path.isabs(str(value))):
        text = str(value)
        last = PurePath(text).name
        return last if not os.path.isabs(text) and "/" not in text.replace("\\", "/") \
            else f"…/{last}"
    return value


@bp.get("/settings")
def settings_page():
    return jsonify([{"name": s.name, "value": shown_value(s.name, current_app.config.get(s.name)),
                     "default": shown_value(s.name, s.default), "help": s.help}
                    for s in SETTINGS if "TOKEN" not in s.name and s.name != "DATABASE_URL"])
