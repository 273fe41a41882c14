"""``Producer``: an asyncio Kafka producer — batching, partitioning, acks, retries, optional idempotence.

Theory of operation
-------------------
``send()`` picks the partition (:mod:`kafka_zk.client.partitioner`: murmur2 of the key, as Java and
kafka-python do), appends the record to that partition's open batch in the :class:`RecordAccumulator` and
returns a future of :class:`RecordMetadata`. One **sender task** drains ready batches (full, lingered,
flushed), groups them by partition leader and sends one Produce request per leader holding at most one batch
per partition (the rule of Produce v3+). Each request follows build / decide / send:

* :func:`build_produce_request` — the request for some sealed batches (pure);
* :func:`handle_produce_response` — per batch: done (resolve the futures with ``base_offset + i``), retry,
  refresh-metadata-and-retry, or fail (pure; see :mod:`kafka_zk.client.decisions`);
* ``_send`` — the one coroutine that does I/O. A lost connection or a request timeout counts as retriable
  for every batch in the request.

Retries are bounded by ``delivery_timeout_ms`` (Kafka 2.1+: 120 s from the moment the record was appended)
and ``retries``; a retried batch waits ``retry_backoff_ms`` and keeps its bytes. While a partition has a
batch in flight it is muted, so order is kept across retries.

``acks``: 0 (no response; offsets unknown, reported as -1), 1 (the leader appended; Kafka 2.x's default) or
-1/``"all"`` (every in-sync replica has it). ``enable_idempotence=True`` (Kafka 2.x default: off) asks the
broker for a producer id (InitProducerId), stamps each batch with the producer id, epoch and a per-partition
sequence, and requires ``acks=-1``; the broker then drops a retried batch it already has
(DUPLICATE_SEQUENCE_NUMBER counts as success). If a batch with a sequence fails for good, the next batches
would be out of sequence, so the producer waits for in-flight requests, takes a new producer id and restarts
its sequences at 0 (what the Java client does for an idempotent, non-transactional producer).

Errors ``send()`` raises at once: ``TypeError`` for a key/value/header that is not bytes, ``KafkaError``
MESSAGE_TOO_LARGE for a record over ``max_request_size``, UNKNOWN_TOPIC_OR_PARTITION for a partition the
topic does not have or a topic that does not exist (when auto-creation is off), REQUEST_TIMED_OUT when the
topic's metadata or buffer space did not arrive within ``max_block_ms``. Errors of the delivery arrive in
the returned future as ``KafkaError`` (the broker's code) or REQUEST_TIMED_OUT (delivery timeout).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterable, Mapping, Protocol, Sequence

from kafka_zk.client.accumulator import Header, ProducerBatch, RecordAccumulator, RecordMetadata
from kafka_zk.client.decisions import Action, classify, error_name, to_error
from kafka_zk.client.errors import KafkaConnectionError, KafkaRequestTimeoutError
from kafka_zk.client.metadata import MetadataClient
from kafka_zk.client.config import as_bool, normalize_options
from kafka_zk.client.partitioner import Partitioner, make_partitioner
from kafka_zk.common.clock import SYSTEM_CLOCK, Clock
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tasks import spawn
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import InitProducerIdRequest, ProduceRequest
from kafka_zk.record import RECORD_BATCH_OVERHEAD, CompressionType, RecordBatchBuilder
from kafka_zk.record.batch import NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, increment_sequence

log = get_logger(__name__)

__all__ = ["Producer", "RecordMetadata", "FutureRecordMetadata", "ProducerRecord", "ProducerInterceptor", "build_produce_request", "handle_produce_response", "ProduceOutcome"]


# --------------------------------------------------------------------------------------- build / decide


def build_produce_request(batches: Sequence[ProducerBatch], acks: int, timeout_ms: int) -> Any:
    """One ProduceRequest carrying each (sealed) batch; at most one batch per partition."""
    by_topic: dict[str, list[Any]] = {}
    for b in batches:
        assert b.data is not None, "batches are sealed before they are sent"
        by_topic.setdefault(b.tp.topic, []).append(
            ProduceRequest.PartitionProduceData(index=b.tp.partition, records=b.data))
    return ProduceRequest(
        transactional_id=None,
        acks=acks,
        timeout_ms=timeout_ms,
        topic_data=[ProduceRequest.TopicProduceData(name=t, partition_data=p) for t, p in by_topic.items()],
    )


class ProduceOutcome:
    """The decision for one batch of a Produce response."""

    __slots__ = ("batch", "action", "error_code", "base_offset", "log_append_time", "message")

    def __init__(self, batch: ProducerBatch, action: Action, error_code: int = 0, base_offset: int = -1,
                 log_append_time: int = -1, message: str | None = None) -> None:
        self.batch = batch
        self.action = action
        self.error_code = error_code
        self.base_offset = base_offset
        self.log_append_time = log_append_time
        self.message = message

    def __repr__(self) -> str:
        return f"ProduceOutcome({self.batch.tp}, {self.action.value}, {error_name(self.error_code)}, {self.base_offset})"


def handle_produce_response(resp: Any, batches: Sequence[ProducerBatch]) -> list[ProduceOutcome]:
    """Decide, per batch, what a Produce response means (pure). A batch the response does not mention is
    retried after a metadata refresh (a broker must answer every partition; treat a gap as staleness)."""
    answers: dict[TopicPartition, Any] = {}
    for t in resp.responses:
        for p in t.partition_responses:
            answers[TopicPartition(t.name, p.index)] = p
    out: list[ProduceOutcome] = []
    for b in batches:
        p = answers.get(b.tp)
        if p is None:
            out.append(ProduceOutcome(b, Action.REFRESH_AND_RETRY, int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
                                      message="partition missing from the Produce response"))
            continue
        code = p.error_code
        if code == ErrorCode.DUPLICATE_SEQUENCE_NUMBER:
            out.append(ProduceOutcome(b, Action.DONE, code, -1, -1))  # the broker already has it
            continue
        out.append(ProduceOutcome(b, classify(code), code, p.base_offset, p.log_append_time_ms,
                                  getattr(p, "error_message", None)))
    return out


# ------------------------------------------------------------------------------------------------ producer


def _parse_acks(acks: int | str) -> int:
    if acks in ("all", -1, "-1"):
        return -1
    if acks in (0, 1, "0", "1"):
        return int(acks)
    raise ValueError(f"acks must be 0, 1, -1 or 'all', got {acks!r}")


def _to_bytes(what: str, v: object) -> bytes:
    if not isinstance(v, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes or None, got {type(v).__name__} "
                        f"(encode it first, or give the producer a key_serializer / value_serializer)")
    return bytes(v)


#: Java-only spellings that do not normalize to our keyword names.
_ALIASES = {"partitioner.class": "partitioner", "interceptor.classes": "interceptors"}

Serializer = Callable[[Any], bytes]
DeliveryCallback = Callable[["RecordMetadata | None", "BaseException | None"], None]


@dataclass
class ProducerRecord:
    """What an interceptor's ``on_send`` sees and may replace (Java ``ProducerRecord``), before serializing."""

    topic: str
    value: Any
    key: Any = None
    partition: int | None = None
    timestamp_ms: int | None = None
    headers: list[Header] = field(default_factory=list)


class ProducerInterceptor(Protocol):
    """Java ``ProducerInterceptor``: ``on_send`` may return a modified record; ``on_acknowledgement`` sees each
    record's outcome (metadata or error). Exceptions from either are logged and ignored, as in Java."""

    def on_send(self, record: ProducerRecord) -> ProducerRecord: ...

    def on_acknowledgement(self, metadata: RecordMetadata | None, error: BaseException | None) -> None: ...


class FutureRecordMetadata:
    """The future ``send()`` returns: ``await`` it on the producer's loop, or ``.get(timeout)`` from another
    thread (as Java's ``Future.get``), e.g. with :class:`~kafka_zk.client.sync.SyncProducer`.

    As in Java's client it is a view of the record's batch (the batch's one future, and the record's index in
    it), not an asyncio future of its own: ``done()``, ``result()``, ``exception()`` and
    ``add_done_callback()`` behave as asyncio's; ``asyncio.gather``/``wait``/``wait_for`` accept it as any
    awaitable. It cannot be cancelled (Java's ``cancel`` returns false too): a record handed to the producer
    is delivered or fails with its batch, and cancelling a wait for it leaves the batch alone."""

    __slots__ = ("_batch", "_index")

    def __init__(self, batch: ProducerBatch, index: int) -> None:
        self._batch = batch
        self._index = index

    def __await__(self) -> Generator[Any, None, RecordMetadata]:
        result = self._batch.result
        if not result.done():
            yield from asyncio.shield(result).__await__()  # a cancelled waiter must not cancel the batch
        return self._batch.metadata(self._index)

    def done(self) -> bool:
        return self._batch.result.done()

    def cancelled(self) -> bool:
        return self._batch.result.cancelled()

    def cancel(self) -> bool:
        return False

    def result(self) -> RecordMetadata:
        """The record's metadata; raises its delivery error, or ``asyncio.InvalidStateError`` when not done."""
        return self._batch.metadata(self._index)

    def exception(self) -> BaseException | None:
        return self._batch.result.exception()

    def add_done_callback(self, fn: Callable[[FutureRecordMetadata], object]) -> None:
        """``fn(this future)`` once the record is delivered or failed, on the producer's loop."""
        self._batch.result.add_done_callback(lambda _: fn(self))

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._batch.result.get_loop()

    def get(self, timeout: float | None = None) -> RecordMetadata:
        """The record's metadata, blocking this thread; raises the delivery error, or TimeoutError."""
        if self.done():
            return self.result()
        loop = self.get_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("get() on the producer's own event loop would block it forever: 'await' the future")
        if not loop.is_running():
            raise RuntimeError("the producer's event loop is not running, so the record can never be delivered")

        async def wait() -> RecordMetadata:
            return await self

        return asyncio.run_coroutine_threadsafe(wait(), loop).result(timeout)

    def __repr__(self) -> str:
        state = "pending" if not self.done() else ("failed" if self.exception() else "done")
        return f"<FutureRecordMetadata {self._batch.tp} #{self._index} {state}>"


class Producer:
    """``async with Producer("127.0.0.1:9092") as p: await p.send_and_wait("t", b"v", key=b"k")``.

    Defaults are Kafka 2.x's producer defaults (``acks=1``, ``linger.ms=0``, ``batch.size=16384``,
    ``max.request.size=1048576``, ``delivery.timeout.ms=120000``, ``retry.backoff.ms=100``,
    ``max.block.ms=60000``, ``buffer.memory=33554432``, ``request.timeout.ms=30000``).
    """

    def __init__(
        self,
        bootstrap_servers: str | Sequence[str] | None = None,
        *,
        client_id: str = "kafka-zk-producer",
        acks: int | str = 1,
        compression_type: str = "none",
        batch_size: int = 16384,
        linger_ms: int = 0,
        max_request_size: int = 1048576,
        request_timeout_ms: int = 30000,
        delivery_timeout_ms: int = 120000,
        retries: int = 2147483647,
        retry_backoff_ms: int = 100,
        max_block_ms: int = 60000,
        buffer_memory: int = 33554432,
        max_in_flight_requests_per_connection: int = 5,
        enable_idempotence: bool | str = False,
        allow_auto_create_topics: bool | str = True,
        partitioner: str | Partitioner | None = None,
        key_serializer: Serializer | None = None,
        value_serializer: Serializer | None = None,
        interceptors: Sequence[ProducerInterceptor] = (),
        clock: Clock = SYSTEM_CLOCK,
        **options: Any,
    ) -> None:
        cfg: dict[str, Any] = dict(
            bootstrap_servers=bootstrap_servers, client_id=client_id, acks=acks, compression_type=compression_type,
            batch_size=batch_size, linger_ms=linger_ms, max_request_size=max_request_size,
            request_timeout_ms=request_timeout_ms, delivery_timeout_ms=delivery_timeout_ms, retries=retries,
            retry_backoff_ms=retry_backoff_ms, max_block_ms=max_block_ms, buffer_memory=buffer_memory,
            max_in_flight_requests_per_connection=max_in_flight_requests_per_connection,
            enable_idempotence=enable_idempotence, allow_auto_create_topics=allow_auto_create_topics,
            partitioner=partitioner, key_serializer=key_serializer, value_serializer=value_serializer,
            interceptors=interceptors)
        # Kafka's dotted names (``**{"linger.ms": 5}``) override the keyword defaults
        cfg.update(normalize_options({_ALIASES.get(k, k): v for k, v in options.items()}, cfg, "producer"))
        if not cfg["bootstrap_servers"]:
            raise ValueError("bootstrap_servers (bootstrap.servers) is required, e.g. '127.0.0.1:9092'")
        self.config = cfg
        self.acks = _parse_acks(cfg["acks"])
        self.enable_idempotence = as_bool("enable.idempotence", cfg["enable_idempotence"])
        if self.enable_idempotence and self.acks != -1:
            raise ValueError("enable_idempotence requires acks=-1 ('all'): the broker can only deduplicate "
                             "batches every in-sync replica has")
        self.compression = CompressionType.from_name(cfg["compression_type"])
        self.batch_size = int(cfg["batch_size"])
        self.linger_ms = int(cfg["linger_ms"])
        self.max_request_size = int(cfg["max_request_size"])
        self.request_timeout_ms = int(cfg["request_timeout_ms"])
        self.delivery_timeout_ms = int(cfg["delivery_timeout_ms"])
        self.retries = int(cfg["retries"])
        self.retry_backoff_ms = int(cfg["retry_backoff_ms"])
        self.max_block_ms = int(cfg["max_block_ms"])
        self.buffer_memory = int(cfg["buffer_memory"])
        self.max_in_flight = int(cfg["max_in_flight_requests_per_connection"])
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight_requests_per_connection must be >= 1, got {self.max_in_flight}")
        for name in ("batch_size", "buffer_memory", "max_request_size", "request_timeout_ms"):
            if int(cfg[name]) <= 0:
                raise ValueError(f"{name.replace('_', '.')} must be > 0, got {cfg[name]}")
        self.allow_auto_create_topics = as_bool("allow.auto.create.topics", cfg["allow_auto_create_topics"])
        self.partitioner: Partitioner = make_partitioner(cfg["partitioner"])
        self.key_serializer: Serializer | None = cfg["key_serializer"]
        self.value_serializer: Serializer | None = cfg["value_serializer"]
        self.interceptors: list[ProducerInterceptor] = list(cfg["interceptors"] or ())
        self.clock = clock
        self._system_clock = clock is SYSTEM_CLOCK
        self.cluster = MetadataClient(cfg["bootstrap_servers"], client_id=cfg["client_id"],
                                      request_timeout=self.request_timeout_ms / 1000,
                                      retry_backoff=self.retry_backoff_ms / 1000)
        self._acc = RecordAccumulator(self.batch_size, self.linger_ms, self.compression)
        self._in_flight: set[TopicPartition] = set()
        self._leader_in_flight: dict[int, int] = {}
        self._tps: dict[tuple[str, int], TopicPartition] = {}
        self._pending: set[ProducerBatch] = set()  # appended, not yet completed or failed
        self._wakeup = asyncio.Event()
        self._space_freed = asyncio.Event()
        self._batch_done = asyncio.Event()
        self._flushing = 0
        self._stale_metadata = False
        self._producer_id = NO_PRODUCER_ID
        self._producer_epoch = NO_PRODUCER_EPOCH
        self._sequences: dict[TopicPartition, int] = {}
        self._producer_id_stale = False
        self._sender: asyncio.Task[None] | None = None
        self._send_tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> Producer:
        """``Producer.from_config({"bootstrap.servers": "h:9092", "linger.ms": 5})`` — a properties dict."""
        return cls(**{**dict(config), **kwargs})

    # ----------------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Bootstrap (and, with idempotence, get a producer id); start the sender."""
        await self.cluster.bootstrap()
        if self.enable_idempotence:
            await self._init_producer_id()
        self._sender = spawn(self._run_sender(), name="producer-sender")

    async def __aenter__(self) -> Producer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self, timeout: float | None = None) -> None:
        """Flush what was sent (up to ``timeout`` seconds; ``None`` = the delivery timeout), then stop.

        Records still undelivered after that fail with KafkaConnectionError. Idempotent.
        """
        if self._closed:
            return
        try:
            if self._sender is not None:
                await self.flush(timeout)
        except KafkaError:
            pass
        finally:
            self._closed = True
            if self._sender is not None:
                self._sender.cancel()
                await asyncio.gather(self._sender, return_exceptions=True)
            for t in list(self._send_tasks):
                t.cancel()
            await asyncio.gather(*self._send_tasks, return_exceptions=True)
            gone = KafkaConnectionError("the producer was closed before the record was delivered")
            for b in list(self._pending):
                b.fail(gone)
            self._pending.clear()
            await self.cluster.close()

    # --------------------------------------------------------------------------------------------- public

    async def partitions_for(self, topic: str) -> list[int]:
        """The topic's partition ids (waits for its metadata up to ``max_block_ms``)."""
        return sorted((await self._topic_metadata(topic)).partitions)

    async def send(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        *,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Iterable[Header] | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> FutureRecordMetadata:
        """Queue one record; the returned future resolves to its :class:`RecordMetadata` when the broker has it
        (per ``acks``). Await it, or call ``.get()`` from another thread. ``on_delivery(metadata, error)`` is
        called once, on the producer's loop, with exactly one of the two set.

        The pipeline is Java's: interceptors' ``on_send`` -> key/value serializers -> partitioner ->
        accumulator. Blocks (up to ``max_block_ms``) for the topic's metadata and for buffer space.
        """
        if self._closed or self._sender is None:
            raise KafkaConnectionError("the producer is not started (use 'async with Producer(...)' or start())")
        if self._sender.done():
            raise KafkaConnectionError("the producer's sender task has stopped (see the error logged); close it")
        if self.interceptors:
            rec = ProducerRecord(topic, value, key, partition, timestamp_ms, list(headers or ()))
            for ic in self.interceptors:
                try:
                    rec = ic.on_send(rec)
                except Exception as e:  # Java: an interceptor's failure is logged, never fails the send
                    log.warning("interceptor on_send failed", interceptor=type(ic).__name__, error=repr(e))
            topic, value, key, partition, timestamp_ms, headers = (
                rec.topic, rec.value, rec.key, rec.partition, rec.timestamp_ms, rec.headers)
        if self.key_serializer is not None and key is not None:
            key = self.key_serializer(key)
        if self.value_serializer is not None and value is not None:
            value = self.value_serializer(value)
        kb = key if key is None or type(key) is bytes else _to_bytes("key", key)
        vb = value if value is None or type(value) is bytes else _to_bytes("value", value)
        hdrs: list[Header] = []
        if headers:
            for hk, hv in headers:
                if not isinstance(hk, str):
                    raise TypeError(f"header keys must be str, got {type(hk).__name__}")
                hdrs.append((hk, None if hv is None else _to_bytes(f"header {hk!r}", hv)))
        if hdrs:
            record_size = RecordBatchBuilder.estimate_record_size(kb, vb, hdrs)
        else:  # the same upper bound, inlined for the common case (varint lengths at their widest, 5)
            record_size = 22 + (1 if kb is None else len(kb) + 5) + (1 if vb is None else len(vb) + 5)
        size = RECORD_BATCH_OVERHEAD + record_size
        if size > self.max_request_size:
            raise KafkaError(ErrorCode.MESSAGE_TOO_LARGE,
                             f"the record is {size} bytes serialized, larger than max_request_size={self.max_request_size}")
        tmd = self.cluster.metadata.topics.get(topic)
        if tmd is None or tmd.error_code != 0 or not tmd.partitions:
            tmd = await self._topic_metadata(topic)
        n = len(tmd.partitions)
        if partition is None:  # (which partitions have a leader only matters for unkeyed records)
            available = tmd.available_partitions() if kb is None else ()
            partition = self.partitioner.partition(topic, kb, n, available)
            if kb is None and self._acc.opens_new_batch(self._tp(topic, partition), record_size):
                partition = self.partitioner.on_new_batch(topic, partition, n, available)  # sticky: move on
        elif partition not in tmd.partitions:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                             f"topic '{topic}' has partitions 0..{n - 1}; got partition {partition}")
        if self._acc.queued_bytes + size > self.buffer_memory and self._pending:
            await self._wait_for_space(size)
        if timestamp_ms is not None:
            ts = int(timestamp_ms)
        else:
            ts = time.time_ns() // 1_000_000 if self._system_clock else self.clock.time_ms()
        batch = self._acc.append(self._tp(topic, partition), ts, kb, vb, hdrs,
                                 time.monotonic_ns() // 1_000_000 if self._system_clock else self._now(),
                                 record_size=record_size)
        fut = FutureRecordMetadata(batch, batch.record_count - 1)
        if on_delivery is not None or self.interceptors:
            fut.add_done_callback(self._acknowledger(on_delivery))
        if batch.record_count == 1:  # a new batch: the previous one may be full, let the sender run
            self._pending.add(batch)
            self._wakeup.set()
            await asyncio.sleep(0)
        elif self.linger_ms == 0 and not self._wakeup.is_set():
            self._wakeup.set()
        return fut

    def _tp(self, topic: str, partition: int) -> TopicPartition:
        """Interned TopicPartitions (one per partition instead of one per record)."""
        key = (topic, partition)
        tp = self._tps.get(key)
        if tp is None:
            tp = self._tps[key] = TopicPartition(topic, partition)
        return tp

    def _acknowledger(self, on_delivery: DeliveryCallback | None) -> Callable[[FutureRecordMetadata], None]:
        interceptors = self.interceptors

        def done(fut: FutureRecordMetadata) -> None:
            md: RecordMetadata | None = None
            err: BaseException | None = None
            if fut.cancelled():
                err = asyncio.CancelledError()
            else:
                err = fut.exception()
                md = None if err is not None else fut.result()
            for ic in interceptors:
                try:
                    ic.on_acknowledgement(md, err)
                except Exception as e:
                    log.warning("interceptor on_acknowledgement failed", interceptor=type(ic).__name__, error=repr(e))
            if on_delivery is not None:
                try:
                    on_delivery(md, err)
                except Exception as e:
                    log.warning("delivery callback failed", error=repr(e))
        return done

    async def send_and_wait(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                            **kwargs: Any) -> RecordMetadata:
        """``send()`` and wait for the delivery; raises the delivery error."""
        return await (await self.send(topic, value, key, **kwargs))

    async def flush(self, timeout: float | None = None) -> None:
        """Send everything queued now and wait until every record sent so far is delivered or failed.

        Raises KafkaError REQUEST_TIMED_OUT if that takes longer than ``timeout`` seconds.
        """
        waiting = set(self._pending)  # batch-level: no callback per record future
        if not waiting:
            return
        self._flushing += 1
        self._wakeup.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while waiting:
                self._batch_done.clear()
                waiting &= self._pending
                if not waiting:
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    n = sum(b.record_count for b in waiting)
                    raise KafkaError(ErrorCode.REQUEST_TIMED_OUT,
                                     f"flush: {n} records still undelivered after {timeout:g}s")
                try:
                    await asyncio.wait_for(self._batch_done.wait(), left)
                except asyncio.TimeoutError:
                    pass
        finally:
            self._flushing -= 1

    # ------------------------------------------------------------------------------------------ internals

    def _now(self) -> int:
        return self.clock.monotonic_ms()

    async def _topic_metadata(self, topic: str) -> Any:
        tmd = self.cluster.metadata.topics.get(topic)
        if tmd is not None and tmd.error_code == 0 and tmd.partitions:
            return tmd
        return await self.cluster.wait_for_topic(topic, timeout=self.max_block_ms / 1000,
                                                 allow_auto_create=self.allow_auto_create_topics, require_leaders=False)

    async def _wait_for_space(self, size: int) -> None:
        """Block (up to ``max_block_ms``) while the queued records would exceed ``buffer_memory``."""
        if self._acc.queued_bytes + size <= self.buffer_memory or not self._pending:
            return
        deadline = time.monotonic() + self.max_block_ms / 1000
        self._flushing += 1  # send what is queued instead of lingering
        try:
            while self._acc.queued_bytes + size > self.buffer_memory and self._pending:
                self._space_freed.clear()
                self._wakeup.set()
                try:
                    await asyncio.wait_for(self._space_freed.wait(), max(0.0, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    raise KafkaError(ErrorCode.REQUEST_TIMED_OUT, f"no buffer space for {size} bytes within "
                                     f"max_block_ms={self.max_block_ms} (buffer_memory={self.buffer_memory})") from None
        finally:
            self._flushing -= 1

    async def _init_producer_id(self) -> None:
        deadline = time.monotonic() + self.max_block_ms / 1000
        while True:
            conn = await self.cluster.any_connection()
            resp = await conn.request(ApiKey.INIT_PRODUCER_ID,
                                      InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000))
            if resp.error_code == ErrorCode.NONE:
                self._producer_id, self._producer_epoch = resp.producer_id, resp.producer_epoch
                self._sequences.clear()
                self._producer_id_stale = False
                log.debug("producer id", producer_id=self._producer_id, producer_epoch=self._producer_epoch)
                return
            if classify(resp.error_code) == Action.FAIL or time.monotonic() > deadline:
                raise to_error(resp.error_code, f"InitProducerId: {error_name(resp.error_code)}")
            await asyncio.sleep(self.retry_backoff_ms / 1000)

    async def _run_sender(self) -> None:
        next_refresh_ms = 0
        while True:
            self._wakeup.clear()
            now = self._now()
            self._expire(now)
            if self._producer_id_stale and not self._in_flight:
                try:
                    await self._init_producer_id()
                except (KafkaError, KafkaConnectionError, KafkaRequestTimeoutError) as e:
                    log.warning("InitProducerId failed; will retry", error=str(e))
                    await asyncio.sleep(self.retry_backoff_ms / 1000)
                    continue
            ready, next_ms = ([], None) if self._producer_id_stale else \
                self._acc.ready(now, self._flushing > 0, self._in_flight)
            md = self.cluster.metadata
            by_leader: dict[int, list[TopicPartition]] = {}
            unknown: list[TopicPartition] = []
            for tp in ready:
                leader = md.leader(tp)
                if leader < 0 or leader not in md.brokers:
                    unknown.append(tp)
                else:
                    by_leader.setdefault(leader, []).append(tp)
            if (unknown or self._stale_metadata) and now >= next_refresh_ms:
                next_refresh_ms = now + self.retry_backoff_ms
                self._stale_metadata = False
                topics = {tp.topic for tp in self._acc.partitions()} | {tp.topic for tp in self._in_flight}
                try:
                    await self.cluster.refresh(topics)
                except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
                    log.debug("metadata refresh failed", error=str(e))
                continue
            if unknown:
                next_ms = next_refresh_ms if next_ms is None else min(next_ms, next_refresh_ms)
            sent = False
            for leader, tps in by_leader.items():
                if self._leader_in_flight.get(leader, 0) >= self.max_in_flight:
                    continue  # max.in.flight.requests.per.connection: wait for an answer from this leader
                batches = self._drain_for(tps)
                self._in_flight.update(b.tp for b in batches)
                self._leader_in_flight[leader] = self._leader_in_flight.get(leader, 0) + 1
                spawn(self._send(leader, batches), name=f"produce-to-{leader}", tasks=self._send_tasks)
                sent = True
            if sent:
                continue  # more may be ready already
            timeout = None if next_ms is None else max(0, next_ms - self._now()) / 1000
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def _drain_for(self, tps: list[TopicPartition]) -> list[ProducerBatch]:
        """One batch per ready partition of one leader, up to ``max_request_size`` in total (at least one)."""
        out: list[ProducerBatch] = []
        total = 0
        for tp in tps:
            size = self._acc.head_size(tp)
            if out and total + size > self.max_request_size:
                break
            out.append(self._seal(self._acc.drain(tp)))
            total += size
        return out

    def _seal(self, batch: ProducerBatch) -> ProducerBatch:
        if batch.sealed:
            return batch
        seq = NO_SEQUENCE
        if self.enable_idempotence:
            seq = self._sequences.get(batch.tp, 0)
            self._sequences[batch.tp] = increment_sequence(seq, batch.record_count)
        batch.seal(self._producer_id, self._producer_epoch, seq)
        return batch

    def _expire(self, now: int) -> None:
        for b in self._acc.expired(now, self.delivery_timeout_ms, self._in_flight):
            self._finish(b, KafkaError(ErrorCode.REQUEST_TIMED_OUT,
                                       f"{b.record_count} record(s) for {b.tp} expired: not delivered within "
                                       f"delivery_timeout_ms={self.delivery_timeout_ms}"))

    async def _send(self, leader: int, batches: list[ProducerBatch]) -> None:
        try:
            await self._send_once(leader, batches)
        finally:
            self._leader_in_flight[leader] -= 1
            self._wakeup.set()

    async def _send_once(self, leader: int, batches: list[ProducerBatch]) -> None:
        req = build_produce_request(batches, self.acks, self.request_timeout_ms)
        try:
            conn = await self.cluster.connection(leader)
            resp = await conn.request(ApiKey.PRODUCE, req, timeout=self.request_timeout_ms / 1000 + 1)
        except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
            code = int(ErrorCode.NETWORK_EXCEPTION if isinstance(e, KafkaConnectionError) else ErrorCode.REQUEST_TIMED_OUT)
            outcomes = [ProduceOutcome(b, Action.REFRESH_AND_RETRY, code, message=str(e)) for b in batches]
        except Exception as e:  # an encoding bug or an incompatible broker: fail these records loudly
            log.error("produce request failed", leader=leader, exc_info=e)
            outcomes = [ProduceOutcome(b, Action.FAIL, int(ErrorCode.UNKNOWN_SERVER_ERROR), message=repr(e)) for b in batches]
        else:
            if resp is None:  # acks=0
                outcomes = [ProduceOutcome(b, Action.DONE) for b in batches]
            else:
                outcomes = handle_produce_response(resp, batches)
        self._apply(outcomes)

    def _apply(self, outcomes: list[ProduceOutcome]) -> None:
        now = self._now()
        for o in outcomes:
            b = o.batch
            self._in_flight.discard(b.tp)
            b.attempts += 1
            if o.action == Action.DONE:
                b.complete(o.base_offset, o.log_append_time)
                self._finish(b, None)
                continue
            retriable = o.action in (Action.RETRY, Action.REFRESH_AND_RETRY)
            too_late = now - b.created_ms >= self.delivery_timeout_ms
            if retriable and not too_late and b.attempts <= self.retries:
                if o.action == Action.REFRESH_AND_RETRY:
                    self._stale_metadata = True
                log.debug("retrying batch", tp=str(b.tp), error=error_name(o.error_code), attempt=b.attempts)
                self._acc.reenqueue(b, now + self.retry_backoff_ms)
                continue
            why = o.message or error_name(o.error_code)
            if retriable:
                why = f"gave up after {b.attempts} attempt(s): {why}"
            self._finish(b, to_error(o.error_code, f"{b.tp}: {why}"))
        self._wakeup.set()

    def _finish(self, batch: ProducerBatch, error: KafkaError | None) -> None:
        if error is not None:
            batch.fail(error)
            if self.enable_idempotence and batch.base_sequence != NO_SEQUENCE:
                self._producer_id_stale = True  # later sequences of this partition would be out of order
        self._pending.discard(batch)
        self._acc.release(batch)
        self._space_freed.set()
        self._batch_done.set()

