"""geo.cql2: CQL2 parsed by pygeofilter, evaluated by closures (no eval)."""

from __future__ import annotations

import json

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planmap.geo import cql2
from planmap.geo.errors import InvalidInput

Q = {"kind": "string", "name_zh": "string", "area_km2": "number", "count": "integer",
     "ok": "boolean"}
ROWS = [
    ({"kind": "park", "name_zh": "白城公园", "area_km2": 2.5, "count": 3, "ok": True},
     shapely.Point(122.8, 45.6)),
    ({"kind": "lake", "name_zh": "嫩江湾", "area_km2": None, "count": 1, "ok": False},
     shapely.box(123.0, 45.0, 124.0, 46.0)),
    ({"kind": "park", "name_zh": "洮南公园", "area_km2": 7.0, "count": None},
     shapely.LineString([(122.0, 45.0), (122.5, 45.5)])),
]


def matches(text, lang="cql2-text", to_wgs84=None):
    predicate = cql2.Compiler(Q, to_wgs84).compile(cql2.parse(text, lang))
    return [i for i, (p, g) in enumerate(ROWS) if predicate(p, g) is True]


@pytest.mark.parametrize("text, expected", [
    ("kind = 'park'", [0, 2]),
    ("kind <> 'park'", [1]),
    ("area_km2 > 2", [0, 2]),
    ("NOT (area_km2 > 2)", []),  # null stays unknown under NOT
    ("area_km2 IS NULL", [1]),
    ("area_km2 IS NOT NULL AND count >= 3", [0]),
    ("kind = 'lake' OR area_km2 > 5", [1, 2]),
    ("name_zh LIKE '%公园'", [0, 2]),
    ("name_zh LIKE '白_公园'", [0]),
    ("name_zh NOT LIKE '%公园'", [1]),
    ("kind IN ('lake', 'x')", [1]),
    ("area_km2 BETWEEN 2 AND 5", [0]),
    ("ok = TRUE", [0]),
    ("S_INTERSECTS(geometry, POLYGON((122.7 45.5, 123.5 45.5, 123.5 45.7, 122.7 45.7, "
     "122.7 45.5)))", [0, 1]),
    ("S_WITHIN(geometry, BBOX(122, 44, 124.5, 46.5))", [0, 1, 2]),
    ("S_DISJOINT(geometry, POINT(122.8 45.6))", [1, 2]),
    ("S_CONTAINS(geometry, POINT(123.5 45.5))", [1]),
])
def test_operators_match_what_the_plain_python_says(text, expected):
    assert matches(text) == expected


def test_json_and_text_agree_and_json_bbox_is_not_swapped():
    doc = {"op": "and", "args": [{"op": "=", "args": [{"property": "kind"}, "park"]},
                                 {"op": "s_intersects", "args": [{"property": "geometry"},
                                                                 {"bbox": [122.7, 45.5, 123,
                                                                           45.7]}]}]}
    assert matches(json.dumps(doc), "cql2-json") == \
        matches("kind = 'park' AND S_INTERSECTS(geometry, BBOX(122.7, 45.5, 123, 45.7))") == [0]


def test_filter_crs_converter_is_applied_to_literals():
    shifted = matches("S_INTERSECTS(geometry, POINT(0.8 0.6))",
                      to_wgs84=lambda g: shapely.affinity.translate(g, 122, 45))
    assert shifted == [0]


@pytest.mark.parametrize("text, code", [
    ("kind = ", "invalid_filter"), ("kind = 'a' AND", "invalid_filter"),
    ("nope = 1", "unknown_queryable"), ("kind = 1", "filter_type_mismatch"),
    ("area_km2 = 'x'", "filter_type_mismatch"),
    ("S_INTERSECTS(kind, POINT(1 2))", "invalid_filter"),
    ("kind = POINT(1 2)", "invalid_filter"),
])
def test_errors_are_invalid_input_with_a_code(text, code):
    with pytest.raises(InvalidInput) as info:
        matches(text)
    assert info.value.code == code and info.value.param == "filter"


def test_syntax_error_names_line_and_column():
    with pytest.raises(InvalidInput, match=r"line 1, column 8"):
        cql2.parse("kind = = 'x'")


def test_filter_lang_other_than_cql2_is_refused():
    with pytest.raises(InvalidInput) as info:
        cql2.parse("kind = 'x'", "ecql")
    assert info.value.param == "filter-lang"


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_tokens = st.sampled_from(["kind", "area_km2", "geometry", "=", "<>", "<", "AND", "OR", "NOT",
                           "(", ")", "'park'", "'", "1", "2.5", "-", "LIKE", "'%a_'", "IN",
                           "BETWEEN", "IS", "NULL", "S_INTERSECTS", "POINT(1 2)", ",",
                           "BBOX(1,2,3,4)", "TRUE", "__import__", "os", ";", "--", "\\", "\0"])


@FUZZ
@given(st.one_of(st.lists(_tokens, max_size=12).map(" ".join), st.text(max_size=60)))
def test_any_text_is_a_match_or_an_invalid_input_never_a_crash(text):
    try:
        matches(text)
    except InvalidInput as exc:
        assert exc.code and exc.message_en and exc.message_zh


_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
                  st.sampled_from(["kind", "=", "and", "s_intersects", "like"]))
_doc = st.recursive(_leaf, lambda c: st.one_of(
    st.lists(c, max_size=4),
    st.dictionaries(st.sampled_from(["op", "args", "property", "bbox", "type", "coordinates",
                                     "timestamp"]), c, max_size=3)))


@FUZZ
@given(_doc)
def test_any_json_is_a_match_or_an_invalid_input_never_a_crash(doc):
    try:
        matches(json.dumps(doc), "cql2-json")
    except InvalidInput as exc:
        assert exc.code and exc.message_en
