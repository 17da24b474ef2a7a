"""What the OGC collections should be, worked out from the layers independently of server.ogc:
one collection per layer and geometry family (points, lines, polygons); a layer with one family
keeps its id, a mixed layer ``L`` becomes ``L_points`` / ``L_lines`` / ``L_polygons``
(docs/API.md "One geometry type per collection")."""

from __future__ import annotations

FAMILY = {"Point": "points", "MultiPoint": "points", "LineString": "lines",
          "MultiLineString": "lines", "Polygon": "polygons", "MultiPolygon": "polygons"}


def expected_collections(data) -> dict:
    """``{collection id: (layer id, GeoDataFrame of its features)}`` in catalog order."""
    out = {}
    for entry in data.catalog:
        gdf = data.layers.get(entry["id"])
        if gdf is None:
            continue
        families = gdf.geometry.geom_type.map(FAMILY)
        present = [f for f in ("points", "lines", "polygons") if (families == f).any()]
        if len(present) <= 1:
            out[entry["id"]] = (entry["id"], gdf)
        else:
            for family in present:
                out[f"{entry['id']}_{family}"] = (entry["id"], gdf[families == family])
    return out
