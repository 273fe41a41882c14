"""Controller events: everything that can make the controller act, as frozen values on one queue.

Theory of operation (Kafka's ``ControllerEventManager``): ZooKeeper watches, control-plane responses,
timers and API calls never touch controller state directly. They put one of these events on the
controller's single ``asyncio.Queue``; one consumer task takes them in order and runs the matching
handler to completion before taking the next. So handlers never interleave, and the controller context
needs no locks. Watches carry no data: a handler re-reads ZooKeeper (re-arming the watch), so a burst of
notifications collapses into one up-to-date read.

Events that answer a caller (controlled shutdown, leader election requests) carry an ``asyncio.Future``
that the handler resolves; it is excluded from equality and hashing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.election import ElectionStrategy


@dataclass(frozen=True)
class ControllerEvent:
    """Base class; ``name`` is what logs and ``/events`` show."""

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class Startup(ControllerEvent):
    """First event after ``start()``: watch ``/controller`` and try to become controller."""


@dataclass(frozen=True)
class ControllerChange(ControllerEvent):
    """``/controller`` created or changed: resign if someone else holds it now."""


@dataclass(frozen=True)
class Reelect(ControllerEvent):
    """``/controller`` deleted: resign if needed, then run for election."""


@dataclass(frozen=True)
class Expire(ControllerEvent):
    """Our ZooKeeper session expired: the ephemeral ``/controller`` is gone, resign."""


@dataclass(frozen=True)
class RegisterBrokerAndReelect(ControllerEvent):
    """A new session after expiry (the broker has re-registered itself): run for election again."""


@dataclass(frozen=True)
class BrokerChange(ControllerEvent):
    """Children of ``/brokers/ids`` changed."""


@dataclass(frozen=True)
class BrokerModifications(ControllerEvent):
    """``/brokers/ids/<id>`` data changed (e.g. new endpoints)."""

    broker_id: int


@dataclass(frozen=True)
class TopicChange(ControllerEvent):
    """Children of ``/brokers/topics`` changed."""


@dataclass(frozen=True)
class PartitionModifications(ControllerEvent):
    """``/brokers/topics/<t>`` data changed (partitions added, or a reassignment written)."""

    topic: str


@dataclass(frozen=True)
class TopicDeletion(ControllerEvent):
    """Children of ``/admin/delete_topics`` changed."""


@dataclass(frozen=True)
class ZkPartitionReassignment(ControllerEvent):
    """``/admin/reassign_partitions`` was created."""


@dataclass(frozen=True)
class ApiPartitionReassignment(ControllerEvent):
    """AlterPartitionReassignments (KIP-455): ``targets`` maps a partition to its target replicas, or to
    ``None`` to cancel its reassignment. ``reply`` receives ``{tp: (ErrorCode, message | None)}``."""

    targets: tuple[tuple[TopicPartition, tuple[int, ...] | None], ...]
    reply: asyncio.Future[Any] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class ListPartitionReassignments(ControllerEvent):
    """ListPartitionReassignments: ``partitions=None`` means every partition being reassigned. ``reply``
    receives ``{tp: (replicas, adding, removing)}`` for those actually moving."""

    partitions: frozenset[TopicPartition] | None = None
    reply: asyncio.Future[Any] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class PartitionReassignmentIsrChange(ControllerEvent):
    """The ISR of a partition being reassigned changed: maybe its target replicas are all in sync now."""

    tp: TopicPartition


@dataclass(frozen=True)
class IsrChangeNotification(ControllerEvent):
    """Children of ``/isr_change_notification`` changed: leaders rewrote ISRs."""


@dataclass(frozen=True)
class ReplicaLeaderElection(ControllerEvent):
    """Run preferred (or unclean) elections.

    ``partitions=None`` means "read them from ``/admin/preferred_replica_election``" (the ZK trigger).
    ``reply`` (admin trigger) receives ``{tp: (ErrorCode, message | None)}``.
    """

    partitions: frozenset[TopicPartition] | None = None
    strategy: ElectionStrategy = ElectionStrategy.PREFERRED  # PREFERRED, or OFFLINE for an unclean election
    trigger: str = "zk"  # "zk" | "admin" | "auto"
    reply: asyncio.Future[Any] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class AutoPreferredReplicaLeaderElection(ControllerEvent):
    """Periodic imbalance check (``leader.imbalance.check.interval.seconds``)."""


@dataclass(frozen=True)
class ControlledShutdown(ControllerEvent):
    """A broker asks to stop; ``reply`` receives ``(ErrorCode, [TopicPartition it still leads])``."""

    broker_id: int
    broker_epoch: int
    reply: asyncio.Future[Any] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class LeaderAndIsrResponseReceived(ControllerEvent):
    """A LeaderAndIsr answer; ``controller_epoch`` is the epoch that sent it (stale answers are dropped)."""

    controller_epoch: int
    broker_id: int
    response: Any = field(compare=False, hash=False)


@dataclass(frozen=True)
class TopicDeletionStopReplicaResponseReceived(ControllerEvent):
    """A StopReplica(delete=true) answer: per-partition errors decide deletion success or retry."""

    controller_epoch: int
    broker_id: int
    error_code: int
    partition_errors: tuple[tuple[TopicPartition, int], ...]


@dataclass(frozen=True)
class TopicUncleanLeaderElectionEnable(ControllerEvent):
    """A topic's ``unclean.leader.election.enable`` was turned on: retry its offline partitions."""

    topic: str


@dataclass(frozen=True)
class ShutdownEventThread(ControllerEvent):
    """Sentinel that stops the consumer task."""
