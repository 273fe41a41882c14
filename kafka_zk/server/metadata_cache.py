"""The broker's view of the cluster, fed only by the controller's UpdateMetadata requests.

As in Kafka (``MetadataCache``), a broker never reads partition leadership from ZooKeeper to answer clients:
it answers Metadata requests from what the controller last told it. That is why a broker that has not yet
received UpdateMetadata knows no topics, and why metadata can be briefly stale after a leader change
(clients then get NOT_LEADER_OR_FOLLOWER and refresh).

Rules (Kafka 2.x ``MetadataCache.updateMetadata``):

* a request with a controller epoch older than the newest seen is rejected by the caller (control endpoint);
* ``live_brokers`` replaces the broker list wholesale;
* a partition state with leader ``-2`` (LeaderAndIsr.LeaderDuringDelete) removes that partition;
* other partition states replace the cached state for that partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka_zk.common.control import UpdateMetadataBroker, UpdateMetadataPartitionState, UpdateMetadataRequest
from kafka_zk.common.tp import TopicPartition

LEADER_DURING_DELETE = -2
NO_LEADER = -1


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    topic: str
    partition: int
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    replicas: tuple[int, ...]
    offline_replicas: tuple[int, ...]
    controller_epoch: int
    zk_version: int


@dataclass(frozen=True, slots=True)
class BrokerNode:
    id: int
    rack: str | None
    endpoints: dict[str, tuple[str, int]]  # listener name -> (host, port)


@dataclass
class MetadataCache:
    broker_id: int
    controller_id: int = -1
    controller_epoch: int = -1
    brokers: dict[int, BrokerNode] = field(default_factory=dict)
    # topic -> partition -> info; kept per topic so "all partitions of t" is cheap
    topics: dict[str, dict[int, PartitionInfo]] = field(default_factory=dict)

    def update(self, req: UpdateMetadataRequest) -> list[TopicPartition]:
        """Apply an UpdateMetadata request; returns the partitions it deleted."""
        self.controller_id = req.controller_id
        self.controller_epoch = req.controller_epoch
        self.brokers = {b.id: _node(b) for b in req.live_brokers}
        deleted: list[TopicPartition] = []
        for ps in req.partition_states:
            if ps.leader == LEADER_DURING_DELETE:
                parts = self.topics.get(ps.topic)
                if parts is not None and parts.pop(ps.partition, None) is not None:
                    deleted.append(TopicPartition(ps.topic, ps.partition))
                    if not parts:
                        del self.topics[ps.topic]
                continue
            self.topics.setdefault(ps.topic, {})[ps.partition] = _info(ps)
        return deleted

    # ---- queries ---------------------------------------------------------------------------------------

    def alive_brokers(self) -> list[BrokerNode]:
        return [self.brokers[i] for i in sorted(self.brokers)]

    def endpoint(self, broker_id: int, listener: str) -> tuple[str, int] | None:
        node = self.brokers.get(broker_id)
        return node.endpoints.get(listener) if node else None

    def contains_topic(self, topic: str) -> bool:
        return topic in self.topics

    def topic_names(self) -> list[str]:
        return sorted(self.topics)

    def partitions(self, topic: str) -> dict[int, PartitionInfo]:
        return self.topics.get(topic, {})

    def partition(self, tp: TopicPartition) -> PartitionInfo | None:
        return self.topics.get(tp.topic, {}).get(tp.partition)

    def leader_endpoint(self, tp: TopicPartition, listener: str) -> tuple[int, tuple[str, int]] | None:
        info = self.partition(tp)
        if info is None or info.leader < 0:
            return None
        ep = self.endpoint(info.leader, listener)
        return (info.leader, ep) if ep else None


def _node(b: UpdateMetadataBroker) -> BrokerNode:
    return BrokerNode(b.id, b.rack, {e.listener.upper(): (e.host, e.port) for e in b.endpoints})


def _info(ps: UpdateMetadataPartitionState) -> PartitionInfo:
    return PartitionInfo(
        ps.topic,
        ps.partition,
        ps.leader,
        ps.leader_epoch,
        tuple(ps.isr),
        tuple(ps.replicas),
        tuple(ps.offline_replicas),
        ps.controller_epoch,
        ps.zk_version,
    )
