"""`python -m planmap.layers.build` works from any folder, as an installed package would run it.

The builders used to be imported by their top-level name (``layers.builders.x``), which only
resolves when the working directory is the repository root.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from planmap import layers

LAYERS_DIR = Path(layers.__file__).resolve().parent


@pytest.mark.slow
def test_the_build_run_from_another_folder_regenerates_the_shipped_files(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "planmap.layers.build", "--out", str(out)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    built = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert Path("catalog.json") in built and len(built) > 20
    for rel in built:
        shipped = LAYERS_DIR / rel
        if shipped.exists():
            assert (out / rel).read_bytes() == shipped.read_bytes(), rel
