"""Every znode path of Kafka 2.x's ZooKeeper tree (Kafka's ``ZkData.scala`` path objects).

Fixed paths are constants; paths with a name in them are functions, which refuse names that would
escape their parent (an empty name, ``.``/``..``, or a ``/`` where Kafka allows none), so a bad topic
name can never address another part of the tree. Sequential znodes (ISR-change, log-dir-event and
config-change notifications) are created under a *prefix*; ZooKeeper appends a 10-digit zero-padded
counter, and :func:`sequence_number` reads it back.

All paths are relative to the chroot of the connection (``host:port/kafka`` → ``/kafka/brokers/...`` on
the server); ``zk_layout`` never sees the chroot.
"""

from __future__ import annotations

from typing import Final

# -- controller ---------------------------------------------------------------------------------------
CONTROLLER: Final = "/controller"
CONTROLLER_EPOCH: Final = "/controller_epoch"

# -- brokers and topics -------------------------------------------------------------------------------
BROKERS: Final = "/brokers"
BROKER_IDS: Final = "/brokers/ids"
BROKER_SEQID: Final = "/brokers/seqid"
BROKER_TOPICS: Final = "/brokers/topics"

# -- admin requests -----------------------------------------------------------------------------------
ADMIN: Final = "/admin"
DELETE_TOPICS: Final = "/admin/delete_topics"
REASSIGN_PARTITIONS: Final = "/admin/reassign_partitions"
PREFERRED_REPLICA_ELECTION: Final = "/admin/preferred_replica_election"

# -- notifications (parents of persistent-sequential children) ----------------------------------------
ISR_CHANGE_NOTIFICATION: Final = "/isr_change_notification"
ISR_CHANGE_PREFIX: Final = "isr_change_"
LOG_DIR_EVENT_NOTIFICATION: Final = "/log_dir_event_notification"
LOG_DIR_EVENT_PREFIX: Final = "log_dir_event_"

# -- configs ------------------------------------------------------------------------------------------
CONFIG: Final = "/config"
CONFIG_CHANGES: Final = "/config/changes"
CONFIG_CHANGE_PREFIX: Final = "config_change_"
# Kafka 2.0-2.7 ``ConfigType.all`` (2.8 adds "ips"); every broker creates /config/<type> at startup.
CONFIG_TYPES: Final = ("topics", "clients", "users", "brokers")
CONFIG_TYPE_TOPICS: Final = "topics"
CONFIG_TYPE_CLIENTS: Final = "clients"
CONFIG_TYPE_USERS: Final = "users"
CONFIG_TYPE_BROKERS: Final = "brokers"
CONFIG_TYPE_IPS: Final = "ips"

# -- misc ---------------------------------------------------------------------------------------------
CLUSTER: Final = "/cluster"
CLUSTER_ID: Final = "/cluster/id"
LATEST_PRODUCER_ID_BLOCK: Final = "/latest_producer_id_block"
FEATURE: Final = "/feature"
CONSUMERS: Final = "/consumers"

# ``ZkData.PersistentZkPaths``: what ``KafkaZkClient.createTopLevelPaths()`` makes sure exists at every
# broker start (recursively, tolerating "already exists"), in Kafka's order.
PERSISTENT_PATHS: Final[tuple[str, ...]] = (
    CONSUMERS,
    BROKER_IDS,
    BROKER_TOPICS,
    CONFIG_CHANGES,
    DELETE_TOPICS,
    BROKER_SEQID,
    ISR_CHANGE_NOTIFICATION,
    LATEST_PRODUCER_ID_BLOCK,
    LOG_DIR_EVENT_NOTIFICATION,
) + tuple(f"{CONFIG}/{t}" for t in CONFIG_TYPES)


def _name(kind: str, value: str, *, allow_slash: bool = False) -> str:
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise ValueError(f"invalid {kind} {value!r} for a znode path (expected a non-empty name)")
    if not allow_slash and "/" in value:
        raise ValueError(f"invalid {kind} {value!r} for a znode path (a '/' is not allowed)")
    if allow_slash and any(part in ("", ".", "..") for part in value.split("/")):
        raise ValueError(f"invalid {kind} {value!r} for a znode path (empty, '.' or '..' component)")
    return value


def _int(kind: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"invalid {kind} {value!r} for a znode path (expected an int >= 0)")
    return value


def broker_id_path(broker_id: int) -> str:
    return f"{BROKER_IDS}/{_int('broker id', broker_id)}"


def topic_path(topic: str) -> str:
    return f"{BROKER_TOPICS}/{_name('topic', topic)}"


def topic_partitions_path(topic: str) -> str:
    return f"{topic_path(topic)}/partitions"


def partition_path(topic: str, partition: int) -> str:
    return f"{topic_partitions_path(topic)}/{_int('partition', partition)}"


def partition_state_path(topic: str, partition: int) -> str:
    return f"{partition_path(topic, partition)}/state"


def delete_topic_path(topic: str) -> str:
    return f"{DELETE_TOPICS}/{_name('topic', topic)}"


def config_type_path(entity_type: str) -> str:
    return f"{CONFIG}/{_name('config entity type', entity_type)}"


def config_entity_path(entity_type: str, entity_name: str) -> str:
    """``/config/<type>/<name>``; user entities may be ``<user>/clients/<client-id>`` (hence the slash)."""
    return f"{config_type_path(entity_type)}/{_name('config entity name', entity_name, allow_slash=True)}"


def config_change_prefix_path() -> str:
    """Prefix for ``create(..., sequence=True)`` of a config change notification."""
    return f"{CONFIG_CHANGES}/{CONFIG_CHANGE_PREFIX}"


def isr_change_prefix_path() -> str:
    return f"{ISR_CHANGE_NOTIFICATION}/{ISR_CHANGE_PREFIX}"


def isr_change_path(sequence: str) -> str:
    """``/isr_change_notification/isr_change_<seq>``; ``sequence`` is the 10-digit suffix."""
    return f"{isr_change_prefix_path()}{_name('sequence number', sequence)}"


def log_dir_event_prefix_path() -> str:
    return f"{LOG_DIR_EVENT_NOTIFICATION}/{LOG_DIR_EVENT_PREFIX}"


def log_dir_event_path(sequence: str) -> str:
    return f"{log_dir_event_prefix_path()}{_name('sequence number', sequence)}"


def config_change_path(sequence: str) -> str:
    return f"{config_change_prefix_path()}{_name('sequence number', sequence)}"


def consumer_group_path(group: str) -> str:
    return f"{CONSUMERS}/{_name('group', group)}"


def consumer_ids_path(group: str) -> str:
    """``/consumers/<group>/ids``: the 0.8 high-level consumers registered in ``group`` (ephemeral children)."""
    return f"{consumer_group_path(group)}/ids"


def consumer_id_path(group: str, consumer_id: str) -> str:
    return f"{consumer_ids_path(group)}/{_name('consumer id', consumer_id)}"


def consumer_owners_root_path(group: str) -> str:
    return f"{consumer_group_path(group)}/owners"


def consumer_owners_path(group: str, topic: str) -> str:
    return f"{consumer_owners_root_path(group)}/{_name('topic', topic)}"


def consumer_owner_path(group: str, topic: str, partition: int) -> str:
    """``/consumers/<group>/owners/<topic>/<partition>``: ephemeral, holds the owning consumer thread id."""
    return f"{consumer_owners_path(group, topic)}/{_int('partition', partition)}"


def consumer_offsets_path(group: str, topic: str) -> str:
    return f"{consumer_group_path(group)}/offsets/{_name('topic', topic)}"


def consumer_offset_path(group: str, topic: str, partition: int) -> str:
    return f"{consumer_offsets_path(group, topic)}/{_int('partition', partition)}"


def sequence_number(child_name: str, prefix: str) -> str:
    """The counter part of a sequential child's name (``isr_change_0000000012`` → ``0000000012``).

    Raises ValueError when the name does not start with ``prefix``.
    """
    if not child_name.startswith(prefix) or len(child_name) == len(prefix):
        raise ValueError(f"{child_name!r} is not a sequential znode named {prefix}<seq>")
    return child_name[len(prefix):]


def parent(path: str) -> str:
    """The parent of an absolute znode path (``/`` for top-level nodes)."""
    head = path.rsplit("/", 1)[0]
    return head or "/"


def join(base: str, child: str) -> str:
    return f"{base.rstrip('/')}/{child}"
