"""Produce (key 0): append record batches to partition logs.

Version notes: v1 adds ``throttle_time_ms`` (after the topic array); v2 ``log_append_time_ms``; v3
``transactional_id`` and, from then on, only magic-2 record batches, exactly one per partition; v5
``log_start_offset``; v7 allows zstd; v8 adds per-partition ``record_errors`` and ``error_message`` (KIP-467)
— fields that exist at a version are always written, so a v8 response carries both even when empty/null; v9
is v8 in the flexible encoding (KIP-482).

With ``acks == 0`` the broker sends no response at all; clients do not wait for one.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, INT16, INT32, INT64, RECORDS, STRING, Array, Field, Message, Struct

API_KEY = 0
VERSIONS = (0, 9)
FLEXIBLE = (9, None)

PRODUCE_REQUEST = Message("ProduceRequest", API_KEY, VERSIONS, FLEXIBLE, [
    Field("transactional_id", STRING, (3, None), nullable=(3, None), default=None),
    Field("acks", INT16),
    Field("timeout_ms", INT32),
    Field("topic_data", Array(Struct("TopicProduceData", [
        Field("name", STRING),
        Field("partition_data", Array(Struct("PartitionProduceData", [
            Field("index", INT32),
            Field("records", RECORDS, nullable=ALL),
        ]))),
    ]))),
])

PRODUCE_RESPONSE = Message("ProduceResponse", API_KEY, VERSIONS, FLEXIBLE, [
    Field("responses", Array(Struct("TopicProduceResponse", [
        Field("name", STRING),
        Field("partition_responses", Array(Struct("PartitionProduceResponse", [
            Field("index", INT32),
            Field("error_code", INT16),
            Field("base_offset", INT64),
            Field("log_append_time_ms", INT64, (2, None), default=-1),
            Field("log_start_offset", INT64, (5, None), default=-1),
            Field("record_errors", Array(Struct("BatchIndexAndErrorMessage", [
                Field("batch_index", INT32),
                Field("batch_index_error_message", STRING, nullable=ALL, default=None),
            ])), (8, None)),
            Field("error_message", STRING, (8, None), nullable=(8, None), default=None),
        ]))),
    ]))),
    Field("throttle_time_ms", INT32, (1, None)),
])

ProduceRequest = PRODUCE_REQUEST.cls
ProduceResponse = PRODUCE_RESPONSE.cls
