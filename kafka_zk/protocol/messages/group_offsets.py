"""OffsetCommit (key 8) and OffsetFetch (key 9): a consumer group's committed positions.

OffsetCommit v0 stores offsets in ZooKeeper (``/consumers/<group>/offsets/...``, as Kafka 0.8.1 did); v1+ in
the ``__consumer_offsets`` topic.  v1 adds ``generation_id``/``member_id`` and a per-partition
``commit_timestamp`` (v1 only); v2–v4 a group-wide ``retention_time_ms``; v3 ``throttle_time_ms``; v6
``committed_leader_epoch``; v7 ``group_instance_id`` (static membership); v8 is flexible.

OffsetFetch v0 reads ZooKeeper-stored offsets, v1+ Kafka-stored ones; v2 adds a top-level ``error_code`` and
lets ``topics`` be null ("every partition the group has committed"); v3 ``throttle_time_ms``; v5
``committed_leader_epoch``; v6 is flexible; v7 ``require_stable`` (wait for pending transactional
offsets — this broker has no transactions, so it answers as without).  A partition without a commit answers offset -1, metadata ``""``, no error.

``generation_id`` keeps its Kafka 2.x name; Kafka 3.x renamed the field ``generation_id_or_member_epoch``
for KIP-848, which this ZooKeeper-era broker does not implement.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, BOOL, INT16, INT32, INT64, STRING, Array, Field, Message, Struct

OFFSET_COMMIT_KEY = 8
OFFSET_COMMIT_VERSIONS = (0, 8)
OFFSET_FETCH_KEY = 9
OFFSET_FETCH_VERSIONS = (0, 7)

OFFSET_COMMIT_REQUEST = Message("OffsetCommitRequest", OFFSET_COMMIT_KEY, OFFSET_COMMIT_VERSIONS, (8, None), [
    Field("group_id", STRING),
    Field("generation_id", INT32, (1, None), default=-1),
    Field("member_id", STRING, (1, None)),
    Field("group_instance_id", STRING, (7, None), nullable=(7, None), default=None),
    Field("retention_time_ms", INT64, (2, 4), default=-1),
    Field("topics", Array(Struct("OffsetCommitRequestTopic", [
        Field("name", STRING),
        Field("partitions", Array(Struct("OffsetCommitRequestPartition", [
            Field("partition_index", INT32),
            Field("committed_offset", INT64),
            Field("committed_leader_epoch", INT32, (6, None), default=-1),
            Field("commit_timestamp", INT64, (1, 1), default=-1),
            Field("committed_metadata", STRING, nullable=ALL),
        ]))),
    ]))),
])

OFFSET_COMMIT_RESPONSE = Message("OffsetCommitResponse", OFFSET_COMMIT_KEY, OFFSET_COMMIT_VERSIONS, (8, None), [
    Field("throttle_time_ms", INT32, (3, None)),
    Field("topics", Array(Struct("OffsetCommitResponseTopic", [
        Field("name", STRING),
        Field("partitions", Array(Struct("OffsetCommitResponsePartition", [
            Field("partition_index", INT32),
            Field("error_code", INT16),
        ]))),
    ]))),
])

OFFSET_FETCH_REQUEST = Message("OffsetFetchRequest", OFFSET_FETCH_KEY, OFFSET_FETCH_VERSIONS, (6, None), [
    Field("group_id", STRING),
    Field("topics", Array(Struct("OffsetFetchRequestTopic", [
        Field("name", STRING),
        Field("partition_indexes", Array(INT32)),
    ])), nullable=(2, None)),
    Field("require_stable", BOOL, (7, None), default=False),
])

OFFSET_FETCH_RESPONSE = Message("OffsetFetchResponse", OFFSET_FETCH_KEY, OFFSET_FETCH_VERSIONS, (6, None), [
    Field("throttle_time_ms", INT32, (3, None)),
    Field("topics", Array(Struct("OffsetFetchResponseTopic", [
        Field("name", STRING),
        Field("partitions", Array(Struct("OffsetFetchResponsePartition", [
            Field("partition_index", INT32),
            Field("committed_offset", INT64),
            Field("committed_leader_epoch", INT32, (5, None), default=-1),
            Field("metadata", STRING, nullable=ALL),
            Field("error_code", INT16),
        ]))),
    ]))),
    Field("error_code", INT16, (2, None)),
])

OffsetCommitRequest = OFFSET_COMMIT_REQUEST.cls
OffsetCommitResponse = OFFSET_COMMIT_RESPONSE.cls
OffsetFetchRequest = OFFSET_FETCH_REQUEST.cls
OffsetFetchResponse = OFFSET_FETCH_RESPONSE.cls
