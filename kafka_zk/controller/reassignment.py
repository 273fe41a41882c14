"""Partition reassignment, Kafka 2.4+ style (KIP-455), zk-layout.md §2.15.

Notation: ORS = original replicas, TRS = target replicas, AR = adding (TRS − ORS), RR = removing
(ORS − TRS). While a partition moves, its full replica list is RS = TRS followed by the ORS members not in
TRS, and ``/brokers/topics/<t>`` records AR and RR next to it — so a new controller can resume.

1. **Start (U):** write RS/AR/RR to the topic znode (fenced) and to memory; if it replaces a reassignment
   in flight, stop replicas no longer needed; watch the partition's state znode (ISR changes); mark the
   topic ineligible for deletion.
2. **Not done yet (A)** — TRS is not a subset of the ISR: bump the leader epoch in ZooKeeper (so brokers
   accept the new replica list), send LeaderAndIsr to ORS (is_new=false) and AR (is_new=true) — the
   adding replicas start fetching from the leader; AR → NewReplica.
3. **Caught up (B)** — every target replica is in the ISR (the state-znode watch or an ISR-change
   notification brings us back): AR → OnlineReplica; RS := TRS in memory; if the leader is not a target
   (or is dead) elect one among the targets (reassign strategy), else bump the epoch and resend
   LeaderAndIsr; RR → Offline → DeletionStarted → DeletionSuccessful → NonExistent (StopReplica then
   StopReplica with delete); write RS = TRS with empty AR/RR; drop the partition from
   ``/admin/reassign_partitions`` (the znode is deleted when empty); UpdateMetadata to everyone; resume a
   pending deletion of the topic.

Requests come from ``/admin/reassign_partitions`` (``kafka-zk reassign-partitions --execute``) or from the
AlterPartitionReassignments API (:meth:`ReassignmentManager.process_api_reassignment`), which can also
*cancel*: the partition is reassigned back to its original replicas, so the adding replicas are stopped and
deleted. The latest request wins: an API request removes its partitions from the znode. A target is
rejected — and removed from that znode with a logged reason — when it is empty, lists a broker twice or a
negative id, names a broker that is not live among the adding replicas, or the topic is being deleted.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Iterable, Mapping, Sequence

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.context import (
    ControllerContext,
    LeaderAndIsr,
    PartitionReplica,
    PartitionStatus,
    ReplicaAssignment,
    ReplicaStatus,
)
from kafka_zk.controller.election import ElectionStrategy
from kafka_zk.controller.leader_isr_store import WriteStatus
from kafka_zk.controller.partition_state_machine import PartitionStateMachine
from kafka_zk.controller.replica_state_machine import ReplicaStateMachine
from kafka_zk.controller.request_batch import ControllerBrokerRequestBatch, IllegalStateError, OutboundRequest
from kafka_zk.controller.topic_deletion import TopicDeletionManager
from kafka_zk.controller.zk_ops import Cancellable, ControllerZk

log = get_logger(__name__)

R = ReplicaStatus
Result = tuple[ErrorCode, str | None]


def validate_target(ctx: ControllerContext, tp: TopicPartition, target: Sequence[int]) -> str | None:
    """Why ``target`` cannot be used for ``tp`` (None when it can). Pure."""
    if not target:
        return "the target replica list is empty"
    if len(set(target)) != len(target):
        return f"the target replica list {list(target)} names a broker more than once"
    if any(r < 0 for r in target):
        return f"the target replica list {list(target)} has a negative broker id"
    current = ctx.assignment(tp)
    origin = current.origin_replicas if current else ()
    dead = [r for r in target if r not in origin and r not in ctx.live_broker_ids]
    if dead:
        return f"adding replica(s) {dead} are not live brokers (live: {sorted(ctx.live_broker_ids)})"
    return None


def is_reassignment_complete(assignment: ReplicaAssignment, isr: Iterable[int]) -> bool:
    """Done when every target replica is in the ISR (a partition not being reassigned is trivially done)."""
    return not assignment.is_being_reassigned or set(assignment.target_replicas) <= set(isr)


class ReassignmentManager:
    def __init__(
        self,
        ctx: ControllerContext,
        zk: ControllerZk,
        psm: PartitionStateMachine,
        rsm: ReplicaStateMachine,
        batch: ControllerBrokerRequestBatch,
        send: Callable[[list[OutboundRequest]], None],
        deletion: TopicDeletionManager,
        watch_partition_state: Callable[[TopicPartition], Awaitable[Cancellable]],
        send_update_metadata: Callable[[Iterable[int], Iterable[TopicPartition]], None],
        events: EventBus,
    ) -> None:
        self._ctx = ctx
        self._zk = zk
        self._psm = psm
        self._rsm = rsm
        self._batch = batch
        self._send = send
        self._deletion = deletion
        self._watch_partition_state = watch_partition_state
        self._send_update_metadata = send_update_metadata
        self._events = events
        self._isr_watches: dict[TopicPartition, Cancellable] = {}

    async def close(self) -> None:
        for w in self._isr_watches.values():
            await self._zk.cancel_watch(w)
        self._isr_watches.clear()

    # -- entry points --------------------------------------------------------------------------------
    async def process_zk_reassignment(self) -> set[TopicPartition]:
        """Start what ``/admin/reassign_partitions`` asks for; returns the partitions started."""
        requested = await self._zk.get_partition_reassignment()
        if not requested:
            return set()
        results = await self.reassign(requested)
        failed = {tp for tp, (code, _) in results.items() if code is not ErrorCode.NONE}
        if failed:
            for tp in sorted(failed):
                log.warning("reassignment request rejected", topic=tp.topic, partition=tp.partition,
                            error=results[tp][0].name, reason=results[tp][1])
            await self._remove_from_zk_reassignment(lambda tp, _r: tp in failed)
        return {tp for tp, (code, _) in results.items() if code is ErrorCode.NONE}

    async def reassign(self, targets: Mapping[TopicPartition, Sequence[int]]) -> dict[TopicPartition, Result]:
        ctx = self._ctx
        out: dict[TopicPartition, Result] = {}
        for tp, target in sorted(targets.items()):
            if self._deletion.is_topic_queued_up_for_deletion(tp.topic):
                out[tp] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "the topic is being deleted")
                continue
            current = ctx.assignment(tp)
            if current is None or not current.replicas:
                out[tp] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "the partition does not exist")
                continue
            reason = validate_target(ctx, tp, target)
            if reason is not None:
                out[tp] = (ErrorCode.INVALID_REPLICA_ASSIGNMENT, reason)
                continue
            await self.on_partition_reassignment(tp, ReplicaAssignment.for_reassignment(current, target))
            out[tp] = (ErrorCode.NONE, None)
        return out

    async def process_api_reassignment(
        self, targets: Mapping[TopicPartition, Sequence[int] | None]
    ) -> dict[TopicPartition, Result]:
        """AlterPartitionReassignments (Kafka's ``processApiPartitionReassignment``): ``None`` cancels."""
        ctx = self._ctx
        out: dict[TopicPartition, Result] = {}
        start: dict[TopicPartition, ReplicaAssignment] = {}
        for tp, target in sorted(targets.items()):
            current = ctx.assignment(tp) or ReplicaAssignment(())
            if target is not None:
                reason = validate_target(ctx, tp, target)
                if reason is not None:
                    out[tp] = (ErrorCode.INVALID_REPLICA_ASSIGNMENT, reason)
                    continue
                start[tp] = ReplicaAssignment.for_reassignment(current, target)
            elif current.is_being_reassigned:
                start[tp] = ReplicaAssignment.for_reassignment(current, current.origin_replicas)
            else:
                out[tp] = (ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
                           "no reassignment of this partition is in progress")
        await self._remove_from_zk_reassignment(lambda tp, _r: tp in start)
        for tp, reassignment in start.items():
            if self._deletion.is_topic_queued_up_for_deletion(tp.topic):
                out[tp] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "the topic is being deleted")
            elif not (ctx.assignment(tp) or ReplicaAssignment(())).replicas:
                out[tp] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "the partition does not exist")
            else:
                await self.on_partition_reassignment(tp, reassignment)
                out[tp] = (ErrorCode.NONE, None)
        return dict(sorted(out.items()))

    def list_reassignments(
        self, partitions: Iterable[TopicPartition] | None
    ) -> dict[TopicPartition, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
        """The partitions (among ``partitions``; None = all) being reassigned:
        ``(replicas, adding, removing)``."""
        ctx = self._ctx
        wanted = ctx.partitions_being_reassigned if partitions is None else set(partitions)
        out = {}
        for tp in sorted(wanted):
            a = ctx.assignment(tp)
            if a is not None and a.is_being_reassigned:
                out[tp] = (a.replicas, a.adding, a.removing)
        return out

    async def maybe_resume(self, should_resume: Callable[[TopicPartition, ReplicaAssignment], bool]) -> None:
        ctx = self._ctx
        for tp in sorted(ctx.partitions_being_reassigned):
            a = ctx.assignment(tp)
            if a is not None and should_resume(tp, a):
                await self.on_partition_reassignment(tp, a)

    async def on_isr_change(self, tp: TopicPartition) -> None:
        """The ISR of ``tp`` changed: finish its reassignment if the targets have caught up."""
        ctx = self._ctx
        if tp not in ctx.partitions_being_reassigned:
            return
        a = ctx.assignment(tp)
        if a is not None and await self._is_complete(tp, a):
            log.info("target replicas caught up", topic=tp.topic, partition=tp.partition,
                     target=list(a.target_replicas))
            await self.on_partition_reassignment(tp, a)

    # -- the algorithm -------------------------------------------------------------------------------
    async def on_partition_reassignment(self, tp: TopicPartition, reassignment: ReplicaAssignment) -> None:
        self._deletion.mark_topic_ineligible_for_deletion([tp.topic], "partition reassignment in progress")
        await self._update_current_reassignment(tp, reassignment)
        if not await self._is_complete(tp, reassignment):
            await self._update_leader_epoch_and_send(tp, reassignment)
            await self._rsm.handle_state_changes([PartitionReplica(tp, r) for r in reassignment.adding], R.NewReplica)
            return
        await self._rsm.handle_state_changes([PartitionReplica(tp, r) for r in reassignment.adding], R.OnlineReplica)
        completed = ReplicaAssignment(reassignment.target_replicas)
        self._ctx.set_assignment(tp, completed)
        await self._move_leader_if_required(tp, completed)
        await self._stop_removed_replicas(tp, reassignment.removing)
        await self._write_assignment(tp, completed)
        await self._remove_from_reassigning(tp, completed)
        self._send_update_metadata(self._ctx.live_or_shutting_down_broker_ids, [tp])
        log.info("reassignment completed", topic=tp.topic, partition=tp.partition, replicas=list(completed.replicas))
        self._events.emit(kinds.PARTITION_REASSIGNED, topic=tp.topic, partition=tp.partition,
                          replicas=list(completed.replicas))
        await self._deletion.resume_deletion_for_topics([tp.topic])

    async def _update_current_reassignment(self, tp: TopicPartition, reassignment: ReplicaAssignment) -> None:
        ctx = self._ctx
        current = ctx.assignment(tp) or ReplicaAssignment(())
        if current != reassignment:
            await self._write_assignment(tp, reassignment)
            ctx.set_assignment(tp, reassignment)
            unneeded = [r for r in current.replicas if r not in reassignment.replicas]
            if unneeded:
                await self._stop_removed_replicas(tp, unneeded)
            log.info("reassignment started", topic=tp.topic, partition=tp.partition,
                     replicas=list(reassignment.replicas), adding=list(reassignment.adding),
                     removing=list(reassignment.removing))
        if tp not in self._isr_watches:
            self._isr_watches[tp] = await self._watch_partition_state(tp)
        ctx.partitions_being_reassigned.add(tp)

    async def _is_complete(self, tp: TopicPartition, assignment: ReplicaAssignment) -> bool:
        if not assignment.is_being_reassigned:
            return True
        li = (await self._zk.get_partition_states([tp])).get(tp)
        return li is not None and is_reassignment_complete(assignment, li.isr)

    async def _move_leader_if_required(self, tp: TopicPartition, assignment: ReplicaAssignment) -> None:
        ctx = self._ctx
        li = ctx.leadership.get(tp)
        leader = li.leader if li else -1
        if leader not in assignment.replicas or not ctx.is_replica_online(leader):
            log.info("moving leader of reassigned partition", topic=tp.topic, partition=tp.partition,
                     leader=leader, replicas=list(assignment.replicas))
            await self._psm.handle_state_changes([tp], PartitionStatus.OnlinePartition, ElectionStrategy.REASSIGN)
        else:
            await self._update_leader_epoch_and_send(tp, assignment)

    async def _stop_removed_replicas(self, tp: TopicPartition, removed: Iterable[int]) -> None:
        replicas = [PartitionReplica(tp, r) for r in removed]
        if not replicas:
            return
        for state in (R.OfflineReplica, R.ReplicaDeletionStarted, R.ReplicaDeletionSuccessful, R.NonExistentReplica):
            await self._rsm.handle_state_changes(replicas, state)

    async def _update_leader_epoch_and_send(self, tp: TopicPartition, assignment: ReplicaAssignment) -> None:
        li = await self._update_leader_epoch(tp)
        if li is None:
            log.error("could not bump the leader epoch of a partition being reassigned", topic=tp.topic,
                      partition=tp.partition)
            return
        self._batch.new_batch()
        self._batch.add_leader_and_isr(assignment.origin_replicas, tp, li, assignment, is_new=False)
        self._batch.add_leader_and_isr(assignment.adding, tp, li, assignment, is_new=True)
        self._send(self._batch.build())

    async def _update_leader_epoch(self, tp: TopicPartition) -> LeaderAndIsr | None:
        """Same leader and ISR with leader_epoch + 1 (so brokers accept the new replica list); retries races."""
        ctx = self._ctx
        while True:
            current = (await self._zk.get_partition_states([tp])).get(tp)
            if current is None:
                raise IllegalStateError(f"cannot update the leader epoch of {tp}: no partition state znode")
            if current.controller_epoch > ctx.epoch:
                log.error("partition state written by a newer controller; not bumping its epoch", topic=tp.topic,
                          partition=tp.partition)
                return None
            new = current.new_leader_and_isr(current.leader, current.isr, ctx.epoch)
            res = (await self._zk.update_partition_states({tp: new}, ctx.epoch_zk_version))[tp]
            if res.status is WriteStatus.CONFLICT:
                continue
            if not res.ok:
                return None
            li = new.with_zk_version(res.zk_version)
            ctx.leadership[tp] = li
            return li

    async def _write_assignment(self, tp: TopicPartition, assignment: ReplicaAssignment) -> None:
        ctx = self._ctx
        topic_assignment = {p: a for p, a in ctx.assignments.get(tp.topic, {}).items()}
        topic_assignment[tp.partition] = assignment
        res = await self._zk.set_topic_assignment(tp.topic, topic_assignment, ctx.epoch_zk_version)
        if not res.ok:
            raise IllegalStateError(f"failed to write the assignment of {tp}: {res.error}")

    async def _remove_from_reassigning(self, tp: TopicPartition, assignment: ReplicaAssignment) -> None:
        watch = self._isr_watches.pop(tp, None)
        if watch is not None:
            await self._zk.cancel_watch(watch)
        await self._remove_from_zk_reassignment(lambda t, r: t == tp and tuple(r) == assignment.replicas)
        self._ctx.partitions_being_reassigned.discard(tp)

    async def _remove_from_zk_reassignment(
        self, should_remove: Callable[[TopicPartition, Sequence[int]], bool]
    ) -> None:
        current = await self._zk.get_partition_reassignment()
        if current is None:
            return
        remaining = {tp: r for tp, r in current.items() if not should_remove(tp, r)}
        if len(remaining) != len(current):
            await self._zk.set_or_delete_partition_reassignment(remaining, self._ctx.epoch_zk_version)
