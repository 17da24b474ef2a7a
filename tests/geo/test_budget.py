"""geo.budget: work on complex sites is killed at the time limit, results come back intact."""

import time

import pytest

from geo.budget import TimeLimitExceeded, run_with_time_limit
from geo.errors import InvalidInput, LimitExceeded


def _sleep_then(value, seconds):
    time.sleep(seconds)
    return value


def _fail():
    raise InvalidInput("bad_thing", "bad thing", "坏", param="x")


def test_result_comes_back_from_the_worker():
    assert run_with_time_limit(_sleep_then, {"a": [1, 2]}, 0.0, seconds=10) == {"a": [1, 2]}


def test_work_past_the_limit_is_killed_with_a_limit_error():
    started = time.perf_counter()
    with pytest.raises(TimeLimitExceeded) as err:
        run_with_time_limit(_sleep_then, 1, 30.0, seconds=0.5)
    assert time.perf_counter() - started < 5
    assert isinstance(err.value, LimitExceeded)
    assert err.value.code == "time_limit_exceeded" and err.value.param == "REQUEST_TIME_LIMIT_S"


def test_domain_errors_of_the_worker_are_raised_unchanged():
    with pytest.raises(InvalidInput) as err:
        run_with_time_limit(_fail, seconds=10)
    assert err.value.code == "bad_thing" and err.value.param == "x"


def test_no_limit_runs_in_process():
    assert run_with_time_limit(_sleep_then, 3, 0.0, seconds=0) == 3
