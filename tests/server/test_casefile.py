"""The 选址分析报告 as a case file: project fields, parcels, CRS hints, the PDF (issue 18)."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from pathlib import Path

import pytest
import shapely
from planmap.server import create_app
from shapely.geometry import shape

from tests.external import need_program

SITES = Path(__file__).resolve().parents[1] / "data" / "sites"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db"),
                       "PROJECT_TEXT_MAX_CHARS": 40})


def _upload(client, name, **fields):
    raw = (SITES / name).read_bytes()
    return client.post("/api/v1/sitecheck", data={"file": (io.BytesIO(raw), name), **fields},
                       content_type="multipart/form-data")


@pytest.fixture(scope="module")
def two_parcels(client):
    r = _upload(client, "two_parcels.txt", project_name="洮北风光储一体化项目",
                applicant="白城某新能源有限公司", project_type="wind_solar")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_two_parcels_are_two_rows_and_the_merged_site_is_kept(two_parcels):
    rows = two_parcels["parcels"]["parcels"]
    assert [r["name"] for r in rows] == ["测试地块", "第二地块"]
    assert two_parcels["input"]["parcels"] == ["测试地块", "第二地块"]
    total = two_parcels["parcels"]["totals"]["area_m2"]
    assert abs(total - sum(r["area_m2"] for r in rows)) < 0.01
    # the parcels do not overlap: the merged whole-site answer has the same area
    assert abs(two_parcels["site"]["area_m2"] - total) < 1.0
    assert two_parcels["input"]["crs"] == "EPSG:4529"
    assert two_parcels["input"]["crs_source"] == "file"


def test_project_fields_are_stored_and_the_type_reads_the_activity_verdicts(client, two_parcels):
    stored = client.get(two_parcels["url"]).get_json()
    project = stored["project"]
    assert project["name"] == "洮北风光储一体化项目"
    assert project["applicant"] == "白城某新能源有限公司"
    wind = [a for a in stored["activity_verdicts"] if a["activity_zh"].startswith("风电")]
    assert project["type"]["id"] == "wind_solar"
    assert project["type"]["activities"] == wind
    rank = ["none", "encouraged", "required", "restricted", "prohibited"]
    assert project["type"]["effect"] == max((a["effect"] for a in wind), key=rank.index,
                                            default="none")


def test_project_text_is_bounded_and_the_type_checked(client):
    r = _upload(client, "parcel.txt", project_name="项" * 41)
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["code"] == "text_too_long" and err["param"] == "project_name"
    assert "40" in err["message_en"] and "PROJECT_TEXT_MAX_CHARS" in err["message_zh"]
    r = _upload(client, "parcel.txt", project_type="nuclear")
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "project_type"
    r = client.post("/api/v1/sitecheck", json={"wkt": "POINT (122.84 45.62)",
                                               "applicant": 5})
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "applicant"


def test_json_body_takes_the_project_fields(client):
    r = client.post("/api/v1/sitecheck", json={"wkt": "POINT (122.84 45.62)",
                                               "project_name": " 东湖 ", "project_type": "tourism"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["project"]["name"] == "东湖" and body["project"]["type"]["id"] == "tourism"


def test_gcj02_file_is_flagged_and_choosing_gcj02_moves_the_site(client):
    as_wgs = _upload(client, "amap_gcj02.geojson").get_json()
    as_gcj = _upload(client, "amap_gcj02.geojson", crs="gcj02").get_json()
    assert as_wgs["input"]["crs"] == "EPSG:4326" and as_wgs["input"]["crs_source"] == "default"
    hint = [h for h in as_wgs["input"]["crs_hints"] if h["code"] == "looks_gcj02"]
    assert hint and hint[0]["suggest_crs"] == "gcj02"
    assert as_gcj["input"]["crs"] == "gcj02" and as_gcj["input"]["crs_hints"] == []
    from planmap.geo.crs import to_metric

    a = to_metric(shape(client.get(as_wgs["url"]).get_json()["site_geometry"]))
    b = to_metric(shape(client.get(as_gcj["url"]).get_json()["site_geometry"]))
    assert 400 < shapely.distance(a.centroid, b.centroid) < 650
    zones_wgs = {z["id"] for z in as_wgs["zones"]}
    zones_gcj = {z["id"] for z in as_gcj["zones"]}
    assert "eco_taobei_donghu" in zones_gcj - zones_wgs  # the wetland it really lies in
    assert as_gcj["verdict"] != as_wgs["verdict"]


def test_project_types_endpoint_lists_the_picker(client):
    body = client.get("/api/v1/project-types").get_json()
    ids = [t["id"] for t in body["project_types"]]
    assert "wind_solar" in ids and "tourism" in ids and body["count"] == len(ids)


def test_html_report_has_beijing_time_plan_titles_and_case_sections(client, app, two_parcels):
    html = client.get(two_parcels["report_url"]).get_data(as_text=True)
    created = client.get(two_parcels["url"]).get_json()["created"]
    beijing = dt.datetime.fromtimestamp(created, dt.timezone(dt.timedelta(hours=8)))
    assert beijing.strftime("%Y-%m-%d %H:%M") in html and "北京时间" in html
    assert "UTC</td>" not in html
    title = app.extensions["planmap"].data.plans["000_f32aaef515cfbb76"].title_zh
    assert title in html
    for marker in ("pm-case-parcel-table", "pm-case-boundary", "pm-case-extent", "pm-case-sign",
                   "洮北风光储一体化项目", "白城某新能源有限公司", "经办人", "审核人"):
        assert marker in html, marker
    assert html.count('class="pm-case-parcel"') == 2
    assert html.index("pm-report-lead") < html.index("pm-case-project")  # verdict first


def _pdf_text(data: bytes, tmp_path) -> str:
    exe = need_program("pdftotext")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(data)
    return subprocess.run([exe, "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_pdf_has_parcel_rows_boundary_table_beijing_time_and_plan_title(client, app,
                                                                        two_parcels, tmp_path):
    r = client.get(two_parcels["report_url"] + ".pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF")
    text = _pdf_text(r.data, tmp_path)
    lines = text.splitlines()
    for row in two_parcels["parcels"]["parcels"]:
        area = f"{row['area_m2']:,.2f}"
        assert any(row["name"] in ln and area in ln for ln in lines), row["name"]
    assert "界址点坐标表" in text
    first = two_parcels["parcels"]["parcels"][0]["rings"][0]["points"][1]
    assert f"{first[4]:.3f}" in text and f"{first[3]:.3f}" in text  # J2 in EPSG:4550
    assert "北京时间" in text and "四至" in text
    created = client.get(two_parcels["url"]).get_json()["created"]
    beijing = dt.datetime.fromtimestamp(created, dt.timezone(dt.timedelta(hours=8)))
    assert beijing.strftime("%Y-%m-%d %H:%M") in text
    title = app.extensions["planmap"].data.plans["000_f32aaef515cfbb76"].title_zh
    assert title[:20] in text.replace("\n", "")
    pages = text.count("\f") + (0 if text.endswith("\f") else 1)
    assert f"第 1 页，共 {pages} 页" in text and "审核人" in text


def test_pdf_by_format_parameter_and_unknown_check(client, two_parcels):
    r = client.get(two_parcels["report_url"] + "?format=pdf&lang=en")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    missing = client.get("/report/nosuchcheck00.pdf")
    assert missing.status_code == 404 and missing.get_json()["error"]["status"] == 404


def test_project_text_is_escaped_on_the_report(client):
    r = client.post("/api/v1/sitecheck", json={"wkt": "POINT (122.84 45.62)",
                                               "project_name": "<img src=x onerror=alert(1)>"})
    html = client.get(r.get_json()["report_url"]).get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_report_lists_the_txt_files_own_point_names(client):
    """界址点 keep the 点号 the 国土 TXT gives (here JZD1…), not a renumbering J1…."""
    text = (SITES / "two_parcels.txt").read_bytes().decode("gb18030")
    renamed = text.replace("\nJ", "\nJZD")
    r = client.post("/api/v1/sitecheck",
                    data={"file": (io.BytesIO(renamed.encode("gb18030")), "named.txt")},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    points = [p for row in r.get_json()["parcels"]["parcels"] for ring in row["rings"]
              for p in ring["points"]]
    assert points and all(p[5].startswith("JZD") for p in points)
    html = client.get(r.get_json()["report_url"]).get_data(as_text=True)
    table = html[html.index('id="pm-case-boundary"'):]
    cells = re.findall(r"<tr><td>([^<]*)</td><td>\d+</td>", table)
    assert cells == [p[5] for p in points]
    assert "<tr><td>J1</td>" not in table
