"""The suite needs nothing outside its own venv (a fresh machine has only Debian's python3).

A venv made with ``--system-site-packages``, or a Python with packages installed by hand,
can hide a dependency missing from ``setup.cfg``: the suite would pass on that machine only.
"""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Everything imported below runs with these directories removed from sys.path: the base
# Python's site-packages and the user's site-packages (``pip install --user``).
STRIP_SYSTEM_SITE = """
import importlib, importlib.metadata as md, pkgutil, site, sys
outside = set(site.getsitepackages([sys.base_prefix])) | {site.getusersitepackages()}
sys.path[:] = [p for p in sys.path if p not in outside]
"""


def _requirements() -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    lines = (cfg["options"]["install_requires"] + "\n"
             + cfg["options.extras_require"]["test"]).splitlines()
    return [re.split(r"[<>=!~;\[ ]", line.strip(), maxsplit=1)[0]
            for line in lines if line.strip()]


def test_in_a_venv():
    # the README's commands make a venv; outside one, "the system site-packages" is all there is
    assert sys.prefix != sys.base_prefix, "run the tests from the README's venv"


def test_declared_dependencies_and_the_project_import_without_the_system_site_packages():
    names = _requirements()
    assert {"geopandas", "shapely", "pytest"} <= set(names)
    code = STRIP_SYSTEM_SITE + f"""
top = {{}}
for mod, dists in md.packages_distributions().items():
    for d in dists:
        top.setdefault(d.lower().replace("_", "-"), []).append(mod)
missing = []
for name in {names!r}:
    mods = [m for m in top.get(name.lower().replace("_", "-"), [])
            if not m.startswith("_") and m.isidentifier()]
    if not mods:
        missing.append(name + " (not installed in this venv)")
    for m in mods:
        try:
            importlib.import_module(m)
        except ImportError as exc:
            missing.append(f"{{name}}: {{exc}}")
for pkg in ("geo", "layers", "server"):
    mod = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
        try:
            importlib.import_module(info.name)
        except ImportError as exc:
            missing.append(f"{{info.name}}: {{exc}}")
assert not missing, missing
"""
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
