"""The asyncio bridge over ``zk_layout``: ZooKeeper work off the event loop, watch events onto it.

``zk_layout.KafkaZkClient`` is synchronous and kazoo calls back on its own threads. A broker runs one
asyncio loop that must never block on ZooKeeper, so:

* ``await az.call(fn, *args, **kw)`` runs a blocking ``zk_layout`` call (``az.call(zk.get_partition_state,
  tp)``) in a small thread pool and returns its result or raises its exception;
* ``await az.watch_children(path, cb)`` / ``await az.watch_data(path, cb)`` arm a self re-arming watch (the
  first read happens in the pool) and deliver every callback **on the loop** via
  ``loop.call_soon_threadsafe``, in the order kazoo produced them. ``cb`` may be a plain function (runs
  inline on the loop; the recommended shape is "turn it into an event and put it on a queue") or a
  coroutine function (runs as a task owned by the bridge; its failure is logged);
* ``az.add_session_listener(cb)`` delivers :class:`zk_layout.SessionEvent` s (connected / suspended /
  expired / lost) on the loop the same way.

``await az.aclose()`` cancels the watches and listeners made through the bridge and its pending callback
tasks, and shuts the pool down; closing the ``KafkaZkClient`` stays with its owner.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, TypeVar

from kafka_zk.common.logging import get_logger
from zk_layout import KafkaZkClient, SessionEvent

log = get_logger(__name__)

T = TypeVar("T")
Callback = Callable[..., Any]


class AsyncWatch:
    """A watch made through :class:`AsyncZk`; ``cancel()`` stops deliveries, including queued ones."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.cancelled = False
        self._inner: Any = None

    def cancel(self) -> None:
        self.cancelled = True
        if self._inner is not None:
            self._inner.cancel()


class AsyncZk:
    def __init__(self, client: KafkaZkClient, loop: asyncio.AbstractEventLoop | None = None,
                 max_workers: int = 8) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError("AsyncZk needs an event loop: create it inside a coroutine or pass loop=") from None
        self.client = client
        self.loop = loop
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="zk-bridge")
        self._watches: list[AsyncWatch] = []
        self._listeners: list[Callable[[SessionEvent], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # -- calls ------------------------------------------------------------------------------------------

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` (a blocking zk_layout call) in the bridge's thread pool."""
        if self._closed:
            raise RuntimeError("AsyncZk is closed")
        return await self.loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    # -- watches ----------------------------------------------------------------------------------------

    async def watch_children(self, path: str, callback: Callback) -> AsyncWatch:
        """``callback(children: list[str])`` on the loop, now and after every change (see zk_layout.watches)."""
        handle = AsyncWatch(path)
        handle._inner = await self.call(self.client.watch_children, path,
                                        lambda children: self._post(handle, callback, children))
        self._watches.append(handle)
        return handle

    async def watch_data(self, path: str, callback: Callback) -> AsyncWatch:
        """``callback(data: bytes | None, stat)`` on the loop, now and after every change/creation/deletion."""
        handle = AsyncWatch(path)
        handle._inner = await self.call(self.client.watch_data, path,
                                        lambda data, stat: self._post(handle, callback, data, stat))
        self._watches.append(handle)
        return handle

    # -- sessions ---------------------------------------------------------------------------------------

    def add_session_listener(self, callback: Callback) -> None:
        """``callback(SessionEvent)`` on the loop for every session state change of the client."""
        def listener(event: SessionEvent) -> None:
            self._post(None, callback, event)

        self._listeners.append(listener)
        self.client.add_session_listener(listener)

    # -- lifecycle --------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for w in self._watches:
            w.cancel()
        for listener in self._listeners:
            self.client.remove_session_listener(listener)
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- delivery ---------------------------------------------------------------------------------------

    def _post(self, handle: AsyncWatch | None, callback: Callback, *args: Any) -> None:
        """Called on a kazoo thread: hop onto the loop."""
        if self._closed or (handle is not None and handle.cancelled):
            return
        try:
            self.loop.call_soon_threadsafe(self._dispatch, handle, callback, args)
        except RuntimeError:  # loop closed: nobody left to tell
            pass

    def _dispatch(self, handle: AsyncWatch | None, callback: Callback, args: tuple[Any, ...]) -> None:
        if self._closed or (handle is not None and handle.cancelled):
            return
        try:
            result = callback(*args)
        except Exception:
            log.exception("zookeeper callback failed", path=getattr(handle, "path", None))
            return
        if inspect.isawaitable(result):
            task = self.loop.create_task(_as_coroutine(result))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("zookeeper async callback failed", exc_info=task.exception())


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
