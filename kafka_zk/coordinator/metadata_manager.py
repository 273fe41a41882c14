"""The group cache and its ``__consumer_offsets`` persistence (Kafka's ``GroupMetadataManager``).

Ownership: a broker serves the groups of the offsets partitions it leads. When it becomes leader of
partition *p* (:meth:`GroupMetadataManager.begin_loading` then :meth:`load_groups_and_offsets`), *p* is
"loading" — every group of *p* answers COORDINATOR_LOAD_IN_PROGRESS — until the partition has been read
from the start: the last GroupMetadataValue per group and the last OffsetCommitValue per (group, topic,
partition) win, tombstones delete. Groups with members come back Stable (their members must heartbeat within
their session timeout or are expired, which triggers a rebalance); offsets without group metadata come back
as an Empty group with no protocol type (a "standalone" group that only stores offsets). When leadership
moves away (:meth:`remove_groups_for_partition`), the groups of *p* are dropped from the cache and the
coordinator answers NOT_COORDINATOR for them.

Writes: after each completed SyncGroup (and when a group becomes Empty) the coordinator stores the group's
metadata with every member's assignment; each offset commit stores one record per partition. Offsets enter
the cache only once their record is in the log ("pending" until then). Failed appends are mapped to the
errors clients understand, as Kafka does:

* UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS(_AFTER_APPEND) → COORDINATOR_NOT_AVAILABLE (both);
* NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR → NOT_COORDINATOR (both);
* REQUEST_TIMED_OUT → REBALANCE_IN_PROGRESS for SyncGroup (the members rejoin), unchanged for OffsetCommit;
* MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_FETCH_SIZE → UNKNOWN_SERVER_ERROR for SyncGroup,
  INVALID_COMMIT_OFFSET_SIZE for OffsetCommit;
* anything else unchanged.

Cleanup: expired or deleted offsets get tombstones; an Empty group without offsets becomes Dead, leaves the
cache and — if it ever had a generation — gets a group-metadata tombstone, so compaction forgets it.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Iterable, Mapping

from kafka_zk.common.clock import Clock
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator import offsets_codec as codec
from kafka_zk.coordinator.config import GroupCoordinatorConfig
from kafka_zk.coordinator.group import CommitRecord, GroupMetadata, GroupState, MemberMetadata, OffsetAndMetadata
from kafka_zk.coordinator.log_port import OffsetsLog, Record
from kafka_zk.coordinator.partitioning import partition_for
from kafka_zk.coordinator.results import INVALID_OFFSET, OffsetFetchEntry

log = get_logger(__name__)

GROUP_METADATA_TOPIC_NAME = "__consumer_offsets"
LOAD_YIELD_EVERY = 2000  # records read between yields to the event loop while loading

GroupFactory = Callable[[str, GroupState], GroupMetadata]

_STORE_GROUP_ERRORS = {
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_COORDINATOR,
    ErrorCode.KAFKA_STORAGE_ERROR: ErrorCode.NOT_COORDINATOR,
    ErrorCode.REQUEST_TIMED_OUT: ErrorCode.REBALANCE_IN_PROGRESS,
    ErrorCode.MESSAGE_TOO_LARGE: ErrorCode.UNKNOWN_SERVER_ERROR,
    ErrorCode.RECORD_LIST_TOO_LARGE: ErrorCode.UNKNOWN_SERVER_ERROR,
    ErrorCode.INVALID_FETCH_SIZE: ErrorCode.UNKNOWN_SERVER_ERROR,
}

_STORE_OFFSETS_ERRORS = {
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_COORDINATOR,
    ErrorCode.KAFKA_STORAGE_ERROR: ErrorCode.NOT_COORDINATOR,
    ErrorCode.MESSAGE_TOO_LARGE: ErrorCode.INVALID_COMMIT_OFFSET_SIZE,
    ErrorCode.RECORD_LIST_TOO_LARGE: ErrorCode.INVALID_COMMIT_OFFSET_SIZE,
    ErrorCode.INVALID_FETCH_SIZE: ErrorCode.INVALID_COMMIT_OFFSET_SIZE,
}


def store_group_error(code: ErrorCode) -> ErrorCode:
    """The SyncGroup error for a failed group-metadata append."""
    return _STORE_GROUP_ERRORS.get(code, code)


def store_offsets_error(code: ErrorCode) -> ErrorCode:
    """The OffsetCommit error for a failed offset-commit append."""
    return _STORE_OFFSETS_ERRORS.get(code, code)


class GroupMetadataManager:
    """Cache of this broker's groups, ownership of offsets partitions, and the reads/writes of their records."""

    def __init__(
        self,
        config: GroupCoordinatorConfig,
        offsets_log: OffsetsLog,
        clock: Clock,
        group_factory: GroupFactory,
        num_partitions: int | None = None,
    ) -> None:
        self.config = config
        self._log = offsets_log
        self._clock = clock
        self._new_group = group_factory
        # Kafka uses the partition count of the existing topic when there is one, else the config.
        self.num_partitions = num_partitions or config.offsets_topic_num_partitions
        self._groups: dict[str, GroupMetadata] = {}
        self.owned_partitions: set[int] = set()
        self.loading_partitions: set[int] = set()
        self._append_seq = 0

    # ------------------------------------------------------------------------------------------ ownership

    def partition_for(self, group_id: str) -> int:
        return partition_for(group_id, self.num_partitions)

    def is_partition_owned(self, partition: int) -> bool:
        return partition in self.owned_partitions

    def is_group_local(self, group_id: str) -> bool:
        return self.partition_for(group_id) in self.owned_partitions

    def is_group_loading(self, group_id: str) -> bool:
        return self.partition_for(group_id) in self.loading_partitions

    @property
    def is_loading(self) -> bool:
        return bool(self.loading_partitions)

    def group_not_exists(self, group_id: str) -> bool:
        """True iff we own the group's partition and the group is absent or Dead (GROUP_ID_NOT_FOUND)."""
        if not self.is_group_local(group_id):
            return False
        group = self._groups.get(group_id)
        return group is None or group.is_(GroupState.DEAD)

    # ------------------------------------------------------------------------------------------ cache

    def get_group(self, group_id: str) -> GroupMetadata | None:
        return self._groups.get(group_id)

    def get_or_create_group(self, group_id: str, create: bool) -> GroupMetadata | None:
        group = self._groups.get(group_id)
        if group is None and create:
            group = self._groups[group_id] = self._new_group(group_id, GroupState.EMPTY)
        return group

    def add_group(self, group: GroupMetadata) -> GroupMetadata:
        """Cache ``group`` unless one with its id is cached already; returns the cached one."""
        return self._groups.setdefault(group.group_id, group)

    def remove_group(self, group: GroupMetadata) -> bool:
        if self._groups.get(group.group_id) is group:
            del self._groups[group.group_id]
            return True
        return False

    def current_groups(self) -> list[GroupMetadata]:
        return list(self._groups.values())

    def _next_seq(self) -> int:
        self._append_seq += 1
        return self._append_seq

    # ------------------------------------------------------------------------------------------ writes

    async def store_group(self, group: GroupMetadata, assignment: Mapping[str, bytes]) -> ErrorCode:
        """Write the group's metadata with ``assignment`` (member id → bytes); returns the SyncGroup error."""
        partition = self.partition_for(group.group_id)
        if not self.is_partition_owned(partition):
            return ErrorCode.NOT_COORDINATOR
        record = (codec.encode_group_metadata_key(group.group_id), self.group_metadata_value(group, assignment))
        try:
            await self._log.append(partition, [record])
        except KafkaError as e:
            mapped = store_group_error(e.code)
            log.warning(
                "storing group metadata failed", group=group.group_id, generation=group.generation_id, error=e.code.name, answered=mapped.name
            )
            return mapped
        except Exception:
            log.exception("storing group metadata failed", group=group.group_id, generation=group.generation_id)
            return ErrorCode.UNKNOWN_SERVER_ERROR
        return ErrorCode.NONE

    def group_metadata_value(self, group: GroupMetadata, assignment: Mapping[str, bytes]) -> bytes:
        protocol = group.protocol_name
        members = [
            codec.MemberEntry(
                member_id=m.member_id,
                client_id=m.client_id,
                client_host=m.client_host,
                rebalance_timeout=m.rebalance_timeout_ms,
                session_timeout=m.session_timeout_ms,
                subscription=m.metadata(protocol) if protocol is not None else b"",
                assignment=assignment.get(m.member_id, b""),
                group_instance_id=m.group_instance_id,
            )
            for m in group.members
        ]
        value = codec.GroupMetadataValue(
            protocol_type=group.protocol_type or "",
            generation=group.generation_id,
            protocol=protocol,
            leader=group.leader_id,
            current_state_timestamp=-1 if group.current_state_timestamp is None else group.current_state_timestamp,
            members=members,
        )
        return codec.encode_group_metadata_value(value)

    async def store_offsets(
        self, group: GroupMetadata, member_id: str, offsets: Mapping[TopicPartition, OffsetAndMetadata]
    ) -> dict[TopicPartition, ErrorCode]:
        """Write one record per partition; cache them once appended. Returns the per-partition error."""
        max_len = self.config.offset_metadata_max_bytes
        too_large = {tp for tp, v in offsets.items() if len(v.metadata) > max_len}
        to_store = {tp: v for tp, v in offsets.items() if tp not in too_large}
        result = {tp: ErrorCode.OFFSET_METADATA_TOO_LARGE for tp in too_large}
        if not to_store:
            return result
        partition = self.partition_for(group.group_id)
        if not self.is_partition_owned(partition):
            result.update({tp: ErrorCode.NOT_COORDINATOR for tp in to_store})
            return result
        records: list[Record] = [
            (codec.encode_offset_commit_key(group.group_id, tp), codec.encode_offset_commit_value(v)) for tp, v in to_store.items()
        ]
        group.prepare_offset_commit(to_store)
        seq = self._next_seq()
        error = ErrorCode.NONE
        try:
            await self._log.append(partition, records)
        except KafkaError as e:
            error = store_offsets_error(e.code)
            log.debug("offset commit append failed", group=group.group_id, member=member_id, error=e.code.name, answered=error.name)
        except Exception:
            log.exception("offset commit append failed", group=group.group_id, member=member_id)
            error = ErrorCode.UNKNOWN_SERVER_ERROR
        if not group.is_(GroupState.DEAD):
            for tp, v in to_store.items():
                if error is ErrorCode.NONE:
                    group.on_offset_commit_append(tp, CommitRecord(seq, v))
                else:
                    group.fail_pending_offset_write(tp, v)
        result.update({tp: error for tp in to_store})
        return result

    # ------------------------------------------------------------------------------------------ reads

    def get_offsets(self, group_id: str, partitions: Iterable[TopicPartition] | None) -> dict[TopicPartition, OffsetFetchEntry]:
        """Committed offsets (``None`` = all the group has); never a stale one — only what is in the log."""
        group = self._groups.get(group_id)
        if group is None or group.is_(GroupState.DEAD):
            return {tp: OffsetFetchEntry(INVALID_OFFSET, "", ErrorCode.NONE) for tp in (partitions or ())}
        wanted = list(group.all_offsets()) if partitions is None else list(partitions)
        out = {}
        for tp in wanted:
            v = group.offset(tp)
            out[tp] = (
                OffsetFetchEntry(INVALID_OFFSET, "", ErrorCode.NONE)
                if v is None
                else OffsetFetchEntry(v.offset, v.metadata, ErrorCode.NONE, v.leader_epoch)
            )
        return out

    # ------------------------------------------------------------------------------------------ loading

    def begin_loading(self, partition: int) -> bool:
        """Mark ``partition`` loading; False if it already is (Kafka's ``addLoadingPartition``)."""
        if partition in self.loading_partitions:
            return False
        self.loading_partitions.add(partition)
        return True

    def finish_loading(self, partition: int, owned: bool) -> None:
        self.loading_partitions.discard(partition)
        if owned:
            self.owned_partitions.add(partition)

    async def load_groups_and_offsets(self, partition: int, on_group_loaded: Callable[[GroupMetadata], None]) -> None:
        """Read ``partition`` and cache its groups and offsets. Undecodable records are logged and skipped."""
        started = self._clock.monotonic_ms()
        offsets: dict[tuple[str, TopicPartition], CommitRecord] = {}
        groups: dict[str, codec.GroupMetadataValue] = {}
        removed_groups: set[str] = set()
        count = skipped = 0
        for key_bytes, value_bytes in self._log.read(partition):
            count += 1
            if count % LOAD_YIELD_EVERY == 0:
                await asyncio.sleep(0)
            try:
                key = codec.decode_key(key_bytes)
                if isinstance(key, codec.OffsetCommitKey):
                    gtp = (key.group, key.topic_partition)
                    if value_bytes is None:
                        offsets.pop(gtp, None)
                    else:
                        offsets[gtp] = CommitRecord(self._next_seq(), codec.decode_offset_commit_value(value_bytes))
                elif value_bytes is None:
                    groups.pop(key.group, None)
                    removed_groups.add(key.group)
                else:
                    groups[key.group] = codec.decode_group_metadata_value(value_bytes)
                    removed_groups.discard(key.group)
            except codec.OffsetsRecordError as e:
                skipped += 1
                log.error("skipping undecodable __consumer_offsets record", partition=partition, record_index=count - 1, reason=str(e))

        by_group: dict[str, dict[TopicPartition, CommitRecord]] = {}
        for (group_id, tp), record in offsets.items():
            by_group.setdefault(group_id, {})[tp] = record

        loaded = 0
        for group_id, value in groups.items():
            group = self._group_from_value(group_id, value)
            group.initialize_offsets(by_group.pop(group_id, {}))
            if self.add_group(group) is group:
                on_group_loaded(group)
                loaded += 1
        for group_id, group_offsets in by_group.items():
            # Offsets without group metadata: a standalone group, or one whose metadata was tombstoned.
            group = self._new_group(group_id, GroupState.EMPTY)
            group.initialize_offsets(group_offsets)
            if self.add_group(group) is group:
                on_group_loaded(group)
                loaded += 1
        for group_id in removed_groups:
            if group_id in self._groups and group_id not in by_group:
                log.warning("group tombstoned in the log is still cached", group=group_id, partition=partition)
        log.info(
            "loaded offsets and group metadata",
            partition=f"{GROUP_METADATA_TOPIC_NAME}-{partition}",
            records=count,
            skipped=skipped,
            groups=loaded,
            offsets=len(offsets),
            ms=self._clock.monotonic_ms() - started,
        )

    def _group_from_value(self, group_id: str, value: codec.GroupMetadataValue) -> GroupMetadata:
        members = value.members
        if members and value.protocol is None:
            log.error("group metadata has members but no protocol; loading it without members", group=group_id)
            members = []
        group = self._new_group(group_id, GroupState.STABLE if members else GroupState.EMPTY)
        on_transition, group.on_transition = group.on_transition, None  # loading is not a state change
        for entry in members:
            assert value.protocol is not None
            member = MemberMetadata(
                member_id=entry.member_id,
                group_id=group_id,
                client_id=entry.client_id,
                client_host=entry.client_host,
                rebalance_timeout_ms=entry.rebalance_timeout,
                session_timeout_ms=entry.session_timeout,
                protocol_type=value.protocol_type,
                supported_protocols=[(value.protocol, entry.subscription)],
                assignment=entry.assignment,
                group_instance_id=entry.group_instance_id,
            )
            group.add(member)
        group.leader_id = value.leader if value.leader in group.member_ids else (group.member_ids[0] if members else None)
        group.generation_id = value.generation
        group.protocol_type = value.protocol_type or None
        group.protocol_name = value.protocol
        group.current_state_timestamp = None if value.current_state_timestamp == -1 else value.current_state_timestamp
        group.on_transition = on_transition
        return group

    def remove_groups_for_partition(self, partition: int, on_group_unloaded: Callable[[GroupMetadata], None]) -> None:
        """Stop serving ``partition``: unload its groups from the cache (Kafka's ``removeGroupsForPartition``)."""
        self.owned_partitions.discard(partition)
        self.loading_partitions.discard(partition)
        groups = offsets = 0
        for group in list(self._groups.values()):
            if self.partition_for(group.group_id) == partition:
                on_group_unloaded(group)
                self.remove_group(group)
                groups += 1
                offsets += group.num_offsets
        log.info("unloaded offsets and group metadata", partition=f"{GROUP_METADATA_TOPIC_NAME}-{partition}", groups=groups, offsets=offsets)

    # ------------------------------------------------------------------------------------------ cleanup

    async def cleanup_group_metadata(
        self, groups: Iterable[GroupMetadata], selector: Callable[[GroupMetadata], Mapping[TopicPartition, OffsetAndMetadata]]
    ) -> int:
        """Remove offsets chosen by ``selector`` (expired, deleted), retire empty groups; returns offsets removed.

        Tombstones are best effort (as in Kafka): a lost one is written again by the next pass.
        """
        removed_total = 0
        now = self._clock.time_ms()
        for group in list(groups):
            removed = selector(group)
            if group.is_(GroupState.EMPTY) and not group.has_offsets:
                log.info("group transitioned to Dead", group=group.group_id, generation=group.generation_id)
                group.transition_to(GroupState.DEAD)
            is_dead = group.is_(GroupState.DEAD)
            partition = self.partition_for(group.group_id)
            tombstones: list[Record] = [(codec.encode_offset_commit_key(group.group_id, tp), None) for tp in removed]
            # A group that never had a generation only stored offsets: it has no metadata record to delete.
            if is_dead and self.remove_group(group) and group.generation_id > 0:
                tombstones.append((codec.encode_group_metadata_key(group.group_id), None))
            if not tombstones or not self.is_partition_owned(partition):
                continue
            try:
                await self._log.append(partition, tombstones)
                removed_total += len(removed)
            except Exception as e:
                log.error("appending tombstones failed", group=group.group_id, tombstones=len(tombstones), reason=str(e))
        if removed_total:
            log.info("removed offsets", count=removed_total, ms=self._clock.time_ms() - now)
        return removed_total
