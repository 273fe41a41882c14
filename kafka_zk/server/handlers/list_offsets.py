"""ListOffsets (2): the offset for a timestamp; -1 = latest (the high watermark for consumers; without
transactions also the last stable offset), -2 = earliest (log start offset)."""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.list_offsets import ListOffsetsResponse

API_KEY = 2
VERSIONS = (1, 2)

R = ListOffsetsResponse


async def handle(broker: Any, ctx: Any, req: Any) -> Any:
    rm = broker.replica_manager
    topics = []
    for t in req.topics:
        parts = []
        for p in t.partitions:
            tp = TopicPartition(t.name, p.partition_index)
            try:
                ts, offset = rm.fetch_offset_for_timestamp(tp, p.timestamp, from_consumer=req.replica_id < 0)
                parts.append(R.ListOffsetsPartitionResponse(partition_index=p.partition_index, error_code=0, timestamp=ts, offset=offset))
            except KafkaError as e:
                parts.append(R.ListOffsetsPartitionResponse(partition_index=p.partition_index, error_code=int(e.code)))
        topics.append(R.ListOffsetsTopicResponse(name=t.name, partitions=parts))
    return R(throttle_time_ms=0, topics=topics)
