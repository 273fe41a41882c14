"""What a broker does while it *is* the controller: failover initialization and the event handlers.

An :class:`ActiveController` exists from winning an election until resigning; it owns the context, the
state machines, the control channel and every controller watch. Resigning closes it and throws it away,
so a later election starts from a fresh context (Kafka resets its context field by field; dropping the
object is the same thing with less to forget).

Failover follows zk-layout.md §2.3 step by step (see :meth:`on_failover`); broker membership §2.5; topic
creation §2.11; deletion via :mod:`topic_deletion`; ISR notifications §2.13; controlled shutdown §2.14;
reassignment via :mod:`reassignment`; preferred elections and auto rebalance §2.16. Every method here runs
on the controller's single event consumer (see :mod:`kafka_zk.controller.events`), one at a time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Iterable

from zk_layout import paths

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.control import StopReplicaRequest, LeaderAndIsrRequest
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller import events as ev
from kafka_zk.controller.channel import ControllerChannelManager
from kafka_zk.controller.config import ControllerConfig
from kafka_zk.controller.context import (
    NO_LEADER,
    ControllerContext,
    PartitionReplica,
    PartitionStatus,
    ReplicaStatus,
)
from kafka_zk.controller.election import ElectionStrategy
from kafka_zk.controller.partition_state_machine import PartitionStateMachine
from kafka_zk.controller.reassignment import ReassignmentManager
from kafka_zk.controller.rebalance import partitions_to_rebalance
from kafka_zk.controller.replica_state_machine import ReplicaStateMachine
from kafka_zk.controller.request_batch import ControllerBrokerRequestBatch, OutboundRequest
from kafka_zk.controller.topic_deletion import TopicDeletionManager
from kafka_zk.controller.zk_ops import Cancellable, ControllerZk

log = get_logger(__name__)

P = PartitionStatus
R = ReplicaStatus
ElectionResults = dict[TopicPartition, tuple[ErrorCode, str | None]]


class ActiveController:
    def __init__(
        self,
        broker_id: int,
        epoch: int,
        epoch_zk_version: int,
        zk: ControllerZk,
        config: ControllerConfig,
        events: EventBus,
        notify: Callable[[ev.ControllerEvent], None],
    ) -> None:
        self.broker_id = broker_id
        self.zk = zk
        self.config = config
        self.events = events
        self._notify = notify  # put an event on the controller queue (called on the loop)
        self.ctx = ControllerContext(epoch=epoch, epoch_zk_version=epoch_zk_version)
        self.channel = ControllerChannelManager(
            broker_id,
            config.control_plane_listener_name,
            config.request_timeout_ms,
            config.controller_socket_timeout_ms,
            config.channel_retry_backoff_ms,
        )
        self.batch = ControllerBrokerRequestBatch(
            self.ctx, broker_id, config.inter_broker_listener_name, config.control_plane_listener_name
        )
        self.psm = PartitionStateMachine(self.ctx, zk, self.batch, self.dispatch, events)
        self.rsm = ReplicaStateMachine(self.ctx, zk, self.batch, self.dispatch, events)
        self.deletion = TopicDeletionManager(
            self.ctx, self.psm, self.rsm, zk, self.send_update_metadata, self._unwatch_topic, events,
            config.delete_topic_enable,
        )
        self.reassignment = ReassignmentManager(
            self.ctx, zk, self.psm, self.rsm, self.batch, self.dispatch, self.deletion,
            self._watch_partition_state, self.send_update_metadata, events,
        )
        self._watches: list[Cancellable] = []
        self._topic_watches: dict[str, Cancellable] = {}
        self._broker_watches: dict[int, Cancellable] = {}
        self._rebalance_task: asyncio.Task[None] | None = None

    # -- sending -------------------------------------------------------------------------------------
    def dispatch(self, requests: list[OutboundRequest]) -> None:
        """Hand built requests to the channel; responses come back as controller events."""
        for req in requests:
            msg = req.message
            callback: Callable[[Any], None] | None = None
            if isinstance(msg, LeaderAndIsrRequest):
                callback = self._leader_and_isr_callback(req.broker_id)
            elif isinstance(msg, StopReplicaRequest) and any(s.delete_partition for s in msg.partition_states):
                callback = self._stop_replica_callback(req.broker_id, msg)
            self.channel.send(req.broker_id, msg, callback)

    def _leader_and_isr_callback(self, broker_id: int) -> Callable[[Any], None]:
        epoch = self.ctx.epoch
        return lambda resp: self._notify(ev.LeaderAndIsrResponseReceived(epoch, broker_id, resp))

    def _stop_replica_callback(self, broker_id: int, req: StopReplicaRequest) -> Callable[[Any], None]:
        deleted = [TopicPartition(s.topic, s.partition) for s in req.partition_states if s.delete_partition]
        epoch = self.ctx.epoch

        def on_response(resp: Any) -> None:
            errors = {TopicPartition(pe.topic, pe.partition): pe.error_code for pe in resp.partition_errors}
            per_partition = tuple((tp, errors.get(tp, resp.error_code)) for tp in deleted)
            self._notify(ev.TopicDeletionStopReplicaResponseReceived(epoch, broker_id, resp.error_code, per_partition))

        return on_response

    def send_update_metadata(self, broker_ids: Iterable[int], partitions: Iterable[TopicPartition]) -> None:
        self.batch.new_batch()
        self.batch.add_update_metadata(broker_ids, partitions)
        self.dispatch(self.batch.build())

    # -- watches -------------------------------------------------------------------------------------
    async def _watch_topic(self, topic: str) -> None:
        if topic not in self._topic_watches:

            def changed(_exists: bool) -> None:
                self._notify(ev.PartitionModifications(topic))

            self._topic_watches[topic] = await self.zk.watch_data(paths.topic_path(topic), changed)

    async def _unwatch_topic(self, topic: str) -> None:
        w = self._topic_watches.pop(topic, None)
        if w is not None:
            await self.zk.cancel_watch(w)

    async def _watch_broker(self, broker_id: int) -> None:
        if broker_id not in self._broker_watches:

            def changed(_exists: bool) -> None:
                self._notify(ev.BrokerModifications(broker_id))

            self._broker_watches[broker_id] = await self.zk.watch_data(paths.broker_id_path(broker_id), changed)

    async def _unwatch_broker(self, broker_id: int) -> None:
        w = self._broker_watches.pop(broker_id, None)
        if w is not None:
            await self.zk.cancel_watch(w)

    async def _watch_partition_state(self, tp: TopicPartition) -> Cancellable:
        def changed(_exists: bool) -> None:
            self._notify(ev.PartitionReassignmentIsrChange(tp))

        return await self.zk.watch_data(paths.partition_state_path(tp.topic, tp.partition), changed)

    def _notifier(self, event: type[ev.ControllerEvent]) -> Callable[[], None]:
        return lambda: self._notify(event())

    def _notifier_if_exists(self, event: type[ev.ControllerEvent]) -> Callable[[bool], None]:
        def changed(exists: bool) -> None:
            if exists:
                self._notify(event())

        return changed

    # -- failover and resignation --------------------------------------------------------------------
    async def on_failover(self) -> None:
        """zk-layout.md §2.3, in Kafka's order."""
        started_at = time.monotonic()
        zk, ctx = self.zk, self.ctx
        self.channel.start()
        # 2. controller watches (armed before reading, so nothing between read and watch is missed)
        children_watches: list[tuple[str, type[ev.ControllerEvent]]] = [
            (paths.BROKER_IDS, ev.BrokerChange),
            (paths.BROKER_TOPICS, ev.TopicChange),
            (paths.DELETE_TOPICS, ev.TopicDeletion),
            (paths.ISR_CHANGE_NOTIFICATION, ev.IsrChangeNotification),
        ]
        for path, event in children_watches:
            self._watches.append(await zk.watch_children(path, self._notifier(event)))
        for path, event in ((paths.PREFERRED_REPLICA_ELECTION, ev.ReplicaLeaderElection),
                            (paths.REASSIGN_PARTITIONS, ev.ZkPartitionReassignment)):
            self._watches.append(await zk.watch_data(path, self._notifier_if_exists(event)))
        # 3. stale notifications
        await zk.delete_log_dir_event_notifications(ctx.epoch_zk_version)
        await zk.delete_isr_change_notifications(None, ctx.epoch_zk_version)
        # 4. context
        await self._initialize_context()
        # 5. deletion manager
        queued = await zk.get_topic_deletions()
        ineligible = {
            t for t in queued
            if any(not ctx.is_replica_online(pr.replica) for pr in ctx.replicas_for_topic(t))
            or any(tp.topic == t for tp in ctx.partitions_being_reassigned)
        }
        await self.deletion.init(queued, ineligible)
        # 6. live brokers first, so LeaderAndIsr finds leaders in the brokers' metadata
        self.send_update_metadata(ctx.live_or_shutting_down_broker_ids, [])
        # 7. replica state machine
        self.rsm.initialize_states()
        online, offline = self.rsm.online_and_offline_replicas()
        await self.rsm.handle_state_changes(online, R.OnlineReplica)
        await self.rsm.handle_state_changes(offline, R.OfflineReplica)
        # 8. partition state machine
        self.psm.initialize_states()
        await self.psm.trigger_online_partition_state_change()
        # 9. reassignments: ZooKeeper-submitted ones, then those recorded in topic znodes
        started = await self.reassignment.process_zk_reassignment()
        await self.reassignment.maybe_resume(lambda tp, _a: tp not in started)
        # 10. deletions
        await self.deletion.try_topic_deletion()
        # 11. pending preferred elections
        pending = await zk.get_preferred_replica_election()
        if pending is not None:
            await self.on_replica_election(pending, ElectionStrategy.PREFERRED, "zk")
        # 12. auto rebalance
        if self.config.auto_leader_rebalance_enable:
            self._rebalance_task = asyncio.get_running_loop().create_task(self._rebalance_timer(),
                                                                         name="controller-auto-rebalance")
        duration_ms = round((time.monotonic() - started_at) * 1000, 1)
        log.info("controller failover complete", epoch=ctx.epoch, brokers=sorted(ctx.live_brokers),
                 topics=len(ctx.all_topics), partitions=len(ctx.partition_states),
                 offline_partitions=ctx.offline_partition_count(), duration_ms=duration_ms)
        self.events.emit(kinds.CONTROLLER_FAILOVER_DONE, controller=self.broker_id, epoch=ctx.epoch,
                         topics=len(ctx.all_topics), partitions=len(ctx.partition_states),
                         offline_partitions=ctx.offline_partition_count(), duration_ms=duration_ms)

    async def _initialize_context(self) -> None:
        zk, ctx = self.zk, self.ctx
        for broker in (await zk.get_all_brokers()).values():
            ctx.add_live_broker(broker)
        ctx.all_topics = await zk.get_all_topics()
        # Topics without a topic id get one first (Kafka 2.8, inter-broker protocol 2.8), so what is read
        # below has it.
        await zk.assign_missing_topic_ids(sorted(ctx.all_topics), ctx.epoch_zk_version)
        for topic in sorted(ctx.all_topics):
            await self._watch_topic(topic)
        for topic, parts in (await zk.get_topic_assignments(ctx.all_topics)).items():
            self._remember_topic_id(topic)
            for p, a in parts.items():
                tp = TopicPartition(topic, p)
                ctx.set_assignment(tp, a)
                if a.is_being_reassigned:
                    ctx.partitions_being_reassigned.add(tp)
        for broker_id in sorted(ctx.live_brokers):
            await self._watch_broker(broker_id)
        states = await zk.get_partition_states(ctx.all_partitions())
        ctx.leadership.update({tp: li for tp, li in states.items() if li is not None})
        for broker in ctx.live_brokers.values():
            self.channel.add_broker(broker)

    async def close(self) -> None:
        """Resignation: stop timers, watches and the channel (the context is dropped with this object)."""
        if self._rebalance_task is not None:
            self._rebalance_task.cancel()
            await asyncio.gather(self._rebalance_task, return_exceptions=True)
        watches = self._watches + list(self._topic_watches.values()) + list(self._broker_watches.values())
        self._watches, self._topic_watches, self._broker_watches = [], {}, {}
        for w in watches:
            try:
                await self.zk.cancel_watch(w)
            except Exception:
                log.exception("cancelling a controller watch failed")
        await self.reassignment.close()
        await self.channel.shutdown()
        self.batch.clear()

    async def _rebalance_timer(self) -> None:
        await asyncio.sleep(self.config.first_rebalance_check_delay_s)
        while True:
            self._notify(ev.AutoPreferredReplicaLeaderElection())
            await asyncio.sleep(self.config.leader_imbalance_check_interval_seconds)

    # -- broker membership (§2.5) --------------------------------------------------------------------
    async def on_broker_change(self) -> None:
        ctx = self.ctx
        current = await self.zk.get_all_brokers()
        known = dict(ctx.live_brokers)
        new = [current[i] for i in sorted(current) if i not in known]
        dead = [i for i in sorted(known) if i not in current]
        bounced = [current[i] for i in sorted(current) if i in known and current[i].epoch > known[i].epoch]
        if not (new or dead or bounced):
            return
        log.info("broker change", new=[b.id for b in new], dead=dead, bounced=[b.id for b in bounced],
                 live=sorted(current))
        for b in new:
            self.channel.add_broker(b)
        for b in bounced:
            self.channel.remove_broker(b.id)
            self.channel.add_broker(b)
        for i in dead:
            self.channel.remove_broker(i)
        if new:
            for b in new:
                ctx.add_live_broker(b)
                self.events.emit(kinds.BROKER_JOINED, broker=b.id, broker_epoch=b.epoch)
            await self.on_broker_startup([b.id for b in new])
        if bounced:
            for b in bounced:
                ctx.remove_live_broker(b.id)
                self.events.emit(kinds.BROKER_FAILED, broker=b.id, reason="bounced")
            await self.on_broker_failure([b.id for b in bounced])
            for b in bounced:
                ctx.add_live_broker(b)
                self.events.emit(kinds.BROKER_JOINED, broker=b.id, broker_epoch=b.epoch)
            await self.on_broker_startup([b.id for b in bounced])
        if dead:
            for i in dead:
                ctx.remove_live_broker(i)
                self.events.emit(kinds.BROKER_FAILED, broker=i, reason="session gone")
            await self.on_broker_failure(dead)

    async def on_broker_modifications(self, broker_id: int) -> None:
        ctx = self.ctx
        current = await self.zk.get_broker(broker_id)
        known = ctx.live_brokers.get(broker_id)
        if current is None or known is None or current.epoch != known.epoch:
            await self.on_broker_change()  # gone or re-registered: membership, not modification
            return
        if current.endpoints != known.endpoints or current.rack != known.rack:
            log.info("broker endpoints changed", broker=broker_id,
                     endpoints=[f"{e.listener}://{e.host}:{e.port}" for e in current.endpoints])
            ctx.add_live_broker(current)
            self.channel.remove_broker(broker_id)
            self.channel.add_broker(current)
            self.send_update_metadata(ctx.live_or_shutting_down_broker_ids, [])

    async def on_broker_startup(self, new_ids: list[int]) -> None:
        ctx = self.ctx
        new = set(new_ids)
        self.send_update_metadata(ctx.live_or_shutting_down_broker_ids - new, [])
        with_leaders = [tp for tp in sorted(ctx.leadership) if not ctx.is_topic_queued_up_for_deletion(tp.topic)]
        self.send_update_metadata(new, with_leaders)
        replicas = ctx.replicas_on_brokers(new)
        await self.rsm.handle_state_changes(replicas, R.OnlineReplica)
        await self.psm.trigger_online_partition_state_change()
        await self.reassignment.maybe_resume(lambda _tp, a: any(r in new for r in a.target_replicas))
        deleting = {pr.tp.topic for pr in replicas if self.deletion.is_topic_queued_up_for_deletion(pr.tp.topic)}
        if deleting:
            await self.deletion.resume_deletion_for_topics(deleting)
        for broker_id in sorted(new):
            await self._watch_broker(broker_id)

    async def on_broker_failure(self, dead_ids: list[int]) -> None:
        started_at = time.monotonic()
        ctx = self.ctx
        for broker_id in dead_ids:
            ctx.shutting_down.discard(broker_id)
        replicas = ctx.replicas_on_brokers(dead_ids)
        led_before = {tp for tp, li in ctx.leadership.items() if li.leader in dead_ids}
        await self.on_replicas_become_offline(replicas)
        for broker_id in dead_ids:
            await self._unwatch_broker(broker_id)
        moved = sum(1 for tp in led_before if (li := ctx.leadership.get(tp)) is not None and li.leader not in dead_ids
                    and li.leader != NO_LEADER)
        # The bench (tools/bench_controller.py) times failover from outside with this event.
        self.events.emit(kinds.BROKER_FAILURE_HANDLED, brokers=sorted(dead_ids), partitions=len(replicas),
                         leaders_elected=moved, duration_ms=round((time.monotonic() - started_at) * 1000, 1))

    async def on_replicas_become_offline(self, replicas: list[PartitionReplica]) -> None:
        ctx = self.ctx
        deleting = [pr for pr in replicas if self.deletion.is_topic_queued_up_for_deletion(pr.tp.topic)]
        others = [pr for pr in replicas if not self.deletion.is_topic_queued_up_for_deletion(pr.tp.topic)]
        leaderless = [
            tp for tp, li in sorted(ctx.leadership.items())
            if not ctx.is_replica_online(li.leader) and not self.deletion.is_topic_queued_up_for_deletion(tp.topic)
        ]
        await self.psm.handle_state_changes(leaderless, P.OfflinePartition)
        await self.psm.trigger_online_partition_state_change()
        await self.rsm.handle_state_changes(others, R.OfflineReplica)
        if deleting:
            await self.deletion.fail_replica_deletion(deleting)
        if not leaderless:
            self.send_update_metadata(ctx.live_or_shutting_down_broker_ids, [])

    # -- topics (§2.11) ------------------------------------------------------------------------------
    async def on_topic_change(self) -> None:
        ctx = self.ctx
        topics = await self.zk.get_all_topics()
        new = topics - ctx.all_topics
        deleted = ctx.all_topics - topics
        ctx.all_topics = set(topics)
        for t in sorted(deleted):
            await self._unwatch_topic(t)
            ctx.remove_topic(t)
        if not new:
            return
        for t in sorted(new):
            await self._watch_topic(t)
        await self.zk.assign_missing_topic_ids(sorted(new), ctx.epoch_zk_version)  # Kafka 2.8: ids first
        added: list[TopicPartition] = []
        for topic, parts in (await self.zk.get_topic_assignments(new)).items():
            self._remember_topic_id(topic)
            for p, a in sorted(parts.items()):
                tp = TopicPartition(topic, p)
                ctx.set_assignment(tp, a)
                added.append(tp)
        log.info("new topics", topics=sorted(new), partitions=len(added))
        if added:
            await self.on_new_partition_creation(added)
        for t in sorted(new):
            if t in ctx.all_topics:
                self.events.emit(kinds.TOPIC_CREATED, topic=t, partitions=len(ctx.partitions_for_topic(t)))

    def _remember_topic_id(self, topic: str) -> None:
        topic_id = self.zk.topic_id(topic)
        if topic_id:
            self.ctx.topic_ids[topic] = topic_id

    async def on_new_partition_creation(self, tps: list[TopicPartition]) -> None:
        replicas = self.ctx.replicas_for_partitions(tps)
        await self.psm.handle_state_changes(tps, P.NewPartition)
        await self.rsm.handle_state_changes(replicas, R.NewReplica)
        await self.psm.handle_state_changes(tps, P.OnlinePartition, ElectionStrategy.OFFLINE)
        await self.rsm.handle_state_changes(replicas, R.OnlineReplica)

    async def on_partition_modifications(self, topic: str) -> None:
        ctx = self.ctx
        got = await self.zk.get_topic_assignments([topic])
        if topic not in got or topic not in ctx.all_topics:
            return
        existing = dict(ctx.assignments.get(topic, {}))
        added = {p: a for p, a in got[topic].items() if p not in existing}
        if not added:
            return
        if self.deletion.is_topic_queued_up_for_deletion(topic):
            log.warning("not adding partitions to a topic being deleted; restoring its assignment", topic=topic,
                        partitions=sorted(added))
            await self.zk.set_topic_assignment(topic, existing, ctx.epoch_zk_version)
            return
        log.info("partitions added", topic=topic, partitions=sorted(added))
        tps = []
        for p, a in sorted(added.items()):
            tp = TopicPartition(topic, p)
            ctx.set_assignment(tp, a)
            tps.append(tp)
        await self.on_new_partition_creation(tps)

    async def on_topic_deletion(self) -> None:
        ctx = self.ctx
        topics = await self.zk.get_topic_deletions()
        unknown = topics - ctx.all_topics
        if unknown:
            log.info("removing deletion requests for unknown topics", topics=sorted(unknown))
            await self.zk.delete_topic_deletions(unknown, ctx.epoch_zk_version)
        topics -= unknown
        if not topics:
            return
        if not self.config.delete_topic_enable:
            log.warning("delete.topic.enable is false; ignoring and removing deletion requests", topics=sorted(topics))
            await self.zk.delete_topic_deletions(topics, ctx.epoch_zk_version)
            return
        reassigning = {tp.topic for tp in ctx.partitions_being_reassigned} & topics
        if reassigning:
            self.deletion.mark_topic_ineligible_for_deletion(reassigning, "partition reassignment in progress")
        await self.deletion.enqueue_topics_for_deletion(topics)

    async def on_stop_replica_response(self, e: ev.TopicDeletionStopReplicaResponseReceived) -> None:
        ctx = self.ctx
        started = [(tp, code) for tp, code in e.partition_errors
                   if ctx.replica_states.get(PartitionReplica(tp, e.broker_id)) is R.ReplicaDeletionStarted]
        if not started:
            return
        failed = [tp for tp, code in started if e.error_code != 0 or code != 0]
        if failed:
            log.warning("replica deletion failed", broker=e.broker_id, partitions=[str(tp) for tp in failed],
                        error_code=e.error_code)
            await self.deletion.fail_replica_deletion([PartitionReplica(tp, e.broker_id) for tp in failed])
        done = [PartitionReplica(tp, e.broker_id) for tp, _ in started if tp not in set(failed)]
        if done:
            await self.deletion.complete_replica_deletion(done)

    def on_leader_and_isr_response(self, e: ev.LeaderAndIsrResponseReceived) -> None:
        resp = e.response
        if resp.error_code != 0:
            log.warning("LeaderAndIsr request failed", broker=e.broker_id, error_code=resp.error_code)
            return
        # STALE_CONTROLLER_EPOCH per partition = "leader epoch not newer than mine": expected when a state
        # change resends an unchanged partition (Kafka does the same); anything else deserves attention.
        stale = int(ErrorCode.STALE_CONTROLLER_EPOCH)
        errors = [(pe.topic, pe.partition, pe.error_code) for pe in resp.partition_errors if pe.error_code != 0]
        serious = [err for err in errors if err[2] != stale]
        if serious:
            log.warning("LeaderAndIsr partition errors", broker=e.broker_id, errors=serious)
        elif errors:
            log.debug("LeaderAndIsr partitions already at this leader epoch", broker=e.broker_id, errors=errors)

    # -- ISR changes (§2.13) -------------------------------------------------------------------------
    async def on_isr_change_notification(self) -> None:
        ctx = self.ctx
        seqs = await self.zk.get_isr_change_notifications()
        if not seqs:
            return
        try:
            tps = await self.zk.get_partitions_from_isr_change_notifications(seqs)
            known = [tp for tp in tps if ctx.assignment(tp) is not None]
            if known:
                states = await self.zk.get_partition_states(known)
                for tp, li in states.items():
                    if li is None:
                        continue
                    old = ctx.leadership.get(tp)
                    ctx.leadership[tp] = li
                    if old is None or old.isr != li.isr:
                        self.events.emit(kinds.ISR_CHANGED, topic=tp.topic, partition=tp.partition, leader=li.leader,
                                         leader_epoch=li.leader_epoch, isr=list(li.isr), source="leader")
                self.send_update_metadata(ctx.live_or_shutting_down_broker_ids, known)
                for tp in known:
                    if tp in ctx.partitions_being_reassigned:
                        await self.reassignment.on_isr_change(tp)
        finally:
            await self.zk.delete_isr_change_notifications(seqs, ctx.epoch_zk_version)

    # -- preferred / unclean elections (§2.16) -------------------------------------------------------
    async def on_replica_election(
        self, partitions: Iterable[TopicPartition] | None, strategy: ElectionStrategy, trigger: str
    ) -> ElectionResults:
        """Kafka's ``processReplicaLeaderElection``; ``partitions=None`` (admin) means every partition.

        ``strategy`` is PREFERRED, or OFFLINE for an unclean election (unclean leaders allowed when the
        admin triggered it); raises ValueError for the strategies that are not replica elections."""
        if strategy not in (ElectionStrategy.PREFERRED, ElectionStrategy.OFFLINE):
            raise ValueError(f"{strategy} is not a replica leader election")
        preferred = strategy is ElectionStrategy.PREFERRED
        ctx = self.ctx
        wanted = set(ctx.all_partitions()) if partitions is None else {TopicPartition(*tp) for tp in partitions}
        results: ElectionResults = {}
        electable: list[TopicPartition] = []
        for tp in sorted(wanted):
            if ctx.assignment(tp) is None:
                results[tp] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "the partition does not exist")
            elif self.deletion.is_topic_queued_up_for_deletion(tp.topic):
                results[tp] = (ErrorCode.INVALID_TOPIC_EXCEPTION, "the topic is being deleted")
            else:
                li = ctx.leadership.get(tp)
                leader = li.leader if li else NO_LEADER
                if preferred:
                    replicas = ctx.replicas(tp)
                    needed = bool(replicas) and leader != replicas[0]
                else:
                    needed = leader == NO_LEADER or leader not in ctx.live_broker_ids
                if needed:
                    electable.append(tp)
                else:
                    results[tp] = (ErrorCode.ELECTION_NOT_NEEDED, None)
        if electable:
            log.info("replica leader election", type="preferred" if preferred else "unclean", trigger=trigger,
                     partitions=[str(tp) for tp in electable])
            try:
                if preferred:
                    failures = await self.psm.handle_state_changes(electable, P.OnlinePartition,
                                                                   ElectionStrategy.PREFERRED)
                    fail_code = ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
                else:
                    failures = await self.psm.handle_state_changes(
                        electable, P.OnlinePartition, ElectionStrategy.OFFLINE, allow_unclean=trigger == "admin")
                    fail_code = ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE
            finally:
                if trigger == "zk":
                    await self.zk.delete_preferred_replica_election(ctx.epoch_zk_version)
            for tp in electable:
                results[tp] = (fail_code, failures[tp]) if tp in failures else (ErrorCode.NONE, None)
        elif trigger == "zk":
            await self.zk.delete_preferred_replica_election(ctx.epoch_zk_version)
        return results

    async def on_zk_replica_election(self) -> None:
        pending = await self.zk.get_preferred_replica_election()
        if pending is not None:
            await self.on_replica_election(pending, ElectionStrategy.PREFERRED, "zk")

    async def on_auto_rebalance(self) -> None:
        tps = partitions_to_rebalance(self.ctx, self.config.leader_imbalance_per_broker_percentage)
        if tps:
            log.info("leader imbalance above threshold; moving leaders to preferred replicas",
                     partitions=[str(tp) for tp in tps])
            await self.psm.handle_state_changes(tps, P.OnlinePartition, ElectionStrategy.PREFERRED)

    async def on_topic_unclean_leader_election_enable(self, topic: str) -> None:
        await self.psm.trigger_online_partition_state_change(self.ctx.partitions_for_topic(topic))

    # -- controlled shutdown (§2.14) -----------------------------------------------------------------
    async def on_controlled_shutdown(self, broker_id: int, broker_epoch: int) -> tuple[ErrorCode, list[TopicPartition]]:
        ctx = self.ctx
        known = ctx.live_brokers.get(broker_id)
        if known is None:
            return ErrorCode.BROKER_NOT_AVAILABLE, []
        if broker_epoch != -1 and broker_epoch < known.epoch:
            return ErrorCode.STALE_BROKER_EPOCH, []
        if broker_id not in ctx.shutting_down:
            log.info("controlled shutdown requested", broker=broker_id)
        ctx.shutting_down.add(broker_id)

        def movable(tp: TopicPartition) -> bool:
            return (len(ctx.replicas(tp)) > 1 and tp in ctx.leadership
                    and not self.deletion.is_topic_queued_up_for_deletion(tp.topic))

        mine = [tp for tp in ctx.partitions_on_broker(broker_id) if movable(tp)]
        led = [tp for tp in mine if ctx.leadership[tp].leader == broker_id]
        followed = [tp for tp in mine if ctx.leadership[tp].leader != broker_id]
        await self.psm.handle_state_changes(led, P.OnlinePartition, ElectionStrategy.CONTROLLED_SHUTDOWN)
        if followed:
            self.batch.new_batch()
            for tp in followed:
                self.batch.add_stop_replica([broker_id], tp, delete_partition=False)
            self.dispatch(self.batch.build())
            await self.rsm.handle_state_changes([PartitionReplica(tp, broker_id) for tp in followed], R.OfflineReplica)
        remaining = [tp for tp in ctx.partitions_led_by(broker_id) if movable(tp)]
        log.info("controlled shutdown step done", broker=broker_id, moved=len(led), still_leading=len(remaining))
        return ErrorCode.NONE, remaining
