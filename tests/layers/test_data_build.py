"""The build's own guards: what it refuses to write."""

from __future__ import annotations

import itertools
import json

import pytest
from planmap.layers.builders import common
from shapely.geometry import Point, Polygon


def test_cite_refuses_a_quote_not_at_its_line():
    assert common.cite(569, "洮儿河－蛟流河生态廊道")["line"] == 569
    with pytest.raises(ValueError, match="citation not found"):
        common.cite(570, "洮儿河－蛟流河生态廊道")
    with pytest.raises(ValueError):
        common.cite(569, "这句话不在规划里")


def test_cite_accepts_a_quote_the_pdf_broke_over_two_lines():
    # "镇" ends line 1601, "赉县加快…" starts line 1603 (blank line between).
    assert common.quote_found(1601, "镇赉县加快食品产业园建设")
    assert not common.quote_found(1603, "镇赉县加快食品产业园建设")


def test_schematic_feature_without_rule_is_refused():
    cit = common.cite(569, "洮儿河－蛟流河生态廊道")
    with pytest.raises(ValueError, match="rule"):
        common.feature("x", "甲", "x", "water", "river", Point(122.8, 45.6), "schematic", "s", cit)
    with pytest.raises(ValueError, match="accuracy"):
        common.feature("x", "甲", "x", "water", "river", Point(122.8, 45.6), "exact", "s", cit)


def test_write_collection_rounds_orients_and_refuses_duplicates(tmp_path):
    cit = common.cite(569, "洮儿河－蛟流河生态廊道")
    clockwise = Polygon([(122.1, 45.1), (122.1234567891, 45.2), (122.2, 45.2), (122.2, 45.1)])
    f = common.feature("a", "甲", "a", "t", "k", clockwise, "schematic", "s", cit, rule="r")
    common.write_collection(tmp_path / "t.geojson", "t", [f])
    out = json.loads((tmp_path / "t.geojson").read_text(encoding="utf-8"))
    ring = out["features"][0]["geometry"]["coordinates"][0]
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))
    assert area2 > 0  # counter-clockwise exterior (RFC 7946)
    assert [122.123457, 45.2] in ring
    with pytest.raises(ValueError, match="duplicate"):
        common.write_collection(tmp_path / "u.geojson", "t", [f, f])


def test_county_assignment_follows_the_geometry():
    # A point in Baicheng's main city lies in 洮北区 only.
    assert common.counties_of(Point(122.839, 45.620)) == [common.TAOBEI]
