"""Fetch (key 1): consumers and follower replicas read record batches.

A follower's fetcher sets ``replica_id`` to its broker id; consumers send -1.

Version notes: v1 adds ``throttle_time_ms``; v3 ``max_bytes``; v4 ``isolation_level``, the
``last_stable_offset`` and ``aborted_transactions`` of each partition, and the promise that the client reads
magic-2 batches; v5 ``log_start_offset`` (both directions); v7 fetch sessions (KIP-227: ``session_id``,
``session_epoch``, ``forgotten_topics_data``, top-level ``error_code``); v9 ``current_leader_epoch``
(KIP-320); v10 allows zstd; v11 ``rack_id`` and ``preferred_read_replica`` (which must be -1 unless the client
should switch replicas — hence its default); v12 is the first flexible version (``last_fetched_epoch`` for
KIP-595-style truncation detection, tagged ``diverging_epoch``/``current_leader``/``snapshot_id``).

``records`` defaults to ``b""``, not null: librdkafka rejects a null record set (``protocol.md`` P4).
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, INT8, INT16, INT32, INT64, RECORDS, STRING, Array, Field, Message, Struct

API_KEY = 1
VERSIONS = (0, 12)
FLEXIBLE = (12, None)

FETCH_REQUEST = Message("FetchRequest", API_KEY, VERSIONS, FLEXIBLE, [
    Field("cluster_id", STRING, (12, None), nullable=(12, None), tag=0, default=None),
    Field("replica_id", INT32, default=-1),
    Field("max_wait_ms", INT32),
    Field("min_bytes", INT32),
    Field("max_bytes", INT32, (3, None), default=0x7FFFFFFF),
    Field("isolation_level", INT8, (4, None)),
    Field("session_id", INT32, (7, None)),
    Field("session_epoch", INT32, (7, None), default=-1),
    Field("topics", Array(Struct("FetchTopic", [
        Field("topic", STRING),
        Field("partitions", Array(Struct("FetchPartition", [
            Field("partition", INT32),
            Field("current_leader_epoch", INT32, (9, None), default=-1),
            Field("fetch_offset", INT64),
            Field("last_fetched_epoch", INT32, (12, None), default=-1),
            Field("log_start_offset", INT64, (5, None), default=-1),
            Field("partition_max_bytes", INT32),
        ]))),
    ]))),
    Field("forgotten_topics_data", Array(Struct("ForgottenTopic", [
        Field("topic", STRING),
        Field("partitions", Array(INT32)),
    ])), (7, None)),
    Field("rack_id", STRING, (11, None)),
])

FETCH_RESPONSE = Message("FetchResponse", API_KEY, VERSIONS, FLEXIBLE, [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("error_code", INT16, (7, None)),
    Field("session_id", INT32, (7, None)),
    Field("responses", Array(Struct("FetchableTopicResponse", [
        Field("topic", STRING),
        Field("partitions", Array(Struct("PartitionData", [
            Field("partition_index", INT32),
            Field("error_code", INT16),
            Field("high_watermark", INT64),
            Field("last_stable_offset", INT64, (4, None), default=-1),
            Field("log_start_offset", INT64, (5, None), default=-1),
            Field("diverging_epoch", Struct("EpochEndOffset", [
                Field("epoch", INT32, default=-1),
                Field("end_offset", INT64, default=-1),
            ]), (12, None), tag=0),
            Field("current_leader", Struct("LeaderIdAndEpoch", [
                Field("leader_id", INT32, default=-1),
                Field("leader_epoch", INT32, default=-1),
            ]), (12, None), tag=1),
            Field("snapshot_id", Struct("SnapshotId", [
                Field("end_offset", INT64, default=-1),
                Field("epoch", INT32, default=-1),
            ]), (12, None), tag=2),
            Field("aborted_transactions", Array(Struct("AbortedTransaction", [
                Field("producer_id", INT64),
                Field("first_offset", INT64),
            ])), (4, None), nullable=(4, None)),
            Field("preferred_read_replica", INT32, (11, None), default=-1),
            Field("records", RECORDS, nullable=ALL, default=b""),
        ]))),
    ]))),
])

FetchRequest = FETCH_REQUEST.cls
FetchResponse = FETCH_RESPONSE.cls
