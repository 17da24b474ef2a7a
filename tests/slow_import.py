"""Run ``planmap`` with every written import chunk slowed down, so a test can kill it mid-write.

    python -m tests.slow_import SECONDS import FILE --layer … --data-dir …

Installs a hook in ``layers.importer.CHUNK_HOOKS`` (production code has no test switch).
"""

from __future__ import annotations

import sys
import time


def main(argv: list[str]) -> int:
    from planmap.layers import importer
    from planmap.server.cli import main as cli

    delay = float(argv[0])
    importer.CHUNK_HOOKS.append(lambda: time.sleep(delay))
    return cli(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
