"""LeaveGroup (13) v0–4: members leave at once (a consumer closing, an admin removing them); the rest rebalance.

v0–v2 carry one ``member_id`` and answer its error at the top level. v3 (KIP-345) carries a batch of
``members`` — (member id, group instance id); admin tools remove static members by instance id alone
(member id "") — and answers one error per member, the top-level code only for group-level errors. v1 adds
``throttle_time_ms``, v4 is flexible.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.messages.group_membership import LeaveGroupResponse
from kafka_zk.server.group_wiring import coordinator_of
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.LEAVE_GROUP
VERSIONS = (0, 4)

R = LeaveGroupResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    coordinator = coordinator_of(broker)
    if ctx.api_version < 3:
        if coordinator is None:
            return R(throttle_time_ms=0, error_code=int(ErrorCode.COORDINATOR_NOT_AVAILABLE), members=[])
        return R(throttle_time_ms=0, error_code=int(coordinator.leave_group(req.group_id, req.member_id)), members=[])
    if coordinator is None:
        return R(throttle_time_ms=0, error_code=int(ErrorCode.COORDINATOR_NOT_AVAILABLE), members=[])
    result = coordinator.leave_group_members(req.group_id, [(m.member_id, m.group_instance_id) for m in req.members])
    members = [R.MemberResponse(member_id=m, group_instance_id=i, error_code=int(e)) for m, i, e in result.members]
    return R(throttle_time_ms=0, error_code=int(result.error), members=members)
