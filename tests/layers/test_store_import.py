"""``planmap import`` into the layer store (both backends): streamed, reported, atomic."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from planmap.geo.errors import InvalidInput, NotFound
from planmap.layers.store import open_store
from planmap.layers.storeimport import import_to_store
from planmap.server.cli import main

from planmap import layers
from tests.conftest import MINI_SEED

ROOT = Path(__file__).resolve().parents[2]


def _parcels(path: Path, n: int, tag: str = "a", bad_rows=(), uncited_rows=(),
             bowtie_rows=()) -> Path:
    """n small squares inside the mini data's county 220802, cited; some rows spoiled."""
    geoms, seeds = [], []
    for i in range(n):
        x, y = 122.05 + (i % 40) * 0.002, 45.05 + (i // 40) * 0.002
        if i in bowtie_rows:  # self-intersecting: repairable
            g = shapely.Polygon([(x, y), (x + 0.001, y + 0.001), (x + 0.001, y), (x, y + 0.001)])
        elif i in bad_rows:  # far outside Baicheng
            g = shapely.box(10 + x, y, 10 + x + 0.001, y + 0.001)
        else:
            g = shapely.box(x, y, x + 0.001, y + 0.001)
        geoms.append(g)
        seeds.append(None if i in uncited_rows else MINI_SEED)
    frame = gpd.GeoDataFrame({
        "id": [f"parcel_{i}" for i in range(n)], "name": [f"地块{i}" for i in range(n)],
        "dlmc": ["耕地" if i % 2 else "林地" for i in range(n)], "tag": [tag] * n,
        "citation_seed": seeds, "citation_line": [3] * n, "citation_quote": ["两核"] * n,
    }, geometry=geoms, crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path, driver="GPKG")
    return path


def test_import_streams_into_a_new_version_the_loader_serves(store_url, mini_data_dir,
                                                               tmp_path):
    store = open_store(store_url)
    src = _parcels(tmp_path / "p.gpkg", 130)
    result = import_to_store(src, "parcels", store, data_dir=mini_data_dir, chunk_size=25,
                             source="测试局 2026")
    assert (result.features, result.refused, result.repaired) == (130, 0, 0)
    assert result.created_layer and result.previous is None
    data = layers.load(mini_data_dir, store=store)
    gdf = data.layers["parcels"]
    assert len(gdf) == 130 and gdf.index[0] == "parcel_0"
    row = gdf.loc["parcel_41"]
    assert row["accuracy"] == "official" and row["dlmc"] == "耕地"
    assert row["county"] == ["220802"] and row["citation"]["seed"] == MINI_SEED
    assert row["source"] == "测试局 2026" and row["layer"] == "parcels"
    entry = data.layer_entry("parcels")
    assert entry["store_version"] == result.version and entry["geometry_types"] == ["Polygon"]
    assert "zones" in data.layers  # the file layers still load beside it


def test_every_repaired_and_refused_row_is_reported_and_refusal_changes_nothing(
        store_url, mini_data_dir, tmp_path):
    store = open_store(store_url)
    first = import_to_store(_parcels(tmp_path / "a.gpkg", 20), "parcels", store,
                            data_dir=mini_data_dir)
    src = _parcels(tmp_path / "b.gpkg", 60, tag="b", bad_rows={7, 44}, uncited_rows={30},
                   bowtie_rows={12})
    seen = []
    with pytest.raises(InvalidInput) as exc:
        import_to_store(src, "parcels", store, data_dir=mini_data_dir, chunk_size=16,
                        report=seen.append)
    assert exc.value.code == "rows_refused"
    assert [(n.row, n.kind) for n in seen] == [(8, "refused"), (13, "repaired"),
                                               (31, "refused"), (45, "refused")]
    assert "outside_service_area" in seen[0].reason
    assert "Self-intersection" in seen[1].reason
    assert "citation_required" in seen[2].reason
    assert store.current("parcels") == first.version  # nothing switched
    result = import_to_store(src, "parcels", store, data_dir=mini_data_dir, chunk_size=16,
                             skip_refused=True)
    assert (result.features, result.refused, result.repaired) == (57, 3, 1)
    gdf = layers.load(mini_data_dir, store=store).layers["parcels"]
    assert "parcel_7" not in gdf.index and gdf.loc["parcel_12"].geometry.is_valid
    assert set(gdf["tag"]) == {"b"}


def test_restore_brings_the_previous_version_back(store_url, mini_data_dir, tmp_path):
    store = open_store(store_url)
    import_to_store(_parcels(tmp_path / "a.gpkg", 10, tag="a"), "parcels", store,
                    data_dir=mini_data_dir)
    second = import_to_store(_parcels(tmp_path / "b.gpkg", 5, tag="b"), "parcels", store,
                             data_dir=mini_data_dir)
    assert second.previous is not None
    args = ["import", "--restore", "--layer", "parcels", "--store", store_url]
    assert main(args) == 0
    gdf = layers.load(mini_data_dir, store=store).layers["parcels"]
    assert len(gdf) == 10 and set(gdf["tag"]) == {"a"}
    with pytest.raises(NotFound):
        store.restore_previous("parcels")


def test_cli_import_without_data_dir_goes_to_the_store_not_the_package(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLANMAP_HOME", str(tmp_path / "home"))
    package = sorted(p.name for p in (ROOT / "layers" / "data").iterdir())
    catalog = (ROOT / "layers" / "catalog.json").read_bytes()
    frame = gpd.GeoDataFrame({
        "name": ["地块"], "citation_seed": ["000_f32aaef515cfbb76"], "citation_line": [849],
        "citation_quote": ["严格执行生态保护红线管理办法"]},
        geometry=[shapely.box(122.8, 45.6, 122.801, 45.601)], crs="EPSG:4326")
    src = tmp_path / "one.gpkg"
    pyogrio.write_dataframe(frame, src)
    assert main(["import", str(src), "--layer", "my_parcels"]) == 0, capsys.readouterr().err
    assert "created my_parcels: 1 official features" in capsys.readouterr().out
    assert (tmp_path / "home" / "store" / "my_parcels" / "state.json").is_file()
    assert sorted(p.name for p in (ROOT / "layers" / "data").iterdir()) == package
    assert (ROOT / "layers" / "catalog.json").read_bytes() == catalog
    data = layers.load()  # the built-in data plus the store's layer
    assert data.layers["my_parcels"].iloc[0]["name_zh"] == "地块"


def _killed_mid_way(store_url, mini_data_dir, tmp_path, store):
    src = _parcels(tmp_path / "big.gpkg", 400, tag="new")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.slow_import", "0.3", "import", str(src), "--layer", "parcels",
         "--data-dir", str(mini_data_dir), "--store", store_url, "--chunk-size", "20"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        writing = False
        while time.monotonic() < deadline and proc.poll() is None and not writing:
            time.sleep(0.05)
            writing = _is_writing(store_url, store)
        assert writing, "the import never started writing: " + proc.stderr.read().decode()
        time.sleep(0.5)  # a few chunks in
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    return proc.returncode


def _is_writing(store_url, store):
    if store_url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(store_url) as conn:
            n = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                             "'COPY %%'").fetchone()[0]
        return n > 0
    return any(p.stat().st_size > 0 for p in (store.root / "parcels").glob(".v*.partial.gpkg"))


def test_import_killed_mid_way_leaves_the_previous_version_served(store_url, mini_data_dir,
                                                                   tmp_path):
    store = open_store(store_url)
    first = import_to_store(_parcels(tmp_path / "a.gpkg", 10, tag="old"), "parcels", store,
                            data_dir=mini_data_dir)
    assert _killed_mid_way(store_url, mini_data_dir, tmp_path, store) == -signal.SIGKILL
    assert store.current("parcels") == first.version
    gdf = layers.load(mini_data_dir, store=store).layers["parcels"]
    assert len(gdf) == 10 and set(gdf["tag"]) == {"old"}
    assert [v.version for v in store.versions("parcels")] == [first.version]
    # the next import cleans up and switches
    again = import_to_store(_parcels(tmp_path / "c.gpkg", 3, tag="c"), "parcels", store,
                            data_dir=mini_data_dir)
    assert len(layers.load(mini_data_dir, store=store).layers["parcels"]) == 3
    assert again.previous == first.version
    if not store_url.startswith("postgresql"):
        assert not list((store.root / "parcels").glob(".v*.partial.gpkg*"))


def test_column_by_column_rows_are_the_row_by_row_rows(mini_data_dir, tmp_path, monkeypatch):
    """The fast path for rows with their own ids stores exactly what the per-row rules do."""
    from planmap.layers import storeimport

    src = _parcels(tmp_path / "p.gpkg", 70, uncited_rows={5, 33}, bowtie_rows={12},
                   bad_rows={50})

    def run(name):
        seen = []
        store = open_store(tmp_path / name)
        result = import_to_store(src, "parcels", store, data_dir=mini_data_dir, chunk_size=16,
                                 skip_refused=True, report=seen.append)
        return result, [(n.row, n.kind, n.reason) for n in seen], store.read("parcels")

    fast_calls = []
    real = storeimport._Converter._fast_rows

    def spy(self, *args):
        out = real(self, *args)
        fast_calls.append(out is not False)
        return out

    monkeypatch.setattr(storeimport._Converter, "_fast_rows", spy)
    fast, fast_notes, fast_gdf = run("fast")
    assert fast_calls and all(fast_calls)  # every chunk took the fast path
    monkeypatch.setattr(storeimport._Converter, "_fast_rows", lambda self, *a: False)
    slow, slow_notes, slow_gdf = run("slow")
    assert fast_notes == slow_notes and len(fast_notes) == 4
    assert (fast.features, fast.refused, fast.repaired) == (slow.features, slow.refused,
                                                           slow.repaired) == (67, 3, 1)
    assert list(fast_gdf.columns) == list(slow_gdf.columns)
    assert list(fast_gdf.index) == list(slow_gdf.index)
    for col in fast_gdf.columns:
        if col != "geometry":
            assert fast_gdf[col].tolist() == slow_gdf[col].tolist(), col
    assert shapely.equals(fast_gdf.geometry.values, slow_gdf.geometry.values).all()
