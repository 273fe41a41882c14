"""``ReplicaManager`` without sockets or ZooKeeper: real logs in a temporary log dir, LeaderAndIsr requests
built by hand, followers played by calling ``fetch_messages`` as a follower's fetch would.

* the stale-epoch rule: a LeaderAndIsr partition state applies only with a newer leader epoch, whatever its
  ``is_new`` says (Kafka 2.8 ``ReplicaManager.becomeLeaderOrFollower``);
* ``append_records``: the acks, internal-topic and leadership checks, acks=all waiting for the ISR.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.control import LeaderAndIsrPartitionState, LeaderAndIsrRequest
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.events import EventBus
from kafka_zk.common.tp import TopicPartition
from kafka_zk.log.config import LogConfig
from kafka_zk.log.manager import LogManager
from kafka_zk.record.builder import build_batch
from kafka_zk.replication.fetcher import ReplicaFetcherManager
from kafka_zk.replication.replica_manager import (
    FetchRequestPartition,
    ReplicaManager,
    ReplicaManagerConfig,
)
from tests.helpers import run_async
from zk_layout.client import KafkaZkClient

BROKER = 1
TP = TopicPartition("orders", 0)
OFFSETS = TopicPartition("__consumer_offsets", 0)


async def _no_zookeeper(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("this test has no ZooKeeper: nothing here may write to it")


def make_manager(log_dir: Path, min_insync_replicas: int = 1) -> ReplicaManager:
    clock = ManualClock()
    events = EventBus(BROKER, clock)
    config = LogConfig.from_broker_props({"min.insync.replicas": str(min_insync_replicas)})
    logs = LogManager([str(log_dir)], config, clock, events)
    logs.startup()

    async def topic_config(topic: str) -> LogConfig:
        return config

    return ReplicaManager(
        ReplicaManagerConfig(BROKER, replica_lag_time_max_ms=10_000),
        logs,
        _no_zookeeper,
        KafkaZkClient("127.0.0.1:1"),  # never started: the calls above would fail first
        clock,
        events,
        topic_config,
        ReplicaFetcherManager(BROKER, {}, events),
    )


async def close(rm: ReplicaManager) -> None:
    await rm.shutdown()
    rm.log_manager.shutdown()


def state(
    tp: TopicPartition,
    leader: int,
    epoch: int,
    isr: list[int],
    is_new: bool = False,
    replicas: list[int] | None = None,
) -> LeaderAndIsrPartitionState:
    return LeaderAndIsrPartitionState(
        tp.topic, tp.partition, 1, leader, epoch, isr, 0, replicas or [1, 2], is_new=is_new
    )


async def leader_and_isr(rm: ReplicaManager, *states: LeaderAndIsrPartitionState) -> list[ErrorCode]:
    """Apply the states; no live leaders are named, so a follower starts no fetcher (no sockets here)."""
    resp = await rm.become_leader_or_follower(LeaderAndIsrRequest(0, 1, 0, list(states), []))
    return [ErrorCode(e.error_code) for e in resp.partition_errors]


def records(n: int) -> memoryview:
    return memoryview(bytearray(build_batch([(1000, None, b"v%d" % i) for i in range(n)])))


async def follower_fetch(rm: ReplicaManager, replica: int, offset: int) -> None:
    await rm.fetch_messages(replica, 0, 1, 1 << 20, [FetchRequestPartition(TP, offset, 0, 1 << 20)])


# ---- the stale-epoch rule ---------------------------------------------------------------------------------


@run_async
async def test_a_leader_and_isr_applies_only_with_a_newer_leader_epoch_even_when_is_new(
    tmp_path: Path,
) -> None:
    rm = make_manager(tmp_path)
    try:
        assert await leader_and_isr(rm, state(TP, 1, 3, [1, 2], is_new=True)) == [ErrorCode.NONE]
        await rm.append_records(1000, 1, {TP: records(2)})
        p = rm.partition(TP)
        assert p is not None and p.leader_epoch == 3 and p.leader_epoch_start_offset == 0
        # the same epoch again, is_new or not, and an older one: refused, nothing changes
        for stale in (
            state(TP, 1, 3, [1], is_new=True),
            state(TP, 1, 3, [1]),
            state(TP, 2, 2, [2], is_new=True),
        ):
            assert await leader_and_isr(rm, stale) == [ErrorCode.STALE_CONTROLLER_EPOCH]
        assert (p.leader_epoch, p.isr, p.leader_epoch_start_offset, p.is_leader) == (3, (1, 2), 0, True)
        with pytest.raises(KafkaError) as e:  # Partition itself follows the same rule
            p.make_leader(state(TP, 1, 3, [1], is_new=True))
        assert e.value.code == ErrorCode.STALE_CONTROLLER_EPOCH
        # a newer epoch applies: the leader epoch starts at the current log end
        assert await leader_and_isr(rm, state(TP, 1, 4, [1])) == [ErrorCode.NONE]
        assert (p.leader_epoch, p.isr, p.leader_epoch_start_offset) == (4, (1,), 2)
    finally:
        await close(rm)


@run_async
async def test_a_replica_not_in_the_assignment_is_unknown(tmp_path: Path) -> None:
    rm = make_manager(tmp_path)
    try:
        got = await leader_and_isr(rm, state(TP, 2, 0, [2, 3], replicas=[2, 3]))
        assert got == [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION] and rm.partition(TP) is None
    finally:
        await close(rm)


# ---- append_records ---------------------------------------------------------------------------------------


@run_async
async def test_append_checks_acks_internal_topics_and_leadership(tmp_path: Path) -> None:
    rm = make_manager(tmp_path)
    try:
        await leader_and_isr(
            rm,
            state(TP, 1, 0, [1, 2]),
            state(OFFSETS, 1, 0, [1, 2]),
            state(TopicPartition("orders", 1), 2, 0, [2, 1]),
        )
        bad_acks = await rm.append_records(1000, 2, {TP: records(1)})
        assert bad_acks[TP].error == ErrorCode.INVALID_REQUIRED_ACKS
        assert rm.partition(TP) is not None and rm.partition(TP).log.log_end_offset == 0  # type: ignore[union-attr]

        got = await rm.append_records(
            1000,
            1,
            {
                OFFSETS: records(1),
                TopicPartition("orders", 1): records(1),  # we follow it
                TopicPartition("nope", 0): records(1),
            },
        )
        assert got[OFFSETS].error == ErrorCode.INVALID_TOPIC_EXCEPTION
        assert got[TopicPartition("orders", 1)].error == ErrorCode.NOT_LEADER_OR_FOLLOWER
        assert got[TopicPartition("nope", 0)].error == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        internal = await rm.append_records(1000, 1, {OFFSETS: records(1)}, internal_topics_allowed=True)
        assert internal[OFFSETS].error == ErrorCode.NONE  # the coordinator writes there
    finally:
        await close(rm)


@run_async
async def test_acks_1_answers_at_once_with_the_assigned_offsets(tmp_path: Path) -> None:
    rm = make_manager(tmp_path)
    try:
        await leader_and_isr(rm, state(TP, 1, 0, [1, 2]))
        first = await rm.append_records(1000, 1, {TP: records(3)})
        second = await rm.append_records(1000, 1, {TP: records(2)})
        assert (first[TP].error, first[TP].base_offset, second[TP].base_offset) == (ErrorCode.NONE, 0, 3)
        assert first[TP].log_start_offset == 0
        p = rm.partition(TP)
        assert p is not None and p.log.log_end_offset == 5 and p.log.high_watermark == 0  # 2 has not fetched
    finally:
        await close(rm)


@run_async
async def test_acks_all_waits_for_the_isr_and_times_out_without_it(tmp_path: Path) -> None:
    rm = make_manager(tmp_path, min_insync_replicas=2)
    try:
        await leader_and_isr(rm, state(TP, 1, 0, [1, 2]))
        pending = asyncio.ensure_future(rm.append_records(5000, -1, {TP: records(3)}))
        await asyncio.sleep(0.05)
        assert not pending.done()  # parked until follower 2 has the records
        await follower_fetch(rm, 2, 3)  # fetching from offset 3 says it holds 0..2
        done = await asyncio.wait_for(pending, 5)
        assert (done[TP].error, done[TP].base_offset) == (ErrorCode.NONE, 0)

        timed_out = await rm.append_records(100, -1, {TP: records(1)})  # nobody fetches it
        assert timed_out[TP].error == ErrorCode.REQUEST_TIMED_OUT
        assert timed_out[TP].base_offset == 3  # it was appended: only the acknowledgement is missing
    finally:
        await close(rm)


@run_async
async def test_acks_all_refuses_an_isr_below_min_insync_replicas(tmp_path: Path) -> None:
    rm = make_manager(tmp_path, min_insync_replicas=2)
    try:
        await leader_and_isr(rm, state(TP, 1, 0, [1]))
        refused = await rm.append_records(1000, -1, {TP: records(1)})
        assert refused[TP].error == ErrorCode.NOT_ENOUGH_REPLICAS
        p = rm.partition(TP)
        assert p is not None and p.log.log_end_offset == 0  # nothing written
        accepted = await rm.append_records(1000, 1, {TP: records(1)})  # acks=1 does not need the ISR
        assert accepted[TP].error == ErrorCode.NONE
    finally:
        await close(rm)
