"""Fixtures of the reliability suite: one app with default limits, shared read-mostly."""

from __future__ import annotations

import pytest

from server import create_app


@pytest.fixture(scope="session")
def rel_app(tmp_path_factory):
    """One app with default limits for the whole reliability suite (read-mostly)."""
    return create_app({"DB_PATH": str(tmp_path_factory.mktemp("rel") / "checks.sqlite3")})


@pytest.fixture(scope="session")
def rel_client(rel_app):
    return rel_app.test_client()
