"""The ZooKeeper operations the state machines need, as a narrow interface.

The partition and replica state machines decide purely on the controller context; to *apply* a decision
they read and write partition state znodes through an object with this shape. The controller's
implementation (:class:`kafka_zk.controller.zk_ops.ControllerZk`) goes through ``zk_layout`` on the
asyncio bridge; every write is fenced by the ``/controller_epoch`` zkVersion and raises
``zk_layout.errors.ControllerMovedError`` when another controller has taken over.

Write outcomes follow Kafka's ``KafkaZkClient.updateLeaderAndIsr``: ``OK`` (with the new zkVersion),
``CONFLICT`` (BADVERSION or NODEEXISTS: someone else wrote first; re-read and retry) or ``ERROR``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol

from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.context import LeaderAndIsr


class WriteStatus(enum.Enum):
    OK = "ok"
    CONFLICT = "conflict"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class WriteResult:
    status: WriteStatus
    zk_version: int = -1
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is WriteStatus.OK


class LeaderIsrStore(Protocol):
    async def get_partition_states(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, LeaderAndIsr | None]:
        """Current content + zkVersion of each partition state znode (``None`` when absent)."""
        ...

    async def create_partition_states(
        self, states: Mapping[TopicPartition, LeaderAndIsr], epoch_zk_version: int
    ) -> dict[TopicPartition, WriteResult]:
        """Create ``/brokers/topics/<t>/partitions/<p>/state`` (and its parents) for new partitions."""
        ...

    async def update_partition_states(
        self, states: Mapping[TopicPartition, LeaderAndIsr], epoch_zk_version: int
    ) -> dict[TopicPartition, WriteResult]:
        """Conditional set of each state znode; ``LeaderAndIsr.zk_version`` is the expected version."""
        ...

    async def unclean_leader_election_enabled(self, topics: Iterable[str]) -> dict[str, bool]:
        """Each topic's effective ``unclean.leader.election.enable`` (topic override, else broker default)."""
        ...
