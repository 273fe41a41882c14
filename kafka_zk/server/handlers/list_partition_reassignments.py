"""ListPartitionReassignments (46, KIP-455): the reassignments in flight, as the active controller knows them.

Other brokers answer a top-level NOT_CONTROLLER.  Null ``topics`` lists every moving partition; otherwise
only the named partitions that are actually moving appear (unknown ones are simply absent, as in Kafka).
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.controller import NotControllerError
from kafka_zk.protocol.messages.reassignments import ListPartitionReassignmentsResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.LIST_PARTITION_REASSIGNMENTS
VERSIONS = (0, 0)

R = ListPartitionReassignmentsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    wanted = None
    if req.topics is not None:
        wanted = [TopicPartition(t.name, p) for t in req.topics for p in t.partition_indexes]
    try:
        if not broker.is_controller:
            raise NotControllerError("this broker is not the controller")
        ongoing = await broker.controller.list_partition_reassignments(wanted)
    except NotControllerError as e:
        return R(
            throttle_time_ms=0, error_code=int(ErrorCode.NOT_CONTROLLER), error_message=str(e), topics=[]
        )
    by_topic: dict[str, list[Any]] = {}
    for tp, (replicas, adding, removing) in sorted(ongoing.items()):
        by_topic.setdefault(tp.topic, []).append(
            R.OngoingPartitionReassignment(
                partition_index=tp.partition,
                replicas=list(replicas),
                adding_replicas=list(adding),
                removing_replicas=list(removing),
            )
        )
    return R(
        throttle_time_ms=0,
        error_code=0,
        error_message=None,
        topics=[R.OngoingTopicReassignment(name=t, partitions=ps) for t, ps in by_topic.items()],
    )
