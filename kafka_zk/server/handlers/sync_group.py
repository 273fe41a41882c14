"""SyncGroup (14) v0–5: the leader hands in the assignment, every member gets its own part.

Followers' responses wait until the leader's assignment has been written to ``__consumer_offsets`` (acks=all);
each member receives the leader's bytes for it unchanged (a member the leader left out gets a valid empty
consumer assignment). v1 adds ``throttle_time_ms``, v3 ``group_instance_id`` (a member id that does not hold
the instance id gets FENCED_INSTANCE_ID), v4 is flexible, v5 carries ``protocol_type`` and
``protocol_name`` both ways (KIP-559): a v5 request must name them (INCONSISTENT_GROUP_PROTOCOL if null or
not the group's, as Kafka's ``areMandatoryProtocolTypeAndNamePresent``), the answer names the group's.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.coordinator.results import SyncResult
from kafka_zk.protocol.messages.group_membership import SyncGroupResponse
from kafka_zk.server.group_wiring import coordinator_of
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.SYNC_GROUP
VERSIONS = (0, 5)

R = SyncGroupResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    version = ctx.api_version
    coordinator = coordinator_of(broker)
    if coordinator is None:
        return _response(SyncResult(ErrorCode.COORDINATOR_NOT_AVAILABLE))
    if version >= 5 and (req.protocol_type is None or req.protocol_name is None):
        return _response(SyncResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
    assignments = {a.member_id: bytes(a.assignment) for a in req.assignments}
    result = await coordinator.sync_group(
        req.group_id,
        req.generation_id,
        req.member_id,
        assignments,
        group_instance_id=req.group_instance_id if version >= 3 else None,
        protocol_type=req.protocol_type if version >= 5 else None,
        protocol_name=req.protocol_name if version >= 5 else None,
    )
    return _response(result)


def _response(result: SyncResult) -> Response:
    return R(throttle_time_ms=0, error_code=int(result.error), protocol_type=result.protocol_type,
             protocol_name=result.protocol_name, assignment=result.assignment)
