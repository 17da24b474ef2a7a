"""English names of the built-in layers carry no Chinese (issue 18).

``name_en`` of every feature and ``title_en``/``description_en`` of every catalog entry
are shown as-is in the English map, popups, attribute table and report; a Chinese place
name in them is an untranslated string.  Builders take English place names from one table
(``layers/facts/placenames.json``, ``layers.builders.common.place_en``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from planmap.layers.builders.common import place_en

LAYERS = Path(__file__).resolve().parents[2] / "layers"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def _features():
    for path in sorted((LAYERS / "data").glob("*.geojson")):
        for f in json.loads(path.read_text("utf-8"))["features"]:
            yield path.stem, f["properties"]


def test_no_feature_name_en_contains_chinese():
    rows = list(_features())
    assert len(rows) > 250  # the built-in data, not an empty folder
    bad = {p["id"]: p["name_en"] for _, p in rows if CJK.search(p.get("name_en") or "")}
    assert bad == {}
    assert all((p.get("name_en") or "").strip() for _, p in rows), "every feature has name_en"


def test_no_catalog_english_title_or_description_contains_chinese():
    catalog = json.loads((LAYERS / "catalog.json").read_text("utf-8"))
    bad = [(e["id"], key) for e in catalog["layers"] for key in ("title_en", "description_en")
           if CJK.search(e.get(key) or "")]
    assert bad == []
    assert all(e.get("title_en") for e in catalog["layers"])
    bad_plans = [(p["id"], k) for p in catalog["plans"] for k, v in p.items()
                 if k.endswith("_en") and CJK.search(str(v))]
    assert bad_plans == []


def test_place_name_table_gives_pinyin_and_refuses_unknown_places():
    table = json.loads((LAYERS / "facts" / "placenames.json").read_text("utf-8"))["names"]
    assert place_en("洮北区") == "Taobei District" and place_en("松原") == "Songyuan"
    assert [k for k, v in table.items() if CJK.search(v) or not CJK.search(k)] == []
    with pytest.raises(KeyError, match="placenames.json"):
        place_en("不存在的地方")


def test_no_clause_english_summary_contains_chinese():
    clauses = json.loads((LAYERS / "clauses.json").read_text("utf-8"))
    assert len(clauses) > 50
    bad = [c["id"] for c in clauses for key in ("summary_en", "activity_en")
           if CJK.search(c.get(key) or "")]
    assert bad == []
