"""Plain results of the coordinator's operations — what a server handler turns into a response struct.

Field names follow the Kafka responses they feed (JoinGroup, SyncGroup, DescribeGroups, ListGroups,
OffsetFetch), so a handler is a field-by-field copy. Error results carry Kafka's "no value" markers:
generation -1, empty protocol, leader and member lists, zero-length assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from kafka_zk.common.errors import ErrorCode

NO_GENERATION = -1
NO_PROTOCOL = ""
NO_LEADER = ""
UNKNOWN_MEMBER_ID = ""
INVALID_OFFSET = -1


@dataclass(frozen=True, slots=True)
class JoinMember:
    """One entry of the leader's member list: the member's metadata for the selected protocol."""

    member_id: str
    metadata: bytes


@dataclass(frozen=True, slots=True)
class JoinResult:
    error: ErrorCode
    generation_id: int = NO_GENERATION
    protocol_name: str = NO_PROTOCOL
    leader_id: str = NO_LEADER
    member_id: str = UNKNOWN_MEMBER_ID
    members: list[JoinMember] = field(default_factory=list)  # only the leader gets them

    @classmethod
    def failed(cls, error: ErrorCode, member_id: str = UNKNOWN_MEMBER_ID) -> "JoinResult":
        return cls(error=error, member_id=member_id)


@dataclass(frozen=True, slots=True)
class SyncResult:
    error: ErrorCode
    assignment: bytes = b""


@dataclass(frozen=True, slots=True)
class MemberSummary:
    member_id: str
    client_id: str
    client_host: str
    metadata: bytes  # empty unless the group is Stable
    assignment: bytes  # empty unless the group is Stable


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """DescribeGroups entry. ``state`` is Kafka's state name ("Stable", "Dead", ...; "" on error)."""

    group_id: str
    error: ErrorCode
    state: str
    protocol_type: str
    protocol: str
    members: list[MemberSummary] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GroupOverview:
    """ListGroups entry; ``state`` is extra (ListGroups v4+ carries it, older versions drop it)."""

    group_id: str
    protocol_type: str
    state: str


class OffsetFetchEntry(NamedTuple):
    """OffsetFetch partition entry: offset -1 and metadata "" when nothing is committed (error NONE)."""

    offset: int
    metadata: str
    error: ErrorCode


@dataclass(frozen=True, slots=True)
class ListGroupsResult:
    error: ErrorCode  # COORDINATOR_LOAD_IN_PROGRESS while any partition loads; groups are still listed
    groups: list[GroupOverview]
