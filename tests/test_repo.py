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
        "import sys, pkgutil, importlib; from planmap import geo\n"
        "for m in pkgutil.walk_packages(geo.__path__, 'planmap.geo.'):\n"
        "    importlib.import_module(m.name)\n"
        "from planmap import layers\n"
        "for m in pkgutil.walk_packages(layers.__path__, 'planmap.layers.'):\n"
        "    importlib.import_module(m.name)\n"
        "assert 'flask' not in sys.modules, 'flask imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# The rooms' arrows (docs/ARCHITECTURE.md): server → layers → geo, never back up.
FORBIDDEN = {"geo": ("layers", "server", "flask"), "layers": ("server", "flask")}


def _imported_roots(source: str) -> set[str]:
    """Rooms and top-level names every import statement of a module reaches (lazy ones too).

    Our rooms are reached as ``planmap.<room>``: ``import planmap.layers.x``,
    ``from planmap.layers import x`` and ``from planmap import layers`` all reach ``layers``
    (and the old top-level spelling ``import layers`` still counts).
    """
    import ast

    def room(dotted: str) -> str:
        parts = dotted.split(".")
        return parts[1] if parts[0] == "planmap" and len(parts) > 1 else parts[0]

    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(room(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "planmap":
                found.update(a.name for a in node.names)
            else:
                found.add(room(node.module))
    return found


def _room_violations(root: Path) -> list[str]:
    bad = []
    for room, never in FORBIDDEN.items():
        for path in sorted((root / room).rglob("*.py")):
            reached = _imported_roots(path.read_text(encoding="utf-8"))
            bad += [f"{path.relative_to(root)} imports {x}" for x in never if x in reached]
    return bad


def test_no_room_imports_a_room_above_it():
    assert _room_violations(ROOT) == []


def test_the_room_scan_fails_on_a_planted_import(tmp_path):
    import shutil

    for room in FORBIDDEN:
        shutil.copytree(ROOT / room, tmp_path / room,
                        ignore=shutil.ignore_patterns("__pycache__", "data", "sources", "plans"))
    assert _room_violations(tmp_path) == []
    victim = tmp_path / "geo" / "units.py"
    victim.write_text(victim.read_text(encoding="utf-8")
                      + "\n\ndef _f():\n    from planmap import layers\n", encoding="utf-8")
    (tmp_path / "layers" / "export.py").write_text(
        (tmp_path / "layers" / "export.py").read_text(encoding="utf-8")
        + "\nfrom planmap.server.settings import SETTINGS\n", encoding="utf-8")
    assert _room_violations(tmp_path) == ["geo/units.py imports layers",
                                          "layers/export.py imports server"]


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


def test_code_imports_our_modules_through_the_planmap_namespace():
    """``import geo`` from the repository root would load a second copy beside planmap.geo
    (two ``PlanmapError`` classes); merged code with old imports: run tools/namespace.py."""
    old = re.compile(r"(?m)^[ \t]*(?:from[ \t]+(?:geo|layers|server|static)(?:\.\w+)*[ \t]+import"
                     r"|import[ \t]+(?:geo|layers|server|static)\b(?![\w-]))")
    found = [str(p.relative_to(ROOT)) for p in _sources("geo", "layers", "server", "static",
                                                        "tests", "bench", "planmap")
             if old.search(p.read_text("utf-8"))]
    assert found == []
