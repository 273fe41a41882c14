"""ElectLeaders (43): preferred (0) or unclean (1) leader election, run by the controller (KIP-183/460).

Only the active controller answers (others: NOT_CONTROLLER, and the client re-routes). A null partition list
means every partition. v0 has no election type (always preferred) and no top-level error code.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.election import ElectionStrategy
from kafka_zk.protocol.messages.elect_leaders import ELECTION_UNCLEAN, ElectLeadersResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.ELECT_LEADERS
VERSIONS = (0, 2)

R = ElectLeadersResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    wanted = None
    if req.topic_partitions is not None:
        wanted = [TopicPartition(t.topic, p) for t in req.topic_partitions for p in t.partitions]
    if not broker.is_controller:
        return R(
            throttle_time_ms=0,
            error_code=int(ErrorCode.NOT_CONTROLLER),
            replica_election_results=_results(
                {tp: (ErrorCode.NOT_CONTROLLER, "this broker is not the controller") for tp in wanted or []}
            ),
        )
    unclean = ctx.api_version >= 1 and req.election_type == ELECTION_UNCLEAN
    strategy = ElectionStrategy.OFFLINE if unclean else ElectionStrategy.PREFERRED
    results = await broker.controller.elect_leaders(wanted, strategy)
    return R(throttle_time_ms=0, error_code=0, replica_election_results=_results(results))


def _results(results: dict[TopicPartition, tuple[ErrorCode, str | None]]) -> list[Any]:
    by_topic: dict[str, list[Any]] = {}
    for tp, (code, message) in sorted(results.items()):
        by_topic.setdefault(tp.topic, []).append(
            R.PartitionResult(partition_id=tp.partition, error_code=int(code), error_message=message)
        )
    return [R.ReplicaElectionResult(topic=t, partition_result=ps) for t, ps in by_topic.items()]
