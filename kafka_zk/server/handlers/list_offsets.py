"""ListOffsets (2): the offset for a timestamp; -1 = latest (the high watermark for consumers; without
transactions also the last stable offset, so ``isolation_level`` changes nothing), -2 = earliest (log start
offset).

Versions: v0 is the old "offsets before" query (Kafka's ``legacyFetchOffsetsBefore``): up to
``max_num_offsets`` segment base offsets whose segment was last modified at or before the timestamp, plus
the log end for "latest", newest first, capped at the high watermark for consumers. v1+ return one
timestamp/offset pair and reject a partition listed twice (INVALID_REQUEST). v4+ check
``current_leader_epoch`` (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH) and answer the ``leader_epoch`` of
the offset: the partition's current epoch for "latest", the epoch that wrote the offset otherwise (Kafka 2.8's
``Partition.fetchOffsetForTimestamp``). v6 is the flexible layout.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.list_offsets import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsetsResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.LIST_OFFSETS
VERSIONS = (0, 6)
#: The first version answering ``leader_epoch`` and checking ``current_leader_epoch``.
EPOCH_MIN_VERSION = 4

R = ListOffsetsResponse


def legacy_offsets_before(rm: Any, tp: TopicPartition, timestamp: int, max_num: int, from_consumer: bool,
                          now_ms: int | None = None) -> list[int]:
    """ListOffsets v0, as Kafka's ``Log.legacyFetchOffsetsBefore`` + ``ReplicaManager`` HW cap; the active
    segment counts as modified now (``now_ms``, the log's clock by default)."""
    lg = rm.leader_partition(tp).log
    if now_ms is None:
        now_ms = lg.clock.time_ms()
    segs = lg.segments
    pairs = [(max(s.base_offset, lg.log_start_offset), s.last_modified_ms) for s in segs]
    if segs and segs[-1].size > 0:
        pairs.append((lg.log_end_offset, now_ms))
    if timestamp == LATEST_TIMESTAMP:
        start = len(pairs) - 1
    elif timestamp == EARLIEST_TIMESTAMP:
        start = 0
    else:
        start = len(pairs) - 1
        while start >= 0 and pairs[start][1] > timestamp:
            start -= 1
    n = max(0, min(max_num, start + 1))
    offsets = sorted((pairs[start - j][0] for j in range(n)), reverse=True)
    if from_consumer:
        hw = lg.high_watermark
        if any(o > hw for o in offsets):
            offsets = [hw] + [o for o in offsets if o <= hw]
    return offsets


def _check_epoch(rm: Any, tp: TopicPartition, current_leader_epoch: int) -> int:
    p = rm.leader_partition(tp)
    if current_leader_epoch >= 0:
        if current_leader_epoch < p.leader_epoch:
            raise KafkaError(ErrorCode.FENCED_LEADER_EPOCH)
        if current_leader_epoch > p.leader_epoch:
            raise KafkaError(ErrorCode.UNKNOWN_LEADER_EPOCH)
    return int(p.leader_epoch)


def _offset_epoch(rm: Any, tp: TopicPartition, timestamp: int, offset: int, leader_epoch: int) -> int:
    if offset < 0:
        return -1
    if timestamp == LATEST_TIMESTAMP:
        return leader_epoch
    return int(rm.leader_partition(tp).log.leader_epoch_cache.epoch_for_offset(offset))


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    rm = broker.replica_manager
    version = ctx.api_version
    from_consumer = req.replica_id < 0
    counts = Counter((t.name, p.partition_index) for t in req.topics for p in t.partitions)
    topics = []
    for t in req.topics:
        parts = []
        for p in t.partitions:
            tp = TopicPartition(t.name, p.partition_index)
            pr = R.ListOffsetsPartitionResponse(partition_index=p.partition_index, error_code=0)
            try:
                if version == 0:
                    pr.old_style_offsets = legacy_offsets_before(rm, tp, p.timestamp, p.max_num_offsets, from_consumer)
                elif counts[(t.name, p.partition_index)] > 1:
                    pr.error_code = int(ErrorCode.INVALID_REQUEST)
                else:
                    epoch = _check_epoch(rm, tp, p.current_leader_epoch) if version >= EPOCH_MIN_VERSION else -1
                    ts, offset = rm.fetch_offset_for_timestamp(tp, p.timestamp, from_consumer=from_consumer)
                    pr.timestamp, pr.offset = ts, offset
                    if version >= EPOCH_MIN_VERSION:
                        pr.leader_epoch = _offset_epoch(rm, tp, p.timestamp, offset, epoch)
            except KafkaError as e:
                pr.error_code = int(e.code)
            parts.append(pr)
        topics.append(R.ListOffsetsTopicResponse(name=t.name, partitions=parts))
    return R(throttle_time_ms=0, topics=topics)
