"""Group administration: DescribeGroups (15), ListGroups (16), DeleteGroups (42) and OffsetDelete (47).

Version notes: DescribeGroups/ListGroups v1 add ``throttle_time_ms``; DescribeGroups v3 the
authorized-operations bit field, v4 each member's ``group_instance_id``.  DeleteGroups (KIP-229) deletes
empty groups and their committed offsets; v2 is its first flexible version.  DescribeGroups v5 and
ListGroups v3 are flexible; ListGroups v4 adds a ``states_filter`` and each group's state (KIP-518).
OffsetDelete (KIP-496) removes a group's committed offsets of partitions the group no longer consumes.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import BOOL, BYTES, INT16, INT32, STRING, Array, Field, Message, Struct

DESCRIBE_GROUPS_KEY = 15
LIST_GROUPS_KEY = 16
DELETE_GROUPS_KEY = 42
OFFSET_DELETE_KEY = 47

DESCRIBE_GROUPS_REQUEST = Message("DescribeGroupsRequest", DESCRIBE_GROUPS_KEY, (0, 5), (5, None), [
    Field("groups", Array(STRING)),
    Field("include_authorized_operations", BOOL, (3, None)),
])

DESCRIBE_GROUPS_RESPONSE = Message("DescribeGroupsResponse", DESCRIBE_GROUPS_KEY, (0, 5), (5, None), [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("groups", Array(Struct("DescribedGroup", [
        Field("error_code", INT16),
        Field("group_id", STRING),
        Field("group_state", STRING),
        Field("protocol_type", STRING),
        Field("protocol_data", STRING),
        Field("members", Array(Struct("DescribedGroupMember", [
            Field("member_id", STRING),
            Field("group_instance_id", STRING, (4, None), nullable=(4, None), default=None),
            Field("client_id", STRING),
            Field("client_host", STRING),
            Field("member_metadata", BYTES),
            Field("member_assignment", BYTES),
        ]))),
        Field("authorized_operations", INT32, (3, None), default=-(1 << 31)),
    ]))),
])

LIST_GROUPS_REQUEST = Message("ListGroupsRequest", LIST_GROUPS_KEY, (0, 4), (3, None), [
    Field("states_filter", Array(STRING), (4, None)),
])

LIST_GROUPS_RESPONSE = Message("ListGroupsResponse", LIST_GROUPS_KEY, (0, 4), (3, None), [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("error_code", INT16),
    Field("groups", Array(Struct("ListedGroup", [
        Field("group_id", STRING),
        Field("protocol_type", STRING),
        Field("group_state", STRING, (4, None)),
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

OFFSET_DELETE_REQUEST = Message("OffsetDeleteRequest", OFFSET_DELETE_KEY, (0, 0), None, [
    Field("group_id", STRING),
    Field("topics", Array(Struct("OffsetDeleteRequestTopic", [
        Field("name", STRING),
        Field("partitions", Array(Struct("OffsetDeleteRequestPartition", [
            Field("partition_index", INT32),
        ]))),
    ]))),
])

OFFSET_DELETE_RESPONSE = Message("OffsetDeleteResponse", OFFSET_DELETE_KEY, (0, 0), None, [
    Field("error_code", INT16),
    Field("throttle_time_ms", INT32),
    Field("topics", Array(Struct("OffsetDeleteResponseTopic", [
        Field("name", STRING),
        Field("partitions", Array(Struct("OffsetDeleteResponsePartition", [
            Field("partition_index", INT32),
            Field("error_code", INT16),
        ]))),
    ]))),
])

DescribeGroupsRequest = DESCRIBE_GROUPS_REQUEST.cls
DescribeGroupsResponse = DESCRIBE_GROUPS_RESPONSE.cls
ListGroupsRequest = LIST_GROUPS_REQUEST.cls
ListGroupsResponse = LIST_GROUPS_RESPONSE.cls
DeleteGroupsRequest = DELETE_GROUPS_REQUEST.cls
DeleteGroupsResponse = DELETE_GROUPS_RESPONSE.cls
OffsetDeleteRequest = OFFSET_DELETE_REQUEST.cls
OffsetDeleteResponse = OFFSET_DELETE_RESPONSE.cls
