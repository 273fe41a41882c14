"""The group coordinator: membership, rebalances and offset commits of the groups this broker owns.

This is Kafka 2.x's ``GroupCoordinator`` on one asyncio loop. Server handlers call its methods with plain
arguments and copy the plain results into responses; the coordinator never sees a protocol struct.

Rebalance protocol (Kafka 2.8's; static membership, MEMBER_ID_REQUIRED and batch leave are described after
the steps):

1. A JoinGroup from a new member (empty member id) gets an id ``<client_id>-<uuid>`` and moves the group to
   PreparingRebalance; JoinGroup from a known member whose metadata changed, or from the leader, does too.
   Every JoinGroup waits (Kafka's ``DelayedJoin``) until all known members have rejoined or the rebalance
   timeout (the largest any member asked for) passes; members that did not rejoin by then are removed.
   An Empty group's first rebalance instead waits ``group.initial.rebalance.delay.ms`` and restarts that
   wait whenever another member arrives, never beyond the rebalance timeout (``InitialDelayedJoin``), so a
   consumer fleet starting together lands in one generation.
2. The join phase ends with a new generation, a protocol chosen by member vote and a leader. Every waiting
   JoinGroup returns; only the leader's response lists the members and their metadata.
3. Followers' SyncGroup waits; the leader's SyncGroup carries the assignment, which is written to
   ``__consumer_offsets`` and then handed out, each member getting the leader's bytes unchanged (members the
   leader left out get an empty assignment; for "consumer" groups a *valid* empty ConsumerProtocol
   assignment, because aiokafka and kafka-python cannot decode zero bytes). The group is Stable.
4. Members heartbeat within their session timeout. A member that does not is removed and the group
   rebalances; LeaveGroup does the same at once. A JoinGroup or SyncGroup in flight counts as liveness
   (Kafka 2.4+), a new member's first JoinGroup waits at most 5 minutes.

Kafka 2.3+ additions: a JoinGroup v4+ from a new member without an instance id only hands out its id
(MEMBER_ID_REQUIRED, KIP-394; the member is *pending* until its second JoinGroup, and forgotten after its
session timeout). A static member (``group.instance.id``, KIP-345) that rejoins with an empty member id takes
over its old entry under a new id — without a rebalance in a Stable group — and the old id is fenced
(FENCED_INSTANCE_ID on every later request naming the instance id with it). LeaveGroup v3+ removes a batch
of members, by member id or instance id. OffsetDelete (KIP-496) removes offsets of topics a group no longer
subscribes to.

Heartbeat answers REBALANCE_IN_PROGRESS while the group is PreparingRebalance (still counting as liveness)
and NONE in CompletingRebalance (Kafka 2.5+, which stopped the spurious rejoin a 27 there caused).

Errors are Kafka's, checked in Kafka's order: INVALID_GROUP_ID (empty id, except for offset commit/fetch,
describe and delete), COORDINATOR_NOT_AVAILABLE (not started, or a group being torn down),
COORDINATOR_LOAD_IN_PROGRESS (its offsets partition is loading; Heartbeat answers NONE and SyncGroup
REBALANCE_IN_PROGRESS instead, as Kafka does for old clients), NOT_COORDINATOR (we do not lead its
partition), then INVALID_SESSION_TIMEOUT, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
INCONSISTENT_GROUP_PROTOCOL, REBALANCE_IN_PROGRESS, GROUP_MAX_SIZE_REACHED per operation (FENCED_INSTANCE_ID
before UNKNOWN_MEMBER_ID).

Time: all timing goes through an injected :class:`~kafka_zk.common.clock.Clock` and
:class:`~kafka_zk.coordinator.timers.Timers`; tests drive both with a ManualClock.

Events (on the optional EventBus): ``group.state`` (group, from, to, generation), ``group.member_joined``
(group, member_id, client_id, client_host), ``group.member_removed`` (group, member_id, reason:
leave_group | session_timeout | join_timeout | rebalance_timeout), ``group.rebalance_completed`` (group,
generation, protocol, leader, members), ``group.static_member_replaced`` (group, group_instance_id,
old_member_id, member_id), ``group.offsets_deleted`` (group, partitions).
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any, Callable, Coroutine, Iterable, Mapping

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.clock import SYSTEM_CLOCK, Clock
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator.config import GroupCoordinatorConfig
from kafka_zk.coordinator.group import GroupMetadata, GroupState, MemberMetadata, OffsetAndMetadata
from kafka_zk.coordinator.log_port import OffsetsLog
from kafka_zk.coordinator.metadata_manager import GroupMetadataManager
from kafka_zk.coordinator.offsets_codec import CONSUMER_PROTOCOL_TYPE, EMPTY_CONSUMER_ASSIGNMENT, NO_LEADER_EPOCH
from kafka_zk.coordinator.results import (
    UNKNOWN_MEMBER_ID,
    GroupSummary,
    JoinResult,
    LeaveResult,
    ListGroupsResult,
    OffsetFetchEntry,
    SyncResult,
)
from kafka_zk.coordinator.timers import AsyncioTimers, TimerHandle, Timers

log = get_logger(__name__)

NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000
NO_RETENTION = -1

State = GroupState


class _Api(enum.Enum):
    JOIN_GROUP = "JoinGroup"
    SYNC_GROUP = "SyncGroup"
    HEARTBEAT = "Heartbeat"
    LEAVE_GROUP = "LeaveGroup"
    OFFSET_COMMIT = "OffsetCommit"
    OFFSET_FETCH = "OffsetFetch"
    DESCRIBE_GROUPS = "DescribeGroups"
    DELETE_GROUPS = "DeleteGroups"
    OFFSET_DELETE = "OffsetDelete"


# Offset commit/fetch accept the empty group id for old standalone consumers; describe/delete so that an
# operator can see and remove such a group.
_EMPTY_ID_ALLOWED = {_Api.OFFSET_COMMIT, _Api.OFFSET_FETCH, _Api.DESCRIBE_GROUPS, _Api.DELETE_GROUPS}


class _DelayedJoin:
    """The pending end of one join phase (Kafka's DelayedJoin / InitialDelayedJoin)."""

    __slots__ = ("group", "initial", "delay_ms", "remaining_ms", "timer")

    def __init__(self, group: GroupMetadata, initial: bool, delay_ms: int, remaining_ms: int = 0) -> None:
        self.group = group
        self.initial = initial
        self.delay_ms = delay_ms
        self.remaining_ms = remaining_ms
        self.timer: TimerHandle | None = None


class GroupCoordinator:
    """Consumer-group coordinator for the ``__consumer_offsets`` partitions this broker leads.

    Call :meth:`startup` (from the event loop) before serving and :meth:`shutdown` when stopping. The broker
    calls :meth:`on_became_leader` / :meth:`on_resigned` as leadership of offsets partitions changes.
    """

    def __init__(
        self,
        offsets_log: OffsetsLog,
        config: GroupCoordinatorConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        timers: Timers | None = None,
        events: EventBus | None = None,
        num_partitions: int | None = None,
    ) -> None:
        self.config = config or GroupCoordinatorConfig()
        self._clock = clock
        self._timers: Timers = timers or AsyncioTimers()
        self._events = events
        self.manager = GroupMetadataManager(self.config, offsets_log, clock, self._new_group, num_partitions)
        self._active = False
        self._joins: dict[str, _DelayedJoin] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._load_tasks: dict[int, asyncio.Task[None]] = {}
        self._retention_timer: TimerHandle | None = None
        self._pending_timers: dict[tuple[str, str], TimerHandle] = {}

    # ================================================================================== lifecycle

    def startup(self, enable_metadata_expiration: bool = True) -> None:
        """Start serving; schedule the offset-retention pass every ``offsets.retention.check.interval.ms``."""
        self._active = True
        if enable_metadata_expiration:
            self._schedule_retention()
        log.info("group coordinator started", offsets_partitions=self.manager.num_partitions)

    def shutdown(self) -> None:
        """Stop serving: cancel timers and background writes; waiting requests get COORDINATOR_NOT_AVAILABLE."""
        self._active = False
        if self._retention_timer is not None:
            self._retention_timer.cancel()
        for task in list(self._load_tasks.values()) + list(self._tasks):
            task.cancel()
        for group in self.manager.current_groups():
            self._cancel_timers(group)
            for member in group.members:
                group.maybe_invoke_join_callback(member, JoinResult.failed(ErrorCode.COORDINATOR_NOT_AVAILABLE, member.member_id))
                group.maybe_invoke_sync_callback(member, SyncResult(ErrorCode.COORDINATOR_NOT_AVAILABLE))
        log.info("group coordinator stopped")

    @property
    def is_active(self) -> bool:
        return self._active

    def partition_for(self, group_id: str) -> int:
        """The ``__consumer_offsets`` partition whose leader coordinates ``group_id``."""
        return self.manager.partition_for(group_id)

    # ================================================================================== leadership

    def on_became_leader(self, partition: int) -> asyncio.Task[None]:
        """This broker now leads offsets partition ``partition``: load its groups (Kafka's ``onElection``).

        Until the returned task finishes, the partition's groups answer COORDINATOR_LOAD_IN_PROGRESS.
        Must be called on the event loop.
        """
        existing = self._load_tasks.get(partition)
        if existing is not None and not existing.done():
            log.info("offsets partition already loading", partition=partition)
            return existing
        log.info("elected as group coordinator for offsets partition", partition=partition)
        self.manager.begin_loading(partition)
        task = asyncio.get_running_loop().create_task(self._load(partition), name=f"load-__consumer_offsets-{partition}")
        self._load_tasks[partition] = task
        task.add_done_callback(lambda t: self._load_tasks.pop(partition, None) if self._load_tasks.get(partition) is t else None)
        return task

    async def _load(self, partition: int) -> None:
        owned = False
        try:
            await self.manager.load_groups_and_offsets(partition, self._on_group_loaded)
            owned = True
        except asyncio.CancelledError:
            raise
        except Exception:
            # As Kafka: the partition is served anyway (with what was cached); the error is not silent.
            log.exception("loading offsets partition failed", partition=partition)
            owned = True
        finally:
            # A load cancelled by on_resigned must not touch the state of a newer election of the partition.
            if self._load_tasks.get(partition) is asyncio.current_task():
                self.manager.finish_loading(partition, owned)

    def on_resigned(self, partition: int) -> None:
        """This broker no longer leads ``partition``: unload its groups (NOT_COORDINATOR from now on)."""
        log.info("resigned as group coordinator for offsets partition", partition=partition)
        task = self._load_tasks.pop(partition, None)
        if task is not None:
            task.cancel()
        self.manager.remove_groups_for_partition(partition, self._on_group_unloaded)

    def _on_group_loaded(self, group: GroupMetadata) -> None:
        log.debug("loaded group", group=group.group_id, generation=group.generation_id, state=str(group.state))
        if group.size > self.config.group_max_size:
            self._prepare_rebalance(group, "freshly loaded group is over capacity")
        for member in group.members:
            self._schedule_heartbeat_expiration(group, member)

    def _on_group_unloaded(self, group: GroupMetadata) -> None:
        previous = group.transition_to(State.DEAD)
        self._cancel_timers(group)
        if previous is State.PREPARING_REBALANCE:
            for member in group.members:
                group.maybe_invoke_join_callback(member, JoinResult.failed(ErrorCode.NOT_COORDINATOR, member.member_id))
        elif previous in (State.STABLE, State.COMPLETING_REBALANCE):
            for member in group.members:
                group.maybe_invoke_sync_callback(member, SyncResult(ErrorCode.NOT_COORDINATOR))

    # ================================================================================== JoinGroup

    async def join_group(
        self,
        group_id: str,
        member_id: str,
        client_id: str,
        client_host: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
        group_instance_id: str | None = None,
        require_known_member_id: bool = False,
    ) -> JoinResult:
        """JoinGroup; completes when the join phase completes (or at once with an error).

        ``member_id`` is "" for a new member. For JoinGroup v0 pass ``rebalance_timeout_ms =
        session_timeout_ms`` (v0 has no rebalance timeout). ``group_instance_id`` makes the member static
        (JoinGroup v5+, KIP-345); ``require_known_member_id`` (JoinGroup v4+ without an instance id, KIP-394)
        answers a new member MEMBER_ID_REQUIRED with its id instead of adding it, so that a client whose
        first JoinGroup timed out does not leave a ghost member behind.
        """
        error = self._validate_group_status(group_id, _Api.JOIN_GROUP)
        if error is not None:
            return JoinResult.failed(error, member_id)
        cfg = self.config
        if not cfg.group_min_session_timeout_ms <= session_timeout_ms <= cfg.group_max_session_timeout_ms:
            return JoinResult.failed(ErrorCode.INVALID_SESSION_TIMEOUT, member_id)
        is_unknown = member_id == UNKNOWN_MEMBER_ID
        group = self.manager.get_or_create_group(group_id, create=is_unknown)
        if group is None:
            return JoinResult.failed(ErrorCode.UNKNOWN_MEMBER_ID, member_id)

        future: asyncio.Future[JoinResult] = asyncio.get_running_loop().create_future()

        def respond(result: JoinResult) -> None:
            if not future.done():
                future.set_result(result)

        if not self._accept_joining_member(group, member_id):
            if group.has(member_id):
                self._remove_member_and_update_group(group, group.get(member_id), "group_max_size")
            respond(JoinResult.failed(ErrorCode.GROUP_MAX_SIZE_REACHED))
        elif is_unknown:
            self._do_unknown_join(
                group, client_id, client_host, session_timeout_ms, rebalance_timeout_ms, protocol_type, protocols, respond,
                group_instance_id, require_known_member_id,
            )
        else:
            self._do_join(
                group, member_id, session_timeout_ms, rebalance_timeout_ms, protocol_type, protocols, respond,
                group_instance_id, client_id, client_host,
            )
        if group.is_(State.PREPARING_REBALANCE):
            self._try_complete_join(group)
        return await future

    def _accept_joining_member(self, group: GroupMetadata, member_id: str) -> bool:
        max_size = self.config.group_max_size
        if group.state in (State.EMPTY, State.DEAD):
            return True
        if group.is_(State.PREPARING_REBALANCE):
            return (group.has(member_id) and group.get(member_id).is_awaiting_join) or group.num_awaiting_join < max_size
        return group.has(member_id) or group.size < max_size

    def _do_unknown_join(
        self,
        group: GroupMetadata,
        client_id: str,
        client_host: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
        respond: Callable[[JoinResult], None],
        group_instance_id: str | None = None,
        require_known_member_id: bool = False,
    ) -> None:
        if group.is_(State.DEAD):
            # The group was just unloaded or deleted: let the member find the coordinator again and rejoin.
            respond(JoinResult.failed(ErrorCode.COORDINATOR_NOT_AVAILABLE))
        elif not group.supports_protocols(protocol_type, [name for name, _ in protocols]):
            respond(JoinResult.failed(ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
        else:
            new_member_id = group.generate_member_id(client_id, group_instance_id)
            if group_instance_id is not None and group.has_static_member(group_instance_id):
                self._update_static_member_and_rebalance(
                    group, new_member_id, group_instance_id, protocols, respond, rebalance_timeout_ms, session_timeout_ms
                )
            elif require_known_member_id and group_instance_id is None:
                group.add_pending_member(new_member_id)
                self._schedule_pending_expiration(group, new_member_id, session_timeout_ms)
                log.debug("new member must rejoin with its id", group=group.group_id, member=new_member_id)
                respond(JoinResult.failed(ErrorCode.MEMBER_ID_REQUIRED, new_member_id))
            else:
                member = MemberMetadata(
                    new_member_id,
                    group.group_id,
                    client_id,
                    client_host,
                    rebalance_timeout_ms,
                    session_timeout_ms,
                    protocol_type,
                    protocols,
                    group_instance_id=group_instance_id,
                )
                self._add_member_and_rebalance(group, member, respond)

    def _update_static_member_and_rebalance(
        self,
        group: GroupMetadata,
        new_member_id: str,
        group_instance_id: str,
        protocols: list[tuple[str, bytes]],
        respond: Callable[[JoinResult], None],
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
    ) -> None:
        """A known static member rejoins with an empty member id: it restarted (KIP-345).

        It takes over its old entry under a new member id (the old id is fenced). In a Stable group whose
        protocol choice does not change this is *not* a rebalance: the new id is persisted, the member gets
        the current generation with the old leader's id (so it does not assign) and its old assignment on
        SyncGroup. In CompletingRebalance the leader may have assigned to the old id, so the group rebalances.
        """
        old_member_id = group.static_member_id(group_instance_id)
        assert old_member_id is not None
        log.info("static member rejoins with a new member id", group=group.group_id, instance=group_instance_id,
                 old_member=old_member_id, member=new_member_id)
        current_leader = group.leader_id
        fenced_join = JoinResult.failed(ErrorCode.FENCED_INSTANCE_ID, old_member_id)
        member = group.replace_static_member(old_member_id, new_member_id, fenced_join, SyncResult(ErrorCode.FENCED_INSTANCE_ID))
        self._schedule_heartbeat_expiration(group, member)
        old_protocols = list(member.supported_protocols)
        group.update_member(member, protocols, respond, rebalance_timeout_ms, session_timeout_ms)
        self._emit(kinds.GROUP_STATIC_MEMBER_REPLACED, group=group.group_id, group_instance_id=group_instance_id,
                   old_member_id=old_member_id, member_id=new_member_id)
        if group.is_(State.STABLE):
            if group.select_protocol() == group.protocol_name:
                self._spawn(
                    self._store_replaced_static_member(group, member, old_member_id, old_protocols, current_leader),
                    f"store static member of {group.group_id}",
                )
            else:
                self._maybe_prepare_rebalance(group, f"static member {group_instance_id} changed the group's protocol")
        elif group.is_(State.COMPLETING_REBALANCE):
            self._prepare_rebalance(group, f"static member {group_instance_id} rejoined during the sync phase")
        # PreparingRebalance: the member now counts as rejoined; join_group tries to complete the phase.

    async def _store_replaced_static_member(
        self, group: GroupMetadata, member: MemberMetadata, old_member_id: str, old_protocols: list[tuple[str, bytes]],
        leader: str | None,
    ) -> None:
        error = await self.manager.store_group(group, {m.member_id: m.assignment for m in group.members})
        if error is not ErrorCode.NONE:
            log.warning("failed to persist a static member's new id", group=group.group_id, error=error.name)
            callback = member.join_callback
            group.update_member(member, old_protocols, None)  # clears the waiting callback
            if group.has(member.member_id) and member.group_instance_id is not None:
                group.replace_static_member(member.member_id, old_member_id, None, None)
                self._schedule_heartbeat_expiration(group, member)
            if callback is not None:
                callback(JoinResult(error=error, generation_id=group.generation_id, protocol_name=group.protocol_name or "",
                                    leader_id=leader or "", member_id=UNKNOWN_MEMBER_ID, protocol_type=group.protocol_type))
            return
        group.maybe_invoke_join_callback(member, JoinResult(
            error=ErrorCode.NONE,
            generation_id=group.generation_id,
            protocol_name=group.protocol_name or "",
            leader_id=leader or "",
            member_id=member.member_id,
            protocol_type=group.protocol_type,
        ))

    def _do_join(
        self,
        group: GroupMetadata,
        member_id: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
        respond: Callable[[JoinResult], None],
        group_instance_id: str | None = None,
        client_id: str = "",
        client_host: str = "",
    ) -> None:
        if group.is_(State.DEAD):
            respond(JoinResult.failed(ErrorCode.COORDINATOR_NOT_AVAILABLE, member_id))
            return
        if not group.supports_protocols(protocol_type, [name for name, _ in protocols]):
            respond(JoinResult.failed(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id))
            return
        if group.is_pending_member(member_id) and group_instance_id is None:
            # The second JoinGroup of the MEMBER_ID_REQUIRED round trip: now it is a member.
            self._cancel_pending_expiration(group, member_id)
            member = MemberMetadata(member_id, group.group_id, client_id, client_host, rebalance_timeout_ms,
                                    session_timeout_ms, protocol_type, protocols)
            self._add_member_and_rebalance(group, member, respond)
            return
        if group.is_static_member_fenced(member_id, group_instance_id):
            respond(JoinResult.failed(ErrorCode.FENCED_INSTANCE_ID, member_id))
            return
        if not group.has(member_id) or (group_instance_id is not None and not group.has_static_member(group_instance_id)):
            # Evicted (or bogus) id: the client resets its member id and joins as new.
            respond(JoinResult.failed(ErrorCode.UNKNOWN_MEMBER_ID, member_id))
            return
        member = group.get(member_id)
        state = group.state
        rejoin = (member, protocols, respond, rebalance_timeout_ms, session_timeout_ms)
        if state is State.PREPARING_REBALANCE:
            self._update_member_and_rebalance(group, *rejoin, reason=f"member {member_id} rejoined")
        elif state is State.COMPLETING_REBALANCE:
            if member.matches(protocols):
                # It lost the JoinGroup response: answer with the current generation again.
                respond(self._join_result(group, member_id))
            else:
                self._update_member_and_rebalance(group, *rejoin, reason=f"member {member_id} changed its metadata")
        elif state is State.STABLE:
            if group.is_leader(member_id):
                # The leader rejoins when something only it sees changed (e.g. partitions added to a topic).
                self._update_member_and_rebalance(group, *rejoin, reason=f"leader {member_id} rejoined")
            elif not member.matches(protocols):
                self._update_member_and_rebalance(group, *rejoin, reason=f"member {member_id} changed its metadata")
            else:
                respond(self._join_result(group, member_id, with_members=False))
        else:
            log.warning("rejoining member found group in an unexpected state", group=group.group_id, member=member_id, state=str(state))
            respond(JoinResult.failed(ErrorCode.UNKNOWN_MEMBER_ID, member_id))

    def _join_result(self, group: GroupMetadata, member_id: str, with_members: bool = True) -> JoinResult:
        return JoinResult(
            error=ErrorCode.NONE,
            generation_id=group.generation_id,
            protocol_name=group.protocol_name or "",
            leader_id=group.leader_id or "",
            member_id=member_id,
            members=group.current_member_metadata() if with_members and group.is_leader(member_id) else [],
            protocol_type=group.protocol_type,
        )

    def _add_member_and_rebalance(self, group: GroupMetadata, member: MemberMetadata, respond: Callable[[JoinResult], None]) -> None:
        member.is_new = True
        if group.is_(State.PREPARING_REBALANCE) and group.generation_id == 0:
            group.new_member_added = True
        group.add(member, respond)
        # A new member cannot heartbeat before it has an id; bound its wait instead (Kafka 2.2+).
        self._schedule_expiration(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS)
        log.info("member joined group", group=group.group_id, member=member.member_id, client_id=member.client_id, state=str(group.state))
        self._emit(kinds.GROUP_MEMBER_JOINED, group=group.group_id, member_id=member.member_id, client_id=member.client_id, client_host=member.client_host)
        self._maybe_prepare_rebalance(group, f"adding new member {member.member_id}")

    def _update_member_and_rebalance(
        self,
        group: GroupMetadata,
        member: MemberMetadata,
        protocols: list[tuple[str, bytes]],
        respond: Callable[[JoinResult], None],
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        reason: str,
    ) -> None:
        group.update_member(member, protocols, _chain(member.join_callback, respond), rebalance_timeout_ms, session_timeout_ms)
        self._maybe_prepare_rebalance(group, reason)

    # ================================================================================== rebalance phases

    def _maybe_prepare_rebalance(self, group: GroupMetadata, reason: str) -> None:
        if group.can_rebalance:
            self._prepare_rebalance(group, reason)

    def _prepare_rebalance(self, group: GroupMetadata, reason: str) -> None:
        if group.is_(State.COMPLETING_REBALANCE):
            # Members waiting in SyncGroup must rejoin instead.
            self._reset_and_propagate_assignment_error(group, ErrorCode.REBALANCE_IN_PROGRESS)
        initial = group.is_(State.EMPTY)
        delay = self.config.group_initial_rebalance_delay_ms
        if initial:
            op = _DelayedJoin(group, True, delay, max(group.rebalance_timeout_ms - delay, 0))
        else:
            op = _DelayedJoin(group, False, group.rebalance_timeout_ms)
        group.transition_to(State.PREPARING_REBALANCE)
        log.info(
            "preparing to rebalance group",
            group=group.group_id,
            generation=group.generation_id,
            partition=self.partition_for(group.group_id),
            reason=reason,
        )
        self._arm_join(op)
        if not initial:
            self._try_complete_join(group)

    def _arm_join(self, op: _DelayedJoin) -> None:
        old = self._joins.get(op.group.group_id)
        if old is not None and old.timer is not None:
            old.timer.cancel()
        self._joins[op.group.group_id] = op
        op.timer = self._timers.call_later(op.delay_ms, lambda: self._on_join_timer(op))

    def _on_join_timer(self, op: _DelayedJoin) -> None:
        group = op.group
        if self._joins.get(group.group_id) is not op:
            return
        if op.initial and group.new_member_added and op.remaining_ms != 0:
            group.new_member_added = False
            delay = min(self.config.group_initial_rebalance_delay_ms, op.remaining_ms)
            remaining = max(op.remaining_ms - op.delay_ms, 0)
            self._arm_join(_DelayedJoin(group, True, delay, remaining))
            return
        del self._joins[group.group_id]
        self._on_complete_join(group)

    def _try_complete_join(self, group: GroupMetadata) -> None:
        """End the join phase early once every known member has rejoined (not during the initial delay)."""
        op = self._joins.get(group.group_id)
        if op is None or op.initial or not group.has_all_members_joined:
            return
        if op.timer is not None:
            op.timer.cancel()
        del self._joins[group.group_id]
        self._on_complete_join(group)

    def _on_complete_join(self, group: GroupMetadata) -> None:
        for member in group.not_yet_rejoined_members():
            log.info("member did not rejoin before the rebalance timeout", group=group.group_id, member=member.member_id)
            self._cancel_heartbeat(member, leaving=True)
            group.remove(member.member_id)
            self._emit(kinds.GROUP_MEMBER_REMOVED, group=group.group_id, member_id=member.member_id, reason="rebalance_timeout")
        if group.is_(State.DEAD):
            return
        group.init_next_generation()
        if group.is_(State.EMPTY):
            log.info("group is now empty", group=group.group_id, generation=group.generation_id)
            self._spawn(self._store_empty_group(group), f"store empty group {group.group_id}")
            return
        log.info(
            "stabilized group",
            group=group.group_id,
            generation=group.generation_id,
            protocol=group.protocol_name,
            leader=group.leader_id,
            members=group.size,
        )
        for member in group.members:
            group.maybe_invoke_join_callback(member, self._join_result(group, member.member_id))
            self._schedule_heartbeat_expiration(group, member)
            member.is_new = False

    async def _store_empty_group(self, group: GroupMetadata) -> None:
        error = await self.manager.store_group(group, {})
        if error is not ErrorCode.NONE:
            # Harmless: the previous generation in the log has no live members and will time out.
            log.warning("failed to write empty group metadata", group=group.group_id, error=error.name)

    # ================================================================================== SyncGroup

    async def sync_group(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        assignments: Mapping[str, bytes],
        group_instance_id: str | None = None,
        protocol_type: str | None = None,
        protocol_name: str | None = None,
    ) -> SyncResult:
        """SyncGroup; ``assignments`` (member id → bytes) comes from the leader, empty from followers.

        Completes when the leader's assignment is stored (every member gets its bytes), or at once with an
        error or, for a Stable group, with the member's current assignment. ``protocol_type`` /
        ``protocol_name`` (SyncGroup v5+) must be the group's, else INCONSISTENT_GROUP_PROTOCOL; a successful
        result carries the group's.
        """
        error = self._validate_group_status(group_id, _Api.SYNC_GROUP)
        if error is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
            # The rebalance state was lost with the old coordinator: make the member rejoin.
            return SyncResult(ErrorCode.REBALANCE_IN_PROGRESS)
        if error is not None:
            return SyncResult(error)
        group = self._member_group(group_id, member_id, group_instance_id)
        if isinstance(group, ErrorCode):
            return SyncResult(group)
        if generation_id != group.generation_id:
            return SyncResult(ErrorCode.ILLEGAL_GENERATION)
        if (protocol_type is not None and protocol_type != group.protocol_type) or (
            protocol_name is not None and protocol_name != group.protocol_name
        ):
            return SyncResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        member = group.get(member_id)
        if group.is_(State.EMPTY):
            return SyncResult(ErrorCode.UNKNOWN_MEMBER_ID)
        if group.is_(State.PREPARING_REBALANCE):
            return SyncResult(ErrorCode.REBALANCE_IN_PROGRESS)
        if group.is_(State.STABLE):
            self._schedule_heartbeat_expiration(group, member)
            return SyncResult(ErrorCode.NONE, member.assignment, group.protocol_type, group.protocol_name)

        future: asyncio.Future[SyncResult] = asyncio.get_running_loop().create_future()

        def respond(result: SyncResult) -> None:
            if not future.done():
                future.set_result(result)

        member.sync_callback = _chain(member.sync_callback, respond)
        if group.is_leader(member_id):
            log.info("assignment received from leader", group=group_id, generation=group.generation_id)
            empty = EMPTY_CONSUMER_ASSIGNMENT if group.protocol_type == CONSUMER_PROTOCOL_TYPE else b""
            missing = [m for m in group.member_ids if m not in assignments]
            if missing:
                log.warning("leader left members without an assignment", group=group_id, generation=generation_id, members=missing)
            assignment = {m: bytes(assignments[m]) if m in assignments else empty for m in group.member_ids}
            self._spawn(self._store_assignment(group, generation_id, assignment), f"store assignment of {group_id}")
        return await future

    async def _store_assignment(self, group: GroupMetadata, generation_id: int, assignment: dict[str, bytes]) -> None:
        error = await self.manager.store_group(group, assignment)
        # Another member may have (re)joined while the write was in flight: only finish this generation.
        if not (group.is_(State.COMPLETING_REBALANCE) and group.generation_id == generation_id):
            return
        if error is not ErrorCode.NONE:
            self._reset_and_propagate_assignment_error(group, error)
            self._maybe_prepare_rebalance(group, f"error storing the group assignment: {error.name}")
            return
        for member in group.members:
            member.assignment = assignment.get(member.member_id, b"")
        self._propagate_assignment(group, ErrorCode.NONE)
        group.transition_to(State.STABLE)
        self._emit(
            kinds.GROUP_REBALANCE_COMPLETED,
            group=group.group_id,
            generation=group.generation_id,
            protocol=group.protocol_name,
            leader=group.leader_id,
            members=group.size,
        )

    def _reset_and_propagate_assignment_error(self, group: GroupMetadata, error: ErrorCode) -> None:
        for member in group.members:
            member.assignment = b""
        self._propagate_assignment(group, error)

    def _propagate_assignment(self, group: GroupMetadata, error: ErrorCode) -> None:
        for member in group.members:
            if error is ErrorCode.NONE:
                result = SyncResult(error, member.assignment, group.protocol_type, group.protocol_name)
            else:
                result = SyncResult(error)
            if group.maybe_invoke_sync_callback(member, result):
                # Its session may have "expired" while it waited (waiting counts as alive): restart it.
                self._schedule_heartbeat_expiration(group, member)

    def _member_group(self, group_id: str, member_id: str, group_instance_id: str | None = None) -> GroupMetadata | ErrorCode:
        """The group of a known member, or the error Kafka answers: UNKNOWN_MEMBER_ID (no such group or
        member), COORDINATOR_NOT_AVAILABLE (the group is being removed) or FENCED_INSTANCE_ID (the instance
        id is held by another member id)."""
        group = self.manager.get_group(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.is_(State.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if group.is_static_member_fenced(member_id, group_instance_id):
            return ErrorCode.FENCED_INSTANCE_ID
        if not group.has(member_id):
            return ErrorCode.UNKNOWN_MEMBER_ID
        return group

    # ================================================================================== Heartbeat / LeaveGroup

    def heartbeat(self, group_id: str, member_id: str, generation_id: int, group_instance_id: str | None = None) -> ErrorCode:
        """Heartbeat; returns the error code (NONE, REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, ...)."""
        error = self._validate_group_status(group_id, _Api.HEARTBEAT)
        if error is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
            return ErrorCode.NONE  # the group is loading: answer blindly, as Kafka does
        if error is not None:
            return error
        group = self._member_group(group_id, member_id, group_instance_id)
        if isinstance(group, ErrorCode):
            return group
        if generation_id != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        if group.is_(State.EMPTY):
            return ErrorCode.UNKNOWN_MEMBER_ID
        self._schedule_heartbeat_expiration(group, group.get(member_id))
        if group.is_(State.PREPARING_REBALANCE):
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    def leave_group(self, group_id: str, member_id: str) -> ErrorCode:
        """LeaveGroup v0–v2: remove the member now and rebalance the rest."""
        result = self.leave_group_members(group_id, [(member_id, None)])
        return result.error if result.error is not ErrorCode.NONE else result.members[0][2]

    def leave_group_members(self, group_id: str, members: list[tuple[str, str | None]]) -> LeaveResult:
        """LeaveGroup v3+ (KIP-345 batch leave): remove each (member id, instance id) and rebalance once.

        A member named by instance id alone (member id "", as admin tools send it) is the static member
        holding that id; a member id that does not hold the instance id it names is FENCED_INSTANCE_ID; an
        unknown one UNKNOWN_MEMBER_ID. A group-level error (NOT_COORDINATOR, ...) goes to the top-level code.
        """
        error = self._validate_group_status(group_id, _Api.LEAVE_GROUP)
        if error is not None:
            return LeaveResult(error)
        group = self.manager.get_group(group_id)
        if group is None:
            return LeaveResult(ErrorCode.NONE, [(m, i, ErrorCode.UNKNOWN_MEMBER_ID) for m, i in members])
        if group.is_(State.DEAD):
            return LeaveResult(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        out: list[tuple[str, str | None, ErrorCode]] = []
        for member_id, instance_id in members:
            if member_id != UNKNOWN_MEMBER_ID and group.is_static_member_fenced(member_id, instance_id):
                out.append((member_id, instance_id, ErrorCode.FENCED_INSTANCE_ID))
                continue
            if instance_id is None and group.is_pending_member(member_id):
                self._cancel_pending_expiration(group, member_id)
                group.remove_pending_member(member_id)
                if group.is_(State.PREPARING_REBALANCE):
                    self._try_complete_join(group)
                out.append((member_id, instance_id, ErrorCode.NONE))
                continue
            target = group.static_member_id(instance_id) if instance_id is not None else member_id
            if target is None or not group.has(target):
                out.append((member_id, instance_id, ErrorCode.UNKNOWN_MEMBER_ID))
                continue
            member = group.get(target)
            self._cancel_heartbeat(member, leaving=True)
            log.info("member left group", group=group_id, member=target, instance=instance_id)
            self._remove_member_and_update_group(group, member, "leave_group")
            out.append((member_id, instance_id, ErrorCode.NONE))
        return LeaveResult(ErrorCode.NONE, out)

    # ================================================================================== pending members

    def _schedule_pending_expiration(self, group: GroupMetadata, member_id: str, timeout_ms: int) -> None:
        """A MEMBER_ID_REQUIRED member that never comes back is forgotten after its session timeout."""
        key = (group.group_id, member_id)
        old = self._pending_timers.pop(key, None)
        if old is not None:
            old.cancel()

        def expire() -> None:
            self._pending_timers.pop(key, None)
            if group.remove_pending_member(member_id):
                log.info("pending member did not rejoin", group=group.group_id, member=member_id)
                if group.is_(State.PREPARING_REBALANCE):
                    self._try_complete_join(group)

        self._pending_timers[key] = self._timers.call_later(timeout_ms, expire)

    def _cancel_pending_expiration(self, group: GroupMetadata, member_id: str) -> None:
        handle = self._pending_timers.pop((group.group_id, member_id), None)
        if handle is not None:
            handle.cancel()

    def _remove_member_and_update_group(self, group: GroupMetadata, member: MemberMetadata, reason: str) -> None:
        # A new member may time out while its JoinGroup waits: answer it so the client retries.
        group.maybe_invoke_join_callback(member, JoinResult.failed(ErrorCode.UNKNOWN_MEMBER_ID))
        group.maybe_invoke_sync_callback(member, SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
        self._cancel_heartbeat(member, leaving=True)
        group.remove(member.member_id)
        self._emit(kinds.GROUP_MEMBER_REMOVED, group=group.group_id, member_id=member.member_id, reason=reason)
        if group.state in (State.STABLE, State.COMPLETING_REBALANCE):
            self._maybe_prepare_rebalance(group, f"removing member {member.member_id} ({reason})")
        elif group.is_(State.PREPARING_REBALANCE):
            self._try_complete_join(group)

    # ================================================================================== session timers

    def _schedule_heartbeat_expiration(self, group: GroupMetadata, member: MemberMetadata) -> None:
        self._schedule_expiration(group, member, member.session_timeout_ms)

    def _schedule_expiration(self, group: GroupMetadata, member: MemberMetadata, timeout_ms: int) -> None:
        """Liveness seen now: restart the member's expiry timer (Kafka's completeAndScheduleNextExpiration)."""
        if member.heartbeat_timer is not None:
            member.heartbeat_timer.cancel()
        member.heartbeat_satisfied = False
        member.heartbeat_timer = self._timers.call_later(timeout_ms, lambda: self._on_expire_heartbeat(group, member))

    def _cancel_heartbeat(self, member: MemberMetadata, leaving: bool) -> None:
        member.is_leaving = member.is_leaving or leaving
        if member.heartbeat_timer is not None:
            member.heartbeat_timer.cancel()
            member.heartbeat_timer = None

    def _on_expire_heartbeat(self, group: GroupMetadata, member: MemberMetadata) -> None:
        member.heartbeat_timer = None
        if group.is_(State.DEAD) or member.is_leaving:
            return
        if not group.has(member.member_id) or group.get(member.member_id) is not member:
            return
        if member.has_satisfied_heartbeat():
            return  # waiting in JoinGroup/SyncGroup counts as alive; the phase's end re-arms the timer
        reason = "join_timeout" if member.is_new else "session_timeout"
        log.info("member failed, removing it from the group", group=group.group_id, member=member.member_id, reason=reason)
        self._remove_member_and_update_group(group, member, reason)

    def _cancel_timers(self, group: GroupMetadata) -> None:
        op = self._joins.pop(group.group_id, None)
        if op is not None and op.timer is not None:
            op.timer.cancel()
        for member in group.members:
            self._cancel_heartbeat(member, leaving=False)
        for key in [k for k in self._pending_timers if k[0] == group.group_id]:
            self._pending_timers.pop(key).cancel()

    # ================================================================================== offsets

    async def commit_offsets(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        offsets: Mapping[TopicPartition, tuple[int, str | None]],
        retention_ms: int | None = None,
        group_instance_id: str | None = None,
        leader_epochs: Mapping[TopicPartition, int] | None = None,
    ) -> dict[TopicPartition, ErrorCode]:
        """OffsetCommit v1+ (Kafka storage). ``offsets`` maps partition → (offset, metadata or None).

        ``generation_id`` -1 with member "" is a standalone consumer (no group management). ``retention_ms``
        is OffsetCommit v2–v4's retention time (None or -1 = broker default); when given, the offset
        expires that long after the commit regardless of the group's state (written as value v1).
        """
        error = self._validate_group_status(group_id, _Api.OFFSET_COMMIT)
        if error is not None:
            return {tp: error for tp in offsets}
        now = self._clock.time_ms()
        expire = None if retention_ms is None or retention_ms == NO_RETENTION else now + retention_ms
        epochs = leader_epochs or {}
        values = {
            tp: OffsetAndMetadata(offset, metadata or "", now, expire, epochs.get(tp, NO_LEADER_EPOCH))
            for tp, (offset, metadata) in offsets.items()
        }
        group = self.manager.get_group(group_id)
        if group is None:
            if generation_id >= 0:
                # A commit from a generation this coordinator never saw: reject it.
                return {tp: ErrorCode.ILLEGAL_GENERATION for tp in offsets}
            group = self.manager.add_group(self._new_group(group_id, State.EMPTY))
        return await self._do_commit_offsets(group, member_id, generation_id, values, group_instance_id)

    async def _do_commit_offsets(
        self,
        group: GroupMetadata,
        member_id: str,
        generation_id: int,
        values: dict[TopicPartition, OffsetAndMetadata],
        group_instance_id: str | None = None,
    ) -> dict[TopicPartition, ErrorCode]:
        def every(code: ErrorCode) -> dict[TopicPartition, ErrorCode]:
            return {tp: code for tp in values}

        if group.is_(State.DEAD):
            return every(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if generation_id < 0 and group.is_(State.EMPTY):
            return await self.manager.store_offsets(group, member_id, values)  # offsets-only group
        if group.is_static_member_fenced(member_id, group_instance_id):
            return every(ErrorCode.FENCED_INSTANCE_ID)
        if not group.has(member_id):
            return every(ErrorCode.UNKNOWN_MEMBER_ID)
        if generation_id != group.generation_id:
            return every(ErrorCode.ILLEGAL_GENERATION)
        if group.is_(State.COMPLETING_REBALANCE):
            # It knows the new generation but has no assignment yet: it should not be committing.
            return every(ErrorCode.REBALANCE_IN_PROGRESS)
        # Stable, or PreparingRebalance (commits of the previous generation are still accepted so members
        # can commit before they rejoin; the heartbeat tells them about the rebalance).
        self._schedule_heartbeat_expiration(group, group.get(member_id))
        return await self.manager.store_offsets(group, member_id, values)

    def fetch_offsets(self, group_id: str, partitions: Iterable[TopicPartition] | None) -> dict[TopicPartition, OffsetFetchEntry]:
        """OffsetFetch: committed offset per partition (-1, "" when none); ``None`` = all the group has.

        Raises KafkaError with the group-level error (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
        COORDINATOR_NOT_AVAILABLE, INVALID_GROUP_ID): OffsetFetch v2+ puts it in the top-level error field,
        v1 in every partition.
        """
        error = self._validate_group_status(group_id, _Api.OFFSET_FETCH)
        if error is not None:
            raise KafkaError(error, f"cannot fetch offsets of group {group_id!r}")
        return self.manager.get_offsets(group_id, None if partitions is None else list(partitions))

    async def expire_offsets(self) -> int:
        """One offset-retention pass now (normally run every ``offsets.retention.check.interval.ms``)."""
        now = self._clock.time_ms()
        retention = self.config.offsets_retention_ms
        removed = await self.manager.cleanup_group_metadata(self.manager.current_groups(), lambda g: g.remove_expired_offsets(now, retention))
        if removed:
            log.info("expired offsets", count=removed)
        return removed

    async def on_partitions_deleted(self, partitions: Iterable[TopicPartition]) -> int:
        """Topic partitions were deleted: drop (and tombstone) every group's offsets for them."""
        tps = list(partitions)
        return await self.manager.cleanup_group_metadata(self.manager.current_groups(), lambda g: g.remove_offsets(tps))

    def _schedule_retention(self) -> None:
        def run() -> None:
            if not self._active:
                return
            self._spawn(self.expire_offsets(), "offset retention pass")
            self._schedule_retention()

        self._retention_timer = self._timers.call_later(self.config.offsets_retention_check_interval_ms, run)

    # ================================================================================== admin

    def list_groups(self) -> ListGroupsResult:
        """ListGroups: every cached group (COORDINATOR_LOAD_IN_PROGRESS as the error while loading)."""
        if not self._active:
            return ListGroupsResult(ErrorCode.COORDINATOR_NOT_AVAILABLE, [])
        error = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS if self.manager.is_loading else ErrorCode.NONE
        return ListGroupsResult(error, [g.overview() for g in self.manager.current_groups()])

    def describe_groups(self, group_ids: Iterable[str]) -> list[GroupSummary]:
        """DescribeGroups: an unknown group is reported Dead with error NONE, as Kafka does."""
        out = []
        for group_id in group_ids:
            error = self._validate_group_status(group_id, _Api.DESCRIBE_GROUPS)
            group = None if error is not None else self.manager.get_group(group_id)
            if error is not None:
                out.append(GroupSummary(group_id, error, "", "", ""))
            elif group is None:
                out.append(GroupSummary(group_id, ErrorCode.NONE, State.DEAD.value, "", ""))
            else:
                out.append(group.summary())
        return out

    async def delete_groups(self, group_ids: Iterable[str]) -> dict[str, ErrorCode]:
        """DeleteGroups: only Empty groups can go (NON_EMPTY_GROUP otherwise); offsets are tombstoned."""
        errors: dict[str, ErrorCode] = {}
        eligible: list[GroupMetadata] = []
        for group_id in group_ids:
            error = self._validate_group_status(group_id, _Api.DELETE_GROUPS)
            group = None if error is not None else self.manager.get_group(group_id)
            if error is not None:
                errors[group_id] = error
            elif group is None or group.is_(State.DEAD):
                errors[group_id] = ErrorCode.GROUP_ID_NOT_FOUND if self.manager.group_not_exists(group_id) else ErrorCode.NOT_COORDINATOR
            elif group.is_(State.EMPTY):
                group.transition_to(State.DEAD)
                eligible.append(group)
            else:
                errors[group_id] = ErrorCode.NON_EMPTY_GROUP
        if eligible:
            removed = await self.manager.cleanup_group_metadata(eligible, lambda g: g.remove_all_offsets())
            errors.update({g.group_id: ErrorCode.NONE for g in eligible})
            log.info("deleted groups", groups=[g.group_id for g in eligible], offsets=removed)
        return errors

    async def delete_offsets(
        self, group_id: str, partitions: Iterable[TopicPartition]
    ) -> tuple[ErrorCode, dict[TopicPartition, ErrorCode]]:
        """OffsetDelete (KIP-496): drop a group's committed offsets (tombstones in ``__consumer_offsets``).

        An Empty group loses them all; a consumer group with members only those of topics none of its
        members subscribes to (GROUP_SUBSCRIBED_TO_TOPIC for the others); any other group with members is
        NON_EMPTY_GROUP. Returns (group error, per-partition errors); with a group error there are none.
        """
        tps = list(dict.fromkeys(partitions))
        error = self._validate_group_status(group_id, _Api.OFFSET_DELETE)
        if error is not None:
            return error, {}
        group = self.manager.get_group(group_id)
        if group is None or group.is_(State.DEAD):
            return (ErrorCode.GROUP_ID_NOT_FOUND if self.manager.group_not_exists(group_id) else ErrorCode.NOT_COORDINATOR), {}
        errors: dict[TopicPartition, ErrorCode] = {}
        if group.is_(State.EMPTY):
            eligible = tps
        elif group.protocol_type == CONSUMER_PROTOCOL_TYPE:
            subscribed = group.subscribed_topics() or set()
            eligible = [tp for tp in tps if tp.topic not in subscribed]
            errors.update({tp: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC for tp in tps if tp.topic in subscribed})
        else:
            return ErrorCode.NON_EMPTY_GROUP, {}
        if eligible:
            removed = await self.manager.cleanup_group_metadata([group], lambda g: g.remove_offsets(eligible))
            errors.update({tp: ErrorCode.NONE for tp in eligible})
            log.info("deleted offsets", group=group_id, partitions=len(eligible), offsets=removed)
            self._emit(kinds.GROUP_OFFSETS_DELETED, group=group_id, partitions=[str(tp) for tp in eligible])
        return ErrorCode.NONE, {tp: errors[tp] for tp in tps}

    # ================================================================================== plumbing

    def _validate_group_status(self, group_id: str, api: _Api) -> ErrorCode | None:
        if group_id is None or (group_id == "" and api not in _EMPTY_ID_ALLOWED):
            return ErrorCode.INVALID_GROUP_ID
        if not self._active:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if self.manager.is_group_loading(group_id):
            return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        if not self.manager.is_group_local(group_id):
            return ErrorCode.NOT_COORDINATOR
        return None

    def _new_group(self, group_id: str, state: GroupState) -> GroupMetadata:
        return GroupMetadata(group_id, self._clock, state, on_transition=self._on_transition)

    def _on_transition(self, group: GroupMetadata, previous: GroupState, target: GroupState) -> None:
        log.debug("group state change", group=group.group_id, from_state=str(previous), to_state=str(target), generation=group.generation_id)
        self._emit(kinds.GROUP_STATE, group=group.group_id, **{"from": previous.value, "to": target.value}, generation=group.generation_id)

    def _emit(self, kind: str, **fields: Any) -> None:
        if self._events is not None:
            self._events.emit(kind, **fields)

    def _spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=what)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(t, what))

    def _task_done(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("coordinator background task failed", task=what, exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for background writes (assignment stores, retention passes) started so far — for tests/tools."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _chain(first: Callable[[Any], None] | None, second: Callable[[Any], None]) -> Callable[[Any], None]:
    """A callback answering both: a repeated JoinGroup/SyncGroup replaces the waiting one, and the stale
    request still gets the (same) answer instead of hanging its connection."""
    if first is None:
        return second

    def both(result: Any) -> None:
        first(result)
        second(result)

    return both
