"""``SyncProducer``: the asyncio :class:`~kafka_zk.client.producer.Producer` for plain scripts.

Scripts and REPL sessions have no event loop; wrapping every call in ``asyncio.run`` would start and stop
the producer per record. Instead the producer lives on a private loop in a daemon thread, and each method
hands its coroutine to that loop (``run_coroutine_threadsafe``) and blocks for the result. ``send()``
returns the producer's :class:`~kafka_zk.client.producer.FutureRecordMetadata` at once (``.get()`` blocks),
so batching still works: send many, then ``flush()``. Delivery callbacks run on the producer's thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, TypeVar

from kafka_zk.client.producer import FutureRecordMetadata, Producer, RecordMetadata

T = TypeVar("T")

__all__ = ["SyncProducer"]


class SyncProducer:
    """``with SyncProducer("127.0.0.1:9092", acks="all") as p: p.send("t", b"v").get()``.

    Takes the same arguments as :class:`Producer` (dotted Kafka names included).
    """

    def __init__(self, bootstrap_servers: Any = None, **config: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kafka-zk-sync-producer", daemon=True)
        self._thread.start()
        self._closed = False
        try:
            self._producer = self._run(self._make(bootstrap_servers, config))
        except BaseException:
            self._stop_loop()
            raise

    async def _make(self, bootstrap_servers: Any, config: dict[str, Any]) -> Producer:
        p = Producer(bootstrap_servers, **config)
        await p.start()
        return p

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def producer(self) -> Producer:
        """The asyncio producer underneath (its attributes are safe to read; call it only via this wrapper)."""
        return self._producer

    def send(self, topic: str, value: Any = None, key: Any = None, **kwargs: Any) -> FutureRecordMetadata:
        """Queue a record; returns its future (``.get(timeout)`` blocks for the metadata)."""
        if self._closed:
            raise RuntimeError("the producer is closed")
        return self._run(self._producer.send(topic, value, key, **kwargs))

    def send_and_wait(self, topic: str, value: Any = None, key: Any = None, timeout: float | None = None,
                      **kwargs: Any) -> RecordMetadata:
        return self.send(topic, value, key, **kwargs).get(timeout)

    def partitions_for(self, topic: str) -> list[int]:
        return self._run(self._producer.partitions_for(topic))

    def flush(self, timeout: float | None = None) -> None:
        self._run(self._producer.flush(timeout))

    def close(self, timeout: float | None = None) -> None:
        """Flush (up to ``timeout`` s), close the producer, stop its thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._run(self._producer.close(timeout))
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> SyncProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
