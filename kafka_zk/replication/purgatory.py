"""Delayed operations: requests that wait for something to happen to a partition (Kafka's purgatory).

There is one concrete operation class, :class:`CallbackOperation` (over the :class:`DelayedOperation` base):
its completion test is a callable the replica manager builds per request (Kafka's ``DelayedProduce`` /
``DelayedFetch`` are these two tests):

* an acks=all produce is complete when every partition it wrote has an answer
  (``Partition.produce_completion``): NONE once the high watermark reached the offset after its last record,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND if by then the ISR is below ``min.insync.replicas``,
  NOT_LEADER_OR_FOLLOWER once this broker lost leadership; what is still pending at the timeout gets
  REQUEST_TIMED_OUT;
* a fetch is complete when at least ``min_bytes`` are readable or a partition answers with an error, or at
  ``max_wait_ms``. Consumers may only read below the high watermark, so their fetches wake on HW movement;
  followers read up to the log end, so theirs wake on appends.

Operations watch keys ``(topic-partition, WAKE_HW | WAKE_LEO)`` (acks=all produces watch only HW). The replica
manager wakes both purgatories for a key: LEO after a leader append, HW when the high watermark moves, both on
a leadership change (so parked requests see NOT_LEADER_OR_FOLLOWER at once); each watching operation re-checks
itself (``try_complete``) and, once complete, leaves every key it watched. Completion resolves the asyncio
future that the request awaits; the request resumes on the loop's next iteration (no polling interval), so
acks=all latency is the follower's fetch round trip. A timeout is one ``call_later`` handle per parked
operation; when it fires the operation is checked one last time. :meth:`Purgatory.wake_all` (replica manager
shutdown) re-checks all.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Hashable, Iterable

WAKE_HW = "hw"
WAKE_LEO = "leo"


class DelayedOperation:
    """Base class: subclasses implement ``try_complete() -> bool`` (True once done, future resolved)."""

    def __init__(self) -> None:
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.keys: list[Hashable] = []
        self._completed = False

    @property
    def done(self) -> bool:
        return self.future.done()

    @property
    def completed(self) -> bool:
        """True when ``complete()`` ran (a timeout also resolves the future, but does not complete it)."""
        return self._completed

    def complete(self) -> None:
        self._completed = True
        if not self.future.done():
            self.future.set_result(None)

    def try_complete(self) -> bool:
        raise NotImplementedError


class CallbackOperation(DelayedOperation):
    """An operation whose completion test is a callable (enough for fetch and produce)."""

    def __init__(self, check: Callable[[], bool]) -> None:
        super().__init__()
        self._check = check

    def try_complete(self) -> bool:
        if self._completed:
            return True
        if self._check():
            self.complete()
            return True
        return False


class Purgatory:
    def __init__(self, name: str) -> None:
        self.name = name
        self._watchers: dict[Hashable, set[DelayedOperation]] = {}

    def __len__(self) -> int:
        return len({op for ops in self._watchers.values() for op in ops})

    def watch(self, op: DelayedOperation, keys: Iterable[Hashable]) -> None:
        for key in keys:
            self._watchers.setdefault(key, set()).add(op)
            op.keys.append(key)

    def unwatch(self, op: DelayedOperation) -> None:
        for key in op.keys:
            ops = self._watchers.get(key)
            if ops is not None:
                ops.discard(op)
                if not ops:
                    del self._watchers[key]
        op.keys.clear()

    def wake(self, key: Hashable) -> int:
        """Re-check every operation watching ``key``; returns how many completed."""
        ops = self._watchers.get(key)
        if not ops:
            return 0
        completed = 0
        for op in list(ops):
            if op.try_complete():
                self.unwatch(op)
                completed += 1
        return completed

    def wake_all(self) -> None:
        for key in list(self._watchers):
            self.wake(key)

    async def wait(self, op: DelayedOperation, keys: Iterable[Hashable], timeout_ms: int) -> bool:
        """Complete now if possible, else park until woken or ``timeout_ms``. Returns True if completed.

        One timer handle per parked operation (not ``wait_for``, which adds a task and futures): this runs
        for every acks=all produce and every long-polling fetch."""
        if op.try_complete():
            return True
        self.watch(op, keys)
        loop = asyncio.get_running_loop()
        timer = loop.call_later(timeout_ms / 1000.0, _expire, op.future)
        try:
            await op.future
        finally:
            timer.cancel()
            self.unwatch(op)
        return op.completed or op.try_complete()


def _expire(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)
