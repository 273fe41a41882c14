"""Helpers shared by the test suite (import as ``from tests.helpers import ...`` or ``from helpers import ...``).

* :func:`free_port` / :func:`free_ports` — ports on 127.0.0.1 for servers a test starts;
* :func:`wait_until` / :func:`async_wait_until` — poll a condition instead of sleeping a fixed time;
* :func:`expire_session` — make ZooKeeper expire a client's session for real (as a long network partition
  would), by closing the same session from a second connection;
* :func:`unique_name` — a short random name for topics, groups, chroots;
* :func:`run_async` — decorate an ``async def test_...`` to run it in a fresh event loop (the suite does
  not depend on pytest-asyncio).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from typing import Any, Awaitable, Callable, TypeVar

from kazoo.client import KazooClient

from kafka_zk.common import waiting
from kafka_zk.launch.ports import free_port, free_ports

__all__ = ["free_port", "free_ports", "wait_until", "async_wait_until", "expire_session", "unique_name", "run_async"]

T = TypeVar("T")


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test function with ``asyncio.run`` (fixtures are passed through)."""

    @functools.wraps(test)
    def runner(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return runner


Message = str | Callable[[], str] | None


def _failure(message: Message, timed_out: waiting.WaitTimeout) -> AssertionError:
    """The AssertionError of a wait that gave up; a callable ``message`` is asked now, so that it can describe
    the state the wait ended in rather than the one it began with."""
    text = message() if callable(message) else message
    return AssertionError(text or str(timed_out))


def _what(cond: Callable[..., Any], message: Message) -> str:
    return message if isinstance(message, str) else getattr(cond, "__name__", repr(cond))


def wait_until(cond: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, message: Message = None) -> T:
    """Call ``cond`` until it returns something truthy and return that; AssertionError after ``timeout`` s
    (a test failure, not an error: the behaviour under test did not happen)."""
    try:
        return waiting.wait_until(cond, timeout, _what(cond, message), interval)
    except waiting.WaitTimeout as e:
        raise _failure(message, e) from None


async def async_wait_until(cond: Callable[[], Any | Awaitable[Any]], timeout: float = 10.0,
                           interval: float = 0.02, message: Message = None) -> Any:
    """Like :func:`wait_until` inside a coroutine; ``cond`` may be async."""
    try:
        return await waiting.async_wait_until(cond, timeout, _what(cond, message), interval)
    except waiting.WaitTimeout as e:
        raise _failure(message, e) from None


def expire_session(kazoo: KazooClient, timeout: float = 15.0) -> int:
    """Expire ``kazoo``'s ZooKeeper session and wait until kazoo has a new one; returns the old session id.

    A second connection attaches to the same session (id + password) and closes it: the server ends the
    session, deletes its ephemeral znodes and the original client is told its session expired.
    """
    client_id = kazoo.client_id
    assert client_id is not None, "client is not connected"
    old_session = client_id[0]
    hosts = ",".join(f"{h}:{p}" for h, p in kazoo.hosts)
    other = KazooClient(hosts=hosts, client_id=client_id)
    other.start(timeout=timeout)
    other.stop()
    other.close()
    wait_until(lambda: kazoo.connected and kazoo.client_id is not None and kazoo.client_id[0] != old_session,
               timeout=timeout, message="kazoo did not open a new session after expiry")
    return old_session
