"""OffsetForLeaderEpoch (23): "where does leader epoch N end in your log?" — asked of the leader by a follower
before it fetches (KIP-101/279 truncation), answered from the leader-epoch cache."""

from __future__ import annotations

from kafka_zk.common.errors import KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.leader_epoch import OffsetForLeaderEpochResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.OFFSET_FOR_LEADER_EPOCH
VERSIONS = (0, 3)

R = OffsetForLeaderEpochResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    rm = broker.replica_manager
    topics = []
    for t in req.topics:
        parts = []
        for p in t.partitions:
            tp = TopicPartition(t.topic, p.partition)
            try:
                epoch, end = rm.last_offset_for_leader_epoch(tp, p.leader_epoch, p.current_leader_epoch)
                parts.append(R.EpochEndOffset(error_code=0, partition=p.partition, leader_epoch=epoch, end_offset=end))
            except KafkaError as e:
                parts.append(R.EpochEndOffset(error_code=int(e.code), partition=p.partition))
        topics.append(R.OffsetForLeaderTopicResult(topic=t.topic, partitions=parts))
    return R(throttle_time_ms=0, topics=topics)
