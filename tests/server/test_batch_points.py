"""``planmap batch``'s vectorised path for points gives the per-feature site check's rows.

A user relies on a batch of 10^6 points answering each point exactly as the API's site
check would (zones, verdict, clauses, plans, service area), however the batch computes it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from planmap.geo import batch as gb
from planmap.geo.index import ZoneIndex
from planmap.geo.plans import other_plan_ids, scope_from_plan_data


@pytest.fixture(scope="module")
def engine(plan_data):
    scope = scope_from_plan_data(plan_data)
    others = ZoneIndex.from_plan_data(plan_data, plan_ids=other_plan_ids(scope))
    return gb.Engine(ZoneIndex.from_plan_data(plan_data), plan_index=others, scope=scope)


def _points(engine, n=1500, seed=11):
    """Random points over and around Baicheng, on zone boundaries, on line/point features."""
    rng = np.random.default_rng(seed)
    pts = list(shapely.points(rng.uniform(121.0, 125.0, n), rng.uniform(44.0, 46.6, n)))
    index = engine.index
    on_edges = shapely.get_coordinates(shapely.boundary(index._fgeom[index._is_zone]))
    pts += [shapely.Point(*c) for c in on_edges[rng.integers(0, len(on_edges), 150)]]
    on_lines = shapely.get_coordinates(index._fgeom[~index._is_zone])
    pts += [shapely.Point(*c) for c in on_lines[rng.integers(0, len(on_lines), 40)]]
    pts += [shapely.MultiPoint([(122.8, 45.6), (123.0, 45.0)]), shapely.Point(), None,
            shapely.Point(10.0, 10.0), shapely.Point(122.8, 45.6)]
    return [f"p{i}" for i in range(len(pts))], pts


def _same(a: dict, b: dict) -> bool:
    def norm(row):
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in row.items()}

    return norm(a) == norm(b)


def test_fast_path_rows_equal_the_per_feature_rows(engine):
    ids, pts = _points(engine)
    fast = gb.check_rows(engine, ids, pts)
    slow = gb.check_rows(engine, ids, pts, fast=False)
    assert [r["id"] for r in fast] == ids
    differ = [i for i, (a, b) in enumerate(zip(fast, slow, strict=True)) if not _same(a, b)]
    assert differ == []
    # the sample exercises what the rows can say: zones, verdicts, other plans, errors
    assert {r["verdict"] for r in slow} >= {"none", "restricted"}
    assert any(r["zones"] for r in slow) and any(not r["zones"] for r in slow)
    assert any(r["plans"] and "000" not in r["plans"].split(";") for r in slow)
    assert any(r["error"] for r in slow)


def test_fast_path_answers_the_plain_points_and_leaves_the_rest(engine):
    ids, pts = _points(engine, n=400)
    got = gb.point_rows(engine, ids, pts, [""] * len(pts))
    plain = [i for i, g in enumerate(pts) if type(g) is shapely.Point and not g.is_empty]
    assert len(got) > 0.9 * len(plain)  # the vectorised path does carry the batch
    assert set(got) <= set(plain)  # multipoints, empties and missing ones are not its job
    for i, row in got.items():
        assert _same(row, gb.check_rows(engine, [ids[i]], [pts[i]], fast=False)[0])


def test_a_read_error_is_kept_on_its_row(engine):
    ids, pts = ["a", "b"], [shapely.Point(122.8, 45.6), shapely.Point(122.81, 45.61)]
    rows = gb.check_rows(engine, ids, pts, ["bad_row: unreadable", ""])
    assert rows[0]["error"] == "bad_row: unreadable" and rows[0]["verdict"] == ""
    assert rows[1]["error"] == "" and rows[1]["verdict"] != ""


@pytest.mark.slow
def test_dask_points_equal_the_serial_per_feature_run(tmp_path, monkeypatch):
    import pandas as pd
    from planmap.server import batch
    from planmap.server.cli import main

    rng = np.random.default_rng(17)
    lines = ["id,lon,lat"] + [f"q{i},{x:.6f},{y:.6f}" for i, (x, y) in enumerate(
        zip(rng.uniform(121.7, 124.3, 600), rng.uniform(44.3, 46.2, 600), strict=True))]
    lines[40] = "q39,not,anumber"
    src = tmp_path / "pts.csv"
    src.write_text("\n".join(lines) + "\n", "utf-8")
    monkeypatch.setattr(batch, "CSV_PART_BYTES", 2048)  # many partitions per worker: rows reused
    fast, dask = tmp_path / "fast.parquet", tmp_path / "dask.parquet"
    assert main(["batch", str(src), "-o", str(fast), "--quiet"]) == 0
    assert main(["batch", str(src), "-o", str(dask), "--engine", "dask", "--workers", "2",
                 "--quiet"]) == 0
    a, b = pd.read_parquet(fast), pd.read_parquet(dask)
    pd.testing.assert_frame_equal(a, b)
    # and both equal the per-feature path, row by row
    import argparse

    from planmap.geo import batch as gb
    from planmap.server.batch import engine_spec, load_engine, read_part
    spec = engine_spec(argparse.Namespace(data_dir=None, cache_dir=str(tmp_path / "cache")))
    engine = load_engine(spec)
    frame = pd.concat([read_part(p) for p in batch.plan(src)])
    slow = gb.check_rows(engine, frame["id"].tolist(), list(frame.geometry.array),
                         frame["read_error"].tolist(), fast=False)
    want = pd.DataFrame(slow)
    got = a.drop(columns="geometry").reset_index(drop=True)
    assert got["id"].tolist() == want["id"].tolist()
    assert (got["error"] != "").sum() == 1
    for col in ("zones", "verdict", "clauses", "plans", "in_service_area", "error"):
        assert got[col].tolist() == want[col].tolist(), col
