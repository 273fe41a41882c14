"""The broker's replicas: applies the controller's decisions and serves produce and fetch (Kafka ``ReplicaManager``).

* Control requests arrive already fenced: the broker's control endpoint rejects any request from a controller
  epoch older than the newest it has seen (STALE_CONTROLLER_EPOCH) before it gets here.
* **LeaderAndIsr** (from the controller): per partition, accept the state only if its leader epoch is newer
  than ours (else STALE_CONTROLLER_EPOCH for that partition); create the log if needed (with the topic's config
  read from ``/config/topics/<t>``); become leader (stop fetching, record the new epoch in the leader-epoch
  cache) or follower (start fetching from the new leader; the fetcher first truncates by leader epoch).
* **StopReplica**: stop fetching; with ``delete_partition`` drop the partition and delete its log.
* **Produce**: append on the leader; acks=all parks the request in the produce purgatory until the high
  watermark passes the batch (or the request times out).
* **Fetch**: consumers read below the high watermark, followers up to the log end; a follower's fetch also
  reports its progress, which may advance the HW and expand the ISR. Fetches with too little data long-poll.
* **DeleteRecords**: on the leader, raise the log start offset (-1 = to the high watermark; never beyond it:
  OFFSET_OUT_OF_RANGE; a topic without ``delete`` in ``cleanup.policy``: POLICY_VIOLATION; internal topics:
  INVALID_TOPIC_EXCEPTION), then wait until the *low watermark* — the smallest log start offset of the
  leader and its in-sync followers, which report theirs in every fetch — reaches it (Kafka's
  ``DelayedDeleteRecords``; Kafka counts the alive followers, we the in-sync ones).
* **ISR maintenance**: every ``replica.lag.time.max.ms / 2`` each led partition may propose a shrink;
  proposals are written to the partition state znode with a zkVersion-conditional update (the leader keeps the
  controller epoch and leader epoch it got from the controller). Changed partitions are announced through
  ``/isr_change_notification`` every 2.5 s once no change happened for 5 s (or 60 s passed), as Kafka batches
  them; the controller then sends UpdateMetadata.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.clock import Clock
from kafka_zk.common.control import (
    LeaderAndIsrPartitionState,
    LeaderAndIsrRequest,
    LeaderAndIsrResponse,
    PartitionError,
    StopReplicaRequest,
    StopReplicaResponse,
)
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.regions import FileRegion
from kafka_zk.common.tasks import PeriodicJob, periodic, spawn, stop_all
from kafka_zk.common.topic_names import is_internal
from kafka_zk.common.tp import TopicPartition
from kafka_zk.log.config import LogConfig
from kafka_zk.log.manager import LogManager
from kafka_zk.replication.fetcher import ReplicaFetcherManager
from kafka_zk.replication.partition import IsrProposal, Partition, is_stale_leader_epoch
from kafka_zk.replication.purgatory import WAKE_HW, WAKE_LEO, WAKE_LOG_START, CallbackOperation, Purgatory
from kafka_zk.replication.topic_stats import BrokerTopicStats
from zk_layout.client import KafkaZkClient
from zk_layout.znodes import PartitionState

log = get_logger(__name__)

ISR_CHANGE_CHECK_MS = 2500
ISR_CHANGE_QUIET_MS = 5000
ISR_CHANGE_MAX_DELAY_MS = 60000


@dataclass(slots=True)
class ProduceResult:
    error: ErrorCode = ErrorCode.NONE
    base_offset: int = -1
    log_append_time: int = -1
    log_start_offset: int = -1
    error_message: str | None = None


@dataclass(slots=True)
class FetchRequestPartition:
    tp: TopicPartition
    fetch_offset: int
    log_start_offset: int
    max_bytes: int
    current_leader_epoch: int = -1


@dataclass(slots=True)
class FetchResult:
    error: ErrorCode = ErrorCode.NONE
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1
    records: bytes | memoryview | FileRegion = b""

    @property
    def size(self) -> int:
        return len(self.records)


@dataclass
class ReplicaManagerConfig:
    broker_id: int
    replica_lag_time_max_ms: int = 30000


class ReplicaManager:
    """Owns every Partition on this broker. Runs on the broker's event loop; ZooKeeper calls go through
    ``zk_call`` (the AsyncZk bridge's ``call``), logs come from the log manager."""

    def __init__(
        self,
        config: ReplicaManagerConfig,
        log_manager: LogManager,
        zk_call: Callable[..., Awaitable[Any]],
        zk: KafkaZkClient,
        clock: Clock,
        events: EventBus,
        topic_config: Callable[[str], Awaitable[LogConfig]],
        fetchers: ReplicaFetcherManager,
    ) -> None:
        self.config = config
        self.broker_id = config.broker_id
        self.log_manager = log_manager
        self._zk_call = zk_call
        self._zk = zk
        self.clock = clock
        self.events = events
        self._topic_config = topic_config  # topic -> LogConfig (broker defaults + /config/topics overrides)
        self.partitions: dict[TopicPartition, Partition] = {}
        self.produce_purgatory = Purgatory("produce")
        self.fetch_purgatory = Purgatory("fetch")
        self.delete_records_purgatory = Purgatory("delete_records")
        self._follower_log_start: dict[tuple[TopicPartition, int], int] = {}  # (tp, replica) -> its log start
        self.fetchers = fetchers
        self._control_lock = asyncio.Lock()
        self._pending_isr_changes: set[TopicPartition] = set()
        self._last_isr_change_ms = 0
        self._last_isr_propagation_ms = clock.monotonic_ms()
        self._tasks: list[PeriodicJob] = []
        self._isr_writes: set[asyncio.Task[Any]] = set()
        self.topic_stats = BrokerTopicStats()  # MessagesIn/BytesIn here, BytesOut in the Fetch handler

    # ---- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        interval = max(self.config.replica_lag_time_max_ms // 2, 10)
        self._tasks.append(periodic(self._check_isr_expiration, interval, "isr-expiration"))
        self._tasks.append(periodic(self._maybe_propagate_isr_changes, ISR_CHANGE_CHECK_MS, "isr-change-propagation"))

    async def shutdown(self) -> None:
        await stop_all(self._tasks)
        for t in list(self._isr_writes):
            t.cancel()
        await asyncio.gather(*self._isr_writes, return_exceptions=True)
        await self.fetchers.shutdown()
        self.fetch_purgatory.wake_all()
        self.produce_purgatory.wake_all()
        self.delete_records_purgatory.wake_all()

    # ---- lookups -------------------------------------------------------------------------------------

    def partition(self, tp: TopicPartition) -> Partition | None:
        return self.partitions.get(tp)

    def leader_partition(self, tp: TopicPartition) -> Partition:
        p = self.partitions.get(tp)
        if p is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{tp} is not hosted on broker {self.broker_id}")
        p.check_leader()
        return p

    def _wake(self, tp: TopicPartition, kind: str) -> None:
        self.produce_purgatory.wake((tp, kind))
        self.fetch_purgatory.wake((tp, kind))
        self.delete_records_purgatory.wake((tp, kind))

    def _on_hw(self, tp: TopicPartition) -> None:
        self._wake(tp, WAKE_HW)

    # ---- control requests ----------------------------------------------------------------------------

    async def become_leader_or_follower(self, req: LeaderAndIsrRequest) -> LeaderAndIsrResponse:
        async with self._control_lock:
            endpoints = {ll.broker_id: (ll.host, ll.port) for ll in req.live_leaders}
            errors: list[PartitionError] = []
            leaders: list[tuple[Partition, LeaderAndIsrPartitionState]] = []
            followers: list[tuple[Partition, LeaderAndIsrPartitionState]] = []
            for st in req.partition_states:
                tp = TopicPartition(st.topic, st.partition)
                if self.broker_id not in st.replicas:
                    errors.append(PartitionError(st.topic, st.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
                    continue
                p = self.partitions.get(tp)
                if p is not None and is_stale_leader_epoch(st.leader_epoch, p.leader_epoch):
                    log.debug(  # routine: the controller resends unchanged states, as Kafka's does
                        "ignoring LeaderAndIsr with an old leader epoch",
                        topic=st.topic,
                        partition=st.partition,
                        leader_epoch=st.leader_epoch,
                        current=p.leader_epoch,
                    )
                    errors.append(PartitionError(st.topic, st.partition, ErrorCode.STALE_CONTROLLER_EPOCH))
                    continue
                try:
                    if p is None:
                        p = await self._create_partition(tp)
                except Exception as e:  # a storage error must not fail the other partitions
                    log.exception("cannot create replica", topic=st.topic, partition=st.partition)
                    code = e.code if isinstance(e, KafkaError) else ErrorCode.KAFKA_STORAGE_ERROR
                    errors.append(PartitionError(st.topic, st.partition, code))
                    continue
                (leaders if st.leader == self.broker_id else followers).append((p, st))
                errors.append(PartitionError(st.topic, st.partition, ErrorCode.NONE))

            for p, st in leaders:
                self.fetchers.remove_partition(p.tp)
                p.make_leader(st)
                self._wake(p.tp, WAKE_HW)
                self._wake(p.tp, WAKE_LEO)
            for p, st in followers:
                self.fetchers.remove_partition(p.tp)
                p.make_follower(st)
                self._wake(p.tp, WAKE_HW)  # parked produces/fetches for it now fail with NOT_LEADER
                self._wake(p.tp, WAKE_LEO)
                if st.leader >= 0 and st.leader in endpoints:
                    self.fetchers.add_partition(p, st.leader, endpoints[st.leader], st.leader_epoch)
            return LeaderAndIsrResponse(ErrorCode.NONE, errors)

    async def _create_partition(self, tp: TopicPartition) -> Partition:
        config = await self._topic_config(tp.topic)
        log_ = self.log_manager.get_or_create_log(tp, config)
        p = Partition(tp, self.broker_id, self.clock, self.events, log_, self.config.replica_lag_time_max_ms,
                      self._on_hw)
        self.partitions[tp] = p
        return p

    async def stop_replicas(self, req: StopReplicaRequest) -> StopReplicaResponse:
        async with self._control_lock:
            errors: list[PartitionError] = []
            for ps in req.partition_states:
                tp = TopicPartition(ps.topic, ps.partition)
                self.fetchers.remove_partition(tp)
                p = self.partitions.get(tp)
                if p is not None and ps.leader_epoch >= 0 and ps.leader_epoch < p.leader_epoch:
                    errors.append(PartitionError(ps.topic, ps.partition, ErrorCode.FENCED_LEADER_EPOCH))
                    continue
                code = ErrorCode.NONE
                if ps.delete_partition:
                    self.partitions.pop(tp, None)
                    for key in [k for k in self._follower_log_start if k[0] == tp]:
                        del self._follower_log_start[key]
                    try:
                        self.log_manager.delete_log(tp)
                    except Exception:
                        log.exception("cannot delete log", topic=ps.topic, partition=ps.partition)
                        code = ErrorCode.KAFKA_STORAGE_ERROR
                    self.events.emit(kinds.REPLICA_DELETED, topic=ps.topic, partition=ps.partition)
                elif p is not None:
                    p.leader_id = -1  # neither leader nor fetching until a new LeaderAndIsr
                    self.events.emit(kinds.REPLICA_STOPPED, topic=ps.topic, partition=ps.partition)
                self._wake(tp, WAKE_HW)
                self._wake(tp, WAKE_LEO)
                errors.append(PartitionError(ps.topic, ps.partition, code))
            return StopReplicaResponse(ErrorCode.NONE, errors)

    # ---- produce -------------------------------------------------------------------------------------

    async def append_records(
        self,
        timeout_ms: int,
        required_acks: int,
        entries: dict[TopicPartition, memoryview],
        internal_topics_allowed: bool = False,
    ) -> dict[TopicPartition, ProduceResult]:
        if required_acks not in (-1, 0, 1):
            return {tp: ProduceResult(ErrorCode.INVALID_REQUIRED_ACKS) for tp in entries}
        results: dict[TopicPartition, ProduceResult] = {}
        waiting: dict[TopicPartition, tuple[Partition, int, int]] = {}
        for tp, batches in entries.items():
            if is_internal(tp.topic) and not internal_topics_allowed:
                results[tp] = ProduceResult(ErrorCode.INVALID_TOPIC_EXCEPTION, error_message=f"{tp.topic} is internal")
                continue
            try:
                p = self.leader_partition(tp)
                min_isr = p.log.config.min_insync_replicas
                info = p.append_as_leader(batches, required_acks, min_isr)
            except KafkaError as e:
                results[tp] = ProduceResult(e.code, error_message=e.message)
                continue
            results[tp] = ProduceResult(
                ErrorCode.NONE, info.first_offset, info.log_append_time, info.log_start_offset
            )
            if not info.duplicate:
                self.topic_stats.record_append(tp.topic, info.num_records, len(batches))
                self._wake(tp, WAKE_LEO)
            if required_acks == -1:
                waiting[tp] = (p, info.last_offset + 1, min_isr)

        if waiting:
            def check() -> bool:
                return all(p.produce_completion(req_off, mi) is not None for p, req_off, mi in waiting.values())

            op = CallbackOperation(check)
            await self.produce_purgatory.wait(op, [(tp, WAKE_HW) for tp in waiting], timeout_ms)
            for tp, (p, req_off, mi) in waiting.items():
                code = p.produce_completion(req_off, mi)
                if code is None:
                    code = ErrorCode.REQUEST_TIMED_OUT
                if code != ErrorCode.NONE:
                    results[tp].error = code
        return results

    # ---- fetch ---------------------------------------------------------------------------------------

    async def fetch_messages(
        self,
        replica_id: int,
        max_wait_ms: int,
        min_bytes: int,
        max_bytes: int,
        partitions: list[FetchRequestPartition],
    ) -> list[tuple[TopicPartition, FetchResult]]:
        is_follower = replica_id >= 0
        if is_follower:
            for fp in partitions:
                self._record_follower_fetch(replica_id, fp)
        results = self._read_all(is_follower, max_bytes, partitions)
        if max_wait_ms <= 0 or self._satisfied(results, min_bytes):
            return results
        kind = WAKE_LEO if is_follower else WAKE_HW
        latest = [results]

        def check() -> bool:
            latest[0] = self._read_all(is_follower, max_bytes, partitions)
            return self._satisfied(latest[0], min_bytes)

        op = CallbackOperation(check)
        if await self.fetch_purgatory.wait(op, [(fp.tp, kind) for fp in partitions], max_wait_ms):
            return latest[0]  # what the completing check read; anything appended since goes in the next fetch
        return self._read_all(is_follower, max_bytes, partitions)

    @staticmethod
    def _satisfied(results: list[tuple[TopicPartition, FetchResult]], min_bytes: int) -> bool:
        total = 0
        for _, r in results:
            if r.error != ErrorCode.NONE:
                return True
            total += r.size
        return total >= max(min_bytes, 1)

    def _record_follower_fetch(self, replica_id: int, fp: FetchRequestPartition) -> None:
        p = self.partitions.get(fp.tp)
        if p is None or not p.is_leader:
            return
        key = (fp.tp, replica_id)
        if fp.log_start_offset >= 0 and self._follower_log_start.get(key) != fp.log_start_offset:
            self._follower_log_start[key] = fp.log_start_offset
            self.delete_records_purgatory.wake((fp.tp, WAKE_LOG_START))
        proposal = p.record_follower_fetch(replica_id, fp.fetch_offset)
        if proposal is not None:
            self._schedule_isr_write(p, proposal)

    def _read_all(
        self, is_follower: bool, max_bytes: int, partitions: list[FetchRequestPartition]
    ) -> list[tuple[TopicPartition, FetchResult]]:
        out: list[tuple[TopicPartition, FetchResult]] = []
        remaining = max_bytes
        for fp in partitions:
            min_one = remaining == max_bytes  # only until something has been returned (Kafka's minOneMessage)
            limit = min(fp.max_bytes, remaining) if remaining > 0 else 0
            r = self._read_partition(fp, is_follower, limit, min_one)
            remaining -= r.size
            out.append((fp.tp, r))
        return out

    def _read_partition(self, fp: FetchRequestPartition, is_follower: bool, limit: int, min_one: bool) -> FetchResult:
        p = self.partitions.get(fp.tp)
        if p is None:
            return FetchResult(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        if not p.is_leader:
            return FetchResult(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        if fp.current_leader_epoch >= 0:
            if fp.current_leader_epoch < p.leader_epoch:
                return FetchResult(ErrorCode.FENCED_LEADER_EPOCH)
            if fp.current_leader_epoch > p.leader_epoch:
                return FetchResult(ErrorCode.UNKNOWN_LEADER_EPOCH)
        lg = p.log
        hw = lg.high_watermark
        base = FetchResult(ErrorCode.NONE, hw, hw, lg.log_start_offset)
        if limit <= 0 and not min_one:
            return base
        try:
            info = lg.read(fp.fetch_offset, max(limit, 0), None if is_follower else hw, min_one)
        except KafkaError as e:
            base.error = e.code
            return base
        base.records = info.records
        return base

    # ---- ListOffsets / OffsetForLeaderEpoch ----------------------------------------------------------

    def fetch_offset_for_timestamp(self, tp: TopicPartition, timestamp: int, from_consumer: bool) -> tuple[int, int]:
        """ListOffsets: -1 = latest (HW for consumers), -2 = earliest. Returns (timestamp, offset)."""
        p = self.leader_partition(tp)
        lg = p.log
        if timestamp == -2:
            return -1, lg.log_start_offset
        if timestamp == -1:
            return -1, (lg.high_watermark if from_consumer else lg.log_end_offset)
        found = lg.fetch_offset_by_timestamp(timestamp)
        if found is None:
            return -1, -1
        offset, ts = found
        if from_consumer and offset >= lg.high_watermark:
            return -1, -1
        return ts, offset

    def last_offset_for_leader_epoch(self, tp: TopicPartition, leader_epoch: int, current_leader_epoch: int) -> tuple[int, int]:
        """OffsetForLeaderEpoch on the leader: (epoch, end offset) per KIP-101/279."""
        p = self.leader_partition(tp)
        if current_leader_epoch >= 0:
            if current_leader_epoch < p.leader_epoch:
                raise KafkaError(ErrorCode.FENCED_LEADER_EPOCH)
            if current_leader_epoch > p.leader_epoch:
                raise KafkaError(ErrorCode.UNKNOWN_LEADER_EPOCH)
        return p.log.leader_epoch_cache.end_offset_for(leader_epoch)

    # ---- DeleteRecords -------------------------------------------------------------------------------

    def low_watermark(self, p: Partition) -> int:
        """The smallest log start offset of the leader and its in-sync followers (-1 = one not known yet)."""
        low = p.log.log_start_offset
        for r in p.isr:
            if r != self.broker_id:
                low = min(low, self._follower_log_start.get((p.tp, r), -1))
        return low

    def _delete_on_leader(self, tp: TopicPartition, offset: int) -> int:
        """Raise the leader's log start offset; returns the offset asked for. Raises KafkaError."""
        if is_internal(tp.topic):
            raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, f"cannot delete records of internal topic {tp.topic}")
        p = self.leader_partition(tp)
        lg = p.log
        if "delete" not in lg.config.cleanup_policy:
            raise KafkaError(ErrorCode.POLICY_VIOLATION, f"records of {tp} cannot be deleted: cleanup.policy")
        target = lg.high_watermark if offset == -1 else offset
        if target < 0:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, f"offset {target} for {tp} is not valid")
        if lg.maybe_increment_log_start_offset(target):
            self._wake(tp, WAKE_HW)  # consumers parked on it see the new log start offset
        return target

    async def delete_records(self, timeout_ms: int, offsets: dict[TopicPartition, int]
                             ) -> dict[TopicPartition, tuple[ErrorCode, int]]:
        """DeleteRecords on this leader: ``{tp: (error, low_watermark)}`` (Kafka ``ReplicaManager.deleteRecords``)."""
        results: dict[TopicPartition, tuple[ErrorCode, int]] = {}
        waiting: dict[TopicPartition, int] = {}
        for tp, offset in offsets.items():
            try:
                waiting[tp] = self._delete_on_leader(tp, offset)
            except KafkaError as e:
                results[tp] = (e.code, -1)

        def status(tp: TopicPartition, required: int) -> tuple[ErrorCode, int] | None:
            p = self.partitions.get(tp)
            if p is None or not p.is_leader:
                return (ErrorCode.NOT_LEADER_OR_FOLLOWER, -1)
            low = self.low_watermark(p)
            return (ErrorCode.NONE, low) if low >= required else None

        def check() -> bool:
            return all(status(tp, req) is not None for tp, req in waiting.items())

        if waiting and not check():
            keys = [(tp, k) for tp in waiting for k in (WAKE_LOG_START, WAKE_HW)]
            await self.delete_records_purgatory.wait(CallbackOperation(check), keys, timeout_ms)
        for tp, required in waiting.items():
            st = status(tp, required)
            if st is None:
                p = self.partitions.get(tp)
                st = (ErrorCode.REQUEST_TIMED_OUT, self.low_watermark(p) if p is not None else -1)
            results[tp] = st
        return results

    # ---- ISR maintenance -----------------------------------------------------------------------------

    def _check_isr_expiration(self) -> None:
        for p in list(self.partitions.values()):
            if p.is_leader:
                proposal = p.propose_isr_shrink()
                if proposal is not None:
                    self._schedule_isr_write(p, proposal)

    def _schedule_isr_write(self, p: Partition, proposal: IsrProposal) -> None:
        spawn(self._write_isr(p, proposal), f"isr-write-{proposal.tp}", self._isr_writes)

    async def _write_isr(self, p: Partition, proposal: IsrProposal) -> None:
        """Write the proposal conditionally on its zkVersion. zk_layout's ``update_partition_state`` already
        recognises our own earlier write that landed before a connection loss (the znode holds exactly this
        state: success at its version), so a conflict here is a real one."""
        state = PartitionState(
            leader=self.broker_id,
            leader_epoch=proposal.leader_epoch,
            isr=tuple(proposal.isr),
            controller_epoch=proposal.controller_epoch,
        )
        tp = proposal.tp
        try:
            result = await self._zk_call(self._zk.update_partition_state, tp, state, proposal.zk_version)
            if result.ok:
                self._isr_written(p, proposal, result.new_version)
                return
            current = await self._zk_call(self._zk.get_partition_state, tp)
        except asyncio.CancelledError:
            p.isr_update_failed(proposal)
            raise
        except Exception:
            log.exception("ISR update failed", topic=tp.topic, partition=tp.partition)
            p.isr_update_failed(proposal)
            return
        p.isr_update_failed(proposal)
        if current is None:
            p.fence("partition state znode is gone")
            self._wake(tp, WAKE_HW)
            return
        zk_state, zk_version = current
        if zk_state.leader_epoch > proposal.leader_epoch or zk_state.leader != self.broker_id:
            log.warning(
                "ZooKeeper has a newer leader; stop acting as leader",
                topic=tp.topic,
                partition=tp.partition,
                zk_leader=zk_state.leader,
                zk_leader_epoch=zk_state.leader_epoch,
                our_leader_epoch=proposal.leader_epoch,
            )
            p.fence(f"leader epoch {zk_state.leader_epoch} in ZooKeeper")
            self._wake(tp, WAKE_HW)
            self._wake(tp, WAKE_LEO)
        elif zk_state.leader_epoch == p.leader_epoch:
            # Same leader and epoch, another version (another ISR): the version moved under us; adopt it so
            # the next proposal can succeed.
            log.info("cached zkVersion was stale; re-read", topic=tp.topic, partition=tp.partition,
                     zk_version=zk_version)
            p.zk_version = zk_version

    def _isr_written(self, p: Partition, proposal: IsrProposal, new_version: int) -> None:
        if p.isr_update_succeeded(proposal, new_version):
            self._pending_isr_changes.add(proposal.tp)
            self._last_isr_change_ms = self.clock.monotonic_ms()
            self._wake(proposal.tp, WAKE_HW)

    async def _maybe_propagate_isr_changes(self) -> None:
        now = self.clock.monotonic_ms()
        if self._pending_isr_changes and (
            now - self._last_isr_change_ms > ISR_CHANGE_QUIET_MS
            or now - self._last_isr_propagation_ms > ISR_CHANGE_MAX_DELAY_MS
        ):
            changed = sorted(self._pending_isr_changes)
            self._pending_isr_changes.clear()
            self._last_isr_propagation_ms = now
            await self._zk_call(self._zk.propagate_isr_changes, changed)
            self.events.emit(kinds.ISR_CHANGE_PROPAGATED, partitions=[str(tp) for tp in changed])

    # ---- introspection (for /state and the dashboard) ------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        out = []
        for tp, p in sorted(self.partitions.items()):
            lg = p.log
            out.append(
                {
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "role": "leader" if p.is_leader else ("follower" if p.leader_id >= 0 else "none"),
                    "leader": p.leader_id,
                    "leader_epoch": p.leader_epoch,
                    "isr": list(p.isr),
                    "log_start_offset": lg.log_start_offset,
                    "log_end_offset": lg.log_end_offset,
                    "high_watermark": lg.high_watermark,
                    "followers": {
                        r: {"log_end_offset": f.log_end_offset, "last_caught_up_ms": f.last_caught_up_ms}
                        for r, f in p.followers.items()
                    },
                }
            )
        return out
