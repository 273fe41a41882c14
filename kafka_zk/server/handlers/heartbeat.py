"""Heartbeat (12) v0–4: a member is alive; the answer says whether the group is rebalancing.

REBALANCE_IN_PROGRESS while the group prepares a rebalance (the heartbeat still counts as liveness),
ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID for members that must rejoin, NOT_COORDINATOR /
COORDINATOR_NOT_AVAILABLE to send the member looking for the coordinator again. v1 adds
``throttle_time_ms``, v3 ``group_instance_id`` (FENCED_INSTANCE_ID for a member id that does not hold it:
a duplicate or replaced instance must shut down), v4 is flexible.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.messages.group_membership import HeartbeatResponse
from kafka_zk.server.group_wiring import coordinator_of
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.HEARTBEAT
VERSIONS = (0, 4)

R = HeartbeatResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    coordinator = coordinator_of(broker)
    if coordinator is None:
        return R(throttle_time_ms=0, error_code=int(ErrorCode.COORDINATOR_NOT_AVAILABLE))
    instance_id = req.group_instance_id if ctx.api_version >= 3 else None
    code = coordinator.heartbeat(req.group_id, req.member_id, req.generation_id, instance_id)
    return R(throttle_time_ms=0, error_code=int(code))
