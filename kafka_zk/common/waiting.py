"""Polling until a condition holds, for the code that watches a cluster from outside (labs, launchers,
benchmarks, tests).

The cluster's own components never poll: they wait on futures and ZooKeeper watches. An observer outside the
processes has nothing to wait on but the answers it asks for, so it asks again until they say what it
expects, and gives up with a message naming what never happened.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """The condition did not hold within the time given; the message names what was awaited."""


def _timed_out(timeout_s: float, what: str) -> WaitTimeout:
    return WaitTimeout(f"timed out after {timeout_s:g}s waiting for {what}")


def wait_until(cond: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.05) -> T:
    """Call ``cond`` until it returns something truthy and return that; :class:`WaitTimeout` after
    ``timeout_s`` seconds (``cond`` is called at least once)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _timed_out(timeout_s, what)
        time.sleep(interval_s)


async def async_wait_until(cond: Callable[[], Awaitable[Any] | Any], timeout_s: float, what: str,
                           interval_s: float = 0.05) -> Any:
    """:func:`wait_until` inside a coroutine; ``cond`` may return an awaitable, which is awaited."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise _timed_out(timeout_s, what)
        await asyncio.sleep(interval_s)
