"""docs/DATA.md must tell the truth about the shipped layers (counts, mapped ids)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "DATA.md").read_text(encoding="utf-8")


def _features(layer):
    path = ROOT / "layers" / "data" / f"{layer}.geojson"
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def test_counts_table_matches_the_data():
    rows = re.findall(r"^\| (\w+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", DOC, re.M)
    assert {r[0] for r in rows} == {"admin", "water", "ecology", "urban", "parks"}
    for layer, total, official, derived, schematic in rows:
        c = Counter(f["properties"]["accuracy"] for f in _features(layer))
        assert int(total) == sum(c.values()), layer
        assert (int(official), int(derived), int(schematic)) == (
            c["official"],
            c["derived"],
            c["schematic"],
        ), layer


def test_mapped_and_member_rows_name_real_features():
    ids = {f["id"] for layer in ("admin", "water", "ecology", "urban", "parks")
           for f in _features(layer)}  # fmt: skip
    rows = re.findall(r"^\| `(\w+)` \| (mapped|members) \| (.+) \|$", DOC, re.M)
    assert len(rows) > 40
    for element, _status, cell in rows:
        named = re.findall(r"`(\w+)`", cell)
        assert named, element
        assert set(named) <= ids, (element, set(named) - ids)


def test_left_out_rows_give_a_reason():
    rows = re.findall(r"^\| `(\w+)` \| left out \| (.*) \|$", DOC, re.M)
    assert rows
    assert all(len(reason.strip()) > 10 for _, reason in rows)


def test_clause_count_is_stated():
    clauses = json.loads((ROOT / "layers" / "clauses.json").read_text(encoding="utf-8"))
    assert f"Clauses: {len(clauses)} " in DOC
