"""Background tasks with an owner: every task's failure is logged, never lost (STYLE habit 9)."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Coroutine

from kafka_zk.common.logging import get_logger

log = get_logger(__name__)


def spawn(coro: Coroutine[Any, Any, Any], name: str, tasks: set["asyncio.Task[Any]"] | None = None) -> "asyncio.Task[Any]":
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


def periodic(fn: Callable[[], Any | Awaitable[Any]], interval_ms: float, name: str) -> "asyncio.Task[None]":
    """Run ``fn`` every ``interval_ms`` (after the first interval); its exceptions are logged, the loop goes on."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_ms / 1000)
            try:
                r = fn()
                if asyncio.iscoroutine(r):
                    await r
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic task failed", task=name)

    return asyncio.get_running_loop().create_task(loop(), name=name)


async def cancel_all(tasks: "set[asyncio.Task[Any]] | list[asyncio.Task[Any]]") -> None:
    items = list(tasks)
    for t in items:
        t.cancel()
    await asyncio.gather(*items, return_exceptions=True)
