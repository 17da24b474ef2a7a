"""Per-parcel rows, 界址点, 四至 and CRS hints of a parsed site (geo/siteinput.py)."""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from planmap.geo import siteinput
from planmap.geo.crs import GK_CM123, ZONE41_OFFSET
from planmap.geo.io import parse_site

SITES = Path(__file__).resolve().parents[1] / "data" / "sites"


def _txt_points(name: str) -> dict[str, list[tuple[float, float]]]:
    """Rows (northing X, easting Y) per parcel, read straight from the 国土 TXT."""
    text = (SITES / name).read_bytes().decode("gb18030")
    out, current = {}, None
    for line in text.split("[地块坐标]")[1].splitlines():
        fields = [f.strip() for f in line.split(",")]
        if line.strip().endswith("@"):
            current = out.setdefault(fields[3], [])
        elif len(fields) >= 4 and current is not None:
            current.append((int(fields[1]), float(fields[2]), float(fields[3])))
    return out


def test_two_parcels_give_two_rows_with_their_own_areas_and_points():
    raw = (SITES / "two_parcels.txt").read_bytes()
    site = parse_site(raw, filename="two_parcels.txt")
    out = siteinput.parcels(site.parts, site.parcels, site.crs_in)
    file_rows = _txt_points("two_parcels.txt")
    assert [r["name"] for r in out["parcels"]] == list(file_rows)
    for row, (name, pts) in zip(out["parcels"], file_rows.items(), strict=True):
        # the planar area of the file's own coordinates (GK metres): outer ring minus holes
        rings = {}
        for ring, x, y in pts:
            rings.setdefault(ring, []).append((y - ZONE41_OFFSET, x))
        ring_list = list(rings.values())
        expected = shapely.Polygon(ring_list[0], ring_list[1:]).area
        assert abs(row["area_m2"] - expected) < 0.01, name
        assert abs(row["area_mu"] - expected / (10_000 / 15)) < 0.01
        # numbered points: every distinct file vertex once, in file order, closing point dropped
        listed = [p for ring in row["rings"] for p in ring["points"]]
        distinct = [pt for ring in rings.values() for pt in ring[:-1]]
        assert [p[0] for p in listed] == list(range(1, len(distinct) + 1))
        assert [(p[3], p[4]) for p in listed] == [(round(e, 3), round(n, 3)) for e, n in distinct]
        # the input columns keep the 41 zone prefix of EPSG:4529
        assert all(abs(p[1] - p[3] - ZONE41_OFFSET) < 1e-6 for p in listed)
    total = sum(r["area_m2"] for r in out["parcels"])
    assert abs(out["totals"]["area_m2"] - total) < 0.01 and out["totals"]["count"] == 2
    # 四至: the extreme eastings/northings over both parcels
    all_pts = [(y - ZONE41_OFFSET, x) for pts in file_rows.values() for _, x, y in pts]
    assert out["extent"]["east"]["x_gk"] == round(max(e for e, _ in all_pts), 3)
    assert out["extent"]["west"]["x_gk"] == round(min(e for e, _ in all_pts), 3)
    assert out["extent"]["north"]["y_gk"] == round(max(n for _, n in all_pts), 3)
    assert out["extent"]["south"]["y_gk"] == round(min(n for _, n in all_pts), 3)
    assert out["crs_gk"] == GK_CM123


def test_point_listing_is_bounded_and_counted():
    site = parse_site((SITES / "two_parcels.txt").read_bytes(), filename="two_parcels.txt")
    out = siteinput.parcels(site.parts, site.parcels, site.crs_in, max_points=5)
    listed = sum(len(r["points"]) for p in out["parcels"] for r in p["rings"])
    assert listed == out["points_listed"] == 5
    assert out["points_total"] == sum(p["vertices"] for p in out["parcels"]) > 5


def test_amap_file_read_as_wgs84_is_flagged_gcj02_and_not_when_chosen():
    raw = (SITES / "amap_gcj02.geojson").read_bytes()
    site = parse_site(raw, filename="amap_gcj02.geojson")
    assert site.crs_in == "EPSG:4326" and site.crs_source == "default"
    hints = {h["code"]: h for h in siteinput.crs_hints(raw, "amap_gcj02.geojson", site.crs_in,
                                                        site.crs_source, site.parts, True)}
    assert hints["looks_gcj02"]["suggest_crs"] == "gcj02" and "crs_assumed" in hints
    chosen = parse_site(raw, filename="amap_gcj02.geojson", crs="gcj02")
    assert chosen.crs_source == "parameter"
    assert siteinput.crs_hints(raw, "amap_gcj02.geojson", chosen.crs_in, chosen.crs_source,
                               chosen.parts, True) == []


def test_a_plain_file_gets_no_gcj_hint_and_a_file_crs_is_not_assumed():
    raw = (SITES / "parcel.geojson").read_bytes()
    site = parse_site(raw, filename="parcel.geojson")
    codes = [h["code"] for h in siteinput.crs_hints(raw, "parcel.geojson", site.crs_in,
                                                    site.crs_source, site.parts, True)]
    assert codes == ["crs_assumed"]
    txt = parse_site((SITES / "parcel.txt").read_bytes(), filename="parcel.txt")
    assert txt.crs_source == "file"


def test_site_outside_baicheng_gets_the_geo_crs_hint():
    doc = {"type": "Polygon", "coordinates": [[[116.3, 39.9], [116.31, 39.9], [116.31, 39.91],
                                               [116.3, 39.9]]]}
    raw = json.dumps(doc).encode()
    site = parse_site(raw, fmt="geojson")
    hints = siteinput.crs_hints(raw, "", site.crs_in, site.crs_source, site.parts, False)
    outside = [h for h in hints if h["code"] == "outside_baicheng"]
    assert outside and "Baicheng" in outside[0]["message_en"]


def test_txt_point_names_are_the_files_own_not_renumbered():
    """A 国土 TXT names its 界址点 (JZD7, A3, …): the report lists those names, in file order."""
    text = (SITES / "parcel_utf8.txt").read_text("utf-8")
    head, coords = text.split("[地块坐标]")
    lines = coords.strip().splitlines()
    renamed, own = [], []
    for k, line in enumerate(lines):
        fields = line.split(",")
        if line.strip().endswith("@") or len(fields) < 4:
            renamed.append(line)
            continue
        name = f"JZD{100 + k}" if k % 2 else f"A{k}"
        own.append(name)
        renamed.append(",".join([name, *fields[1:]]))
    raw = (head + "[地块坐标]\n" + "\n".join(renamed) + "\n").encode("utf-8")
    site = parse_site(raw, filename="named.txt")
    out = siteinput.parcels(site.parts, site.parcels, site.crs_in,
                            point_names=site.point_names)
    listed = [p for row in out["parcels"] for ring in row["rings"] for p in ring["points"]]
    names = [p[5] for p in listed]
    assert names and set(names) <= set(own)
    # each listed point carries the name written on its own row (coordinates match the file)
    rows = {n: r.split(",") for n, r in zip(own, [r for r in renamed if r.split(",")[0] in own],
                                             strict=True)}
    for p in listed:
        x_north, y_east = float(rows[p[5]][2]), float(rows[p[5]][3])
        assert abs(p[1] - y_east) < 1e-3 and abs(p[2] - x_north) < 1e-3, p
    # without the file's names (another format), points are numbered J1, J2, …
    plain = siteinput.parcels(site.parts, site.parcels, site.crs_in)
    assert [p[5] for r in plain["parcels"] for g in r["rings"] for p in g["points"]] == \
        [f"J{i}" for i in range(1, len(listed) + 1)]
