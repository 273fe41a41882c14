"""One consumer group's metadata and its state machine (Kafka's ``GroupMetadata`` / ``MemberMetadata``).

States and what each answers (the coordinator implements the answers; this module owns the rules):

====================== ===================================================================================
Empty                  no members (maybe committed offsets). JoinGroup from a new member starts a rebalance;
                       Heartbeat / SyncGroup / member commits get UNKNOWN_MEMBER_ID.
PreparingRebalance     waiting for every known member to (re)send JoinGroup, until the rebalance timeout;
                       Heartbeat gets REBALANCE_IN_PROGRESS (and still counts as liveness); SyncGroup gets
                       REBALANCE_IN_PROGRESS; commits of the previous generation are still accepted.
CompletingRebalance    a new generation exists; waiting for the leader's SyncGroup with the assignment.
                       Followers' SyncGroup waits; commits get REBALANCE_IN_PROGRESS.
Stable                 assignment handed out; heartbeats keep members alive.
Dead                   unloaded or deleted; nothing but offset fetches is served.
====================== ===================================================================================

Legal transitions are the table :data:`VALID_PREVIOUS_STATES` (target → allowed sources), exactly Kafka's
``GroupMetadata.validPreviousStates``; :meth:`GroupMetadata.transition_to` refuses anything else with
:class:`IllegalGroupStateTransition`.

Generations and leaders: a completed join phase increments ``generation_id`` (also when it ends with no
members, which moves the group to Empty). The first member added becomes leader and stays leader while
it remains; when it leaves, the oldest remaining member takes over.

Protocol selection (``selectProtocol``): the candidates are the protocols *every* member lists; each member
votes for the first candidate in its own preference order; most votes wins. Kafka breaks a tie by hash-map
order; we break it by which candidate received its first vote earliest (member join order) — deterministic,
and any tie-break is a legal Kafka outcome. So librdkafka/kafka-python (range, roundrobin) plus aiokafka
(roundrobin) end on roundrobin: it is the only common protocol.

Static members (KIP-345) carry a ``group_instance_id``; the group maps each instance id to the member id
holding it, and a request naming an instance id with another member id is fenced
(:meth:`GroupMetadata.is_static_member_fenced`). Members handed an id by MEMBER_ID_REQUIRED (KIP-394) are
*pending* until they rejoin with it; a join phase waits for them too.

The group also caches its committed offsets (with the append order of the record that wrote each, so a
late-completing older write never overwrites a newer one) and the commits still being replicated
(``pending``); KIP-211 expiry rules live in :meth:`GroupMetadata.remove_expired_offsets`.

Pure: no I/O, no asyncio. The coordinator stores its callbacks and timer handles on members; time comes
from an injected :class:`~kafka_zk.common.clock.Clock`.
"""

from __future__ import annotations

import enum
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from kafka_zk.common.clock import Clock
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator.offsets_codec import CONSUMER_PROTOCOL_TYPE, OffsetCommitValue, subscription_topics
from kafka_zk.coordinator.results import GroupOverview, GroupSummary, JoinMember, MemberSummary, NO_PROTOCOL
from kafka_zk.common.errors import ErrorCode

OffsetAndMetadata = OffsetCommitValue
"""What the cache holds per partition: offset, metadata, commit/expire timestamps, leader epoch."""


class GroupState(enum.Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"

    def __str__(self) -> str:
        return self.value


S = GroupState
VALID_PREVIOUS_STATES: Mapping[GroupState, frozenset[GroupState]] = {
    S.DEAD: frozenset({S.STABLE, S.PREPARING_REBALANCE, S.COMPLETING_REBALANCE, S.EMPTY, S.DEAD}),
    S.COMPLETING_REBALANCE: frozenset({S.PREPARING_REBALANCE}),
    S.STABLE: frozenset({S.COMPLETING_REBALANCE}),
    S.PREPARING_REBALANCE: frozenset({S.STABLE, S.COMPLETING_REBALANCE, S.EMPTY}),
    S.EMPTY: frozenset({S.PREPARING_REBALANCE}),
}


class IllegalGroupStateTransition(RuntimeError):
    """A transition the table does not allow: a coordinator bug, never a client error."""


TransitionListener = Callable[["GroupMetadata", GroupState, GroupState], None]


@dataclass(frozen=True, slots=True)
class CommitRecord:
    """A cached offset and the append order of the ``__consumer_offsets`` record that wrote it."""

    append_seq: int
    value: OffsetAndMetadata


class MemberMetadata:
    """One member: identity, timeouts, protocols in preference order, assignment and waiting callbacks."""

    def __init__(
        self,
        member_id: str,
        group_id: str,
        client_id: str,
        client_host: str,
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        protocol_type: str,
        supported_protocols: list[tuple[str, bytes]],
        assignment: bytes = b"",
        group_instance_id: str | None = None,
    ) -> None:
        self.member_id = member_id
        self.group_instance_id = group_instance_id
        self.group_id = group_id
        self.client_id = client_id
        self.client_host = client_host
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.session_timeout_ms = session_timeout_ms
        self.protocol_type = protocol_type
        self.supported_protocols = list(supported_protocols)
        self.assignment = assignment
        # Set while the member's JoinGroup / SyncGroup waits; called once with the result.
        self.join_callback: Callable[[Any], None] | None = None
        self.sync_callback: Callable[[Any], None] | None = None
        self.is_new = False  # joined in the current rebalance and has no generation yet
        self.is_leaving = False
        self.heartbeat_satisfied = False
        self.heartbeat_timer: Any = None  # the coordinator's session-expiry timer handle

    @property
    def is_awaiting_join(self) -> bool:
        return self.join_callback is not None

    @property
    def is_awaiting_sync(self) -> bool:
        return self.sync_callback is not None

    def protocols(self) -> list[str]:
        return [name for name, _ in self.supported_protocols]

    def metadata(self, protocol: str) -> bytes:
        """The member's metadata for ``protocol``; raises ValueError if it does not list it."""
        for name, data in self.supported_protocols:
            if name == protocol:
                return data
        raise ValueError(f"member {self.member_id} does not support protocol {protocol!r}")

    def matches(self, protocols: list[tuple[str, bytes]]) -> bool:
        """Same protocols, same order, same metadata bytes (a rejoin that changes nothing)."""
        return [(n, bytes(m)) for n, m in protocols] == [(n, bytes(m)) for n, m in self.supported_protocols]

    def vote(self, candidates: set[str]) -> str:
        for name, _ in self.supported_protocols:
            if name in candidates:
                return name
        raise ValueError(f"member {self.member_id} supports none of {sorted(candidates)}")

    def has_satisfied_heartbeat(self) -> bool:
        """Whether an expiring session timer should spare this member (Kafka 2.4+ rule).

        A member waiting in JoinGroup or SyncGroup cannot heartbeat on most clients, so it counts as alive —
        except a *new* member, whose join wait is bounded separately (``NEW_MEMBER_JOIN_TIMEOUT_MS``).
        """
        if self.is_new:
            return self.heartbeat_satisfied
        if self.is_awaiting_join or self.is_awaiting_sync:
            return True
        return self.heartbeat_satisfied

    @property
    def is_static(self) -> bool:
        return self.group_instance_id is not None

    def summary(self, protocol: str | None) -> MemberSummary:
        if protocol is None:
            return MemberSummary(self.member_id, self.client_id, self.client_host, b"", b"", self.group_instance_id)
        return MemberSummary(
            self.member_id, self.client_id, self.client_host, self.metadata(protocol), self.assignment, self.group_instance_id
        )

    def __repr__(self) -> str:
        return (
            f"MemberMetadata(member_id={self.member_id!r}, group_instance_id={self.group_instance_id!r}, "
            f"client_id={self.client_id!r}, "
            f"session_timeout_ms={self.session_timeout_ms}, rebalance_timeout_ms={self.rebalance_timeout_ms}, "
            f"protocols={self.protocols()})"
        )


class GroupMetadata:
    """Membership, generation, protocol and cached offsets of one group."""

    def __init__(
        self,
        group_id: str,
        clock: Clock,
        initial_state: GroupState = GroupState.EMPTY,
        on_transition: TransitionListener | None = None,
    ) -> None:
        self.group_id = group_id
        self._clock = clock
        self._state = initial_state
        self.current_state_timestamp: int | None = clock.time_ms()
        self.protocol_type: str | None = None
        self.generation_id = 0
        self.leader_id: str | None = None
        self.protocol_name: str | None = None
        self.new_member_added = False  # a member joined during the initial delay: extend it
        self.on_transition = on_transition
        self._members: dict[str, MemberMetadata] = {}
        # KIP-345: group.instance.id -> the member id currently holding it.
        self._static_members: dict[str, str] = {}
        # KIP-394: ids handed out with MEMBER_ID_REQUIRED whose second JoinGroup has not arrived yet.
        self._pending_members: set[str] = set()
        self._num_awaiting_join = 0
        self._supported_protocols: Counter[str] = Counter()
        self._offsets: dict[TopicPartition, CommitRecord] = {}
        self._pending_offset_commits: dict[TopicPartition, OffsetAndMetadata] = {}

    # ------------------------------------------------------------------------------------------ state

    @property
    def state(self) -> GroupState:
        return self._state

    def is_(self, state: GroupState) -> bool:
        return self._state is state

    @property
    def can_rebalance(self) -> bool:
        return self._state in VALID_PREVIOUS_STATES[GroupState.PREPARING_REBALANCE]

    def transition_to(self, target: GroupState) -> GroupState:
        """Move to ``target``; returns the previous state. Raises IllegalGroupStateTransition."""
        previous = self._state
        if previous not in VALID_PREVIOUS_STATES[target]:
            allowed = ", ".join(sorted(s.value for s in VALID_PREVIOUS_STATES[target]))
            raise IllegalGroupStateTransition(
                f"group {self.group_id!r} must be in one of {{{allowed}}} to move to {target.value}, but is {previous.value}"
            )
        self._state = target
        self.current_state_timestamp = self._clock.time_ms()
        if self.on_transition is not None:
            self.on_transition(self, previous, target)
        return previous

    # ------------------------------------------------------------------------------------------ members

    def has(self, member_id: str) -> bool:
        return member_id in self._members

    def get(self, member_id: str) -> MemberMetadata:
        return self._members[member_id]

    @property
    def size(self) -> int:
        return len(self._members)

    @property
    def members(self) -> list[MemberMetadata]:
        return list(self._members.values())

    @property
    def member_ids(self) -> list[str]:
        return list(self._members)

    def is_leader(self, member_id: str) -> bool:
        return self.leader_id == member_id

    @property
    def num_awaiting_join(self) -> int:
        return self._num_awaiting_join

    def generate_member_id(self, client_id: str, group_instance_id: str | None = None) -> str:
        """``<client_id>-<uuid>`` for dynamic members, ``<group_instance_id>-<uuid>`` for static ones (Kafka)."""
        return f"{client_id if group_instance_id is None else group_instance_id}-{uuid.uuid4()}"

    # ------------------------------------------------------------------------------------------ static members

    def has_static_member(self, group_instance_id: str | None) -> bool:
        return group_instance_id is not None and group_instance_id in self._static_members

    def static_member_id(self, group_instance_id: str) -> str | None:
        return self._static_members.get(group_instance_id)

    @property
    def static_members(self) -> dict[str, str]:
        return dict(self._static_members)

    def is_static_member_fenced(self, member_id: str, group_instance_id: str | None) -> bool:
        """A request naming an instance id held by a *different* member id comes from a duplicate (or an
        older incarnation) of that instance: FENCED_INSTANCE_ID, so it shuts down instead of rejoining."""
        if group_instance_id is None:
            return False
        holder = self._static_members.get(group_instance_id)
        return holder is not None and holder != member_id

    def replace_static_member(self, old_member_id: str, new_member_id: str, fenced: Any, fenced_sync: Any) -> MemberMetadata:
        """A restarted static member takes over its old entry (assignment included) under a new member id.

        The old incarnation's waiting JoinGroup/SyncGroup, if any, is answered ``fenced``/``fenced_sync``
        (FENCED_INSTANCE_ID results) at once.
        """
        member = self._members.pop(old_member_id)
        self.maybe_invoke_join_callback(member, fenced)
        self.maybe_invoke_sync_callback(member, fenced_sync)
        member.member_id = new_member_id
        self._members[new_member_id] = member
        if self.leader_id == old_member_id:
            self.leader_id = new_member_id
        if member.group_instance_id is not None:
            self._static_members[member.group_instance_id] = new_member_id
        return member

    # ------------------------------------------------------------------------------------------ pending members

    def add_pending_member(self, member_id: str) -> None:
        self._pending_members.add(member_id)

    def is_pending_member(self, member_id: str) -> bool:
        return member_id in self._pending_members

    def remove_pending_member(self, member_id: str) -> bool:
        if member_id in self._pending_members:
            self._pending_members.discard(member_id)
            return True
        return False

    @property
    def num_pending(self) -> int:
        return len(self._pending_members)

    def add(self, member: MemberMetadata, join_callback: Callable[[Any], None] | None = None) -> None:
        """Add ``member``; the first member fixes the group's protocol type and becomes leader if none."""
        if not self._members:
            self.protocol_type = member.protocol_type
        if member.group_id != self.group_id:
            raise ValueError(f"member of group {member.group_id!r} added to {self.group_id!r}")
        if self.protocol_type != member.protocol_type:
            raise ValueError(f"protocol type {member.protocol_type!r} differs from the group's {self.protocol_type!r}")
        if not self.supports_protocols(member.protocol_type, member.protocols()):
            raise ValueError(f"member {member.member_id} supports none of the group's protocols")
        if self.leader_id is None:
            self.leader_id = member.member_id
        self._members[member.member_id] = member
        self._pending_members.discard(member.member_id)
        if member.group_instance_id is not None:
            self._static_members[member.group_instance_id] = member.member_id
        self._supported_protocols.update(set(member.protocols()))
        member.join_callback = join_callback
        if member.is_awaiting_join:
            self._num_awaiting_join += 1

    def remove(self, member_id: str) -> MemberMetadata | None:
        member = self._members.pop(member_id, None)
        if member is not None:
            self._supported_protocols.subtract(set(member.protocols()))
            self._supported_protocols += Counter()  # drop zero counts
            if member.is_awaiting_join:
                self._num_awaiting_join -= 1
            iid = member.group_instance_id
            if iid is not None and self._static_members.get(iid) == member_id:
                del self._static_members[iid]
        if self.is_leader(member_id):
            self.leader_id = next(iter(self._members), None)
        return member

    def update_member(
        self,
        member: MemberMetadata,
        protocols: list[tuple[str, bytes]],
        join_callback: Callable[[Any], None] | None,
        rebalance_timeout_ms: int | None = None,
        session_timeout_ms: int | None = None,
    ) -> None:
        """New protocols (and timeouts) for a rejoining member; ``join_callback`` marks it awaiting join."""
        self._supported_protocols.subtract(set(member.protocols()))
        self._supported_protocols += Counter()
        member.supported_protocols = list(protocols)
        self._supported_protocols.update(set(member.protocols()))
        if rebalance_timeout_ms is not None:
            member.rebalance_timeout_ms = rebalance_timeout_ms
        if session_timeout_ms is not None:
            member.session_timeout_ms = session_timeout_ms
        if join_callback is not None and not member.is_awaiting_join:
            self._num_awaiting_join += 1
        elif join_callback is None and member.is_awaiting_join:
            self._num_awaiting_join -= 1
        member.join_callback = join_callback

    def maybe_invoke_join_callback(self, member: MemberMetadata, result: Any) -> bool:
        if member.join_callback is None:
            return False
        callback, member.join_callback = member.join_callback, None
        self._num_awaiting_join -= 1
        callback(result)
        return True

    def maybe_invoke_sync_callback(self, member: MemberMetadata, result: Any) -> bool:
        if member.sync_callback is None:
            return False
        callback, member.sync_callback = member.sync_callback, None
        callback(result)
        return True

    def not_yet_rejoined_members(self) -> list[MemberMetadata]:
        return [m for m in self._members.values() if not m.is_awaiting_join]

    @property
    def has_all_members_joined(self) -> bool:
        """Every member rejoined and no MEMBER_ID_REQUIRED member is still on its way back (Kafka 2.3+)."""
        return len(self._members) == self._num_awaiting_join and not self._pending_members

    @property
    def rebalance_timeout_ms(self) -> int:
        """The longest rebalance timeout any member asked for (how long a join phase may last)."""
        return max((m.rebalance_timeout_ms for m in self._members.values()), default=0)

    # ------------------------------------------------------------------------------------------ protocols

    def candidate_protocols(self) -> set[str]:
        n = len(self._members)
        return {name for name, count in self._supported_protocols.items() if count == n}

    def supports_protocols(self, protocol_type: str, protocols: Iterable[str]) -> bool:
        """Can a member with this protocol type and these protocols join? (INCONSISTENT_GROUP_PROTOCOL if not)"""
        names = set(protocols)
        if self.is_(GroupState.EMPTY):
            return bool(protocol_type) and bool(names)
        n = len(self._members)
        return self.protocol_type == protocol_type and any(self._supported_protocols[p] == n for p in names)

    def select_protocol(self) -> str:
        """The protocol for the next generation (member vote among the common protocols)."""
        if not self._members:
            raise IllegalGroupStateTransition(f"cannot select a protocol for empty group {self.group_id!r}")
        candidates = self.candidate_protocols()
        votes: dict[str, int] = {}
        for member in self._members.values():
            choice = member.vote(candidates)
            votes[choice] = votes.get(choice, 0) + 1
        return max(votes, key=lambda p: votes[p])  # max() keeps the first of equal counts

    def init_next_generation(self) -> None:
        """Close the join phase: bump the generation; CompletingRebalance with a protocol, or Empty."""
        self.generation_id += 1
        if self._members:
            self.protocol_name = self.select_protocol()
            self.transition_to(GroupState.COMPLETING_REBALANCE)
        else:
            self.protocol_name = None
            self.transition_to(GroupState.EMPTY)

    def current_member_metadata(self) -> list[JoinMember]:
        """The leader's JoinGroup member list: every member's metadata for the selected protocol."""
        if self.is_(GroupState.DEAD) or self.is_(GroupState.PREPARING_REBALANCE) or self.protocol_name is None:
            raise IllegalGroupStateTransition(f"no member metadata for group {self.group_id!r} in state {self._state}")
        protocol = self.protocol_name
        return [JoinMember(m.member_id, m.metadata(protocol), m.group_instance_id) for m in self._members.values()]

    def subscribed_topics(self) -> set[str] | None:
        """The topics the members of a ``consumer`` group subscribe to (for the selected protocol), or None
        when unknown (no protocol yet, not a consumer group, undecodable metadata) — Kafka's
        ``GroupMetadata.subscribedTopics``."""
        if self.protocol_type != CONSUMER_PROTOCOL_TYPE or self.protocol_name is None:
            return None
        topics: set[str] = set()
        for member in self._members.values():
            try:
                found = subscription_topics(member.metadata(self.protocol_name))
            except ValueError:
                return None
            if found is None:
                return None
            topics.update(found)
        return topics

    def summary(self) -> GroupSummary:
        """DescribeGroups view: metadata and assignments only when Stable (as Kafka)."""
        stable = self.is_(GroupState.STABLE)
        protocol = self.protocol_name if stable else None
        return GroupSummary(
            group_id=self.group_id,
            error=ErrorCode.NONE,
            state=self._state.value,
            protocol_type=self.protocol_type or "",
            protocol=(protocol or NO_PROTOCOL),
            members=[m.summary(protocol) for m in self._members.values()],
        )

    def overview(self) -> GroupOverview:
        return GroupOverview(self.group_id, self.protocol_type or "", self._state.value)

    # ------------------------------------------------------------------------------------------ offsets

    def initialize_offsets(self, offsets: Mapping[TopicPartition, CommitRecord]) -> None:
        self._offsets.update(offsets)

    def prepare_offset_commit(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        self._pending_offset_commits.update(offsets)

    def on_offset_commit_append(self, tp: TopicPartition, record: CommitRecord) -> None:
        """A commit's record is in the log: cache it unless a newer record already is."""
        if tp in self._pending_offset_commits:
            current = self._offsets.get(tp)
            if current is None or current.append_seq < record.append_seq:
                self._offsets[tp] = record
        if self._pending_offset_commits.get(tp) == record.value:
            del self._pending_offset_commits[tp]

    def fail_pending_offset_write(self, tp: TopicPartition, value: OffsetAndMetadata) -> None:
        if self._pending_offset_commits.get(tp) == value:
            del self._pending_offset_commits[tp]

    def remove_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, OffsetAndMetadata]:
        removed = {}
        for tp in tps:
            self._pending_offset_commits.pop(tp, None)
            record = self._offsets.pop(tp, None)
            if record is not None:
                removed[tp] = record.value
        return removed

    def remove_all_offsets(self) -> dict[TopicPartition, OffsetAndMetadata]:
        return self.remove_offsets(list(self._offsets))

    def remove_expired_offsets(self, now_ms: int, retention_ms: int) -> dict[TopicPartition, OffsetAndMetadata]:
        """Drop and return the offsets that expired (KIP-211, Kafka 2.1+).

        * A commit with an explicit expire timestamp (OffsetCommit v2–v4 retention time) expires then.
        * A group using group management (it has a protocol type) expires its offsets only while Empty, once
          ``retention_ms`` passed since it became Empty (or since the commit, for old metadata without a
          state timestamp).
        * A standalone group (offsets only, no protocol type) expires each offset ``retention_ms`` after its
          commit.
        Offsets with a commit still in flight never expire.
        """
        if self.protocol_type is not None and self.protocol_type != "":
            if not self.is_(GroupState.EMPTY):
                return {}
            state_ts = self.current_state_timestamp

            def base(v: OffsetAndMetadata) -> int:
                return state_ts if state_ts is not None else v.commit_timestamp

        else:

            def base(v: OffsetAndMetadata) -> int:
                return v.commit_timestamp

        expired = {}
        for tp, record in self._offsets.items():
            if tp in self._pending_offset_commits:
                continue
            v = record.value
            if v.expire_timestamp is not None:
                if now_ms >= v.expire_timestamp:
                    expired[tp] = v
            elif now_ms - base(v) >= retention_ms:
                expired[tp] = v
        for tp in expired:
            del self._offsets[tp]
        return expired

    def offset(self, tp: TopicPartition) -> OffsetAndMetadata | None:
        record = self._offsets.get(tp)
        return None if record is None else record.value

    def all_offsets(self) -> dict[TopicPartition, OffsetAndMetadata]:
        return {tp: r.value for tp, r in self._offsets.items()}

    @property
    def num_offsets(self) -> int:
        return len(self._offsets)

    @property
    def has_offsets(self) -> bool:
        return bool(self._offsets) or bool(self._pending_offset_commits)

    def __repr__(self) -> str:
        return (
            f"GroupMetadata(group_id={self.group_id!r}, generation={self.generation_id}, "
            f"protocol_type={self.protocol_type!r}, state={self._state.value}, members={list(self._members.values())})"
        )
