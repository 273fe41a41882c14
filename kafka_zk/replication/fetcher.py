"""Followers pull from leaders: one fetcher (one connection, one task) per source broker, carrying all the
partitions this broker follows on it (Kafka's ``ReplicaFetcherThread`` with ``num.replica.fetchers=1``).

Each partition goes through two states:

* **truncating** — before fetching from a new leader (every LeaderAndIsr that makes us follower), ask the
  leader with OffsetForLeaderEpoch where our latest leader epoch ends in *its* log, and truncate our log there
  (KIP-101; KIP-279 for the iterative case, see :func:`truncation_offset`). Truncating to the high watermark
  instead — the pre-0.11 rule — loses or diverges committed data when leaders change twice in quick
  succession; the epoch rule does not.
* **fetching** — Fetch with ``replica_id`` = our broker id from our log end offset, in an incremental fetch
  session (KIP-227, :mod:`~kafka_zk.replication.fetch_session_handler`) as Kafka's fetchers do; the leader treats that
  fetch offset as our LEO (which drives its ISR and HW) and answers with batches and its HW. Batches are
  appended as they are (the leader's offsets, epochs and CRCs), only whole batches (a trailing partial
  batch at the response size limit is fetched again next time). Our HW := the leader's HW clamped to our LEO.

Errors: NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH / UNKNOWN_TOPIC_OR_PARTITION mean
our view is out of date: the partition waits ``replica.fetch.backoff.ms`` (a new LeaderAndIsr resets it).
OFFSET_OUT_OF_RANGE: if the leader's log starts after our end, start over at its log start offset; otherwise
truncate to the leader's end. A lost connection backs off and reconnects.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from kafka_zk.client.connection import KafkaConnection
from kafka_zk.client.errors import KafkaConnectionError, KafkaRequestTimeoutError
from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tasks import spawn
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.errors import ProtocolError
from kafka_zk.protocol.messages.fetch import FetchRequest
from kafka_zk.protocol.messages.leader_epoch import OffsetForLeaderEpochRequest
from kafka_zk.protocol.messages.list_offsets import ListOffsetsRequest
from kafka_zk.record.batch import iter_batches
from kafka_zk.replication.fetch_session_handler import FetchSessionHandler, PartitionFetchData
from kafka_zk.replication.partition import Partition

log = get_logger(__name__)

UNDEFINED_EPOCH = -1
UNDEFINED_OFFSET = -1
FETCH_VERSION = 10
OFFSET_FOR_LEADER_EPOCH_VERSION = 3
LIST_OFFSETS_VERSION = 2


def truncation_offset(
    leader_epoch: int,
    leader_end_offset: int,
    local_end_for: Any,
    local_leo: int,
    high_watermark: int,
) -> tuple[int, bool]:
    """Where to truncate after an OffsetForLeaderEpoch answer (Kafka ``getOffsetTruncationState``, KIP-279).

    ``local_end_for(epoch) -> (epoch, end_offset)`` queries our own leader-epoch cache. Returns
    ``(offset, done)``; ``done`` is False when we must ask again for an earlier epoch (the leader's epoch
    for that offset differs from ours: our tail may diverge further back).
    """
    if leader_end_offset == UNDEFINED_OFFSET:
        return min(high_watermark, local_leo), True  # leader knows nothing of our epoch: fall back to the HW
    if leader_epoch == UNDEFINED_EPOCH:
        return min(leader_end_offset, local_leo), True  # old protocol: no epoch in the answer
    our_epoch, our_end = local_end_for(leader_epoch)  # largest epoch of ours <= the leader's answer
    if our_epoch == leader_epoch and our_epoch != UNDEFINED_EPOCH:
        return min(leader_end_offset, our_end, local_leo), True
    if our_epoch != UNDEFINED_EPOCH:
        # Our largest epoch at or below the leader's differs: our tail may diverge further back.
        # Truncate to the end of our epoch and ask again with it.
        return min(our_end, local_leo), False
    return min(leader_end_offset, local_leo), True


@dataclass
class FetchState:
    partition: Partition
    leader_epoch: int
    truncating: bool = True
    delayed_until: float = 0.0
    lag: int = 0  # the leader's HW minus our LEO after the last fetch (Kafka's FetcherLagMetrics)

    @property
    def tp(self) -> TopicPartition:
        return self.partition.tp


class ReplicaFetcher:
    def __init__(self, broker_id: int, leader_id: int, endpoint: tuple[str, int], config: Any, events: EventBus) -> None:
        self.broker_id = broker_id
        self.leader_id = leader_id
        self.endpoint = endpoint
        self.events = events
        self.max_wait_ms = config["replica.fetch.wait.max.ms"]
        self.min_bytes = config["replica.fetch.min.bytes"]
        self.max_bytes = config["replica.fetch.response.max.bytes"]
        self.partition_max_bytes = config["replica.fetch.max.bytes"]
        self.backoff_s = config["replica.fetch.backoff.ms"] / 1000
        self.socket_timeout_s = config["replica.socket.timeout.ms"] / 1000
        self.states: dict[TopicPartition, FetchState] = {}
        self._conn: KafkaConnection | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None
        self._stopped = False
        self.session = FetchSessionHandler()  # KIP-227 incremental fetches to this leader

    def start(self) -> None:
        self._task = spawn(self._run(), f"replica-fetcher-{self.broker_id}-from-{self.leader_id}")

    def add(self, partition: Partition, leader_epoch: int) -> None:
        self.states[partition.tp] = FetchState(partition, leader_epoch)
        self._wakeup.set()

    def remove(self, tp: TopicPartition) -> bool:
        return self.states.pop(tp, None) is not None

    async def stop(self) -> None:
        self._stopped = True
        self._wakeup.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._close()

    async def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopped:
            now = loop.time()
            ready = [s for s in self.states.values() if s.delayed_until <= now]
            if not ready:
                self._wakeup.clear()
                waits = [s.delayed_until - now for s in self.states.values()]
                try:
                    await asyncio.wait_for(self._wakeup.wait(), min(waits) if waits else None)
                except asyncio.TimeoutError:
                    pass
                continue
            try:
                if self._conn is None or self._conn.closed:
                    host, port = self.endpoint
                    self._conn = await KafkaConnection.open(
                        host, port, client_id=f"broker-{self.broker_id}-fetcher-{self.leader_id}",
                        timeout=self.socket_timeout_s, request_timeout=self.socket_timeout_s + self.max_wait_ms / 1000,
                    )
                truncating = [s for s in ready if s.truncating]
                if truncating:
                    await self._truncate(truncating)
                fetching = [s for s in ready if not s.truncating and s.tp in self.states and self.states[s.tp] is s]
                if fetching:
                    await self._fetch(fetching)
            except asyncio.CancelledError:
                raise
            except (KafkaConnectionError, KafkaRequestTimeoutError, ProtocolError, OSError) as e:
                log.info("replica fetcher connection problem", leader=self.leader_id, error=str(e) or type(e).__name__)
                await self._close()
                await asyncio.sleep(self.backoff_s)

    def _delay(self, state: FetchState, why: str) -> None:
        state.delayed_until = asyncio.get_running_loop().time() + self.backoff_s
        log.debug("delaying partition", topic=state.tp.topic, partition=state.tp.partition, reason=why)

    # ---- truncation ----------------------------------------------------------------------------------

    async def _truncate(self, states: list[FetchState]) -> None:
        assert self._conn is not None
        # We always ask about our latest epoch: after a partial truncation (KIP-279) the cache was truncated
        # too, so "latest" is then the earlier epoch to ask about next.
        asked = {s.tp: s.partition.log.leader_epoch_cache.latest_epoch for s in states}
        by_topic: dict[str, list[Any]] = {}
        for s in states:
            by_topic.setdefault(s.tp.topic, []).append(
                OffsetForLeaderEpochRequest.OffsetForLeaderPartition(
                    partition=s.tp.partition, current_leader_epoch=s.leader_epoch, leader_epoch=asked[s.tp]
                )
            )
        req = OffsetForLeaderEpochRequest(
            replica_id=self.broker_id,
            topics=[OffsetForLeaderEpochRequest.OffsetForLeaderTopic(topic=t, partitions=ps) for t, ps in by_topic.items()],
        )
        resp = await self._conn.request(ApiKey.OFFSET_FOR_LEADER_EPOCH, req, version=OFFSET_FOR_LEADER_EPOCH_VERSION)
        answers = {(t.topic, p.partition): p for t in resp.topics for p in t.partitions}
        for s in states:
            if self.states.get(s.tp) is not s:
                continue  # removed or replaced while we waited
            a = answers.get((s.tp.topic, s.tp.partition))
            if a is None or a.error_code != ErrorCode.NONE:
                self._delay(s, ErrorCode(a.error_code).name if a else "missing from response")
                continue
            lg = s.partition.log
            offset, done = truncation_offset(
                a.leader_epoch, a.end_offset, lg.leader_epoch_cache.end_offset_for,
                lg.log_end_offset, lg.high_watermark,
            )
            self._truncate_log(s, offset, f"epoch {asked[s.tp]} ends at {a.end_offset} on leader {self.leader_id}")
            s.truncating = not done

    def _truncate_log(self, s: FetchState, offset: int, reason: str) -> None:
        lg = s.partition.log
        leo = lg.log_end_offset
        if offset < leo:
            lg.truncate_to(offset)
            log.info("truncated follower log", topic=s.tp.topic, partition=s.tp.partition, from_offset=leo, to_offset=offset, reason=reason)
            self.events.emit(
                kinds.REPLICA_TRUNCATED, topic=s.tp.topic, partition=s.tp.partition, from_offset=leo, to_offset=offset, reason=reason
            )

    # ---- fetching ------------------------------------------------------------------------------------

    async def _fetch(self, states: list[FetchState]) -> None:
        assert self._conn is not None
        wanted = {
            s.tp: PartitionFetchData(
                s.partition.log.log_end_offset, s.partition.log.log_start_offset, self.partition_max_bytes,
                s.leader_epoch,
            )
            for s in states
        }
        sent = self.session.build(wanted)
        by_topic: dict[str, list[Any]] = {}
        for tp, d in sent.to_send.items():
            by_topic.setdefault(tp.topic, []).append(
                FetchRequest.FetchPartition(
                    partition=tp.partition,
                    current_leader_epoch=d.current_leader_epoch,
                    fetch_offset=d.fetch_offset,
                    log_start_offset=d.log_start_offset,
                    partition_max_bytes=d.max_bytes,
                )
            )
        forgotten: dict[str, list[int]] = {}
        for tp in sent.forgotten:
            forgotten.setdefault(tp.topic, []).append(tp.partition)
        req = FetchRequest(
            replica_id=self.broker_id,
            max_wait_ms=self.max_wait_ms,
            min_bytes=self.min_bytes,
            max_bytes=self.max_bytes,
            isolation_level=0,
            session_id=sent.session_id,
            session_epoch=sent.epoch,
            topics=[FetchRequest.FetchTopic(topic=t, partitions=ps) for t, ps in by_topic.items()],
            forgotten_topics_data=[FetchRequest.ForgottenTopic(topic=t, partitions=ps) for t, ps in forgotten.items()],
        )
        try:
            resp = await self._conn.request(ApiKey.FETCH, req, version=FETCH_VERSION)
        except BaseException:
            self.session.handle_error()
            raise
        if not self.session.handle_response(sent, resp.error_code, resp.session_id):
            log.info("fetch session error; next fetch is full", leader=self.leader_id,
                     error=ErrorCode(resp.error_code).name)
            return
        answers = {(t.topic, p.partition_index): p for t in resp.responses for p in t.partitions}
        for s in states:
            if self.states.get(s.tp) is not s:
                continue
            a = answers.get((s.tp.topic, s.tp.partition))
            if a is None:
                continue
            try:
                await self._process(s, a)
            except KafkaError as e:
                log.warning("cannot apply fetched data", topic=s.tp.topic, partition=s.tp.partition, error=str(e))
                self._delay(s, e.code.name)

    async def _process(self, s: FetchState, a: Any) -> None:
        code = ErrorCode(a.error_code)
        p = s.partition
        lg = p.log
        if code == ErrorCode.NONE:
            records = a.records
            if records is not None and len(records) > 0:
                whole = _whole_batches(records)
                if whole:
                    lg.append_as_follower(records[:whole])
                    p.emit_leo("follower")
            p.update_follower_high_watermark(a.high_watermark)
            s.lag = max(0, a.high_watermark - lg.log_end_offset)
            # After the HW, as Kafka's ReplicaFetcherThread: the leader's log start (DeleteRecords) is at most
            # its HW, so once ours caught up it can follow; the leader sees ours in our next fetch.
            if a.log_start_offset > lg.log_start_offset:
                try:
                    lg.maybe_increment_log_start_offset(min(a.log_start_offset, lg.high_watermark))
                except KafkaError:
                    pass
        elif code == ErrorCode.OFFSET_OUT_OF_RANGE:
            await self._handle_out_of_range(s)
        elif code in (
            ErrorCode.NOT_LEADER_OR_FOLLOWER,
            ErrorCode.FENCED_LEADER_EPOCH,
            ErrorCode.UNKNOWN_LEADER_EPOCH,
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ):
            self._delay(s, code.name)
        else:
            log.warning("fetch error from leader", leader=self.leader_id, topic=s.tp.topic, partition=s.tp.partition, error=code.name)
            self._delay(s, code.name)

    async def _handle_out_of_range(self, s: FetchState) -> None:
        """Kafka ``handleOutOfRangeError``: the leader's log no longer covers our fetch offset."""
        assert self._conn is not None
        lg = s.partition.log

        async def leader_offset(ts: int) -> int:
            assert self._conn is not None
            req = ListOffsetsRequest(
                replica_id=self.broker_id,
                isolation_level=0,
                topics=[ListOffsetsRequest.ListOffsetsTopic(name=s.tp.topic, partitions=[
                    ListOffsetsRequest.ListOffsetsPartition(partition_index=s.tp.partition, timestamp=ts)])],
            )
            resp = await self._conn.request(ApiKey.LIST_OFFSETS, req, version=LIST_OFFSETS_VERSION)
            part = resp.topics[0].partitions[0]
            if part.error_code != ErrorCode.NONE:
                raise KafkaError(ErrorCode(part.error_code), "ListOffsets to the leader failed")
            return int(part.offset)

        leader_end = await leader_offset(-1)
        leo = lg.log_end_offset
        if leader_end < leo:
            self._truncate_log(s, leader_end, f"leader {self.leader_id} ends at {leader_end}")
            return
        leader_start = await leader_offset(-2)
        if leader_start > leo:
            lg.truncate_fully_and_start_at(leader_start)
            log.info("follower restarts at the leader's log start", topic=s.tp.topic, partition=s.tp.partition, offset=leader_start)
            self.events.emit(kinds.REPLICA_TRUNCATED, topic=s.tp.topic, partition=s.tp.partition, from_offset=leo,
                             to_offset=leader_start, reason="leader log starts after our end")


def _whole_batches(records: Any) -> int:
    """Bytes of ``records`` covered by complete batches."""
    end = 0
    for batch in iter_batches(records):
        end += batch.size_in_bytes
    return end


class ReplicaFetcherManager:
    """Which fetcher follows which partition (Kafka's ``ReplicaFetcherManager``)."""

    def __init__(self, broker_id: int, config: Any, events: EventBus) -> None:
        self.broker_id = broker_id
        self.config = config
        self.events = events
        self.fetchers: dict[int, ReplicaFetcher] = {}

    def add_partition(self, partition: Partition, leader_id: int, endpoint: tuple[str, int], leader_epoch: int) -> None:
        f = self.fetchers.get(leader_id)
        if f is not None and f.endpoint != tuple(endpoint):
            # The leader came back on another address: move its partitions to a new fetcher.
            del self.fetchers[leader_id]
            spawn(f.stop(), f"stop-fetcher-{leader_id}")
            moved = list(f.states.values())
            f = self._new_fetcher(leader_id, endpoint)
            for st in moved:
                f.add(st.partition, st.leader_epoch)
        elif f is None:
            f = self._new_fetcher(leader_id, endpoint)
        f.add(partition, leader_epoch)
        self.events.emit(
            kinds.REPLICA_FETCHING, topic=partition.tp.topic, partition=partition.tp.partition, leader=leader_id, leader_epoch=leader_epoch
        )

    def _new_fetcher(self, leader_id: int, endpoint: tuple[str, int]) -> ReplicaFetcher:
        f = ReplicaFetcher(self.broker_id, leader_id, (endpoint[0], endpoint[1]), self.config, self.events)
        self.fetchers[leader_id] = f
        f.start()
        return f

    def remove_partition(self, tp: TopicPartition) -> None:
        for f in self.fetchers.values():
            f.remove(tp)

    def max_lag(self) -> int:
        """Kafka's ``ReplicaFetcherManager`` MaxLag: the largest lag of any partition this broker follows."""
        return max((st.lag for f in self.fetchers.values() for st in f.states.values()), default=0)

    async def shutdown(self) -> None:
        await asyncio.gather(*(f.stop() for f in self.fetchers.values()), return_exceptions=True)
        self.fetchers.clear()
