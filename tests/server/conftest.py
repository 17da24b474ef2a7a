"""Fixtures shared by the server tests (the Flask tutorial's shape): the app, its test client
and its loaded plan data.  ``app`` is the session's read-only app (``readonly_app`` in
tests/conftest.py, built once); a module that changes the app's config, data or services
defines its own ``app`` fixture or sets ``OWN_APP = True`` (then it gets a fresh app with its
own SQLite file); ``client`` and ``data`` follow it."""

from __future__ import annotations

import pytest
from planmap.server import create_app


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


@pytest.fixture(params=["sqlite", "postgres"])
def check_store(request, tmp_path):
    """Open check stores of one backend at one place: ``check_store(**bounds)``, per backend.

    ``sqlite``: the file ``tmp_path/c.db``; ``postgres``: a fresh database (tests/pgcluster.py;
    skipped locally without PostgreSQL). ``check_store.backend`` names the backend.
    """
    if request.param == "sqlite":
        from planmap.server.store import CheckStore

        def make(**bounds):
            return CheckStore(tmp_path / "c.db", **bounds)
    else:
        from planmap.server.pgstate import PgCheckStore

        url = request.getfixturevalue("pg_fresh_url")

        def make(**bounds):
            return PgCheckStore(url, **bounds)
    make.backend = request.param
    return make
