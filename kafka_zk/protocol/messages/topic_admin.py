"""Topic administration: CreateTopics (19), DeleteTopics (20) and CreatePartitions (37).

These go to the controller (clients route them by Metadata's ``controller_id``; other brokers answer 41
NOT_CONTROLLER).

Version notes: CreateTopics v1 adds ``validate_only`` and per-topic ``error_message``; v2 ``throttle_time_ms``;
v3 is v2; v4 lets ``num_partitions``/``replication_factor`` be -1 for "broker default" (KIP-464) — the reason
librdkafka needs v4.  DeleteTopics v1 adds ``throttle_time_ms``; v2–v3 are v1.  CreatePartitions v1 is v0;
v2 is the first flexible version, v3 is v2.  A null ``assignments`` in CreatePartitions lets the controller
place the new partitions.

Kafka 2.8's later versions: CreateTopics v5 is flexible and its result carries the created topic's
``num_partitions``, ``replication_factor`` and ``configs`` (KIP-525, so a client need not describe it again),
v6 is v5 (quota violations become THROTTLING_QUOTA_EXCEEDED), v7 adds the result's ``topic_id`` (KIP-516).
DeleteTopics v4 is flexible, v5 adds per-topic ``error_message``, v6 names topics by ``topics`` (name *or*
topic id) instead of ``topic_names``.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import (
    ALL,
    BOOL,
    INT8,
    INT16,
    INT32,
    STRING,
    UUID,
    Array,
    Field,
    Message,
    Struct,
)

CREATE_TOPICS_KEY = 19
DELETE_TOPICS_KEY = 20
CREATE_PARTITIONS_KEY = 37

CREATE_TOPICS_REQUEST = Message("CreateTopicsRequest", CREATE_TOPICS_KEY, (0, 7), (5, None), [
    Field("topics", Array(Struct("CreatableTopic", [
        Field("name", STRING),
        Field("num_partitions", INT32),
        Field("replication_factor", INT16),
        Field("assignments", Array(Struct("CreatableReplicaAssignment", [
            Field("partition_index", INT32),
            Field("broker_ids", Array(INT32)),
        ]))),
        Field("configs", Array(Struct("CreatableTopicConfig", [
            Field("name", STRING),
            Field("value", STRING, nullable=ALL),
        ]))),
    ]))),
    Field("timeout_ms", INT32, default=60000),
    Field("validate_only", BOOL, (1, None)),
])

CREATE_TOPICS_RESPONSE = Message("CreateTopicsResponse", CREATE_TOPICS_KEY, (0, 7), (5, None), [
    Field("throttle_time_ms", INT32, (2, None)),
    Field("topics", Array(Struct("CreatableTopicResult", [
        Field("name", STRING),
        Field("topic_id", UUID, (7, None)),
        Field("error_code", INT16),
        Field("error_message", STRING, (1, None), nullable=ALL),
        Field("topic_config_error_code", INT16, (5, None), tag=0),
        Field("num_partitions", INT32, (5, None), default=-1),
        Field("replication_factor", INT16, (5, None), default=-1),
        Field("configs", Array(Struct("CreatableTopicConfigs", [
            Field("name", STRING),
            Field("value", STRING, nullable=ALL),
            Field("read_only", BOOL),
            Field("config_source", INT8, default=-1),
            Field("is_sensitive", BOOL),
        ])), (5, None), nullable=(5, None)),
    ]))),
])

DELETE_TOPICS_REQUEST = Message("DeleteTopicsRequest", DELETE_TOPICS_KEY, (0, 6), (4, None), [
    Field("topics", Array(Struct("DeleteTopicState", [
        Field("name", STRING, nullable=(6, None), default=None),
        Field("topic_id", UUID),
    ])), (6, None)),
    Field("topic_names", Array(STRING), (0, 5)),
    Field("timeout_ms", INT32),
])

DELETE_TOPICS_RESPONSE = Message("DeleteTopicsResponse", DELETE_TOPICS_KEY, (0, 6), (4, None), [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("responses", Array(Struct("DeletableTopicResult", [
        Field("name", STRING, nullable=(6, None)),
        Field("topic_id", UUID, (6, None)),
        Field("error_code", INT16),
        Field("error_message", STRING, (5, None), nullable=(5, None), default=None),
    ]))),
])

CREATE_PARTITIONS_REQUEST = Message("CreatePartitionsRequest", CREATE_PARTITIONS_KEY, (0, 3), (2, None), [
    Field("topics", Array(Struct("CreatePartitionsTopic", [
        Field("name", STRING),
        Field("count", INT32),
        Field("assignments", Array(Struct("CreatePartitionsAssignment", [
            Field("broker_ids", Array(INT32)),
        ])), nullable=ALL),
    ]))),
    Field("timeout_ms", INT32),
    Field("validate_only", BOOL),
])

CREATE_PARTITIONS_RESPONSE = Message("CreatePartitionsResponse", CREATE_PARTITIONS_KEY, (0, 3), (2, None), [
    Field("throttle_time_ms", INT32),
    Field("results", Array(Struct("CreatePartitionsTopicResult", [
        Field("name", STRING),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable=ALL, default=None),
    ]))),
])

CreateTopicsRequest = CREATE_TOPICS_REQUEST.cls
CreateTopicsResponse = CREATE_TOPICS_RESPONSE.cls
DeleteTopicsRequest = DELETE_TOPICS_REQUEST.cls
DeleteTopicsResponse = DELETE_TOPICS_RESPONSE.cls
CreatePartitionsRequest = CREATE_PARTITIONS_REQUEST.cls
CreatePartitionsResponse = CREATE_PARTITIONS_RESPONSE.cls
