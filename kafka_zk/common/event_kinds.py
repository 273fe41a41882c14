"""Every event kind the components emit on the :class:`~kafka_zk.common.events.EventBus`, in one place.

Emitters pass these constants, never a string built on the spot, so ``grep -rn kinds.ISR_SHRINK`` finds
every place that emits a kind, and ``docs/events.md`` (which documents each kind's fields and when it is
emitted) is checked against :data:`ALL` by ``tests/unit/test_event_kinds.py``.
"""

from __future__ import annotations

# ---- controller (the active controller's broker) -------------------------------------------------
CONTROLLER_ELECTED = "controller.elected"
CONTROLLER_RESIGNED = "controller.resigned"
BROKER_JOINED = "broker.joined"
BROKER_FAILED = "broker.failed"
TOPIC_CREATED = "topic.created"
TOPIC_DELETED = "topic.deleted"
PARTITION_LEADER_ELECTED = "partition.leader_elected"
PARTITION_OFFLINE = "partition.offline"
ELECTION_UNCLEAN = "election.unclean"
ISR_CHANGED = "isr.changed"
REPLICA_STATE = "replica.state"
PARTITION_REASSIGNED = "partition.reassigned"
CONTROLLER_FAILOVER_DONE = "controller.failover_done"
BROKER_FAILURE_HANDLED = "broker.failure_handled"

# ---- replicas (every broker) ---------------------------------------------------------------------
REPLICA_BECAME_LEADER = "replica.became_leader"
REPLICA_BECAME_FOLLOWER = "replica.became_follower"
REPLICA_FETCHING = "replica.fetching"
REPLICA_TRUNCATED = "replica.truncated"
REPLICA_LEO = "replica.leo"
REPLICA_HW = "replica.hw"
ISR_SHRINK = "isr.shrink"
ISR_EXPAND = "isr.expand"
ISR_CHANGE_PROPAGATED = "isr.change_propagated"
REPLICA_FENCED = "replica.fenced"
REPLICA_STOPPED = "replica.stopped"
REPLICA_DELETED = "replica.deleted"

# ---- logs (every broker) -------------------------------------------------------------------------
LOG_ROLLED = "log.rolled"
LOG_TRUNCATED = "log.truncated"
LOG_RECOVERED = "log.recovered"
LOG_SEGMENT_DELETED = "log.segment_deleted"
LOG_DELETED = "log.deleted"

# ---- consumer groups (the coordinator's broker) --------------------------------------------------
GROUP_STATE = "group.state"
GROUP_MEMBER_JOINED = "group.member_joined"
GROUP_MEMBER_REMOVED = "group.member_removed"
GROUP_REBALANCE_COMPLETED = "group.rebalance_completed"
GROUP_STATIC_MEMBER_REPLACED = "group.static_member_replaced"
GROUP_OFFSETS_DELETED = "group.offsets_deleted"

# ---- broker lifecycle ----------------------------------------------------------------------------
BROKER_STARTED = "broker.started"
BROKER_REGISTERED = "broker.registered"
BROKER_CONTROLLED_SHUTDOWN = "broker.controlled_shutdown"
CONFIG_TOPIC_CHANGED = "config.topic_changed"
CONFIG_BROKER_CHANGED = "config.broker_changed"

ALL: frozenset[str] = frozenset(v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str))
