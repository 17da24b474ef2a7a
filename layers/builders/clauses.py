"""Policy clauses a site check applies (verbatim plan text with citations)."""

from __future__ import annotations

CLAUSES: list[dict] = []


def build(known_ids: set[str]) -> list[dict]:
    """Return the clauses, checking citations and that ``applies_to`` ids exist."""
    return []
