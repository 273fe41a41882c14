"""A leader's ISR writes against a real ZooKeeper: the replica manager relies on ``zk_layout`` alone to
recognise its own earlier write (one that landed before a connection loss), and treats a newer leader epoch
in ZooKeeper as "a new leader was elected": it stops leading."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.clock import ManualClock
from kafka_zk.common.control import LeaderAndIsrPartitionState, LeaderAndIsrRequest
from kafka_zk.common.events import EventBus
from kafka_zk.common.tp import TopicPartition
from kafka_zk.log.config import LogConfig
from kafka_zk.log.manager import LogManager
from kafka_zk.record.builder import build_batch
from kafka_zk.replication.fetcher import ReplicaFetcherManager
from kafka_zk.replication.replica_manager import ReplicaManager, ReplicaManagerConfig
from kafka_zk.zk.bridge import AsyncZk
from tests.helpers import run_async
from zk_layout.client import KafkaZkClient
from zk_layout.znodes import PartitionState

TP = TopicPartition("orders", 0)
LAG_MS = 10_000


async def leader_with_lagging_follower(
    zk: KafkaZkClient, log_dir: Path
) -> tuple[ReplicaManager, AsyncZk, int]:
    """Broker 1 leads orders-0 (ISR 1,2; state znode at version 0); follower 2 never fetched and is now
    past replica.lag.time.max.ms, so the next expiration check proposes ISR (1,)."""
    epoch, epoch_version = zk.register_controller_and_increment_epoch(0)
    zk.create_topic_assignment(TP.topic, {0: [1, 2]})
    assert zk.create_partition_states({TP: PartitionState(1, 0, (1, 2), epoch)}, epoch_version)[TP].ok
    clock = ManualClock()
    events = EventBus(1, clock)
    config = LogConfig()
    logs = LogManager([str(log_dir)], config, clock, events)
    logs.startup()
    az = AsyncZk(zk)

    async def topic_config(topic: str) -> LogConfig:
        return config

    rm = ReplicaManager(
        ReplicaManagerConfig(1, LAG_MS),
        logs,
        az.call,
        zk,
        clock,
        events,
        topic_config,
        ReplicaFetcherManager(1, {}, events),
    )
    state = LeaderAndIsrPartitionState(TP.topic, TP.partition, epoch, 1, 0, [1, 2], 0, [1, 2])
    await rm.become_leader_or_follower(LeaderAndIsrRequest(0, epoch, 0, [state], []))
    await rm.append_records(1000, 1, {TP: memoryview(bytearray(build_batch([(1000, None, b"v")])))})
    clock.advance(LAG_MS + 1)
    return rm, az, epoch


async def expire_and_write(rm: ReplicaManager) -> None:
    rm._check_isr_expiration()
    while rm._isr_writes:
        await asyncio.sleep(0.01)


@run_async
async def test_an_isr_write_that_already_landed_counts_as_written(zk: KafkaZkClient, tmp_path: Path) -> None:
    rm, az, epoch = await leader_with_lagging_follower(zk, tmp_path)
    try:
        # Our shrink reached ZooKeeper but the answer was lost: the znode already holds it, at version 1.
        assert zk.update_partition_state(TP, PartitionState(1, 0, (1,), epoch), expected_version=0).ok
        await expire_and_write(rm)  # proposes the same shrink at the stale version 0
        p = rm.partition(TP)
        assert p is not None and p.is_leader
        assert (p.isr, p.zk_version) == ((1,), 1)  # adopted as our write, at the znode's version
        shrinks = [e for e in rm.events.recent() if e.kind == kinds.ISR_SHRINK]
        assert [(e.fields["new_isr"], e.fields["zk_version"]) for e in shrinks] == [([1], 1)]
    finally:
        await rm.shutdown()
        rm.log_manager.shutdown()
        await az.aclose()


@run_async
async def test_a_newer_leader_epoch_in_zookeeper_stops_the_leader(zk: KafkaZkClient, tmp_path: Path) -> None:
    rm, az, epoch = await leader_with_lagging_follower(zk, tmp_path)
    try:
        # The controller elected broker 2 (epoch 1) and we have not heard yet.
        assert zk.update_partition_state(TP, PartitionState(2, 1, (2,), epoch), expected_version=0).ok
        await expire_and_write(rm)
        p = rm.partition(TP)
        assert p is not None and not p.is_leader and p.isr == (1, 2)  # no ISR of ours was applied
        produce = await rm.append_records(
            1000, 1, {TP: memoryview(bytearray(build_batch([(1000, None, b"x")])))}
        )
        assert produce[TP].error.name == "NOT_LEADER_OR_FOLLOWER"
        assert [e.kind for e in rm.events.recent() if e.kind == kinds.REPLICA_FENCED] == [
            kinds.REPLICA_FENCED
        ]
    finally:
        await rm.shutdown()
        rm.log_manager.shutdown()
        await az.aclose()
