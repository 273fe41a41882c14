"""DeleteRecords on the leader's ReplicaManager (Kafka 2.8 ``deleteRecordsOnLeader`` + ``DelayedDeleteRecords``):
the log start offset moves, -1 means the high watermark, beyond the HW is OFFSET_OUT_OF_RANGE, a compact-only
topic is POLICY_VIOLATION, and the answer waits until the in-sync followers report the new log start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.log.config import LogConfig
from kafka_zk.replication.replica_manager import FetchRequestPartition, ReplicaManager
from tests.helpers import run_async
from tests.unit.test_replica_manager_unit import OFFSETS, TP, close, leader_and_isr, make_manager, records, state


async def fetch_as(rm: ReplicaManager, replica: int, offset: int, log_start: int) -> None:
    await rm.fetch_messages(replica, 0, 1, 1 << 20, [FetchRequestPartition(TP, offset, log_start, 1 << 20)])


@run_async
async def test_delete_records_waits_for_the_followers_log_start(tmp_path: Path) -> None:
    rm = make_manager(tmp_path)
    try:
        await leader_and_isr(rm, state(TP, 1, 0, [1, 2]))
        await rm.append_records(1000, 1, {TP: records(10)})
        await fetch_as(rm, 2, 10, 0)  # follower has everything: HW 10
        pending = asyncio.ensure_future(rm.delete_records(5000, {TP: 4}))
        await asyncio.sleep(0.05)
        assert not pending.done()  # the follower still starts at 0
        p = rm.partition(TP)
        assert p is not None and p.log.log_start_offset == 4
        await fetch_as(rm, 2, 10, 4)
        assert (await asyncio.wait_for(pending, 5))[TP] == (ErrorCode.NONE, 4)
        # -1 = up to the high watermark; beyond it is out of range
        assert (await asyncio.wait_for(asyncio.ensure_future(_delete_and_follow(rm, -1)), 5)) == (ErrorCode.NONE, 10)
        assert (await rm.delete_records(100, {TP: 11}))[TP] == (ErrorCode.OFFSET_OUT_OF_RANGE, -1)
        # nobody follows: the request times out with the low watermark reached so far
        await rm.append_records(1000, 1, {TP: records(2)})
        await fetch_as(rm, 2, 12, 10)
        assert (await rm.delete_records(50, {TP: 12}))[TP] == (ErrorCode.REQUEST_TIMED_OUT, 10)
    finally:
        await close(rm)


async def _delete_and_follow(rm: ReplicaManager, offset: int) -> tuple[ErrorCode, int]:
    task = asyncio.ensure_future(rm.delete_records(5000, {TP: offset}))
    await asyncio.sleep(0.01)
    await fetch_as(rm, 2, 10, 10)
    return (await task)[TP]


@run_async
async def test_delete_records_refuses_internal_compacted_and_followed_partitions(tmp_path: Path) -> None:
    rm = make_manager(tmp_path)
    try:
        other = TopicPartition("orders", 1)
        await leader_and_isr(rm, state(TP, 1, 0, [1]), state(OFFSETS, 1, 0, [1]), state(other, 2, 0, [2, 1]))
        p = rm.partition(TP)
        assert p is not None
        got = await rm.delete_records(100, {OFFSETS: 0, other: 0, TopicPartition("nope", 0): 0})
        assert got == {
            OFFSETS: (ErrorCode.INVALID_TOPIC_EXCEPTION, -1),
            other: (ErrorCode.NOT_LEADER_OR_FOLLOWER, -1),
            TopicPartition("nope", 0): (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1),
        }
        p.log.config = LogConfig.from_broker_props({"log.cleanup.policy": "compact"})
        assert (await rm.delete_records(100, {TP: 0}))[TP] == (ErrorCode.POLICY_VIOLATION, -1)
    finally:
        await close(rm)
