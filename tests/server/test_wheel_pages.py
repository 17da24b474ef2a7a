"""``pip wheel .`` carries everything the pages need, and an installed wheel serves them.

The wheel is installed (not editable, ``--no-deps``) into a fresh venv made WITHOUT the
system site-packages: a machine's system Python need not have any of the project's
dependencies. So that no network is needed, the new venv sees the dependencies of the venv
running the tests through a ``.pth`` line naming that venv's site-packages directory. A
directory named in a ``.pth`` file is only appended to ``sys.path``; the ``.pth`` files inside
it are not processed, so the editable install's finder (``__editable__…planmap….pth``) is not
loaded and the check, run outside the repository, can import only the installed copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

SERVE_CHECK = textwrap.dedent("""
    import re, sys, tempfile
    from planmap import server, geo, layers, static
    for pkg in (server, geo, layers, static):
        # the installed copy in this venv, not the repository or an editable finder
        where = pkg.__file__
        assert where.startswith(sys.prefix + "/") and "site-packages" in where, where
    assert not any(m.startswith("__editable__") for m in sys.modules), "editable finder loaded"
    from planmap.server import create_app
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
    import site
    base = tuple(b + "/" for b in site.getsitepackages([sys.base_prefix]))
    from_base = sorted(n for n, m in list(sys.modules.items())
                       if str(getattr(m, "__file__", None) or "").startswith(base))
    assert not from_base, ("imported from the system site-packages", from_base[:10])
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
        required = "planmap/" + required  # the one installed namespace
        assert required in names, required
    for layer in ("admin", "ecology", "urban", "parks", "water"):
        assert f"planmap/layers/data/{layer}.geojson" in names
    assert not any("node_modules" in n for n in names), "node_modules leaked into the wheel"


def test_installed_wheel_serves_the_full_page(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    # the running venv's dependencies, without its .pth files (so without the editable finder)
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(site_dir, "planmap_test_deps.pth").write_text("".join(d + "\n" for d in deps))
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                   check=True, timeout=600)
    run = subprocess.run([str(python), "-c", SERVE_CHECK], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "served" in run.stdout
