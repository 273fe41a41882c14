"""OffsetCommit (8) v0–8: store a group's consumed positions.

* v0 is the 0.8.1 API: offsets go to ZooKeeper, ``/consumers/<group>/offsets/<topic>/<partition>``
  (``ZkOffsetStore``), with no generation or member checks.
* v1+ go to the group coordinator, which appends them to ``__consumer_offsets`` (acks=all) and checks the
  member and generation (generation -1 with member "" = a consumer without group management). v1 carries a
  per-partition ``commit_timestamp`` (ignored: the commit time is the broker's clock, as for later versions),
  v2–v4 a ``retention_time_ms`` (-1 = the broker's ``offsets.retention.minutes``), v3 ``throttle_time_ms``;
  v5 drops the retention time (KIP-211), v6 adds each partition's ``committed_leader_epoch`` (stored, and
  answered by OffsetFetch v5+), v7 ``group_instance_id`` (FENCED_INSTANCE_ID for a member id that does not
  hold it), v8 is flexible.

Partitions the metadata cache does not know get UNKNOWN_TOPIC_OR_PARTITION and are not stored, whatever
the version (Kafka's ``KafkaApis.handleOffsetCommitRequest``). The response lists partitions in request order.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.group_offsets import OffsetCommitResponse
from kafka_zk.server.group_wiring import coordinator_of, known_partitions, zk_offset_store
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.OFFSET_COMMIT
VERSIONS = (0, 8)

R = OffsetCommitResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    requested: dict[TopicPartition, tuple[int, str | None]] = {}
    epochs: dict[TopicPartition, int] = {}
    for topic in req.topics:
        for p in topic.partitions:
            tp = TopicPartition(topic.name, p.partition_index)
            requested[tp] = (p.committed_offset, p.committed_metadata)
            if ctx.api_version >= 6:
                epochs[tp] = p.committed_leader_epoch
    known, unknown = known_partitions(broker, requested)
    errors: dict[TopicPartition, ErrorCode] = {tp: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION for tp in unknown}
    to_store = {tp: requested[tp] for tp in known}
    if to_store:
        errors.update(await _store(broker, ctx.api_version, req, to_store, epochs))
    by_topic: dict[str, list[Any]] = {}
    for tp in requested:
        by_topic.setdefault(tp.topic, []).append(R.OffsetCommitResponsePartition(partition_index=tp.partition, error_code=int(errors[tp])))
    return R(throttle_time_ms=0, topics=[R.OffsetCommitResponseTopic(name=t, partitions=ps) for t, ps in by_topic.items()])


async def _store(
    broker: BrokerServices, version: int, req: Any, offsets: dict[TopicPartition, tuple[int, str | None]], epochs: dict[TopicPartition, int]
) -> dict[TopicPartition, ErrorCode]:
    if version == 0:
        if not req.group_id:
            return {tp: ErrorCode.INVALID_GROUP_ID for tp in offsets}
        return await zk_offset_store(broker).commit_offsets(req.group_id, offsets)
    coordinator = coordinator_of(broker)
    if coordinator is None:
        return {tp: ErrorCode.COORDINATOR_NOT_AVAILABLE for tp in offsets}
    retention_ms = req.retention_time_ms if 2 <= version <= 4 and req.retention_time_ms != -1 else None
    instance_id = req.group_instance_id if version >= 7 else None
    return await coordinator.commit_offsets(
        req.group_id, req.generation_id, req.member_id, offsets, retention_ms, group_instance_id=instance_id, leader_epochs=epochs
    )
