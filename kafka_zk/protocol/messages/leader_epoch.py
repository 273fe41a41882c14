"""OffsetForLeaderEpoch (key 23): "where does leader epoch N end in your log?" (KIP-101, KIP-279, KIP-320).

A follower that becomes a follower (or reconnects) asks the leader for the end offset of its own latest
epoch and truncates to it before fetching, instead of truncating to its high watermark; consumers use it to
detect log truncation after an unclean election.  The answer is the start offset of the first epoch greater
than the asked one (or the log end offset for the current epoch), plus the largest epoch not above the asked
one (v1+); -1/-1 with UNDEFINED_EPOCH semantics when unknown.

Version notes: v1 adds ``leader_epoch`` to the response; v2 ``current_leader_epoch`` (fencing) and
``throttle_time_ms``; v3 ``replica_id`` (-2 = debugging consumer, -1 = consumer, else the follower's broker
id); v4 is the first flexible version.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import INT16, INT32, INT64, STRING, Array, Field, Message, Struct

API_KEY = 23
VERSIONS = (0, 4)
FLEXIBLE = (4, None)

OFFSET_FOR_LEADER_EPOCH_REQUEST = Message("OffsetForLeaderEpochRequest", API_KEY, VERSIONS, FLEXIBLE, [
    Field("replica_id", INT32, (3, None), default=-2),
    Field("topics", Array(Struct("OffsetForLeaderTopic", [
        Field("topic", STRING),
        Field("partitions", Array(Struct("OffsetForLeaderPartition", [
            Field("partition", INT32),
            Field("current_leader_epoch", INT32, (2, None), default=-1),
            Field("leader_epoch", INT32),
        ]))),
    ]))),
])

OFFSET_FOR_LEADER_EPOCH_RESPONSE = Message("OffsetForLeaderEpochResponse", API_KEY, VERSIONS, FLEXIBLE, [
    Field("throttle_time_ms", INT32, (2, None)),
    Field("topics", Array(Struct("OffsetForLeaderTopicResult", [
        Field("topic", STRING),
        Field("partitions", Array(Struct("EpochEndOffset", [
            Field("error_code", INT16),
            Field("partition", INT32),
            Field("leader_epoch", INT32, (1, None), default=-1),
            Field("end_offset", INT64, default=-1),
        ]))),
    ]))),
])

OffsetForLeaderEpochRequest = OFFSET_FOR_LEADER_EPOCH_REQUEST.cls
OffsetForLeaderEpochResponse = OFFSET_FOR_LEADER_EPOCH_RESPONSE.cls
