"""The index cache's build lock: one per cache file, and never an unbounded wait.

A web worker reloading after an import waits for whoever builds the same index; it must
not wait for a build of some other cache file in the folder (another data folder, another
object), and not forever for a builder that hangs.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from planmap.geo import indexcache


def _hold(path):
    """Lock ``path``'s lock file the way another process's builder does (its own open
    file, taken in another thread: the lock is re-entrant within one thread)."""
    lock = indexcache.building(path, wait_s=0)
    taker = threading.Thread(target=lock.__enter__)
    taker.start()
    taker.join()
    assert lock.locked
    return lock


def test_a_build_of_another_cache_file_does_not_wait(tmp_path):
    other = _hold(tmp_path / "zoneindex-aaaa.pickle")
    try:
        started = time.monotonic()
        with indexcache.building(tmp_path / "zoneindex-bbbb.pickle", wait_s=30) as mine:
            assert mine.locked
        assert time.monotonic() - started < 5  # not the 30 s it would wait for the same file
    finally:
        other.__exit__()


def test_a_second_builder_of_the_same_file_waits_for_the_first(tmp_path):
    path = tmp_path / "zoneindex-aaaa.pickle"
    first = _hold(path)
    order = []

    def second():
        with indexcache.building(path, wait_s=30) as lock:
            order.append(("second", lock.locked))

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.5)
    order.append(("first done", True))
    first.__exit__()
    t.join(timeout=30)
    assert order == [("first done", True), ("second", True)]


def test_a_hung_builder_is_waited_for_at_most_wait_s(tmp_path):
    path = tmp_path / "zoneindex-aaaa.pickle"
    hung = _hold(path)
    try:
        started = time.monotonic()
        with indexcache.building(path, wait_s=0.5) as lock:
            waited = time.monotonic() - started
            assert not lock.locked  # it builds without the lock
        assert 0.5 <= waited < 10
    finally:
        hung.__exit__()


def test_the_lock_is_released_when_the_builder_exits(tmp_path):
    path = tmp_path / "zoneindex-aaaa.pickle"
    with indexcache.building(path) as lock:
        assert lock.locked
    fd = os.open(lock.lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if still held
    finally:
        os.close(fd)


def test_the_lock_is_reentrant_in_one_thread(tmp_path):
    # planmap import holds it for the whole import and refreshes the cache inside it
    path = tmp_path / "zoneindex-aaaa.pickle"
    with indexcache.building(path, wait_s=30) as outer:
        started = time.monotonic()
        with indexcache.building(path, wait_s=30) as inner:
            assert inner.locked
        assert time.monotonic() - started < 5  # no wait for itself
        other = indexcache.building(path, wait_s=0)  # still held after the inner exit
        holder = threading.Thread(target=lambda: other.__enter__())
        holder.start()
        holder.join()
        assert not other.locked
        assert outer.locked
