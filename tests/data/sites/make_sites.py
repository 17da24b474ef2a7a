"""Regenerate the sample site files in this folder (run from the repo root).

    python tests/data/sites/make_sites.py

One test parcel, 测试地块 (a made-up parcel in Baicheng's Taobei district, not a real
land-approval record), is defined once in CGCS2000 3° Gauss-Krüger zone 41 metres — the
surveyor's native form, with a hole — and written as 国土 TXT (报部格式, GBK and UTF-8),
GeoJSON, WKT, KML, KMZ and a zipped Shapefile (EPSG:4326 with .prj).  Lon/lat files carry 9
decimals (≈ 0.1 mm) so every format describes the same parcel to well under 0.01 % of
its area.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np
import pyogrio
import shapely
from planmap.geo.crs import to_wgs84

HERE = os.path.dirname(os.path.abspath(__file__))

# Northing X, easting Y with the 41 zone prefix, as in a 报部格式 file.  Ring 1 = outer.
OUTER = [(5053800.120, 41487400.350), (5053812.480, 41487712.900),
         (5054015.760, 41487705.230), (5054040.010, 41487560.640),
         (5053990.330, 41487395.100)]
HOLE = [(5053880.000, 41487500.000), (5053880.000, 41487560.000),
        (5053930.000, 41487560.000), (5053930.000, 41487500.000)]
SECOND = [(5054200.000, 41488000.000), (5054200.000, 41488150.000),
          (5054300.000, 41488150.000), (5054300.000, 41488000.000)]


def closed(ring):
    return list(ring) + [ring[0]]


def txt(parcels) -> str:
    lines = [
        "[属性描述]",
        "格式版本号=1.01版本",
        "数据产生单位=测试单位",
        "数据产生日期=2024-05-01",
        "坐标系=2000国家大地坐标系",
        "几度分带=3",
        "投影类型=高斯克吕格",
        "计量单位=米",
        "带号=41",
        "精度=0.01",
        "转换参数=,,,,,,",
        "[地块坐标]",
    ]
    for number, (name, rings) in enumerate(parcels, start=1):
        n = sum(len(closed(r)) for r in rings)
        lines.append(f"{n},0.0000,{number},{name},面,,,,@")
        k = 1
        for ring_no, ring in enumerate(rings, start=1):
            pts = closed(ring)
            for j, (x, y) in enumerate(pts):
                label = k if j < len(pts) - 1 else k - len(pts) + 1
                lines.append(f"J{label},{ring_no},{x:.3f},{y:.3f}")
                if j < len(pts) - 1:
                    k += 1
    return "\r\n".join(lines) + "\r\n"


def lonlat(ring):
    arr = np.array(closed(ring))
    lon, lat = to_wgs84(arr[:, 1], arr[:, 0], "EPSG:4529")
    return [[round(float(a), 9), round(float(b), 9)] for a, b in zip(lon, lat, strict=True)]


def main() -> None:
    one = [("测试地块", [OUTER, HOLE])]
    with open(os.path.join(HERE, "parcel.txt"), "w", encoding="gbk", newline="") as f:
        f.write(txt(one))
    with open(os.path.join(HERE, "parcel_utf8.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(txt(one))
    with open(os.path.join(HERE, "two_parcels.txt"), "w", encoding="gbk", newline="") as f:
        f.write(txt(one + [("第二地块", [SECOND])]))

    rings = [lonlat(OUTER), lonlat(HOLE)]
    feature = {"type": "Feature", "properties": {"name": "测试地块"},
               "geometry": {"type": "Polygon", "coordinates": rings}}
    with open(os.path.join(HERE, "parcel.geojson"), "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": [feature]}, f, ensure_ascii=False)
        f.write("\n")

    poly = shapely.Polygon(rings[0], rings[1:])
    with open(os.path.join(HERE, "parcel.wkt"), "w", encoding="utf-8") as f:
        f.write(shapely.to_wkt(poly, rounding_precision=9, trim=True) + "\n")

    def coords(ring):
        return " ".join(f"{a:.9f},{b:.9f},0" for a, b in ring)

    kml = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <Placemark>
      <name>测试地块</name>
      <Polygon>
        <outerBoundaryIs><LinearRing><coordinates>{coords(rings[0])}</coordinates></LinearRing></outerBoundaryIs>
        <innerBoundaryIs><LinearRing><coordinates>{coords(rings[1])}</coordinates></LinearRing></innerBoundaryIs>
      </Polygon>
    </Placemark>
  </Document>
</kml>
"""
    with open(os.path.join(HERE, "parcel.kml"), "w", encoding="utf-8") as f:
        f.write(kml)
    with zipfile.ZipFile(os.path.join(HERE, "parcel.kmz"), "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("doc.kml", date_time=(2024, 5, 1, 0, 0, 0)),
                    kml.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)

    with tempfile.TemporaryDirectory() as tmp:
        shp = os.path.join(tmp, "parcel.shp")
        pyogrio.write_dataframe(
            __import__("geopandas").GeoDataFrame({"name": ["测试地块"]}, geometry=[poly],
                                                 crs="EPSG:4326"), shp, encoding="UTF-8")
        with zipfile.ZipFile(os.path.join(HERE, "parcel_shp.zip"), "w",
                             zipfile.ZIP_DEFLATED) as zf:
            for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                path = os.path.join(tmp, "parcel" + ext)
                if os.path.exists(path):
                    # Fixed timestamp: regenerating gives the same bytes.
                    info = zipfile.ZipInfo("parcel" + ext, date_time=(2024, 5, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with open(path, "rb") as src:
                        zf.writestr(info, src.read())


def amap() -> None:
    """amap_gcj02.geojson: a made-up 200 m × 180 m site inside 洮北东湖湿地 (near its east
    edge), exported as an AMap/Gaode file would be — GCJ-02 coordinates (≈ 500 m off WGS 84
    here), a property naming 高德地图.  Read as WGS 84 it falls outside the wetland."""
    from planmap.geo.crs import wgs84_to_gcj02

    cx, cy = 122.975644 - 0.003, (45.602005 + 45.637995) / 2
    ring = np.array([(cx - 0.0012, cy - 0.0008), (cx + 0.0012, cy - 0.0008),
                     (cx + 0.0012, cy + 0.0008), (cx - 0.0012, cy + 0.0008),
                     (cx - 0.0012, cy - 0.0008)])
    gx, gy = wgs84_to_gcj02(ring[:, 0], ring[:, 1])
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "东湖选址（高德地图导出）",
                                          "source": "高德地图 AMap 坐标拾取"},
        "geometry": {"type": "Polygon", "coordinates": [
            [[round(float(x), 7), round(float(y), 7)] for x, y in zip(gx, gy, strict=True)]]}}]}
    with open(os.path.join(HERE, "amap_gcj02.geojson"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
    amap()
