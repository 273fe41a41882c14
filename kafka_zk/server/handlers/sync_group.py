"""SyncGroup (14) v0–1: the leader hands in the assignment, every member gets its own part.

Followers' responses wait until the leader's assignment has been written to ``__consumer_offsets`` (acks=all);
each member receives the leader's bytes for it unchanged (a member the leader left out gets a valid empty
consumer assignment). v1 adds ``throttle_time_ms``.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.messages.group_membership import SyncGroupResponse
from kafka_zk.server.group_wiring import coordinator_of
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.SYNC_GROUP
VERSIONS = (0, 1)

R = SyncGroupResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    coordinator = coordinator_of(broker)
    if coordinator is None:
        return R(throttle_time_ms=0, error_code=int(ErrorCode.COORDINATOR_NOT_AVAILABLE), assignment=b"")
    assignments = {a.member_id: bytes(a.assignment) for a in req.assignments}
    result = await coordinator.sync_group(req.group_id, req.generation_id, req.member_id, assignments)
    return R(throttle_time_ms=0, error_code=int(result.error), assignment=result.assignment)
