"""``Consumer``: an asyncio Kafka consumer with manual assignment — assign / seek / poll / commit.

Theory of operation
-------------------
The consumer keeps a **position** per assigned partition: the offset of the next record to return. A
partition without a position (just assigned, or its position fell out of the log) is reset before it is
fetched: to the group's committed offset when ``group_id`` is set and one exists, else by
``auto_offset_reset`` — ``"earliest"`` / ``"latest"`` via ListOffsets (timestamp -2 / -1), ``"none"`` raises.

``poll()`` sends one Fetch per partition leader (concurrently), each asking for every assigned partition
that leader owns from its position, and returns the records it got (build / decide / send:
:func:`build_fetch_request`, :func:`handle_fetch_response`, ``_fetch_from``). Decoding skips what the
consumer must not see: records below the position (a compressed batch is returned whole even when the
position is in its middle), control batches, and a partial batch at the end of a response (the broker cuts
responses at byte limits; the next fetch starts at that batch again). Fetch has no session here (session id
0, epoch -1: every request is a full fetch), which any broker must accept.

Errors per partition: OFFSET_OUT_OF_RANGE resets the position (by ``auto_offset_reset``); stale-metadata
errors (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, ...) refresh metadata and the partition is
fetched again on the next poll; any other error raises :class:`KafkaError` from ``poll()``.

Group offsets without membership: ``commit()`` / ``committed()`` use OffsetCommit / OffsetFetch at the group's
coordinator with generation -1 and an empty member id — what Kafka accepts from a "simple consumer" that
manages its own assignment, as long as no live group with members uses the same group id.

Everything runs on one asyncio loop; the consumer uses its own connections (a Fetch long-poll holds the
connection's response queue for up to ``fetch_max_wait_ms``).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

from kafka_zk.client.assignors import make_assignors
from kafka_zk.client.config import as_bool, normalize_options
from kafka_zk.client.decisions import Action, classify, error_name, to_error
from kafka_zk.client.errors import KafkaConnectionError, KafkaRequestTimeoutError
from kafka_zk.client.fastcodec import decode_records_into
from kafka_zk.client.group import REJOIN_ERRORS, CommitFailedError, GroupMember
from kafka_zk.client.metadata import MetadataClient
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tasks import spawn
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import (
    FetchRequest,
    ListOffsetsRequest,
    OffsetCommitRequest,
    OffsetFetchRequest,
)
from kafka_zk.protocol.messages.list_offsets import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP
from kafka_zk.record import iter_batches

log = get_logger(__name__)

__all__ = ["Consumer", "ConsumerRecord", "CommitFailedError", "OffsetOutOfRangeError", "build_fetch_request", "handle_fetch_response"]

Header = tuple[str, bytes | None]
_RESETS = ("earliest", "latest", "none")
#: Java-only spellings that do not normalize to our keyword names.
_ALIASES = {"fetch.wait.max.ms": "fetch_max_wait_ms", "partition.assignment.strategy": "partition_assignment_strategy"}


class ConsumerRecord(NamedTuple):
    """One record ``poll()`` returned. A named tuple, so the fetch decoder builds it without a Python call
    per record (see :mod:`kafka_zk.client.fastcodec`)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: int  # 0 CreateTime, 1 LogAppendTime
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...]
    leader_epoch: int = -1


class OffsetOutOfRangeError(KafkaError):
    """A position is outside the log and ``auto_offset_reset="none"`` forbids resetting it."""

    def __init__(self, positions: Mapping[TopicPartition, int]) -> None:
        desc = ", ".join(f"{tp}@{off}" for tp, off in positions.items())
        super().__init__(ErrorCode.OFFSET_OUT_OF_RANGE, f"positions out of range: {desc} (auto_offset_reset='none')")
        self.positions = dict(positions)


# --------------------------------------------------------------------------------------- build / decide


def build_fetch_request(positions: Mapping[TopicPartition, int], max_wait_ms: int, min_bytes: int, max_bytes: int,
                        partition_max_bytes: int, isolation_level: int) -> Any:
    """A full (session-less) Fetch for ``{tp: fetch_offset}``."""
    by_topic: dict[str, list[Any]] = {}
    for tp, offset in positions.items():
        by_topic.setdefault(tp.topic, []).append(FetchRequest.FetchPartition(
            partition=tp.partition, fetch_offset=offset, partition_max_bytes=partition_max_bytes))
    return FetchRequest(
        replica_id=-1, max_wait_ms=max_wait_ms, min_bytes=min_bytes, max_bytes=max_bytes,
        isolation_level=isolation_level, session_id=0, session_epoch=-1,
        topics=[FetchRequest.FetchTopic(topic=t, partitions=ps) for t, ps in by_topic.items()],
    )


@dataclass(slots=True)
class FetchedPartition:
    """What a Fetch response says about one partition."""

    tp: TopicPartition
    action: Action
    error_code: int
    records: list[ConsumerRecord]
    next_offset: int | None  # the new position when records were returned
    high_watermark: int


def handle_fetch_response(resp: Any, positions: Mapping[TopicPartition, int]) -> list[FetchedPartition]:
    """Decode a Fetch response against the positions it was asked for (pure).

    Raises :class:`~kafka_zk.common.errors.CorruptRecordError` when a batch fails its CRC or cannot be
    decoded (the consumer should not silently skip data).
    """
    out: list[FetchedPartition] = []
    for t in resp.responses:
        for p in t.partitions:
            tp = TopicPartition(t.topic, p.partition_index)
            position = positions.get(tp)
            if position is None:
                continue  # not asked for (or no longer assigned)
            if p.error_code != ErrorCode.NONE:
                out.append(FetchedPartition(tp, classify(p.error_code), p.error_code, [], None, p.high_watermark))
                continue
            records: list[ConsumerRecord] = []
            next_offset = position
            data = p.records
            if data:
                for batch in iter_batches(data):
                    batch.validate()
                    if batch.last_offset < position:
                        continue
                    next_offset = max(next_offset, batch.last_offset + 1)
                    if batch.is_control_batch:
                        continue
                    h = batch.header()
                    ts_type = batch.timestamp_type
                    decode_records_into(bytes(batch.records_section()), h.records_count, h.base_offset,
                                        h.base_timestamp, h.max_timestamp if ts_type == 1 else None, position,
                                        ConsumerRecord, tp.topic, tp.partition, ts_type,
                                        h.partition_leader_epoch, records)
            out.append(FetchedPartition(tp, Action.DONE, 0, records, next_offset, p.high_watermark))
    return out


# ------------------------------------------------------------------------------------------------ consumer


class Consumer:
    """``async with Consumer("127.0.0.1:9092", auto_offset_reset="earliest") as c: c.assign([...]); await c.poll()``.

    Defaults are Kafka 2.x's consumer defaults (``auto.offset.reset=latest``, ``fetch.min.bytes=1``,
    ``fetch.max.wait.ms=500``, ``max.partition.fetch.bytes=1048576``, ``fetch.max.bytes=52428800``,
    ``isolation.level=read_uncommitted``, ``request.timeout.ms=30000``, ``retry.backoff.ms=100``).
    """

    def __init__(
        self,
        bootstrap_servers: str | Sequence[str] | None = None,
        *,
        group_id: str | None = None,
        client_id: str = "kafka-zk-consumer",
        auto_offset_reset: str = "latest",
        fetch_min_bytes: int = 1,
        fetch_max_wait_ms: int = 500,
        fetch_max_bytes: int = 52428800,
        max_partition_fetch_bytes: int = 1048576,
        isolation_level: str = "read_uncommitted",
        request_timeout_ms: int = 30000,
        retry_backoff_ms: int = 100,
        enable_auto_commit: bool | str = True,
        auto_commit_interval_ms: int = 5000,
        session_timeout_ms: int = 10000,
        heartbeat_interval_ms: int = 3000,
        max_poll_interval_ms: int = 300000,
        max_poll_records: int = 500,
        partition_assignment_strategy: str | Sequence[Any] = "range",
        metadata_max_age_ms: int = 300000,
        group_instance_id: str | None = None,
        exclude_internal_topics: bool | str = True,
        **options: Any,
    ) -> None:
        cfg: dict[str, Any] = dict(
            bootstrap_servers=bootstrap_servers, group_id=group_id, client_id=client_id,
            auto_offset_reset=auto_offset_reset, fetch_min_bytes=fetch_min_bytes, fetch_max_wait_ms=fetch_max_wait_ms,
            fetch_max_bytes=fetch_max_bytes, max_partition_fetch_bytes=max_partition_fetch_bytes,
            isolation_level=isolation_level, request_timeout_ms=request_timeout_ms, retry_backoff_ms=retry_backoff_ms,
            enable_auto_commit=enable_auto_commit, auto_commit_interval_ms=auto_commit_interval_ms,
            session_timeout_ms=session_timeout_ms, heartbeat_interval_ms=heartbeat_interval_ms,
            max_poll_interval_ms=max_poll_interval_ms, max_poll_records=max_poll_records,
            partition_assignment_strategy=partition_assignment_strategy, metadata_max_age_ms=metadata_max_age_ms,
            group_instance_id=group_instance_id, exclude_internal_topics=exclude_internal_topics)
        cfg.update(normalize_options({_ALIASES.get(k, k): v for k, v in options.items()}, cfg, "consumer"))
        if not cfg["bootstrap_servers"]:
            raise ValueError("bootstrap_servers (bootstrap.servers) is required, e.g. '127.0.0.1:9092'")
        auto_offset_reset = cfg["auto_offset_reset"]
        if auto_offset_reset == "smallest":  # Kafka 0.8 / librdkafka spellings
            auto_offset_reset = "earliest"
        elif auto_offset_reset == "largest":
            auto_offset_reset = "latest"
        if auto_offset_reset not in _RESETS:
            raise ValueError(f"auto_offset_reset must be one of {', '.join(_RESETS)}, got {auto_offset_reset!r}")
        if cfg["isolation_level"] not in ("read_uncommitted", "read_committed"):
            raise ValueError(f"isolation_level must be read_uncommitted or read_committed, got {cfg['isolation_level']!r}")
        self.config = cfg
        self.group_id: str | None = cfg["group_id"]
        self.auto_offset_reset = auto_offset_reset
        self.fetch_min_bytes = int(cfg["fetch_min_bytes"])
        self.fetch_max_wait_ms = int(cfg["fetch_max_wait_ms"])
        self.fetch_max_bytes = int(cfg["fetch_max_bytes"])
        self.max_partition_fetch_bytes = int(cfg["max_partition_fetch_bytes"])
        self.isolation_level = 0 if cfg["isolation_level"] == "read_uncommitted" else 1
        self.request_timeout_ms = int(cfg["request_timeout_ms"])
        self.retry_backoff_ms = int(cfg["retry_backoff_ms"])
        self.enable_auto_commit = as_bool("enable.auto.commit", cfg["enable_auto_commit"]) and self.group_id is not None
        self.auto_commit_interval_ms = int(cfg["auto_commit_interval_ms"])
        self.max_poll_records = int(cfg["max_poll_records"])
        self.metadata_max_age_ms = int(cfg["metadata_max_age_ms"])
        self.exclude_internal_topics = as_bool("exclude.internal.topics", cfg["exclude_internal_topics"])
        self.assignors = make_assignors(cfg["partition_assignment_strategy"])
        self.cluster = MetadataClient(cfg["bootstrap_servers"], client_id=cfg["client_id"],
                                      request_timeout=self.request_timeout_ms / 1000,
                                      retry_backoff=self.retry_backoff_ms / 1000)
        self._member: GroupMember | None = None
        if self.group_id is not None:
            self._member = GroupMember(
                self.cluster, self.group_id, self.assignors, session_timeout_ms=int(cfg["session_timeout_ms"]),
                rebalance_timeout_ms=int(cfg["max_poll_interval_ms"]),
                heartbeat_interval_ms=int(cfg["heartbeat_interval_ms"]), retry_backoff_ms=self.retry_backoff_ms,
                request_timeout_ms=self.request_timeout_ms, group_instance_id=cfg["group_instance_id"])
        self._positions: dict[TopicPartition, int | None] = {}
        self._high_watermarks: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self._buffered: dict[TopicPartition, tuple[list[ConsumerRecord], int | None]] = {}
        #: the fetch sent before poll() last returned, and what it asked for (see _send_fetches_ahead)
        self._fetch_ahead: tuple[dict[int, dict[TopicPartition, int]], asyncio.Task[list[list[FetchedPartition]]]] | None = None
        self._subscription: tuple[str, ...] | None = None  # topics (resolved from the pattern, if any)
        self._pattern: re.Pattern[str] | None = None
        self._listener: Any = None
        self._partition_counts: dict[str, int] = {}
        self._next_metadata_check = 0.0
        self._next_auto_commit = time.monotonic() + self.auto_commit_interval_ms / 1000
        self._commit_tasks: set[asyncio.Task[Any]] = set()
        self._started = False
        self._closed = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> Consumer:
        """``Consumer.from_config({"bootstrap.servers": "h:9092", "group.id": "g"})`` — a properties dict."""
        return cls(**{**dict(config), **kwargs})

    # ----------------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await self.cluster.bootstrap()
        self._started = True

    async def __aenter__(self) -> Consumer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self, autocommit: bool = True) -> None:
        """Commit (with auto-commit on), leave the group, close the connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._started and autocommit and self.enable_auto_commit and self._positions:
                try:
                    await self.commit()
                except (KafkaError, KafkaConnectionError, KafkaRequestTimeoutError) as e:
                    log.warning("final auto-commit failed", group=self.group_id, error=str(e))
            await asyncio.gather(*self._commit_tasks, return_exceptions=True)
            if self._member is not None and self._started:
                await self._member.leave()
        finally:
            if self._fetch_ahead is not None:
                self._fetch_ahead[1].cancel()
                await asyncio.gather(self._fetch_ahead[1], return_exceptions=True)
                self._fetch_ahead = None
            if self._member is not None:
                await self._member.close()
            await self.cluster.close()

    # ------------------------------------------------------------------------------------------- group

    def subscribe(self, topics: Sequence[str] | str | re.Pattern[str] | None = None, *,
                  pattern: str | re.Pattern[str] | None = None, listener: Any = None) -> None:
        """Join ``group_id`` for ``topics`` (a list) or every topic matching ``pattern`` (a regex, matched in
        full as Java's ``Pattern.matcher().matches()``; a topic created later that matches triggers a
        rebalance within ``metadata_max_age_ms``). The assignment arrives with the next ``poll()``.

        ``listener``: an object with ``on_partitions_revoked(set)`` / ``on_partitions_assigned(set)`` (plain
        or async), called inside ``poll()`` around each rebalance — revoked before our positions are dropped
        (commit there for exactly-the-processed progress), assigned once the new partitions have no positions
        yet (``seek()`` there to override the committed offsets).
        """
        if self._member is None:
            raise ValueError("subscribe() needs a group_id (use assign() to consume without a group)")
        if isinstance(topics, re.Pattern):
            pattern, topics = topics, None
        if (topics is None) == (pattern is None):
            raise ValueError("subscribe() takes either a list of topics or pattern=, not both or neither")
        if isinstance(topics, str):
            topics = [topics]
        if pattern is not None:
            self._pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
            self._subscription = ()
            self._next_metadata_check = 0.0  # resolve at the first poll
        else:
            assert topics is not None
            if not topics:
                self.unsubscribe()
                return
            self._pattern = None
            self._subscription = tuple(dict.fromkeys(topics))
        self._listener = listener
        self._member.rejoin_needed = True

    def unsubscribe(self) -> None:
        """Stop consuming; the group rebalances without us at the next poll or close."""
        self._subscription = None
        self._pattern = None
        self._positions = {}
        self._paused.clear()
        if self._member is not None:
            self._member.rejoin_needed = True
            if self._member.joined:
                spawn(self._member.leave(), name="leave-group", tasks=self._commit_tasks)

    def subscription(self) -> set[str]:
        """The topics subscribed to (those the pattern matches right now)."""
        return set(self._subscription or ())

    def generation(self) -> int:
        """The group generation of our current assignment (-1 when not a member)."""
        m = self._member
        return m.generation if m is not None and m.joined else -1

    def member_id(self) -> str:
        return self._member.member_id if self._member is not None else ""

    def is_leader(self) -> bool:
        return self._member is not None and self._member.is_leader

    def pause(self, *partitions: TopicPartition | tuple[str, int]) -> None:
        """Stop fetching ``partitions`` (they stay assigned; heartbeats go on). Raises ValueError for an
        unassigned one."""
        for tp in partitions:
            tp = TopicPartition(*tp)
            self._check_assigned(tp)
            self._paused.add(tp)

    def resume(self, *partitions: TopicPartition | tuple[str, int]) -> None:
        for tp in partitions:
            self._paused.discard(TopicPartition(*tp))

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    async def _ensure_group(self) -> None:
        """Rejoin if needed (after checking the subscription against fresh metadata when it is due)."""
        m = self._member
        if m is None or self._subscription is None:
            return
        m.last_poll = time.monotonic()
        if time.monotonic() >= self._next_metadata_check:
            await self._check_metadata()
        if not m.rejoin_needed and m.joined:
            return
        old = set(self._positions)
        if old:
            if self.enable_auto_commit and m.joined:
                try:
                    await self.commit()
                except (KafkaError, KafkaConnectionError, KafkaRequestTimeoutError) as e:
                    log.warning("commit before rebalance failed", group=self.group_id, error=str(e))
            await self._call_listener("on_partitions_revoked", old)
        self._positions = {}
        self._paused.clear()
        self._buffered.clear()
        assigned = await m.join(self._subscription, sorted(old), self._topic_partition_counts)
        self._positions = {tp: None for tp in assigned}
        for tp in assigned:
            self._partition_counts.setdefault(tp.topic, 0)
        log.info("assigned", group=self.group_id, generation=m.generation, member_id=m.member_id,
                 partitions=[str(tp) for tp in assigned])
        await self._call_listener("on_partitions_assigned", set(assigned))

    async def _call_listener(self, name: str, partitions: set[TopicPartition]) -> None:
        fn = getattr(self._listener, name, None)
        if fn is None:
            return
        try:
            result = fn(partitions)
            if asyncio.iscoroutine(result):
                await result
        except Exception as e:  # Java: logged, the rebalance goes on
            log.warning("rebalance listener failed", callback=name, error=repr(e))

    async def _topic_partition_counts(self, topics: set[str]) -> dict[str, int]:
        if not topics:
            return {}
        md = await self.cluster.refresh(topics)
        counts = {t: len(md.topics[t].partitions) for t in topics
                  if t in md.topics and md.topics[t].error_code == ErrorCode.NONE}
        self._partition_counts = dict(counts)
        return counts

    async def _check_metadata(self) -> None:
        """Java's metadata-change trigger: a new topic matching the pattern, or a partition count change of a
        subscribed topic, means the group must rebalance."""
        assert self._member is not None and self._subscription is not None
        self._next_metadata_check = time.monotonic() + self.metadata_max_age_ms / 1000
        try:
            if self._pattern is not None:
                md = await self.cluster.refresh(None)
                names = tuple(sorted(t for t, tmd in md.topics.items() if tmd.error_code == ErrorCode.NONE
                                     and self._pattern.fullmatch(t)
                                     and not (self.exclude_internal_topics and t.startswith("__"))))
                if names != self._subscription:
                    log.info("pattern subscription changed", group=self.group_id, topics=list(names))
                    self._subscription = names
                    self._member.rejoin_needed = True
            else:
                md = await self.cluster.refresh(self._subscription)
        except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
            log.debug("metadata check failed", error=str(e))
            return
        if self._member.joined:
            for t in self._subscription:
                tmd = md.topics.get(t)
                n = len(tmd.partitions) if tmd is not None and tmd.error_code == ErrorCode.NONE else 0
                if self._partition_counts.get(t, n) != n:
                    self._member.rejoin_needed = True
                self._partition_counts[t] = n

    async def _maybe_auto_commit(self) -> None:
        if not self.enable_auto_commit or time.monotonic() < self._next_auto_commit:
            return
        self._next_auto_commit = time.monotonic() + self.auto_commit_interval_ms / 1000
        if self._positions and not self._commit_tasks:
            self.commit_async()

    # ---------------------------------------------------------------------------------------- assignment

    async def partitions_for_topic(self, topic: str, timeout: float = 30.0) -> list[int]:
        """The topic's partition ids. Raises KafkaError UNKNOWN_TOPIC_OR_PARTITION if it does not exist."""
        tmd = await self.cluster.wait_for_topic(topic, timeout=timeout, require_leaders=False)
        return sorted(tmd.partitions)

    def assign(self, partitions: Iterable[TopicPartition | tuple[str, int]]) -> None:
        """Replace the assignment (manual: no group membership). Partitions kept keep their positions.
        Raises ValueError after ``subscribe()`` (Kafka forbids mixing the two)."""
        if self._subscription is not None:
            raise ValueError("the consumer is subscribed; call unsubscribe() before assign()")
        wanted = [TopicPartition(*tp) for tp in partitions]
        self._positions = {tp: self._positions.get(tp) for tp in wanted}
        self._paused &= set(wanted)

    def assignment(self) -> set[TopicPartition]:
        return set(self._positions)

    def seek(self, tp: TopicPartition | tuple[str, int], offset: int) -> None:
        """The next poll returns records of ``tp`` from ``offset``. Raises ValueError for an unassigned
        partition or a negative offset."""
        tp = TopicPartition(*tp)
        self._check_assigned(tp)
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset} (use seek_to_beginning / seek_to_end)")
        self._positions[tp] = offset

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        tps = [TopicPartition(*tp) for tp in partitions] or list(self._positions)
        for tp, off in (await self._list_offsets(tps, EARLIEST_TIMESTAMP)).items():
            self._positions[tp] = off

    async def seek_to_end(self, *partitions: TopicPartition) -> None:
        tps = [TopicPartition(*tp) for tp in partitions] or list(self._positions)
        for tp, off in (await self._list_offsets(tps, LATEST_TIMESTAMP)).items():
            self._positions[tp] = off

    async def position(self, tp: TopicPartition | tuple[str, int]) -> int:
        """The offset of the next record ``poll`` returns for ``tp`` (resolving a reset if needed)."""
        tp = TopicPartition(*tp)
        self._check_assigned(tp)
        await self._reset_positions([tp])
        pos = self._positions[tp]
        assert pos is not None
        return pos

    def highwater(self, tp: TopicPartition | tuple[str, int]) -> int | None:
        """The high watermark the last fetch of ``tp`` reported (None before one)."""
        return self._high_watermarks.get(TopicPartition(*tp))

    async def beginning_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return await self._list_offsets([TopicPartition(*tp) for tp in partitions], EARLIEST_TIMESTAMP)

    async def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """The high watermark of each partition (the offset the next produced record gets)."""
        return await self._list_offsets([TopicPartition(*tp) for tp in partitions], LATEST_TIMESTAMP)

    def _check_assigned(self, tp: TopicPartition) -> None:
        if tp not in self._positions:
            raise ValueError(f"{tp} is not assigned to this consumer (assigned: {sorted(map(str, self._positions))})")

    # --------------------------------------------------------------------------------------------- poll

    async def poll(self, timeout_ms: int = 1000, max_records: int | None = None) -> list[ConsumerRecord]:
        """Fetch from every assigned partition's leader; return as soon as some records arrived, or ``[]``
        after ``timeout_ms``. ``max_records`` caps what is returned (the rest is fetched again later)."""
        if not self._started:
            raise KafkaConnectionError("the consumer is not started (use 'async with Consumer(...)' or start())")
        if self._closed:
            raise KafkaConnectionError("the consumer is closed")
        if not self._positions and self._subscription is None:
            raise ValueError("no partitions assigned: call assign() or subscribe() first")
        if max_records is None:
            max_records = self.max_poll_records
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            await self._ensure_group()
            await self._maybe_auto_commit()
            await self._reset_positions(list(self._positions))
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if self._positions and len(self._paused) < len(self._positions):
                records = await self._fetch_once(min(self.fetch_max_wait_ms, remaining_ms), max_records)
            else:  # nothing to fetch (no partitions for us, or all paused): keep the group alive
                records = []
                await asyncio.sleep(min(remaining_ms, self.fetch_max_wait_ms, 100) / 1000)
            if self._member is not None and self._member.rejoin_needed and self._subscription is not None:
                # the assignment changed under this fetch: hand out only what is still ours to commit
                if not records and time.monotonic() < deadline:
                    continue
            if records or time.monotonic() >= deadline:
                return records

    def _drain_buffer(self, max_records: int | None) -> list[ConsumerRecord]:
        """Records fetched earlier beyond ``max_records``, for partitions still assigned, unpaused and at the
        same position (a seek or a rebalance in between drops them)."""
        out: list[ConsumerRecord] = []
        for tp in list(self._buffered):
            recs, next_offset = self._buffered.pop(tp)
            if tp in self._paused:
                self._buffered[tp] = (recs, next_offset)
                continue
            if self._positions.get(tp) != recs[0].offset:
                continue
            room = len(recs) if max_records is None else max_records - len(out)
            if room <= 0:
                self._buffered[tp] = (recs, next_offset)
                continue
            take, rest = recs[:room], recs[room:]
            out.extend(take)
            if rest:
                self._positions[tp] = take[-1].offset + 1
                self._buffered[tp] = (rest, next_offset)
            else:
                self._positions[tp] = take[-1].offset + 1 if next_offset is None else next_offset
        return out

    async def _fetch_once(self, max_wait_ms: int, max_records: int | None) -> list[ConsumerRecord]:
        if self._buffered:
            buffered = self._drain_buffer(max_records)
            if buffered:
                if not self._buffered:
                    self._send_fetches_ahead()  # the last of a large fetch: the next one is on its way
                return buffered
        by_leader, stale = self._fetch_plan()
        if stale:
            await self._refresh()
        if not by_leader:
            await asyncio.sleep(min(max_wait_ms, self.retry_backoff_ms) / 1000)
            return []
        results = await self._fetch_results(by_leader, max_wait_ms)
        if results is None:  # the fetch sent ahead is still waiting for data
            return []
        records: list[ConsumerRecord] = []
        out_of_range: dict[TopicPartition, int] = {}
        refresh = False
        for fetched in results:
            for fp in fetched:
                if fp.tp not in self._positions or fp.tp in self._paused:
                    continue
                if fp.action == Action.DONE:
                    self._high_watermarks[fp.tp] = fp.high_watermark
                    room = None if max_records is None else max(0, max_records - len(records))
                    if room is not None and room < len(fp.records):
                        take = fp.records[:room]
                        if take:
                            self._positions[fp.tp] = take[-1].offset + 1
                        # keep the rest for the next poll instead of fetching it again
                        self._buffered[fp.tp] = (fp.records[room:], fp.next_offset)
                    else:
                        take = fp.records
                        if fp.next_offset is not None:  # also moves past control batches
                            self._positions[fp.tp] = fp.next_offset
                    records.extend(take)
                elif fp.error_code == ErrorCode.OFFSET_OUT_OF_RANGE:
                    out_of_range[fp.tp] = self._positions[fp.tp] or 0
                elif fp.action in (Action.RETRY, Action.REFRESH_AND_RETRY):
                    refresh = refresh or fp.action == Action.REFRESH_AND_RETRY
                    log.debug("fetch will retry", tp=str(fp.tp), error=error_name(fp.error_code))
                else:
                    raise to_error(fp.error_code, f"fetch {fp.tp}: {error_name(fp.error_code)}")
        if out_of_range:
            if self.auto_offset_reset == "none":
                raise OffsetOutOfRangeError(out_of_range)
            log.info("position out of range; resetting", partitions=[str(tp) for tp in out_of_range],
                     reset=self.auto_offset_reset)
            for tp in out_of_range:
                self._positions[tp] = None
        if refresh:
            await self._refresh()
        elif records and not out_of_range and not self._buffered:
            self._send_fetches_ahead()
        return records

    def _fetch_plan(self) -> tuple[dict[int, dict[TopicPartition, int]], bool]:
        """What to fetch now: the position of each fetchable partition, by leader; and whether some
        partition's leader is unknown (the metadata is stale)."""
        md = self.cluster.metadata
        by_leader: dict[int, dict[TopicPartition, int]] = {}
        stale = False
        paused = self._paused
        for tp, pos in self._positions.items():
            if pos is None or tp in paused:
                continue
            leader = md.leader(tp)
            if leader < 0 or leader not in md.brokers:
                stale = True
                continue
            by_leader.setdefault(leader, {})[tp] = pos
        return by_leader, stale

    def _send_fetches_ahead(self) -> None:
        """Send the next fetches now, before ``poll()`` hands out what it has, so that the brokers read and
        send while the application works through those records (Java's consumer does the same: ``poll``
        calls ``sendFetches`` before returning). The next ``poll`` uses the answers only if it would fetch
        the very same positions from the same leaders; a seek, pause, rebalance or leader change discards
        them. Nothing is sent while an earlier fetch sent ahead is still pending."""
        if self._fetch_ahead is not None:
            return
        plan, stale = self._fetch_plan()
        if plan and not stale:
            task = spawn(self._fetch_all(plan, self.fetch_max_wait_ms), name="consumer-fetch-ahead")
            self._fetch_ahead = (plan, task)

    async def _fetch_results(self, plan: dict[int, dict[TopicPartition, int]], max_wait_ms: int
                             ) -> list[list[FetchedPartition]] | None:
        """The answers for ``plan``: those of the fetch sent ahead when it asked for the same, else a new
        fetch. ``None`` when the fetch sent ahead has not answered within ``max_wait_ms`` (it is kept)."""
        ahead, self._fetch_ahead = self._fetch_ahead, None
        if ahead is not None:
            planned, task = ahead
            if planned == plan:
                done, _ = await asyncio.wait((task,), timeout=max_wait_ms / 1000)
                if not done:
                    self._fetch_ahead = ahead
                    return None
                return task.result()
            task.cancel()
        return await self._fetch_all(plan, max_wait_ms)

    async def _fetch_all(self, plan: dict[int, dict[TopicPartition, int]], max_wait_ms: int
                         ) -> list[list[FetchedPartition]]:
        return list(await asyncio.gather(*(self._fetch_from(node, pos, max_wait_ms) for node, pos in plan.items())))

    async def _fetch_from(self, node: int, positions: dict[TopicPartition, int], max_wait_ms: int) -> list[FetchedPartition]:
        req = build_fetch_request(positions, max_wait_ms, self.fetch_min_bytes, self.fetch_max_bytes,
                                  self.max_partition_fetch_bytes, self.isolation_level)
        try:
            resp = await self.cluster.request(node, ApiKey.FETCH, req, timeout=self.request_timeout_ms / 1000 + max_wait_ms / 1000)
        except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
            log.debug("fetch failed; will refresh metadata", node=node, error=str(e))
            return [FetchedPartition(tp, Action.REFRESH_AND_RETRY, int(ErrorCode.NETWORK_EXCEPTION), [], None, -1)
                    for tp in positions]
        return handle_fetch_response(resp, positions)

    async def _refresh(self) -> None:
        try:
            await self.cluster.refresh({tp.topic for tp in self._positions})
        except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
            log.debug("metadata refresh failed", error=str(e))
        await asyncio.sleep(self.retry_backoff_ms / 1000)

    # ------------------------------------------------------------------------------------ offset resets

    async def _reset_positions(self, tps: list[TopicPartition]) -> None:
        missing = [tp for tp in tps if self._positions.get(tp) is None]
        if not missing:
            return
        if self.group_id is not None:
            for tp, off in (await self.committed_offsets(missing)).items():
                if off is not None and off >= 0:
                    self._positions[tp] = off
            missing = [tp for tp in missing if self._positions.get(tp) is None]
            if not missing:
                return
        if self.auto_offset_reset == "none":
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
                             f"no position for {', '.join(map(str, missing))} and auto_offset_reset='none': seek first")
        ts = EARLIEST_TIMESTAMP if self.auto_offset_reset == "earliest" else LATEST_TIMESTAMP
        for tp, off in (await self._list_offsets(missing, ts)).items():
            if self._positions.get(tp) is None:
                self._positions[tp] = off

    async def offsets_for_times(self, timestamps: Mapping[TopicPartition, int]) -> dict[TopicPartition, int | None]:
        """The earliest offset whose timestamp is >= the given one, per partition (None: no such record)."""
        out: dict[TopicPartition, int | None] = {}
        groups: dict[int, list[TopicPartition]] = {}
        for tp, ts in timestamps.items():
            groups.setdefault(ts, []).append(TopicPartition(*tp))
        for ts, tps in groups.items():
            for tp, off in (await self._list_offsets(tps, ts)).items():
                out[tp] = None if off < 0 else off
        return out

    async def _list_offsets(self, tps: list[TopicPartition], timestamp: int) -> dict[TopicPartition, int]:
        """ListOffsets at each leader, retrying stale-metadata errors until the request timeout."""
        deadline = time.monotonic() + self.request_timeout_ms / 1000
        result: dict[TopicPartition, int] = {}
        todo = list(dict.fromkeys(tps))
        while todo:
            for topic in {tp.topic for tp in todo}:
                if topic not in self.cluster.metadata.topics:
                    await self.cluster.refresh({tp.topic for tp in todo})
                    break
            by_leader: dict[int, list[TopicPartition]] = {}
            retry: list[TopicPartition] = []
            for tp in todo:
                leader = self.cluster.metadata.leader(tp)
                if leader < 0:
                    tmd = self.cluster.metadata.topics.get(tp.topic)
                    if tmd is not None and tmd.partitions and tp.partition not in tmd.partitions \
                            and tmd.error_code == ErrorCode.NONE:
                        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{tp} does not exist")
                    retry.append(tp)
                else:
                    by_leader.setdefault(leader, []).append(tp)
            for leader, group in by_leader.items():
                req = ListOffsetsRequest(replica_id=-1, isolation_level=self.isolation_level, topics=[
                    ListOffsetsRequest.ListOffsetsTopic(name=topic, partitions=[
                        ListOffsetsRequest.ListOffsetsPartition(partition_index=tp.partition, timestamp=timestamp)
                        for tp in group if tp.topic == topic])
                    for topic in dict.fromkeys(tp.topic for tp in group)])
                try:
                    resp = await self.cluster.request(leader, ApiKey.LIST_OFFSETS, req)
                except (KafkaConnectionError, KafkaRequestTimeoutError):
                    retry.extend(group)
                    continue
                for t in resp.topics:
                    for p in t.partitions:
                        tp = TopicPartition(t.name, p.partition_index)
                        if p.error_code == ErrorCode.NONE:
                            off = p.offset
                            if off == -1 and p.old_style_offsets:  # ListOffsets v0
                                off = p.old_style_offsets[0]
                            result[tp] = off
                        elif classify(p.error_code) == Action.FAIL:
                            raise to_error(p.error_code, f"ListOffsets {tp}: {error_name(p.error_code)}")
                        else:
                            retry.append(tp)
            todo = [tp for tp in dict.fromkeys(retry) if tp not in result]
            if todo:
                if time.monotonic() > deadline:
                    raise KafkaError(ErrorCode.REQUEST_TIMED_OUT,
                                     f"ListOffsets: no answer for {', '.join(map(str, todo))} within the request timeout")
                await self._refresh()
        return result

    # ------------------------------------------------------------------------------------------ commits

    def _require_group(self) -> str:
        if self.group_id is None:
            raise ValueError("commit()/committed() need a group_id")
        return self.group_id

    async def commit(self, offsets: Mapping[TopicPartition, int] | None = None, metadata: str = "") -> None:
        """Commit ``offsets`` (default: the current positions) for ``group_id`` — the offset of the *next*
        record to read, as Kafka's consumers commit. Raises KafkaError with the first per-partition error."""
        group = self._require_group()
        if offsets is None:
            offsets = {tp: pos for tp, pos in self._positions.items() if pos is not None}
        if not offsets:
            return
        by_topic: dict[str, list[Any]] = {}
        for tp, off in offsets.items():
            tp = TopicPartition(*tp)
            by_topic.setdefault(tp.topic, []).append(OffsetCommitRequest.OffsetCommitRequestPartition(
                partition_index=tp.partition, committed_offset=off, committed_metadata=metadata))
        m = self._member
        member = m is not None and m.joined and self._subscription is not None
        generation, member_id = (m.generation, m.member_id) if member and m is not None else (-1, "")
        req = OffsetCommitRequest(group_id=group, generation_id=generation, member_id=member_id,
                                  group_instance_id=m.group_instance_id if member and m is not None else None,
                                  topics=[OffsetCommitRequest.OffsetCommitRequestTopic(name=t, partitions=ps)
                                          for t, ps in by_topic.items()])
        resp = await self._coordinator_request(ApiKey.OFFSET_COMMIT, req, lambda r: [
            p.error_code for t in r.topics for p in t.partitions])
        for t in resp.topics:
            for p in t.partitions:
                if p.error_code in REJOIN_ERRORS and member:
                    assert m is not None
                    m.rejoin_needed = True
                    if p.error_code == ErrorCode.UNKNOWN_MEMBER_ID:
                        m.member_id, m.generation = "", -1
                    raise CommitFailedError(ErrorCode(p.error_code), (
                        f"commit for group '{group}' refused ({error_name(p.error_code)}): the group rebalanced "
                        f"since generation {generation}; the partitions may be another member's now"))
                if p.error_code != ErrorCode.NONE:
                    raise to_error(p.error_code, f"commit {t.name}-{p.partition_index} for group '{group}': "
                                   f"{error_name(p.error_code)}")

    def commit_async(self, offsets: Mapping[TopicPartition, int] | None = None,
                     callback: Any = None) -> asyncio.Task[None]:
        """Commit in the background (Java ``commitAsync``); ``callback(offsets, error_or_None)`` when done.
        The positions are taken now, not when the request is sent. A failure is logged, never raised here."""
        self._require_group()
        snapshot = dict(offsets) if offsets is not None else {
            tp: pos for tp, pos in self._positions.items() if pos is not None}

        async def run() -> None:
            err: BaseException | None = None
            try:
                await self.commit(snapshot)
            except (KafkaError, KafkaConnectionError, KafkaRequestTimeoutError) as e:
                err = e
                log.warning("async commit failed", group=self.group_id, error=str(e))
            if callback is not None:
                try:
                    callback(snapshot, err)
                except Exception as e:
                    log.warning("commit callback failed", error=repr(e))
        return spawn(run(), name="commit-async", tasks=self._commit_tasks)

    async def committed(self, tp: TopicPartition | tuple[str, int]) -> int | None:
        """The group's committed offset for ``tp`` (None when nothing is committed)."""
        tp = TopicPartition(*tp)
        return (await self.committed_offsets([tp]))[tp]

    async def committed_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int | None]:
        group = self._require_group()
        tps = [TopicPartition(*tp) for tp in tps]
        by_topic: dict[str, list[int]] = {}
        for tp in tps:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        req = OffsetFetchRequest(group_id=group, topics=[
            OffsetFetchRequest.OffsetFetchRequestTopic(name=t, partition_indexes=ps) for t, ps in by_topic.items()])
        resp = await self._coordinator_request(ApiKey.OFFSET_FETCH, req, lambda r: [getattr(r, "error_code", 0)] + [
            p.error_code for t in r.topics for p in t.partitions])
        out: dict[TopicPartition, int | None] = {tp: None for tp in tps}
        for t in resp.topics:
            for p in t.partitions:
                if p.error_code != ErrorCode.NONE:
                    raise to_error(p.error_code, f"committed offset of {t.name}-{p.partition_index}: "
                                   f"{error_name(p.error_code)}")
                out[TopicPartition(t.name, p.partition_index)] = None if p.committed_offset < 0 else p.committed_offset
        return out

    async def _coordinator_request(self, api_key: int, req: Any, codes: Any) -> Any:
        """Send to the group coordinator; rediscover it and retry on coordinator errors until the timeout."""
        group = self._require_group()
        deadline = time.monotonic() + self.request_timeout_ms / 1000
        member = self._member
        assert member is not None
        while True:
            try:
                resp = await member.request(api_key, req)
            except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
                if time.monotonic() > deadline:
                    raise
                log.debug("coordinator request failed", group=group, error=str(e))
                await asyncio.sleep(self.retry_backoff_ms / 1000)
                continue
            retriable = [c for c in codes(resp) if c != ErrorCode.NONE and classify(c) != Action.FAIL]
            if not retriable:
                top = getattr(resp, "error_code", 0)
                if top:
                    raise to_error(top, f"group '{group}': {error_name(top)}")
                return resp
            if time.monotonic() > deadline:
                raise to_error(retriable[0], f"group '{group}': {error_name(retriable[0])} until the request timeout")
            if any(c in (ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE) for c in retriable):
                member.coordinator_lost()
            await asyncio.sleep(self.retry_backoff_ms / 1000)
