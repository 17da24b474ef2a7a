"""Named size limits for user input.

The server fills a :class:`Limits` from its settings (``PLANMAP_MAX_*``); the
library checks them *before* any heavy work.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upper bounds on one request's input.

    Attributes
    ----------
    max_bytes : int
        Largest accepted upload or body, in bytes.
    max_vertices : int
        Most vertices in one site geometry (all parts and rings).
    max_parts : int
        Most parts (polygons, lines, parcels) in one site.
    max_points : int
        Most points in one batch zone query.
    max_json_depth : int
        Deepest nesting accepted in a JSON document.
    max_unzipped_bytes : int
        Largest total size of the members of an uploaded zip.
    max_features_per_page : int
        Largest ``limit`` accepted for paged feature lists.
    """

    max_bytes: int = 20 * 1024 * 1024
    max_vertices: int = 200_000
    max_parts: int = 1_000
    max_points: int = 1_000_000
    max_json_depth: int = 64
    max_unzipped_bytes: int = 100 * 1024 * 1024
    max_features_per_page: int = 1_000


DEFAULT_LIMITS = Limits()

NO_LIMIT = 2**62
"""Stands for "no limit" in a :class:`Limits` field (larger than any file or count)."""


def local_limits(max_bytes: int = 0, max_unzipped_bytes: int = 0, max_points: int = 0,
                 base: Limits = DEFAULT_LIMITS) -> Limits:
    """Limits for files on the user's own disk (the command line): 0 means no limit.

    Parameters
    ----------
    max_bytes, max_unzipped_bytes, max_points : int
        The ``CLI_MAX_*`` settings; 0 (their default) lifts the bound.
    base : Limits
        Where the other fields (site vertices, parts, JSON depth) come from.

    Returns
    -------
    Limits
    """
    from dataclasses import replace

    return replace(base, max_bytes=int(max_bytes) or NO_LIMIT,
                   max_unzipped_bytes=int(max_unzipped_bytes) or NO_LIMIT,
                   max_points=int(max_points) or NO_LIMIT)
