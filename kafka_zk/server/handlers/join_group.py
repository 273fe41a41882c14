"""JoinGroup (11) v0–2: join (or rejoin) a group; the response waits for the end of the join phase.

The coordinator holds the response until every known member has rejoined or the rebalance timeout passed
(see ``kafka_zk.coordinator.coordinator``); the network layer answers the requests of one connection in
order, so nothing else on that connection overtakes it. v0 has no rebalance timeout: the session timeout
serves as both. v1 adds ``rebalance_timeout_ms``, v2 ``throttle_time_ms``. Only the leader's response lists
the members with their subscription metadata; the protocol name is "" (never null) on errors.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.messages.group_membership import JoinGroupResponse
from kafka_zk.server.group_wiring import client_host, coordinator_of
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.JOIN_GROUP
VERSIONS = (0, 2)

R = JoinGroupResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    coordinator = coordinator_of(broker)
    if coordinator is None:
        return R(throttle_time_ms=0, error_code=int(ErrorCode.COORDINATOR_NOT_AVAILABLE), generation_id=-1,
                 protocol_name="", leader="", member_id=req.member_id, members=[])
    rebalance_timeout_ms = req.rebalance_timeout_ms if ctx.api_version >= 1 else req.session_timeout_ms
    result = await coordinator.join_group(
        req.group_id,
        req.member_id,
        ctx.client_id or "",
        client_host(ctx),
        req.session_timeout_ms,
        rebalance_timeout_ms,
        req.protocol_type,
        [(p.name, bytes(p.metadata)) for p in req.protocols],
    )
    return R(
        throttle_time_ms=0,
        error_code=int(result.error),
        generation_id=result.generation_id,
        protocol_name=result.protocol_name,
        leader=result.leader_id,
        member_id=result.member_id,
        members=[R.JoinGroupResponseMember(member_id=m.member_id, metadata=m.metadata) for m in result.members],
    )
