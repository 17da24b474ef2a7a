"""System pages under ``/-/``: health, version, settings."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from server import services
from server.settings import SETTINGS

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
            layer_status[lid] = {"status": "ok", "features": int(len(data.layers[lid]))}
    store = services().store.health()
    status = "degraded" if broken or store["status"] != "ok" else "ok"
    return jsonify({"status": status, "data_version": data.data_version, "layers": layer_status,
                    "store": store})


@bp.get("/version")
def version():
    return jsonify({"planmap": VERSION, "data_version": services().data.data_version})


@bp.get("/settings")
def settings_page():
    return jsonify([{"name": s.name, "value": current_app.config.get(s.name), "default": s.default,
                     "help": s.help} for s in SETTINGS if "TOKEN" not in s.name])
