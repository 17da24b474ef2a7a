"""Every input the fuzz campaign (``tests/reliability/fuzz.py``) found escaping the domain
errors, minimised, with the code it gets now.

Each case calls the parser below ``parse_site``'s catch-all (as the fuzzer does), so a case
that regresses fails here with the raw exception, not a generic ``invalid_<format>``.
"""

from __future__ import annotations

import pytest

from geo.errors import PlanmapError
from geo.limits import DEFAULT_LIMITS
from tests.reliability.fuzz import make_one_input

CASES = [
    # kml, 1st minute of fuzzing: an encoding name longer than the declaration pattern
    # allowed slipped past the allowlist and expat raised LookupError.
    ("kml", b'<?xml version="1.0" encoding="UTF-8' + b"9" * 80 + b'"?>\n<kml/>',
     "unsupported_encoding"),
]


@pytest.mark.parametrize("target, data, code",
                         [pytest.param(*c, id=f"{c[0]}-{i}") for i, c in enumerate(CASES)])
def test_fuzz_finding_gets_its_code(target, data, code):
    from geo import parsers

    make_one_input(target)(data)  # the fuzz target itself: only PlanmapError may pass
    with pytest.raises(PlanmapError) as info:
        if target in parsers._SITE_PARSERS:
            parsers._SITE_PARSERS[target](parsers._as_bytes(data, DEFAULT_LIMITS), None,
                                          DEFAULT_LIMITS, False)
        elif target == "points_csv":
            parsers._points_csv(data, DEFAULT_LIMITS)
        else:
            parsers._points_geojson(data, DEFAULT_LIMITS)
    assert info.value.code == code, info.value.to_dict()
