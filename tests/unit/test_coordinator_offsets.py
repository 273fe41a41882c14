"""Committed offsets through the coordinator: commit/fetch, persistence in __consumer_offsets, loading after
a leadership move, retention, and the admin operations (list, describe, delete)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator import GroupState
from kafka_zk.coordinator import offsets_codec as codec
from kafka_zk.coordinator.testing import CoordinatorHarness, async_test


E = ErrorCode
T0, T1, T2 = TopicPartition("orders", 0), TopicPartition("orders", 1), TopicPartition("orders", 2)
DAY_MS = 24 * 3600 * 1000


def records(h: CoordinatorHarness, group: str = "g") -> list[tuple[object, bytes | None]]:
    return [(codec.decode_key(k), v) for k, v in h.log.read(h.coordinator.partition_for(group))]


# ------------------------------------------------------------------------------------------------ commit / fetch


@async_test
async def test_commit_and_fetch_round_trip_metadata_and_minus_one_for_uncommitted() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    _, follower = await h.stable_group(2)
    result = await c.commit_offsets("g", 1, follower, {T0: (42, "checkpoint-a"), T1: (7, None)})
    assert result == {T0: E.NONE, T1: E.NONE}
    fetched = c.fetch_offsets("g", [T0, T1, T2])
    assert fetched == {T0: (42, "checkpoint-a", E.NONE, -1), T1: (7, "", E.NONE, -1), T2: (-1, "", E.NONE, -1)}
    assert c.fetch_offsets("g", None) == {T0: (42, "checkpoint-a", E.NONE, -1), T1: (7, "", E.NONE, -1)}
    assert c.fetch_offsets("unknown-group", [T0]) == {T0: (-1, "", E.NONE, -1)}
    # each partition is one record with Kafka's key and a v3 value
    (key, value) = [(k, v) for k, v in records(h) if isinstance(k, codec.OffsetCommitKey)][0]
    assert key == codec.OffsetCommitKey("g", "orders", 0) and value is not None
    decoded = codec.decode_offset_commit_value(value)
    assert (decoded.offset, decoded.metadata, decoded.commit_timestamp) == (42, "checkpoint-a", h.clock.time_ms())
    assert value[:2] == b"\x00\x03"


@async_test
async def test_later_commit_wins() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    (member,) = await h.stable_group(1)
    await c.commit_offsets("g", 1, member, {T0: (1, "")})
    await c.commit_offsets("g", 1, member, {T0: (2, "")})
    assert c.fetch_offsets("g", [T0])[T0].offset == 2


@async_test
async def test_standalone_consumer_commits_without_a_generation() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    assert await c.commit_offsets("simple", -1, "", {T0: (10, "x")}) == {T0: E.NONE}
    assert c.fetch_offsets("simple", [T0])[T0] == (10, "x", E.NONE, -1)
    g = c.manager.get_group("simple")
    assert g is not None and g.state is GroupState.EMPTY and g.protocol_type is None
    # a generation the coordinator never saw is rejected
    assert await c.commit_offsets("other", 3, "m", {T0: (1, "")}) == {T0: E.ILLEGAL_GENERATION}


@async_test
async def test_commit_rules_follow_the_group_state() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    joined = await h.form_group(2)
    follower = joined[1].member_id
    # CompletingRebalance: members have the new generation but no assignment yet
    assert await c.commit_offsets("g", 1, follower, {T0: (1, "")}) == {T0: E.REBALANCE_IN_PROGRESS}
    await h.sync_all(joined)
    late = h.join(client_id="late")
    await h.settle()
    assert h.state() is GroupState.PREPARING_REBALANCE
    # PreparingRebalance: the previous generation may still commit what it processed
    assert await c.commit_offsets("g", 1, follower, {T0: (5, "")}) == {T0: E.NONE}
    assert await c.commit_offsets("g", 1, "stranger", {T0: (6, "")}) == {T0: E.UNKNOWN_MEMBER_ID}
    assert c.fetch_offsets("g", [T0])[T0].offset == 5
    late.cancel()


@async_test
async def test_oversized_metadata_is_rejected_per_partition() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    (member,) = await h.stable_group(1)
    result = await c.commit_offsets("g", 1, member, {T0: (1, "x" * 4097), T1: (2, "x" * 4096)})
    assert result == {T0: E.OFFSET_METADATA_TOO_LARGE, T1: E.NONE}
    assert c.fetch_offsets("g", [T0, T1]) == {T0: (-1, "", E.NONE, -1), T1: (2, "x" * 4096, E.NONE, -1)}


@pytest.mark.parametrize(
    "log_error,answer",
    [
        (E.NOT_ENOUGH_REPLICAS, E.COORDINATOR_NOT_AVAILABLE),
        (E.NOT_ENOUGH_REPLICAS_AFTER_APPEND, E.COORDINATOR_NOT_AVAILABLE),
        (E.NOT_LEADER_OR_FOLLOWER, E.NOT_COORDINATOR),
        (E.MESSAGE_TOO_LARGE, E.INVALID_COMMIT_OFFSET_SIZE),
        (E.REQUEST_TIMED_OUT, E.REQUEST_TIMED_OUT),
    ],
)
def test_failed_commit_appends_are_mapped_like_kafka_and_not_cached(log_error: ErrorCode, answer: ErrorCode) -> None:
    @async_test
    async def scenario() -> None:
        h = await CoordinatorHarness.started()
        c = h.coordinator
        (member,) = await h.stable_group(1)
        h.log.fail_with = log_error
        assert await c.commit_offsets("g", 1, member, {T0: (9, "")}) == {T0: answer}
        assert c.fetch_offsets("g", [T0])[T0].offset == -1
        h.log.fail_with = None
        assert await c.commit_offsets("g", 1, member, {T0: (9, "")}) == {T0: E.NONE}

    scenario()


@async_test
async def test_failed_assignment_write_answers_the_mapped_error_and_rebalances() -> None:
    h = await CoordinatorHarness.started()
    joined = await h.form_group(2)
    h.log.fail_with = E.REQUEST_TIMED_OUT
    synced = await h.sync_all(joined)
    assert {r.error for r in synced.values()} == {E.REBALANCE_IN_PROGRESS}
    assert h.state() is GroupState.PREPARING_REBALANCE


def test_fetch_raises_the_group_level_error() -> None:
    async def scenario() -> None:
        h = CoordinatorHarness()
        h.coordinator.startup()
        with pytest.raises(KafkaError) as info:
            h.coordinator.fetch_offsets("g", [T0])
        assert info.value.code is E.NOT_COORDINATOR

    asyncio.run(scenario())


# ------------------------------------------------------------------------------------------------ leadership moves


@async_test
async def test_new_coordinator_loads_groups_and_offsets_from_the_log() -> None:
    old = await CoordinatorHarness.started()
    members = await old.stable_group(2)
    await old.coordinator.commit_offsets("g", 1, members[0], {T0: (100, "m0"), T1: (200, "m1")})
    await old.coordinator.commit_offsets("standalone", -1, "", {T2: (5, "")})
    partition = old.coordinator.partition_for("g")

    # The broker holding the partition dies; another broker (same replicated log) becomes its leader.
    old.coordinator.on_resigned(partition)
    assert old.coordinator.heartbeat("g", members[0], 1) is E.NOT_COORDINATOR
    new = CoordinatorHarness(log=old.log, clock=old.clock)
    new.coordinator.startup()
    await new.coordinator.on_became_leader(partition)
    if new.coordinator.partition_for("standalone") != partition:
        await new.coordinator.on_became_leader(new.coordinator.partition_for("standalone"))

    c = new.coordinator
    g = c.manager.get_group("g")
    assert g is not None
    assert (g.state, g.generation_id, g.protocol_name, g.leader_id, g.member_ids) == (GroupState.STABLE, 1, "range", members[0], members)
    assert [m.assignment for m in g.members] == [m.encode() for m in members]
    assert c.fetch_offsets("g", [T0, T1]) == {T0: (100, "m0", E.NONE, -1), T1: (200, "m1", E.NONE, -1)}
    assert c.fetch_offsets("standalone", [T2]) == {T2: (5, "", E.NONE, -1)}
    # members carry on with their generation; one that stays silent is expired after its session timeout
    assert (await c.sync_group("g", 1, members[1], {})).assignment == members[1].encode()
    for _ in range(3):
        new.advance(3000)
        assert c.heartbeat("g", members[0], 1) is E.NONE
    new.advance(1000)
    assert c.heartbeat("g", members[1], 1) is E.UNKNOWN_MEMBER_ID
    assert c.heartbeat("g", members[0], 1) is E.REBALANCE_IN_PROGRESS
    assert g.state is GroupState.PREPARING_REBALANCE


@async_test
async def test_loading_keeps_the_last_record_per_key_and_honours_tombstones() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    (member,) = await h.stable_group(1)
    await c.commit_offsets("g", 1, member, {T0: (1, "")})
    await c.commit_offsets("g", 1, member, {T0: (2, ""), T1: (3, "")})
    await c.commit_offsets("gone", -1, "", {T0: (9, "")})
    assert await c.delete_groups(["gone"]) == {"gone": E.NONE}
    for compact in (False, True):
        if compact:
            for p in range(h.config.offsets_topic_num_partitions):
                h.log.compact(p)
        fresh = CoordinatorHarness(log=h.log, clock=h.clock)
        await fresh.start()
        assert fresh.coordinator.fetch_offsets("g", None) == {T0: (2, "", E.NONE, -1), T1: (3, "", E.NONE, -1)}
        assert fresh.coordinator.manager.get_group("gone") is None


def test_undecodable_records_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="kafka_zk.coordinator.metadata_manager")

    async def scenario() -> None:
        h = CoordinatorHarness()
        p = h.coordinator.partition_for("g")
        good_key = codec.encode_offset_commit_key("g", T0)
        good_value = codec.encode_offset_commit_value(codec.OffsetCommitValue(11, "", h.clock.time_ms()))
        h.log.partitions[p] = [(b"\x00\x09junk", b""), (good_key, b"\x00\x07bad-version"), (good_key, good_value)]
        await h.start()
        assert h.coordinator.fetch_offsets("g", [T0])[T0].offset == 11

    asyncio.run(scenario())
    assert sum("skipping undecodable" in r.getMessage() for r in caplog.records) == 2


# ------------------------------------------------------------------------------------------------ retention


@async_test
async def test_offsets_of_an_empty_group_expire_after_the_retention_period() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    (member,) = await h.stable_group(1)
    await c.commit_offsets("g", 1, member, {T0: (5, "")})
    h.advance(20_000)  # the member goes silent: its session expires and the group empties
    await h.settle()
    g = c.manager.get_group("g")
    assert g is not None and g.state is GroupState.EMPTY
    became_empty = g.current_state_timestamp
    assert became_empty is not None
    for _ in range(7):  # the periodic pass (every offsets.retention.check.interval.ms) keeps them for 7 days
        h.advance(DAY_MS - 20_000 // 7)
        await h.settle()
        assert c.fetch_offsets("g", [T0])[T0].offset == 5, "retention counts from when the group became Empty"
    assert h.clock.time_ms() - became_empty < 7 * DAY_MS
    h.advance(DAY_MS)
    await h.settle()
    assert c.fetch_offsets("g", [T0])[T0].offset == -1
    assert c.manager.get_group("g") is None
    tail = records(h)[-2:]
    assert tail == [(codec.OffsetCommitKey("g", "orders", 0), None), (codec.GroupMetadataKey("g"), None)]


@async_test
async def test_offsets_of_an_active_group_never_expire() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    (member,) = await h.stable_group(1)
    await c.commit_offsets("g", 1, member, {T0: (5, "")})
    for _ in range(12):  # 12 days, heartbeating every 3 s would be too many steps: extend the session
        c.manager.get_group("g").get(member).session_timeout_ms = 2 * DAY_MS  # type: ignore[union-attr]
        c.heartbeat("g", member, 1)
        h.advance(DAY_MS)
        await h.settle()
    assert await c.expire_offsets() == 0
    assert c.fetch_offsets("g", [T0])[T0].offset == 5


@async_test
async def test_explicit_retention_time_expires_from_commit_and_is_written_as_value_v1() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    assert await c.commit_offsets("simple", -1, "", {T0: (5, "")}, retention_ms=60_000) == {T0: E.NONE}
    (_, value) = records(h, "simple")[-1]
    assert value is not None and value[:2] == b"\x00\x01"
    h.advance(59_999)
    assert await c.expire_offsets() == 0
    h.advance(1)
    assert await c.expire_offsets() == 1
    assert c.fetch_offsets("simple", [T0])[T0].offset == -1


# ------------------------------------------------------------------------------------------------ admin


@async_test
async def test_list_and_describe_groups() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    members = await h.stable_group(2)
    await c.commit_offsets("simple", -1, "", {T0: (1, "")})
    listing = c.list_groups()
    assert listing.error is E.NONE
    assert sorted((g.group_id, g.protocol_type, g.state) for g in listing.groups) == [("g", "consumer", "Stable"), ("simple", "", "Empty")]
    (stable, missing) = c.describe_groups(["g", "never-seen"])
    assert (stable.error, stable.state, stable.protocol_type, stable.protocol) == (E.NONE, "Stable", "consumer", "range")
    assert [(m.member_id, m.client_host, m.metadata, m.assignment) for m in stable.members] == [
        (m, "/127.0.0.1", b"range-meta", m.encode()) for m in members
    ]
    assert (missing.error, missing.state, missing.members) == (E.NONE, "Dead", [])


@async_test
async def test_delete_groups() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    await h.stable_group(1)
    await c.commit_offsets("idle", -1, "", {T0: (3, "")})
    result = await c.delete_groups(["g", "idle", "never-seen"])
    assert result == {"g": E.NON_EMPTY_GROUP, "idle": E.NONE, "never-seen": E.GROUP_ID_NOT_FOUND}
    assert c.fetch_offsets("idle", [T0])[T0].offset == -1
    assert records(h, "idle")[-1] == (codec.OffsetCommitKey("idle", "orders", 0), None)

    other = CoordinatorHarness()
    await other.start(partitions=[])
    assert await other.coordinator.delete_groups(["idle"]) == {"idle": E.NOT_COORDINATOR}


@async_test
async def test_deleted_topic_partitions_lose_their_offsets() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    await c.commit_offsets("simple", -1, "", {T0: (1, ""), TopicPartition("keep", 0): (2, "")})
    assert await c.on_partitions_deleted([T0]) == 1
    assert c.fetch_offsets("simple", None) == {TopicPartition("keep", 0): (2, "", E.NONE, -1)}


@async_test
async def test_resign_during_load_does_not_disturb_the_next_election() -> None:
    h = CoordinatorHarness()
    c = h.coordinator
    c.startup()
    p = c.partition_for("g")
    value = codec.encode_offset_commit_value(codec.OffsetCommitValue(1, "", h.clock.time_ms()))
    h.log.partitions[p] = [(codec.encode_offset_commit_key("g", TopicPartition("t", i)), value) for i in range(5000)]
    first = c.on_became_leader(p)
    await asyncio.sleep(0)  # the first load is part-way through the partition
    c.on_resigned(p)
    second = c.on_became_leader(p)
    await asyncio.sleep(0)  # the first load handles its cancellation, the second starts
    assert first.cancelled()
    assert c.heartbeat("g", "m", 1) is E.NONE  # still "loading" (answered blindly), not NOT_COORDINATOR
    await second
    assert len(c.fetch_offsets("g", None)) == 5000
