"""ListOffsets (2): the offset for a timestamp; -1 = latest (the high watermark for consumers; without
transactions also the last stable offset), -2 = earliest (log start offset)."""

from __future__ import annotations

from kafka_zk.common.errors import KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.list_offsets import ListOffsetsResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.LIST_OFFSETS
VERSIONS = (1, 2)

R = ListOffsetsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
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
