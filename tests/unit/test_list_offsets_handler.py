"""ListOffsets handler rules without sockets: the v0 "offsets before" answer (Kafka's
``legacyFetchOffsetsBefore``), and the v4+ leader-epoch checks (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.list_offsets import ListOffsetsRequest as L
from kafka_zk.server.handlers import list_offsets


@dataclass
class Seg:
    base_offset: int
    last_modified_ms: int
    size: int = 100


@dataclass
class FakeLog:
    segments: list[Seg]
    log_start_offset: int = 0
    log_end_offset: int = 300
    high_watermark: int = 250
    leader_epoch_cache: Any = field(default_factory=lambda: SimpleNamespace(epoch_for_offset=lambda o: 3))


class FakeReplicaManager:
    def __init__(self, log: FakeLog, leader_epoch: int = 5) -> None:
        self.p = SimpleNamespace(log=log, leader_epoch=leader_epoch)

    def leader_partition(self, tp: Any) -> Any:
        return self.p

    def fetch_offset_for_timestamp(self, tp: Any, ts: int, from_consumer: bool) -> tuple[int, int]:
        return (-1, self.p.log.high_watermark) if ts == -1 else (-1, self.p.log.log_start_offset)


LOG = FakeLog([Seg(0, 1000), Seg(100, 2000), Seg(200, 3000)])


def offsets_before(ts: int, n: int, consumer: bool = True) -> list[int]:
    return list_offsets.legacy_offsets_before(FakeReplicaManager(LOG), TopicPartition("t", 0), ts, n, consumer, now_ms=9999)


def test_v0_latest_is_the_high_watermark_then_segment_bases_newest_first() -> None:
    assert offsets_before(-1, 10) == [250, 200, 100, 0]
    assert offsets_before(-1, 10, consumer=False) == [300, 200, 100, 0]
    assert offsets_before(-1, 2) == [250, 200]


def test_v0_earliest_and_timestamps_pick_segments_modified_at_or_before() -> None:
    assert offsets_before(-2, 10) == [0]
    assert offsets_before(2500, 10) == [100, 0]
    assert offsets_before(500, 10) == []
    assert offsets_before(2500, 0) == []


def run(version: int, current_leader_epoch: int, timestamp: int = -1) -> Any:
    broker: Any = SimpleNamespace(replica_manager=FakeReplicaManager(LOG))  # the BrokerServices a handler uses
    req = L(replica_id=-1, topics=[L.ListOffsetsTopic(name="t", partitions=[
        L.ListOffsetsPartition(partition_index=0, timestamp=timestamp, current_leader_epoch=current_leader_epoch)])])
    ctx: Any = SimpleNamespace(api_version=version)
    resp = asyncio.run(list_offsets.handle(broker, ctx, req))
    return resp.topics[0].partitions[0]


def test_v4_plus_check_the_current_leader_epoch_and_answer_the_offsets_epoch() -> None:
    assert run(4, 4).error_code == ErrorCode.FENCED_LEADER_EPOCH
    assert run(6, 6).error_code == ErrorCode.UNKNOWN_LEADER_EPOCH
    ok = run(5, 5)
    assert (ok.error_code, ok.offset, ok.leader_epoch) == (0, 250, 5)  # latest: the partition's epoch
    early = run(6, -1, timestamp=-2)
    assert (early.offset, early.leader_epoch) == (0, 3)  # the epoch that wrote the offset
    assert run(3, 4).error_code == 0 and run(3, 4).leader_epoch == -1  # no epochs before v4
