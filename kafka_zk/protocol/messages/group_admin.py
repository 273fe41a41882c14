"""Group administration: DescribeGroups (15), ListGroups (16) and DeleteGroups (42).

Version notes: DescribeGroups/ListGroups v1 add ``throttle_time_ms``; DescribeGroups v3 the
authorized-operations bit field, v4 each member's ``group_instance_id``.  DeleteGroups (KIP-229) deletes
empty groups and their committed offsets; v2 is its first flexible version.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, BOOL, BYTES, INT16, INT32, STRING, Array, Field, Message, Struct

DESCRIBE_GROUPS_KEY = 15
LIST_GROUPS_KEY = 16
DELETE_GROUPS_KEY = 42

DESCRIBE_GROUPS_REQUEST = Message("DescribeGroupsRequest", DESCRIBE_GROUPS_KEY, (0, 4), None, [
    Field("groups", Array(STRING)),
    Field("include_authorized_operations", BOOL, (3, None)),
])

DESCRIBE_GROUPS_RESPONSE = Message("DescribeGroupsResponse", DESCRIBE_GROUPS_KEY, (0, 4), None, [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("groups", Array(Struct("DescribedGroup", [
        Field("error_code", INT16),
        Field("group_id", STRING),
        Field("group_state", STRING),
        Field("protocol_type", STRING),
        Field("protocol_data", STRING),
        Field("members", Array(Struct("DescribedGroupMember", [
            Field("member_id", STRING),
            Field("group_instance_id", STRING, (4, None), nullable=ALL, default=None),
            Field("client_id", STRING),
            Field("client_host", STRING),
            Field("member_metadata", BYTES),
            Field("member_assignment", BYTES),
        ]))),
        Field("authorized_operations", INT32, (3, None), default=-(1 << 31)),
    ]))),
])

LIST_GROUPS_REQUEST = Message("ListGroupsRequest", LIST_GROUPS_KEY, (0, 2), None, [])

LIST_GROUPS_RESPONSE = Message("ListGroupsResponse", LIST_GROUPS_KEY, (0, 2), None, [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("error_code", INT16),
    Field("groups", Array(Struct("ListedGroup", [
        Field("group_id", STRING),
        Field("protocol_type", STRING),
    ]))),
])

DELETE_GROUPS_REQUEST = Message("DeleteGroupsRequest", DELETE_GROUPS_KEY, (0, 2), (2, None), [
    Field("groups_names", Array(STRING)),
])

DELETE_GROUPS_RESPONSE = Message("DeleteGroupsResponse", DELETE_GROUPS_KEY, (0, 2), (2, None), [
    Field("throttle_time_ms", INT32),
    Field("results", Array(Struct("DeletableGroupResult", [
        Field("group_id", STRING),
        Field("error_code", INT16),
    ]))),
])

DescribeGroupsRequest = DESCRIBE_GROUPS_REQUEST.cls
DescribeGroupsResponse = DESCRIBE_GROUPS_RESPONSE.cls
ListGroupsRequest = LIST_GROUPS_REQUEST.cls
ListGroupsResponse = LIST_GROUPS_RESPONSE.cls
DeleteGroupsRequest = DELETE_GROUPS_REQUEST.cls
DeleteGroupsResponse = DELETE_GROUPS_RESPONSE.cls
