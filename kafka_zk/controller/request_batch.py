"""Collecting control requests per broker during one state change (Kafka's ``ControllerBrokerRequestBatch``).

Rules (zk-layout.md §2.10):

* A batch is opened with :meth:`new_batch` at the start of a state-change call and drained by
  :meth:`build` at its end. Opening a batch while the previous one still holds requests is a bug in the
  controller (some path forgot to send) and raises :class:`IllegalStateError`; the controller answers that
  by giving up its role, as Kafka does.
* Requests accumulate per broker and go out in the order LeaderAndIsr, then UpdateMetadata, then
  StopReplica, so a broker learns about leadership before metadata and stops replicas last.
* Every LeaderAndIsr entry also queues that partition's metadata to **all** live-or-shutting-down brokers.
  UpdateMetadata partition states are shared: every UpdateMetadata recipient gets every partition queued
  in the batch.
* Partitions of a topic queued for deletion are announced with leader ``-2`` / leader_epoch ``-2`` so
  brokers drop them from their metadata; StopReplica carries leader_epoch ``-2`` for them too.
* Every request carries the controller id and epoch and the receiving broker's epoch (czxid).
* Requests for brokers that are not (or no longer) live-or-shutting-down are dropped.

Pure: reads the context, builds :mod:`kafka_zk.common.control` messages, sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from kafka_zk.common.control import (
    BrokerEndpoint,
    LeaderAndIsrPartitionState,
    LeaderAndIsrRequest,
    LiveLeader,
    StopReplicaPartitionState,
    StopReplicaRequest,
    UpdateMetadataBroker,
    UpdateMetadataPartitionState,
    UpdateMetadataRequest,
)
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.context import (
    EPOCH_DURING_DELETE,
    LEADER_DURING_DELETE,
    NO_EPOCH,
    ControllerContext,
    LeaderAndIsr,
    LiveBroker,
    ReplicaAssignment,
)


class IllegalStateError(RuntimeError):
    """The controller's own bookkeeping is inconsistent; the controller resigns when it sees this."""


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    broker_id: int
    message: Any  # a kafka_zk.common.control request


class ControllerBrokerRequestBatch:
    def __init__(self, ctx: ControllerContext, controller_id: int, inter_broker_listener: str = "PLAINTEXT",
                 control_plane_listener: str = "CONTROLLER") -> None:
        self._ctx = ctx
        self._controller_id = controller_id
        self._inter_broker_listener = inter_broker_listener
        self._control_plane_listener = control_plane_listener
        self._leader_and_isr: dict[int, dict[TopicPartition, LeaderAndIsrPartitionState]] = {}
        self._update_metadata_brokers: set[int] = set()
        self._update_metadata_partitions: dict[TopicPartition, UpdateMetadataPartitionState] = {}
        self._stop_replica: dict[int, dict[TopicPartition, StopReplicaPartitionState]] = {}

    # -- lifecycle -----------------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not (self._leader_and_isr or self._update_metadata_brokers or self._stop_replica)

    def new_batch(self) -> None:
        """Open a batch. Raises :class:`IllegalStateError` if the previous one was never sent."""
        if not self.is_empty():
            pending = sorted(set(self._leader_and_isr) | self._update_metadata_brokers | set(self._stop_replica))
            raise IllegalStateError(f"controller to broker request batch is not empty (pending for brokers {pending})")

    def clear(self) -> None:
        self._leader_and_isr.clear()
        self._update_metadata_brokers.clear()
        self._update_metadata_partitions.clear()
        self._stop_replica.clear()

    # -- adding --------------------------------------------------------------------------------------
    def add_leader_and_isr(
        self,
        broker_ids: Iterable[int],
        tp: TopicPartition,
        leader_and_isr: LeaderAndIsr,
        assignment: ReplicaAssignment,
        is_new: bool,
    ) -> None:
        for broker_id in broker_ids:
            if broker_id < 0:
                continue
            per_broker = self._leader_and_isr.setdefault(broker_id, {})
            already_new = tp in per_broker and per_broker[tp].is_new
            per_broker[tp] = LeaderAndIsrPartitionState(
                topic=tp.topic,
                partition=tp.partition,
                controller_epoch=leader_and_isr.controller_epoch,
                leader=leader_and_isr.leader,
                leader_epoch=leader_and_isr.leader_epoch,
                isr=list(leader_and_isr.isr),
                zk_version=leader_and_isr.zk_version,
                replicas=list(assignment.replicas),
                adding_replicas=list(assignment.adding),
                removing_replicas=list(assignment.removing),
                is_new=is_new or already_new,
            )
        self.add_update_metadata(self._ctx.live_or_shutting_down_broker_ids, [tp])

    def add_update_metadata(self, broker_ids: Iterable[int], partitions: Iterable[TopicPartition] = ()) -> None:
        self._update_metadata_brokers.update(b for b in broker_ids if b >= 0)
        ctx = self._ctx
        for tp in partitions:
            li = ctx.leadership.get(tp)
            if li is None:
                continue  # Kafka only announces partitions it has leadership info for
            replicas = ctx.replicas(tp)
            offline = [r for r in replicas if not ctx.is_replica_online(r)]  # shutting down counts as offline
            deleting = ctx.is_topic_queued_up_for_deletion(tp.topic)
            self._update_metadata_partitions[tp] = UpdateMetadataPartitionState(
                topic=tp.topic,
                partition=tp.partition,
                controller_epoch=li.controller_epoch,
                leader=LEADER_DURING_DELETE if deleting else li.leader,
                leader_epoch=EPOCH_DURING_DELETE if deleting else li.leader_epoch,
                isr=list(li.isr),
                zk_version=li.zk_version,
                replicas=list(replicas),
                offline_replicas=offline,
                topic_id=ctx.topic_ids.get(tp.topic),
            )

    def add_stop_replica(self, broker_ids: Iterable[int], tp: TopicPartition, delete_partition: bool) -> None:
        ctx = self._ctx
        if ctx.is_topic_queued_up_for_deletion(tp.topic):
            leader_epoch = EPOCH_DURING_DELETE
        else:
            li = ctx.leadership.get(tp)
            leader_epoch = li.leader_epoch if li else NO_EPOCH
        for broker_id in broker_ids:
            if broker_id < 0:
                continue
            per_broker = self._stop_replica.setdefault(broker_id, {})
            already_delete = tp in per_broker and per_broker[tp].delete_partition
            per_broker[tp] = StopReplicaPartitionState(
                tp.topic, tp.partition, leader_epoch, delete_partition or already_delete
            )

    # -- draining ------------------------------------------------------------------------------------
    def build(self) -> list[OutboundRequest]:
        """All queued requests in send order (LeaderAndIsr, UpdateMetadata, StopReplica); empties the batch."""
        ctx = self._ctx
        targets = ctx.live_or_shutting_down_broker_ids
        out: list[OutboundRequest] = []
        for broker_id, states in sorted(self._leader_and_isr.items()):
            if broker_id not in targets or not states:
                continue
            leaders = sorted({s.leader for s in states.values()})
            live_leaders = [ll for ll in (self._live_leader(ctx.live_brokers.get(b)) for b in leaders) if ll]
            out.append(
                OutboundRequest(
                    broker_id,
                    LeaderAndIsrRequest(
                        controller_id=self._controller_id,
                        controller_epoch=ctx.epoch,
                        broker_epoch=ctx.broker_epoch(broker_id),
                        partition_states=[states[tp] for tp in sorted(states)],
                        live_leaders=live_leaders,
                    ),
                )
            )
        if self._update_metadata_brokers:
            live = [self._update_metadata_broker(b) for _, b in sorted(ctx.live_brokers.items())]
            partition_states = [self._update_metadata_partitions[tp] for tp in sorted(self._update_metadata_partitions)]
            for broker_id in sorted(self._update_metadata_brokers & targets):
                out.append(
                    OutboundRequest(
                        broker_id,
                        UpdateMetadataRequest(
                            controller_id=self._controller_id,
                            controller_epoch=ctx.epoch,
                            broker_epoch=ctx.broker_epoch(broker_id),
                            partition_states=partition_states,
                            live_brokers=live,
                        ),
                    )
                )
        for broker_id, sr_states in sorted(self._stop_replica.items()):
            if broker_id not in targets or not sr_states:
                continue
            out.append(
                OutboundRequest(
                    broker_id,
                    StopReplicaRequest(
                        controller_id=self._controller_id,
                        controller_epoch=ctx.epoch,
                        broker_epoch=ctx.broker_epoch(broker_id),
                        partition_states=[sr_states[tp] for tp in sorted(sr_states)],
                    ),
                )
            )
        self.clear()
        return out

    def _live_leader(self, broker: LiveBroker | None) -> LiveLeader | None:
        if broker is None:
            return None
        ep = broker.endpoint(self._inter_broker_listener) or next(
            (e for e in broker.endpoints if e.listener != self._control_plane_listener), None
        )
        return LiveLeader(broker.id, ep.host, ep.port) if ep else None

    @staticmethod
    def _update_metadata_broker(broker: LiveBroker) -> UpdateMetadataBroker:
        return UpdateMetadataBroker(
            id=broker.id,
            endpoints=[BrokerEndpoint(e.host, e.port, e.listener, e.security_protocol) for e in broker.endpoints],
            rack=broker.rack,
        )
