"""LeaveGroup (13) v0–1: a member leaves at once (a consumer closing); the rest rebalance.

v0–v2 carry one ``member_id`` (the KIP-345 batch of members is v3+, not advertised). v1 adds
``throttle_time_ms``.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.messages.group_membership import LeaveGroupResponse
from kafka_zk.server.group_wiring import coordinator_of
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.LEAVE_GROUP
VERSIONS = (0, 1)

R = LeaveGroupResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    coordinator = coordinator_of(broker)
    if coordinator is None:
        return R(throttle_time_ms=0, error_code=int(ErrorCode.COORDINATOR_NOT_AVAILABLE))
    return R(throttle_time_ms=0, error_code=int(coordinator.leave_group(req.group_id, req.member_id)))
