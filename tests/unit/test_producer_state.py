"""Idempotent producers: duplicates, sequence gaps, epochs, snapshots and reloads (Kafka's ProducerStateManager)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.log import Log, LogConfig
from kafka_zk.log.producer_state import ProducerStateEntry, decode_snapshot, encode_snapshot, CorruptSnapshotError, BatchMetadata
from kafka_zk.record import RecordBatchBuilder

T0 = 1_600_000_000_000
PID = 1000


def idem_batch(seq: int, n: int = 2, epoch: int = 0, pid: int = PID, ts: int = T0) -> bytearray:
    b = RecordBatchBuilder(producer_id=pid, producer_epoch=epoch, base_sequence=seq)
    for i in range(n):
        b.append(ts, f"k{seq + i}".encode(), f"v{seq + i}".encode())
    return bytearray(b.build())


def open_log(d: Path, clean: bool = True, clock: ManualClock | None = None, **props: Any) -> Log:
    return Log(str(d / "t-0"), LogConfig({k.replace("_", "."): v for k, v in props.items()}), clock=clock or ManualClock(T0), had_clean_shutdown=clean)


def code_of(fn: Any) -> ErrorCode:
    with pytest.raises(KafkaError) as e:
        fn()
    return e.value.code


def test_a_retried_batch_returns_its_original_offsets_and_writes_nothing(tmp_path: Path) -> None:
    lg = open_log(tmp_path)
    first = lg.append_as_leader(idem_batch(0), 0)
    lg.append_as_leader(idem_batch(2), 0)
    size = lg.size_in_bytes()
    dup = lg.append_as_leader(idem_batch(0), 0)
    assert dup.duplicate and (dup.first_offset, dup.last_offset) == (first.first_offset, first.last_offset) == (0, 1)
    assert lg.size_in_bytes() == size and lg.log_end_offset == 4
    lg.close()


def test_only_the_last_five_batches_are_remembered(tmp_path: Path) -> None:
    lg = open_log(tmp_path)
    for i in range(7):
        lg.append_as_leader(idem_batch(2 * i), 0)
    assert lg.append_as_leader(idem_batch(4), 0).duplicate  # batch 3 of 7: still among the last five
    assert code_of(lambda: lg.append_as_leader(idem_batch(2), 0)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    lg.close()


def test_sequence_gap_is_out_of_order(tmp_path: Path) -> None:
    lg = open_log(tmp_path)
    lg.append_as_leader(idem_batch(0), 0)
    assert code_of(lambda: lg.append_as_leader(idem_batch(3), 0)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert lg.log_end_offset == 2
    lg.append_as_leader(idem_batch(2), 0)
    lg.close()


def test_stale_epoch_is_fenced_and_a_new_epoch_restarts_at_zero(tmp_path: Path) -> None:
    lg = open_log(tmp_path)
    lg.append_as_leader(idem_batch(0, epoch=1), 0)
    assert code_of(lambda: lg.append_as_leader(idem_batch(2, epoch=0), 0)) == ErrorCode.INVALID_PRODUCER_EPOCH
    assert code_of(lambda: lg.append_as_leader(idem_batch(5, epoch=2), 0)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    lg.append_as_leader(idem_batch(0, epoch=2), 0)
    assert lg.producer_state.last_entry(PID).producer_epoch == 2  # type: ignore[union-attr]
    lg.close()


def test_unknown_producer_may_start_at_any_sequence_and_sequences_wrap(tmp_path: Path) -> None:
    lg = open_log(tmp_path)
    lg.append_as_leader(idem_batch(2**31 - 2, n=2), 0)  # e.g. state lost to retention (KIP-360)
    lg.append_as_leader(idem_batch(0, n=1), 0)  # wraps from Int32.MAX to 0
    assert lg.producer_state.last_entry(PID).last_seq == 0  # type: ignore[union-attr]
    lg.close()


def test_producers_are_independent(tmp_path: Path) -> None:
    lg = open_log(tmp_path)
    lg.append_as_leader(idem_batch(0, pid=1), 0)
    lg.append_as_leader(idem_batch(0, pid=2), 0)
    assert lg.append_as_leader(idem_batch(0, pid=1), 0).duplicate
    assert not lg.append_as_leader(idem_batch(2, pid=2), 0).duplicate
    lg.close()


def test_dedupe_survives_a_clean_restart_through_the_snapshot(tmp_path: Path) -> None:
    lg = open_log(tmp_path)
    for i in range(3):
        lg.append_as_leader(idem_batch(2 * i), 0)
    lg.close()
    assert any(n.endswith(".snapshot") for n in os.listdir(tmp_path / "t-0"))
    lg = open_log(tmp_path, clean=True)
    dup = lg.append_as_leader(idem_batch(2), 0)
    assert dup.duplicate and dup.first_offset == 2
    assert code_of(lambda: lg.append_as_leader(idem_batch(9), 0)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    lg.close()


def test_state_is_rebuilt_by_replay_after_a_crash(tmp_path: Path) -> None:
    lg = open_log(tmp_path, segment_bytes=300)
    for i in range(6):  # several rolls: snapshots at each, plus batches after the last one
        lg.append_as_leader(idem_batch(2 * i), 0)
    lg.close_without_flush()
    lg = open_log(tmp_path, clean=False, segment_bytes=300)
    assert lg.append_as_leader(idem_batch(10), 0).duplicate
    lg.append_as_leader(idem_batch(12), 0)
    lg.close()


def test_corrupt_snapshot_is_ignored_and_state_replayed(tmp_path: Path) -> None:
    lg = open_log(tmp_path)
    lg.append_as_leader(idem_batch(0), 0)
    lg.close()
    snap = next(p for p in (tmp_path / "t-0").iterdir() if p.name.endswith(".snapshot"))
    data = bytearray(snap.read_bytes())
    data[-1] ^= 0xFF
    snap.write_bytes(bytes(data))
    lg = open_log(tmp_path, clean=True)
    assert not snap.exists()
    assert lg.append_as_leader(idem_batch(0), 0).duplicate
    lg.close()


def test_truncation_rebuilds_state_below_the_cut(tmp_path: Path) -> None:
    lg = open_log(tmp_path)
    for i in range(4):
        lg.append_as_leader(idem_batch(2 * i), 0)
    lg.truncate_to(4)  # drops the batches with sequences 4 and 6
    assert lg.producer_state.last_entry(PID).last_seq == 3  # type: ignore[union-attr]
    assert code_of(lambda: lg.append_as_leader(idem_batch(6), 0)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    lg.append_as_leader(idem_batch(4), 0)
    lg.close()


def test_follower_appends_update_state_without_sequence_checks(tmp_path: Path) -> None:
    lg = open_log(tmp_path)
    b = RecordBatchBuilder(producer_id=PID, producer_epoch=0, base_sequence=7, base_offset=0)
    b.append(T0, b"k", b"v")
    lg.append_as_follower(b.build())
    assert lg.producer_state.last_entry(PID).last_seq == 7  # type: ignore[union-attr]
    lg.close()


def test_idle_producers_expire(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    lg = Log(str(tmp_path / "t-0"), LogConfig(), clock=clock, had_clean_shutdown=True, producer_id_expiration_ms=1000)
    lg.append_as_leader(idem_batch(0, ts=T0), 0)
    assert lg.remove_expired_producers(T0 + 500) == 0
    assert lg.remove_expired_producers(T0 + 1000) == 1
    assert lg.producer_state.last_entry(PID) is None
    lg.close()


def test_snapshot_format_round_trips_and_rejects_damage() -> None:
    entries = [
        ProducerStateEntry(5, 2, [BatchMetadata(9, 100, 3, T0), BatchMetadata(12, 104, 2, T0 + 1)], T0 + 1),
        ProducerStateEntry(6, 0, [], -1, 4, 77),
    ]
    data = encode_snapshot(entries)
    back = decode_snapshot(data)
    assert [(e.producer_id, e.producer_epoch, list(e.batch_metadata), e.last_timestamp, e.coordinator_epoch, e.current_txn_first_offset) for e in back] == [
        (5, 2, entries[0].batch_metadata and list(entries[0].batch_metadata), T0 + 1, -1, None),
        (6, 0, [], -1, 4, 77),
    ]
    assert back[0].batch_metadata[0].first_seq == 6 and back[0].batch_metadata[0].first_offset == 97
    for bad in (data[:-1], b"XXXX" + data[4:], data[:4] + b"\x00\x09" + data[6:]):
        with pytest.raises(CorruptSnapshotError):
            decode_snapshot(bad)
