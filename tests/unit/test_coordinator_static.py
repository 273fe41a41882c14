"""KIP-345 static membership, KIP-394 MEMBER_ID_REQUIRED, batch LeaveGroup and KIP-496 OffsetDelete in the
coordinator, without sockets: a ManualClock drives the timers, the offsets log is in memory."""

from __future__ import annotations

import asyncio
import struct

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator import GroupState
from kafka_zk.coordinator.testing import SESSION_TIMEOUT_MS, CoordinatorHarness, async_test
from kafka_zk.coordinator.results import JoinResult

E = ErrorCode
S = GroupState


def subscription(*topics: str) -> bytes:
    """A ConsumerProtocolSubscription v0: the bytes a consumer sends as its "range" metadata."""
    out = struct.pack(">hi", 0, len(topics))
    for t in topics:
        out += struct.pack(">h", len(t)) + t.encode()
    return out + struct.pack(">i", -1)


async def static_group(h: CoordinatorHarness, *instances: str, topics: tuple[str, ...] = ("orders",)) -> list[JoinResult]:
    """A Stable group of static members (instance ids ``instances``), assignment = member id bytes."""
    tasks = [h.join(client_id=f"c-{i}", instance_id=i, protocols=[("range", subscription(*topics))]) for i in instances]
    await h.settle()
    h.advance(h.config.group_initial_rebalance_delay_ms * 2)
    await h.settle()
    joined = [t.result() for t in tasks]
    assert all(r.error is E.NONE for r in joined)
    await h.sync_all(joined, {r.member_id: f"assigned-{inst}".encode() for r, inst in zip(joined, instances)})
    assert h.state() is S.STABLE
    return joined


@async_test
async def test_static_member_ids_are_named_after_the_instance_and_described() -> None:
    h = await CoordinatorHarness.started()
    joined = await static_group(h, "pod-a", "pod-b")
    assert joined[0].member_id.startswith("pod-a-") and joined[1].member_id.startswith("pod-b-")
    leader = next(r for r in joined if r.member_id == r.leader_id)
    assert {m.group_instance_id for m in leader.members} == {"pod-a", "pod-b"}
    [summary] = h.coordinator.describe_groups(["g"])
    assert {(m.member_id, m.group_instance_id) for m in summary.members} == {(r.member_id, i) for r, i in zip(joined, ["pod-a", "pod-b"])}


@async_test
async def test_a_restarted_static_member_gets_its_assignment_back_without_a_rebalance() -> None:
    h = await CoordinatorHarness.started()
    a, b = await static_group(h, "pod-a", "pod-b")
    generation = a.generation_id
    transitions_before = len(h.events_of("group.state"))

    # pod-b restarts: a new process, no member id, same instance id.
    rejoin = h.join(client_id="c-pod-b", instance_id="pod-b", protocols=[("range", subscription("orders"))])
    await h.settle()
    result = rejoin.result()
    assert result.error is E.NONE
    assert result.member_id != b.member_id and result.member_id.startswith("pod-b-")
    assert result.generation_id == generation
    assert result.leader_id == a.leader_id  # the old leader's id: a restarted leader must not reassign
    assert result.members == []  # it must not assign, even if it was the leader
    assert h.state() is S.STABLE and len(h.events_of("group.state")) == transitions_before
    synced = await h.coordinator.sync_group("g", generation, result.member_id, {}, group_instance_id="pod-b")
    assert (synced.error, synced.assignment) == (E.NONE, b"assigned-pod-b")
    assert (synced.protocol_type, synced.protocol_name) == ("consumer", "range")
    replaced = h.events_of("group.static_member_replaced")
    assert [(e.fields["old_member_id"], e.fields["member_id"]) for e in replaced] == [(b.member_id, result.member_id)]

    # The old incarnation is fenced everywhere; the other member never noticed anything.
    assert h.coordinator.heartbeat("g", b.member_id, generation, "pod-b") is E.FENCED_INSTANCE_ID
    stale = await h.coordinator.sync_group("g", generation, b.member_id, {}, group_instance_id="pod-b")
    assert stale.error is E.FENCED_INSTANCE_ID
    tp = TopicPartition("orders", 0)
    assert (await h.coordinator.commit_offsets("g", generation, b.member_id, {tp: (5, None)}, group_instance_id="pod-b")) == {
        tp: E.FENCED_INSTANCE_ID
    }
    assert h.coordinator.heartbeat("g", a.member_id, generation, "pod-a") is E.NONE
    assert h.coordinator.heartbeat("g", result.member_id, generation, "pod-b") is E.NONE


@async_test
async def test_the_replaced_member_id_is_persisted_for_the_next_coordinator() -> None:
    h = await CoordinatorHarness.started()
    _, b = await static_group(h, "pod-a", "pod-b")
    rejoin = h.join(client_id="c-pod-b", instance_id="pod-b", protocols=[("range", subscription("orders"))])
    await h.settle()
    new_id = rejoin.result().member_id

    fresh = CoordinatorHarness(h.config, log=h.log)
    await fresh.start()
    group = fresh.coordinator.manager.get_group("g")
    assert group is not None and group.static_members["pod-b"] == new_id and not group.has(b.member_id)
    assert group.get(new_id).assignment == b"assigned-pod-b"


@async_test
async def test_a_duplicate_instance_with_a_stale_member_id_is_fenced_on_join() -> None:
    h = await CoordinatorHarness.started()
    a, _ = await static_group(h, "pod-a", "pod-b")
    dup = h.join(member_id="pod-a-not-the-holder", instance_id="pod-a", protocols=[("range", subscription("orders"))])
    await h.settle()
    assert dup.result().error is E.FENCED_INSTANCE_ID
    unknown_instance = h.join(member_id=a.member_id, instance_id="pod-z", protocols=[("range", subscription("orders"))])
    await h.settle()
    assert unknown_instance.result().error is E.UNKNOWN_MEMBER_ID


@async_test
async def test_a_waiting_old_incarnation_is_fenced_and_a_restart_during_the_sync_phase_rebalances() -> None:
    h = await CoordinatorHarness.started()
    a, b = await static_group(h, "pod-a", "pod-b")
    meta = [("range", subscription("orders"))]
    # The leader rejoins (a rebalance), pod-b's old process rejoins too and then waits in SyncGroup...
    leader = h.join(member_id=a.member_id, instance_id="pod-a", protocols=meta)
    old = h.join(member_id=b.member_id, instance_id="pod-b", protocols=meta)
    await h.settle()
    assert h.state() is S.COMPLETING_REBALANCE and old.result().generation_id == a.generation_id + 1
    old_sync = asyncio.get_running_loop().create_task(
        h.coordinator.sync_group("g", old.result().generation_id, b.member_id, {}, group_instance_id="pod-b"))
    await h.settle()
    assert not old_sync.done()
    # ...when pod-b restarts: the old process is fenced, and the leader may have assigned to the old id.
    restarted = h.join(instance_id="pod-b", protocols=meta)
    await h.settle()
    assert old_sync.result().error is E.FENCED_INSTANCE_ID
    assert h.state() is S.PREPARING_REBALANCE and not restarted.done()
    again = h.join(member_id=a.member_id, instance_id="pod-a", protocols=meta)
    await h.settle()
    assert restarted.result().error is E.NONE and again.result().error is E.NONE
    assert restarted.result().generation_id == a.generation_id + 2
    assert leader.result().error is E.NONE


@async_test
async def test_a_static_member_that_stays_away_is_removed_after_its_session_timeout() -> None:
    h = await CoordinatorHarness.started()
    a, b = await static_group(h, "pod-a", "pod-b")
    for _ in range(3):
        h.advance(SESSION_TIMEOUT_MS // 2)
        assert h.coordinator.heartbeat("g", a.member_id, a.generation_id, "pod-a") in (E.NONE, E.REBALANCE_IN_PROGRESS)
    await h.settle()
    removed = h.events_of("group.member_removed")
    assert [(e.fields["member_id"], e.fields["reason"]) for e in removed] == [(b.member_id, "session_timeout")]
    group = h.coordinator.manager.get_group("g")
    assert group is not None and "pod-b" not in group.static_members and h.state() is S.PREPARING_REBALANCE


@async_test
async def test_batch_leave_removes_static_members_by_instance_id() -> None:
    h = await CoordinatorHarness.started()
    a, b = await static_group(h, "pod-a", "pod-b")
    result = h.coordinator.leave_group_members("g", [("", "pod-b"), ("", "pod-x"), ("someone-else", "pod-a")])
    assert result.error is E.NONE
    assert result.members == [("", "pod-b", E.NONE), ("", "pod-x", E.UNKNOWN_MEMBER_ID),
                              ("someone-else", "pod-a", E.FENCED_INSTANCE_ID)]
    group = h.coordinator.manager.get_group("g")
    assert group is not None and group.member_ids == [a.member_id] and h.state() is S.PREPARING_REBALANCE
    missing = h.coordinator.leave_group_members("no-such-group", [("m", None)])
    assert missing.error is E.NONE and missing.members == [("m", None, E.UNKNOWN_MEMBER_ID)]
    assert h.coordinator.leave_group("g", "m-unknown") is E.UNKNOWN_MEMBER_ID


@async_test
async def test_member_id_required_round_trip() -> None:
    h = await CoordinatorHarness.started()
    first = h.join(client_id="c0", require_known_member_id=True)
    await h.settle()
    r = first.result()
    assert r.error is E.MEMBER_ID_REQUIRED and r.member_id.startswith("c0-")
    group = h.coordinator.manager.get_group("g")
    assert group is not None and group.size == 0 and group.is_pending_member(r.member_id)
    second = h.join(member_id=r.member_id, client_id="c0", require_known_member_id=True)
    await h.settle()
    h.advance(h.config.group_initial_rebalance_delay_ms * 2)
    await h.settle()
    joined = second.result()
    assert (joined.error, joined.member_id, joined.generation_id, joined.leader_id) == (E.NONE, r.member_id, 1, r.member_id)
    assert joined.protocol_type == "consumer"


@async_test
async def test_a_pending_member_that_never_returns_is_forgotten_and_does_not_hold_the_join_phase() -> None:
    h = await CoordinatorHarness.started()
    [member] = await h.stable_group(1)
    ghost = h.join(client_id="ghost", require_known_member_id=True)
    await h.settle()
    assert ghost.result().error is E.MEMBER_ID_REQUIRED
    rejoin = h.join(member_id=member)  # the leader rejoins: a rebalance that waits for the pending member
    await h.settle()
    assert h.state() is S.PREPARING_REBALANCE and not rejoin.done()
    h.advance(SESSION_TIMEOUT_MS)
    await h.settle()
    assert rejoin.result().error is E.NONE and rejoin.result().generation_id == 2
    group = h.coordinator.manager.get_group("g")
    assert group is not None and group.num_pending == 0


@async_test
async def test_sync_group_v5_protocol_checks() -> None:
    h = await CoordinatorHarness.started()
    joined = await h.form_group(1)
    [r] = joined
    wrong = await h.coordinator.sync_group("g", r.generation_id, r.member_id, {}, protocol_type="connect")
    assert wrong.error is E.INCONSISTENT_GROUP_PROTOCOL
    wrong = await h.coordinator.sync_group("g", r.generation_id, r.member_id, {}, protocol_type="consumer", protocol_name="sticky")
    assert wrong.error is E.INCONSISTENT_GROUP_PROTOCOL
    ok = await h.coordinator.sync_group("g", r.generation_id, r.member_id, {r.member_id: b"x"}, protocol_type="consumer",
                                        protocol_name="range")
    assert (ok.error, ok.assignment, ok.protocol_type, ok.protocol_name) == (E.NONE, b"x", "consumer", "range")


@async_test
async def test_offset_delete_refuses_subscribed_topics_and_deletes_the_rest() -> None:
    h = await CoordinatorHarness.started()
    a, _ = await static_group(h, "pod-a", "pod-b", topics=("orders",))
    orders, old = TopicPartition("orders", 0), TopicPartition("old-topic", 1)
    c = h.coordinator
    assert await c.commit_offsets("g", a.generation_id, a.member_id, {orders: (10, None), old: (20, None)}, leader_epochs={orders: 3}) == {
        orders: E.NONE, old: E.NONE}
    assert c.fetch_offsets("g", [orders])[orders].leader_epoch == 3
    error, per_partition = await c.delete_offsets("g", [orders, old])
    assert (error, per_partition) == (E.NONE, {orders: E.GROUP_SUBSCRIBED_TO_TOPIC, old: E.NONE})
    assert c.fetch_offsets("g", None) == {orders: (10, "", E.NONE, 3)}
    assert [e.fields["partitions"] for e in h.events_of("group.offsets_deleted")] == [["old-topic-1"]]
    assert await c.delete_offsets("never-seen", [orders]) == (E.GROUP_ID_NOT_FOUND, {})


@async_test
async def test_offset_delete_of_an_empty_group_deletes_everything_asked_for() -> None:
    h = await CoordinatorHarness.started()
    tp = TopicPartition("orders", 0)
    c = h.coordinator
    assert await c.commit_offsets("simple", -1, "", {tp: (7, "m")}) == {tp: E.NONE}
    assert await c.delete_offsets("simple", [tp]) == (E.NONE, {tp: E.NONE})
    assert c.fetch_offsets("simple", [tp]) == {tp: (-1, "", E.NONE, -1)}


def test_subscription_topics_decodes_every_consumer_protocol_version() -> None:
    from kafka_zk.coordinator.offsets_codec import subscription_topics

    assert subscription_topics(subscription("a", "b")) == ["a", "b"]
    v1 = struct.pack(">hi", 1, 1) + struct.pack(">h", 1) + b"t" + struct.pack(">i", -1) + struct.pack(">i", 0)
    assert subscription_topics(v1) == ["t"]
    assert subscription_topics(b"\x00") is None and subscription_topics(b"") is None
