"""The leader's replication rules and the Partition state, without sockets: real logs, a manual clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.control import LeaderAndIsrPartitionState
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.events import CoalescingEmitter, EventBus
from kafka_zk.common.tp import TopicPartition
from kafka_zk.log.config import LogConfig
from kafka_zk.log.log import Log
from kafka_zk.record.builder import build_batch
from kafka_zk.replication.isr import FollowerProgress, can_join_isr, high_watermark_candidate, out_of_sync_replicas
from kafka_zk.replication.partition import Partition
from kafka_zk.replication.purgatory import CallbackOperation, Purgatory

LAG = 10_000
TP = TopicPartition("t", 0)


# ---- pure rules ------------------------------------------------------------------------------------------


def test_follower_caught_up_now_or_at_previous_fetch() -> None:
    f = FollowerProgress(2)
    f.update(fetch_offset=10, leader_leo=10, now_ms=1000)
    assert f.last_caught_up_ms == 1000  # reached the leader's end
    f.update(fetch_offset=12, leader_leo=15, now_ms=2000)
    assert f.last_caught_up_ms == 1000  # 12 >= the leader's LEO at the previous fetch (10): caught up at 1000
    f.update(fetch_offset=15, leader_leo=20, now_ms=3000)
    assert f.last_caught_up_ms == 2000  # reached 15, the LEO at the 2000 fetch
    f.update(fetch_offset=16, leader_leo=30, now_ms=4000)
    assert f.last_caught_up_ms == 2000  # 16 < 20: not caught up


def test_shrink_only_lagging_members_whose_leo_differs() -> None:
    followers = {2: FollowerProgress(2, log_end_offset=100, last_caught_up_ms=0),
                 3: FollowerProgress(3, log_end_offset=90, last_caught_up_ms=0),
                 4: FollowerProgress(4, log_end_offset=90, last_caught_up_ms=95_000)}
    out = out_of_sync_replicas(1, 100, (1, 2, 3, 4), followers, now_ms=100_000, max_lag_ms=LAG)
    assert out == [3]  # 2 has the leader's LEO (KAFKA-7152), 4 was caught up 5 s ago


def test_expand_needs_hw_and_current_epoch_start() -> None:
    f = FollowerProgress(3, log_end_offset=50)
    assert can_join_isr(f, (1, 2), (1, 2, 3), high_watermark=50, leader_epoch_start_offset=40)
    assert not can_join_isr(f, (1, 2), (1, 2, 3), high_watermark=51, leader_epoch_start_offset=40)
    assert not can_join_isr(f, (1, 2), (1, 2, 3), high_watermark=50, leader_epoch_start_offset=60)  # KAFKA-7128
    assert not can_join_isr(f, (1, 2), (1, 2), high_watermark=0, leader_epoch_start_offset=0)  # not a replica


def test_high_watermark_is_min_leo_over_isr_and_recently_caught_up() -> None:
    followers = {2: FollowerProgress(2, log_end_offset=80, last_caught_up_ms=99_000),
                 3: FollowerProgress(3, log_end_offset=20, last_caught_up_ms=0)}
    assert high_watermark_candidate(1, 100, (1, 2), followers, 100_000, LAG) == 80
    assert high_watermark_candidate(1, 100, (1, 2, 3), followers, 100_000, LAG) == 20
    followers[3].last_caught_up_ms = 95_000  # out of the ISR but caught up recently: holds the HW too
    assert high_watermark_candidate(1, 100, (1, 2), followers, 100_000, LAG) == 20
    assert high_watermark_candidate(1, 100, (1, 2, 5), followers, 100_000, LAG) == -1  # 5 never fetched


# ---- Partition ----------------------------------------------------------------------------------------------


def state(leader: int, epoch: int, isr: list[int], zk_version: int = 0) -> LeaderAndIsrPartitionState:
    return LeaderAndIsrPartitionState("t", 0, 1, leader, epoch, isr, zk_version, [1, 2, 3])


@pytest.fixture
def partition(tmp_path: Path) -> Partition:
    clock = ManualClock()
    lg = Log(str(tmp_path / "t-0"), LogConfig())
    return Partition(TP, 1, clock, EventBus(1, clock), lg, LAG)


def append(p: Partition, n: int = 1, acks: int = 1, min_isr: int = 1) -> None:
    batch = build_batch([(1000, None, b"v%d" % i) for i in range(n)])
    p.append_as_leader(memoryview(bytearray(batch)), acks, min_isr)


def test_stale_leader_epoch_is_refused(partition: Partition) -> None:
    partition.make_leader(state(1, 5, [1, 2, 3]))
    with pytest.raises(KafkaError) as e:
        partition.make_leader(state(1, 5, [1, 2]))
    assert e.value.code == ErrorCode.STALE_CONTROLLER_EPOCH
    assert partition.leader_epoch_start_offset == 0
    assert partition.log.leader_epoch_cache.entries == [(5, 0)]


def test_acks_all_needs_min_isr_and_waits_for_the_isr(partition: Partition) -> None:
    partition.make_leader(state(1, 0, [1, 2]))
    with pytest.raises(KafkaError) as e:
        append(partition, acks=-1, min_isr=3)
    assert e.value.code == ErrorCode.NOT_ENOUGH_REPLICAS
    append(partition, 3, acks=-1, min_isr=2)
    assert partition.log.high_watermark == 0  # follower 2 has not fetched it
    assert partition.produce_completion(3, 2) is None
    partition.record_follower_fetch(2, 3)  # follower 2 fetches from offset 3 = it has 0..2
    assert partition.log.high_watermark == 3
    assert partition.produce_completion(3, 2) == ErrorCode.NONE


def test_follower_reaching_hw_is_proposed_for_the_isr_and_holds_the_hw_while_pending(partition: Partition) -> None:
    partition.make_leader(state(1, 0, [1, 2]))
    append(partition, 5)
    partition.record_follower_fetch(2, 5)
    assert partition.log.high_watermark == 5
    proposal = partition.record_follower_fetch(3, 5)
    assert proposal is not None and proposal.reason == "expand" and proposal.isr == (1, 2, 3)
    append(partition, 1)  # LEO 6
    partition.record_follower_fetch(2, 6)
    assert partition.log.high_watermark == 5  # 3 is pending in the ISR: the HW waits for it too
    partition.record_follower_fetch(3, 6)
    assert partition.log.high_watermark == 6
    assert partition.isr_update_succeeded(proposal, new_zk_version=1)
    assert partition.isr == (1, 2, 3) and partition.zk_version == 1


def test_lagging_follower_is_proposed_out_after_the_lag_time(partition: Partition) -> None:
    clock = partition.clock
    partition.make_leader(state(1, 0, [1, 2, 3]))
    append(partition, 2)
    partition.record_follower_fetch(2, 2)
    partition.record_follower_fetch(3, 0)
    assert partition.propose_isr_shrink() is None
    clock.advance(LAG + 1)  # type: ignore[attr-defined]
    partition.record_follower_fetch(2, 2)
    proposal = partition.propose_isr_shrink()
    assert proposal is not None and proposal.isr == (1, 2)
    assert partition.propose_isr_shrink() is None  # one proposal in flight at a time
    partition.isr_update_failed(proposal)
    assert partition.propose_isr_shrink() is not None


def test_isr_update_for_an_old_epoch_is_ignored_and_fencing_stops_produce(partition: Partition) -> None:
    partition.make_leader(state(1, 0, [1, 2]))
    append(partition, 2)
    partition.record_follower_fetch(2, 2)
    proposal = partition.record_follower_fetch(3, 2)
    assert proposal is not None
    partition.make_leader(state(1, 1, [1, 2]))  # the controller bumped the epoch meanwhile
    assert not partition.isr_update_succeeded(proposal, 7)
    assert partition.isr == (1, 2)
    partition.fence("leader epoch 2 in ZooKeeper")
    with pytest.raises(KafkaError) as e:
        append(partition)
    assert e.value.code == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert partition.produce_completion(1, 1) == ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_follower_hw_is_clamped_to_its_log(partition: Partition) -> None:
    partition.make_follower(state(2, 0, [2, 1]))
    partition.log.append_as_follower(memoryview(build_batch([(1000, None, b"a"), (1000, None, b"b")])))
    partition.update_follower_high_watermark(100)
    assert partition.log.high_watermark == 2


# ---- purgatory and events -------------------------------------------------------------------------------


def test_purgatory_completes_on_wake_or_times_out() -> None:
    async def run() -> None:
        purgatory = Purgatory("test")
        ready = {"x": False}
        op = CallbackOperation(lambda: ready["x"])
        waiter = asyncio.create_task(purgatory.wait(op, ["k"], timeout_ms=5000))
        await asyncio.sleep(0.01)
        assert purgatory.wake("k") == 0 and not waiter.done()
        ready["x"] = True
        assert purgatory.wake("k") == 1
        assert await waiter is True
        assert len(purgatory) == 0
        late = CallbackOperation(lambda: False)
        assert await purgatory.wait(late, ["k"], timeout_ms=20) is False
        assert len(purgatory) == 0

    asyncio.run(run())


def test_coalescing_emitter_keeps_the_last_value() -> None:
    async def run() -> None:
        bus = EventBus(1)
        em = CoalescingEmitter(bus, interval_ms=50)
        for hw in range(100):
            em.emit("t-0", "replica.hw", high_watermark=hw)
        assert [e.fields["high_watermark"] for e in bus.recent()] == [0]
        await asyncio.sleep(0.1)
        assert [e.fields["high_watermark"] for e in bus.recent()] == [0, 99]

    asyncio.run(run())
