"""Run by Debian's /usr/bin/python3 with python3-qgis: read planmap's OGC API with QGIS.

usage: QT_QPA_PLATFORM=offscreen python3 qgis_oapif.py BASE_URL COLLECTION [COLLECTION...]
Prints one JSON line per collection, all as QGIS's own OAPIF provider sees it (paging with
page size 2): valid, crs, geometry type, feature ids, EPSG:4550 areas (m²) of polygon
features, and ``drawn``: the ids of features QGIS actually paints. Each feature is rendered
alone (a rule on its id, the map extent around it) into a small image; it counts as drawn
when the image has painted pixels. A feature whose type differs from the layer's is what
QGIS drops (0 pixels), so drawn == ids is the check.
"""

import json
import os
import sys

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsRuleBasedRenderer,
    QgsSymbol,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

app = QgsApplication([], False)
app.setPrefixPath("/usr", True)
app.initQgis()
base = sys.argv[1]
ok = True
SIZE = 48


def painted(image) -> int:
    count = 0
    for y in range(image.height()):
        for x in range(image.width()):
            if image.pixelColor(x, y).alpha() > 0:
                count += 1
    return count


def draws(layer, fid, geom) -> bool:
    symbol = QgsSymbol.defaultSymbol(layer.geometryType())
    symbol.setColor(QColor(200, 0, 0))
    root = QgsRuleBasedRenderer.Rule(None)
    root.appendChild(QgsRuleBasedRenderer.Rule(symbol, 0, 0, f"\"id\" = '{fid}'"))
    layer.setRenderer(QgsRuleBasedRenderer(root))
    box = geom.boundingBox()
    pad = max(box.width(), box.height(), 1e-3) * 0.2
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(QgsRectangle(box.xMinimum() - pad, box.yMinimum() - pad,
                                    box.xMaximum() + pad, box.yMaximum() + pad))
    settings.setOutputSize(QSize(SIZE, SIZE))
    settings.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    return painted(job.renderedImage()) > 0


for cid in sys.argv[2:]:
    layer = QgsVectorLayer(f"url='{base}' typename='{cid}' pagingEnabled='true' pageSize='2'",
                           cid, "OAPIF")
    out = {"collection": cid, "valid": layer.isValid(), "crs": layer.crs().authid(),
           "type": QgsWkbTypes.geometryDisplayString(layer.geometryType()),
           "ids": [], "areas": {}, "drawn": []}
    if layer.isValid():
        transform = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem("EPSG:4550"),
                                           QgsProject.instance())
        found = []
        for feature in layer.getFeatures():
            fid = feature["id"]
            out["ids"].append(fid)
            found.append((fid, feature.geometry()))
            geom = feature.geometry()
            if geom.type() == QgsWkbTypes.PolygonGeometry:
                geom.transform(transform)
                out["areas"][fid] = geom.area()
        for fid, geom in found:
            if not geom.isNull() and draws(layer, fid, geom):
                out["drawn"].append(fid)
    ok = ok and out["valid"]
    print(json.dumps(out, ensure_ascii=False))
    sys.stdout.flush()
sys.stdout.flush()
os._exit(0 if ok else 1)  # QGIS 3.22 standalone can crash in exitQgis()
