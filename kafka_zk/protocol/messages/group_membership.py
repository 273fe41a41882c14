"""The classic group-membership protocol: FindCoordinator (10), JoinGroup (11), Heartbeat (12),
LeaveGroup (13) and SyncGroup (14).

A member finds its group's coordinator, joins (the coordinator holds JoinGroup responses until every known
member has rejoined, then names a leader and hands it everyone's subscription ``metadata``), the leader
computes the assignment and sends it in SyncGroup, and every member receives its own ``assignment`` bytes —
opaque to the broker, passed through unchanged.  Heartbeats keep the session alive and carry the "rebalance
in progress" signal.

Version notes: FindCoordinator v1 adds ``key_type`` (0 group, 1 transaction), ``throttle_time_ms`` and
``error_message``; v2 is v1.  JoinGroup v1 adds ``rebalance_timeout_ms``, v2 ``throttle_time_ms``, v4 the
MEMBER_ID_REQUIRED handshake, v5 ``group_instance_id``.  Heartbeat/LeaveGroup/SyncGroup v1 add
``throttle_time_ms``; Heartbeat and SyncGroup v3 ``group_instance_id``; Heartbeat v4 is the first flexible
version; LeaveGroup v3 replaces the single ``member_id`` with a batch of ``members`` (KIP-345).
FindCoordinator v3, JoinGroup v6, LeaveGroup v4 and SyncGroup v4 are the first flexible versions; JoinGroup
v7 and SyncGroup v5 carry ``protocol_type``/``protocol_name`` so a client can check what the group chose
(KIP-559).
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, BYTES, INT8, INT16, INT32, STRING, Array, Field, Message, Struct

FIND_COORDINATOR_KEY = 10
JOIN_GROUP_KEY = 11
HEARTBEAT_KEY = 12
LEAVE_GROUP_KEY = 13
SYNC_GROUP_KEY = 14

#: FindCoordinator key types.
COORDINATOR_GROUP = 0
COORDINATOR_TRANSACTION = 1

FIND_COORDINATOR_REQUEST = Message("FindCoordinatorRequest", FIND_COORDINATOR_KEY, (0, 3), (3, None), [
    Field("key", STRING),
    Field("key_type", INT8, (1, None)),
])

FIND_COORDINATOR_RESPONSE = Message("FindCoordinatorResponse", FIND_COORDINATOR_KEY, (0, 3), (3, None), [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("error_code", INT16),
    Field("error_message", STRING, (1, None), nullable=(1, None)),
    Field("node_id", INT32),
    Field("host", STRING),
    Field("port", INT32),
])

JOIN_GROUP_REQUEST = Message("JoinGroupRequest", JOIN_GROUP_KEY, (0, 7), (6, None), [
    Field("group_id", STRING),
    Field("session_timeout_ms", INT32),
    Field("rebalance_timeout_ms", INT32, (1, None), default=-1),
    Field("member_id", STRING),
    Field("group_instance_id", STRING, (5, None), nullable=(5, None), default=None),
    Field("protocol_type", STRING),
    Field("protocols", Array(Struct("JoinGroupRequestProtocol", [
        Field("name", STRING),
        Field("metadata", BYTES),
    ]))),
])

JOIN_GROUP_RESPONSE = Message("JoinGroupResponse", JOIN_GROUP_KEY, (0, 7), (6, None), [
    Field("throttle_time_ms", INT32, (2, None)),
    Field("error_code", INT16),
    Field("generation_id", INT32, default=-1),
    Field("protocol_type", STRING, (7, None), nullable=(7, None), default=None),
    Field("protocol_name", STRING, nullable=(7, None)),
    Field("leader", STRING),
    Field("member_id", STRING),
    Field("members", Array(Struct("JoinGroupResponseMember", [
        Field("member_id", STRING),
        Field("group_instance_id", STRING, (5, None), nullable=(5, None), default=None),
        Field("metadata", BYTES),
    ]))),
])

HEARTBEAT_REQUEST = Message("HeartbeatRequest", HEARTBEAT_KEY, (0, 4), (4, None), [
    Field("group_id", STRING),
    Field("generation_id", INT32),
    Field("member_id", STRING),
    Field("group_instance_id", STRING, (3, None), nullable=(3, None), default=None),
])

HEARTBEAT_RESPONSE = Message("HeartbeatResponse", HEARTBEAT_KEY, (0, 4), (4, None), [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("error_code", INT16),
])

LEAVE_GROUP_REQUEST = Message("LeaveGroupRequest", LEAVE_GROUP_KEY, (0, 4), (4, None), [
    Field("group_id", STRING),
    Field("member_id", STRING, (0, 2)),
    Field("members", Array(Struct("MemberIdentity", [
        Field("member_id", STRING),
        Field("group_instance_id", STRING, nullable=ALL, default=None),
    ])), (3, None)),
])

LEAVE_GROUP_RESPONSE = Message("LeaveGroupResponse", LEAVE_GROUP_KEY, (0, 4), (4, None), [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("error_code", INT16),
    Field("members", Array(Struct("MemberResponse", [
        Field("member_id", STRING),
        Field("group_instance_id", STRING, nullable=ALL),
        Field("error_code", INT16),
    ])), (3, None)),
])

SYNC_GROUP_REQUEST = Message("SyncGroupRequest", SYNC_GROUP_KEY, (0, 5), (4, None), [
    Field("group_id", STRING),
    Field("generation_id", INT32),
    Field("member_id", STRING),
    Field("group_instance_id", STRING, (3, None), nullable=(3, None), default=None),
    Field("protocol_type", STRING, (5, None), nullable=(5, None), default=None),
    Field("protocol_name", STRING, (5, None), nullable=(5, None), default=None),
    Field("assignments", Array(Struct("SyncGroupRequestAssignment", [
        Field("member_id", STRING),
        Field("assignment", BYTES),
    ]))),
])

SYNC_GROUP_RESPONSE = Message("SyncGroupResponse", SYNC_GROUP_KEY, (0, 5), (4, None), [
    Field("throttle_time_ms", INT32, (1, None)),
    Field("error_code", INT16),
    Field("protocol_type", STRING, (5, None), nullable=(5, None), default=None),
    Field("protocol_name", STRING, (5, None), nullable=(5, None), default=None),
    Field("assignment", BYTES),
])

FindCoordinatorRequest = FIND_COORDINATOR_REQUEST.cls
FindCoordinatorResponse = FIND_COORDINATOR_RESPONSE.cls
JoinGroupRequest = JOIN_GROUP_REQUEST.cls
JoinGroupResponse = JOIN_GROUP_RESPONSE.cls
HeartbeatRequest = HEARTBEAT_REQUEST.cls
HeartbeatResponse = HEARTBEAT_RESPONSE.cls
LeaveGroupRequest = LEAVE_GROUP_REQUEST.cls
LeaveGroupResponse = LEAVE_GROUP_RESPONSE.cls
SyncGroupRequest = SYNC_GROUP_REQUEST.cls
SyncGroupResponse = SYNC_GROUP_RESPONSE.cls
