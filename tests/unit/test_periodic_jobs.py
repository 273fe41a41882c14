"""Housekeeping jobs (``common.tasks.PeriodicJob``, as the broker runs checkpoints, flushes, retention and the
cleaner): a thread job's Future is awaited, so runs never overlap, a failure is logged and the job goes on,
and ``stop()`` waits for the run in flight — the broker closes the log manager only after it."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Awaitable, Callable

import pytest

from kafka_zk.common.logging import _FIELDS
from kafka_zk.common.tasks import periodic, stop_all
from tests.helpers import run_async


def in_thread(fn: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    """What the broker schedules: the job runs in the default executor, the loop gets its Future."""

    def start() -> Awaitable[None]:
        return asyncio.get_running_loop().run_in_executor(None, fn)

    return start


@run_async
async def test_thread_runs_never_overlap() -> None:
    active, most, runs = 0, 0, 0
    lock = threading.Lock()

    def slow() -> None:  # takes four intervals
        nonlocal active, most, runs
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.04)
        with lock:
            active -= 1
            runs += 1

    job = periodic(in_thread(slow), 10, "slow")
    await asyncio.sleep(0.3)
    await job.stop()
    assert runs >= 2 and most == 1  # awaited: the next run starts after the thread finished


def test_a_failing_run_is_logged_and_the_job_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")

    async def run() -> None:
        job = periodic(in_thread(flaky), 10, "hw-checkpoint")
        while job.runs < 3:
            await asyncio.sleep(0.01)
        await job.stop()

    with caplog.at_level(logging.ERROR):
        asyncio.run(run())
    failures = [r for r in caplog.records if "periodic task failed" in r.getMessage()]
    assert len(failures) == 1 and getattr(failures[0], _FIELDS) == {"task": "hw-checkpoint"}
    assert failures[0].exc_info is not None and "disk full" in str(failures[0].exc_info[1])
    assert calls >= 3


@run_async
async def test_stop_waits_for_the_run_in_flight() -> None:
    started, finished = threading.Event(), threading.Event()

    def checkpoint() -> None:
        started.set()
        time.sleep(0.2)
        finished.set()

    jobs = [periodic(in_thread(checkpoint), 10, "checkpoint"), periodic(lambda: None, 60_000, "idle")]
    while not started.is_set():
        await asyncio.sleep(0.005)
    await stop_all(jobs)
    assert finished.is_set()  # the thread is done before stop returns: the log manager may close now
    assert jobs == []


@run_async
async def test_stop_between_runs_is_immediate() -> None:
    ran = 0

    def job_fn() -> None:
        nonlocal ran
        ran += 1

    job = periodic(job_fn, 60_000, "hourly")
    t0 = time.monotonic()
    await job.stop()
    assert time.monotonic() - t0 < 1 and ran == 0
