"""One-shot timers behind a small interface, so group timing rules are testable without sleeping.

The coordinator's timing rules — session expiry, the rebalance (join) timeout, the initial rebalance delay,
the offset-retention pass — are Kafka's purgatory operations (``DelayedHeartbeat``, ``DelayedJoin``,
``InitialDelayedJoin``). Here each is a one-shot timer that the coordinator cancels and re-arms:

* :class:`AsyncioTimers` (production) is ``loop.call_later``; a callback that raises is logged, never lost.
* :class:`ManualTimers` (tests, study labs) fires nothing until :meth:`ManualTimers.advance` moves its
  :class:`~kafka_zk.common.clock.ManualClock`; due timers then fire in deadline order with the clock set to
  each deadline, so a callback sees the time it was due at.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Callable, Protocol

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.logging import get_logger

log = get_logger(__name__)

Callback = Callable[[], None]


class TimerHandle(Protocol):
    def cancel(self) -> None:
        """Stop the timer; a no-op once it has fired or been cancelled."""


class Timers(Protocol):
    def call_later(self, delay_ms: int, callback: Callback) -> TimerHandle:
        """Run ``callback`` once, ``delay_ms`` milliseconds from now (on the event loop)."""


class AsyncioTimers:
    """Timers on the running asyncio loop (looked up on first use, so it can be built outside the loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def call_later(self, delay_ms: int, callback: Callback) -> TimerHandle:
        loop = self._loop or asyncio.get_running_loop()
        return loop.call_later(max(delay_ms, 0) / 1000.0, _guarded, callback)


def _guarded(callback: Callback) -> None:
    try:
        callback()
    except Exception:
        log.exception("timer callback failed", callback=getattr(callback, "__qualname__", repr(callback)))


class _ManualHandle:
    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualTimers:
    """Timers driven by a :class:`ManualClock`; exceptions from callbacks propagate out of :meth:`advance`."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self._heap: list[tuple[int, int, _ManualHandle, Callback]] = []
        self._seq = itertools.count()

    def call_later(self, delay_ms: int, callback: Callback) -> TimerHandle:
        handle = _ManualHandle()
        heapq.heappush(self._heap, (self.clock.monotonic_ms() + max(delay_ms, 0), next(self._seq), handle, callback))
        return handle

    def advance(self, ms: int) -> int:
        """Move time forward by ``ms``, firing every timer due on the way; returns how many fired."""
        target = self.clock.monotonic_ms() + ms
        fired = 0
        while self._heap and self._heap[0][0] <= target:
            due, _, handle, callback = heapq.heappop(self._heap)
            if handle.cancelled:
                continue
            now = self.clock.monotonic_ms()
            if due > now:
                self.clock.advance(due - now)
            handle.cancelled = True
            callback()
            fired += 1
        now = self.clock.monotonic_ms()
        if target > now:
            self.clock.advance(target - now)
        return fired

    def pending(self) -> int:
        """Timers armed and not yet fired or cancelled."""
        return sum(1 for _, _, h, _ in self._heap if not h.cancelled)
