"""Who gets a thread: expensive-request slots and per-client rate limits (429 + Retry-After).

Requests come in two classes.  *Expensive* ones (site checks, batch zone queries, reports,
conflict runs, exports) can take seconds of CPU or hundreds of MB; at most
``EXPENSIVE_SLOTS`` of them are in progress at once, and one more is refused at once with
429 ``server_busy`` rather than queued on a thread, so ``THREADS - EXPENSIVE_SLOTS``
threads always remain for the *cheap* ones (map, point queries, OGC, plan text, health),
which take milliseconds.  Each client address also has a token bucket per class
(``RATE_LIMIT_EXPENSIVE``, ``RATE_LIMIT_CHEAP`` per minute; 429 ``rate_limited``).

Behind a reverse proxy every request comes from the proxy's address: limit per client at
the proxy (``docs/SECURITY.md``) and set the rate limits here to 0 or to the total.
"""

from __future__ import annotations

import math
import threading
import time

from flask import Flask, g, request
from planmap.geo.budget import Busy, trim_heap

EXPENSIVE_ENDPOINTS = frozenset({
    "api.sitecheck_create", "api.zones_batch", "pages.report", "conflicts.api_conflicts",
    "conflicts.page_conflicts", "exports.download",
    "casefile.report_pdf",  # issue 18: WeasyPrint takes seconds for a long 界址点 table
})
"""Flask endpoints of the expensive class; every other endpoint is cheap."""

_MAX_CLIENTS = 50_000  # tracked addresses; idle ones are dropped past this


class RateLimiter:
    """Token buckets per client: ``per_minute`` requests, bursts up to a quarter of that.

    Parameters
    ----------
    per_minute : int
        Sustained rate; ``<= 0`` disables the limit.
    """

    def __init__(self, per_minute: int):
        self.rate = per_minute / 60.0
        self.burst = max(10.0, per_minute / 4)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """Spend one token; return 0 when allowed, else the seconds until one is back."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > _MAX_CLIENTS:
                self._prune(now)
            return 0.0

    def _prune(self, now: float) -> None:
        full = self.burst / self.rate  # a bucket idle this long is full again: forget it
        for key in [k for k, (_, last) in self._buckets.items() if now - last > full]:
            del self._buckets[key]
        if len(self._buckets) > _MAX_CLIENTS:  # all recent (a spread-out flood): start over
            self._buckets.clear()


class Slots:
    """At most ``n`` holders at once; :meth:`try_take` never waits."""

    def __init__(self, n: int):
        self.n = n
        self.held = 0
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        with self._lock:
            if self.n > 0 and self.held >= self.n:
                return False
            self.held += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.held -= 1


def _rate_limited(wait: float) -> Busy:
    seconds = max(1, math.ceil(wait))
    exc = Busy("rate_limited",
               f"too many requests from this address; retry in {seconds} s "
               f"(RATE_LIMIT_EXPENSIVE / RATE_LIMIT_CHEAP)",
               f"该地址请求过多，请 {seconds} 秒后重试", param="client", retry_after=seconds)
    return exc


_last_trim = [0.0]


def _trim_now_and_then() -> None:
    """An expensive request may have freed hundreds of MB: give them back, at most once a
    second (a trim walks the heap: 0.1-10 ms)."""
    now = time.monotonic()
    if now - _last_trim[0] >= 1.0:
        _last_trim[0] = now
        trim_heap()


def register(app: Flask) -> None:
    config = app.config
    limiters = {"expensive": RateLimiter(int(config["RATE_LIMIT_EXPENSIVE"])),
                "cheap": RateLimiter(int(config["RATE_LIMIT_CHEAP"]))}
    slots = Slots(int(config["EXPENSIVE_SLOTS"]))
    app.extensions["planmap_admission"] = {"limiters": limiters, "slots": slots}

    @app.before_request
    def _admit():
        kind = "expensive" if request.endpoint in EXPENSIVE_ENDPOINTS else "cheap"
        wait = limiters[kind].take(request.remote_addr or "-")
        if wait:
            raise _rate_limited(wait)
        if kind == "expensive":
            if not slots.try_take():
                raise Busy("server_busy",
                           f"the server is busy with {slots.n} expensive requests "
                           f"(EXPENSIVE_SLOTS); retry in a few seconds",
                           "服务器正在处理过多耗时请求，请稍后重试", param="EXPENSIVE_SLOTS",
                           retry_after=2)
            g.planmap_slot = True

    @app.teardown_request
    def _release(_exc):
        if g.pop("planmap_slot", False):
            slots.give_back()
            _trim_now_and_then()
