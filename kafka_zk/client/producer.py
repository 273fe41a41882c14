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
from typing import Any, Iterable, Sequence

from kafka_zk.client.accumulator import Header, ProducerBatch, RecordAccumulator, RecordMetadata
from kafka_zk.client.decisions import Action, classify, error_name, to_error
from kafka_zk.client.errors import KafkaConnectionError, KafkaRequestTimeoutError
from kafka_zk.client.metadata import MetadataClient
from kafka_zk.client.partitioner import DefaultPartitioner
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

__all__ = ["Producer", "RecordMetadata", "build_produce_request", "handle_produce_response", "ProduceOutcome"]


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


def _check_bytes(what: str, v: object) -> None:
    if v is not None and not isinstance(v, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes or None, got {type(v).__name__} (encode it first)")


class Producer:
    """``async with Producer("127.0.0.1:9092") as p: await p.send_and_wait("t", b"v", key=b"k")``.

    Defaults are Kafka 2.x's producer defaults (``acks=1``, ``linger.ms=0``, ``batch.size=16384``,
    ``max.request.size=1048576``, ``delivery.timeout.ms=120000``, ``retry.backoff.ms=100``,
    ``max.block.ms=60000``, ``buffer.memory=33554432``, ``request.timeout.ms=30000``).
    """

    def __init__(
        self,
        bootstrap_servers: str | Sequence[str],
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
        enable_idempotence: bool = False,
        allow_auto_create_topics: bool = True,
        partitioner: DefaultPartitioner | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.acks = _parse_acks(acks)
        if enable_idempotence and self.acks != -1:
            raise ValueError("enable_idempotence requires acks=-1 ('all'): the broker can only deduplicate "
                             "batches every in-sync replica has")
        self.compression = CompressionType.from_name(compression_type)
        self.max_request_size = max_request_size
        self.request_timeout_ms = request_timeout_ms
        self.delivery_timeout_ms = delivery_timeout_ms
        self.retries = retries
        self.retry_backoff_ms = retry_backoff_ms
        self.max_block_ms = max_block_ms
        self.buffer_memory = buffer_memory
        self.enable_idempotence = enable_idempotence
        self.allow_auto_create_topics = allow_auto_create_topics
        self.partitioner = partitioner or DefaultPartitioner()
        self.clock = clock
        self.cluster = MetadataClient(bootstrap_servers, client_id=client_id, request_timeout=request_timeout_ms / 1000,
                                      retry_backoff=retry_backoff_ms / 1000)
        self._acc = RecordAccumulator(batch_size, linger_ms, self.compression)
        self._in_flight: set[TopicPartition] = set()
        self._pending: set[ProducerBatch] = set()  # appended, not yet completed or failed
        self._wakeup = asyncio.Event()
        self._space_freed = asyncio.Event()
        self._flushing = 0
        self._stale_metadata = False
        self._producer_id = NO_PRODUCER_ID
        self._producer_epoch = NO_PRODUCER_EPOCH
        self._sequences: dict[TopicPartition, int] = {}
        self._producer_id_stale = False
        self._sender: asyncio.Task[None] | None = None
        self._send_tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

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
        value: bytes | None = None,
        key: bytes | None = None,
        *,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Iterable[Header] | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Queue one record; the returned future resolves when the broker has it (per ``acks``)."""
        if self._closed or self._sender is None:
            raise KafkaConnectionError("the producer is not started (use 'async with Producer(...)' or start())")
        if self._sender.done():
            raise KafkaConnectionError("the producer's sender task has stopped (see the error logged); close it")
        _check_bytes("key", key)
        _check_bytes("value", value)
        hdrs: list[Header] = []
        for hk, hv in headers or ():
            if not isinstance(hk, str):
                raise TypeError(f"header keys must be str, got {type(hk).__name__}")
            _check_bytes(f"header {hk!r}", hv)
            hdrs.append((hk, None if hv is None else bytes(hv)))
        kb = None if key is None else bytes(key)
        vb = None if value is None else bytes(value)
        size = RECORD_BATCH_OVERHEAD + RecordBatchBuilder.estimate_record_size(kb, vb, hdrs)
        if size > self.max_request_size:
            raise KafkaError(ErrorCode.MESSAGE_TOO_LARGE,
                             f"the record is {size} bytes serialized, larger than max_request_size={self.max_request_size}")
        tmd = await self._topic_metadata(topic)
        if partition is None:  # (which partitions have a leader only matters for unkeyed records)
            available = tmd.available_partitions() if kb is None else ()
            partition = self.partitioner.partition(topic, kb, len(tmd.partitions), available)
        elif partition not in tmd.partitions:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                             f"topic '{topic}' has partitions 0..{len(tmd.partitions) - 1}; got partition {partition}")
        await self._wait_for_space(size)
        ts = self.clock.time_ms() if timestamp_ms is None else int(timestamp_ms)
        fut: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        batch = self._acc.append(TopicPartition(topic, partition), ts, kb, vb, hdrs, fut, self._now(),
                                 record_size=size - RECORD_BATCH_OVERHEAD)
        self._pending.add(batch)
        self._wakeup.set()
        return fut

    async def send_and_wait(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                            **kwargs: Any) -> RecordMetadata:
        """``send()`` and wait for the delivery; raises the delivery error."""
        return await (await self.send(topic, value, key, **kwargs))

    async def flush(self, timeout: float | None = None) -> None:
        """Send everything queued now and wait until every record sent so far is delivered or failed.

        Raises KafkaError REQUEST_TIMED_OUT if that takes longer than ``timeout`` seconds.
        """
        waiting = [f for b in list(self._pending) for f in b.futures]
        if not waiting:
            return
        self._flushing += 1
        self._wakeup.set()
        try:
            done, not_done = await asyncio.wait(waiting, timeout=timeout)
            if not_done:
                raise KafkaError(ErrorCode.REQUEST_TIMED_OUT,
                                 f"flush: {len(not_done)} records still undelivered after {timeout:g}s")
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
            for leader, tps in by_leader.items():
                batches = [self._seal(self._acc.drain(tp)) for tp in tps]
                self._in_flight.update(tps)
                spawn(self._send(leader, batches), name=f"produce-to-{leader}", tasks=self._send_tasks)
            if by_leader:
                continue  # more may be ready already
            timeout = None if next_ms is None else max(0, next_ms - self._now()) / 1000
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except asyncio.TimeoutError:
                pass

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

