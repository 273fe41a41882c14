"""Replica state machine (Kafka's ``ZkReplicaStateMachine``), zk-layout.md §2.7.

A replica is one (partition, broker) pair. Legal transitions (anything else is logged and skipped):

| target | legal from | effect |
|---|---|---|
| NewReplica | NonExistent | LeaderAndIsr(is_new) to that broker if the partition has a leader (refused if it *is* the leader) |
| OnlineReplica | New, Online, Offline, DeletionIneligible | from New: bookkeeping; else LeaderAndIsr to that broker |
| OfflineReplica | New, Online, Offline, DeletionIneligible | StopReplica(delete=false); replica removed from the ISR in ZK (leader -1 if it led), leader_epoch+1; LeaderAndIsr to the other replicas |
| ReplicaDeletionStarted | Offline | StopReplica(delete=true) |
| ReplicaDeletionSuccessful | DeletionStarted | bookkeeping |
| ReplicaDeletionIneligible | Offline, DeletionStarted | bookkeeping |
| NonExistentReplica | DeletionSuccessful | removed from the cached assignment |

**The last ISR member stays.** Removing a replica from an ISR of exactly one member leaves the ISR as it is
(only the leader becomes -1). That member holds every committed message, so when its broker returns the
offline election picks it again instead of electing nobody or an out-of-sync replica.

Decisions are pure (:func:`remove_replica_from_isr`); the class applies them through the store and the
request batch, retrying conditional writes that lost a race with a partition leader's ISR update.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable, Mapping

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.context import (
    NO_LEADER,
    ControllerContext,
    LeaderAndIsr,
    PartitionReplica,
    ReplicaAssignment,
    ReplicaStatus,
)
from kafka_zk.controller.leader_isr_store import LeaderIsrStore, WriteStatus
from kafka_zk.controller.request_batch import ControllerBrokerRequestBatch, OutboundRequest

log = get_logger(__name__)

R = ReplicaStatus
VALID_PREVIOUS_STATES: Mapping[ReplicaStatus, frozenset[ReplicaStatus]] = {
    R.NewReplica: frozenset({R.NonExistentReplica}),
    R.OnlineReplica: frozenset({R.NewReplica, R.OnlineReplica, R.OfflineReplica, R.ReplicaDeletionIneligible}),
    R.OfflineReplica: frozenset({R.NewReplica, R.OnlineReplica, R.OfflineReplica, R.ReplicaDeletionIneligible}),
    R.ReplicaDeletionStarted: frozenset({R.OfflineReplica}),
    R.ReplicaDeletionSuccessful: frozenset({R.ReplicaDeletionStarted}),
    R.ReplicaDeletionIneligible: frozenset({R.OfflineReplica, R.ReplicaDeletionStarted}),
    R.NonExistentReplica: frozenset({R.ReplicaDeletionSuccessful}),
}


def is_valid_transition(current: ReplicaStatus, target: ReplicaStatus) -> bool:
    return current in VALID_PREVIOUS_STATES[target]


def remove_replica_from_isr(li: LeaderAndIsr, replica_id: int, controller_epoch: int) -> LeaderAndIsr | None:
    """The state after ``replica_id`` goes offline, or None when it is not in the ISR (nothing to write).

    Leader becomes -1 if the replica led; the ISR loses the replica unless it is the only member.
    """
    if replica_id not in li.isr:
        return None
    leader = NO_LEADER if li.leader == replica_id else li.leader
    isr = li.isr if len(li.isr) == 1 else tuple(r for r in li.isr if r != replica_id)
    return li.new_leader_and_isr(leader, isr, controller_epoch)


class ReplicaStateMachine:
    def __init__(
        self,
        ctx: ControllerContext,
        store: LeaderIsrStore,
        batch: ControllerBrokerRequestBatch,
        send: Callable[[list[OutboundRequest]], None],
        events: EventBus,
    ) -> None:
        self._ctx = ctx
        self._store = store
        self._batch = batch
        self._send = send
        self._events = events

    def initialize_states(self) -> None:
        """Failover: replicas on live brokers are Online, the others DeletionIneligible (then Offline)."""
        ctx = self._ctx
        for pr in ctx.replicas_for_partitions(ctx.all_partitions()):
            online = ctx.is_replica_online(pr.replica)
            ctx.replica_states[pr] = R.OnlineReplica if online else R.ReplicaDeletionIneligible

    def online_and_offline_replicas(self) -> tuple[list[PartitionReplica], list[PartitionReplica]]:
        ctx = self._ctx
        online: list[PartitionReplica] = []
        offline: list[PartitionReplica] = []
        for pr in ctx.replicas_for_partitions(ctx.all_partitions()):
            (online if ctx.is_replica_online(pr.replica) else offline).append(pr)
        return online, offline

    async def handle_state_changes(self, replicas: Iterable[PartitionReplica], target: ReplicaStatus) -> None:
        """Move ``replicas`` to ``target`` (grouped per broker) and send the requests that implies.

        Raises ``ControllerMovedError`` and :class:`IllegalStateError`; per-replica failures are logged.
        """
        by_broker: dict[int, list[PartitionReplica]] = defaultdict(list)
        for pr in replicas:
            by_broker[pr.replica].append(pr)
        if not by_broker:
            return
        self._batch.new_batch()
        for replica_id in sorted(by_broker):
            await self._do_handle_state_changes(replica_id, by_broker[replica_id], target)
        self._send(self._batch.build())

    async def _do_handle_state_changes(
        self, replica_id: int, replicas: list[PartitionReplica], target: ReplicaStatus
    ) -> None:
        ctx = self._ctx
        valid: list[PartitionReplica] = []
        for pr in replicas:
            current = ctx.replica_states.setdefault(pr, R.NonExistentReplica)
            if is_valid_transition(current, target):
                valid.append(pr)
            else:
                log.error("illegal replica state transition", replica=str(pr), frm=current.name, to=target.name)
        if target is R.NewReplica:
            for pr in valid:
                li = ctx.leadership.get(pr.tp)
                if li is not None:
                    if li.leader == replica_id:
                        log.error("replica cannot become NewReplica: it is the partition's leader", replica=str(pr))
                        continue
                    self._batch.add_leader_and_isr([replica_id], pr.tp, li, self._assignment(pr.tp), is_new=True)
                self._set_state(pr, target)
        elif target is R.OnlineReplica:
            for pr in valid:
                if ctx.replica_states[pr] is R.NewReplica:
                    a = self._assignment(pr.tp)
                    if replica_id not in a.replicas:
                        ctx.set_assignment(pr.tp, ReplicaAssignment(a.replicas + (replica_id,), a.adding, a.removing))
                else:
                    li = ctx.leadership.get(pr.tp)
                    if li is not None:
                        self._batch.add_leader_and_isr([replica_id], pr.tp, li, self._assignment(pr.tp), is_new=False)
                self._set_state(pr, target)
        elif target is R.OfflineReplica:
            await self._to_offline(replica_id, valid)
        elif target is R.ReplicaDeletionStarted:
            for pr in valid:
                self._batch.add_stop_replica([replica_id], pr.tp, delete_partition=True)
                self._set_state(pr, target)
        elif target is R.NonExistentReplica:
            for pr in valid:
                a = self._assignment(pr.tp)
                ctx.set_assignment(
                    pr.tp,
                    ReplicaAssignment(
                        tuple(r for r in a.replicas if r != replica_id),
                        tuple(r for r in a.adding if r != replica_id),
                        tuple(r for r in a.removing if r != replica_id),
                    ),
                )
                ctx.replica_states.pop(pr, None)
                self._emit(pr, target)
        else:  # ReplicaDeletionSuccessful, ReplicaDeletionIneligible: bookkeeping only
            for pr in valid:
                self._set_state(pr, target)

    async def _to_offline(self, replica_id: int, replicas: list[PartitionReplica]) -> None:
        ctx = self._ctx
        for pr in replicas:
            self._batch.add_stop_replica([replica_id], pr.tp, delete_partition=False)
        with_leadership = [pr.tp for pr in replicas if pr.tp in ctx.leadership]
        updated = await self.remove_replicas_from_isr(replica_id, with_leadership)
        for tp, li in updated.items():
            if not ctx.is_topic_queued_up_for_deletion(tp.topic):
                recipients = [r for r in ctx.replicas(tp) if r != replica_id]
                self._batch.add_leader_and_isr(recipients, tp, li, self._assignment(tp), is_new=False)
            self._set_state(PartitionReplica(tp, replica_id), R.OfflineReplica)
        for pr in replicas:
            if pr.tp not in ctx.leadership:
                self._batch.add_update_metadata(ctx.live_or_shutting_down_broker_ids, [pr.tp])
                self._set_state(pr, R.OfflineReplica)

    async def remove_replicas_from_isr(
        self, replica_id: int, tps: list[TopicPartition]
    ) -> dict[TopicPartition, LeaderAndIsr]:
        """Take ``replica_id`` out of the ISR of ``tps`` in ZooKeeper; returns each partition's new state.

        Partitions where it is not in the ISR come back unchanged; failures are logged and left out.
        """
        ctx = self._ctx
        results: dict[TopicPartition, LeaderAndIsr] = {}
        remaining = list(tps)
        while remaining:
            current = await self._store.get_partition_states(remaining)
            writes: dict[TopicPartition, LeaderAndIsr] = {}
            for tp in remaining:
                li = current.get(tp)
                if li is None:
                    if not ctx.is_topic_queued_up_for_deletion(tp.topic):
                        log.error("cannot remove replica from ISR: no partition state znode", topic=tp.topic,
                                  partition=tp.partition, replica=replica_id)
                    continue
                if li.controller_epoch > ctx.epoch:
                    log.error("cannot remove replica from ISR: state written by a newer controller", topic=tp.topic,
                              partition=tp.partition, state_controller_epoch=li.controller_epoch, epoch=ctx.epoch)
                    continue
                new = remove_replica_from_isr(li, replica_id, ctx.epoch)
                if new is None:
                    ctx.leadership[tp] = li
                    results[tp] = li
                else:
                    writes[tp] = new
            remaining = []
            if not writes:
                break
            outcome = await self._store.update_partition_states(writes, ctx.epoch_zk_version)
            for tp, new in writes.items():
                res = outcome[tp]
                if res.status is WriteStatus.CONFLICT:
                    remaining.append(tp)
                elif not res.ok:
                    log.error("removing replica from ISR failed", topic=tp.topic, partition=tp.partition,
                              replica=replica_id, reason=res.error)
                else:
                    li = new.with_zk_version(res.zk_version)
                    ctx.leadership[tp] = li
                    results[tp] = li
                    log.info("replica removed from ISR", topic=tp.topic, partition=tp.partition, replica=replica_id,
                             leader=li.leader, leader_epoch=li.leader_epoch, isr=list(li.isr))
                    self._events.emit(kinds.ISR_CHANGED, topic=tp.topic, partition=tp.partition, leader=li.leader,
                                      leader_epoch=li.leader_epoch, isr=list(li.isr), source="controller")
        return results

    def _assignment(self, tp: TopicPartition) -> ReplicaAssignment:
        return self._ctx.assignment(tp) or ReplicaAssignment(())

    def _set_state(self, pr: PartitionReplica, target: ReplicaStatus) -> None:
        self._ctx.replica_states[pr] = target
        self._emit(pr, target)

    def _emit(self, pr: PartitionReplica, target: ReplicaStatus) -> None:
        log.debug("replica state changed", replica=str(pr), to=target.name)
        self._events.emit(kinds.REPLICA_STATE, topic=pr.tp.topic, partition=pr.tp.partition, replica=pr.replica,
                          state=target.name)
