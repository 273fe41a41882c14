"""The controller's KIP-455 entry points (AlterPartitionReassignments / ListPartitionReassignments) against a
real ZooKeeper, with stand-in brokers that record what the controller sends (no broker processes).

Stand-in brokers do not replicate, so a reassignment stays in flight until the test moves the ISR itself:
every intermediate state can be looked at.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.config import ControllerConfig
from kafka_zk.controller.controller import NotControllerError
from kafka_zk.controller.testing import ControllerNode, StandInBroker
from tests.helpers import async_wait_until, run_async
from zk_layout import KafkaZkClient

IDS = (0, 1, 2)


@asynccontextmanager
async def controller_and_brokers(
    chroot: str,
) -> AsyncIterator[tuple[ControllerNode, dict[int, StandInBroker]]]:
    node = ControllerNode(0, chroot, ControllerConfig(auto_leader_rebalance_enable=False))
    others = [StandInBroker(i, chroot) for i in IDS if i != 0]
    try:
        await node.start()
        for b in others:
            await b.start()

        def ready() -> bool:
            ctl = node.controller
            ctx = ctl.context if ctl is not None and ctl.is_active else None
            return ctx is not None and set(ctx.live_brokers) == set(IDS)

        await async_wait_until(ready, message="controller did not see every broker")
        yield node, {0: node.broker, **{b.broker_id: b for b in others}}
    finally:
        await node.stop()
        for b in others:
            await b.stop()


def _leader_isr(zk: KafkaZkClient, tp: TopicPartition) -> tuple[int, list[int]] | None:
    got = zk.get_partition_state(tp)
    return None if got is None else (got[0].leader, list(got[0].isr))


@run_async
async def test_api_request_wins_over_the_znode_and_cancel_stops_the_adding_replicas(
    zk: KafkaZkClient, zk_chroot: str
) -> None:
    r0, r1 = TopicPartition("r", 0), TopicPartition("r", 1)
    async with controller_and_brokers(zk_chroot) as (node, brokers):
        ctl = node.controller
        assert ctl is not None
        zk.create_topic_assignment("r", {0: [0, 1], 1: [1, 0]})
        await async_wait_until(
            lambda: _leader_isr(zk, r0) == (0, [0, 1]) and _leader_isr(zk, r1) == (1, [1, 0])
        )

        # Two reassignments through the old znode; broker 2 is told to host both as a new replica.
        zk.create_partition_reassignment({("r", 0): [1, 2], ("r", 1): [2, 0]})

        def both_started() -> bool:
            states = brokers[2].leader_and_isr_states()
            return all(tp in states and states[tp].is_new for tp in (r0, r1))

        await async_wait_until(both_started)
        ongoing = await ctl.list_partition_reassignments(None)
        assert ongoing == {r0: ((1, 2, 0), (2,), (0,)), r1: ((2, 0, 1), (2,), (1,))}
        assert await ctl.list_partition_reassignments([r1, TopicPartition("r", 9)]) == {
            r1: ((2, 0, 1), (2,), (1,))
        }

        # Cancelling r-1 through the API: the latest request wins, so r-1 leaves the znode; its replicas go
        # back to the original set and broker 2 stops and deletes its copy.  The original *order* is not kept,
        # as in Kafka: the origin replicas are the full list [2, 0, 1] minus the adding [2].
        assert await ctl.alter_partition_reassignments({r1: None}) == {r1: (ErrorCode.NONE, None)}
        assert zk.get_partition_reassignment() == {r0: (1, 2)}
        topic, _ = zk.get_topic_assignment("r")
        assert topic.partitions == {0: (1, 2, 0), 1: (0, 1)}
        assert topic.adding_replicas == {0: (2,)} and topic.removing_replicas == {0: (0,)}
        await async_wait_until(lambda: (r1, True) in brokers[2].stop_replicas())
        assert await ctl.list_partition_reassignments(None) == {r0: ((1, 2, 0), (2,), (0,))}

        # r-0 completes once its targets are in the ISR: leadership moves to 1, broker 0 is dropped.
        await brokers[0].leader_set_isr(r0, [0, 1, 2])
        await async_wait_until(lambda: zk.get_partition_reassignment() is None, timeout=15)
        topic, _ = zk.get_topic_assignment("r")
        assert topic.partitions == {0: (1, 2), 1: (0, 1)} and topic.adding_replicas == {}
        assert (_leader_isr(zk, r0) or (-1,))[0] == 1
        assert await ctl.list_partition_reassignments(None) == {}


@run_async
async def test_api_reassignment_errors_are_kafkas(zk: KafkaZkClient, zk_chroot: str) -> None:
    r0 = TopicPartition("v", 0)
    async with controller_and_brokers(zk_chroot) as (node, _brokers):
        ctl = node.controller
        assert ctl is not None
        zk.create_topic_assignment("v", {0: [0, 1]})
        await async_wait_until(lambda: _leader_isr(zk, r0) == (0, [0, 1]))
        got = await ctl.alter_partition_reassignments({r0: ()})
        assert got[r0][0] is ErrorCode.INVALID_REPLICA_ASSIGNMENT and "empty" in str(got[r0][1])
        for target, fragment in (((1, 1), "more than once"), ((1, -1), "negative"), ((1, 9), "not live")):
            code, message = (await ctl.alter_partition_reassignments({r0: target}))[r0]
            assert code is ErrorCode.INVALID_REPLICA_ASSIGNMENT and fragment in str(message), (
                target,
                message,
            )
        unknown = TopicPartition("v", 5)
        assert (await ctl.alter_partition_reassignments({unknown: (0,)}))[unknown][
            0
        ] is ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert (await ctl.alter_partition_reassignments({r0: None}))[r0][
            0
        ] is ErrorCode.NO_REASSIGNMENT_IN_PROGRESS
        # Nothing was started by any of these.
        assert await ctl.list_partition_reassignments(None) == {}
        assert zk.get_topic_assignment("v")[0].partitions == {0: (0, 1)}

        # A broker whose controller is not the active one refuses: the API answers NOT_CONTROLLER.
        other = ControllerNode(3, zk_chroot)
        try:
            await other.start()
            assert other.controller is not None and not other.controller.is_active
            with pytest.raises(NotControllerError):
                await other.controller.alter_partition_reassignments({r0: (1, 0)})
            with pytest.raises(NotControllerError):
                await other.controller.list_partition_reassignments(None)
        finally:
            await other.stop()
