"""DeleteGroups (42) v0–2: delete empty groups and their committed offsets (KIP-229).

Only an Empty group can go (NON_EMPTY_GROUP otherwise); an unknown one answers GROUP_ID_NOT_FOUND, one this
broker does not coordinate NOT_COORDINATOR. Deletion writes tombstones for the group and its offsets to
``__consumer_offsets``. v1 is v0 (throttle semantics changed only), v2 is flexible.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.messages.group_admin import DeleteGroupsResponse
from kafka_zk.server.group_wiring import coordinator_of
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.DELETE_GROUPS
VERSIONS = (0, 2)

R = DeleteGroupsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    coordinator = coordinator_of(broker)
    names = list(dict.fromkeys(req.groups_names))
    if coordinator is None:
        errors = {g: ErrorCode.COORDINATOR_NOT_AVAILABLE for g in names}
    else:
        errors = await coordinator.delete_groups(names)
    return R(throttle_time_ms=0, results=[R.DeletableGroupResult(group_id=g, error_code=int(errors[g])) for g in names])
