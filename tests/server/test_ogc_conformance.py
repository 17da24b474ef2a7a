"""A probe modelled on the OGC CITE suite (ets-ogcapi-features10) and the Part 2/3 and CQL2
abstract tests: every conformance class the service declares has a check here, and a class
declared without one fails the test, so /conformance cannot claim more than is verified."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
import shapely
from openapi_spec_validator import validate

from tests.server.ogc_expect import FAMILY, expected_collections

F1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
F2 = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/"
F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _local(href):
    parts = urlsplit(href)
    return parts.path + ("?" + parts.query if parts.query else "")


def _ids(client, cid, **query):
    r = client.get(f"/ogc/collections/{cid}/items", query_string=dict({"limit": 1000}, **query))
    assert r.status_code == 200, (cid, query, r.get_data(as_text=True)[:300])
    return [f["id"] for f in r.get_json()["features"]]


def _rows(data):
    """(collection id, feature id, properties, shapely geometry) of every feature."""
    out = []
    for cid, (_layer, gdf) in expected_collections(data).items():
        for rec in gdf.to_dict("records"):
            out.append((cid, rec["id"], rec, rec[gdf.geometry.name]))
    return out


def check_core(client, data):
    landing = client.get("/ogc")
    assert landing.status_code == 200
    rels = {link["rel"]: link for link in landing.get_json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert client.get(_local(rels["conformance"]["href"])).get_json()["conformsTo"]
    collections = client.get(_local(rels["data"]["href"])).get_json()["collections"]
    assert [c["id"] for c in collections] == list(expected_collections(data))
    for c in collections:
        assert len(c["extent"]["spatial"]["bbox"][0]) == 4
        items = [link for link in c["links"] if link["rel"] == "items"]
        assert items
        r = client.get(_local(items[0]["href"]))
        body = r.get_json()
        assert body["type"] == "FeatureCollection"
        assert body["numberReturned"] == len(body["features"]) <= body["numberMatched"]
        assert any(link["rel"] == "self" for link in body["links"])
        # /req/core/query-param-unknown, fc-limit-response, fc-bbox, fc-time-definition
        assert client.get(f"/ogc/collections/{c['id']}/items?unknownQueryParameter12345=1") \
            .status_code == 400
        assert client.get(f"/ogc/collections/{c['id']}/items?limit=0").status_code == 400
        assert client.get(f"/ogc/collections/{c['id']}/items?bbox=1,2,3").status_code == 400
        assert client.get(f"/ogc/collections/{c['id']}/items?datetime=garbage") \
            .status_code == 400
        if body["features"]:
            fid = body["features"][0]["id"]
            assert client.get(f"/ogc/collections/{c['id']}/items/{fid}").status_code == 200
    assert client.get("/ogc/collections/admin/items/no_such_feature").status_code == 404
    params = client.get("/ogc/api").get_json()["paths"][
        "/ogc/collections/{collectionId}/items"]["get"]["parameters"]
    assert {"limit", "bbox", "datetime"} <= {p.get("name") for p in params}


def check_geojson(client, data):
    for cid in expected_collections(data):
        r = client.get(f"/ogc/collections/{cid}/items?limit=2")
        assert r.mimetype == "application/geo+json"
        for f in r.get_json()["features"]:
            assert f["type"] == "Feature" and isinstance(f["id"], str)
            assert f["geometry"]["type"] and isinstance(f["properties"], dict)
            one = client.get(f"/ogc/collections/{cid}/items/{f['id']}")
            assert one.mimetype == "application/geo+json"


def check_html(client, data):
    cid = next(iter(expected_collections(data)))
    fid = _ids(client, cid)[0]
    for url in ("/ogc", "/ogc/conformance", "/ogc/collections", f"/ogc/collections/{cid}",
                f"/ogc/collections/{cid}/items", f"/ogc/collections/{cid}/items/{fid}",
                f"/ogc/collections/{cid}/queryables"):
        assert client.get(url, headers={"Accept": "text/html"}).mimetype == "text/html", url
        assert client.get(url + "?f=html").mimetype == "text/html", url


def check_oas30(client, data):
    landing = client.get("/ogc").get_json()
    desc = [link for link in landing["links"] if link["rel"] == "service-desc"][0]
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = client.get(_local(desc["href"])).get_json()
    assert doc["openapi"].startswith("3.0")
    validate(doc)
    assert "http" not in json.dumps([v for k, v in _refs(doc)])  # self-contained


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield k, v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def check_crs(client, data):
    for c in client.get("/ogc/collections").get_json()["collections"]:
        assert CRS84 in c["crs"] and c["storageCrs"] == CRS84
    epsg4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
    r = client.get(f"/ogc/collections/admin/items?limit=1&crs={epsg4490}")
    assert r.headers["Content-Crs"] == f"<{epsg4490}>"
    x, y = r.get_json()["features"][0]["geometry"]["coordinates"][0][0]
    assert 40 < x < 50 and 120 < y < 126  # lat, lon
    assert client.get("/ogc/collections/admin/items?crs=EPSG:3857").status_code == 400
    assert client.get("/ogc/collections/admin/items?bbox-crs=EPSG:3857&bbox=1,2,3,4") \
        .status_code == 400


def check_queryables(client, data):
    for cid in expected_collections(data):
        c = client.get(f"/ogc/collections/{cid}").get_json()
        link = [k for k in c["links"]
                if k["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables"][0]
        r = client.get(_local(link["href"]))
        assert r.mimetype == "application/schema+json"
        schema = r.get_json()
        assert schema["type"] == "object" and "$schema" in schema and schema["properties"]


def check_queryables_query_parameters(client, data):
    for cid, (_layer, gdf) in expected_collections(data).items():
        kind = gdf["kind"].iloc[0]
        assert _ids(client, cid, kind=kind) == list(gdf[gdf["kind"] == kind]["id"])


def check_filter(client, data):
    assert client.get("/ogc/collections/admin/items?filter=kind%3D").status_code == 400
    assert client.get("/ogc/collections/admin/items?filter=kind%3D'x'&filter-lang=x") \
        .status_code == 400
    params = client.get("/ogc/api").get_json()["paths"][
        "/ogc/collections/{collectionId}/items"]["get"]["parameters"]
    assert {"filter", "filter-lang", "filter-crs"} <= {p.get("name") for p in params}


def check_features_filter(client, data):
    for cid, (_layer, gdf) in expected_collections(data).items():
        kind = gdf["kind"].iloc[-1]
        assert _ids(client, cid, filter=f"kind='{kind}'") == list(gdf[gdf["kind"] == kind]["id"])


def check_cql2_text(client, data):
    gdf = data.layers["admin"]
    assert _ids(client, "admin", filter="kind = 'county' AND name_zh <> 'x'") == \
        list(gdf[gdf["kind"] == "county"]["id"])


def check_cql2_json(client, data):
    gdf = data.layers["admin"]
    doc = {"op": "and", "args": [{"op": "=", "args": [{"property": "kind"}, "county"]},
                                 {"op": "<>", "args": [{"property": "name_zh"}, "x"]}]}
    assert _ids(client, "admin", filter=json.dumps(doc), **{"filter-lang": "cql2-json"}) == \
        list(gdf[gdf["kind"] == "county"]["id"])


def check_basic_cql2(client, data):
    cid = "ctx_clean_energy_base_polygons"
    gdf = expected_collections(data)[cid][1]
    rows = gdf.to_dict("records")
    value = sorted(r["area_km2"] for r in rows if r["area_km2"] == r["area_km2"])[3]

    def num(r):
        return r["area_km2"] if r["area_km2"] == r["area_km2"] else None

    for op, test in (("=", lambda a: a == value), ("<>", lambda a: a != value),
                     ("<", lambda a: a < value), ("<=", lambda a: a <= value),
                     (">", lambda a: a > value), (">=", lambda a: a >= value)):
        expected = [r["id"] for r in rows if num(r) is not None and test(num(r))]
        assert _ids(client, cid, filter=f"area_km2 {op} {value}") == expected, op
    assert _ids(client, cid, filter="area_km2 IS NULL") == [r["id"] for r in rows
                                                            if num(r) is None]
    assert _ids(client, cid, filter="NOT (kind = 'pv_site') OR kind = 'pv_site'") == \
        [r["id"] for r in rows]
    assert _ids(client, cid, filter="TIMESTAMP('2021-01-01T00:00:00Z') < "
                                    "TIMESTAMP('2022-01-01T00:00:00Z')") == list(gdf["id"])


def check_advanced_comparison_operators(client, data):
    gdf = data.layers["admin"]
    counties = list(gdf[gdf["kind"] == "county"]["id"])
    assert _ids(client, "admin", filter="kind IN ('county')") == counties
    assert _ids(client, "admin", filter="kind NOT IN ('county')") == \
        [f for f in gdf["id"] if f not in counties]
    assert _ids(client, "admin", filter="name_zh LIKE '%市'") == \
        [f for f, n in zip(gdf["id"], gdf["name_zh"], strict=True) if n.endswith("市")]
    assert _ids(client, "admin", filter="id BETWEEN 'admin_220800' AND 'admin_220822'") == \
        [f for f in gdf["id"] if "admin_220800" <= f <= "admin_220822"]


def _spatial(client, data, op, literal, test):
    for cid, (_layer, gdf) in expected_collections(data).items():
        expected = [f for f, g in zip(gdf["id"], gdf.geometry, strict=True) if test(g)]
        got = _ids(client, cid, filter=f"{op}(geometry, {literal})")
        assert got == expected, (cid, op)


def check_basic_spatial_functions(client, data):
    box = (122.5, 44.8, 123.5, 45.8)
    _spatial(client, data, "S_INTERSECTS", "BBOX({},{},{},{})".format(*box),
             lambda g: g.intersects(shapely.box(*box)))
    point = data.layers["admin"].geometry.iloc[1].representative_point()
    _spatial(client, data, "S_INTERSECTS", shapely.to_wkt(point), lambda g: g.intersects(point))


def check_basic_spatial_functions_plus(client, data):
    line = shapely.LineString([(122.0, 44.5), (124.0, 46.0)])
    _spatial(client, data, "S_INTERSECTS", shapely.to_wkt(line), lambda g: g.intersects(line))
    multi = shapely.MultiPolygon([shapely.box(122, 45, 122.5, 45.5),
                                  shapely.box(123, 45, 123.5, 45.5)])
    _spatial(client, data, "S_INTERSECTS", shapely.to_wkt(multi), lambda g: g.intersects(multi))


def check_spatial_functions(client, data):
    # a county outline, simplified to keep the URL short, and a box across the city
    area = shapely.simplify(data.layers["admin"].geometry.iloc[1], 0.01)
    box = shapely.box(122.6, 45.0, 123.4, 45.7)
    town = data.layers["urban"].geometry[data.layers["urban"].geom_type == "Point"].iloc[0]
    literals = {name: shapely.to_wkt(g, rounding_precision=-1)
                for name, g in (("area", area), ("box", box), ("town", town))}
    area, box, town = (shapely.from_wkt(literals[n]) for n in ("area", "box", "town"))
    for op, name, test in (("S_WITHIN", "area", lambda g: g.within(area)),
                           ("S_CONTAINS", "box", lambda g: g.contains(box)),
                           ("S_DISJOINT", "box", lambda g: g.disjoint(box)),
                           ("S_TOUCHES", "area", lambda g: g.touches(area)),
                           ("S_CROSSES", "box", lambda g: g.crosses(box)),
                           ("S_OVERLAPS", "box", lambda g: g.overlaps(box)),
                           ("S_EQUALS", "town", lambda g: g.equals(town))):
        _spatial(client, data, op, literals[name], test)
    assert _ids(client, "urban_points", filter=f"S_EQUALS(geometry, {literals['town']})")


CHECKS = {
    F1 + "core": check_core, F1 + "geojson": check_geojson, F1 + "html": check_html,
    F1 + "oas30": check_oas30, F2 + "crs": check_crs,
    F3 + "queryables": check_queryables,
    F3 + "queryables-query-parameters": check_queryables_query_parameters,
    F3 + "filter": check_filter, F3 + "features-filter": check_features_filter,
    CQL2 + "cql2-text": check_cql2_text, CQL2 + "cql2-json": check_cql2_json,
    CQL2 + "basic-cql2": check_basic_cql2,
    CQL2 + "advanced-comparison-operators": check_advanced_comparison_operators,
    CQL2 + "basic-spatial-functions": check_basic_spatial_functions,
    CQL2 + "basic-spatial-functions-plus": check_basic_spatial_functions_plus,
    CQL2 + "spatial-functions": check_spatial_functions,
}


def _declared(client):
    return client.get("/ogc/conformance").get_json()["conformsTo"]


def test_every_declared_conformance_class_has_a_check(client):
    unchecked = [c for c in _declared(client) if c not in CHECKS]
    assert not unchecked, f"declared but not verified: {unchecked}"
    assert all(re.match(r"^http://www\.opengis\.net/spec/", c) for c in _declared(client))


@pytest.mark.parametrize("uri", list(CHECKS))
def test_declared_conformance_class_holds(client, data, uri):
    if uri not in _declared(client):
        pytest.skip(f"{uri} is not declared")
    CHECKS[uri](client, data)


def test_single_family_collections_reach_qgis_style_typing(client, data):
    for cid, (_layer, gdf) in expected_collections(data).items():
        types = {FAMILY[t] for t in gdf.geom_type}
        assert len(types) == 1, cid
