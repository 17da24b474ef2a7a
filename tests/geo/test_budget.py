"""geo.budget: work runs in spawned workers, killed at the time limit; results come back."""

import os
import threading
import time

import pytest
from planmap.geo.budget import Busy, TimeLimitExceeded, WorkerPool
from planmap.geo.errors import InvalidInput, LimitExceeded


def _init(tag):
    return {"tag": tag, "pid": os.getpid()}


def _sleep_then(state, value, seconds):
    time.sleep(seconds)
    return value


def _state(state):
    return state


def _fail(state):
    raise InvalidInput("bad_thing", "bad thing", "坏", param="x")


def _threads(state):
    return threading.active_count()


@pytest.fixture(scope="module")
def pool():
    p = WorkerPool(2, _init, ("t",)).start()
    yield p
    p.close()


def test_result_comes_back_from_a_worker_with_its_state(pool):
    assert pool.run(_sleep_then, {"a": [1, 2]}, 0.0, seconds=10) == {"a": [1, 2]}
    state = pool.run(_state, seconds=10)
    assert state["tag"] == "t" and state["pid"] != os.getpid() and state["pid"] in pool.pids()


def test_workers_are_spawned_not_forked(pool):
    # a spawned worker is a fresh interpreter: none of this process's threads came along
    # (a forked child of a threaded server inherits its locks in whatever state they were)
    blocker = threading.Event()
    extra = threading.Thread(target=blocker.wait, daemon=True)
    extra.start()
    try:
        assert pool.run(_threads, seconds=10) == 1
    finally:
        blocker.set()


def test_work_past_the_limit_is_killed_with_a_limit_error_and_the_worker_replaced(pool):
    before = set(pool.pids())
    replaced = pool.replaced
    started = time.perf_counter()
    with pytest.raises(TimeLimitExceeded) as err:
        pool.run(_sleep_then, 1, 30.0, seconds=0.5)
    assert time.perf_counter() - started < 5
    assert isinstance(err.value, LimitExceeded)
    assert err.value.code == "time_limit_exceeded" and err.value.param == "REQUEST_TIME_LIMIT_S"
    deadline = time.monotonic() + 30
    while pool.replaced == replaced and time.monotonic() < deadline:
        time.sleep(0.05)
    after = set(pool.pids())
    assert len(after) == 2 and len(after - before) == 1  # one killed, one new
    assert pool.run(_sleep_then, 5, 0.0, seconds=10) == 5  # and the pool still answers


def test_domain_errors_of_the_worker_are_raised_unchanged(pool):
    with pytest.raises(InvalidInput) as err:
        pool.run(_fail, seconds=10)
    assert err.value.code == "bad_thing" and err.value.param == "x"


def test_a_full_pool_answers_busy_after_the_wait():
    p = WorkerPool(1, _init, ("b",)).start()
    try:
        p.wait_ready()
        hold = threading.Thread(target=p.run, args=(_sleep_then, 0, 2.0), kwargs={"seconds": 10})
        hold.start()
        time.sleep(0.3)
        started = time.perf_counter()
        with pytest.raises(Busy) as err:
            p.run(_sleep_then, 1, 0.0, seconds=10, wait_s=0.5)
        assert 0.4 < time.perf_counter() - started < 2
        assert err.value.code == "server_busy" and err.value.retry_after >= 1
        hold.join()
        assert p.run(_sleep_then, 2, 0.0, seconds=10, wait_s=0.5) == 2
    finally:
        p.close()


def test_no_limit_waits_for_the_result(pool):
    assert pool.run(_sleep_then, 3, 0.2, seconds=0) == 3
