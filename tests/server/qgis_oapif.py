"""Run by Debian's /usr/bin/python3 with python3-qgis: read planmap's OGC API with QGIS.

usage: QT_QPA_PLATFORM=offscreen python3 qgis_oapif.py BASE_URL COLLECTION [COLLECTION...]
Prints one JSON line per collection: valid, crs, feature ids, and EPSG:4550 areas (m²) of
polygon features, all as QGIS's own OAPIF provider sees them (paging with page size 2).
"""

import json
import os
import sys

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProject,
    QgsVectorLayer,
    QgsWkbTypes,
)

app = QgsApplication([], False)
app.setPrefixPath("/usr", True)
app.initQgis()
base = sys.argv[1]
ok = True
for cid in sys.argv[2:]:
    layer = QgsVectorLayer(f"url='{base}' typename='{cid}' pagingEnabled='true' pageSize='2'",
                           cid, "OAPIF")
    out = {"collection": cid, "valid": layer.isValid(), "crs": layer.crs().authid(),
           "ids": [], "areas": {}}
    if layer.isValid():
        transform = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem("EPSG:4550"),
                                           QgsProject.instance())
        for feature in layer.getFeatures():
            fid = feature["id"]
            out["ids"].append(fid)
            geom = feature.geometry()
            if geom.type() == QgsWkbTypes.PolygonGeometry:
                geom.transform(transform)
                out["areas"][fid] = geom.area()
    ok = ok and out["valid"]
    print(json.dumps(out, ensure_ascii=False))
sys.stdout.flush()
os._exit(0 if ok else 1)  # QGIS 3.22 standalone can crash in exitQgis()
