"""`planmap zones`, `planmap check`, `planmap conflicts` through the real CLI entry point."""

import csv
import io
import json

import pytest
from planmap.geo import crs as gcrs
from planmap.geo.index import ZoneIndex
from planmap.geo.sitecheck import VERDICTS
from planmap.layers import zonecommands as commands
from planmap.server.cli import main

SEATS = {"taonan": (122.788, 45.335, "admin_220881"), "daan": (124.292, 45.507, "admin_220882"),
         "zhenlai": (123.199, 45.848, "admin_220821"), "tongyu": (123.088, 44.813, "admin_220822"),
         "baicheng": (122.839, 45.620, "admin_220802")}


@pytest.fixture(scope="module")
def index():
    from planmap import layers

    return ZoneIndex.from_plan_data(layers.load())


@pytest.fixture
def cached(index, monkeypatch):
    # Loading the data is tested once (test_zones_to_stdout); elsewhere reuse one index.
    monkeypatch.setattr(commands, "_index", lambda args: index)
    return index


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def _write_points(tmp_path, coords, name="pts.csv"):
    p = tmp_path / name
    p.write_text("id,lon,lat\n" + "".join(f"{k},{x!r},{y!r}\n" for k, (x, y) in coords.items()),
                 encoding="utf-8")
    return p


def test_zones_to_stdout(tmp_path, capsys):
    pts = {k: v[:2] for k, v in SEATS.items()} | {"mongolia": (122.0, 46.3)}
    assert main(["zones", str(_write_points(tmp_path, pts))]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "point_id,zone_id,layer"
    rows = _rows(out)
    for key, (_, _, county) in SEATS.items():
        assert {"point_id": key, "zone_id": county, "layer": "admin"} in rows
    assert not [r for r in rows if r["point_id"] == "mongolia" and r["layer"] == "admin"]


def test_zones_to_file_equals_batch(cached, tmp_path, capsys):
    pts = {f"p{i}": (122.5 + i * 0.05, 45.0 + i * 0.02) for i in range(40)}
    out = tmp_path / "out.csv"
    assert main(["zones", str(_write_points(tmp_path, pts)), "-o", str(out)]) == 0
    rows = _rows(out.read_text("utf-8"))
    lon = [v[0] for v in pts.values()]
    lat = [v[1] for v in pts.values()]
    res = cached.batch(lon, lat)
    keys = list(pts)
    want = [{"point_id": keys[i], "zone_id": z, "layer": lay}
            for i, z, lay in zip(res.point_idx, res.zone_ids, res.layers, strict=True)]
    assert rows == want and rows


def test_zones_gcj02_input_matches_wgs84(cached, tmp_path, capsys):
    wgs = {k: v[:2] for k, v in SEATS.items()}
    glon, glat = gcrs.wgs84_to_gcj02([v[0] for v in wgs.values()], [v[1] for v in wgs.values()])
    gcj = dict(zip(wgs, zip(glon.tolist(), glat.tolist(), strict=True), strict=True))
    assert main(["zones", str(_write_points(tmp_path, wgs, "w.csv"))]) == 0
    a = capsys.readouterr().out
    assert main(["zones", str(_write_points(tmp_path, gcj, "g.csv")), "--crs", "gcj02"]) == 0
    b = capsys.readouterr().out
    assert _rows(a) == _rows(b)


def test_zones_geojson_points(cached, tmp_path, capsys):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": k, "properties": {"id": k},
         "geometry": {"type": "Point", "coordinates": list(v[:2])}} for k, v in SEATS.items()]}
    p = tmp_path / "pts.geojson"
    p.write_text(json.dumps(fc), encoding="utf-8")
    assert main(["zones", str(p)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert {"point_id": "daan", "zone_id": "admin_220882", "layer": "admin"} in rows


def test_zones_errors_exit_2_with_a_code(cached, tmp_path, capsys):
    assert main(["zones", str(tmp_path / "missing.csv")]) == 2
    assert "file_not_found" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("id,lon,lat\na,nan,45\n", encoding="utf-8")
    assert main(["zones", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "planmap:" in err and "Traceback" not in err


def test_check_point_json(cached, capsys):
    assert main(["check", "--point", "122.839,45.620", "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["site"]["kind"] == "point"
    assert "admin_220802" in {z["id"] for z in res["zones"]}
    assert res["verdict"] in VERDICTS
    assert set(res) >= {"site", "zones", "nearest", "rings", "clauses", "verdict",
                        "accuracy_note", "repairs"}


def test_check_point_text_is_chinese_first(cached, capsys):
    assert main(["check", "--point", "122.839,45.620"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("用地核查")
    assert "洮北区" in out and "结论 Verdict" in out


def test_check_point_in_gauss_kruger_metres(cached, capsys):
    x, y = gcrs.metric_xy(122.839, 45.620)
    assert main(["check", "--point", f"{float(x)},{float(y)}", "--crs", "EPSG:4550",
                 "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert "admin_220802" in {z["id"] for z in res["zones"]}


def test_check_polygon_file_and_repair(cached, tmp_path, capsys):
    x, y = (float(v) for v in gcrs.metric_xy(122.839, 45.620))
    ring = [[x, y], [x + 2000, y], [x + 2000, y + 2000], [x, y + 2000], [x, y]]
    lon, lat = gcrs.transform_xy([p[0] for p in ring], [p[1] for p in ring],
                                 gcrs.METRIC_CRS, gcrs.WGS84)
    poly = {"type": "Polygon", "coordinates": [[[a, b] for a, b in zip(lon, lat, strict=True)]]}
    f = tmp_path / "site.geojson"
    f.write_text(json.dumps(poly), encoding="utf-8")
    assert main(["check", str(f), "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["site"]["area_ha"] == pytest.approx(400, rel=1e-4)

    bowtie = {"type": "Polygon", "coordinates": [[[122.8, 45.6], [122.81, 45.61],
                                                  [122.81, 45.6], [122.8, 45.61],
                                                  [122.8, 45.6]]]}
    f.write_text(json.dumps(bowtie), encoding="utf-8")
    assert main(["check", str(f)]) == 2
    assert "invalid" in capsys.readouterr().err
    assert main(["check", str(f), "--repair", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["repairs"]


def test_check_needs_exactly_one_of_file_or_point(cached, tmp_path, capsys):
    assert main(["check"]) == 2
    assert "file_or_point" in capsys.readouterr().err
    assert main(["check", "--point", "abc"]) == 2
    assert "invalid_point" in capsys.readouterr().err
    assert main(["check", "--point", "45.62,122.839"]) == 2  # swapped: outside the area
    assert capsys.readouterr().err


@pytest.mark.parametrize(("point", "plan"), [("126.55,43.84", "002"), ("125.68,42.53", "003")])
def test_check_outside_baicheng_is_answered_by_the_sites_plans(capsys, point, plan):
    assert main(["check", "--point", point, "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    answered = [p["id"] for p in res["plans"]]
    assert plan in answered and "000" not in answered
    assert any(z["id"].startswith(f"p{plan}_") for z in res["zones"])
    assert not any(z["layer"] in ("admin", "urban", "ecology") for z in res["zones"])


def test_check_in_baicheng_names_the_home_plan(cached, capsys):
    assert main(["check", "--point", "122.839,45.620", "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in res["plans"]] == ["000"]
