"""OffsetDelete (47) v0: delete a group's committed offsets of partitions it no longer consumes (KIP-496).

For operators cleaning up after a consumer stopped reading a topic, without deleting the whole group
(``kafka-zk consumer-groups --delete-offsets``). An Empty group may lose any of its offsets; a consumer
group with members only those of topics no member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC per partition
otherwise); another group with members answers NON_EMPTY_GROUP. Partitions the metadata cache does not know
get UNKNOWN_TOPIC_OR_PARTITION, as in Kafka's ``KafkaApis.handleOffsetDeleteRequest``. A group-level error
(GROUP_ID_NOT_FOUND, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ...) is the top-level code, with no
topics. The response lists partitions in request order.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.group_admin import OffsetDeleteResponse
from kafka_zk.server.group_wiring import coordinator_of, known_partitions
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.OFFSET_DELETE
VERSIONS = (0, 0)

R = OffsetDeleteResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    coordinator = coordinator_of(broker)
    if coordinator is None:
        return R(error_code=int(ErrorCode.COORDINATOR_NOT_AVAILABLE), throttle_time_ms=0, topics=[])
    requested = list(dict.fromkeys(TopicPartition(t.name, p.partition_index) for t in req.topics for p in t.partitions))
    known, unknown = known_partitions(broker, requested)
    errors: dict[TopicPartition, ErrorCode] = {tp: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION for tp in unknown}
    group_error, deleted = await coordinator.delete_offsets(req.group_id, list(known))
    if group_error is not ErrorCode.NONE:
        return R(error_code=int(group_error), throttle_time_ms=0, topics=[])
    errors.update(deleted)
    by_topic: dict[str, list[Any]] = {}
    for tp in requested:
        by_topic.setdefault(tp.topic, []).append(R.OffsetDeleteResponsePartition(partition_index=tp.partition, error_code=int(errors[tp])))
    return R(error_code=0, throttle_time_ms=0, topics=[R.OffsetDeleteResponseTopic(name=t, partitions=ps) for t, ps in by_topic.items()])
