"""Retention: whole old segments go by time, size or a raised log start offset — never past the high watermark."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.events import EventBus
from kafka_zk.log import Log, LogConfig
from kafka_zk.record import RecordBatchBuilder

T0 = 1_600_000_000_000
HOUR = 3_600_000


def batch(ts: int, n: int = 4) -> bytearray:
    b = RecordBatchBuilder()
    for i in range(n):
        b.append(ts, f"k{i}".encode(), b"v" * 40)
    return bytearray(b.build())


def make_log(tmp_path: Path, clock: ManualClock, bus: EventBus | None = None, **props: Any) -> Log:
    cfg = LogConfig({"segment.bytes": "700", **{k.replace("_", "."): str(v) for k, v in props.items()}})
    return Log(str(tmp_path / "t-0"), cfg, clock=clock, events=bus, had_clean_shutdown=True)


def fill(lg: Log, clock: ManualClock, hours: int) -> None:
    """One batch per hour of record time; the clock follows."""
    for h in range(hours):
        lg.append_as_leader(batch(T0 + h * HOUR), 0)
        clock.advance(HOUR)
    lg.high_watermark = lg.log_end_offset


def test_retention_by_time_deletes_old_segments_and_moves_the_log_start(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    bus = EventBus(clock=clock)
    lg = make_log(tmp_path, clock, bus, retention_ms=5 * HOUR)
    fill(lg, clock, 12)
    before = [(s.base_offset, s.largest_timestamp) for s in lg.segments]
    now = clock.time_ms()
    deleted = lg.delete_old_segments()
    expected = [base for i, (base, ts) in enumerate(before[:-1]) if now - ts > 5 * HOUR]
    assert deleted == len(expected) > 0
    assert lg.log_start_offset == lg.segments[0].base_offset == before[len(expected)][0]
    events = bus.recent(kind_prefix="log.segment_deleted")
    assert [e.fields["base_offset"] for e in events] == expected and {e.fields["reason"] for e in events} == {"retention.ms"}
    with pytest.raises(KafkaError) as e:
        lg.read(0, 100)
    assert e.value.code == ErrorCode.OFFSET_OUT_OF_RANGE
    lg.close()


def test_retention_by_size_keeps_the_newest_bytes(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    lg = make_log(tmp_path, clock, retention_bytes=1500, retention_ms=-1)
    fill(lg, clock, 12)
    total = lg.size_in_bytes()
    assert lg.delete_old_segments() > 0
    # Kafka's rule: drop the oldest segments while what remains still holds at least retention.bytes.
    assert lg.size_in_bytes() >= 1500 > lg.size_in_bytes() - lg.segments[0].size
    assert total > lg.size_in_bytes()
    lg.close()


def test_nothing_above_the_high_watermark_is_deleted(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    lg = make_log(tmp_path, clock, retention_ms=1)
    fill(lg, clock, 8)
    lg.high_watermark = lg.segments[2].base_offset  # segments 0 and 1 are below it
    assert lg.delete_old_segments() == 2
    assert lg.log_start_offset == lg.segments[0].base_offset
    lg.close()


def test_expired_active_segment_is_rolled_and_the_log_emptied(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    lg = make_log(tmp_path, clock, retention_ms=HOUR)
    fill(lg, clock, 3)
    clock.advance(10 * HOUR)
    leo = lg.log_end_offset
    lg.delete_old_segments()
    assert (lg.log_start_offset, lg.log_end_offset, len(lg.segments), lg.size_in_bytes()) == (leo, leo, 1, 0)
    lg.append_as_leader(batch(clock.time_ms()), 0)
    assert lg.read(leo, 1000).size > 0
    lg.close()


def test_compacted_only_logs_ignore_time_and_size_retention(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    lg = make_log(tmp_path, clock, retention_ms=1, retention_bytes=1, cleanup_policy="compact")
    fill(lg, clock, 6)
    assert lg.delete_old_segments() == 0
    lg.close()


def test_raised_log_start_offset_deletes_segments_below_it(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    lg = make_log(tmp_path, clock, retention_ms=-1)
    fill(lg, clock, 8)
    target = lg.segments[3].base_offset + 1
    with pytest.raises(KafkaError):
        lg.maybe_increment_log_start_offset(lg.log_end_offset + 1)
    assert lg.maybe_increment_log_start_offset(target)
    assert lg.log_start_offset == target
    assert lg.delete_old_segments() == 3
    assert lg.segments[0].base_offset < target == lg.log_start_offset
    with pytest.raises(KafkaError):
        lg.read(target - 1, 100)
    lg.close()


def test_deleted_files_linger_for_file_delete_delay(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    lg = make_log(tmp_path, clock, retention_ms=HOUR, file_delete_delay_ms=30_000)
    fill(lg, clock, 6)
    lg.delete_old_segments()
    d = tmp_path / "t-0"
    doomed = {n for n in os.listdir(d) if n.endswith(".deleted")}
    assert any(n.endswith(".log.deleted") for n in doomed)
    clock.advance(29_999)
    lg.delete_pending_files()
    assert doomed <= set(os.listdir(d))
    clock.advance(1)
    lg.delete_pending_files()
    assert not doomed & set(os.listdir(d))
    lg.close()
