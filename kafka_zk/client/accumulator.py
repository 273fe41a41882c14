"""The producer's record accumulator: per-partition queues of batches waiting to be sent (no I/O).

Theory of operation (Kafka's ``RecordAccumulator``, simplified)
---------------------------------------------------------------
``append`` adds a record to the *open* batch of its partition, starting a new batch when the open one would
grow past ``batch.size`` (a record larger than ``batch.size`` gets a batch of its own). A partition is
**ready** to send when its oldest batch is full, or has waited ``linger.ms``, or a flush is in progress, or
more than one batch is queued — and it is not *muted*. The sender mutes a partition while one of its batches
is in flight, so at most one batch per partition is on the wire: a retried batch can never be overtaken by a
later one (Kafka's ordering guarantee with ``max.in.flight.requests.per.connection=1``), and an idempotent
producer's sequence numbers reach the broker in order.

``drain`` takes the oldest batch of a partition and **seals** it: the v2 batch bytes are built once (with the
producer id, epoch and base sequence stamped by the sender) and reused, byte for byte, by every retry — as
the Java client does, which is what makes broker-side duplicate detection work. ``reenqueue`` puts a batch
that must be retried back at the head of its queue with a back-off deadline.

A batch has one future for its outcome; when the broker answers with the batch's base offset, record ``i``
(in append order) has offset ``base_offset + i`` (:meth:`ProducerBatch.metadata`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

from kafka_zk.common.tp import TopicPartition
from kafka_zk.client.fastcodec import encode_batch, encode_record
from kafka_zk.record import RECORD_BATCH_OVERHEAD, RecordBatchBuilder
from kafka_zk.record.batch import NO_SEQUENCE

Header = tuple[str, bytes | None]


class RecordMetadata(NamedTuple):
    """Where a produced record ended up (a named tuple: one is built per record on the ack path). ``offset`` is -1 when unknown (acks=0, or a duplicate the broker
    recognised); ``timestamp`` is the broker's append time for LogAppendTime topics, else the create time."""

    topic: str
    partition: int
    offset: int
    timestamp: int


@dataclass(eq=False)
class ProducerBatch:
    """Records for one partition, encoded as they are appended (:func:`kafka_zk.client.fastcodec.
    encode_record`); :meth:`seal` wraps them in the v2 batch header once, with the producer id and sequence.

    The batch's outcome is **one** future, ``result`` (Java's ``ProduceRequestResult``): the base offset and
    log-append time the broker answered, or the error. The per-record futures ``send()`` returns only point
    at it with their index (:meth:`metadata`), so completing a batch of 500 records resolves one future, not
    500 (per-record futures were a quarter of the producer's CPU)."""

    tp: TopicPartition
    compression: int
    created_ms: int
    result: asyncio.Future[tuple[int, int]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())
    record_count: int = 0
    timestamps: list[int] = field(default_factory=list)
    records: list[bytes] = field(default_factory=list)
    estimated_size: int = RECORD_BATCH_OVERHEAD  # header + encoded records, before compression
    base_timestamp: int = -1
    max_timestamp: int = -1
    data: bytes | None = None  # set when sealed
    attempts: int = 0
    retry_at_ms: int = 0
    base_sequence: int = NO_SEQUENCE

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.estimated_size

    @property
    def sealed(self) -> bool:
        return self.data is not None

    def append(self, timestamp: int, key: bytes | None, value: bytes | None, headers: Sequence[Header]) -> int:
        """Encode one record into the batch (its index is ``record_count - 1`` afterwards); returns the bytes
        it added."""
        n = self.record_count
        if n == 0:
            self.base_timestamp = timestamp
        if timestamp > self.max_timestamp:
            self.max_timestamp = timestamp
        rec = encode_record(n, timestamp - self.base_timestamp, key, value, headers)
        self.records.append(rec)
        self.timestamps.append(timestamp)
        self.record_count = n + 1
        self.estimated_size += len(rec)
        return len(rec)

    def seal(self, producer_id: int, producer_epoch: int, base_sequence: int) -> bytes:
        """Build the batch bytes once; later calls return the same bytes."""
        if self.data is None:
            self.base_sequence = base_sequence
            self.data = encode_batch(self.records, self.record_count, self.base_timestamp, self.max_timestamp,
                                     self.compression, producer_id, producer_epoch, base_sequence)
            self.records = []
        return self.data

    def complete(self, base_offset: int, log_append_time: int = -1) -> None:
        """The broker has the batch at ``base_offset`` (-1: offsets unknown)."""
        if not self.result.done():
            self.result.set_result((base_offset, log_append_time))

    def fail(self, error: BaseException) -> None:
        if not self.result.done():
            self.result.set_exception(error)

    def metadata(self, index: int) -> RecordMetadata:
        """Where record ``index`` ended up; raises the batch's error (the batch must be done)."""
        base_offset, log_append_time = self.result.result()
        return RecordMetadata(self.tp.topic, self.tp.partition, -1 if base_offset < 0 else base_offset + index,
                              log_append_time if log_append_time >= 0 else self.timestamps[index])


class RecordAccumulator:
    """Per-partition queues of :class:`ProducerBatch`. Times are milliseconds from the producer's clock."""

    def __init__(self, batch_size: int, linger_ms: int, compression: int) -> None:
        self.batch_size = batch_size
        self.linger_ms = linger_ms
        self.compression = compression
        self._queues: dict[TopicPartition, deque[ProducerBatch]] = {}
        self.queued_bytes = 0

    def append(
        self,
        tp: TopicPartition,
        timestamp: int,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[Header],
        now_ms: int,
        record_size: int | None = None,
    ) -> ProducerBatch:
        """Add one record to ``tp``'s open batch (starting one when needed); returns that batch.
        ``record_size``: the record's :meth:`RecordBatchBuilder.estimate_record_size`, when already known."""
        queue = self._queues.get(tp)
        if queue is None:
            queue = self._queues[tp] = deque()
        size = RecordBatchBuilder.estimate_record_size(key, value, headers) if record_size is None else record_size
        batch = queue[-1] if queue and queue[-1].data is None else None
        if batch is not None and batch.record_count and batch.estimated_size + size > self.batch_size:
            batch = None
        if batch is None:
            batch = ProducerBatch(tp, self.compression, now_ms)
            queue.append(batch)
        self.queued_bytes += batch.append(timestamp, key, value, headers)
        return batch

    def opens_new_batch(self, tp: TopicPartition, record_size: int) -> bool:
        """Would appending a record of ``record_size`` to ``tp`` start a new batch? (The sticky partitioner's
        cue, Java's ``abortOnNewBatch``.)"""
        queue = self._queues.get(tp)
        if not queue or queue[-1].sealed:
            return True
        last = queue[-1]
        return bool(last.record_count) and last.estimated_size + record_size > self.batch_size

    def head_size(self, tp: TopicPartition) -> int:
        """Bytes of ``tp``'s oldest queued batch."""
        return self._queues[tp][0].size

    def ready(self, now_ms: int, flushing: bool, muted: set[TopicPartition] | frozenset[TopicPartition] = frozenset()
              ) -> tuple[list[TopicPartition], int | None]:
        """Partitions with a batch to send now, and the earliest future time another one becomes ready."""
        out: list[TopicPartition] = []
        next_ms: int | None = None
        for tp, queue in self._queues.items():
            if not queue or tp in muted:
                continue
            head = queue[0]
            if head.retry_at_ms > now_ms:
                next_ms = head.retry_at_ms if next_ms is None else min(next_ms, head.retry_at_ms)
                continue
            full = len(queue) > 1 or head.sealed or head.estimated_size >= self.batch_size
            due = head.created_ms + self.linger_ms
            if full or flushing or due <= now_ms:
                out.append(tp)
            else:
                next_ms = due if next_ms is None else min(next_ms, due)
        return out, next_ms

    def drain(self, tp: TopicPartition) -> ProducerBatch:
        """Remove and return the oldest batch of ``tp`` (the caller seals it)."""
        queue = self._queues[tp]
        batch = queue.popleft()
        if not queue:
            del self._queues[tp]
        return batch

    def reenqueue(self, batch: ProducerBatch, retry_at_ms: int) -> None:
        """Put a batch that must be retried back at the head of its queue."""
        batch.retry_at_ms = retry_at_ms
        self._queues.setdefault(batch.tp, deque()).appendleft(batch)

    def release(self, batch: ProducerBatch) -> None:
        """A batch left the producer for good (completed or failed): forget its bytes."""
        self.queued_bytes -= batch.estimated_size - RECORD_BATCH_OVERHEAD

    def expired(self, now_ms: int, delivery_timeout_ms: int,
                muted: set[TopicPartition] | frozenset[TopicPartition] = frozenset()) -> list[ProducerBatch]:
        """Remove and return queued batches older than ``delivery_timeout_ms`` (not those of muted partitions:
        their in-flight batch must be answered first, or order would break)."""
        out: list[ProducerBatch] = []
        for tp in list(self._queues):
            if tp in muted:
                continue
            queue = self._queues[tp]
            while queue and now_ms - queue[0].created_ms >= delivery_timeout_ms:
                out.append(queue.popleft())
            if not queue:
                del self._queues[tp]
        return out

    def partitions(self) -> list[TopicPartition]:
        return list(self._queues)

    def __len__(self) -> int:
        """Batches queued (not in flight)."""
        return sum(len(q) for q in self._queues.values())
