"""Topic administration: CreateTopics (19), DeleteTopics (20) and CreatePartitions (37).

These go to the controller (clients route them by Metadata's ``controller_id``; other brokers answer 41
NOT_CONTROLLER).

Version notes: CreateTopics v1 adds ``validate_only`` and per-topic ``error_message``; v2 ``throttle_time_ms``;
v3 is v2; v4 lets ``num_partitions``/``replication_factor`` be -1 for "broker default" (KIP-464) — the reason
librdkafka needs v4.  DeleteTopics v1 adds ``throttle_time_ms``; v2–v3 are v1.  CreatePartitions v1 is v0;
v2 is the first flexible version, v3 is v2.  A null ``assignments`` in CreatePartitions lets the controller
place the new partitions.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, BOOL, INT16, INT32, STRING, Array, Field, Message, Struct

CREATE_TOPICS_KEY = 19
DELETE_TOPICS_KEY = 20
CREATE_PARTITIONS_KEY = 37

CREATE_TOPICS_REQUEST = Message("CreateTopicsRequest", CREATE_TOPICS_KEY, (0, 4), None, [
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

CREATE_TOPICS_RESPONSE = Message("CreateTopicsResponse", CREATE_TOPICS_KEY, (0, 4), None, [
    Field("throttle_time_ms", INT32, (2, None)),
    Field("topics", Array(Struct("CreatableTopicResult", [
        Field("name", STRING),
        Field("error_code", INT16),
        Field("error_message", STRING, (1, None), nullable=ALL),
    ]))),
])

DELETE_TOPICS_REQUEST = Message("DeleteTopicsRequest", DELETE_TOPICS_KEY, (0, 3), None, [
    Field("topic_names", Array(STRING)),
    Field("timeout_ms", INT32),
])

DELETE_TOPICS_RESPONSE = Message("DeleteTopicsResponse", DELETE_TOPICS_KEY, (0, 3), None, [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("responses", Array(Struct("DeletableTopicResult", [
        Field("name", STRING),
        Field("error_code", INT16),
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
