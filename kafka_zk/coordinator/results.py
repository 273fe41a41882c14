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
    group_instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class JoinResult:
    """``protocol_type`` is None on errors (JoinGroup v7+ answers null there, older versions nothing)."""

    error: ErrorCode
    generation_id: int = NO_GENERATION
    protocol_name: str = NO_PROTOCOL
    leader_id: str = NO_LEADER
    member_id: str = UNKNOWN_MEMBER_ID
    members: list[JoinMember] = field(default_factory=list)  # only the leader gets them
    protocol_type: str | None = None

    @classmethod
    def failed(cls, error: ErrorCode, member_id: str = UNKNOWN_MEMBER_ID) -> "JoinResult":
        return cls(error=error, member_id=member_id)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """``protocol_type``/``protocol_name`` are the group's on success (SyncGroup v5+), None on errors."""

    error: ErrorCode
    assignment: bytes = b""
    protocol_type: str | None = None
    protocol_name: str | None = None


@dataclass(frozen=True, slots=True)
class MemberSummary:
    member_id: str
    client_id: str
    client_host: str
    metadata: bytes  # empty unless the group is Stable
    assignment: bytes  # empty unless the group is Stable
    group_instance_id: str | None = None  # static members (KIP-345)


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
    leader_epoch: int = -1  # the committed leader epoch (OffsetFetch v5+), -1 when none was committed


@dataclass(frozen=True, slots=True)
class LeaveResult:
    """LeaveGroup: ``error`` is the group-level error; ``members`` one (member id, instance id, error) each."""

    error: ErrorCode
    members: list[tuple[str, str | None, ErrorCode]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ListGroupsResult:
    error: ErrorCode  # COORDINATOR_LOAD_IN_PROGRESS while any partition loads; groups are still listed
    groups: list[GroupOverview]
