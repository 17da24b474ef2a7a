"""QGIS's own OAPIF provider (headless, Debian python3-qgis) against a real server.

Skipped locally when /usr/bin/python3 cannot import qgis.core; fails instead under
PLANMAP_REQUIRE_EXTERNAL=1 (CI, which installs python3-qgis) or PLANMAP_REQUIRE_QGIS=1.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.external import required
from tests.server.live import fetch, live_server
from tests.server.ogc_expect import FAMILY, expected_collections

pytestmark = pytest.mark.external
SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_oapif.py")


def _need_qgis() -> None:
    ok = Path(SYSTEM_PYTHON).exists() and subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen")).returncode == 0
    if not ok:
        message = "QGIS (Debian python3-qgis) not installed"
        if required() or os.environ.get("PLANMAP_REQUIRE_QGIS", "") not in ("", "0"):
            pytest.fail(message + " (external programs required)")
        pytest.skip(message)


QGIS_TYPE = {"points": "Point", "lines": "Line", "polygons": "Polygon"}


def test_qgis_reads_and_draws_every_feature_of_every_collection_and_measures_the_same_areas(
        tmp_path):
    _need_qgis()
    with live_server({"DB_PATH": str(tmp_path / "c.db")}) as (base, app):
        data = app.extensions["planmap"].data
        expected = expected_collections(data)
        ids = list(expected)
        result = subprocess.run(
            [SYSTEM_PYTHON, str(SCRIPT), f"{base}/ogc", *ids], capture_output=True, text=True,
            timeout=600, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        seen = {}
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                seen[row["collection"]] = row
        assert set(seen) == set(ids)
        for cid, (_layer, gdf) in expected.items():
            assert seen[cid]["valid"] and seen[cid]["crs"] in ("EPSG:4326", "OGC:CRS84")
            assert seen[cid]["ids"] == list(gdf["id"]), cid
            # QGIS paints every feature it loaded: none is lost to a mistyped layer
            assert seen[cid]["drawn"] == seen[cid]["ids"], cid
            assert seen[cid]["type"] == QGIS_TYPE[FAMILY[gdf.geom_type.iloc[0]]], cid
        api = json.loads(fetch(f"{base}/api/v1/layers/admin"))
        for feature in api["features"]:
            if feature["properties"]["kind"] != "county":
                continue
            body = json.dumps({"geometry": feature["geometry"]}).encode()
            check = json.loads(fetch(f"{base}/api/v1/sitecheck", body,
                                     {"Content-Type": "application/json"}))
            assert seen["admin"]["areas"][feature["id"]] == pytest.approx(
                check["site"]["area_m2"], rel=1e-3)
