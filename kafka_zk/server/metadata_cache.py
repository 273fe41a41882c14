"""The broker's view of the cluster, fed only by the controller's UpdateMetadata requests.

As in Kafka (``MetadataCache``), a broker never reads partition leadership from ZooKeeper to answer clients:
it answers Metadata requests from what the controller last told it. That is why a broker that has not yet
received UpdateMetadata knows no topics, and why metadata can be briefly stale after a leader change
(clients then get NOT_LEADER_OR_FOLLOWER and refresh).

Rules (Kafka 2.x ``MetadataCache.updateMetadata``):

* a request with a controller epoch older than the newest seen is rejected by the caller (control endpoint);
* ``live_brokers`` replaces the broker list wholesale;
* a partition state with leader ``-2`` (LeaderAndIsr.LeaderDuringDelete) removes that partition;
* other partition states replace the cached state for that partition;
* a partition state carrying a topic id (Kafka 2.8, from the topic's znode v3) records it for the topic;
  Metadata v10+ reports it, the zero UUID when the topic has none.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field

from kafka_zk.common.control import UpdateMetadataBroker, UpdateMetadataPartitionState, UpdateMetadataRequest
from kafka_zk.common.tp import TopicPartition

LEADER_DURING_DELETE = -2
NO_LEADER = -1
ZERO_UUID = uuid.UUID(int=0)


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
    topic_ids: dict[str, uuid.UUID] = field(default_factory=dict)

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
                        self.topic_ids.pop(ps.topic, None)
                continue
            self.topics.setdefault(ps.topic, {})[ps.partition] = _info(ps)
            if ps.topic_id:
                self.topic_ids[ps.topic] = parse_topic_id(ps.topic_id)
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

    def topic_id(self, topic: str) -> uuid.UUID:
        """The topic's id, or the zero UUID when its znode carries none (topics made before Kafka 2.8)."""
        return self.topic_ids.get(topic, ZERO_UUID)

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


def parse_topic_id(text: str) -> uuid.UUID:
    """Kafka's ``Uuid.toString()`` form (URL-safe base64 of the 16 bytes, no padding) as a UUID.

    A value that is not 16 bytes of base64 gives the zero UUID: an odd znode must not break Metadata.
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return ZERO_UUID
    return uuid.UUID(bytes=raw) if len(raw) == 16 else ZERO_UUID


def format_topic_id(topic_id: uuid.UUID) -> str:
    """The inverse of :func:`parse_topic_id` (what Kafka writes into the topic znode)."""
    return base64.urlsafe_b64encode(topic_id.bytes).decode("ascii").rstrip("=")
