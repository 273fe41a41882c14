"""Controller election against a real ZooKeeper: one winner, failover with epoch + 1, fencing of the loser."""

from __future__ import annotations

import asyncio

import pytest

from helpers import async_wait_until, run_async
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.context import LeaderAndIsr
from kafka_zk.controller.testing import ControllerNode
from zk_layout import ControllerMovedError, KafkaZkClient


async def _active(nodes: list[ControllerNode]) -> ControllerNode:
    async def one() -> ControllerNode | None:
        active = [n for n in nodes if n.controller is not None and n.controller.is_active]
        return active[0] if len(active) == 1 else None

    return await async_wait_until(one, timeout=10, message="no single active controller")


@run_async
async def test_single_winner_among_two_and_failover_bumps_epoch(zk: KafkaZkClient, zk_chroot: str) -> None:
    nodes = [ControllerNode(1, zk_chroot), ControllerNode(2, zk_chroot)]
    await asyncio.gather(*(n.start() for n in nodes))
    try:
        first = await _active(nodes)
        other = next(n for n in nodes if n is not first)
        assert zk.get_controller_id() == first.broker_id
        assert first.controller is not None and first.controller.epoch == 1
        assert zk.get_controller_epoch() is not None and zk.get_controller_epoch()[0] == 1  # type: ignore[index]
        assert other.controller is not None
        await async_wait_until(lambda: other.controller.active_controller_id == first.broker_id)  # type: ignore[union-attr]
        assert not other.controller.is_active
        assert [e.fields["epoch"] for e in first.events.recent(kind_prefix="controller.elected")] == [1]

        await first.crash()  # session closed: /controller vanishes
        await async_wait_until(lambda: other.controller.is_active, timeout=10)  # type: ignore[union-attr]
        assert other.controller.epoch == 2
        assert zk.get_controller_id() == other.broker_id
        assert zk.get_controller_epoch()[0] == 2  # type: ignore[index]
    finally:
        for n in nodes:
            await n.stop()


@run_async
async def test_deposed_controller_writes_are_rejected(zk: KafkaZkClient, zk_chroot: str) -> None:
    a = ControllerNode(1, zk_chroot)
    await a.start()
    b = ControllerNode(2, zk_chroot)
    try:
        await async_wait_until(lambda: a.controller.is_active)  # type: ignore[union-attr]
        zk.create_topic_assignment("t", {0: [1]})
        tp = TopicPartition("t", 0)
        await async_wait_until(lambda: zk.get_partition_state(tp) is not None)
        old = a.controller._active  # type: ignore[union-attr]
        assert old is not None
        stale_version = old.ctx.epoch_zk_version

        # Broker 1's controller loses /controller (as after a long pause); broker 2 takes over.
        await b.start()
        zk.delete_controller(stale_version)
        await async_wait_until(lambda: any(n.controller.is_active and n.controller.epoch == 2  # type: ignore[union-attr]
                                               for n in (a, b)))
        state_before = zk.get_partition_state(tp)

        # The old incarnation's write (fenced by the old /controller_epoch zkVersion) is refused.
        li = LeaderAndIsr(1, 99, (1,), 1, state_before[1])  # type: ignore[index]
        with pytest.raises(ControllerMovedError):
            await old.zk.update_partition_states({tp: li}, stale_version)
        assert zk.get_partition_state(tp) == state_before
    finally:
        await a.stop()
        await b.stop()


@run_async
async def test_controller_resigns_when_its_session_expires(zk: KafkaZkClient, zk_chroot: str) -> None:
    from helpers import expire_session

    a = ControllerNode(1, zk_chroot)
    await a.start()
    try:
        await async_wait_until(lambda: a.controller.is_active)  # type: ignore[union-attr]
        assert a.broker.zk is not None
        await asyncio.get_running_loop().run_in_executor(None, expire_session, a.broker.zk.kazoo)
        await async_wait_until(lambda: a.events.recent(kind_prefix="controller.resigned"), timeout=10)
        # A new session: the broker registers again and the controller is re-elected with a new epoch.
        await a.broker.register()
        await async_wait_until(lambda: a.controller.is_active and a.controller.epoch == 2,  # type: ignore[union-attr]
                               timeout=10)
    finally:
        await a.stop()
