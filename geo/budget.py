"""Run heavy geometry work in a pool of spawned worker processes, under a time limit.

GEOS overlays cannot be interrupted from Python, and a valid but pathological site (a
star whose spikes all cross the same zones) can keep one busy for minutes: a 499-vertex
star took 29 s.  Such work therefore runs in a worker process that is killed when the
limit passes, and the killed worker is replaced.

The workers are *spawned* (fork + exec: a fresh interpreter that inherits nothing) when
the pool starts, never forked from the serving process.  A fork of a threaded server
copies every lock in whatever state another thread held it: children hung in
``pthread_mutex_lock`` inside PROJ's SQLite (``proj_context_destroy``), and 8 of 10
forked checks on a fresh server under load were refused as too slow.  Each worker builds
its state once (the zone index, from the plan data the pool was given), runs one task at a
time, and runs at a lower CPU priority so that the serving process stays responsive.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from planmap.geo.errors import LimitExceeded, PlanmapError

WORKER_NICE = 5
"""CPU priority offset of the workers: when CPUs are short, the serving process (cheap
requests) comes first, but the workers still get about a third of a CPU each against
normal-priority programs (nice 10 starved them on a shared machine)."""

START_TIMEOUT_S = 300.0
"""Longest wait for a new worker to build its state before it counts as failed."""


class TimeLimitExceeded(LimitExceeded):
    """The work did not finish within the configured time limit."""

    default_code = "time_limit_exceeded"


class Busy(PlanmapError):
    """Every worker (or request slot) is taken; try again after ``retry_after`` seconds."""

    default_code = "server_busy"

    def __init__(self, *args, retry_after: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.retry_after = max(1, int(retry_after))


def _too_slow(seconds: float) -> TimeLimitExceeded:
    return TimeLimitExceeded(
        message_en=f"the request is too complex to finish within {seconds:g} s "
                   f"(REQUEST_TIME_LIMIT_S); simplify the site or split it into parcels",
        message_zh=f"请求过于复杂，无法在 {seconds:g} 秒内完成"
                   f"（REQUEST_TIME_LIMIT_S）；请简化图形或拆分地块",
        param="REQUEST_TIME_LIMIT_S")


def trim_heap() -> None:
    """Give freed heap back to the system (glibc keeps it otherwise); no-op elsewhere."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _worker_main(conn, init, initargs, nice: int) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the pool, workers ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    try:
        try:
            state = init(*initargs)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, never lost
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
            return
        # the indexes just built are kept for the worker's life: out of the cyclic
        # collector's walks (a full collection over them paused a task by 100+ ms)
        gc.collect()
        gc.freeze()
        conn.send(("ready", os.getpid()))
    except OSError:
        return  # the pool was closed while this worker started
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if task is None:
            return
        fn, args, kwargs = task
        try:
            out = (True, fn(state, *args, **kwargs))
        except PlanmapError as exc:
            out = (False, exc)
        except BaseException as exc:  # noqa: BLE001
            out = (False, RuntimeError(f"{type(exc).__name__}: {exc}"))
        try:
            conn.send(out)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send((False, RuntimeError(f"result not picklable: {exc}")))
        except OSError:
            return
        del out
        trim_heap()


class _Worker:
    def __init__(self, ctx, init, initargs, nice: int):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child, init, initargs, nice),
                                daemon=True, name="planmap-worker")
        self.proc.start()
        child.close()
        self.ready = False

    def wait_ready(self, timeout: float) -> None:
        if self.ready:
            return
        if not self.conn.poll(timeout):
            raise RuntimeError(f"worker did not start within {timeout:g} s")
        kind, detail = self.conn.recv()
        if kind != "ready":
            raise RuntimeError(f"worker failed to start: {detail}")
        self.ready = True

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class WorkerPool:
    """A fixed number of spawned worker processes that run tasks under a time limit.

    Parameters
    ----------
    size : int
        Number of worker processes (at least 1).
    init : callable
        ``init(*initargs)`` runs once in each worker and returns its state; it and its
        arguments must be picklable (module-level function).
    initargs : tuple
        Arguments of ``init`` (pickled once per worker start).
    nice : int
        CPU priority offset of the workers.

    Notes
    -----
    Workers start on :meth:`start` (or the first :meth:`run`).  A task is
    ``fn(state, *args, **kwargs)`` with a module-level ``fn``; arguments and result are
    pickled.  A worker that passes the time limit, dies or fails to start is killed and
    replaced in the background.
    """

    def __init__(self, size: int, init: Callable[..., Any], initargs: tuple = (), *,
                 nice: int = WORKER_NICE):
        self.size = max(1, int(size))
        self._init, self._initargs, self._nice = init, initargs, nice
        self._ctx = multiprocessing.get_context("spawn")
        self._cond = threading.Condition()
        self._free: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._started = self._closed = False
        self.replaced = 0  # workers killed and replaced (time limit, crash)

    # -- life cycle

    def start(self) -> WorkerPool:
        """Spawn the workers now (idempotent; they build their state in the background)."""
        with self._cond:
            if self._started or self._closed:
                return self
            self._started = True
            for _ in range(self.size):
                self._add_locked()
        return self

    def _add_locked(self) -> None:
        worker = _Worker(self._ctx, self._init, self._initargs, self._nice)
        self._all.add(worker)
        self._free.append(worker)
        self._cond.notify()

    def close(self) -> None:
        """Stop every worker (running tasks are killed)."""
        with self._cond:
            self._closed = True
            workers, self._all, self._free = list(self._all), set(), []
            self._cond.notify_all()
        for worker in workers:
            worker.stop()

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Block until every idle worker has built its state (start-up warm-up, tests)."""
        self.start()
        with self._cond:
            workers = list(self._free)
        for worker in workers:
            worker.wait_ready(timeout)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        with self._cond:
            return sorted(w.proc.pid for w in self._all if w.proc.pid)

    # -- tasks

    def _acquire(self, wait_s: float) -> _Worker:
        deadline = time.monotonic() + max(0.0, wait_s)
        with self._cond:
            while not self._free:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise Busy(message_en="every worker is busy; retry in a few seconds",
                               message_zh="所有计算进程都在忙，请稍后重试",
                               param="WORKERS", retry_after=max(1, round(wait_s)))
                self._cond.wait(left)
            return self._free.pop()

    def _release(self, worker: _Worker, healthy: bool) -> None:
        if healthy:
            with self._cond:
                if worker in self._all:
                    self._free.append(worker)
                    self._cond.notify()
                    return
            worker.stop()  # the pool was closed meanwhile
            return

        def replace():
            worker.stop()
            with self._cond:
                self._all.discard(worker)
                self.replaced += 1
                if not self._closed:
                    self._add_locked()

        # killing and spawning take a moment: the request gets its answer first
        threading.Thread(target=replace, daemon=True, name="planmap-worker-replace").start()

    def run(self, fn: Callable[..., Any], *args, seconds: float, wait_s: float = 10.0,
            **kwargs) -> Any:
        """Return ``fn(state, *args, **kwargs)`` computed in a worker.

        Parameters
        ----------
        fn : callable
            Module-level function; its arguments and result must be picklable.
        seconds : float
            Time limit of the task itself (not counting the wait for a worker or a
            worker's start-up); ``<= 0`` means no limit.
        wait_s : float
            Longest wait for a free worker.

        Raises
        ------
        Busy
            No worker became free within ``wait_s``.
        TimeLimitExceeded
            The task had not finished after ``seconds`` (its worker is killed).
        PlanmapError
            Whatever domain error ``fn`` raised, unchanged.
        """
        self.start()
        worker = self._acquire(wait_s)
        healthy = False
        try:
            worker.wait_ready(START_TIMEOUT_S)
            worker.conn.send((fn, args, kwargs))
            if seconds > 0 and not worker.conn.poll(seconds):
                raise _too_slow(seconds)
            ok, value = worker.conn.recv()
            healthy = True
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            raise RuntimeError(f"worker died (exit {worker.proc.exitcode})") from exc
        finally:
            self._release(worker, healthy)
        if ok:
            return value
        raise value


# ---------------------------------------------------------------------- zone work

def zone_worker_init(data, index=None) -> dict:
    """Worker state for zone work: the plan data and its zone index, built once.

    Parameters
    ----------
    data : layers.PlanData
        The plan data the serving process loaded (pickled to the worker, so that every
        worker answers from exactly the same data as the server).
    index : ZoneIndex, optional
        The home plan's index of that data when already at hand (read from the cache).
    """
    from planmap.geo.index import ZoneIndex
    from planmap.geo.plans import other_plan_ids, scope_from_plan_data

    scope = scope_from_plan_data(data)
    plan_index = (ZoneIndex.from_plan_data(data, plan_ids=other_plan_ids(scope))
                  if scope is not None else None)
    if index is None:
        index = ZoneIndex.from_plan_data(data)
    return {"data": data, "index": index, "plan_index": plan_index}


def site_check_task(state: dict, geometry, *, use_plan_index: bool = False, **kwargs) -> dict:
    """:func:`geo.sitecheck.site_check` on one of the worker's indexes.

    ``use_plan_index`` picks the other plans' index instead of the home plan's (the routing
    of :func:`geo.plans.route`).
    """
    from planmap.geo.sitecheck import site_check

    index = state["plan_index"] if use_plan_index else state["index"]
    return site_check(index, geometry, **kwargs)


def conflicts_task(state: dict, distance_m: float) -> list:
    """:func:`geo.conflicts.find_conflicts` on the worker's data and index."""
    from planmap.geo.conflicts import find_conflicts

    return find_conflicts(state["data"], state["index"], distance_m)
