"""The log manager: directories, checkpoints in Kafka's format, clean/unclean restarts, deletion, periodic work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.errors import KafkaError
from kafka_zk.common.events import EventBus
from kafka_zk.common.tp import TopicPartition
from kafka_zk.log import LogConfig, LogDirInUseError, LogManager
from kafka_zk.record import RecordBatchBuilder

T0 = 1_600_000_000_000
A0, A1, B0 = TopicPartition("alpha", 0), TopicPartition("alpha", 1), TopicPartition("beta-x", 0)


def batch(n: int = 3, ts: int = T0) -> bytearray:
    b = RecordBatchBuilder()
    for i in range(n):
        b.append(ts, f"k{i}".encode(), b"v" * 30)
    return bytearray(b.build())


def manager(dirs: list[Path], clock: ManualClock | None = None, events: EventBus | None = None, props: dict[str, str] | None = None) -> LogManager:
    m = LogManager([str(d) for d in dirs], LogConfig.from_broker_props({"log.segment.bytes": "600", **(props or {})}), clock or ManualClock(T0), events)
    m.startup()
    return m


def test_logs_spread_over_directories_and_survive_a_clean_restart(tmp_path: Path) -> None:
    dirs = [tmp_path / "d1", tmp_path / "d2"]
    m = manager(dirs)
    for tp in (A0, A1, B0):
        lg = m.get_or_create_log(tp)
        for _ in range(5):
            lg.append_as_leader(batch(), 0)
        lg.high_watermark = 10
    assert m.get_or_create_log(A0) is m.get_log(A0)
    assert {m.log_dir_of(tp) for tp in (A0, A1, B0)} == {str(d) for d in dirs}
    m.shutdown()
    for d in dirs:
        assert (d / ".kafka_cleanShutdown").exists()
        for name in ("recovery-point-offset-checkpoint", "replication-offset-checkpoint", "log-start-offset-checkpoint"):
            lines = (d / name).read_text().splitlines()
            assert lines[0] == "0" and int(lines[1]) == len(lines) - 2
    hw_lines = (tmp_path / "d1" / "replication-offset-checkpoint").read_text().splitlines()[2:]
    assert all(line.split(" ")[2] == "10" for line in hw_lines)
    m = manager(dirs)
    assert m.recovered == []
    assert not any((d / ".kafka_cleanShutdown").exists() for d in dirs)  # removed once loaded
    for tp in (A0, A1, B0):
        loaded = m.get_log(tp)
        assert loaded is not None and loaded.log_end_offset == 15 and loaded.high_watermark == 10
        assert loaded.recovery_point == 15
    m.shutdown()


def test_a_crash_is_recovered_from_the_recovery_point(tmp_path: Path) -> None:
    bus = EventBus()
    m = manager([tmp_path], events=bus)
    lg = m.get_or_create_log(A0)
    for _ in range(6):
        lg.append_as_leader(batch(), 0)
    lg.flush()
    m.checkpoint_recovery_points()
    lg.append_as_leader(batch(), 0)
    active = lg.active_segment.log_path
    m.abandon()  # crash: no flush, no marker
    with open(active, "ab") as f:
        f.write(b"\x00\x00\x00\x00\x00\x00\x00\x15\x00\x00\x02\x00torn")
    m = manager([tmp_path], events=bus)
    assert m.recovered == [A0]
    lg2 = m.get_log(A0)
    assert lg2 is not None and lg2.log_end_offset == 21
    assert [e.fields["partition"] for e in bus.recent(kind_prefix="log.recovered")] == [0]
    m.shutdown()


def test_a_directory_is_used_by_one_manager_at_a_time(tmp_path: Path) -> None:
    m = manager([tmp_path])
    with pytest.raises(LogDirInUseError, match="in use"):
        manager([tmp_path])
    m.shutdown()
    manager([tmp_path]).shutdown()


def test_deleted_logs_are_renamed_then_removed_after_the_delay(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    bus = EventBus()
    m = manager([tmp_path], clock, bus)
    lg = m.get_or_create_log(A0)
    lg.append_as_leader(batch(), 0)
    assert m.delete_log(A0) and not m.delete_log(A0)
    assert m.get_log(A0) is None
    (pending,) = [p for p in tmp_path.iterdir() if p.name.endswith("-delete")]
    assert pending.name.startswith("alpha-0.") and len(pending.name) == len("alpha-0.") + 32 + len("-delete")
    clock.advance(59_999)
    m.run_retention()
    assert pending.exists()
    clock.advance(1)
    m.run_retention()
    assert not pending.exists()
    assert bus.recent(kind_prefix="log.deleted")
    # a leftover from a crash is removed at startup, and the partition can be recreated
    (tmp_path / "beta-x-0.0123abcd-delete").mkdir()
    m.shutdown()
    m = manager([tmp_path], clock)
    assert not (tmp_path / "beta-x-0.0123abcd-delete").exists()
    assert m.get_or_create_log(A0).log_end_offset == 0
    m.shutdown()


def test_flush_dirty_follows_flush_ms(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    m = manager([tmp_path], clock, props={"log.flush.interval.ms": "1000"})
    lg = m.get_or_create_log(A0)
    lg.append_as_leader(batch(), 0)
    assert m.flush_dirty() == 0 and lg.recovery_point == 0
    clock.advance(1000)
    assert m.flush_dirty() == 1 and lg.recovery_point == 3
    m.shutdown()


def test_run_retention_applies_each_logs_config(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    m = manager([tmp_path], clock, props={"log.retention.ms": "1000"})
    keep = m.get_or_create_log(A0, m.default_config.with_overrides({"retention.ms": "-1"}))
    drop = m.get_or_create_log(A1)
    for lg in (keep, drop):
        for _ in range(8):
            lg.append_as_leader(batch(ts=T0), 0)
        lg.high_watermark = lg.log_end_offset
    clock.advance(5000)
    drop_segments = len(drop.segments)
    assert drop_segments > 1
    assert m.run_retention() == drop_segments  # every segment of drop (the active one rolled first), none of keep
    assert keep.log_start_offset == 0 and drop.log_start_offset == drop.log_end_offset == 24
    m.update_topic_config("alpha", m.default_config.with_overrides({"retention.ms": "1"}))
    assert keep.config.retention_ms == 1
    m.shutdown()


def test_unreadable_checkpoints_fall_back_to_full_recovery(tmp_path: Path) -> None:
    m = manager([tmp_path])
    lg = m.get_or_create_log(A0)
    lg.append_as_leader(batch(), 0)
    m.shutdown()
    (tmp_path / "recovery-point-offset-checkpoint").write_text("garbage\n")
    (tmp_path / ".kafka_cleanShutdown").unlink()
    m = manager([tmp_path])
    assert m.recovered == [A0] and m.get_log(A0).log_end_offset == 3  # type: ignore[union-attr]
    m.shutdown()


def test_the_same_partition_in_two_directories_is_an_error(tmp_path: Path) -> None:
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        (d / "alpha-0").mkdir(parents=True)
    with pytest.raises(KafkaError, match="duplicate log directories"):
        manager(dirs)
    assert os.path.isdir(dirs[0] / "alpha-0")
