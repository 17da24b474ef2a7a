"""Area and length units used in Chinese land administration.

* 1 公顷 (hectare, ha) = 10 000 m²
* 1 亩 (mu) = 10 000 / 15 m² ≈ 666.667 m² (the statutory 市亩; 15 亩 = 1 公顷)

All areas are measured in EPSG:4550 (see :mod:`geo.crs`) before they reach this module.
"""

from __future__ import annotations

import math

M2_PER_HA = 10_000.0
M2_PER_MU = 10_000.0 / 15.0


_SCALES = {k: 10.0 ** k for k in range(10)}
_FAST_LIMIT = 8e9  # below 2**33 half an ulp of x * 10**n is < 1e-6: see round_to


def round_to(x: float, ndigits: int) -> float:
    """``round(x, ndigits)``, bit for bit, at a fraction of its cost.

    CPython rounds through a decimal string (``_Py_dg_dtoa``), about 1,700 machine
    instructions a call; a site check rounds a hundred figures.  Here the scaled value
    ``r = x * 10**ndigits`` is rounded to the nearest integer ``k`` and ``k / 10**ndigits``
    returned: the double nearest to the decimal ``k / 10**ndigits``, as ``round`` returns.
    ``k`` is also the correct rounding of the exact product: float rounding is monotonic
    and every half-integer below ``_FAST_LIMIT`` is a double, so ``r`` and the exact
    product lie on the same side of each half-integer unless ``r`` is one.  Those ties
    (and, for margin, fractions within 1e-6 of ½), zero, negative, large and non-finite
    values go to ``round`` itself, which breaks ties to even.

    Parameters
    ----------
    x : float
        Value to round.
    ndigits : int
        Decimal places, 0 to 9.

    Returns
    -------
    float
    """
    scale = _SCALES[ndigits]
    r = x * scale
    if 0.0 < r < _FAST_LIMIT:
        k = math.floor(r)
        frac = r - k
        if abs(frac - 0.5) > 1e-6:
            return (k + (frac > 0.5)) / scale
    return round(x, ndigits)


def m2_to_ha(m2: float) -> float:
    """Convert square metres to 公顷 (hectares).

    Parameters
    ----------
    m2 : float
        Area in square metres.

    Returns
    -------
    float
        Area in hectares.
    """
    return float(m2) / M2_PER_HA


def m2_to_mu(m2: float) -> float:
    """Convert square metres to 亩 (1 亩 = 10000/15 m²).

    Parameters
    ----------
    m2 : float
        Area in square metres.

    Returns
    -------
    float
        Area in mu.
    """
    return float(m2) / M2_PER_MU


def area_fields(m2: float | None, prefix: str = "area") -> dict:
    """Return ``{prefix_m2, prefix_ha, prefix_mu}`` rounded for display, or ``None`` values.

    Rounding keeps far more digits than the data's accuracy warrants (0.01 m², 1e-6 ha,
    1e-4 亩) so that no precision is lost when a caller compares figures; presentation
    layers round further.

    Parameters
    ----------
    m2 : float or None
        Area in square metres; ``None`` (a point or line) gives ``None`` fields.
    prefix : str, optional
        Key prefix, e.g. ``"area"`` or ``"overlap"``.

    Returns
    -------
    dict
        Three keys ``<prefix>_m2``, ``<prefix>_ha``, ``<prefix>_mu``.
    """
    if m2 is None:
        return {f"{prefix}_m2": None, f"{prefix}_ha": None, f"{prefix}_mu": None}
    return {
        f"{prefix}_m2": round_to(float(m2), 2),
        f"{prefix}_ha": round_to(m2_to_ha(m2), 6),
        f"{prefix}_mu": round_to(m2_to_mu(m2), 4),
    }
