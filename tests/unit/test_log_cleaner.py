"""Log compaction: latest record per key, tombstone lifetime, the active segment untouched, atomic swaps
that survive crashes, and cleaning concurrently with appends."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.regions import FileRegion
from kafka_zk.common.tp import TopicPartition
from kafka_zk.log import Log, LogConfig, LogManager
from kafka_zk.log.cleaner import LogCleaner
from kafka_zk.record import CompressionType, RecordBatchBuilder, iter_batches

T0 = 1_600_000_000_000
DAY = 86_400_000
COMPACT = {"cleanup.policy": "compact", "segment.bytes": "800", "index.interval.bytes": "100", "min.cleanable.dirty.ratio": "0.01"}


def rows_batch(rows: list[tuple[bytes, bytes | None]], codec: int = 0, **kw: Any) -> bytearray:
    b = RecordBatchBuilder(codec, **kw)
    for k, v in rows:
        b.append(T0, k, v)
    return bytearray(b.build())


def read_all(lg: Log) -> list[tuple[int, bytes | None, bytes | None]]:
    out: list[tuple[int, bytes | None, bytes | None]] = []
    pos = lg.log_start_offset
    while pos < lg.log_end_offset:
        r = lg.read(pos, 1 << 20).records
        data = r.read() if isinstance(r, FileRegion) else r
        got = [(rec.offset, rec.key, rec.value) for v in iter_batches(data) for rec in v.records()]
        views = list(iter_batches(data))
        if not got:
            pos = max(v.last_offset for v in views) + 1 if views else pos + 1
            continue
        out.extend(x for x in got if x[0] >= pos)
        pos = max(v.last_offset for v in views) + 1
    return out


def make_log(tmp_path: Path, clean: bool = True, props: dict[str, str] | None = None) -> Log:
    return Log(str(tmp_path / "t-0"), LogConfig({**COMPACT, **(props or {})}), clock=ManualClock(T0), had_clean_shutdown=clean)


def write_keys(lg: Log, rounds: int, keys: int = 5, codec: int = 0) -> list[tuple[int, bytes, bytes | None]]:
    written: list[tuple[int, bytes, bytes | None]] = []
    for r in range(rounds):
        for k in range(keys):
            key, value = f"key-{k}".encode(), f"value-{k}-{r}".encode() * 3
            info = lg.append_as_leader(rows_batch([(key, value)], codec), 0)
            written.append((info.first_offset, key, value))
    return written


def expected_after_clean(written: list[tuple[int, bytes, bytes | None]], end: int) -> list[tuple[int, bytes, bytes | None]]:
    latest: dict[bytes, int] = {}
    for off, k, _ in written:
        if off < end:
            latest[k] = off
    return [w for w in written if w[0] >= end or latest[w[1]] == w[0]]


def test_compaction_keeps_the_latest_record_per_key_and_their_offsets(tmp_path: Path) -> None:
    for codec in (CompressionType.NONE, CompressionType.GZIP):
        d = tmp_path / codec.config_name
        lg = make_log(d)
        written = write_keys(lg, rounds=8, codec=codec)
        lg.high_watermark = lg.log_end_offset
        active_before = Path(lg.active_segment.log_path).read_bytes()
        result = LogCleaner(lg.clock).clean(lg, 0)
        assert result is not None and not result.aborted
        end = lg.active_segment.base_offset
        assert result.end_offset == end
        assert read_all(lg) == expected_after_clean(written, end)
        assert Path(lg.active_segment.log_path).read_bytes() == active_before  # never touched
        assert result.bytes_written < result.bytes_read
        lg.close()
        # the cleaned log reloads (cleanly and after a crash-style full recovery)
        for clean in (True, False):
            lg = make_log(d, clean=clean)
            assert read_all(lg) == expected_after_clean(written, end)
            lg.close()


def test_nothing_above_the_high_watermark_is_compacted(tmp_path: Path) -> None:
    lg = make_log(tmp_path)
    write_keys(lg, rounds=6)
    lg.high_watermark = 0
    assert LogCleaner(lg.clock).clean(lg, 0) is None
    lg.close()


def test_tombstones_survive_delete_retention_then_go(tmp_path: Path) -> None:
    lg = make_log(tmp_path, props={"delete.retention.ms": str(DAY)})
    lg.append_as_leader(rows_batch([(b"gone", b"1")]), 0)
    lg.append_as_leader(rows_batch([(b"gone", None)]), 0)  # tombstone at offset 1
    write_keys(lg, rounds=6)
    lg.high_watermark = lg.log_end_offset
    cleaner = LogCleaner(lg.clock)
    r1 = cleaner.clean(lg, 0)
    assert r1 is not None
    assert (1, b"gone", None) in read_all(lg)  # first pass: the delete is still visible
    # Age the tombstone's segment a couple of days relative to the newest clean segment.
    now_ms = int(time.time() * 1000)
    for seg in lg.segments[:-1]:
        seg.set_last_modified(now_ms if seg is not lg.segments[0] else now_ms - 2 * DAY)
    write_keys(lg, rounds=3)
    lg.roll()
    lg.high_watermark = lg.log_end_offset
    r2 = cleaner.clean(lg, r1.end_offset)
    assert r2 is not None and not r2.aborted
    assert all(k != b"gone" for _, k, _ in read_all(lg))
    lg.close()


def test_a_live_idempotent_producers_last_batch_is_kept_even_when_emptied(tmp_path: Path) -> None:
    lg = make_log(tmp_path)
    lg.append_as_leader(rows_batch([(b"a", b"1")], producer_id=77, producer_epoch=0, base_sequence=0), 0)
    lg.append_as_leader(rows_batch([(b"a", b"2")], producer_id=77, producer_epoch=0, base_sequence=1), 0)
    write_keys(lg, rounds=1, keys=1)
    lg.append_as_leader(rows_batch([(b"a", b"3")]), 0)  # a plain producer overwrites key a
    write_keys(lg, rounds=6)
    lg.high_watermark = lg.log_end_offset
    assert LogCleaner(lg.clock).clean(lg, 0) is not None
    assert [r for r in read_all(lg) if r[1] == b"a"] == [(3, b"a", b"3")]
    lg.close()
    lg = make_log(tmp_path, clean=False)  # producer state rebuilt from the (now empty) batch
    dup = lg.append_as_leader(rows_batch([(b"a", b"2")], producer_id=77, producer_epoch=0, base_sequence=1), 0)
    assert dup.duplicate and dup.first_offset == 1
    lg.append_as_leader(rows_batch([(b"a", b"4")], producer_id=77, producer_epoch=0, base_sequence=2), 0)
    lg.close()


def test_crash_before_the_swap_leaves_the_old_log(tmp_path: Path) -> None:
    lg = make_log(tmp_path)
    written = write_keys(lg, rounds=6)
    lg.high_watermark = lg.log_end_offset
    d = tmp_path / "t-0"
    (d / "00000000000000000000.log.cleaned").write_bytes(b"partial output of a cleaner that died")
    lg.close_without_flush()
    lg = make_log(tmp_path, clean=False)
    assert read_all(lg) == written
    assert not any(n.endswith(".cleaned") for n in os.listdir(d))
    lg.close()


def test_crash_during_the_swap_completes_it_at_startup(tmp_path: Path) -> None:
    lg = make_log(tmp_path, props={"segment.bytes": "100000"})
    written = write_keys(lg, rounds=6)
    lg.roll()
    end = lg.active_segment.base_offset
    lg.high_watermark = lg.log_end_offset

    def crash(*args: Any) -> bool:
        raise SystemExit("crash during swap")

    lg.replace_segments = crash
    try:
        LogCleaner(lg.clock).clean(lg, 0)
    except SystemExit:
        pass
    d = tmp_path / "t-0"
    assert "00000000000000000000.log.swap" in os.listdir(d)
    lg.close_without_flush()
    os.replace(d / "00000000000000000000.log", d / "00000000000000000000.log.deleted")  # old file half-removed
    lg = make_log(tmp_path, clean=False, props={"segment.bytes": "100000"})
    assert read_all(lg) == expected_after_clean(written, end)
    assert not any(n.endswith((".swap", ".deleted")) for n in os.listdir(d))
    lg.close()


def test_cleaning_in_a_thread_while_appending_and_reading(tmp_path: Path) -> None:
    lg = make_log(tmp_path)
    latest: dict[bytes, bytes] = {}
    stop = threading.Event()
    errors: list[BaseException] = []
    cleaner = LogCleaner(lg.clock)
    swapped = [0]

    def clean_loop() -> None:
        first_dirty = 0
        try:
            while not stop.is_set():
                r = cleaner.clean(lg, first_dirty)
                if r is not None and not r.aborted:
                    first_dirty = r.end_offset
                    swapped[0] += r.segments_cleaned
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=clean_loop)
    t.start()
    try:
        for r in range(40):
            for k in range(5):
                key, value = f"key-{k}".encode(), f"v{r}".encode() * 5
                lg.append_as_leader(rows_batch([(key, value)]), 0)
                latest[key] = value
                lg.high_watermark = lg.log_end_offset
            if r % 7 == 0:
                seen = read_all(lg)
                assert [o for o, _, _ in seen] == sorted({o for o, _, _ in seen})
    finally:
        stop.set()
        t.join()
    assert not errors, errors
    assert swapped[0] > 0
    final: dict[bytes | None, bytes | None] = {}
    for _, rkey, rval in read_all(lg):
        final[rkey] = rval
    assert final == latest
    lg.close()


def test_log_manager_cleans_the_dirtiest_log_and_checkpoints_progress(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    mgr = LogManager([str(tmp_path)], LogConfig(COMPACT), clock)
    mgr.startup()
    lazy = mgr.get_or_create_log(TopicPartition("lazy", 0), LogConfig({**COMPACT, "min.cleanable.dirty.ratio": "0.99"}))
    busy = mgr.get_or_create_log(TopicPartition("busy", 0))
    for lg in (lazy, busy):
        write_keys(lg, rounds=6)
        lg.high_watermark = lg.log_end_offset
    first_two = {mgr.run_cleaner_once().partition, mgr.run_cleaner_once().partition}  # type: ignore[union-attr]
    assert first_two == {"lazy-0", "busy-0"}  # never-cleaned logs are 100% dirty
    assert mgr.run_cleaner_once() is None
    for lg in (lazy, busy):
        write_keys(lg, rounds=2)
        lg.roll()
        lg.high_watermark = lg.log_end_offset
    result = mgr.run_cleaner_once()
    assert result is not None and result.partition == "busy-0"  # lazy's dirty ratio is below its 0.99
    assert mgr.run_cleaner_once() is None
    text = (tmp_path / "cleaner-offset-checkpoint").read_text().splitlines()
    assert text[:2] == ["0", "2"] and f"busy 0 {result.end_offset}" in text
    mgr.shutdown()
