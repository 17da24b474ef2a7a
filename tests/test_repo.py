"""Repository-level promises: the README's two commands, CI, geo's purity."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands():
    return re.findall(r"^    (python3 -m venv .*)$", (ROOT / "README.md").read_text("utf-8"), re.M)


def test_readme_opens_with_serve_and_test_commands():
    commands = _readme_commands()
    assert len(commands) >= 2
    assert commands[0].endswith("planmap serve")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert _readme_commands()[1] in ci.splitlines()
    assert "PLANMAP_REQUIRE_EXTERNAL=1" in ci
    # and lints: a ruff finding fails CI, not only a reviewer's eye
    assert "ruff check ." in ci.splitlines()


def test_geo_never_imports_flask():
    code = (
        "import sys, pkgutil, importlib, geo\n"
        "for m in pkgutil.walk_packages(geo.__path__, 'geo.'): importlib.import_module(m.name)\n"
        "import layers\n"
        "for m in pkgutil.walk_packages(layers.__path__, 'layers.'):\n"
        "    importlib.import_module(m.name)\n"
        "assert 'flask' not in sys.modules, 'flask imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _sources(*folders: str):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_production_code_has_no_test_switches():
    """Test-only hooks live in the tests (fixtures, tests/slow_import.py), not in the product."""
    switch = re.compile(r"PLANMAP_TEST_|PYTEST_CURRENT_TEST")
    found = [str(p.relative_to(ROOT)) for p in _sources("geo", "layers", "server")
             if switch.search(p.read_text("utf-8"))]
    assert found == []


def test_tests_import_our_own_modules_plainly():
    """``importorskip`` on our own modules would turn a broken import into skips."""
    own = re.compile(r"importorskip\(\s*[\"'](geo|layers|server|static|planmap)\b")
    found = [str(p.relative_to(ROOT)) for p in _sources("tests")
             if own.search(p.read_text("utf-8"))]
    assert found == []
