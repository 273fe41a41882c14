"""ListOffsets (key 2): the offset for a timestamp (-1 = latest, -2 = earliest) per partition.

Version notes: v0 answers with a list of ``old_style_offsets`` (up to ``max_num_offsets``); v1 switches to a
single ``timestamp``/``offset`` pair; v2 adds ``isolation_level`` (latest = last stable offset under
read_committed) and ``throttle_time_ms``; v4 adds ``current_leader_epoch`` / ``leader_epoch`` (KIP-320); v5
is v4 with a new error for out-of-date epochs; v6 is v5 in the flexible encoding.

``replica_id`` defaults to -1 (a consumer), which is what every client sends; Kafka's own default is 0.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import INT8, INT16, INT32, INT64, STRING, Array, Field, Message, Struct

API_KEY = 2
VERSIONS = (0, 6)
FLEXIBLE = (6, None)

#: Special timestamps of the request.
LATEST_TIMESTAMP = -1
EARLIEST_TIMESTAMP = -2

LIST_OFFSETS_REQUEST = Message("ListOffsetsRequest", API_KEY, VERSIONS, FLEXIBLE, [
    Field("replica_id", INT32, default=-1),
    Field("isolation_level", INT8, (2, None)),
    Field("topics", Array(Struct("ListOffsetsTopic", [
        Field("name", STRING),
        Field("partitions", Array(Struct("ListOffsetsPartition", [
            Field("partition_index", INT32),
            Field("current_leader_epoch", INT32, (4, None), default=-1),
            Field("timestamp", INT64),
            Field("max_num_offsets", INT32, (0, 0), default=1),
        ]))),
    ]))),
])

LIST_OFFSETS_RESPONSE = Message("ListOffsetsResponse", API_KEY, VERSIONS, FLEXIBLE, [
    Field("throttle_time_ms", INT32, (2, None)),
    Field("topics", Array(Struct("ListOffsetsTopicResponse", [
        Field("name", STRING),
        Field("partitions", Array(Struct("ListOffsetsPartitionResponse", [
            Field("partition_index", INT32),
            Field("error_code", INT16),
            Field("old_style_offsets", Array(INT64), (0, 0)),
            Field("timestamp", INT64, (1, None), default=-1),
            Field("offset", INT64, (1, None), default=-1),
            Field("leader_epoch", INT32, (4, None), default=-1),
        ]))),
    ]))),
])

ListOffsetsRequest = LIST_OFFSETS_REQUEST.cls
ListOffsetsResponse = LIST_OFFSETS_RESPONSE.cls
