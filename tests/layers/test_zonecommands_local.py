"""The command line treats local files as the user's own: no HTTP upload limits, pieces at a time.

`planmap zones` reads a CSV in pieces (``layers.zonecommands.CHUNK_BYTES``) and writes pairs with
pyarrow; the answers must be exactly those of one ``ZoneIndex.batch`` over all points.
"""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pyarrow.parquet as pq
import pytest
from planmap.geo.index import ZoneIndex
from planmap.layers import zonecommands as commands
from planmap.server.cli import main


@pytest.fixture(scope="module")
def index():
    from planmap import layers

    return ZoneIndex.from_plan_data(layers.load())


@pytest.fixture
def cached(index, monkeypatch):
    monkeypatch.setattr(commands, "_index", lambda args: index)
    return index


def _points(n, seed=11):
    rng = np.random.default_rng(seed)
    return rng.uniform(121.6, 124.4, n), rng.uniform(44.2, 46.4, n)


def _csv_bytes(lon, lat, prefix="pt") -> bytes:
    ids = np.char.add(prefix, np.arange(len(lon)).astype(str))
    body = "\n".join(f"{i},{x:.6f},{y:.6f}" for i, x, y in zip(ids, lon, lat, strict=True))
    return ("id,lon,lat\n" + body + "\n").encode()


def _expected(index, lon, lat, prefix="pt"):
    # the same rounded coordinates the CSV holds
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    res = index.batch(lon, lat)
    ids = np.char.add(prefix, res.point_idx.astype(str))
    return ids.tolist(), res.zone_ids.tolist(), res.layers.tolist()


@pytest.mark.slow
def test_zones_accepts_a_25_mb_csv_and_answers_like_one_batch(cached, tmp_path, capsys):
    n = 1_150_000
    lon, lat = _points(n)
    data = _csv_bytes(lon, lat)
    assert len(data) > 25 * 1024 * 1024  # over the HTTP body limit (20 MiB)
    src = tmp_path / "big.csv"
    src.write_bytes(data)
    out = tmp_path / "pairs.parquet"
    assert main(["zones", str(src), "-o", str(out)]) == 0
    assert f"{n:,} points" in capsys.readouterr().err  # the one-line summary
    table = pq.read_table(out)
    got = (table["point_id"].to_pylist(), table["zone_id"].to_pylist(),
           table["layer"].to_pylist())
    assert got == _expected(cached, lon, lat)  # several pieces, same pairs in the same order


def test_http_still_refuses_a_body_over_its_limit_with_the_json_error(tmp_path):
    from planmap.server import create_app
    from planmap.server.settings import DEFAULTS

    limit = DEFAULTS["MAX_BODY_BYTES"]
    lon, lat = _points(2)
    body = _csv_bytes(lon, lat)
    body += b"\n" * (limit + 1 - len(body))  # trailing blank lines: a valid CSV, one byte over
    client = create_app({"DB_PATH": str(tmp_path / "c.db")}).test_client()
    r = client.post("/api/v1/zones", data=body, content_type="text/csv")
    assert r.status_code == 413
    err = r.get_json()["error"]
    assert err["status"] == 413 and err["code"] == "body_too_large"
    assert str(limit) in err["message_en"] and err["message_zh"]
    # the same bytes as a local file are the user's own
    src = tmp_path / "same.csv"
    src.write_bytes(body)
    assert main(["zones", str(src), "--quiet", "--data-dir", ""]) in (0,)


def test_pieces_split_anywhere_give_the_same_csv(cached, tmp_path, capsys, monkeypatch):
    lon, lat = _points(3000, seed=5)
    src = tmp_path / "p.csv"
    src.write_bytes(_csv_bytes(lon, lat))
    assert main(["zones", str(src), "--quiet"]) == 0
    whole = capsys.readouterr().out
    monkeypatch.setattr(commands, "CHUNK_BYTES", 997)  # pieces end mid-line
    assert main(["zones", str(src), "--quiet"]) == 0
    pieces = capsys.readouterr().out
    assert pieces == whole
    rows = list(csv.reader(io.StringIO(whole)))
    assert rows[0] == ["point_id", "zone_id", "layer"]
    assert [tuple(r) for r in rows[1:]] == list(zip(*_expected(cached, lon, lat), strict=True))


def test_a_bad_line_in_a_later_piece_is_named_by_its_file_line(cached, tmp_path, capsys,
                                                              monkeypatch):
    lon, lat = _points(500, seed=6)
    lines = _csv_bytes(lon, lat).decode().splitlines()
    lines[400] = "bad,abc,45.1"  # file line 401 (the header is line 1)
    src = tmp_path / "bad.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(commands, "CHUNK_BYTES", 1000)
    assert main(["zones", str(src), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "CSV line 401" in err and "CSV 第 401 行" in err


def test_ids_needing_quotes_are_quoted(cached, tmp_path, capsys):
    src = tmp_path / "q.csv"
    src.write_text('id,lon,lat\n"a,b",122.839,45.620\nplain,122.839,45.620\n', encoding="utf-8")
    assert main(["zones", str(src), "--quiet"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert {r[0] for r in rows[1:]} == {"a,b", "plain"}
    assert ["a,b", "admin_220802", "admin"] in rows


def test_output_formats_by_extension_and_flag_hold_the_same_pairs(cached, tmp_path, capsys):
    import pyogrio

    lon, lat = _points(400, seed=7)
    src = tmp_path / "p.csv"
    src.write_bytes(_csv_bytes(lon, lat))
    want = list(zip(*_expected(cached, lon, lat), strict=True))
    assert main(["zones", str(src), "--quiet", "-o", str(tmp_path / "o.csv")]) == 0
    rows = list(csv.reader(io.StringIO((tmp_path / "o.csv").read_text("utf-8"))))[1:]
    assert [tuple(r) for r in rows] == want
    assert main(["zones", str(src), "--quiet", "-o", str(tmp_path / "o.bin"),
                 "--format", "parquet"]) == 0
    t = pq.read_table(tmp_path / "o.bin")
    assert list(zip(*(t[c].to_pylist() for c in ("point_id", "zone_id", "layer")),
                    strict=True)) == want
    assert main(["zones", str(src), "--quiet", "-o", str(tmp_path / "o.gpkg")]) == 0
    frame = pyogrio.read_dataframe(tmp_path / "o.gpkg", layer="zones")
    assert list(zip(frame["point_id"], frame["zone_id"], frame["layer"], strict=True)) == want
    # each pair carries its point
    first = int(want[0][0][2:])
    assert frame.geometry.iloc[0].x == pytest.approx(round(lon[first], 6))
    assert main(["zones", str(src), "-o", str(tmp_path / "o.xlsx")]) == 2
    assert "unknown_output_format" in capsys.readouterr().err


def test_cli_limits_are_named_settings(cached, tmp_path, capsys, monkeypatch):
    lon, lat = _points(50)
    src = tmp_path / "p.csv"
    src.write_bytes(_csv_bytes(lon, lat))
    monkeypatch.setenv("PLANMAP_CLI_MAX_BYTES", "100")
    assert main(["zones", str(src)]) == 2
    assert "too_large" in (err := capsys.readouterr().err) and "CLI_MAX_BYTES" in err
    monkeypatch.delenv("PLANMAP_CLI_MAX_BYTES")
    monkeypatch.setenv("PLANMAP_CLI_MAX_POINTS", "10")
    assert main(["zones", str(src)]) == 2
    assert "too_many_points" in capsys.readouterr().err


def _parcels_zip(path, n=40, pad_bytes=0):
    """A zipped Shapefile of ``n`` square parcels; ``pad_bytes`` of metadata beside it."""
    import geopandas as gpd
    import shapely

    x = 122.70 + 0.002 * (np.arange(n) % 20)
    y = 45.55 + 0.002 * (np.arange(n) // 20)
    frame = gpd.GeoDataFrame(
        {"id": [f"parcel_{i}" for i in range(n)], "name_zh": [f"地块{i}" for i in range(n)],
         "citation_seed": ["000_f32aaef515cfbb76"] * n, "citation_line": [624] * n,
         "citation_quote": ["以白城市区为主核心"] * n},
        geometry=shapely.box(x, y, x + 0.0015, y + 0.0015), crs="EPSG:4326")
    shp_dir = path.parent / "shp"
    shp_dir.mkdir()
    frame.to_file(shp_dir / "parcels.shp", engine="pyogrio", encoding="UTF-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(shp_dir.iterdir()):
            zf.write(f, f.name)
        if pad_bytes:
            # a bureau's ISO 19139 metadata sidecar; highly compressible, so the test stays fast
            with zf.open("parcels.shp.xml", "w") as fh:
                block = b"<gmd:MD_Metadata/>" + b" " * (1 << 20)
                for _ in range(pad_bytes // len(block) + 1):
                    fh.write(block)
    return path


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
@pytest.mark.filterwarnings("ignore:Column names longer than 10 characters")
def test_import_accepts_a_zip_that_unpacks_past_100_mb(tmp_data_dir, tmp_path, capsys,
                                                        monkeypatch):
    z = _parcels_zip(tmp_path / "parcels.shp.zip", pad_bytes=110 * 1024 * 1024)
    total = sum(i.file_size for i in zipfile.ZipFile(z).infolist())
    assert total > 100 * 1024 * 1024 and z.stat().st_size < 2 * 1024 * 1024
    monkeypatch.setenv("PLANMAP_CLI_MAX_UNZIPPED_BYTES", str(100 * 1024 * 1024))
    args = ["import", str(z), "--layer", "parcels", "--crs", "EPSG:4326",
            "--data-dir", str(tmp_data_dir), "--source", "test parcels"]
    assert main(args) == 2  # the setting, when set, still bounds it
    assert "zip_too_large" in capsys.readouterr().err
    monkeypatch.delenv("PLANMAP_CLI_MAX_UNZIPPED_BYTES")
    assert main(args) == 0, capsys.readouterr().err
    assert "40 official features" in capsys.readouterr().out
    from planmap import layers

    assert len(layers.load(tmp_data_dir).layers["parcels"]) == 40


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_quiet_otherwise_and_a_summary_line(cached, tmp_path, capsys,
                                                                   monkeypatch):
    lon, lat = _points(2000, seed=8)
    src = tmp_path / "p.csv"
    src.write_bytes(_csv_bytes(lon, lat))
    out = tmp_path / "o.csv"
    assert main(["zones", str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err  # not a terminal: no bar, one summary line
    assert err.count("\n") == 1 and err.startswith("planmap: 2,000 points, ")
    assert main(["zones", str(src), "-o", str(out), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    monkeypatch.setattr(commands, "CHUNK_BYTES", 4096)
    assert main(["zones", str(src), "-o", str(out)]) == 0
    shown = term.getvalue()
    assert "points:" in shown and "%|" in shown and "point-zone pairs" in shown


def test_pieces_keep_bom_crlf_and_gbk_files_right(cached, tmp_path, capsys, monkeypatch):
    lon, lat = _points(300, seed=9)
    text = _csv_bytes(lon, lat, prefix="点").decode().replace("\n", "\r\n")
    want = None
    for name, data in (("bom.csv", b"\xef\xbb\xbf" + text.encode()),
                       ("gbk.csv", text.encode("gbk"))):
        src = tmp_path / name
        src.write_bytes(data)
        monkeypatch.setattr(commands, "CHUNK_BYTES", 1 << 24)
        assert main(["zones", str(src), "--quiet"]) == 0
        whole = capsys.readouterr().out
        monkeypatch.setattr(commands, "CHUNK_BYTES", 501)
        assert main(["zones", str(src), "--quiet"]) == 0
        assert capsys.readouterr().out == whole
        want = want or whole
        assert whole == want  # the same pairs whatever the encoding
    rows = list(csv.reader(io.StringIO(want)))[1:]
    assert [tuple(r) for r in rows] == list(zip(*_expected(cached, lon, lat, "点"), strict=True))
