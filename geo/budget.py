"""Run heavy geometry work under a wall-clock limit.

GEOS overlays cannot be interrupted from Python, and a valid but pathological site (a
star whose thousands of spikes all cross the same zones) can keep one busy for minutes.
Work on a complex site therefore runs in a forked child process that is killed when the
limit passes; simple sites, which take milliseconds, run in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable
from typing import Any

from geo.errors import LimitExceeded, PlanmapError


class TimeLimitExceeded(LimitExceeded):
    """The work did not finish within the configured time limit."""

    default_code = "time_limit_exceeded"


def _child(conn, fn, args, kwargs) -> None:
    try:
        conn.send((True, fn(*args, **kwargs)))
    except PlanmapError as exc:
        conn.send((False, exc))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, never lost
        conn.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def run_with_time_limit(fn: Callable[..., Any], *args, seconds: float, **kwargs) -> Any:
    """Return ``fn(*args, **kwargs)`` computed in a child process killed after ``seconds``.

    Parameters
    ----------
    fn : callable
        The work; its arguments and result must be picklable.
    seconds : float
        Wall-clock limit.  ``<= 0`` runs ``fn`` in-process without a limit.

    Returns
    -------
    object
        What ``fn`` returned.

    Raises
    ------
    TimeLimitExceeded
        When the child had not finished after ``seconds`` (it is killed).
    PlanmapError
        Whatever domain error ``fn`` raised, unchanged.
    """
    if seconds <= 0 or not hasattr(os, "fork"):
        return fn(*args, **kwargs)
    ctx = multiprocessing.get_context("fork")  # the child shares the loaded zone index
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child_conn, fn, args, kwargs), daemon=True)
    proc.start()
    child_conn.close()
    try:
        if not parent_conn.poll(seconds):
            raise TimeLimitExceeded(
                message_en=f"the site is too complex to check within {seconds:g} s "
                           f"(REQUEST_TIME_LIMIT_S); simplify it or split it into parcels",
                message_zh=f"选址图形过于复杂，无法在 {seconds:g} 秒内完成检查"
                           f"（REQUEST_TIME_LIMIT_S）；请简化图形或拆分地块",
                param="REQUEST_TIME_LIMIT_S")
        try:
            ok, value = parent_conn.recv()
        except (EOFError, pickle.UnpicklingError) as exc:  # the child died
            raise RuntimeError(f"site check worker died (exit {proc.exitcode})") from exc
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent_conn.close()
    if ok:
        return value
    raise value
