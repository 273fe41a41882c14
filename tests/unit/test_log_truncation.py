"""Follower truncation: truncate_to, truncate_fully_and_start_at, and their effect on offsets and caches."""

from __future__ import annotations

from pathlib import Path

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.events import EventBus
from kafka_zk.common.regions import FileRegion
from kafka_zk.log import Log, LogConfig
from kafka_zk.record import RecordBatchBuilder, iter_batches

T0 = 1_600_000_000_000


def follower_batch(base: int, n: int, epoch: int) -> bytes:
    b = RecordBatchBuilder(base_offset=base, partition_leader_epoch=epoch)
    for i in range(n):
        b.append(T0 + base + i, f"k{base + i}".encode(), b"v" * 50)
    return b.build()


def offsets(lg: Log) -> list[int]:
    out: list[int] = []
    pos = lg.log_start_offset
    while pos < lg.log_end_offset:
        r = lg.read(pos, 1 << 20).records
        data = r.read() if isinstance(r, FileRegion) else r
        got = [rec.offset for v in iter_batches(data) for rec in v.records()]
        out.extend(got)
        pos = got[-1] + 1
    return out


def make_log(tmp_path: Path, bus: EventBus | None = None) -> Log:
    lg = Log(str(tmp_path / "t-0"), LogConfig({"segment.bytes": "600", "index.interval.bytes": "100"}), clock=ManualClock(T0), had_clean_shutdown=True, events=bus)
    for base, epoch in [(0, 1), (3, 1), (6, 2), (9, 2), (12, 3), (15, 3)]:
        lg.append_as_follower(follower_batch(base, 3, epoch))
    return lg


def test_truncate_to_cuts_the_log_and_every_derived_state(tmp_path: Path) -> None:
    bus = EventBus()
    lg = make_log(tmp_path, bus)
    assert len(lg.segments) > 2
    lg.high_watermark = 18
    assert lg.truncate_to(9)
    assert lg.log_end_offset == 9 and lg.high_watermark == 9 and lg.recovery_point <= 9
    assert offsets(lg) == list(range(9))
    assert lg.leader_epoch_cache.entries == [(1, 0), (2, 6)]
    assert not lg.truncate_to(12)  # beyond the end: nothing to do
    (ev,) = bus.recent(kind_prefix="log.truncated")
    assert ev.fields == {"topic": "t", "partition": 0, "reason": "truncate_to", "from_offset": 18, "to_offset": 9}
    # the log keeps working: new leader data continues from the cut
    lg.append_as_follower(follower_batch(9, 2, 4))
    assert offsets(lg) == list(range(11))
    lg.close()
    lg = Log(str(tmp_path / "t-0"), lg.config, had_clean_shutdown=True)
    assert offsets(lg) == list(range(11)) and lg.leader_epoch_cache.entries == [(1, 0), (2, 6), (4, 9)]
    lg.close()


def test_truncating_inside_a_batch_drops_the_whole_batch(tmp_path: Path) -> None:
    lg = make_log(tmp_path)
    lg.truncate_to(7)
    assert lg.log_end_offset == 6 and offsets(lg) == list(range(6))
    lg.close()


def test_truncate_fully_restarts_the_log_at_a_new_offset(tmp_path: Path) -> None:
    lg = make_log(tmp_path)
    lg.truncate_fully_and_start_at(100)
    assert (lg.log_start_offset, lg.log_end_offset, lg.high_watermark) == (100, 100, 100)
    assert len(lg.segments) == 1 and lg.segments[0].base_offset == 100
    assert lg.leader_epoch_cache.entries == []
    lg.append_as_follower(follower_batch(100, 2, 5))
    assert offsets(lg) == [100, 101]
    lg.close()
    lg = Log(str(tmp_path / "t-0"), lg.config, log_start_offset=100, had_clean_shutdown=True)
    assert offsets(lg) == [100, 101]
    lg.close()


def test_truncate_below_the_first_segment_is_a_full_truncation(tmp_path: Path) -> None:
    lg = make_log(tmp_path)
    lg.truncate_fully_and_start_at(50)
    lg.append_as_follower(follower_batch(50, 3, 1))
    lg.truncate_to(20)
    assert (lg.log_start_offset, lg.log_end_offset) == (20, 20)
    lg.close()


def test_truncated_segments_stay_readable_until_the_delete_delay(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    lg = Log(str(tmp_path / "t-0"), LogConfig({"segment.bytes": "600"}), clock=clock, had_clean_shutdown=True)
    for base in (0, 3, 6, 9):
        lg.append_as_follower(follower_batch(base, 3, 1))
    lg.roll()  # a closed segment: its reads are regions of the file (the active one keeps its tail in memory)
    region = lg.read(9, 1 << 20).records
    assert isinstance(region, FileRegion)
    lg.truncate_to(3)
    assert any(p.name.endswith(".deleted") for p in (tmp_path / "t-0").iterdir())
    assert [r.offset for v in iter_batches(region.read()) for r in v.records()][0] == 9  # in-flight read still works
    clock.advance(60_001)
    lg.delete_old_segments()
    assert not any(p.name.endswith(".deleted") for p in (tmp_path / "t-0").iterdir())
    lg.close()
