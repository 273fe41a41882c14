"""Partition state machine (Kafka's ``ZkPartitionStateMachine``), zk-layout.md §2.6.

States and the only legal previous states (anything else is logged and skipped):

| target | legal from | what happens |
|---|---|---|
| NewPartition | NonExistent | just recorded: assignment known, no leader yet |
| OnlinePartition | New, Online, Offline | from New: leader = first live replica, ISR = live replicas, epoch 0, state znode *created*; from Online/Offline: a leader election (strategy below), state znode *updated* conditionally |
| OfflinePartition | New, Online, Offline | recorded (the leader is gone) |
| NonExistentPartition | Offline | recorded (topic deleted) |

Elections use a strategy from :mod:`kafka_zk.controller.election`; results are written with a conditional
update on the zkVersion read just before. A conflict (a leader rewrote the ISR meanwhile) means: read
again, decide again, write again — until every partition either succeeded or failed for a reason. A state
znode whose ``controller_epoch`` is newer than ours was written by a newer controller: we leave it alone.
New partitions send LeaderAndIsr(is_new) to their ISR; elections send it to the strategy's recipients;
both queue UpdateMetadata to every broker (see :mod:`request_batch`).

Decisions (``initial_leader_and_isr``, ``decide_election``) are pure functions of the context; the class
applies them through a :class:`~kafka_zk.controller.leader_isr_store.LeaderIsrStore` and a request batch.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.context import ControllerContext, LeaderAndIsr, PartitionStatus
from kafka_zk.controller.election import (
    Election,
    ElectionStrategy,
    controlled_shutdown_leader,
    offline_leader,
    preferred_leader,
    reassign_leader,
)
from kafka_zk.controller.leader_isr_store import LeaderIsrStore, WriteStatus
from kafka_zk.controller.request_batch import ControllerBrokerRequestBatch, OutboundRequest

log = get_logger(__name__)

P = PartitionStatus
VALID_PREVIOUS_STATES: Mapping[PartitionStatus, frozenset[PartitionStatus]] = {
    P.NewPartition: frozenset({P.NonExistentPartition}),
    P.OnlinePartition: frozenset({P.NewPartition, P.OnlinePartition, P.OfflinePartition}),
    P.OfflinePartition: frozenset({P.NewPartition, P.OnlinePartition, P.OfflinePartition}),
    P.NonExistentPartition: frozenset({P.OfflinePartition}),
}


def is_valid_transition(current: PartitionStatus, target: PartitionStatus) -> bool:
    return current in VALID_PREVIOUS_STATES[target]


def initial_leader_and_isr(ctx: ControllerContext, tp: TopicPartition) -> LeaderAndIsr | None:
    """New → Online: leader = first live replica, ISR = live replicas in assignment order; None if none live."""
    live = [r for r in ctx.replicas(tp) if ctx.is_replica_online(r)]
    if not live:
        return None
    return LeaderAndIsr(live[0], 0, tuple(live), ctx.epoch, 0)


def decide_election(
    ctx: ControllerContext, tp: TopicPartition, current: LeaderAndIsr, strategy: ElectionStrategy, unclean_allowed: bool
) -> Election | None:
    """Run ``strategy`` for one partition on what the context knows about brokers and assignments."""
    assignment = ctx.assignment(tp)
    replicas = assignment.replicas if assignment else ()
    live = ctx.live_broker_ids
    if strategy is ElectionStrategy.OFFLINE:
        return offline_leader(replicas, current.isr, live, unclean_allowed)
    if strategy is ElectionStrategy.REASSIGN:
        targets = assignment.target_replicas if assignment else ()
        return reassign_leader(targets, current.isr, live)
    if strategy is ElectionStrategy.PREFERRED:
        return preferred_leader(replicas, current.isr, live)
    return controlled_shutdown_leader(replicas, current.isr, ctx.live_or_shutting_down_broker_ids, ctx.shutting_down)


def needs_unclean_check(ctx: ControllerContext, current: LeaderAndIsr) -> bool:
    """True when no ISR member is live: only an unclean election could give a leader."""
    return not any(ctx.is_replica_online(r) for r in current.isr)


class PartitionStateMachine:
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

    # -- startup -------------------------------------------------------------------------------------
    def initialize_states(self) -> None:
        """Failover: Online if the cached leader is live, Offline if not, New without a state znode."""
        ctx = self._ctx
        for tp in ctx.all_partitions():
            li = ctx.leadership.get(tp)
            if li is None:
                ctx.partition_states[tp] = P.NewPartition
            elif ctx.is_replica_online(li.leader):
                ctx.partition_states[tp] = P.OnlinePartition
            else:
                ctx.partition_states[tp] = P.OfflinePartition

    async def trigger_online_partition_state_change(
        self, partitions: Iterable[TopicPartition] | None = None
    ) -> dict[TopicPartition, str]:
        """Try to bring every New/Offline partition (of topics not being deleted) online, offline strategy."""
        ctx = self._ctx
        candidates = ctx.partitions_in_states(P.NewPartition, P.OfflinePartition) if partitions is None else partitions
        todo = [
            tp
            for tp in candidates
            if ctx.partition_states.get(tp) in (P.NewPartition, P.OfflinePartition)
            and not ctx.is_topic_queued_up_for_deletion(tp.topic)
        ]
        return await self.handle_state_changes(todo, P.OnlinePartition, ElectionStrategy.OFFLINE)

    # -- transitions ---------------------------------------------------------------------------------
    async def handle_state_changes(
        self,
        partitions: Iterable[TopicPartition],
        target: PartitionStatus,
        strategy: ElectionStrategy = ElectionStrategy.OFFLINE,
        allow_unclean: bool = False,
    ) -> dict[TopicPartition, str]:
        """Move ``partitions`` to ``target``; returns ``{tp: reason}`` for those that failed.

        Sends the LeaderAndIsr/UpdateMetadata the changes imply at the end (one batch per call).
        Raises ``ControllerMovedError`` (resign) and :class:`IllegalStateError` (batch misuse).
        """
        tps = list(partitions)
        if not tps:
            return {}
        self._batch.new_batch()
        failures = await self._do_handle_state_changes(tps, target, strategy, allow_unclean)
        self._send(self._batch.build())
        return failures

    async def _do_handle_state_changes(
        self, tps: list[TopicPartition], target: PartitionStatus, strategy: ElectionStrategy, allow_unclean: bool
    ) -> dict[TopicPartition, str]:
        ctx = self._ctx
        failures: dict[TopicPartition, str] = {}
        valid: list[TopicPartition] = []
        for tp in tps:
            current = ctx.partition_states.setdefault(tp, P.NonExistentPartition)
            if is_valid_transition(current, target):
                valid.append(tp)
            else:
                reason = f"illegal partition state transition {current.name} -> {target.name}"
                log.error("partition state change failed", topic=tp.topic, partition=tp.partition, reason=reason)
                failures[tp] = reason
        if target is P.OnlinePartition:
            new = [tp for tp in valid if ctx.partition_states[tp] is P.NewPartition]
            elect = [tp for tp in valid if ctx.partition_states[tp] is not P.NewPartition]
            failures.update(await self._initialize_leader_and_isr(new))
            failures.update(await self.elect_leaders(elect, strategy, allow_unclean))
        else:
            for tp in valid:
                self._set_state(tp, target)
        return failures

    def _set_state(self, tp: TopicPartition, target: PartitionStatus) -> None:
        previous = self._ctx.partition_states.get(tp, P.NonExistentPartition)
        self._ctx.partition_states[tp] = target
        log.debug("partition state changed", topic=tp.topic, partition=tp.partition, frm=previous.name, to=target.name)
        if target is P.OfflinePartition and previous is not P.OfflinePartition:
            self._events.emit(kinds.PARTITION_OFFLINE, topic=tp.topic, partition=tp.partition)

    async def _initialize_leader_and_isr(self, tps: list[TopicPartition]) -> dict[TopicPartition, str]:
        ctx = self._ctx
        failures: dict[TopicPartition, str] = {}
        planned: dict[TopicPartition, LeaderAndIsr] = {}
        for tp in tps:
            li = initial_leader_and_isr(ctx, tp)
            if li is None:
                failures[tp] = f"no live replica among {list(ctx.replicas(tp))}"
                log.warning("new partition has no live replica", topic=tp.topic, partition=tp.partition,
                            replicas=list(ctx.replicas(tp)))
            else:
                planned[tp] = li
        if not planned:
            return failures
        results = await self._store.create_partition_states(planned, ctx.epoch_zk_version)
        for tp, li in planned.items():
            res = results[tp]
            if not res.ok:
                failures[tp] = f"could not create the partition state znode: {res.error or res.status.value}"
                log.error("initializing leader and isr failed", topic=tp.topic, partition=tp.partition,
                          reason=failures[tp])
                continue
            li = li.with_zk_version(res.zk_version)
            ctx.leadership[tp] = li
            assignment = ctx.assignment(tp)
            assert assignment is not None
            self._batch.add_leader_and_isr(li.isr, tp, li, assignment, is_new=True)
            self._set_state(tp, P.OnlinePartition)
            self._emit_elected(tp, li, "new")
        return failures

    async def elect_leaders(
        self, tps: list[TopicPartition], strategy: ElectionStrategy, allow_unclean: bool = False
    ) -> dict[TopicPartition, str]:
        """Elect leaders with ``strategy``; loops on write conflicts. Returns failures; successes go Online."""
        failures: dict[TopicPartition, str] = {}
        remaining = list(tps)
        while remaining:
            failed, remaining = await self._elect_once(remaining, strategy, allow_unclean)
            failures.update(failed)
            if remaining:
                log.info("retrying leader election after a conflicting write", strategy=strategy.value,
                         partitions=[str(tp) for tp in remaining])
        return failures

    async def _elect_once(
        self, tps: list[TopicPartition], strategy: ElectionStrategy, allow_unclean: bool
    ) -> tuple[dict[TopicPartition, str], list[TopicPartition]]:
        ctx = self._ctx
        failures: dict[TopicPartition, str] = {}
        current = await self._store.get_partition_states(tps)
        valid: dict[TopicPartition, LeaderAndIsr] = {}
        for tp in tps:
            li = current.get(tp)
            if li is None:
                failures[tp] = "partition state znode does not exist"
            elif li.controller_epoch > ctx.epoch:
                failures[tp] = (f"state written by a newer controller (epoch {li.controller_epoch} > {ctx.epoch}); "
                                "leaving it alone")
            else:
                valid[tp] = li
        unclean_topics: set[str] = set()
        if strategy is ElectionStrategy.OFFLINE:
            needing = sorted({tp.topic for tp, li in valid.items() if needs_unclean_check(ctx, li)})
            if needing:
                if allow_unclean:
                    unclean_topics = set(needing)
                else:
                    enabled = await self._store.unclean_leader_election_enabled(needing)
                    unclean_topics = {t for t in needing if enabled.get(t)}
        decided: dict[TopicPartition, tuple[LeaderAndIsr, Election]] = {}
        for tp, li in valid.items():
            election = decide_election(ctx, tp, li, strategy, tp.topic in unclean_topics)
            if election is None:
                failures[tp] = f"no eligible leader under the {strategy.value} strategy (isr={list(li.isr)})"
                continue
            decided[tp] = (li.new_leader_and_isr(election.leader, election.isr, ctx.epoch), election)
        for tp, reason in failures.items():
            log.info("leader election failed", topic=tp.topic, partition=tp.partition, strategy=strategy.value,
                     reason=reason)
        if not decided:
            return failures, []
        results = await self._store.update_partition_states({tp: d[0] for tp, d in decided.items()},
                                                             ctx.epoch_zk_version)
        retry: list[TopicPartition] = []
        for tp, (li, election) in decided.items():
            res = results[tp]
            if res.status is WriteStatus.CONFLICT:
                retry.append(tp)
                continue
            if not res.ok:
                failures[tp] = f"writing the partition state failed: {res.error}"
                log.error("leader election write failed", topic=tp.topic, partition=tp.partition, reason=res.error)
                continue
            li = li.with_zk_version(res.zk_version)
            ctx.leadership[tp] = li
            assignment = ctx.assignment(tp)
            assert assignment is not None
            self._batch.add_leader_and_isr(election.recipients, tp, li, assignment, is_new=False)
            self._set_state(tp, P.OnlinePartition)
            if election.unclean:
                log.warning("UNCLEAN leader election: the new leader was not in sync, committed messages may be lost",
                            topic=tp.topic, partition=tp.partition, leader=li.leader, leader_epoch=li.leader_epoch)
                self._events.emit(kinds.ELECTION_UNCLEAN, topic=tp.topic, partition=tp.partition, leader=li.leader,
                                  leader_epoch=li.leader_epoch)
            self._emit_elected(tp, li, strategy.value)
        return failures, retry

    def _emit_elected(self, tp: TopicPartition, li: LeaderAndIsr, strategy: str) -> None:
        log.info("leader elected", topic=tp.topic, partition=tp.partition, leader=li.leader,
                 leader_epoch=li.leader_epoch, isr=list(li.isr), strategy=strategy)
        self._events.emit(kinds.PARTITION_LEADER_ELECTED, topic=tp.topic, partition=tp.partition, leader=li.leader,
                          leader_epoch=li.leader_epoch, isr=list(li.isr), strategy=strategy)
