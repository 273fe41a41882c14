"""DescribeGroups (15) v0–5: state, protocol and members of groups this broker coordinates.

A group this broker does not coordinate answers NOT_COORDINATOR (admin tools ask each group's coordinator);
an unknown group answers state "Dead" with no error, as Kafka does. Member metadata and assignments are the
bytes the members and the leader sent (empty unless the group is Stable). v1 adds ``throttle_time_ms``, v3
``authorized_operations`` — Kafka's "not requested" marker, as in Metadata: no authorizer runs —, v4 each
member's ``group_instance_id``, v5 is flexible.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.messages.group_admin import DescribeGroupsResponse
from kafka_zk.server.group_wiring import coordinator_of
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.DESCRIBE_GROUPS
VERSIONS = (0, 5)

R = DescribeGroupsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    coordinator = coordinator_of(broker)
    if coordinator is None:
        unavailable = int(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        groups = [R.DescribedGroup(error_code=unavailable, group_id=g, group_state="", protocol_type="", protocol_data="", members=[])
                  for g in req.groups]
        return R(throttle_time_ms=0, groups=groups)
    groups = []
    for s in coordinator.describe_groups(req.groups):
        members = [
            R.DescribedGroupMember(member_id=m.member_id, group_instance_id=m.group_instance_id,
                                   client_id=m.client_id, client_host=m.client_host,
                                   member_metadata=m.metadata, member_assignment=m.assignment)
            for m in s.members
        ]
        groups.append(R.DescribedGroup(error_code=int(s.error), group_id=s.group_id, group_state=s.state,
                                       protocol_type=s.protocol_type, protocol_data=s.protocol, members=members))
    return R(throttle_time_ms=0, groups=groups)
