"""Skip-or-fail for tests that need an external program.

Locally a missing program skips the test; under CI (``PLANMAP_REQUIRE_EXTERNAL=1``)
it fails, so no check silently disappears.
"""

from __future__ import annotations

import os
import shutil

import pytest


def required() -> bool:
    return os.environ.get("PLANMAP_REQUIRE_EXTERNAL", "") not in ("", "0")


def need_program(*names: str) -> str:
    """Return the path of the first program found, else skip (locally) or fail (CI)."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"external program not found: {' or '.join(names)}"
    if required():
        pytest.fail(message + " (PLANMAP_REQUIRE_EXTERNAL=1)")
    pytest.skip(message)
