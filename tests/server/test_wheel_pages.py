"""``pip wheel .`` carries everything the pages need, and an installed wheel serves them.

The wheel is installed (not editable) into a fresh venv; the venv sees the system's
dependencies (``--system-site-packages``) so no network is needed, and the check runs
outside the repository so only the installed copy can be imported.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

SERVE_CHECK = textwrap.dedent("""
    import re, sys, tempfile
    import server
    assert "site-packages" in server.__file__, server.__file__
    from server import create_app
    app = create_app({"DB_PATH": tempfile.mkdtemp() + "/c.sqlite3"})
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    urls = [u for u in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
            if not u.startswith("data:")]
    assert any(u.startswith("/static/vendor/leaflet/leaflet.js") for u in urls), urls
    assert any(u.startswith("/map/zh.js") for u in urls), urls
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200 and r.data, url
    plan = client.get("/plan/000_f32aaef515cfbb76")
    assert plan.status_code == 200 and 'id="L1"' in plan.get_data(as_text=True)
    print("served", len(urls), "assets from", server.__file__)
""")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # build from a copy without local build products (a stale build/ would leak into the wheel)
    src = out / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", ".venv", "node_modules", "artifacts", "instance",
        "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q",
                    "-w", str(out)], check=True, cwd=out, timeout=600)
    wheels = list(out.glob("planmap-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_contains_the_page_assets_templates_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("static/vendor/leaflet/leaflet.js", "static/vendor/leaflet/leaflet.css",
                     "static/vendor/leaflet/LICENSE", "static/vendor/leaflet-draw/leaflet.draw.js",
                     "static/vendor/leaflet-draw/LICENSE", "static/planmap.js",
                     "static/planmap.css", "server/templates/map.html",
                     "server/templates/plan.html", "server/templates/report.html",
                     "layers/catalog.json", "layers/plans/index.json"):
        assert required in names, required
    for layer in ("admin", "ecology", "urban", "parks", "water"):
        assert f"layers/data/{layer}.geojson" in names
    assert not any("node_modules" in n for n in names), "node_modules leaked into the wheel"


def test_installed_wheel_serves_the_full_page(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                   check=True, timeout=600)
    run = subprocess.run([str(python), "-c", SERVE_CHECK], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "served" in run.stdout
