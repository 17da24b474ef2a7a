"""Fixtures shared by the server tests (the Flask tutorial's shape): one app per test module,
with its own SQLite file, its test client and its loaded plan data.  A module that needs other
settings defines its own ``app``; ``client`` and ``data`` follow it."""

from __future__ import annotations

import pytest

from server import create_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db")})


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def data(app):
    return app.extensions["planmap"].data
