"""Fixtures shared by the server tests (the Flask tutorial's shape): the app, its test client
and its loaded plan data.  ``app`` is the session's read-only app (``readonly_app`` in
tests/conftest.py, built once); a module that changes the app's config, data or services
defines its own ``app`` fixture or sets ``OWN_APP = True`` (then it gets a fresh app with its
own SQLite file); ``client`` and ``data`` follow it."""

from __future__ import annotations

import pytest

from server import create_app


@pytest.fixture(scope="module")
def app(request, tmp_path_factory):
    if getattr(request.module, "OWN_APP", False):
        return create_app({"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db")})
    return request.getfixturevalue("readonly_app")


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def data(app):
    return app.extensions["planmap"].data
