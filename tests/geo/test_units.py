"""geo.units: 亩/公顷 conversions and the fast exact rounding used in every result."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from planmap.geo.units import M2_PER_HA, M2_PER_MU, area_fields, round_to


def test_a_2km_square_is_400_ha_and_6000_mu():
    fields = area_fields(2000.0 * 2000.0)
    assert fields == {"area_m2": 4_000_000.0, "area_ha": 400.0, "area_mu": 6000.0}
    assert M2_PER_HA / M2_PER_MU == 15.0


def _same(a: float, b: float) -> bool:
    return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (a != a and b != b)


@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, 1, 2, 4, 6]))
def test_round_to_equals_round_bit_for_bit(x, ndigits):
    assert _same(round_to(x, ndigits), round(x, ndigits))


@pytest.mark.parametrize("ndigits", [1, 2, 4, 6])
def test_round_to_breaks_ties_and_near_ties_like_round(ndigits):
    # Halves (0.125 → 0.12 under half-to-even) and their neighbours one ulp away are
    # where a shortcut through x * 10**n would go wrong; round_to must hand them over.
    scale = 10.0 ** ndigits
    for k in list(range(0, 3000)) + [10**6 + 7, 123456789]:
        tie = (k + 0.5) / scale
        for x in (tie, math.nextafter(tie, math.inf), math.nextafter(tie, -math.inf),
                  k / scale, -tie, 0.0, -0.0):
            assert _same(round_to(x, ndigits), round(x, ndigits)), (x, ndigits)


@given(st.floats(min_value=0.0, max_value=1e7))
def test_round_to_on_measured_areas(m2):
    fields = area_fields(m2)
    assert fields["area_m2"] == round(m2, 2)
    assert fields["area_ha"] == round(m2 / M2_PER_HA, 6)
    assert fields["area_mu"] == round(m2 / M2_PER_MU, 4)
