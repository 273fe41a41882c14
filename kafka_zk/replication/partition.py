"""One partition replica on this broker: its role (leader or follower), ISR, high watermark.

The controller decides roles (LeaderAndIsr); this object applies them and keeps the leader's bookkeeping:

* ``make_leader`` / ``make_follower`` accept a LeaderAndIsr partition state only if its leader epoch is newer
  than the one we hold (:func:`is_stale_leader_epoch`, the one home of that rule: an equal or older epoch is a
  stale request, and Kafka answers STALE_CONTROLLER_EPOCH for that partition).
* As leader: every follower fetch updates that follower's progress (:mod:`.isr`), may advance the high
  watermark and may propose an ISR expansion; a periodic check may propose a shrink. A proposal is only a
  proposal: the replica manager writes it to the partition's state znode with a zkVersion-conditional update
  and calls :meth:`Partition.isr_update_succeeded` when ZooKeeper accepted it. While an expansion is in flight
  the HW is computed over the ISR *plus* the pending additions (Kafka 2.7's "maximal ISR"), so a follower that
  ZooKeeper may already list as in-sync can never be missing an acknowledged record.
* A write that failed because a newer leader epoch is in ZooKeeper means a new leader was elected without us
  hearing about it yet: :meth:`fence` stops this replica from accepting produce requests until the controller's
  LeaderAndIsr arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.clock import Clock
from kafka_zk.common.control import LeaderAndIsrPartitionState
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.events import CoalescingEmitter, EventBus
from kafka_zk.common.tp import TopicPartition
from kafka_zk.log.info import LogAppendInfo
from kafka_zk.log.log import Log
from kafka_zk.replication.isr import FollowerProgress, can_join_isr, high_watermark_candidate, out_of_sync_replicas


@dataclass(frozen=True, slots=True)
class IsrProposal:
    """A new ISR the leader wants ZooKeeper to record, valid only for ``leader_epoch`` and ``zk_version``."""

    tp: TopicPartition
    leader_epoch: int
    zk_version: int
    controller_epoch: int
    isr: tuple[int, ...]
    reason: str  # "shrink" | "expand"


def is_stale_leader_epoch(request_leader_epoch: int, current_leader_epoch: int) -> bool:
    """Whether a LeaderAndIsr partition state must be ignored: its leader epoch is not newer than ours.

    Kafka 2.8 ``ReplicaManager.becomeLeaderOrFollower`` applies a state only when ``requestLeaderEpoch >
    currentLeaderEpoch`` and answers STALE_CONTROLLER_EPOCH for an equal or smaller one. ``is_new`` plays
    no part there (it only tells ``createLogIfNotExists`` that the log is expected not to exist yet); the
    controller resends unchanged states, and re-applying one would reset follower progress and the
    leader-epoch start offset."""
    return request_leader_epoch <= current_leader_epoch


class Partition:
    def __init__(
        self,
        tp: TopicPartition,
        broker_id: int,
        clock: Clock,
        events: EventBus,
        log: Log,
        max_lag_ms: int,
        on_high_watermark: Callable[[TopicPartition], None] = lambda tp: None,
    ) -> None:
        """``on_high_watermark(tp)`` is called after the leader's high watermark moved (the replica manager
        wakes the requests waiting for it)."""
        self.tp = tp
        self.max_lag_ms = max_lag_ms  # replica.lag.time.max.ms
        self.broker_id = broker_id
        self.clock = clock
        self.events = events
        self.progress = CoalescingEmitter(events)  # replica.leo / replica.hw, at most every 100 ms per replica
        self.log = log
        self.leader_id = -1
        self.leader_epoch = -1
        self.controller_epoch = -1
        self.zk_version = -1
        self.replicas: tuple[int, ...] = ()
        self.isr: tuple[int, ...] = ()
        self.adding_replicas: tuple[int, ...] = ()
        self.removing_replicas: tuple[int, ...] = ()
        self.followers: dict[int, FollowerProgress] = {}
        self.leader_epoch_start_offset = 0
        self.fenced = False
        self.pending_isr: IsrProposal | None = None
        self._on_high_watermark = on_high_watermark

    # ---- role changes --------------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self.leader_id == self.broker_id and not self.fenced

    def _accept_state(self, st: LeaderAndIsrPartitionState) -> None:
        if is_stale_leader_epoch(st.leader_epoch, self.leader_epoch):
            raise KafkaError(
                ErrorCode.STALE_CONTROLLER_EPOCH,
                f"leader epoch {st.leader_epoch} is not newer than current {self.leader_epoch}",
            )
        self.controller_epoch = st.controller_epoch
        self.leader_epoch = st.leader_epoch
        self.zk_version = st.zk_version
        self.replicas = tuple(st.replicas)
        self.adding_replicas = tuple(st.adding_replicas)
        self.removing_replicas = tuple(st.removing_replicas)
        self.fenced = False
        self.pending_isr = None

    def make_leader(self, st: LeaderAndIsrPartitionState) -> None:
        """Become (or stay) leader with the state from LeaderAndIsr."""
        was_leader = self.leader_id == self.broker_id
        self._accept_state(st)
        now = self.clock.monotonic_ms()
        self.leader_id = self.broker_id
        self.isr = tuple(st.isr)
        log = self.log
        self.leader_epoch_start_offset = log.log_end_offset
        log.leader_epoch_cache.assign(self.leader_epoch, self.leader_epoch_start_offset)
        if not was_leader:
            self.followers = {}
        for r in self.replicas:
            if r == self.broker_id:
                continue
            f = self.followers.setdefault(r, FollowerProgress(r))
            f.reset(now, r in self.isr)
        for r in list(self.followers):
            if r not in self.replicas:
                del self.followers[r]
        self.events.emit(
            kinds.REPLICA_BECAME_LEADER,
            topic=self.tp.topic,
            partition=self.tp.partition,
            leader_epoch=self.leader_epoch,
            isr=list(self.isr),
            log_end_offset=log.log_end_offset,
        )
        self.maybe_increment_high_watermark()

    def make_follower(self, st: LeaderAndIsrPartitionState) -> None:
        """Follow ``st.leader``; the replica manager (re)starts fetching, which truncates by leader epoch first."""
        self._accept_state(st)
        self.leader_id = st.leader
        self.isr = ()  # followers do not track the ISR (Kafka makeFollower)
        self.followers = {}
        self.events.emit(
            kinds.REPLICA_BECAME_FOLLOWER,
            topic=self.tp.topic,
            partition=self.tp.partition,
            leader=st.leader,
            leader_epoch=self.leader_epoch,
        )

    def fence(self, reason: str) -> None:
        """Stop acting as leader: ZooKeeper holds a newer leader epoch than ours."""
        if not self.fenced:
            self.fenced = True
            self.events.emit(kinds.REPLICA_FENCED, topic=self.tp.topic, partition=self.tp.partition, reason=reason)

    # ---- leader: produce -----------------------------------------------------------------------------

    def check_leader(self) -> None:
        if not self.is_leader:
            raise KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, f"broker {self.broker_id} is not the leader of {self.tp}")

    def append_as_leader(self, batches: memoryview, required_acks: int, min_isr: int) -> LogAppendInfo:
        """Append a producer's batches. Raises KafkaError (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, ...)."""
        self.check_leader()
        if required_acks == -1 and len(self.isr) < min_isr:
            raise KafkaError(
                ErrorCode.NOT_ENOUGH_REPLICAS,
                f"ISR {list(self.isr)} is smaller than min.insync.replicas={min_isr}",
            )
        info = self.log.append_as_leader(batches, self.leader_epoch)
        self.emit_leo("leader")
        self.maybe_increment_high_watermark()
        return info

    def emit_leo(self, role: str) -> None:
        self.progress.emit(
            self.tp, kinds.REPLICA_LEO, topic=self.tp.topic, partition=self.tp.partition, role=role,
            log_end_offset=self.log.log_end_offset,
        )

    def produce_completion(self, required_offset: int, min_isr: int) -> ErrorCode | None:
        """For an acks=all produce waiting for ``required_offset`` (last offset + 1): None while it must wait."""
        if not self.is_leader:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        if self.log.high_watermark >= required_offset:
            return ErrorCode.NONE if len(self.isr) >= min_isr else ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
        return None

    # ---- leader: follower progress, ISR and HW -------------------------------------------------------

    def _hw_isr(self) -> tuple[int, ...]:
        pending = self.pending_isr
        if pending is not None and pending.reason == "expand":
            return tuple(sorted(set(self.isr) | set(pending.isr)))
        return self.isr

    def record_follower_fetch(self, replica_id: int, fetch_offset: int) -> IsrProposal | None:
        """Update a follower's progress from its fetch; returns an ISR expansion to write, if any."""
        f = self.followers.get(replica_id)
        if f is None:
            return None
        leo = self.log.log_end_offset
        f.update(fetch_offset, leo, self.clock.monotonic_ms())
        self.maybe_increment_high_watermark()
        if self.pending_isr is None and can_join_isr(
            f, self.isr, self.replicas, self.log.high_watermark, self.leader_epoch_start_offset
        ):
            new_isr = tuple(r for r in self.replicas if r in self.isr or r == replica_id)
            return self._propose(new_isr, "expand")
        return None

    def propose_isr_shrink(self) -> IsrProposal | None:
        if not self.is_leader or self.pending_isr is not None:
            return None
        out = out_of_sync_replicas(
            self.broker_id,
            self.log.log_end_offset,
            self.isr,
            self.followers,
            self.clock.monotonic_ms(),
            self.max_lag_ms,
        )
        if not out:
            return None
        return self._propose(tuple(r for r in self.isr if r not in out), "shrink")

    def _propose(self, isr: tuple[int, ...], reason: str) -> IsrProposal:
        p = IsrProposal(self.tp, self.leader_epoch, self.zk_version, self.controller_epoch, isr, reason)
        self.pending_isr = p
        return p

    def isr_update_succeeded(self, proposal: IsrProposal, new_zk_version: int) -> bool:
        """Apply an ISR that ZooKeeper accepted. Ignored (False) if our role or epoch changed meanwhile."""
        if self.pending_isr is proposal:
            self.pending_isr = None
        if proposal.leader_epoch != self.leader_epoch or not self.is_leader:
            return False
        old = self.isr
        self.isr = proposal.isr
        self.zk_version = new_zk_version
        self.events.emit(
            kinds.ISR_SHRINK if proposal.reason == "shrink" else kinds.ISR_EXPAND,
            topic=self.tp.topic,
            partition=self.tp.partition,
            old_isr=list(old),
            new_isr=list(self.isr),
            leader_epoch=self.leader_epoch,
            zk_version=new_zk_version,
        )
        self.maybe_increment_high_watermark()
        return True

    def isr_update_failed(self, proposal: IsrProposal) -> None:
        if self.pending_isr is proposal:
            self.pending_isr = None

    def maybe_increment_high_watermark(self) -> bool:
        if not self.is_leader:
            return False
        log = self.log
        candidate = high_watermark_candidate(
            self.broker_id,
            log.log_end_offset,
            self._hw_isr(),
            self.followers,
            self.clock.monotonic_ms(),
            self.max_lag_ms,
        )
        old = log.high_watermark
        if candidate > old:
            log.high_watermark = candidate
            self.progress.emit(self.tp, kinds.REPLICA_HW, topic=self.tp.topic, partition=self.tp.partition, role="leader",
                               high_watermark=candidate)
            self._on_high_watermark(self.tp)
            return True
        return False

    # ---- follower -----------------------------------------------------------------------------------

    def update_follower_high_watermark(self, leader_hw: int) -> bool:
        """HW := leader's HW from the fetch response, clamped to [log start, local LEO]."""
        log = self.log
        new_hw = max(log.log_start_offset, min(leader_hw, log.log_end_offset))
        if new_hw != log.high_watermark:
            log.high_watermark = new_hw
            self.progress.emit(self.tp, kinds.REPLICA_HW, topic=self.tp.topic, partition=self.tp.partition, role="follower",
                               high_watermark=new_hw)
            return True
        return False
