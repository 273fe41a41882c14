"""Topic deletion (Kafka's ``TopicDeletionManager``), zk-layout.md §2.12.

Theory of operation. ``/admin/delete_topics/<t>`` queues a topic. A queued topic is *eligible* unless a
replica deletion is in flight or it was marked *ineligible* (a replica is on a dead broker, or one of its
partitions is being reassigned). For each eligible topic, the first time only, its partitions go
Offline → NonExistent and every broker gets UpdateMetadata with leader -2 (stop serving it); then each live
replica goes OfflineReplica (StopReplica delete=false, out of the ISR) → ReplicaDeletionStarted
(StopReplica delete=true). Replicas on dead brokers go straight to ReplicaDeletionIneligible and make the
topic ineligible until one of its brokers starts again.

StopReplica answers drive progress: success → ReplicaDeletionSuccessful, error → ReplicaDeletionIneligible.
When every replica of a topic is DeletionSuccessful the topic is completed: replicas → NonExistent, the
topic's znodes (assignment, partition states, config, deletion marker) are removed with fenced deletes and
the topic leaves the context. Failed replicas are retried (Ineligible → Offline → DeletionStarted) the next
time deletion resumes. With ``delete.topic.enable=false`` markers are removed and nothing is deleted.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Iterable

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.context import ControllerContext, PartitionReplica, PartitionStatus, ReplicaStatus
from kafka_zk.controller.partition_state_machine import PartitionStateMachine
from kafka_zk.controller.replica_state_machine import ReplicaStateMachine
from kafka_zk.controller.zk_ops import ControllerZk

log = get_logger(__name__)

R = ReplicaStatus


class TopicDeletionManager:
    def __init__(
        self,
        ctx: ControllerContext,
        psm: PartitionStateMachine,
        rsm: ReplicaStateMachine,
        zk: ControllerZk,
        send_update_metadata: Callable[[Iterable[int], Iterable[TopicPartition]], None],
        unwatch_topic: Callable[[str], Awaitable[None]],
        events: EventBus,
        enabled: bool,
    ) -> None:
        self._ctx = ctx
        self._psm = psm
        self._rsm = rsm
        self._zk = zk
        self._send_update_metadata = send_update_metadata
        self._unwatch_topic = unwatch_topic
        self._events = events
        self.enabled = enabled

    async def init(self, queued: set[str], ineligible: set[str]) -> None:
        ctx = self._ctx
        if self.enabled:
            ctx.topics_to_delete |= queued
            ctx.topics_ineligible_for_deletion |= ineligible & ctx.topics_to_delete
        elif queued:
            log.info("delete.topic.enable is false; removing deletion requests", topics=sorted(queued))
            await self._zk.delete_topic_deletions(queued, ctx.epoch_zk_version)

    def is_topic_queued_up_for_deletion(self, topic: str) -> bool:
        return self.enabled and self._ctx.is_topic_queued_up_for_deletion(topic)

    async def try_topic_deletion(self) -> None:
        if self.enabled:
            await self._resume_deletions()

    async def enqueue_topics_for_deletion(self, topics: set[str]) -> None:
        if self.enabled and topics:
            new = topics - self._ctx.topics_to_delete
            self._ctx.topics_to_delete |= topics
            for t in sorted(new):
                log.info("topic queued for deletion", topic=t)
            await self._resume_deletions()

    async def resume_deletion_for_topics(self, topics: Iterable[str]) -> None:
        if not self.enabled:
            return
        resume = set(topics) & self._ctx.topics_to_delete
        if resume:
            self._ctx.topics_ineligible_for_deletion -= resume
            await self._resume_deletions()

    def mark_topic_ineligible_for_deletion(self, topics: Iterable[str], reason: str) -> None:
        if not self.enabled:
            return
        halted = set(topics) & self._ctx.topics_to_delete
        if halted - self._ctx.topics_ineligible_for_deletion:
            log.info("halting topic deletion", topics=sorted(halted), reason=reason)
        self._ctx.topics_ineligible_for_deletion |= halted

    async def fail_replica_deletion(self, replicas: Iterable[PartitionReplica]) -> None:
        if not self.enabled:
            return
        failed = [r for r in replicas if self._ctx.is_topic_queued_up_for_deletion(r.tp.topic)]
        if failed:
            await self._rsm.handle_state_changes(failed, R.ReplicaDeletionIneligible)
            self.mark_topic_ineligible_for_deletion({r.tp.topic for r in failed}, "replica deletion failure")
            await self._resume_deletions()

    async def complete_replica_deletion(self, replicas: Iterable[PartitionReplica]) -> None:
        done = [r for r in replicas if self.is_topic_queued_up_for_deletion(r.tp.topic)]
        await self._rsm.handle_state_changes(done, R.ReplicaDeletionSuccessful)
        await self._resume_deletions()

    # -- the deletion loop ---------------------------------------------------------------------------
    def _is_eligible(self, topic: str) -> bool:
        ctx = self._ctx
        return (
            ctx.is_topic_queued_up_for_deletion(topic)
            and not ctx.is_topic_deletion_in_progress(topic)
            and topic not in ctx.topics_ineligible_for_deletion
        )

    async def _resume_deletions(self) -> None:
        ctx = self._ctx
        retry: list[str] = []
        eligible: list[str] = []
        for topic in sorted(ctx.topics_to_delete):
            if ctx.are_all_replicas_in_state(topic, R.ReplicaDeletionSuccessful):
                await self._complete_delete_topic(topic)
                continue
            if not ctx.is_any_replica_in_state(topic, R.ReplicaDeletionStarted) and ctx.is_any_replica_in_state(
                topic, R.ReplicaDeletionIneligible
            ):
                retry.append(topic)
            if self._is_eligible(topic):
                log.info("topic deletion (re)started", topic=topic)
                eligible.append(topic)
        if retry:
            failed = [pr for t in retry for pr in ctx.replicas_in_state(t, R.ReplicaDeletionIneligible)]
            log.info("retrying deletion of replicas", replicas=[str(pr) for pr in failed])
            await self._rsm.handle_state_changes(failed, R.OfflineReplica)
        if eligible:
            await self._on_topic_deletion(eligible)

    async def _on_topic_deletion(self, topics: list[str]) -> None:
        ctx = self._ctx
        unseen = [t for t in topics if t not in ctx.topics_with_deletion_started]
        if unseen:
            partitions = [tp for t in unseen for tp in ctx.partitions_for_topic(t)]
            await self._psm.handle_state_changes(partitions, PartitionStatus.OfflinePartition)
            await self._psm.handle_state_changes(partitions, PartitionStatus.NonExistentPartition)
            ctx.topics_with_deletion_started |= set(unseen)
        self._send_update_metadata(
            ctx.live_or_shutting_down_broker_ids, [tp for t in topics for tp in ctx.partitions_for_topic(t)]
        )
        dead: list[PartitionReplica] = []
        retry: list[PartitionReplica] = []
        ineligible: set[str] = set()
        for topic in topics:
            succeeded = set(ctx.replicas_in_state(topic, R.ReplicaDeletionSuccessful))
            for pr in ctx.replicas_for_topic(topic):
                if not ctx.is_replica_online(pr.replica):
                    dead.append(pr)
                    ineligible.add(topic)
                elif pr not in succeeded:
                    retry.append(pr)
        await self._rsm.handle_state_changes(dead, R.ReplicaDeletionIneligible)
        await self._rsm.handle_state_changes(retry, R.OfflineReplica)
        await self._rsm.handle_state_changes(retry, R.ReplicaDeletionStarted)
        if ineligible:
            self.mark_topic_ineligible_for_deletion(ineligible, "offline replicas")

    async def _complete_delete_topic(self, topic: str) -> None:
        ctx = self._ctx
        await self._unwatch_topic(topic)
        await self._rsm.handle_state_changes(ctx.replicas_in_state(topic, R.ReplicaDeletionSuccessful),
                                             R.NonExistentReplica)
        await self._zk.delete_topic(topic, ctx.epoch_zk_version)
        ctx.remove_topic(topic)
        log.info("topic deleted", topic=topic)
        self._events.emit(kinds.TOPIC_DELETED, topic=topic)
