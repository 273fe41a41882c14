"""JoinGroup (11) v0–7: join (or rejoin) a group; the response waits for the end of the join phase.

The coordinator holds the response until every known member has rejoined or the rebalance timeout passed
(see ``kafka_zk.coordinator.coordinator``); the network layer answers the requests of one connection in
order, so nothing else on that connection overtakes it. v0 has no rebalance timeout: the session timeout
serves as both. v1 adds ``rebalance_timeout_ms``, v2 ``throttle_time_ms``. v4 makes a new member without an
instance id do the MEMBER_ID_REQUIRED round trip (KIP-394: its first JoinGroup only hands out the id), v5
adds ``group_instance_id`` (static membership, KIP-345) to the request and the leader's member list, v6 is
flexible, v7 answers ``protocol_type`` too (KIP-559) and, as Kafka, null protocol type and name on errors
(older versions get "" for the name). Only the leader's response lists the members.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.coordinator.results import JoinResult
from kafka_zk.protocol.messages.group_membership import JoinGroupResponse
from kafka_zk.server.group_wiring import client_host, coordinator_of
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.JOIN_GROUP
VERSIONS = (0, 7)

R = JoinGroupResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    version = ctx.api_version
    coordinator = coordinator_of(broker)
    if coordinator is None:
        return _response(version, JoinResult.failed(ErrorCode.COORDINATOR_NOT_AVAILABLE, req.member_id))
    rebalance_timeout_ms = req.rebalance_timeout_ms if version >= 1 else req.session_timeout_ms
    instance_id = req.group_instance_id if version >= 5 else None
    result = await coordinator.join_group(
        req.group_id,
        req.member_id,
        ctx.client_id or "",
        client_host(ctx),
        req.session_timeout_ms,
        rebalance_timeout_ms,
        req.protocol_type,
        [(p.name, bytes(p.metadata)) for p in req.protocols],
        group_instance_id=instance_id,
        require_known_member_id=version >= 4 and instance_id is None,
    )
    return _response(version, result)


def _response(version: int, result: JoinResult) -> Response:
    failed = result.error is not ErrorCode.NONE
    protocol_name: str | None = result.protocol_name
    if version >= 7 and failed:
        protocol_name = None
    return R(
        throttle_time_ms=0,
        error_code=int(result.error),
        generation_id=result.generation_id,
        protocol_type=None if failed else result.protocol_type,
        protocol_name=protocol_name,
        leader=result.leader_id,
        member_id=result.member_id,
        members=[R.JoinGroupResponseMember(member_id=m.member_id, group_instance_id=m.group_instance_id, metadata=m.metadata)
                 for m in result.members],
    )
