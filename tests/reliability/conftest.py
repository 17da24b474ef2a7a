"""Fixtures of the reliability suite: one app with default limits, shared read-mostly."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def rel_app(readonly_app):
    """The session's app with default limits (tests/conftest.py), shared read-mostly."""
    return readonly_app


@pytest.fixture(scope="session")
def rel_client(rel_app):
    return rel_app.test_client()
