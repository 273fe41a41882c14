"""AlterPartitionReassignments (45, KIP-455): start or cancel partition reassignments through the controller.

Only the active controller takes it; any other broker answers a top-level NOT_CONTROLLER (the Java admin
client then re-routes, as Kafka 2.4+ brokers in ZooKeeper mode expect).  The request becomes one event on
the controller's queue (:meth:`KafkaController.alter_partition_reassignments`), which writes the moving
replicas into ``/brokers/topics/<t>`` (``adding_replicas``/``removing_replicas``) and drives the same state
machine as ``/admin/reassign_partitions``.  A null replica list cancels.  The answer comes as soon as the
reassignment has *started* (as in Kafka); ListPartitionReassignments shows its progress.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.controller import NotControllerError
from kafka_zk.protocol.messages.reassignments import AlterPartitionReassignmentsResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.ALTER_PARTITION_REASSIGNMENTS
VERSIONS = (0, 0)

R = AlterPartitionReassignmentsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    targets: dict[TopicPartition, tuple[int, ...] | None] = {}
    for t in req.topics:
        for p in t.partitions:
            targets[TopicPartition(t.name, p.partition_index)] = (
                None if p.replicas is None else tuple(p.replicas)
            )
    try:
        if not broker.is_controller:
            raise NotControllerError("this broker is not the controller")
        results = await broker.controller.alter_partition_reassignments(targets)
    except NotControllerError as e:
        return R(
            throttle_time_ms=0, error_code=int(ErrorCode.NOT_CONTROLLER), error_message=str(e), responses=[]
        )
    by_topic: dict[str, list[Any]] = {}
    for tp, (code, message) in sorted(results.items()):
        by_topic.setdefault(tp.topic, []).append(
            R.ReassignablePartitionResponse(
                partition_index=tp.partition, error_code=int(code), error_message=message
            )
        )
    return R(
        throttle_time_ms=0,
        error_code=0,
        error_message=None,
        responses=[R.ReassignableTopicResponse(name=t, partitions=ps) for t, ps in by_topic.items()],
    )
