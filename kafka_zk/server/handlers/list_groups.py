"""ListGroups (16) v0–4: the groups this broker coordinates (admin tools ask every broker and merge).

While one of its offsets partitions is loading the error is COORDINATOR_LOAD_IN_PROGRESS and the groups
already loaded are still listed, as Kafka does. v1 adds ``throttle_time_ms``, v3 is flexible, v4 (KIP-518)
answers each group's state and takes a ``states_filter`` (case-insensitive state names; empty = all).
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.messages.group_admin import ListGroupsResponse
from kafka_zk.server.group_wiring import coordinator_of
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.LIST_GROUPS
VERSIONS = (0, 4)

R = ListGroupsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    coordinator = coordinator_of(broker)
    if coordinator is None:
        return R(throttle_time_ms=0, error_code=int(ErrorCode.COORDINATOR_NOT_AVAILABLE), groups=[])
    result = coordinator.list_groups()
    wanted = {s.lower() for s in req.states_filter} if ctx.api_version >= 4 else set()
    groups = [R.ListedGroup(group_id=g.group_id, protocol_type=g.protocol_type, group_state=g.state)
              for g in result.groups if not wanted or g.state.lower() in wanted]
    return R(throttle_time_ms=0, error_code=int(result.error), groups=groups)
