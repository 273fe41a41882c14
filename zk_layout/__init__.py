"""Kafka 2.x's ZooKeeper tree: every znode path, its JSON payload and the operations on it.

Usable on its own by tools (it imports nothing from ``kafka_zk``)::

    from zk_layout import KafkaZkClient
    with KafkaZkClient("127.0.0.1:2181/kafka") as zk:
        zk.create_top_level_paths()
        print(zk.get_or_create_cluster_id())

Modules: ``paths`` (every path), ``znodes`` (typed payload records), ``client`` (``KafkaZkClient``),
``connection`` (sessions, retries, fenced multi-ops), ``watches`` (self re-arming watches), ``tree``
(decode any znode, render the tree), ``errors``.
"""

from zk_layout.client import KafkaZkClient, generate_cluster_id
from zk_layout.connection import (
    MATCH_ANY_VERSION,
    SessionEvent,
    SessionState,
    UpdateResult,
    UpdateStatus,
    ZkConnectionError,
    split_connect,
)
from zk_layout.errors import (
    BrokerIdTakenError,
    ChrootMissingError,
    ConsumerIdTakenError,
    ControllerMovedError,
    ElectionInProgressError,
    ReassignmentInProgressError,
    TopicAlreadyMarkedForDeletionError,
    TopicExistsError,
    TopicNotFoundError,
    ZkLayoutError,
    ZnodeDecodeError,
)
from zk_layout.znodes import (
    BrokerRegistration,
    ClusterId,
    ConfigChangeNotification,
    ConsumerOffset,
    ConsumerPartitionOwner,
    ConsumerRegistration,
    ControllerEpoch,
    ControllerInfo,
    Endpoint,
    EntityConfig,
    FeatureInfo,
    IsrChangeNotification,
    LogDirEventNotification,
    PartitionState,
    PreferredReplicaElection,
    ProducerIdBlock,
    ReassignPartitions,
    TopicAssignment,
    TopicPartition,
)

__all__ = [
    "KafkaZkClient", "generate_cluster_id", "MATCH_ANY_VERSION", "SessionEvent", "SessionState", "UpdateResult",
    "UpdateStatus", "ZkConnectionError", "split_connect", "BrokerIdTakenError", "ChrootMissingError",
    "ControllerMovedError", "ElectionInProgressError", "ReassignmentInProgressError",
    "TopicAlreadyMarkedForDeletionError", "TopicExistsError", "TopicNotFoundError", "ZkLayoutError",
    "ZnodeDecodeError", "BrokerRegistration", "ClusterId", "ConfigChangeNotification", "ConsumerOffset",
    "ControllerEpoch", "ControllerInfo", "Endpoint", "EntityConfig", "FeatureInfo", "IsrChangeNotification",
    "LogDirEventNotification", "PartitionState", "PreferredReplicaElection", "ProducerIdBlock",
    "ReassignPartitions", "TopicAssignment", "TopicPartition",
    "ConsumerIdTakenError", "ConsumerRegistration", "ConsumerPartitionOwner",
]
