"""OffsetFetch (9) v0–7: a group's committed positions.

* v0 reads the ZooKeeper store (``/consumers/<group>/offsets/...``); a partition the metadata cache does not
  know, and one without a znode, answer offset -1 with UNKNOWN_TOPIC_OR_PARTITION (Kafka 0.8.1–2.x's
  ``OffsetFetchResponse.UNKNOWN_PARTITION``; the 0.8 consumer then starts from its ``auto.offset.reset``).
* v1+ ask the group coordinator. A partition without a commit answers offset -1, metadata "" and no error
  (never null metadata: pitfall P18). A group-level error (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
  COORDINATOR_NOT_AVAILABLE, INVALID_GROUP_ID) goes, as in Kafka's ``OffsetFetchRequest.getErrorResponse``,
  into every requested partition for v1 and into the top-level ``error_code`` (with no partitions) for v2+.
* v2 adds the top-level error and ``topics = null`` meaning "every partition the group has committed";
  v3 ``throttle_time_ms``; v4 is v3; v5 answers each partition's ``committed_leader_epoch`` (-1 if none was
  committed); v6 is flexible; v7 ``require_stable`` asks to wait for pending transactional offsets — this
  broker has no transactions, so there are none and the answer is the same as without (never
  UNSTABLE_OFFSET_COMMIT).
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator.results import INVALID_OFFSET, OffsetFetchEntry
from kafka_zk.protocol.messages.group_offsets import OffsetFetchResponse
from kafka_zk.server.group_wiring import coordinator_of, known_partitions, zk_offset_store
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.OFFSET_FETCH
VERSIONS = (0, 7)

R = OffsetFetchResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    version = ctx.api_version
    requested = None if req.topics is None else [TopicPartition(t.name, p) for t in req.topics for p in t.partition_indexes]
    if version == 0:
        assert requested is not None  # v0/v1 topics are not nullable
        return _response(await _fetch_from_zookeeper(broker, req.group_id, requested))
    coordinator = coordinator_of(broker)
    try:
        if coordinator is None:
            raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, "the group coordinator is not running")
        entries = coordinator.fetch_offsets(req.group_id, requested)
    except KafkaError as e:
        if version >= 2:
            return _response({}, e.code)
        failed = OffsetFetchEntry(INVALID_OFFSET, "", e.code)
        return _response({tp: failed for tp in requested or ()})
    return _response(entries)


async def _fetch_from_zookeeper(broker: BrokerServices, group_id: str, requested: list[TopicPartition]) -> dict[TopicPartition, OffsetFetchEntry]:
    if not group_id:
        return {tp: OffsetFetchEntry(INVALID_OFFSET, "", ErrorCode.INVALID_GROUP_ID) for tp in requested}
    known, _ = known_partitions(broker, requested)
    found = await zk_offset_store(broker).fetch_offsets(group_id, known) if known else {}
    missing = OffsetFetchEntry(INVALID_OFFSET, "", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    out = {}
    for tp in requested:
        entry = found.get(tp, missing)
        out[tp] = missing if entry.error is ErrorCode.NONE and entry.offset == INVALID_OFFSET else entry
    return out


def _response(entries: dict[TopicPartition, OffsetFetchEntry], error: ErrorCode = ErrorCode.NONE) -> Response:
    by_topic: dict[str, list[Any]] = {}
    for tp, e in entries.items():
        by_topic.setdefault(tp.topic, []).append(
            R.OffsetFetchResponsePartition(partition_index=tp.partition, committed_offset=e.offset,
                                           committed_leader_epoch=e.leader_epoch, metadata=e.metadata or "",
                                           error_code=int(e.error))
        )
    return R(throttle_time_ms=0, topics=[R.OffsetFetchResponseTopic(name=t, partitions=ps) for t, ps in by_topic.items()], error_code=int(error))
