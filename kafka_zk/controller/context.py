"""What the active controller knows about the cluster (Kafka's ``ControllerContext``).

The context is the controller's in-memory copy of ZooKeeper plus its own bookkeeping. It is owned by the
single event consumer: only event handlers read or change it, so it needs no locks.

* **Brokers.** ``live_brokers`` holds every registered broker the controller has accepted, *including*
  brokers in controlled shutdown; ``shutting_down`` is the subset that asked to stop. As in Kafka,
  "live" for elections means registered **and** not shutting down; requests still go to shutting-down
  brokers. ``LiveBroker.epoch`` is the czxid of its ``/brokers/ids/<id>`` znode (KIP-380 broker epoch).
* **Assignments.** ``assignments[topic][partition]`` is the replica list from ``/brokers/topics/<t>``
  (first replica = preferred leader), with the 2.4+ ``adding``/``removing`` sets of a reassignment.
* **Leadership cache.** ``leadership[tp]`` is the last known content of the partition state znode with its
  zkVersion — the expected version for the next conditional write.
* **State machines.** ``partition_states`` and ``replica_states`` hold each partition's and replica's
  lifecycle state; the transition tables live in the state-machine modules.
* **Deletion.** ``topics_to_delete`` (queued), ``topics_ineligible_for_deletion`` (waiting for a dead
  replica or a reassignment), ``topics_with_deletion_started``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

from kafka_zk.common.tp import TopicPartition

NO_LEADER = -1
# Sent as leader and leader_epoch in UpdateMetadata/StopReplica for partitions of a topic being deleted.
LEADER_DURING_DELETE = -2
EPOCH_DURING_DELETE = -2
NO_EPOCH = -1


class PartitionStatus(enum.IntEnum):
    """Partition lifecycle states; values are Kafka's state bytes."""

    NewPartition = 0
    OnlinePartition = 1
    OfflinePartition = 2
    NonExistentPartition = 3


class ReplicaStatus(enum.IntEnum):
    """Replica lifecycle states; values are Kafka's state bytes."""

    NewReplica = 1
    OnlineReplica = 2
    OfflineReplica = 3
    ReplicaDeletionStarted = 4
    ReplicaDeletionSuccessful = 5
    ReplicaDeletionIneligible = 6
    NonExistentReplica = 7


class PartitionReplica(NamedTuple):
    tp: TopicPartition
    replica: int

    def __str__(self) -> str:
        return f"{self.tp}@{self.replica}"


@dataclass(frozen=True, slots=True)
class LeaderAndIsr:
    """Content of ``/brokers/topics/<t>/partitions/<p>/state`` plus that znode's zkVersion."""

    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    controller_epoch: int
    zk_version: int

    def new_leader_and_isr(self, leader: int, isr: Iterable[int], controller_epoch: int) -> "LeaderAndIsr":
        """The next decision for this partition: leader_epoch + 1, the read zkVersion kept as expected version."""
        return LeaderAndIsr(leader, self.leader_epoch + 1, tuple(isr), controller_epoch, self.zk_version)

    def with_zk_version(self, zk_version: int) -> "LeaderAndIsr":
        return LeaderAndIsr(self.leader, self.leader_epoch, self.isr, self.controller_epoch, zk_version)


@dataclass(frozen=True, slots=True)
class ReplicaAssignment:
    """One partition's replicas; during a reassignment ``replicas`` = target first, then remaining originals."""

    replicas: tuple[int, ...]
    adding: tuple[int, ...] = ()
    removing: tuple[int, ...] = ()

    @property
    def is_being_reassigned(self) -> bool:
        return bool(self.adding or self.removing)

    @property
    def target_replicas(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r not in self.removing)

    @property
    def origin_replicas(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r not in self.adding)

    @classmethod
    def for_reassignment(cls, current: "ReplicaAssignment", target: Iterable[int]) -> "ReplicaAssignment":
        """Kafka 2.4+ (KIP-455): full list = target, then the origin replicas not in the target."""
        trs = tuple(target)
        ors = current.origin_replicas
        full = trs + tuple(r for r in ors if r not in trs)
        return cls(full, tuple(r for r in trs if r not in ors), tuple(r for r in ors if r not in trs))


@dataclass(frozen=True, slots=True)
class Endpoint:
    listener: str
    host: str
    port: int
    security_protocol: str = "PLAINTEXT"


@dataclass(frozen=True, slots=True)
class LiveBroker:
    id: int
    endpoints: tuple[Endpoint, ...]
    epoch: int  # czxid of /brokers/ids/<id>
    rack: str | None = None

    def endpoint(self, listener: str) -> Endpoint | None:
        for ep in self.endpoints:
            if ep.listener == listener:
                return ep
        return None


@dataclass
class ControllerContext:
    epoch: int = 0
    epoch_zk_version: int = -1
    live_brokers: dict[int, LiveBroker] = field(default_factory=dict)
    shutting_down: set[int] = field(default_factory=set)
    all_topics: set[str] = field(default_factory=set)
    assignments: dict[str, dict[int, ReplicaAssignment]] = field(default_factory=dict)
    leadership: dict[TopicPartition, LeaderAndIsr] = field(default_factory=dict)
    partition_states: dict[TopicPartition, PartitionStatus] = field(default_factory=dict)
    replica_states: dict[PartitionReplica, ReplicaStatus] = field(default_factory=dict)
    topics_to_delete: set[str] = field(default_factory=set)
    topics_ineligible_for_deletion: set[str] = field(default_factory=set)
    topics_with_deletion_started: set[str] = field(default_factory=set)
    partitions_being_reassigned: set[TopicPartition] = field(default_factory=set)
    # topic -> Kafka 2.8 topic id from its znode (only topics whose znode has one), sent in UpdateMetadata
    topic_ids: dict[str, str] = field(default_factory=dict)

    # -- brokers -------------------------------------------------------------------------------------
    @property
    def live_broker_ids(self) -> set[int]:
        """Registered and not shutting down: eligible as leaders and ISR members."""
        return set(self.live_brokers) - self.shutting_down

    @property
    def live_or_shutting_down_broker_ids(self) -> set[int]:
        """Everyone who still gets control requests."""
        return set(self.live_brokers)

    def broker_epoch(self, broker_id: int) -> int:
        b = self.live_brokers.get(broker_id)
        return b.epoch if b else -1

    def add_live_broker(self, broker: LiveBroker) -> None:
        self.live_brokers[broker.id] = broker

    def remove_live_broker(self, broker_id: int) -> None:
        self.live_brokers.pop(broker_id, None)
        self.shutting_down.discard(broker_id)

    def is_replica_online(self, broker_id: int, include_shutting_down: bool = False) -> bool:
        if include_shutting_down:
            return broker_id in self.live_brokers
        return broker_id in self.live_brokers and broker_id not in self.shutting_down

    # -- assignments ---------------------------------------------------------------------------------
    def assignment(self, tp: TopicPartition) -> ReplicaAssignment | None:
        return self.assignments.get(tp.topic, {}).get(tp.partition)

    def replicas(self, tp: TopicPartition) -> tuple[int, ...]:
        a = self.assignment(tp)
        return a.replicas if a else ()

    def set_assignment(self, tp: TopicPartition, assignment: ReplicaAssignment) -> None:
        """Replace one partition's assignment (``partitions_being_reassigned`` is managed explicitly)."""
        self.assignments.setdefault(tp.topic, {})[tp.partition] = assignment

    def partitions_for_topic(self, topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in sorted(self.assignments.get(topic, {}))]

    def all_partitions(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t in sorted(self.assignments) for p in sorted(self.assignments[t])]

    def replicas_for_partitions(self, tps: Iterable[TopicPartition]) -> list[PartitionReplica]:
        return [PartitionReplica(tp, r) for tp in tps for r in self.replicas(tp)]

    def replicas_for_topic(self, topic: str) -> list[PartitionReplica]:
        return self.replicas_for_partitions(self.partitions_for_topic(topic))

    def replicas_on_brokers(self, broker_ids: Iterable[int]) -> list[PartitionReplica]:
        ids = set(broker_ids)
        return [PartitionReplica(tp, r) for tp in self.all_partitions() for r in self.replicas(tp) if r in ids]

    def partitions_on_broker(self, broker_id: int) -> list[TopicPartition]:
        return [tp for tp in self.all_partitions() if broker_id in self.replicas(tp)]

    def partitions_led_by(self, broker_id: int) -> list[TopicPartition]:
        return [tp for tp, li in sorted(self.leadership.items()) if li.leader == broker_id]

    def remove_topic(self, topic: str) -> None:
        for tp in self.partitions_for_topic(topic):
            self.leadership.pop(tp, None)
            self.partition_states.pop(tp, None)
            self.partitions_being_reassigned.discard(tp)
        for pr in [pr for pr in self.replica_states if pr.tp.topic == topic]:
            del self.replica_states[pr]
        self.assignments.pop(topic, None)
        self.topic_ids.pop(topic, None)
        self.all_topics.discard(topic)
        self.topics_to_delete.discard(topic)
        self.topics_ineligible_for_deletion.discard(topic)
        self.topics_with_deletion_started.discard(topic)

    # -- states --------------------------------------------------------------------------------------
    def partitions_in_states(self, *states: PartitionStatus) -> list[TopicPartition]:
        return sorted(tp for tp, s in self.partition_states.items() if s in states)

    def replicas_in_state(self, topic: str, state: ReplicaStatus) -> list[PartitionReplica]:
        return [pr for pr in self.replicas_for_topic(topic) if self.replica_states.get(pr) == state]

    def are_all_replicas_in_state(self, topic: str, state: ReplicaStatus) -> bool:
        return all(self.replica_states.get(pr) == state for pr in self.replicas_for_topic(topic))

    def is_any_replica_in_state(self, topic: str, state: ReplicaStatus) -> bool:
        return any(self.replica_states.get(pr) == state for pr in self.replicas_for_topic(topic))

    def offline_partition_count(self) -> int:
        return sum(
            1
            for tp, s in self.partition_states.items()
            if s in (PartitionStatus.OfflinePartition, PartitionStatus.NewPartition)
            and tp.topic not in self.topics_to_delete
        )

    # -- deletion ------------------------------------------------------------------------------------
    def is_topic_queued_up_for_deletion(self, topic: str) -> bool:
        return topic in self.topics_to_delete

    def is_topic_deletion_in_progress(self, topic: str) -> bool:
        return self.is_any_replica_in_state(topic, ReplicaStatus.ReplicaDeletionStarted)

    def reset(self) -> None:
        """Forget everything (on resignation)."""
        fresh = ControllerContext()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))
