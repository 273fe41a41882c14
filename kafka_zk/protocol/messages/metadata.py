"""Metadata (key 3): brokers, controller and partition leadership for some or all topics.

Version notes: in v0 an empty topic list means "all topics"; from v1 a *null* list means all and an empty
one means none.  v1 adds broker ``rack``, ``controller_id`` and ``is_internal``; v2 ``cluster_id``; v3
``throttle_time_ms``; v4 ``allow_auto_topic_creation``; v5 ``offline_replicas``; v7 ``leader_epoch``
(KIP-320 — see ``protocol.md`` P10 before advertising it); v8 the authorized-operations bit fields; v9 is
the first flexible version; v10 adds topic ids (KIP-516: the request may name a topic by id, with a null
name); v11 drops the cluster authorized operations (KIP-700 moved them to DescribeCluster).
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, BOOL, INT16, INT32, STRING, UUID, Array, Field, Message, Struct

API_KEY = 3
VERSIONS = (0, 11)
FLEXIBLE = (9, None)

#: "Authorized operations not requested" marker of v8+ (Integer.MIN_VALUE in Kafka).
AUTHORIZED_OPERATIONS_OMITTED = -(1 << 31)

METADATA_REQUEST = Message("MetadataRequest", API_KEY, VERSIONS, FLEXIBLE, [
    Field("topics", Array(Struct("MetadataRequestTopic", [
        Field("topic_id", UUID, (10, None)),
        Field("name", STRING, nullable=(10, None)),
    ])), nullable=(1, None)),
    Field("allow_auto_topic_creation", BOOL, (4, None), default=True),
    Field("include_cluster_authorized_operations", BOOL, (8, 10)),
    Field("include_topic_authorized_operations", BOOL, (8, None)),
])

METADATA_RESPONSE = Message("MetadataResponse", API_KEY, VERSIONS, FLEXIBLE, [
    Field("throttle_time_ms", INT32, (3, None)),
    Field("brokers", Array(Struct("MetadataResponseBroker", [
        Field("node_id", INT32),
        Field("host", STRING),
        Field("port", INT32),
        Field("rack", STRING, (1, None), nullable=ALL, default=None),
    ]))),
    Field("cluster_id", STRING, (2, None), nullable=(2, None), default=None),
    Field("controller_id", INT32, (1, None), default=-1),
    Field("topics", Array(Struct("MetadataResponseTopic", [
        Field("error_code", INT16),
        Field("name", STRING),
        Field("topic_id", UUID, (10, None)),
        Field("is_internal", BOOL, (1, None)),
        Field("partitions", Array(Struct("MetadataResponsePartition", [
            Field("error_code", INT16),
            Field("partition_index", INT32),
            Field("leader_id", INT32),
            Field("leader_epoch", INT32, (7, None), default=-1),
            Field("replica_nodes", Array(INT32)),
            Field("isr_nodes", Array(INT32)),
            Field("offline_replicas", Array(INT32), (5, None)),
        ]))),
        Field("topic_authorized_operations", INT32, (8, None), default=AUTHORIZED_OPERATIONS_OMITTED),
    ]))),
    Field("cluster_authorized_operations", INT32, (8, 10), default=AUTHORIZED_OPERATIONS_OMITTED),
])

MetadataRequest = METADATA_REQUEST.cls
MetadataResponse = METADATA_RESPONSE.cls
