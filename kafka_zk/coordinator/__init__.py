"""Layer 4: consumer groups — membership state machine, rebalances, committed offsets.

* :mod:`.group` — ``GroupMetadata`` / ``MemberMetadata`` and the state transition table (pure).
* :mod:`.coordinator` — ``GroupCoordinator``: JoinGroup/SyncGroup/Heartbeat/LeaveGroup/OffsetCommit/
  OffsetFetch/ListGroups/DescribeGroups/DeleteGroups semantics, session and rebalance timers.
* :mod:`.metadata_manager` — the group cache, ownership of ``__consumer_offsets`` partitions, loading and
  writing their records.
* :mod:`.offsets_codec` — Kafka's key/value formats of ``__consumer_offsets`` records.
* :mod:`.log_port` — the ``OffsetsLog`` port to the replicated log (and an in-memory implementation).
* :mod:`.log_adapter` — ``ReplicatedOffsetsLog``: the port over the replica manager, records as v2 batches.
* :mod:`.zk_offsets` — the classic store: offsets in ZooKeeper, as 0.8.x (OffsetCommit/OffsetFetch v0).
* :mod:`.partitioning` — ``partition_for(group_id)``: Java's ``String.hashCode`` and Kafka's ``Utils.abs``.
* :mod:`.timers`, :mod:`.config`, :mod:`.results` — timer port, config slice, plain result types.
* :mod:`.testing` — ``CoordinatorHarness``: a coordinator on a manual clock, for tests and labs.

``tools/bench_offsets.py`` measures commits/s of the ``__consumer_offsets`` store against the ZooKeeper store.
The broker plugs it in through ``GroupCoordinator(offsets_log, config, clock=, timers=, events=)``,
``startup()``, ``on_became_leader(p)`` / ``on_resigned(p)`` and the request methods; see
``docs/consumer-groups.md``.
"""

from kafka_zk.coordinator.config import COORDINATOR_CONFIG_DEF, GroupCoordinatorConfig
from kafka_zk.coordinator.coordinator import GroupCoordinator
from kafka_zk.coordinator.group import GroupMetadata, GroupState, MemberMetadata
from kafka_zk.coordinator.log_port import InMemoryOffsetsLog, OffsetsLog
from kafka_zk.coordinator.metadata_manager import GROUP_METADATA_TOPIC_NAME
from kafka_zk.coordinator.partitioning import java_string_hashcode, partition_for
from kafka_zk.coordinator.results import (
    GroupOverview,
    GroupSummary,
    JoinMember,
    JoinResult,
    ListGroupsResult,
    MemberSummary,
    OffsetFetchEntry,
    SyncResult,
)
from kafka_zk.coordinator.timers import AsyncioTimers, ManualTimers, Timers

__all__ = [
    "COORDINATOR_CONFIG_DEF",
    "GROUP_METADATA_TOPIC_NAME",
    "AsyncioTimers",
    "GroupCoordinator",
    "GroupCoordinatorConfig",
    "GroupMetadata",
    "GroupOverview",
    "GroupState",
    "GroupSummary",
    "InMemoryOffsetsLog",
    "JoinMember",
    "JoinResult",
    "ListGroupsResult",
    "ManualTimers",
    "MemberMetadata",
    "MemberSummary",
    "OffsetFetchEntry",
    "OffsetsLog",
    "SyncResult",
    "Timers",
    "java_string_hashcode",
    "partition_for",
]
