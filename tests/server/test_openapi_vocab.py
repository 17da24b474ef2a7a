"""The OpenAPI document and every module name the vocabulary's values from geo.vocab."""

from __future__ import annotations

import re

from planmap.geo import vocab


def _enums_by_key(node, key=None, out=None):
    """Map each property name to the enums declared under it anywhere in the document."""
    out = {} if out is None else out
    if isinstance(node, dict):
        if "enum" in node and key is not None:
            out.setdefault(key, []).append([v for v in node["enum"] if v is not None])
        for k, v in node.items():
            _enums_by_key(v, k if k not in ("schema", "items") else key, out)
    elif isinstance(node, list):
        for v in node:
            _enums_by_key(v, key, out)
    return out


def test_openapi_enums_are_the_vocabulary(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    enums = _enums_by_key(doc)
    expected = {"accuracy": list(vocab.ACCURACY), "effect": list(vocab.EFFECTS),
                "scope": list(vocab.SCOPES)}
    for key, values in expected.items():
        assert enums.get(key), f"no enum documented for {key!r}"
        for found in enums[key]:
            assert found == values, (key, found)
    crs_enums = [e for lists in enums.values() for e in lists if "EPSG:4326" in e]
    assert list(vocab.CRS_PARAM_VALUES) in crs_enums
    assert list(vocab.EXPORT_CRS) in crs_enums
    assert vocab.id_pattern(vocab.LAYER_ID_MAX) in str(doc)
    assert vocab.id_pattern(vocab.FEATURE_ID_MAX) in str(doc)


def test_modules_use_the_one_definition():
    import planmap.geo.conflicts  # noqa: F401
    import planmap.geo.crs  # noqa: F401
    import planmap.geo.precedence  # noqa: F401
    import planmap.geo.sitecheck  # noqa: F401
    import planmap.geo.tiers  # noqa: F401
    import planmap.layers.builders.clauses  # noqa: F401
    import planmap.layers.builders.common  # noqa: F401
    import planmap.layers.export  # noqa: F401
    import planmap.layers.loader  # noqa: F401
    import planmap.layers.store  # noqa: F401
    import planmap.server.i18n  # noqa: F401

    from planmap import geo, layers, server

    assert geo.crs.SUPPORTED_CRS is vocab.SUPPORTED_CRS
    assert geo.sitecheck.EFFECTS is vocab.EFFECTS and geo.sitecheck.VERDICTS is vocab.VERDICTS
    assert geo.tiers._EFFECTS is vocab.EFFECTS
    assert geo.conflicts.PROTECTING_EFFECTS is vocab.RESTRICTIVE_EFFECTS
    assert geo.precedence.RESTRICTIVE is vocab.RESTRICTIVE_EFFECTS
    assert layers.builders.clauses.EFFECTS is vocab.EFFECTS
    assert layers.builders.clauses.SCOPES is vocab.SCOPES
    assert layers.builders.common.ACCURACY is vocab.ACCURACY
    assert layers.loader.ACCURACY_VALUES is vocab.ACCURACY
    assert layers.loader.ID_PATTERN is vocab.ID_RE and layers.store._LAYER_ID is vocab.ID_RE
    assert layers.export.EXPORT_CRS is vocab.EXPORT_CRS
    assert server.i18n.VERDICTS is vocab.VERDICTS


def test_id_pattern_accepts_ids_and_refuses_the_rest():
    bounded = re.compile(vocab.id_pattern(4))
    assert vocab.ID_RE.match("eco_redline_2") and bounded.match("ab_1")
    for bad in ("Eco", "a-b", "", "a b", "点"):
        assert not vocab.ID_RE.match(bad)
    assert not bounded.match("abcde")


def test_metric_transformer_is_one_per_thread():
    import threading

    mine = vocab.metric_transformer()
    assert vocab.metric_transformer() is mine
    x, y = mine.transform(123.0, 45.5)
    assert abs(x - 500000.0) < 1e-6 and 5.0e6 < y < 5.1e6
    other = []
    t = threading.Thread(target=lambda: other.append(vocab.metric_transformer()))
    t.start()
    t.join()
    assert other[0] is not mine
    lon, lat = vocab.wgs84_transformer().transform(x, y)
    assert abs(lon - 123.0) < 1e-9 and abs(lat - 45.5) < 1e-9
