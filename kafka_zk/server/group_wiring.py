"""Wiring of the consumer-group coordinator into the broker: who coordinates which groups, and when.

Theory of operation (Kafka 2.x ``KafkaServer`` + ``KafkaApis`` + ``GroupMetadataManager``):

* Every group belongs to one partition of ``__consumer_offsets``; the broker leading that partition is the
  group's coordinator. The coordinator learns about its leadership from the controller, like any replica:
  after each LeaderAndIsr this module looks at the offsets partitions the request named and, from the
  replica manager's state *after* the request was applied, tells the coordinator
  ``on_became_leader(p)`` (load the partition) or ``on_resigned(p)`` (unload it). A StopReplica of an offsets
  partition unloads it too (:class:`GroupLeadership`). Leadership that arrived before the coordinator started
  (LeaderAndIsr can come in as soon as the broker registers) is picked up by a scan at start.
* Loading reads the partition's own log, from its log start to its **log end offset**, as Kafka 2.x does
  (``doLoadGroupsAndOffsets`` reads up to ``logEndOffset``): a freshly elected leader's high watermark can
  trail commits that were already acknowledged with acks=all (the followers learn the new high watermark
  one fetch later), and a leader never truncates its own log, so everything up to its log end stays.
* ``__consumer_offsets`` is created on the first FindCoordinator (:func:`ensure_offsets_topic`) with
  ``offsets.topic.num.partitions`` partitions, replication factor ``min(offsets.topic.replication.factor,
  live brokers)``, ``cleanup.policy=compact``, ``compression.type=producer`` and
  ``segment.bytes=offsets.topic.segment.bytes``. The partition count the coordinator hashes groups with is
  the existing topic's when there is one (read from ZooKeeper at start), else the config's.
* Partitions of deleted topics lose their committed offsets: as in Kafka, every broker learns a deletion
  from the controller's UpdateMetadata (leader -2), and the coordinator drops the offsets it holds for them.

Handlers reach the coordinator as ``broker.group_coordinator`` (built with the broker; :func:`coordinator_of`
answers None until it started); the helpers at the bottom hold what several group handlers share.
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterable, Iterator, Protocol

from kafka_zk.common.clock import Clock
from kafka_zk.common.control import LeaderAndIsrRequest, StopReplicaRequest
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tasks import spawn
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator import GROUP_METADATA_TOPIC_NAME, GroupCoordinator, GroupCoordinatorConfig
from kafka_zk.coordinator.log_adapter import ReplicatedOffsetsLog
from kafka_zk.coordinator.zk_offsets import ZkOffsetStore
from kafka_zk.record.batch import iter_batches
from kafka_zk.replication.replica_manager import ReplicaManager
from kafka_zk.server.handler_api import BrokerServices, RequestContext
from zk_layout.client import KafkaZkClient

log = get_logger(__name__)


class GroupLeadership:
    """Keeps the group coordinator's loaded partitions in step with this broker's leadership of
    ``__consumer_offsets`` partitions. The broker calls the ``on_*`` methods after each control request."""

    def __init__(self, coordinator: GroupCoordinator, replica_manager: ReplicaManager) -> None:
        self.coordinator = coordinator
        self._replicas = replica_manager
        self._background: set[asyncio.Task[Any]] = set()  # strong references: the loop keeps only weak ones

    def start(self) -> None:
        """Start the coordinator and adopt what we already lead (LeaderAndIsr can arrive as soon as the
        broker registers, before this runs)."""
        self.coordinator.startup()
        for tp, partition in list(self._replicas.partitions.items()):
            if tp.topic == GROUP_METADATA_TOPIC_NAME and partition.is_leader:
                self._became_leader(tp.partition)

    def stop(self) -> None:
        self.coordinator.shutdown()

    def on_leader_and_isr(self, req: LeaderAndIsrRequest) -> None:
        manager = self.coordinator.manager
        for st in req.partition_states:
            if st.topic != GROUP_METADATA_TOPIC_NAME:
                continue
            replica = self._replicas.partition(TopicPartition(st.topic, st.partition))
            if replica is not None and replica.is_leader:
                self._became_leader(st.partition)
            elif manager.is_partition_owned(st.partition) or st.partition in manager.loading_partitions:
                self.coordinator.on_resigned(st.partition)

    def _became_leader(self, partition: int) -> None:
        manager = self.coordinator.manager
        if manager.is_partition_owned(partition) or partition in manager.loading_partitions:
            return  # still the leader (a new leader epoch, e.g. after an ISR change): nothing to reload
        self.coordinator.on_became_leader(partition)

    def on_stop_replica(self, req: StopReplicaRequest) -> None:
        manager = self.coordinator.manager
        for ps in req.partition_states:
            if ps.topic == GROUP_METADATA_TOPIC_NAME:
                if manager.is_partition_owned(ps.partition) or ps.partition in manager.loading_partitions:
                    self.coordinator.on_resigned(ps.partition)

    def on_partitions_deleted(self, deleted: list[TopicPartition]) -> None:
        deleted = [tp for tp in deleted if tp.topic != GROUP_METADATA_TOPIC_NAME]
        if deleted:
            spawn(
                self.coordinator.on_partitions_deleted(deleted),
                "offsets-of-deleted-partitions",
                self._background,
            )


def build_group_coordinator(
    props: dict[str, Any],
    replica_manager: ReplicaManager,
    clock: Clock,
    events: EventBus,
    num_partitions: int | None,
) -> GroupCoordinator:
    """The group coordinator over the replicated ``__consumer_offsets`` log; ``num_partitions`` is the
    existing topic's partition count (:func:`existing_offsets_partitions`), None to use the config's.

    Raises :class:`kafka_zk.common.config.ConfigError` on a bad ``group.*`` / ``offsets.*`` value (the broker
    config has already validated them, so in practice never).
    """
    config = GroupCoordinatorConfig.from_props(props)
    offsets_log = ReplicatedOffsetsLog(
        replica_manager,
        lambda p: read_offsets_partition(replica_manager, p, config.offsets_load_buffer_size),
        clock,
        config,
    )
    return GroupCoordinator(offsets_log, config, clock=clock, events=events, num_partitions=num_partitions)


def existing_offsets_partitions(zk: KafkaZkClient) -> int | None:
    """``__consumer_offsets``' partition count in ZooKeeper, None when the topic does not exist (blocking)."""
    found = zk.get_topic_assignment(GROUP_METADATA_TOPIC_NAME)
    if found is None:
        return None
    assignment, _ = found
    return len(assignment.partitions) or None


class _HostsReplicas(Protocol):
    def partition(self, tp: TopicPartition) -> Any: ...


def read_offsets_partition(replicas: _HostsReplicas, partition: int, buffer_size: int) -> Iterator[bytes]:
    """Whole batches of ``__consumer_offsets-<partition>`` from its log start to its log end offset.

    Stops early (with what was read) if the replica disappears or the log is closed under it; the
    coordinator then serves what it loaded, as Kafka does after a failed load.
    """
    tp = TopicPartition(GROUP_METADATA_TOPIC_NAME, partition)
    replica = replicas.partition(tp)
    if replica is None:
        log.warning("offsets partition to load is not hosted here", partition=partition)
        return
    plog = replica.log
    offset = plog.log_start_offset
    end = plog.log_end_offset
    while offset < end:
        try:
            buf = plog.read(offset, buffer_size, max_offset=end, min_one_message=True).records_bytes()
        except (KafkaError, OSError, ValueError) as e:
            log.error(
                "reading offsets partition failed; serving what was loaded",
                partition=partition,
                offset=offset,
                reason=str(e),
            )
            return
        if not buf:
            break
        next_offset = offset
        whole = 0
        for batch in iter_batches(buf):
            next_offset = batch.next_offset
            whole += batch.size_in_bytes
        if next_offset <= offset:
            log.error("offsets partition stopped advancing while loading", partition=partition, offset=offset)
            break
        yield buf[:whole]
        offset = next_offset


# ------------------------------------------------------------------------------------------ topic creation

OFFSETS_TOPIC_COMPRESSION = "producer"


def offsets_topic_configs(config: GroupCoordinatorConfig) -> dict[str, str]:
    """Kafka's ``GroupCoordinator.offsetsTopicConfigs``: compacted, producer compression, its own segment
    size."""
    return {
        "cleanup.policy": "compact",
        "compression.type": OFFSETS_TOPIC_COMPRESSION,
        "segment.bytes": str(config.offsets_topic_segment_bytes),
    }


async def ensure_offsets_topic(broker: BrokerServices, coordinator: GroupCoordinator) -> ErrorCode:
    """Create ``__consumer_offsets`` unless the metadata cache knows it; NONE when it is known.

    Returns COORDINATOR_NOT_AVAILABLE while it is being created (no leaders yet) or cannot be (no live
    broker known yet), as Kafka's FindCoordinator answers then.
    """
    if broker.metadata_cache.contains_topic(GROUP_METADATA_TOPIC_NAME):
        return ErrorCode.NONE
    config = coordinator.config
    live = broker.live_broker_ids()
    rf = min(config.offsets_topic_replication_factor, len(live))
    if rf < 1:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    try:
        await broker.auto_create_topic(
            GROUP_METADATA_TOPIC_NAME, coordinator.manager.num_partitions, rf, offsets_topic_configs(config)
        )
    except KafkaError as e:
        if e.code is not ErrorCode.TOPIC_ALREADY_EXISTS:
            log.warning("cannot create the offsets topic", error=e.code.name, reason=e.message)
    return ErrorCode.COORDINATOR_NOT_AVAILABLE


# ----------------------------------------------------------------------------------------- handler helpers


def coordinator_of(broker: BrokerServices) -> GroupCoordinator | None:
    """The broker's running coordinator, or None (handlers answer COORDINATOR_NOT_AVAILABLE then)."""
    coordinator = broker.group_coordinator
    return coordinator if coordinator is not None and coordinator.is_active else None


def zk_offset_store(broker: BrokerServices) -> ZkOffsetStore:
    """The classic store for OffsetCommit/OffsetFetch v0 (stateless: one per request is fine)."""
    return ZkOffsetStore(broker.az, broker.config["offset.metadata.max.bytes"])


def client_host(ctx: RequestContext) -> str:
    """The member's host as Kafka reports it (``InetAddress.toString`` of the peer: ``/127.0.0.1``)."""
    return f"/{ctx.client_host}"


def known_partitions(
    broker: BrokerServices, tps: Iterable[TopicPartition]
) -> tuple[list[TopicPartition], list[TopicPartition]]:
    """Split ``tps`` into (partitions the metadata cache knows, unknown ones) — UNKNOWN_TOPIC_OR_PARTITION."""
    cache = broker.metadata_cache
    known: list[TopicPartition] = []
    unknown: list[TopicPartition] = []
    for tp in tps:
        (known if cache.partition(tp) is not None else unknown).append(tp)
    return known, unknown
