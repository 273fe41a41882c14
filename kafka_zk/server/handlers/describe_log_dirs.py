"""DescribeLogDirs (35) v0-2: each log directory of this broker with the size of every partition in it.

As in Kafka 2.8 (``ReplicaManager.describeLogDirs``): every configured log dir is listed, also one holding no
log; a null topic list means every log the broker has, otherwise only the listed partitions that it hosts
(others are simply absent). ``offset_lag`` is ``max(high_watermark - log_end_offset, 0)`` — 0 on a leader and
on a follower that is caught up to what it knows — and -1 for a log without a partition (e.g. being deleted).
There are no future logs (AlterReplicaLogDirs is not served), so ``is_future_key`` is always false.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.tp import TopicPartition
from kafka_zk.log.log import Log
from kafka_zk.protocol.messages.cluster import INVALID_OFFSET_LAG, DescribeLogDirsResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.DESCRIBE_LOG_DIRS
VERSIONS = (0, 2)

R = DescribeLogDirsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    wanted: set[TopicPartition] | None = None
    if req.topics is not None:
        wanted = {TopicPartition(t.topic, p) for t in req.topics for p in t.partitions}
    results = []
    manager = broker.log_manager
    for log_dir, logs in sorted(manager.logs_by_dir().items()):
        by_topic: dict[str, list[Any]] = {}
        for tp, log in sorted(logs):
            if wanted is not None and tp not in wanted:
                continue
            by_topic.setdefault(tp.topic, []).append(
                R.DescribeLogDirsPartition(
                    partition_index=tp.partition,
                    partition_size=log.size_in_bytes(),
                    offset_lag=_offset_lag(broker, tp, log),
                    is_future_key=False,
                )
            )
        topics = [R.DescribeLogDirsTopic(name=name, partitions=parts) for name, parts in by_topic.items()]
        results.append(R.DescribeLogDirsResult(error_code=0, log_dir=log_dir, topics=topics))
    return R(throttle_time_ms=0, results=results)


def _offset_lag(broker: BrokerServices, tp: TopicPartition, log: Log) -> int:
    rm = broker.replica_manager
    if rm is None or rm.partition(tp) is None:
        return INVALID_OFFSET_LAG
    return max(log.high_watermark - log.log_end_offset, 0)
