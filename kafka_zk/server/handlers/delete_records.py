"""DeleteRecords (21): raise partitions' log start offsets on their leader (``kafka-delete-records.sh``).

As Kafka 2.8's ``KafkaApis.handleDeleteRecordsRequest``: a partition the metadata cache does not know gets
UNKNOWN_TOPIC_OR_PARTITION; the rest go to the replica manager (OFFSET_OUT_OF_RANGE beyond the high
watermark, POLICY_VIOLATION for a compact-only topic, NOT_LEADER_OR_FOLLOWER off the leader,
INVALID_TOPIC_EXCEPTION for internal topics, REQUEST_TIMED_OUT when the followers did not follow in
``timeout_ms``). The low watermark answered is the smallest log start offset of the in-sync replicas.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.delete_records import DeleteRecordsResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.DELETE_RECORDS
VERSIONS = (0, 2)

R = DeleteRecordsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    known: dict[TopicPartition, int] = {}
    results: dict[TopicPartition, tuple[ErrorCode, int]] = {}
    order: list[TopicPartition] = []
    for t in req.topics:
        for p in t.partitions:
            tp = TopicPartition(t.name, p.partition_index)
            order.append(tp)
            if broker.metadata_cache.partition(tp) is None:
                results[tp] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1)
            else:
                known[tp] = p.offset
    if known:
        results.update(await broker.replica_manager.delete_records(req.timeout_ms, known))
    by_topic: dict[str, list[Any]] = {}
    for tp in dict.fromkeys(order):
        code, low = results[tp]
        by_topic.setdefault(tp.topic, []).append(
            R.DeleteRecordsPartitionResult(partition_index=tp.partition, low_watermark=low, error_code=int(code))
        )
    return R(throttle_time_ms=0, topics=[R.DeleteRecordsTopicResult(name=n, partitions=ps) for n, ps in by_topic.items()])
