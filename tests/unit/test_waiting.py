"""The polling helper every observer of a cluster (labs, launchers, benchmarks, tests) uses."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from kafka_zk.common.waiting import WaitTimeout, async_wait_until, wait_until


def test_returns_the_first_truthy_answer() -> None:
    answers = iter([None, 0, [], "leader 2", "later"])
    assert wait_until(lambda: next(answers), timeout_s=5, what="a leader", interval_s=0) == "leader 2"


def test_gives_up_naming_what_never_happened() -> None:
    calls = itertools.count()
    with pytest.raises(WaitTimeout, match=r"timed out after 0.05s waiting for broker 3 to register") as info:
        wait_until(lambda: next(calls) < 0, timeout_s=0.05, what="broker 3 to register", interval_s=0.01)
    assert isinstance(info.value, TimeoutError)  # callers may catch the builtin
    assert next(calls) >= 2  # it polled, and asked again before giving up


def test_async_awaits_a_coroutine_condition() -> None:
    state = {"n": 0}

    async def ready() -> int | None:
        state["n"] += 1
        return state["n"] if state["n"] >= 3 else None

    assert asyncio.run(async_wait_until(ready, timeout_s=5, what="three answers", interval_s=0)) == 3


def test_async_gives_up_too() -> None:
    with pytest.raises(WaitTimeout, match="waiting for the ISR to grow"):
        asyncio.run(async_wait_until(lambda: False, timeout_s=0.02, what="the ISR to grow", interval_s=0.005))


def test_a_test_failure_describes_the_state_the_wait_ended_in() -> None:
    from tests.helpers import async_wait_until as test_async_wait_until
    from tests.helpers import wait_until as test_wait_until

    calls: list[int] = []  # asked when the wait gives up, the message sees every call (read eagerly: none)
    with pytest.raises(AssertionError, match=r"^conditions checked: [1-9]\d*$"):
        test_wait_until(lambda: calls.append(1), timeout=0.03, interval=0.01,
                        message=lambda: f"conditions checked: {len(calls)}")
    with pytest.raises(AssertionError, match=r"^never$"):
        asyncio.run(test_async_wait_until(lambda: False, timeout=0.01, interval=0, message=lambda: "never"))
    with pytest.raises(AssertionError, match=r"timed out after 0.01s waiting for <lambda>"):
        test_wait_until(lambda: False, timeout=0.01, interval=0)
