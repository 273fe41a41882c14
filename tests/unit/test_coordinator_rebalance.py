"""Group membership through the coordinator: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and their timers.

Time is a ManualClock driven by the tests (no sleeps); the offsets log is in memory.
"""

from __future__ import annotations

import asyncio

from kafka_zk.common.errors import ErrorCode
from kafka_zk.coordinator import GroupState
from kafka_zk.coordinator import offsets_codec as codec
from kafka_zk.coordinator.testing import RANGE, REBALANCE_TIMEOUT_MS, SESSION_TIMEOUT_MS, CoordinatorHarness, async_test

E = ErrorCode
SESSION = SESSION_TIMEOUT_MS
REBALANCE = REBALANCE_TIMEOUT_MS


# ------------------------------------------------------------------------------------------------ join + sync


@async_test
async def test_three_members_join_one_generation_leader_gets_all_metadata() -> None:
    h = await CoordinatorHarness.started()
    tasks = [h.join(client_id=f"c{i}", protocols=[("range", f"meta{i}".encode())]) for i in range(3)]
    await h.settle()
    h.advance(2999)
    await h.settle()
    assert not any(t.done() for t in tasks), "group.initial.rebalance.delay.ms holds the first rebalance"
    h.advance(1)  # 3000: members arrived during the delay, so it is extended once more
    await h.settle()
    assert not any(t.done() for t in tasks)
    h.advance(3000)
    await h.settle()
    results = [t.result() for t in tasks]

    assert {r.generation_id for r in results} == {1}
    assert {r.protocol_name for r in results} == {"range"}
    assert [r.member_id.startswith(f"c{i}-") for i, r in enumerate(results)] == [True] * 3
    leader_id = results[0].leader_id
    assert {r.leader_id for r in results} == {leader_id} and leader_id == results[0].member_id
    leader, *followers = results
    assert [(m.member_id, m.metadata) for m in leader.members] == [(r.member_id, f"meta{i}".encode()) for i, r in enumerate(results)]
    assert all(f.members == [] for f in followers)
    assert h.state() is GroupState.COMPLETING_REBALANCE
    transitions = [(e.fields["from"], e.fields["to"]) for e in h.events_of("group.state")]
    assert transitions == [("Empty", "PreparingRebalance"), ("PreparingRebalance", "CompletingRebalance")]
    assert len(h.events_of("group.member_joined")) == 3


@async_test
async def test_initial_delay_is_capped_by_the_rebalance_timeout() -> None:
    h = await CoordinatorHarness.started()
    tasks = [h.join(client_id="c0", rebalance=10_000)]
    await h.settle()
    for i in range(1, 5):  # a new member every 2 s keeps extending the delay...
        h.advance(2000)
        tasks.append(h.join(client_id=f"c{i}", rebalance=10_000))
        await h.settle()
    assert not any(t.done() for t in tasks)
    h.advance(10_000 - 4 * 2000 - 1)
    await h.settle()
    assert not any(t.done() for t in tasks)
    h.advance(1)  # ...but never beyond the rebalance timeout
    await h.settle()
    assert all(t.done() and t.result().generation_id == 1 for t in tasks)


@async_test
async def test_sync_hands_out_the_leaders_bytes_and_fills_gaps_with_a_valid_empty_assignment() -> None:
    h = await CoordinatorHarness.started()
    joined = await h.form_group(3)
    leader, f1, f2 = joined
    plan = {leader.member_id: b"\x00\x00LEADER", f1.member_id: b"\x00\x00F1"}  # f2 left out
    synced = await h.sync_all(joined, plan)
    assert synced[leader.member_id].assignment == b"\x00\x00LEADER"
    assert synced[f1.member_id].assignment == b"\x00\x00F1"
    assert synced[f2.member_id].assignment == codec.EMPTY_CONSUMER_ASSIGNMENT
    assert all(r.error is E.NONE for r in synced.values())
    assert h.state() is GroupState.STABLE
    # the generation was persisted with every member's assignment before it was handed out
    key, value = h.log.read(h.coordinator.partition_for("g"))[-1]
    assert codec.decode_key(key) == codec.GroupMetadataKey("g")
    assert value is not None
    stored = codec.decode_group_metadata_value(value)
    assert (stored.generation, stored.protocol, stored.leader) == (1, "range", leader.member_id)
    assert {m.member_id: m.assignment for m in stored.members} == {m: r.assignment for m, r in synced.items()}
    # a member re-syncing a stable group gets its assignment again
    again = await h.coordinator.sync_group("g", 1, f1.member_id, {})
    assert again.assignment == b"\x00\x00F1"
    assert [e.fields["generation"] for e in h.events_of("group.rebalance_completed")] == [1]


@async_test
async def test_mixed_assignors_settle_on_roundrobin() -> None:
    h = await CoordinatorHarness.started()
    both = [("range", b"R"), ("roundrobin", b"RR")]
    tasks = [h.join(client_id="rdkafka", protocols=both), h.join(client_id="kafka-python", protocols=both)]
    tasks.append(h.join(client_id="aiokafka", protocols=[("roundrobin", b"RR-aio")]))
    await h.settle()
    h.advance(6000)
    await h.settle()
    results = [t.result() for t in tasks]
    assert {r.protocol_name for r in results} == {"roundrobin"}
    assert [m.metadata for m in results[0].members] == [b"RR", b"RR", b"RR-aio"]


@async_test
async def test_follower_rejoin_without_change_in_stable_group_keeps_the_generation() -> None:
    h = await CoordinatorHarness.started()
    joined = await h.form_group(2)
    await h.sync_all(joined)
    follower = joined[1]
    again = await h.join(follower.member_id)
    assert (again.error, again.generation_id, again.members) == (E.NONE, 1, [])
    assert h.state() is GroupState.STABLE


# ------------------------------------------------------------------------------------------------ liveness


@async_test
async def test_member_missing_heartbeats_is_expired_and_the_rest_rebalance() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    joined = await h.form_group(3)
    await h.sync_all(joined)
    alive, dead = joined[:2], joined[2]
    for _ in range(3):  # 9 s: everyone still within the 10 s session
        h.advance(3000)
        assert [c.heartbeat("g", r.member_id, 1) for r in alive] == [E.NONE, E.NONE]
    h.advance(1000)  # the silent member's session ends at 10 s
    assert h.state() is GroupState.PREPARING_REBALANCE
    assert [(e.fields["member_id"], e.fields["reason"]) for e in h.events_of("group.member_removed")] == [(dead.member_id, "session_timeout")]
    assert c.heartbeat("g", dead.member_id, 1) is E.UNKNOWN_MEMBER_ID
    assert [c.heartbeat("g", r.member_id, 1) for r in alive] == [E.REBALANCE_IN_PROGRESS] * 2
    rejoins = [h.join(r.member_id) for r in alive]
    await h.settle()  # all known members rejoined: no waiting for the timeout
    results = [t.result() for t in rejoins]
    assert {r.generation_id for r in results} == {2}
    assert len([r for r in results if r.members]) == 1 and len(results[0].members) == 2


@async_test
async def test_heartbeat_during_rebalance_answers_27_and_keeps_the_member_alive() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    joined = await h.form_group(2)
    await h.sync_all(joined)
    a, b = joined
    newcomer = h.join(client_id="late")  # starts a rebalance with a 30 s timeout
    await h.settle()
    assert h.state() is GroupState.PREPARING_REBALANCE
    for _ in range(5):  # 15 s of heartbeats, longer than the 10 s session
        h.advance(3000)
        assert c.heartbeat("g", a.member_id, 1) is E.REBALANCE_IN_PROGRESS
    assert c.manager.get_group("g").has(a.member_id)  # type: ignore[union-attr]
    assert not c.manager.get_group("g").has(b.member_id)  # type: ignore[union-attr]  # silent: expired
    rejoined = h.join(a.member_id)
    await h.settle()
    assert rejoined.result().generation_id == newcomer.result().generation_id == 2


@async_test
async def test_members_that_do_not_rejoin_within_the_rebalance_timeout_are_dropped() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    joined = await h.form_group(2)
    await h.sync_all(joined)
    leader, follower = joined
    leader_join = h.join(leader.member_id)  # the leader rejoins (e.g. partitions were added)
    await h.settle()
    for _ in range(10):  # the follower heartbeats but never rejoins (stuck in poll processing)
        h.advance(3000)
        c.heartbeat("g", follower.member_id, 1)
    await h.settle()
    result = leader_join.result()
    assert (result.error, result.generation_id, [m.member_id for m in result.members]) == (E.NONE, 2, [leader.member_id])
    removed = h.events_of("group.member_removed")
    assert [(e.fields["member_id"], e.fields["reason"]) for e in removed] == [(follower.member_id, "rebalance_timeout")]
    assert c.heartbeat("g", follower.member_id, 1) is E.UNKNOWN_MEMBER_ID


@async_test
async def test_leave_group_triggers_an_immediate_rebalance() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    joined = await h.form_group(3)
    await h.sync_all(joined)
    assert c.leave_group("g", joined[1].member_id) is E.NONE
    assert h.state() is GroupState.PREPARING_REBALANCE
    assert c.heartbeat("g", joined[0].member_id, 1) is E.REBALANCE_IN_PROGRESS
    assert c.leave_group("g", joined[1].member_id) is E.UNKNOWN_MEMBER_ID
    assert c.leave_group("nope", "x") is E.UNKNOWN_MEMBER_ID
    rejoins = [h.join(r.member_id) for r in (joined[0], joined[2])]
    await h.settle()
    assert {t.result().generation_id for t in rejoins} == {2}


@async_test
async def test_last_member_leaving_empties_the_group_and_stores_it() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    (only,) = await h.form_group(1)
    await h.sync_all([only])
    assert c.leave_group("g", only.member_id) is E.NONE
    await h.settle()  # join phase with no members completes at once
    assert h.state() is GroupState.EMPTY
    _, value = h.log.read(c.partition_for("g"))[-1]
    assert value is not None
    stored = codec.decode_group_metadata_value(value)
    assert (stored.generation, stored.members, stored.protocol) == (2, [], None)


@async_test
async def test_new_member_joining_during_sync_sends_waiting_followers_back_to_join() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    joined = await h.form_group(2)
    follower = joined[1]
    waiting = asyncio.get_running_loop().create_task(c.sync_group("g", 1, follower.member_id, {}))
    await h.settle()
    late = h.join(client_id="late")
    await h.settle()
    assert waiting.result().error is E.REBALANCE_IN_PROGRESS
    assert h.state() is GroupState.PREPARING_REBALANCE
    assert not late.done()


@async_test
async def test_duplicate_join_request_gets_the_same_answer_instead_of_hanging() -> None:
    h = await CoordinatorHarness.started()
    joined = await h.form_group(2)
    await h.sync_all(joined)
    leader = joined[0]
    first = h.join(leader.member_id)
    await h.settle()
    second = h.join(leader.member_id)  # the client timed out and retried
    rejoin_follower = h.join(joined[1].member_id)
    await h.settle()
    assert first.result() == second.result() and first.result().generation_id == 2
    assert rejoin_follower.result().generation_id == 2


# ------------------------------------------------------------------------------------------------ errors


@async_test
async def test_wrong_generation_is_illegal_generation() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    joined = await h.form_group(2)
    await h.sync_all(joined)
    member_id = joined[1].member_id
    assert c.heartbeat("g", member_id, 0) is E.ILLEGAL_GENERATION
    assert (await c.sync_group("g", 7, member_id, {})).error is E.ILLEGAL_GENERATION
    commit = await c.commit_offsets("g", 0, member_id, {("t", 0): (1, None)})  # type: ignore[dict-item]
    assert set(commit.values()) == {E.ILLEGAL_GENERATION}


@async_test
async def test_unknown_members_and_groups() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    assert c.heartbeat("no-such-group", "m", 1) is E.UNKNOWN_MEMBER_ID
    assert (await h.join("made-up-id", group="no-such-group")).error is E.UNKNOWN_MEMBER_ID
    assert (await c.sync_group("no-such-group", 1, "m", {})).error is E.UNKNOWN_MEMBER_ID
    joined = await h.form_group(1)
    await h.sync_all(joined)
    assert c.heartbeat("g", "made-up-id", 1) is E.UNKNOWN_MEMBER_ID
    rejected = await h.join("made-up-id")
    assert (rejected.error, rejected.member_id, rejected.generation_id) == (E.UNKNOWN_MEMBER_ID, "made-up-id", -1)


@async_test
async def test_request_validation_errors() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    assert (await h.join(session=5999)).error is E.INVALID_SESSION_TIMEOUT
    assert (await h.join(session=1_800_001)).error is E.INVALID_SESSION_TIMEOUT
    assert (await h.join(group="")).error is E.INVALID_GROUP_ID
    assert c.heartbeat("", "m", 1) is E.INVALID_GROUP_ID
    assert (await h.join(protocols=[])).error is E.INCONSISTENT_GROUP_PROTOCOL
    joined = await h.form_group(1)
    assert (await h.join(protocols=[("sticky", b"")])).error is E.INCONSISTENT_GROUP_PROTOCOL
    assert (await h.join(protocol_type="connect")).error is E.INCONSISTENT_GROUP_PROTOCOL
    assert joined[0].error is E.NONE


@async_test
async def test_not_coordinator_and_load_in_progress() -> None:
    h = CoordinatorHarness()
    c = h.coordinator
    assert (await h.join()).error is E.COORDINATOR_NOT_AVAILABLE  # not started
    c.startup()
    assert (await h.join()).error is E.NOT_COORDINATOR
    assert c.heartbeat("g", "m", 1) is E.NOT_COORDINATOR
    load = c.on_became_leader(c.partition_for("g"))
    # until the partition is read, its groups are "loading" (awaited directly: no loop turn lets it load)
    assert (await c.join_group("g", "", "c", "/h", SESSION, REBALANCE, "consumer", RANGE)).error is E.COORDINATOR_LOAD_IN_PROGRESS
    assert c.heartbeat("g", "m", 1) is E.NONE  # Kafka answers heartbeats blindly while loading
    assert (await c.sync_group("g", 1, "m", {})).error is E.REBALANCE_IN_PROGRESS  # i.e. "rejoin"
    assert c.list_groups().error is E.COORDINATOR_LOAD_IN_PROGRESS
    await load
    assert c.list_groups().error is E.NONE
    joining = h.join()
    await h.settle()
    c.on_resigned(c.partition_for("g"))
    assert (await joining).error is E.NOT_COORDINATOR
    assert (await h.join()).error is E.NOT_COORDINATOR


@async_test
async def test_new_member_join_wait_is_bounded() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    joined = await h.form_group(1, protocols=RANGE)
    await h.sync_all(joined)
    late = h.join(client_id="late", rebalance=600_000)  # a 10-minute rebalance timeout
    await h.settle()
    for _ in range(100):  # 5 minutes: the old member heartbeats but never rejoins
        h.advance(3000)
        c.heartbeat("g", joined[0].member_id, 1)
    await h.settle()
    result = late.result()
    assert result.error is E.UNKNOWN_MEMBER_ID  # dropped after NEW_MEMBER_JOIN_TIMEOUT_MS; the client retries
    assert [e.fields["reason"] for e in h.events_of("group.member_removed")] == ["join_timeout"]


@async_test
async def test_shutdown_answers_waiting_requests() -> None:
    h = await CoordinatorHarness.started()
    c = h.coordinator
    waiting = h.join()
    await h.settle()
    c.shutdown()
    assert (await waiting).error is E.COORDINATOR_NOT_AVAILABLE
    assert h.timers.pending() == 0
