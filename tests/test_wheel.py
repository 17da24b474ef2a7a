"""The wheel as a bureau installs it: what it holds, and that its data survives a reinstall.

The wheel is built from a clean copy of the repository and installed (not editable,
``--no-deps``, offline) into a fresh venv made without the system site-packages; the new venv
sees the dependencies of the venv running the tests through a ``.pth`` line naming that venv's
site-packages (a directory named in a ``.pth`` file is only appended to ``sys.path``: the
editable install's finder inside it is not loaded).  See also tests/server/test_wheel_pages.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

CHECK_STORE = textwrap.dedent("""
    import json, sys
    from planmap.server import create_app
    app = create_app({"WORKERS": 0})
    r = app.test_client().post("/api/v1/sitecheck", json={
        "geometry": {"type": "Point", "coordinates": [122.84, 45.62]}})
    assert r.status_code in (200, 201), r.get_data(as_text=True)[:500]
    print(json.dumps({"db": app.config["DB_PATH"], "id": r.get_json()["id"]}))
""")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    src = out / "src"  # a clean copy: a stale build/ would leak into the wheel
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", ".venv", "node_modules", "artifacts", "instance",
        "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q",
                    "-w", str(out)], check=True, cwd=out, timeout=600)
    wheels = list(out.glob("planmap-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def _fresh_venv(where: Path) -> tuple[Path, Path]:
    venv.create(where, with_pip=True, system_site_packages=False)
    python = where / "bin" / "python"
    site_dir = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_dir / "planmap_test_deps.pth").write_text("".join(d + "\n" for d in deps))
    return python, site_dir


def _install(python: Path, wheel: Path, *extra: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    *extra, str(wheel)], check=True, timeout=600)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_wheel_top_level_is_planmap_only(wheel):
    zf = zipfile.ZipFile(wheel)
    names = zf.namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"planmap"}
    info = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
    assert zf.read(info).decode().split() == ["planmap"]
    entry = zf.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt")))
    assert "planmap = planmap.server.cli:main" in entry.decode()
    for sub in ("geo", "layers", "server", "static"):
        assert f"planmap/{sub}/__init__.py" in names
    assert "planmap/geo/io/site.py" in names and "planmap/layers/data/admin.geojson" in names
    # static carries the assets only, not the tools that refresh the vendored files
    static = [n for n in names if n.startswith("planmap/static/")]
    assert "planmap/static/vendor/leaflet/leaflet.js" in static
    assert not [n for n in static if n.rsplit("/", 1)[-1] in (
        "package.json", "package-lock.json", "refresh_vendor.sh")]


def test_wheel_holds_no_mutable_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if "/versions/" in n or n.endswith((".lock", ".sqlite3"))]


def test_an_import_survives_a_reinstall_of_the_wheel(wheel, tmp_path):
    python, site_dir = _fresh_venv(tmp_path / "venv")
    _install(python, wheel)
    planmap = tmp_path / "venv" / "bin" / "planmap"
    home = tmp_path / "home"
    env = dict(os.environ, PLANMAP_HOME=str(home), PLANMAP_CACHE_DIR="",
               PLANMAP_DB_PATH="", PLANMAP_WORKERS="0")
    env.pop("PLANMAP_DATABASE_URL", None)
    env.pop("PYTHONPATH", None)
    run = tmp_path / "cwd"  # not the repository: only the installed copy can be imported
    run.mkdir()
    src = run / "parcel.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {
            "name": "地块", "citation_seed": "000_f32aaef515cfbb76", "citation_line": 849,
            "citation_quote": "严格执行生态保护红线管理办法"},
        "geometry": {"type": "Polygon", "coordinates": [[[122.8, 45.6], [122.801, 45.6],
                                                         [122.801, 45.601], [122.8, 45.601],
                                                         [122.8, 45.6]]]}}]},
        ensure_ascii=False), "utf-8")
    installed = _files(site_dir)

    out = subprocess.run([str(planmap), "import", str(src), "--layer", "my_parcels"],
                         cwd=run, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "created my_parcels: 1 official features" in out.stdout
    stored = subprocess.run([str(python), "-c", CHECK_STORE], cwd=run, env=env,
                            capture_output=True, text=True, timeout=300)
    assert stored.returncode == 0, stored.stderr[-2000:]
    check = json.loads(stored.stdout.strip().splitlines()[-1])
    assert check["db"] == str(home / "checks.sqlite3") and Path(check["db"]).is_file()
    # nothing was written into site-packages, nor into the working directory
    assert _files(site_dir) == installed
    assert sorted(p.name for p in run.iterdir()) == ["parcel.geojson"]

    _install(python, wheel, "--force-reinstall")
    layers = subprocess.run([str(planmap), "layers", "--json"], cwd=run, env=env,
                            capture_output=True, text=True, timeout=300)
    assert layers.returncode == 0, layers.stderr[-2000:]
    assert "my_parcels" in layers.stdout
    again = subprocess.run([str(python), "-c", textwrap.dedent(f"""
        from planmap.server import create_app
        app = create_app({{"WORKERS": 0}})
        r = app.test_client().get("/api/v1/sitecheck/{check['id']}")
        print(r.status_code)
        """)], cwd=run, env=env, capture_output=True, text=True, timeout=300)
    assert again.stdout.strip().splitlines()[-1] == "200", again.stderr[-2000:]
