"""The controller against a real ZooKeeper and stand-in brokers that record what they are sent.

Broker 0 hosts the controller (a :class:`ControllerNode`); brokers 1 and 2 are :class:`StandInBroker` s, each
on its own ZooKeeper session, so closing a session is a broker crash as the controller sees it.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest

from helpers import async_wait_until, run_async
from kafka_zk.common.control import LeaderAndIsrRequest, UpdateMetadataRequest
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.config import ControllerConfig
from kafka_zk.controller.placement import assign_replicas
from kafka_zk.controller.testing import ControllerNode, StandInBroker
from zk_layout import KafkaZkClient, paths

NO_REBALANCE = ControllerConfig(auto_leader_rebalance_enable=False)


@asynccontextmanager
async def cluster(chroot: str, ids: tuple[int, ...] = (0, 1, 2),
                  config: ControllerConfig = NO_REBALANCE) -> AsyncIterator[tuple[ControllerNode, dict[int, StandInBroker]]]:
    node = ControllerNode(0, chroot, config)
    others = [StandInBroker(i, chroot) for i in ids if i != 0]
    try:
        await node.start()
        for b in others:
            await b.start()
        brokers = {0: node.broker, **{b.broker_id: b for b in others}}

        def ready() -> bool:
            ctl = node.controller
            return ctl is not None and ctl.is_active and set(ctl.context.live_brokers) == set(ids)  # type: ignore[union-attr]

        await async_wait_until(ready, message="controller did not see every broker")
        yield node, brokers
    finally:
        await node.stop()
        for b in others:
            await b.stop()


def state(zk: KafkaZkClient, tp: TopicPartition) -> tuple[int, int, list[int]] | None:
    got = zk.get_partition_state(tp)
    return None if got is None else (got[0].leader, got[0].leader_epoch, list(got[0].isr))


async def wait_state(zk: KafkaZkClient, tp: TopicPartition, expected: tuple[int, int, list[int]]) -> None:
    try:
        await async_wait_until(lambda: state(zk, tp) == expected)
    except AssertionError:
        raise AssertionError(f"{tp}: state {state(zk, tp)} != expected {expected}") from None


@run_async
async def test_topic_creation_elects_first_live_replica_and_informs_brokers(zk: KafkaZkClient, zk_chroot: str) -> None:
    async with cluster(zk_chroot) as (node, brokers):
        assignment = assign_replicas([0, 1, 2], 3, 2)  # {0: [0, 1], 1: [1, 2], 2: [2, 0]}
        zk.create_topic_assignment("orders", assignment)
        for p, replicas in assignment.items():
            await wait_state(zk, TopicPartition("orders", p), (replicas[0], 0, replicas))
        assert zk.get_partition_state(TopicPartition("orders", 0))[0].controller_epoch == 1  # type: ignore[index]

        # LeaderAndIsr (is_new) went to each replica of each partition, nowhere else.
        for b, broker in brokers.items():
            mine = {tp.partition for tp in await async_wait_until(
                lambda broker=broker: {tp: s for tp, s in broker.leader_and_isr_states().items()
                                       if tp.topic == "orders"} or None)}
            assert mine == {p for p, r in assignment.items() if b in r}
            for tp, s in broker.leader_and_isr_states().items():
                assert s.is_new and s.leader == assignment[tp.partition][0] and s.replicas == assignment[tp.partition]
        # Every broker learns every partition's leader through UpdateMetadata.
        for broker in brokers.values():
            await async_wait_until(lambda broker=broker: len([tp for tp in broker.metadata() if tp.topic == "orders"]) == 3)
            req = broker.messages(UpdateMetadataRequest)[-1]
            assert {lb.id for lb in req.live_brokers} == {0, 1, 2}
            assert req.controller_epoch == 1 and req.broker_epoch == broker.broker_epoch
        kinds = [e.kind for e in node.events.recent()]
        assert "topic.created" in kinds
        elected = [e.fields for e in node.events.recent(kind_prefix="partition.leader_elected")]
        assert sorted((f["partition"], f["leader"], f["strategy"]) for f in elected) == [(0, 0, "new"), (1, 1, "new"), (2, 2, "new")]


@run_async
async def test_new_partition_with_a_dead_replica_gets_live_replicas_only(zk: KafkaZkClient, zk_chroot: str) -> None:
    async with cluster(zk_chroot, ids=(0, 1)) as (_node, _brokers):
        zk.create_topic_assignment("t", {0: [2, 1, 0], 1: [2]})
        await wait_state(zk, TopicPartition("t", 0), (1, 0, [1, 0]))
        # No live replica at all: the partition stays New (no state znode) until broker 2 appears.
        b2 = StandInBroker(2, zk_chroot)
        try:
            assert state(zk, TopicPartition("t", 1)) is None
            await b2.start()
            await wait_state(zk, TopicPartition("t", 1), (2, 0, [2]))
            # Leadership of partition 0 does not move back to the returning preferred replica by itself.
            assert state(zk, TopicPartition("t", 0)) == (1, 0, [1, 0])
        finally:
            await b2.stop()


@run_async
async def test_broker_failure_elects_from_isr_and_informs_survivors(zk: KafkaZkClient, zk_chroot: str) -> None:
    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("t", {0: [0, 1], 1: [1, 2], 2: [2, 0]})
        await wait_state(zk, TopicPartition("t", 1), (1, 0, [1, 2]))
        await brokers[1].crash()

        await wait_state(zk, TopicPartition("t", 1), (2, 1, [2]))   # new leader from the ISR, epoch + 1
        await wait_state(zk, TopicPartition("t", 0), (0, 1, [0]))   # follower 1 leaves the ISR
        assert state(zk, TopicPartition("t", 2)) == (2, 0, [2, 0])   # untouched

        def lai(b: int, p: int) -> tuple[int, int, list[int]] | None:
            s = brokers[b].leader_and_isr_states().get(TopicPartition("t", p))
            return None if s is None else (s.leader, s.leader_epoch, s.isr)

        await async_wait_until(lambda: lai(2, 1) == (2, 1, [2]))
        await async_wait_until(lambda: lai(0, 0) == (0, 1, [0]))
        for b in (0, 2):
            await async_wait_until(lambda b=b: brokers[b].metadata().get(TopicPartition("t", 1)) is not None
                                   and brokers[b].metadata()[TopicPartition("t", 1)].leader == 2)
            um = brokers[b].messages(UpdateMetadataRequest)[-1]
            assert 1 not in {lb.id for lb in um.live_brokers}
        assert brokers[2].metadata()[TopicPartition("t", 1)].offline_replicas == [1]
        assert [e.fields["broker"] for e in node.events.recent(kind_prefix="broker.failed")] == [1]

        # Broker 1 returns: it gets LeaderAndIsr for its replicas; leadership stays where it is.
        await brokers[1].register()
        await async_wait_until(lambda: brokers[1].messages(LeaderAndIsrRequest)
                               and brokers[1].messages(LeaderAndIsrRequest)[-1].broker_epoch == brokers[1].broker_epoch)
        await async_wait_until(lambda: lai(1, 1) == (2, 1, [2]) and lai(1, 0) == (0, 1, [0]))
        assert state(zk, TopicPartition("t", 1)) == (2, 1, [2])


@run_async
async def test_last_isr_member_stays_and_leads_again_when_back(zk: KafkaZkClient, zk_chroot: str) -> None:
    tp = TopicPartition("solo", 0)
    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("solo", {0: [1, 2]})
        await wait_state(zk, tp, (1, 0, [1, 2]))
        await brokers[1].leader_set_isr(tp, [1])  # the leader dropped its lagging follower
        await async_wait_until(lambda: node.controller.context.leadership[tp].isr == (1,))  # type: ignore[union-attr]

        await brokers[1].crash()
        await wait_state(zk, tp, (-1, 1, [1]))  # no leader; the last ISR member is kept
        assert any(e.fields.get("partition") == 0 for e in node.events.recent(kind_prefix="partition.offline"))
        await async_wait_until(lambda: (s := brokers[2].leader_and_isr_states().get(tp)) is not None and s.leader == -1)
        assert not node.events.recent(kind_prefix="election.unclean")

        await brokers[1].register()
        await wait_state(zk, tp, (1, 2, [1]))


@run_async
async def test_unclean_election_only_when_the_topic_allows_it(zk: KafkaZkClient, zk_chroot: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    tp = TopicPartition("risky", 0)
    caplog.set_level(logging.WARNING, logger="kafka_zk.controller")
    async with cluster(zk_chroot) as (node, brokers):
        zk.set_or_create_entity_config("topics", "risky", {"unclean.leader.election.enable": "true"})
        zk.create_topic_assignment("risky", {0: [1, 2]})
        await wait_state(zk, tp, (1, 0, [1, 2]))
        await brokers[1].leader_set_isr(tp, [1])
        await async_wait_until(lambda: node.controller.context.leadership[tp].isr == (1,))  # type: ignore[union-attr]
        await brokers[1].crash()
        await wait_state(zk, tp, (2, 1, [2]))
        unclean = await async_wait_until(lambda: node.events.recent(kind_prefix="election.unclean"))
        assert [(e.fields["partition"], e.fields["leader"]) for e in unclean] == [(0, 2)]
        loud = [r for r in caplog.records if r.levelno == logging.WARNING and "UNCLEAN" in r.getMessage()]
        assert len(loud) == 1


@run_async
async def test_topic_deletion_end_to_end(zk: KafkaZkClient, zk_chroot: str) -> None:
    async with cluster(zk_chroot) as (node, brokers):
        zk.set_or_create_entity_config("topics", "gone", {"retention.ms": "1000"})
        zk.create_topic_assignment("gone", {0: [0, 1], 1: [1, 2]})
        await wait_state(zk, TopicPartition("gone", 1), (1, 0, [1, 2]))
        zk.mark_topic_for_deletion("gone")

        await async_wait_until(lambda: not zk.topic_exists("gone"), message="topic znode not removed")
        await async_wait_until(lambda: node.events.recent(kind_prefix="topic.deleted"))
        assert zk.get_topic_deletions() == []
        assert zk.get_entity_config("topics", "gone") == {}
        ctx = node.controller.context  # type: ignore[union-attr]
        assert "gone" not in ctx.all_topics and not ctx.partitions_for_topic("gone")
        # Each replica was stopped, then deleted; brokers were told to stop serving the topic (leader -2).
        assert brokers[2].stop_replicas() == [(TopicPartition("gone", 1), False), (TopicPartition("gone", 1), True)]
        assert sorted(brokers[1].stop_replicas()) == sorted(
            [(TopicPartition("gone", p), d) for p in (0, 1) for d in (False, True)])
        assert brokers[2].metadata()[TopicPartition("gone", 0)].leader == -2


@run_async
async def test_topic_deletion_waits_for_a_dead_replica(zk: KafkaZkClient, zk_chroot: str) -> None:
    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("later", {0: [1, 2]})
        await wait_state(zk, TopicPartition("later", 0), (1, 0, [1, 2]))
        await brokers[2].crash()
        await wait_state(zk, TopicPartition("later", 0), (1, 1, [1]))
        zk.mark_topic_for_deletion("later")
        await async_wait_until(lambda: "later" in node.controller.context.topics_ineligible_for_deletion)  # type: ignore[union-attr]
        assert zk.topic_exists("later")
        await brokers[2].register()
        await async_wait_until(lambda: not zk.topic_exists("later"), message="deletion did not resume")


@run_async
async def test_controlled_shutdown_moves_leadership_off_the_broker(zk: KafkaZkClient, zk_chroot: str) -> None:
    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("t", {0: [1, 2], 1: [2, 1], 2: [1]})
        await wait_state(zk, TopicPartition("t", 1), (2, 0, [2, 1]))
        ctl = node.controller
        assert ctl is not None

        assert await ctl.controlled_shutdown(1, brokers[1].broker_epoch - 1) == (ErrorCode.STALE_BROKER_EPOCH, [])
        assert await ctl.controlled_shutdown(7, -1) == (ErrorCode.BROKER_NOT_AVAILABLE, [])
        code, remaining = await ctl.controlled_shutdown(1, brokers[1].broker_epoch)
        assert code is ErrorCode.NONE and remaining == []  # single-replica partition 2 is not counted
        assert state(zk, TopicPartition("t", 0)) == (2, 1, [2])  # led by 1 → moved, 1 left the ISR
        assert state(zk, TopicPartition("t", 1)) == (2, 1, [2])  # followed by 1 → out of the ISR
        await async_wait_until(lambda: (TopicPartition("t", 1), False) in brokers[1].stop_replicas())
        elected = node.events.recent(kind_prefix="partition.leader_elected")
        assert elected[-1].fields["strategy"] == "controlled_shutdown"
        # The broker then exits: nothing left to move.
        await brokers[1].crash()
        await async_wait_until(lambda: 1 not in node.controller.context.live_brokers)  # type: ignore[union-attr]
        assert state(zk, TopicPartition("t", 0)) == (2, 1, [2])


@run_async
async def test_controlled_shutdown_on_a_non_controller_is_refused(zk_chroot: str) -> None:
    a, b = ControllerNode(1, zk_chroot), ControllerNode(2, zk_chroot)
    try:
        await a.start()
        await async_wait_until(lambda: a.controller.is_active)  # type: ignore[union-attr]
        await b.start()
        assert b.controller is not None
        assert await b.controller.controlled_shutdown(1, a.broker.broker_epoch) == (ErrorCode.STALE_CONTROLLER_EPOCH, [])
        assert await b.controller.elect_leaders([TopicPartition("t", 0)]) == {
            TopicPartition("t", 0): (ErrorCode.NOT_CONTROLLER, "not the controller")}
    finally:
        await a.stop()
        await b.stop()


@run_async
async def test_isr_change_notification_updates_metadata(zk: KafkaZkClient, zk_chroot: str) -> None:
    tp = TopicPartition("t", 0)
    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("t", {0: [1, 2, 0]})
        await wait_state(zk, tp, (1, 0, [1, 2, 0]))
        await brokers[1].leader_set_isr(tp, [1, 0])
        for b in brokers.values():
            await async_wait_until(lambda b=b: b.metadata().get(tp) is not None and b.metadata()[tp].isr == [1, 0])
        await async_wait_until(lambda: zk.get_all_isr_change_notifications() == [])
        changes = [e.fields for e in node.events.recent(kind_prefix="isr.changed")]
        assert changes[-1]["isr"] == [1, 0] and changes[-1]["source"] == "leader"
        assert state(zk, tp) == (1, 0, [1, 0])  # no controller write, no epoch bump



@run_async
async def test_controlled_shutdown_request_over_the_control_plane(zk: KafkaZkClient, zk_chroot: str) -> None:
    import aiohttp

    from kafka_zk.common.control import (ControlledShutdownRequest, ControlledShutdownResponse, decode_control,
                                         encode_control)

    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("t", {0: [1, 0]})
        await wait_state(zk, TopicPartition("t", 0), (1, 0, [1, 0]))
        url = f"http://127.0.0.1:{node.broker.port}/control/controlled_shutdown"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=encode_control(ControlledShutdownRequest(1, brokers[1].broker_epoch))) as r:
                resp = decode_control(await r.read(), expect=ControlledShutdownResponse)
        assert (resp.error_code, resp.remaining_partitions) == (0, [])
        assert state(zk, TopicPartition("t", 0)) == (0, 1, [0])


@run_async
async def test_malformed_znodes_are_logged_and_skipped(zk: KafkaZkClient, zk_chroot: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="kafka_zk.controller")
    zk.create_top_level_paths()
    zk.kazoo.create(paths.topic_path("bad"), b"{not json")
    zk.create_topic_assignment("good", {0: [0]})
    zk.kazoo.create(paths.partition_state_path("good", 0), b'{"version":1}', makepath=True)
    async with cluster(zk_chroot) as (node, _brokers):
        zk.create_topic_assignment("later", {0: [1]})
        await wait_state(zk, TopicPartition("later", 0), (1, 0, [1]))
        assert "bad" not in node.controller.context.assignments  # type: ignore[union-attr]
        assert any(r.getMessage() == "ignoring a malformed znode" for r in caplog.records)
