"""A reload under GC_FREEZE: the old version becomes collectable, the new one is frozen.

``planmap serve`` freezes the start-up objects out of the garbage collector's passes; a
frozen cycle is never freed, and an old zone index over a store layer is one. So a swap
unfreezes at once and freezes again after the old version's requests have had their time.
"""

from __future__ import annotations

import gc
import time

from planmap.server import create_app
from planmap.server.commands import freeze_start_objects
from planmap.server.reload import swap


def test_a_swap_unfreezes_and_freezes_the_new_version_later(mini_data_dir, tmp_path):
    app = create_app({"DATA_DIR": str(mini_data_dir), "DB_PATH": str(tmp_path / "c.db"),
                      "WORKERS": 0, "REQUEST_TIME_LIMIT_S": 1})
    try:
        freeze_start_objects()
        assert gc.get_freeze_count() > 0
        old = app.extensions["planmap"]
        swap(app)
        assert app.extensions["planmap"] is not old
        assert gc.get_freeze_count() == 0  # the old version can be collected now
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and gc.get_freeze_count() == 0:
            time.sleep(0.2)
        assert gc.get_freeze_count() > 0  # and the new one is frozen again
    finally:
        gc.unfreeze()


def test_without_a_freeze_a_swap_leaves_the_collector_alone(mini_data_dir, tmp_path):
    gc.unfreeze()
    app = create_app({"DATA_DIR": str(mini_data_dir), "DB_PATH": str(tmp_path / "c.db"),
                      "WORKERS": 0, "REQUEST_TIME_LIMIT_S": 1})
    swap(app)
    time.sleep(6.5)  # past the refreeze delay (REQUEST_TIME_LIMIT_S + 5)
    assert gc.get_freeze_count() == 0
