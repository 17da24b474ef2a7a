"""The zone index's public contract: other modules read a FeatureTable, never its privates.

``geo/sitecheck.py``, ``geo/tiers.py`` and every other module outside the ``geo/index/``
package use :attr:`geo.index.ZoneIndex.feature_table`, :meth:`~geo.index.ZoneIndex.group_nearest`
and the other public methods; an ast scan fails on any ``x._name`` (or
``getattr(x, "_name")``) whose ``_name`` is a private attribute or method of the index.
"""

import ast
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from planmap.geo.index import FeatureTable, ZoneIndex

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "geo" / "index"


def _index_privates() -> set[str]:
    """Every ``self._x`` attribute and ``_x`` method/function defined in geo/index/."""
    names = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "self" and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                names.add(node.attr)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("_") \
                    and not node.name.startswith("__"):
                names.add(node.name)
    return names


def _reach_ins(source: str, privates: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Attribute) and node.attr in privates
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
                and (node.args[1].value in privates
                     or str(node.args[1].value).startswith("_sitecheck"))):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def _modules_outside_the_index():
    for room in ("geo", "layers", "server"):
        for path in sorted((ROOT / room).rglob("*.py")):
            if PACKAGE not in path.parents:
                yield path


def test_the_scan_knows_the_index_privates():
    privates = _index_privates()
    # what sitecheck used to read: the scan must know them, or it would pass vacuously
    assert {"_fid_list", "_fgeom_m", "_schematic", "_entries", "_group_nearest",
            "_fkey_index", "_area_wide"} <= privates


@pytest.mark.parametrize("path", list(_modules_outside_the_index()),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_outside_the_index_reads_its_private_attributes(path):
    assert _reach_ins(path.read_text(encoding="utf-8"), _index_privates()) == []


def test_the_scan_catches_a_planted_reach_in():
    privates = _index_privates()
    source = (ROOT / "geo" / "sitecheck.py").read_text(encoding="utf-8")
    assert _reach_ins(source, privates) == []
    planted = source + "\n\ndef _peek(index):\n    return index._fid_list, " \
                       "getattr(index, '_sitecheck_clause_cache', None)\n"
    assert len(_reach_ins(planted, privates)) == 2


@pytest.fixture(scope="module")
def small():
    zones = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "name_zh": ["甲", "乙", "丙"],
         "accuracy": ["official", "schematic", "derived"]},
        geometry=[shapely.box(122.0, 45.0, 122.1, 45.1), shapely.box(122.05, 45.05, 122.2, 45.2),
                  shapely.box(122.3, 45.0, 122.4, 45.1)], crs="EPSG:4326")
    roads = gpd.GeoDataFrame({"id": ["r"], "name_zh": ["路"]},
                             geometry=[shapely.LineString([(122.0, 45.3), (122.4, 45.3)])],
                             crs="EPSG:4326")
    return ZoneIndex({"z": zones, "roads": roads})


def test_feature_table_columns_describe_every_feature(small):
    t = small.feature_table
    assert isinstance(t, FeatureTable) and len(t) == 4
    assert t.layer_ids == ("z", "roads")
    assert t.id_list == ["a", "b", "c", "r"] and t.ids.tolist() == t.id_list
    assert t.layer_list == ["z", "z", "z", "roads"] and t.layer_numbers == [0, 0, 0, 1]
    assert t.schematic == [False, True, False, False]
    assert t.is_zone == [True, True, True, False]
    assert t.area_m2[0] > 0 and t.area_m2[3] == 0.0
    assert [e["id"] for e in t.entries] == t.id_list and t.entries[1]["accuracy"] == "schematic"
    assert t.geometry_m[3].geom_type == "LineString" and t.geometry_m[3].bounds[0] > 1e5
    # the covering and result-order answers index the same rows
    assert [t.id_list[f] for f in small.covering(122.07, 45.07)] == ["a", "b"]
    assert small.feature_table is t  # made once


def test_group_nearest_keeps_the_closest_per_layer(small):
    t = small.feature_table
    out = small.group_nearest([0, 1, 2, 3], [30.0, 10.04, 5.0, 999.0], radius_m=500.0,
                              per_layer=2)
    assert [(e["id"], e["distance_m"]) for e in out] == [("c", 5.0), ("b", 10.0)]
    out = small.group_nearest([0, 1, 2, 3], [30.0, 10.0, 5.0, 400.0], 500.0, 1,
                              exclude_layers={"z"})
    assert [e["id"] for e in out] == ["r"] and out[0]["layer"] == "roads"
    out = small.group_nearest([0, 1, 2], [30.0, 10.0, 5.0], 500.0, 3, exclude_features={2})
    assert [e["id"] for e in out] == ["b", "a"]
    out[0]["name_zh"] = "changed"  # fresh entries: the table is untouched
    assert t.entries[1]["name_zh"] == "乙"
