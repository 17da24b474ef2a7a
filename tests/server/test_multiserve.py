"""``planmap serve --workers N``: gunicorn settings from the app's, pools shared out."""

from __future__ import annotations

from planmap.server import multiserve
from planmap.server.settings import DEFAULTS


def test_the_site_check_pool_is_shared_out_over_the_web_workers():
    assert multiserve.pool_size(2, {}) == max(1, DEFAULTS["WORKERS"] // 2)
    assert multiserve.pool_size(8, {}) == 1  # never 0: every worker keeps its time limit
    assert multiserve.pool_size(2, {"PLANMAP_WORKERS": "3"}) is None  # the operator's choice


def test_gunicorn_options_follow_the_settings():
    config = {**DEFAULTS, "THREADS": 5, "CONNECTION_LIMIT": 77, "IDLE_TIMEOUT_S": 9}
    opts = multiserve.gunicorn_options(config, "127.0.0.1", 8123, 3)
    assert opts["bind"] == "127.0.0.1:8123" and opts["workers"] == 3
    assert opts["threads"] == 5 and opts["worker_connections"] == 77
    assert opts["keepalive"] == 9
    assert opts["preload_app"] is False  # each worker loads its own data, store, pool
    # a request may take REQUEST_TIME_LIMIT_S after waiting WORKER_WAIT_S: not "stuck"
    assert opts["timeout"] > config["REQUEST_TIME_LIMIT_S"] + config["WORKER_WAIT_S"]
    assert multiserve.gunicorn_options(config, "h", 1, 2, threads=2)["threads"] == 2


def test_without_gunicorn_serve_falls_back_to_waitress(monkeypatch, capsys):
    import argparse

    monkeypatch.setattr(multiserve, "gunicorn_available", lambda: False)
    args = argparse.Namespace(host="127.0.0.1", port=0, threads=None, workers=2)
    assert multiserve.run(args, 2) is None  # run_serve then serves under waitress
    assert "waitress" in capsys.readouterr().err
