"""DescribeCluster (key 60, KIP-700) and DescribeLogDirs (key 35, KIP-113): what an admin asks about the
brokers themselves rather than about topics or groups.

DescribeCluster v0 (Kafka 2.8) is flexible from its first version: the brokers, the controller and the
cluster id — what Metadata v11 no longer carries for the cluster-level authorized operations.
DescribeLogDirs v0-1 are classic, v2 the first flexible version; a null ``topics`` asks about every
partition the broker hosts.  (Kafka 2.8 calls the request's partition list ``PartitionIndex``; we use the
later name ``partitions`` — the wire is the same.)
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, BOOL, INT16, INT32, INT64, STRING, Array, Field, Message, Struct

DESCRIBE_CLUSTER_KEY = 60
DESCRIBE_LOG_DIRS_KEY = 35

#: "Authorized operations not requested" marker (Integer.MIN_VALUE in Kafka).
AUTHORIZED_OPERATIONS_OMITTED = -(1 << 31)
#: Offset lag of a partition the broker does not host as a replica (Kafka's INVALID_OFFSET_LAG).
INVALID_OFFSET_LAG = -1

DESCRIBE_CLUSTER_REQUEST = Message("DescribeClusterRequest", DESCRIBE_CLUSTER_KEY, (0, 0), (0, None), [
    Field("include_cluster_authorized_operations", BOOL),
])

DESCRIBE_CLUSTER_RESPONSE = Message("DescribeClusterResponse", DESCRIBE_CLUSTER_KEY, (0, 0), (0, None), [
    Field("throttle_time_ms", INT32),
    Field("error_code", INT16),
    Field("error_message", STRING, nullable=ALL, default=None),
    Field("cluster_id", STRING),
    Field("controller_id", INT32, default=-1),
    Field("brokers", Array(Struct("DescribeClusterBroker", [
        Field("broker_id", INT32),
        Field("host", STRING),
        Field("port", INT32),
        Field("rack", STRING, nullable=ALL, default=None),
    ]))),
    Field("cluster_authorized_operations", INT32, default=AUTHORIZED_OPERATIONS_OMITTED),
])

DESCRIBE_LOG_DIRS_REQUEST = Message("DescribeLogDirsRequest", DESCRIBE_LOG_DIRS_KEY, (0, 2), (2, None), [
    Field("topics", Array(Struct("DescribableLogDirTopic", [
        Field("topic", STRING),
        Field("partitions", Array(INT32)),
    ])), nullable=ALL),
])

DESCRIBE_LOG_DIRS_RESPONSE = Message("DescribeLogDirsResponse", DESCRIBE_LOG_DIRS_KEY, (0, 2), (2, None), [
    Field("throttle_time_ms", INT32),
    Field("results", Array(Struct("DescribeLogDirsResult", [
        Field("error_code", INT16),
        Field("log_dir", STRING),
        Field("topics", Array(Struct("DescribeLogDirsTopic", [
            Field("name", STRING),
            Field("partitions", Array(Struct("DescribeLogDirsPartition", [
                Field("partition_index", INT32),
                Field("partition_size", INT64),
                Field("offset_lag", INT64),
                Field("is_future_key", BOOL),
            ]))),
        ]))),
    ]))),
])

DescribeClusterRequest = DESCRIBE_CLUSTER_REQUEST.cls
DescribeClusterResponse = DESCRIBE_CLUSTER_RESPONSE.cls
DescribeLogDirsRequest = DESCRIBE_LOG_DIRS_REQUEST.cls
DescribeLogDirsResponse = DESCRIBE_LOG_DIRS_RESPONSE.cls
