"""Preferred elections (ZooKeeper-triggered, ElectLeaders, automatic rebalance), reassignment, failover re-init."""

from __future__ import annotations

import asyncio

from helpers import async_wait_until, run_async
from kafka_zk.common.control import LeaderAndIsrRequest
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.config import ControllerConfig
from kafka_zk.controller.context import LeaderAndIsr, ReplicaAssignment
from kafka_zk.controller.rebalance import partitions_to_rebalance
from kafka_zk.controller.context import ControllerContext, LiveBroker
from kafka_zk.controller.testing import ControllerNode, StandInBroker
from test_controller_cluster import cluster, state, wait_state
from zk_layout import KafkaZkClient


async def _move_leader_away(zk: KafkaZkClient, brokers: dict[int, StandInBroker], tp: TopicPartition) -> None:
    """Preferred leader 1 crashes (leader → 2) and comes back in sync (leader 2 re-adds it to the ISR)."""
    await brokers[1].crash()
    await async_wait_until(lambda: (state(zk, tp) or (0,))[0] == 2)
    await brokers[1].register()
    await async_wait_until(lambda: state(zk, tp) is not None and 1 not in state(zk, tp)[2])  # type: ignore[index]
    await brokers[2].leader_set_isr(tp, [2, 1])


@run_async
async def test_zk_triggered_preferred_election(zk: KafkaZkClient, zk_chroot: str) -> None:
    tp = TopicPartition("t", 0)
    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("t", {0: [1, 2], 1: [2, 1]})
        await wait_state(zk, tp, (1, 0, [1, 2]))
        await _move_leader_away(zk, brokers, tp)
        await async_wait_until(lambda: node.controller.context.leadership[tp].isr == (2, 1))  # type: ignore[union-attr]
        assert state(zk, tp) == (2, 1, [2, 1])

        zk.create_preferred_replica_election([tp, TopicPartition("t", 1), TopicPartition("nope", 0)])
        await wait_state(zk, tp, (1, 2, [2, 1]))
        await async_wait_until(lambda: zk.get_preferred_replica_election() is None)
        assert state(zk, TopicPartition("t", 1)) == (2, 1, [2])  # already led by its preferred replica: untouched
        await async_wait_until(lambda: (s := brokers[2].leader_and_isr_states().get(tp)) is not None and s.leader == 1)
        assert node.events.recent(kind_prefix="partition.leader_elected")[-1].fields["strategy"] == "preferred"


@run_async
async def test_elect_leaders_api_results(zk: KafkaZkClient, zk_chroot: str) -> None:
    tp = TopicPartition("t", 0)
    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("t", {0: [1, 2], 1: [2, 1]})
        await wait_state(zk, tp, (1, 0, [1, 2]))
        ctl = node.controller
        assert ctl is not None
        await brokers[1].crash()
        await async_wait_until(lambda: (state(zk, tp) or (0,))[0] == 2)
        await brokers[1].register()
        await async_wait_until(lambda: 1 in ctl.context.live_brokers)  # type: ignore[union-attr]
        # Preferred replica back but not in sync yet: the election cannot happen.
        got = await ctl.elect_leaders([tp, TopicPartition("t", 1), TopicPartition("x", 0)])
        assert got[tp][0] is ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
        assert got[TopicPartition("t", 1)] == (ErrorCode.ELECTION_NOT_NEEDED, None)
        assert got[TopicPartition("x", 0)][0] is ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        await brokers[2].leader_set_isr(tp, [2, 1])
        await async_wait_until(lambda: ctl.context.leadership[tp].isr == (2, 1))  # type: ignore[union-attr]
        assert (await ctl.elect_leaders(None))[tp] == (ErrorCode.NONE, None)
        assert (state(zk, tp) or (0,))[0] == 1


@run_async
async def test_auto_rebalance_moves_leaders_back(zk: KafkaZkClient, zk_chroot: str) -> None:
    tp = TopicPartition("t", 0)
    config = ControllerConfig(auto_leader_rebalance_enable=True, first_rebalance_check_delay_s=0.05,
                              leader_imbalance_check_interval_seconds=0.1)
    async with cluster(zk_chroot, config=config) as (node, brokers):
        zk.create_topic_assignment("t", {0: [1, 2]})
        await wait_state(zk, tp, (1, 0, [1, 2]))
        await _move_leader_away(zk, brokers, tp)
        await async_wait_until(lambda: (state(zk, tp) or (0,))[0] == 1, message="leader did not return to 1")
        await async_wait_until(lambda: node.events.recent(kind_prefix="partition.leader_elected")[-1]
                               .fields["strategy"] == "preferred")


def _ctx_with(leaders: dict[int, int], replicas: dict[int, tuple[int, ...]]) -> ControllerContext:
    ctx = ControllerContext(epoch=1)
    for b in (1, 2, 3):
        ctx.add_live_broker(LiveBroker(b, (), b))
    ctx.all_topics = {"t"}
    for p, r in replicas.items():
        tp = TopicPartition("t", p)
        ctx.set_assignment(tp, ReplicaAssignment(r))
        ctx.leadership[tp] = LeaderAndIsr(leaders[p], 1, r, 1, 0)
    return ctx


def test_imbalance_ratio_threshold_is_per_broker() -> None:
    # Broker 1 prefers 10 partitions and leads 9 of them: 10 % imbalance is not above 10 %.
    replicas = {p: (1, 2, 3) for p in range(10)}
    leaders = {p: 1 for p in range(10)} | {9: 2}
    assert partitions_to_rebalance(_ctx_with(leaders, replicas), 10) == []
    # Two misled out of ten: 20 % > 10 %, both move back.
    leaders[8] = 3
    assert partitions_to_rebalance(_ctx_with(leaders, replicas), 10) == [TopicPartition("t", 8), TopicPartition("t", 9)]
    # Never while a reassignment is in progress, never when the preferred replica is not in the ISR.
    ctx = _ctx_with(leaders, replicas)
    ctx.partitions_being_reassigned.add(TopicPartition("t", 0))
    assert partitions_to_rebalance(ctx, 10) == []
    ctx = _ctx_with(leaders, replicas)
    ctx.leadership[TopicPartition("t", 9)] = LeaderAndIsr(2, 1, (2, 3), 1, 0)
    assert partitions_to_rebalance(ctx, 10) == [TopicPartition("t", 8)]


@run_async
async def test_reassignment_adds_waits_moves_leader_and_removes(zk: KafkaZkClient, zk_chroot: str) -> None:
    tp = TopicPartition("r", 0)
    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("r", {0: [0, 1]})
        await wait_state(zk, tp, (0, 0, [0, 1]))
        zk.create_partition_reassignment({tp: [1, 2]})

        # Phase A: full replica set written with adding/removing; new replica told to start (is_new).
        def topic_znode() -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
            ta, _ = zk.get_topic_assignment("r")  # type: ignore[misc]
            return ta.partitions[0], tuple(ta.adding_replicas.get(0, ())), tuple(ta.removing_replicas.get(0, ()))

        await async_wait_until(lambda: topic_znode() == ((1, 2, 0), (2,), (0,)))
        await async_wait_until(lambda: (s := brokers[2].leader_and_isr_states().get(tp)) is not None and s.is_new)
        s2 = brokers[2].leader_and_isr_states()[tp]
        assert (s2.leader, s2.replicas, s2.adding_replicas, s2.removing_replicas) == (0, [1, 2, 0], [2], [0])
        assert state(zk, tp) == (0, 1, [0, 1])  # leader epoch bumped so brokers accept the new replica list
        assert zk.get_partition_reassignment() == {tp: (1, 2)}

        # Phase B: the leader adds broker 2 to the ISR once it has caught up.
        await brokers[0].leader_set_isr(tp, [0, 1, 2])
        await async_wait_until(lambda: topic_znode() == ((1, 2), (), ()), message="reassignment did not complete")
        assert (state(zk, tp) or (0,))[0] == 1  # 0 is not a target any more: leader moved to 1
        assert 0 not in state(zk, tp)[2]  # type: ignore[index]
        await async_wait_until(lambda: zk.get_partition_reassignment() is None)
        await async_wait_until(lambda: (tp, True) in brokers[0].stop_replicas())
        done = await async_wait_until(lambda: node.events.recent(kind_prefix="partition.reassigned"))
        assert done[-1].fields["replicas"] == [1, 2]
        assert node.controller.context.replicas(tp) == (1, 2)  # type: ignore[union-attr]


@run_async
async def test_reassignment_to_a_dead_broker_is_rejected(zk: KafkaZkClient, zk_chroot: str) -> None:
    tp = TopicPartition("r", 0)
    async with cluster(zk_chroot) as (node, _brokers):
        zk.create_topic_assignment("r", {0: [0, 1]})
        await wait_state(zk, tp, (0, 0, [0, 1]))
        zk.create_partition_reassignment({tp: [1, 7]})
        await async_wait_until(lambda: zk.get_partition_reassignment() is None)
        ta, _ = zk.get_topic_assignment("r")  # type: ignore[misc]
        assert ta.partitions[0] == (0, 1) and not ta.adding_replicas
        assert not node.controller.context.partitions_being_reassigned  # type: ignore[union-attr]


@run_async
async def test_new_controller_reinitializes_and_reelects(zk: KafkaZkClient, zk_chroot: str) -> None:
    a = ControllerNode(0, zk_chroot, ControllerConfig(auto_leader_rebalance_enable=False))
    b = ControllerNode(1, zk_chroot, ControllerConfig(auto_leader_rebalance_enable=False))
    c = StandInBroker(2, zk_chroot)
    try:
        await a.start()
        await async_wait_until(lambda: a.controller.is_active)  # type: ignore[union-attr]
        await b.start()
        await c.start()
        zk.create_topic_assignment("t", {0: [0, 1], 1: [1, 2], 2: [2, 0]})
        await wait_state(zk, TopicPartition("t", 2), (2, 0, [2, 0]))
        await wait_state(zk, TopicPartition("t", 0), (0, 0, [0, 1]))
        await a.crash()  # the controller's broker dies
        await async_wait_until(lambda: b.controller.is_active, timeout=10)  # type: ignore[union-attr]
        # Failover takes replicas of dead broker 0 offline first (leader -1, epoch 1), then elects (epoch 2).
        await wait_state(zk, TopicPartition("t", 0), (1, 2, [1]))
        await wait_state(zk, TopicPartition("t", 2), (2, 1, [2]))
        assert state(zk, TopicPartition("t", 1)) == (1, 0, [1, 2])
        # The new controller sent LeaderAndIsr for every partition to every live replica, with epoch 2.
        for broker, parts in ((c, {1, 2}), (b.broker, {0, 1})):
            await async_wait_until(lambda broker=broker, parts=parts: {
                s.partition for m in broker.messages(LeaderAndIsrRequest) if m.controller_epoch == 2
                for s in m.partition_states} == parts)
    finally:
        await a.stop()
        await b.stop()
        await c.stop()


@run_async
async def test_added_partitions_come_online_and_deletion_disabled_keeps_topic(zk: KafkaZkClient, zk_chroot: str) -> None:
    async with cluster(zk_chroot, config=ControllerConfig(auto_leader_rebalance_enable=False,
                                                          delete_topic_enable=False)) as (node, _brokers):
        zk.create_topic_assignment("t", {0: [0, 1]})
        await wait_state(zk, TopicPartition("t", 0), (0, 0, [0, 1]))
        ta, _ = zk.get_topic_assignment("t")  # type: ignore[misc]
        zk.set_topic_assignment(ta.__class__("t", {0: (0, 1), 1: (2, 0)}))
        await wait_state(zk, TopicPartition("t", 1), (2, 0, [2, 0]))
        zk.mark_topic_for_deletion("t")
        await async_wait_until(lambda: zk.get_topic_deletions() == [])
        await asyncio.sleep(0.2)
        assert zk.topic_exists("t") and "t" in node.controller.context.all_topics  # type: ignore[union-attr]


@run_async
async def test_bounced_broker_is_failed_and_restarted(zk: KafkaZkClient, zk_chroot: str) -> None:
    tp = TopicPartition("t", 0)
    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("t", {0: [1, 2]})
        await wait_state(zk, tp, (1, 0, [1, 2]))
        old_epoch = brokers[1].broker_epoch
        # Re-register faster than the controller can notice the gap: same id set, newer czxid.
        await brokers[1].crash()
        await brokers[1].register()
        await async_wait_until(lambda: node.controller.context.broker_epoch(1) == brokers[1].broker_epoch)  # type: ignore[union-attr]
        assert brokers[1].broker_epoch > old_epoch
        await async_wait_until(lambda: (state(zk, tp) or (0,))[0] == 2)
        failed = [e.fields["broker"] for e in node.events.recent(kind_prefix="broker.failed")]
        assert failed == [1]
        await async_wait_until(lambda: any(m.broker_epoch == brokers[1].broker_epoch
                                           for m in brokers[1].messages(LeaderAndIsrRequest)))
