"""The issue-7 layers: groups in the catalog, verified citations, containment, sizes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from pyproj import Transformer
from shapely import transform
from shapely.geometry import shape
from shapely.ops import unary_union

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ROOT / "layers"
NEW_GROUPS = {"tourism", "agriculture", "energy", "water_projects", "transport", "context"}
BAICHENG = {"220802", "220821", "220822", "220881", "220882"}
CONTEXT_UNITS = {"220000", "220700", "152200", "150500", "230200", "230600"}
ID_RE = re.compile(r"^[a-z0-9_]+$")

_to_4550 = Transformer.from_crs("EPSG:4326", "EPSG:4550", always_xy=True).transform


def metric(g):
    return transform(g, _to_4550, interleaved=False)


@cache
def catalog():
    return json.loads((LAYERS / "catalog.json").read_text("utf-8"))


def new_entries():
    return [e for e in catalog()["layers"] if e["group"] in NEW_GROUPS]


@cache
def collection(layer_id):
    e = next(e for e in catalog()["layers"] if e["id"] == layer_id)
    return json.loads((LAYERS / e["file"]).read_text("utf-8"))


def new_features():
    for e in new_entries():
        for f in collection(e["id"])["features"]:
            yield e, f


@cache
def plan_lines(seed):
    index = json.loads((LAYERS / "plans" / "index.json").read_text("utf-8"))
    return (LAYERS / "plans" / index[seed]["file"]).read_text("utf-8").split("\n")


def quote_at(seed, line, quote):
    lines = plan_lines(seed)
    if not 1 <= line <= len(lines) or not quote:
        return False
    sq = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    first = sq(lines[line - 1])
    window = first + "".join(sq(x) for x in lines[line : line + 2])
    return any(window.startswith(sq(quote), i) for i in range(len(first)))


@cache
def units():
    """Baicheng counties (admin layer) and the context units (vendored source)."""
    out = {}
    for f in collection("admin")["features"]:
        out[f["properties"]["adcode"]] = metric(shape(f["geometry"]))
    src = json.loads((LAYERS / "sources" / "context_admin_wgs84.geojson").read_text("utf-8"))
    for f in src["features"]:
        out[f["properties"]["adcode"]] = metric(shape(f["geometry"]))
    return out


# ------------------------------------------------------------------- catalog
def test_planmap_layers_json_lists_the_new_groups():
    out = subprocess.run([sys.executable, "-m", "planmap.server.cli", "layers", "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True)
    listed = json.loads(out.stdout)
    groups = {e["group"] for e in listed}
    assert NEW_GROUPS <= groups
    by_id = {e["id"]: e for e in listed}
    for e in new_entries():
        raw = collection(e["id"])["features"]
        assert by_id[e["id"]]["features"] == len(raw) > 0, e["id"]


def test_context_layers_are_their_own_group_off_by_default():
    ctx = [e for e in catalog()["layers"] if e["group"] == "context"]
    assert {e["id"] for e in ctx} >= {
        "ctx_west_tourism_loop", "ctx_clean_energy_base", "ctx_channels",
        "ctx_province_patterns", "ctx_hydrogen_corridor",
    }  # fmt: skip
    assert all(e["default_on"] is False for e in ctx)
    assert all("001" in e["attribution"] or "004" in e["attribution"] for e in ctx)
    others = [e for e in new_entries() if e["group"] != "context"]
    assert {e["group"] for e in others} == NEW_GROUPS - {"context"}


# ------------------------------------------------------------------ features
def test_new_features_follow_the_contract():
    n = 0
    for e, f in new_features():
        p = f["properties"]
        n += 1
        assert f["id"] == p["id"] and ID_RE.match(p["id"]) and p["layer"] == e["id"]
        assert p["accuracy"] in {"derived", "schematic"}, p["id"]  # nothing here is official
        assert p.get("rule") and len(p["rule"]) > 40, p["id"]
        assert p["county"] and set(p["county"]) <= BAICHENG | CONTEXT_UNITS, p["id"]
        if e["group"] != "context":
            assert p["citation"]["seed"].startswith("000"), p["id"]
    assert n > 80


def test_every_new_citation_is_verbatim_at_its_seed_line():
    bad, seeds = [], set()
    for _, f in new_features():
        p = f["properties"]
        for c in [p["citation"], *p.get("extra_citations", [])]:
            seeds.add(c["seed"][:3])
            if not quote_at(c["seed"], c["line"], c["quote"]):
                bad.append((p["id"], c["seed"], c["line"]))
    assert not bad
    assert {"000", "001", "004"} <= seeds


def test_the_quote_check_can_fail():
    f = collection("ctx_clean_energy_base")["features"][0]["properties"]["citation"]
    assert quote_at(f["seed"], f["line"], f["quote"])
    assert not quote_at(f["seed"], f["line"] + 3, f["quote"])
    assert not quote_at("000_f32aaef515cfbb76", f["line"], f["quote"])


def test_new_clauses_cite_their_seed_and_are_applied():
    clauses = json.loads((LAYERS / "clauses.json").read_text("utf-8"))
    ids = {f["id"] for e in catalog()["layers"] for f in collection(e["id"])["features"]}
    ctx = [c for c in clauses if c["id"].startswith("ctx_pol_")]
    assert len(ctx) >= 6
    for c in ctx:
        cit = c["citation"]
        assert cit["seed"][:3] in {"001", "004"}
        assert quote_at(cit["seed"], cit["line"], c["text_zh"]), c["id"]
        assert set(c["applies_to"]) <= ids | set(c.get("official_layers", ()))
    texts = " ".join(c["text_zh"] for c in ctx)
    for words in ("避让", "暂不避让", "500m", "负面清单"):
        assert words in texts


def test_features_lie_in_the_units_they_name():
    g = units()
    g["220000"] = g["220000"].difference(unary_union([g["220800"], g["220700"]]))
    bad = []
    for _, f in new_features():
        geom = metric(shape(f["geometry"]))
        named = unary_union([g[c] for c in f["properties"]["county"]])
        kind = geom.geom_type
        if "Polygon" in kind:
            ok = geom.intersection(named.buffer(10)).area / geom.area > 0.999
        elif "Line" in kind:
            ok = geom.intersection(named.buffer(1000)).length / geom.length > 0.5
        else:
            ok = named.buffer(1).covers(geom)
        ok = ok and all(geom.distance(g[c]) < 1000 for c in f["properties"]["county"])
        if not ok:
            bad.append(f["id"])
    assert not bad


def test_named_sites_honour_the_published_area():
    """Each placed wind/PV disc has the area 004 prints (less where the county clips it)."""
    lines = plan_lines("004_bba0a9fb5e7355d6")
    n = 0
    for f in collection("ctx_clean_energy_base")["features"]:
        p = f["properties"]
        if p["kind"] not in ("wind_site", "pv_site"):
            continue
        row = re.split(r"\t", lines[p["citation"]["line"] - 1])
        printed = float(row[2] if p["kind"] == "wind_site" else row[3])
        assert p["area_km2"] == printed, p["id"]
        area = metric(shape(f["geometry"])).area / 1e6
        assert 0.3 * printed < area <= printed * 1.01, (p["id"], area, printed)
        n += 1
    assert n >= 10


def test_county_capacities_add_up_to_the_plans_subtotal():
    lines = plan_lines("004_bba0a9fb5e7355d6")
    feats = [f["properties"] for f in collection("ctx_clean_energy_base")["features"]
             if f["properties"]["kind"] == "capacity_county"]  # fmt: skip
    assert len(feats) == 5
    wind = sum(p["wind_capacity_10mw"] for p in feats)
    pv = sum(p["pv_capacity_10mw"] for p in feats)
    subtotals = [x.split("\t") for x in lines if x.startswith("\t小计\t")]
    # The first 小计 row of 表2 (wind) and of 表14 (PV) are Baicheng's; last column = total.
    assert float(subtotals[0][-1]) == wind
    assert pv in {float(r[-1]) for r in subtotals}


def _table_sites(first_title, end_title):
    """Site names of the Baicheng rows of 004's site tables (not the built/under-way lines)."""
    lines = plan_lines("004_bba0a9fb5e7355d6")
    start = next(i for i, x in enumerate(lines) if x.startswith(first_title))
    end = next(i for i, x in enumerate(lines) if x.startswith(end_title))
    out = set()
    for x in lines[start:end]:
        m = re.match(r"^\d+\t([^\t]+)\t", x)
        if m and not m.group(1).startswith(("已建", "在建")):
            out.add(re.sub(r"\s+", "", m.group(1)))
    return out


def test_every_site_of_the_tables_is_mapped_or_listed_unplaced():
    names = set()
    for f in collection("ctx_clean_energy_base")["features"]:
        p = f["properties"]
        if p["kind"] in ("wind_site", "pv_site"):
            names.add(p["name_zh"])
        names.update(p.get("site_names", []))
    names = {re.sub(r"\s+", "", n) for n in names}
    wind = _table_sites("表 3 洮北区规划风电场", "表 8 宁江区")
    pv = _table_sites("表 15 洮北区规划光伏", "表 20")
    assert len(wind) > 50 and len(pv) > 15
    assert wind | pv == names


def test_new_files_stay_small():
    sizes = {e["id"]: (LAYERS / e["file"]).stat().st_size for e in new_entries()}
    assert max(sizes.values()) < 120_000, sizes
    default_on = sum(s for i, s in sizes.items()
                     if next(e for e in new_entries() if e["id"] == i)["default_on"])
    assert default_on < 120_000, sizes


@pytest.mark.slow
def test_new_layers_build_deterministically(tmp_path):
    subprocess.run([sys.executable, "-m", "planmap.layers.build", "--out", str(tmp_path)], cwd=ROOT,
                   check=True, capture_output=True, timeout=300)
    for e in new_entries():
        assert (tmp_path / e["file"]).read_bytes() == (LAYERS / e["file"]).read_bytes(), e["id"]


def test_data_md_issue7_rows_name_real_features():
    doc = (ROOT / "docs" / "DATA.md").read_text("utf-8")
    section = doc[doc.index("## Issue 7 layers"):]
    ids = {f["id"] for e in catalog()["layers"] for f in collection(e["id"])["features"]}
    ids |= {e["id"] for e in catalog()["layers"]}  # cells may name a whole layer
    rows = re.findall(r"^\| (.+?) \| mapped \(issue 7\) \| (.+) \|$", section, re.M)
    assert len(rows) > 40
    for element, cell in rows:
        named = set(re.findall(r"`(\w+)`", cell))
        assert named and named <= ids, (element, named - ids)
    for layer, group, total, derived, schematic in re.findall(
        r"^\| (\w+) \| (\w+) \| (\d+) \| (\d+) \| (\d+) \|$", section, re.M
    ):
        assert next(e for e in catalog()["layers"] if e["id"] == layer)["group"] == group
        feats = collection(layer)["features"]
        acc = [f["properties"]["accuracy"] for f in feats]
        assert (int(total), int(derived), int(schematic)) == (
            len(feats), acc.count("derived"), acc.count("schematic")), layer
