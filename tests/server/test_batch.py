"""``planmap batch``: one row per input feature, the API's site check, serial = Dask.

A user relies on: every feature of the file coming back once, in input order, with the
zones, overlaps, verdict and clauses the site check gives for it; the Dask engine giving
exactly the serial answer; and a bad feature or an unreadable piece of the file costing
only its own rows.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from planmap.geo.batch import COLUMNS
from planmap.server import batch
from planmap.server.cli import main

BOUNDS = (121.7, 44.3, 124.3, 46.2)  # inside Baicheng's extent, with room for boxes


def _sample(n=60, seed=5):
    """Points, lines and parcels (boxes), seeded; plus an invalid bow-tie and a null."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(BOUNDS[0], BOUNDS[2], n)
    y = rng.uniform(BOUNDS[1], BOUNDS[3], n)
    geoms = []
    for i in range(n):
        if i % 3 == 0:
            geoms.append(shapely.Point(x[i], y[i]))
        elif i % 3 == 1:
            geoms.append(shapely.LineString([(x[i], y[i]), (x[i] + 0.02, y[i] + 0.01)]))
        else:
            geoms.append(shapely.box(x[i], y[i], x[i] + 0.01, y[i] + 0.008))
    bowtie = shapely.Polygon([(122.8, 45.6), (122.9, 45.7), (122.9, 45.6), (122.8, 45.7)])
    geoms[7] = bowtie
    ids = [f"f{i:03d}" for i in range(n)]
    return ids, geoms


@pytest.fixture(scope="module")
def sample_gpkg(tmp_path_factory):
    ids, geoms = _sample()
    path = tmp_path_factory.mktemp("batch") / "sites.gpkg"
    frame = gpd.GeoDataFrame({"id": ids}, geometry=geoms, crs="EPSG:4326")
    frame.to_file(path, driver="GPKG", layer="sites")
    return path, ids, geoms


def _run(args) -> int:
    return main(["batch", *map(str, args), "--quiet"])


def _read(path) -> pd.DataFrame:
    return gpd.read_parquet(path) if str(path).endswith(".parquet") else gpd.read_file(path)


def test_every_feature_gets_its_site_check_row(sample_gpkg, tmp_path, plan_data):
    from planmap.geo.index import ZoneIndex
    from planmap.geo.plans import other_plan_ids, route, scope_from_plan_data, scope_result
    from planmap.geo.sitecheck import site_check

    path, ids, geoms = sample_gpkg
    out = tmp_path / "out.parquet"
    assert _run([path, "-o", out]) == 0
    got = _read(out)
    assert list(got.columns[:len(COLUMNS)]) == list(COLUMNS)
    assert got["id"].tolist() == ids  # once each, in input order

    # the reference: the API's routing (home plan, or the other plans outside Baicheng)
    home = ZoneIndex.from_plan_data(plan_data)
    scope = scope_from_plan_data(plan_data)
    others = ZoneIndex.from_plan_data(plan_data, plan_ids=other_plan_ids(scope))
    answered, routed = 0, 0
    for i, geom in enumerate(geoms):
        row = got.iloc[i]
        if not geom.is_valid:
            continue
        index, plan_ids, scoped = route(scope, home, others, geom)
        result = site_check(index, geom)
        if scoped:
            scope_result(result, scope, plan_ids)
            routed += 1
        assert row["plans"] == ";".join(plan_ids)
        assert row["error"] == ""
        assert row["zones"] == ";".join(z["id"] for z in result["zones"])
        assert row["verdict"] == result["verdict"]
        assert row["clauses"] == ";".join(c["id"] for c in result["clauses"])
        assert row["kind"] == result["site"]["kind"]
        if result["site"]["kind"] == "polygon":
            assert row["site_area_m2"] == pytest.approx(result["site"]["area_m2"])
            assert row["site_area_mu"] == pytest.approx(result["site"]["area_mu"])
            overlaps = [z["overlap_m2"] for z in result["zones"]]
            assert row["overlap_m2"] == ";".join("" if v is None else repr(float(v))
                                                 for v in overlaps)
        answered += bool(result["zones"])
    assert answered > 10  # the sample does reach zones (else the comparison proves little)
    assert 0 < routed < len(geoms)  # and both indexes
    assert shapely.equals_exact(got.geometry.iloc[0], geoms[0], 1e-9)


def test_invalid_geometry_is_reported_on_its_row_and_the_rest_completes(sample_gpkg, tmp_path):
    path, ids, geoms = sample_gpkg
    out = tmp_path / "out.csv"
    assert _run([path, "-o", out]) == 0
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert got["id"].tolist() == ids
    assert got.loc[7, "error"].startswith("invalid_geometry: ")
    assert "Self-intersection" in got.loc[7, "error"]
    assert got.loc[7, "verdict"] == ""
    others = got.drop(index=7)
    assert (others["error"] == "").all()
    assert (others["verdict"] != "").all()


def _points_csv(path, n, bad_lines=()):
    rng = np.random.default_rng(3)
    lon = rng.uniform(BOUNDS[0], BOUNDS[2], n)
    lat = rng.uniform(BOUNDS[1], BOUNDS[3], n)
    lines = ["id,lon,lat"]
    for i in range(n):
        lines.append(bad_lines[i] if i in bad_lines else f"p{i},{lon[i]:.6f},{lat[i]:.6f}")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_unreadable_partition_costs_only_its_rows(tmp_path, monkeypatch):
    # a line with extra fields makes the CSV reader give up on its whole partition
    src = _points_csv(tmp_path / "pts.csv", 400,
                      bad_lines={5: "p5,abc,45.0", 250: "p250,122.5,45.1,extra,fields"})
    monkeypatch.setattr(batch, "CSV_PART_BYTES", 2048)  # ≈ 80 rows per partition
    parts = batch.plan(src)
    assert len(parts) > 3
    bad = next(p for p in parts if p.first_row <= 250 < p.first_row + p.rows)
    out = tmp_path / "out.csv"
    assert _run([src, "-o", out]) == 0
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(got) == 400
    in_bad = got.iloc[bad.first_row:bad.first_row + bad.rows]
    assert in_bad["error"].str.startswith("unreadable_partition: ").all()
    assert f"rows {bad.first_row + 1}–{bad.first_row + bad.rows}" in in_bad["error"].iloc[0]
    assert in_bad["id"].tolist() == [str(r + 1) for r in range(bad.first_row,
                                                               bad.first_row + bad.rows)]
    rest = got.drop(index=in_bad.index)
    assert rest.loc[5, "error"].startswith("invalid_coordinates")
    assert (rest.drop(index=5)["error"] == "").all()
    assert (rest.drop(index=5)["verdict"] != "").all()


def test_bad_arguments_are_named(tmp_path, capsys):
    src = _points_csv(tmp_path / "pts.csv", 3)
    assert main(["batch", str(src), "-o", str(tmp_path / "out.xlsx")]) == 2
    assert "unknown_output_format" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "none.csv"), "-o", str(tmp_path / "o.csv")]) == 2
    assert "file_not_found" in capsys.readouterr().err
    (tmp_path / "cols.csv").write_text("name,value\na,1\n", "utf-8")
    assert main(["batch", str(tmp_path / "cols.csv"), "-o", str(tmp_path / "o.csv")]) == 2
    assert "missing_columns" in capsys.readouterr().err


def test_wkt_csv_and_projected_crs(tmp_path):
    from planmap.geo import crs as gcrs

    box = shapely.box(122.80, 45.60, 122.81, 45.61)
    projected = gcrs.transform_geometry(box, gcrs.WGS84, "EPSG:4550")
    src = tmp_path / "wkt.csv"
    src.write_text(f'id,wkt\na,"{projected.wkt}"\nb,NOT WKT\nc,\n', "utf-8")
    out = tmp_path / "out.gpkg"
    assert _run([src, "-o", out, "--crs", "EPSG:4550"]) == 0
    got = _read(out)
    assert got["id"].tolist() == ["a", "b", "c"]
    assert got.loc[0, "error"] == "" and got.loc[0, "kind"] == "polygon"
    assert got.loc[0, "site_area_m2"] == pytest.approx(gcrs.area_m2(box), rel=1e-6)
    assert got.geometry.iloc[0].equals_exact(box, 1e-6)  # written back in WGS 84
    assert got.loc[1, "error"].startswith("invalid_wkt")
    assert got.loc[2, "error"].startswith("missing_geometry")


@pytest.mark.slow
def test_dask_engine_equals_the_serial_run(sample_gpkg, tmp_path, monkeypatch):
    path, ids, _ = sample_gpkg
    monkeypatch.setattr(batch, "PART_ROWS", 7)  # several partitions, out-of-order finishes
    serial, dask = tmp_path / "serial.parquet", tmp_path / "dask.parquet"
    assert _run([path, "-o", serial]) == 0
    assert _run([path, "-o", dask, "--engine", "dask", "--workers", "2"]) == 0
    a, b = _read(serial), _read(dask)
    assert len(a) == len(ids)
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert all(x.equals_exact(y, 0) for x, y in zip(a.geometry, b.geometry, strict=True))
    assert (a["error"] != "").sum() == 1  # the bow-tie, on both
    # the workers' GeoParquet parts were appended and their folder removed
    assert not list(tmp_path.glob(".planmap-parts-*"))
