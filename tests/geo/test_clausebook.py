"""ClauseBook: the plan's clauses looked up by feature and layer, as site checks list them."""

import gc

import geopandas as gpd
import shapely
from planmap.geo import clausebook
from planmap.geo.clausebook import ClauseBook, index_clauses
from planmap.geo.index import ZoneIndex

CLAUSES = [
    {"id": "c1", "effect": "prohibited", "scope": "zone", "applies_to": ["a", "z"],
     "citation": {"seed": "s1", "line": 3}, "text_zh": "禁止"},
    {"id": "c2", "effect": "encouraged", "applies_to": ["a"], "citation": {"seed": "s2"}},
    {"id": "c3", "effect": "restricted", "scope": "activity", "applies_to": ["b"],
     "activity_zh": "燃煤"},
]


def test_lookup_by_feature_then_layer_keeps_data_order():
    book = ClauseBook(CLAUSES, {"s1": {"title_zh": "规划一", "title_en": "Plan one"}})
    assert [c["id"] for c in book.naming("a")] == ["c1", "c2"]
    assert [c["id"] for c in book.for_feature("a", "z")] == ["c1", "c2", "c1"]
    assert [c["id"] for c in book.for_feature("b")] == ["c3"]
    assert book.naming("nobody") == ()
    t = book.templates_for("a", "nolayer")
    assert [x["id"] for x in t] == ["c1", "c2"]
    assert t[0]["plan"] == {"seed": "s1", "title_zh": "规划一", "title_en": "Plan one"}
    assert t[1]["scope"] == "zone" and t[1]["plan"]["title_zh"] is None  # defaults
    assert t[0]["zones"] == []


def test_zone_clauses_filter_scope_and_effect():
    book = ClauseBook(CLAUSES)
    assert [c["id"] for c in book.zone_clauses("a")] == ["c1", "c2"]  # c2: no scope = zone
    assert [c["id"] for c in book.zone_clauses("a", {"prohibited", "restricted"})] == ["c1"]
    assert book.zone_clauses("b") == []  # an activity clause never protects a place


def test_index_clauses_are_held_per_index_and_list_and_go_with_the_index():
    zones = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[shapely.box(0, 0, 1, 1),
                                                           shapely.box(2, 0, 3, 1)],
                             crs="EPSG:4326")
    index = ZoneIndex({"z": zones}, clauses=CLAUSES)
    held = index_clauses(index, index.clauses)
    assert index_clauses(index, index.clauses) is held
    assert [t["id"] for t in held.templates_of(0)] == ["c1", "c2", "c1"]  # a, then layer z
    assert [t["id"] for t in held.templates_of(1)] == ["c3", "c1"]
    other = list(CLAUSES[:1])
    assert index_clauses(index, other) is not held  # another list: another book
    assert not any(k.startswith("_sitecheck") for k in vars(index))  # nothing on the index
    n = len(clausebook._BY_INDEX)
    del index, held
    gc.collect()
    assert len(clausebook._BY_INDEX) == n - 1
