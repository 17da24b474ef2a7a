"""The one vocabulary of planmap: clause effects, scopes, accuracy values, ids, CRS names.

Every module that names one of these values imports it from here (``geo/``, ``layers/``,
``server/`` and the OpenAPI document's enums); a test checks that the OpenAPI document's
enums equal these tuples.  This module imports only the standard library, except
:func:`metric_transformer` / :func:`wgs84_transformer`, which import pyproj when called.
"""

from __future__ import annotations

import re
import threading

# --------------------------------------------------------------------------- clauses

EFFECTS: tuple[str, ...] = ("prohibited", "restricted", "required", "encouraged")
"""Clause effects, strongest first."""

RESTRICTIVE_EFFECTS: tuple[str, ...] = ("prohibited", "restricted")
"""Effects that protect a zone (a binding zone prevails over encouraged uses)."""

NO_VERDICT = "none"
VERDICTS: tuple[str, ...] = EFFECTS + (NO_VERDICT,)
"""Possible verdicts of a site check, strongest first."""

EFFECT_RANK: dict[str, int] = {e: i for i, e in enumerate(EFFECTS)}
"""Position of an effect in :data:`EFFECTS` (0 = strongest)."""

SCOPES: tuple[str, ...] = ("zone", "activity", "citywide", "programme")
"""Clause scopes.

``zone``: governs any project inside the zones it applies to (sets a site check's verdict);
``activity``: governs only one kind of project there; ``citywide``: stated for the whole city
(listed in every check, never sets the verdict); ``programme``: a measure the government
carries out, listed where its zones are touched, never sets the verdict.
"""

# --------------------------------------------------------------------------- features

ACCURACY: tuple[str, ...] = ("official", "derived", "schematic")
"""Accuracy of a feature's geometry, best first."""

ID_PATTERN = r"^[a-z0-9_]+$"
"""Layer, feature and clause ids: lower-case ASCII letters, digits and ``_``."""
ID_RE = re.compile(ID_PATTERN)
LAYER_ID_MAX = 64
"""Longest layer id the HTTP API accepts."""
FEATURE_ID_MAX = 128
"""Longest feature id the HTTP API accepts."""


def id_pattern(max_len: int) -> str:
    """Return :data:`ID_PATTERN` bounded to ``1..max_len`` characters (a regex string).

    Parameters
    ----------
    max_len : int
        Longest id accepted.

    Returns
    -------
    str
        ``^[a-z0-9_]{1,max_len}$``.
    """
    return ID_PATTERN.replace("+", f"{{1,{max_len}}}")


# --------------------------------------------------------------------------- CRS

WGS84 = "EPSG:4326"
CGCS2000 = "EPSG:4490"
GK_CM123 = "EPSG:4550"
GK_ZONE41 = "EPSG:4529"
GCJ02 = "gcj02"
CRS84_NAME = "CRS84"

SUPPORTED_CRS: tuple[str, ...] = (WGS84, CGCS2000, GK_CM123, GK_ZONE41, GCJ02)
"""The only CRS names planmap accepts as input, in their normal form."""

CRS_PARAM_VALUES: tuple[str, ...] = SUPPORTED_CRS + (CRS84_NAME,)
"""The values the API documents for a ``crs`` parameter (the normal names and ``CRS84``)."""

EXPORT_CRS: tuple[str, ...] = (WGS84, CGCS2000, GK_CM123)
"""The CRSs a layer export can be written in."""

METRIC_CRS = GK_CM123
"""The metric CRS of lengths and areas (CGCS2000 3° Gauss-Krüger CM 123°E)."""

_local = threading.local()


def _transformer(src: str, dst: str):
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    found = cache.get((src, dst))
    if found is None:
        import pyproj

        found = cache[(src, dst)] = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    return found


def metric_transformer():
    """Return this thread's EPSG:4326 → EPSG:4550 transformer (``always_xy``).

    A pyproj ``Transformer`` must not be shared between threads, so each thread gets its
    own, built once.

    Returns
    -------
    pyproj.Transformer
    """
    return _transformer(WGS84, METRIC_CRS)


def wgs84_transformer():
    """Return this thread's EPSG:4550 → EPSG:4326 transformer (``always_xy``).

    Returns
    -------
    pyproj.Transformer
    """
    return _transformer(METRIC_CRS, WGS84)
