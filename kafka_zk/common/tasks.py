"""Background tasks with an owner: every task's failure is logged, never lost (STYLE habit 9)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Callable, Coroutine

from kafka_zk.common.logging import get_logger

log = get_logger(__name__)


def spawn(
    coro: Coroutine[Any, Any, Any], name: str, tasks: set["asyncio.Task[Any]"] | None = None
) -> "asyncio.Task[Any]":
    """Start ``coro`` as a task whose unexpected exception is logged; ``tasks`` keeps a strong reference
    until it finishes (so the owner can cancel what is still running at shutdown)."""
    task = asyncio.get_running_loop().create_task(coro, name=name)

    def done(t: "asyncio.Task[Any]") -> None:
        if tasks is not None:
            tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("background task failed", task=name, exc_info=t.exception())

    if tasks is not None:
        tasks.add(task)
    task.add_done_callback(done)
    return task


class PeriodicJob:
    """Runs ``fn`` every ``interval_ms`` (after the first interval), one run at a time.

    ``fn`` may return an awaitable — a coroutine, or the Future of ``loop.run_in_executor`` for a job that
    runs in a worker thread — and the next interval starts only once it completed, so runs never overlap.
    A failing run is logged and the job goes on. :meth:`stop` cancels the wait between runs but lets a run
    in flight finish: cancelling the Future of a thread job would not stop the thread, and its owner (say,
    the log manager) must not close what the thread is still using.
    """

    def __init__(self, fn: Callable[[], Any | Awaitable[Any]], interval_ms: float, name: str) -> None:
        self.name = name
        self._fn = fn
        self._interval_s = interval_ms / 1000
        self._running = False
        self._stopping = False
        self.runs = 0  # completed runs, failed ones included (tests and /state read it)
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=name)

    async def _loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self._interval_s)
            self._running = True
            try:
                result = self._fn()
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic task failed", task=self.name)
            finally:
                self._running = False
                self.runs += 1

    async def stop(self) -> None:
        """Stop scheduling runs; returns once a run in flight has finished."""
        self._stopping = True
        if not self._running:
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def periodic(fn: Callable[[], Any | Awaitable[Any]], interval_ms: float, name: str) -> PeriodicJob:
    """Start a :class:`PeriodicJob` on the running loop."""
    return PeriodicJob(fn, interval_ms, name)


async def stop_all(jobs: list[PeriodicJob]) -> None:
    """Stop every job, waiting for the runs in flight."""
    await asyncio.gather(*(job.stop() for job in jobs))
    jobs.clear()
