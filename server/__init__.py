"""Flask app factory: ``create_app(config=None)``.

Layers and the zone index load once per process, here; views read them from
``current_app.extensions["planmap"]`` via :func:`services`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


@dataclass
class Services:
    """What every request needs, built once per process."""

    data: Any  # layers.PlanData
    index: Any  # geo.index.ZoneIndex
    store: Any  # server.store.CheckStore
    limits: Any  # geo.limits.Limits
    plan_index: Any = None  # geo.index.ZoneIndex of the non-home plans (issue 15)
    scope: Any = None  # geo.plans.PlanScope


def services() -> Services:
    """The app's services, read once per request (a data reload never mixes two versions),
    without the layers this request may not see (server/visibility.py)."""
    from flask import g, has_request_context

    if not has_request_context():
        return current_app.extensions["planmap"]
    pinned = g.get("planmap_services")
    if pinned is None:
        pinned = g.planmap_services = current_app.extensions["planmap"]
    if "planmap_accounts" not in current_app.extensions:
        return pinned
    from planmap.server.visibility import visible_data, visible_services

    data = visible_data(pinned.data)  # per call: the user is known only after server/auth.py
    # without hidden layers, indexes included: nothing is computed from what is not shown
    return pinned if data is pinned.data else visible_services(pinned, data)


def _plan_services(data, config=None):
    """Index of the non-home plans' layers and the plan scope (None, None without plans).

    With ``config`` the index comes from the ``CACHE_DIR`` cache when current
    (:func:`server.startup.plan_index`): it took ~25 s of every start.
    """
    from planmap.geo.index import ZoneIndex
    from planmap.geo.plans import other_plan_ids, scope_from_plan_data

    scope = scope_from_plan_data(data)
    if scope is None:
        return None, None
    if config is not None:
        from planmap.server.startup import plan_index

        return plan_index(config, data, other_plan_ids(scope)), scope
    return ZoneIndex.from_plan_data(data, plan_ids=other_plan_ids(scope)), scope


def create_app(config: dict | None = None) -> Flask:
    """Build the planmap WSGI app.

    ``config`` overrides the settings (defaults < ``PLANMAP_*`` environment < ``config``).
    """
    from planmap.geo.limits import Limits
    from planmap.server import delivery, errors, security, settings
    from planmap.server.store import open_check_store

    from planmap import layers

    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.config.update(settings.from_environ())
    if config:
        app.config.update(config)
    settings.instance_paths(app.config)  # DB_PATH empty = <HOME>/checks.sqlite3
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_BODY_BYTES"])
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    from planmap.layers.store import configured_store

    data = layers.load(app.config["DATA_DIR"] or None, strict=False,
                       store=configured_store(app.config.get("DATABASE_URL"),
                                              app.config.get("HOME")))
    from planmap.server.startup import home_index

    index = home_index(app.config, data)  # the zone-index cache when current (issue 12)
    limits = Limits(
        max_bytes=int(app.config["MAX_BODY_BYTES"]),
        max_vertices=int(app.config["MAX_VERTICES"]),
        max_parts=int(app.config["MAX_PARTS"]),
        max_points=int(app.config["MAX_POINTS"]),
        max_json_depth=int(app.config["MAX_JSON_DEPTH"]),
        max_unzipped_bytes=int(app.config["MAX_UNZIPPED_BYTES"]),
        max_features_per_page=int(app.config["MAX_FEATURES_PER_PAGE"]),
    )
    store = open_check_store(app.config)  # PostgreSQL when DATABASE_URL is set (issue 13)
    plan_index, scope = _plan_services(data, app.config)
    app.extensions["planmap"] = Services(data=data, index=index, store=store, limits=limits,
                                         plan_index=plan_index, scope=scope)

    from planmap.server import admission, workers

    workers.register(app, data)  # site checks and conflict runs: spawned workers, time limit
    admission.register(app)  # expensive-request slots and per-client rate limits
    from planmap.server import reload

    reload.register(app)  # a layer import reaches this process within DATA_CHECK_S

    from planmap.server import api, conflicts, exports, ogc, pages, search, system, tiles

    for module in (pages, api, exports, ogc, system, conflicts, tiles, search):
        app.register_blueprint(module.bp)
    from planmap.server import basemap

    basemap.register(app)  # issue 16: offline basemap tiles; refuses a GCJ-02 BASEMAP_URL
    from planmap.server import casefile  # issue 18: the report as a case file, its PDF

    app.register_blueprint(casefile.bp)
    errors.register(app)
    security.register(app)
    delivery.register(app)
    from planmap.server import auth

    # last: its after-request hook then sees answers before delivery gzips them
    auth.register(app)  # accounts, roles, sessions, CSRF, audit trail (docs/ACCOUNTS.md)
    from planmap.server import proxies

    proxies.register(app)  # TRUSTED_PROXIES: the client address behind nginx
    from planmap.server import visibility

    visibility.warm(app)  # indexes without the restricted layers, for anonymous callers
    return app
