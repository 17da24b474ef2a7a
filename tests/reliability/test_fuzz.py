"""CI-sized run of the parser fuzz campaign (``tests/reliability/fuzz.py``).

Every target runs in its own process for its share of ``PLANMAP_FUZZ_SECONDS`` (default 60
seconds over all targets, about two minutes with start-up); the run fails if any input
makes a parser raise anything but :class:`geo.errors.PlanmapError` (or crash, hang past
30 s, or pass 2 GiB).  ``PLANMAP_FUZZ_SECONDS=0`` skips it.  How to run it for an hour and
where the corpus lives: docs/SECURITY.md, "Fuzzing".
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.reliability.fuzz import ROOT, TARGETS

TOTAL = float(os.environ.get("PLANMAP_FUZZ_SECONDS", "60"))
SHARE = max(1, int(TOTAL / len(TARGETS)))


@pytest.mark.slow
@pytest.mark.skipif(TOTAL <= 0, reason="PLANMAP_FUZZ_SECONDS=0")
@pytest.mark.parametrize("target", TARGETS)
def test_no_input_escapes_the_domain_errors(target, tmp_path):
    cmd = [sys.executable, "-m", "tests.reliability.fuzz", target,
           f"-max_total_time={SHARE}", "-timeout=30", "-rss_limit_mb=2048",
           f"-artifact_prefix={tmp_path}/", str(tmp_path / "corpus")]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                         timeout=SHARE + 120)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(
        ("crash-", "timeout-", "oom-", "leak-")))
    tail = "\n".join(run.stderr.splitlines()[-40:])
    assert run.returncode == 0 and not crashes, (
        f"{target}: the fuzzer found an input that escapes the domain errors "
        f"({crashes}); add it to tests/reliability/test_fuzz_regressions.py\n{tail}")
    # it really ran: libFuzzer's (or the fallback's) final report is there
    assert "Done" in run.stderr or "no crash" in run.stderr, tail
