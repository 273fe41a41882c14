"""DescribeConfigs (32) and AlterConfigs (33): dynamic configuration of topics and brokers.

``resource_type`` follows Kafka's ``ConfigResource.Type``: 2 = topic, 4 = broker (:data:`RESOURCE_TOPIC`,
:data:`RESOURCE_BROKER`).  In the ZooKeeper era the values live in ``/config/<entity-type>/<name>`` and a change
notification tells every broker to reload.  AlterConfigs replaces the whole set of a resource.

Version notes: DescribeConfigs v1 adds ``include_synonyms``, per-config ``config_source`` and ``synonyms``
and drops ``is_default`` (v0 only); v2 is v1; v3 adds ``include_documentation``, ``config_type`` and
``documentation``; v4 is the first flexible version.  AlterConfigs v1 is v0; v2 is the first flexible
version.

IncrementalAlterConfigs (44, KIP-339) changes single keys instead of replacing the whole set: each entry
carries a ``config_operation`` (:data:`OP_SET`, :data:`OP_DELETE`, :data:`OP_APPEND`, :data:`OP_SUBTRACT`;
append/subtract only for list-typed keys).  v1 is the first flexible version.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, BOOL, INT8, INT16, INT32, STRING, Array, Field, Message, Struct

DESCRIBE_CONFIGS_KEY = 32
ALTER_CONFIGS_KEY = 33

RESOURCE_TOPIC = 2
RESOURCE_BROKER = 4

OP_SET = 0
OP_DELETE = 1
OP_APPEND = 2
OP_SUBTRACT = 3

INCREMENTAL_ALTER_CONFIGS_KEY = 44

DESCRIBE_CONFIGS_REQUEST = Message("DescribeConfigsRequest", DESCRIBE_CONFIGS_KEY, (0, 4), (4, None), [
    Field("resources", Array(Struct("DescribeConfigsResource", [
        Field("resource_type", INT8),
        Field("resource_name", STRING),
        Field("configuration_keys", Array(STRING), nullable=ALL),
    ]))),
    Field("include_synonyms", BOOL, (1, None)),
    Field("include_documentation", BOOL, (3, None)),
])

DESCRIBE_CONFIGS_RESPONSE = Message("DescribeConfigsResponse", DESCRIBE_CONFIGS_KEY, (0, 4), (4, None), [
    Field("throttle_time_ms", INT32),
    Field("results", Array(Struct("DescribeConfigsResult", [
        Field("error_code", INT16),
        Field("error_message", STRING, nullable=ALL),
        Field("resource_type", INT8),
        Field("resource_name", STRING),
        Field("configs", Array(Struct("DescribeConfigsResourceResult", [
            Field("name", STRING),
            Field("value", STRING, nullable=ALL),
            Field("read_only", BOOL),
            Field("is_default", BOOL, (0, 0)),
            Field("config_source", INT8, (1, None), default=-1),
            Field("is_sensitive", BOOL),
            Field("synonyms", Array(Struct("DescribeConfigsSynonym", [
                Field("name", STRING),
                Field("value", STRING, nullable=ALL),
                Field("source", INT8),
            ])), (1, None)),
            Field("config_type", INT8, (3, None)),
            Field("documentation", STRING, (3, None), nullable=ALL),
        ]))),
    ]))),
])

ALTER_CONFIGS_REQUEST = Message("AlterConfigsRequest", ALTER_CONFIGS_KEY, (0, 2), (2, None), [
    Field("resources", Array(Struct("AlterConfigsResource", [
        Field("resource_type", INT8),
        Field("resource_name", STRING),
        Field("configs", Array(Struct("AlterableConfig", [
            Field("name", STRING),
            Field("value", STRING, nullable=ALL),
        ]))),
    ]))),
    Field("validate_only", BOOL),
])

ALTER_CONFIGS_RESPONSE = Message("AlterConfigsResponse", ALTER_CONFIGS_KEY, (0, 2), (2, None), [
    Field("throttle_time_ms", INT32),
    Field("responses", Array(Struct("AlterConfigsResourceResponse", [
        Field("error_code", INT16),
        Field("error_message", STRING, nullable=ALL),
        Field("resource_type", INT8),
        Field("resource_name", STRING),
    ]))),
])

INCREMENTAL_ALTER_CONFIGS_REQUEST = Message(
    "IncrementalAlterConfigsRequest", INCREMENTAL_ALTER_CONFIGS_KEY, (0, 1), (1, None), [
        Field("resources", Array(Struct("AlterConfigsResource", [
            Field("resource_type", INT8),
            Field("resource_name", STRING),
            Field("configs", Array(Struct("AlterableConfig", [
                Field("name", STRING),
                Field("config_operation", INT8),
                Field("value", STRING, nullable=ALL),
            ]))),
        ]))),
        Field("validate_only", BOOL),
    ])

INCREMENTAL_ALTER_CONFIGS_RESPONSE = Message(
    "IncrementalAlterConfigsResponse", INCREMENTAL_ALTER_CONFIGS_KEY, (0, 1), (1, None), [
        Field("throttle_time_ms", INT32),
        Field("responses", Array(Struct("AlterConfigsResourceResponse", [
            Field("error_code", INT16),
            Field("error_message", STRING, nullable=ALL),
            Field("resource_type", INT8),
            Field("resource_name", STRING),
        ]))),
    ])

DescribeConfigsRequest = DESCRIBE_CONFIGS_REQUEST.cls
DescribeConfigsResponse = DESCRIBE_CONFIGS_RESPONSE.cls
AlterConfigsRequest = ALTER_CONFIGS_REQUEST.cls
AlterConfigsResponse = ALTER_CONFIGS_RESPONSE.cls
IncrementalAlterConfigsRequest = INCREMENTAL_ALTER_CONFIGS_REQUEST.cls
IncrementalAlterConfigsResponse = INCREMENTAL_ALTER_CONFIGS_RESPONSE.cls
