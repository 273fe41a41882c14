"""Appends and reads against a brute-force model: offsets, file regions, timestamps, rolls, limits."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.errors import CorruptRecordError, ErrorCode, KafkaError
from kafka_zk.common.events import EventBus
from kafka_zk.common.regions import FileRegion
from kafka_zk.log import Log, LogAppendInfo, LogConfig
from kafka_zk.record import CompressionType, RecordBatchBuilder, RecordBatchView, available_codecs, iter_batches

T0 = 1_600_000_000_000


def make_batch(rows: Sequence[tuple[int, bytes | None, bytes | None]], codec: int = 0, **kw: Any) -> bytearray:
    b = RecordBatchBuilder(codec, **kw)
    for ts, k, v in rows:
        b.append(ts, k, v)
    return bytearray(b.build())


def open_log(path: str, clock: ManualClock | None = None, events: EventBus | None = None, clean: bool = True, **props: Any) -> Log:
    return Log(os.path.join(path, "topic-0"), LogConfig({k.replace("_", "."): v for k, v in props.items()}),
               clock=clock or ManualClock(T0), events=events, had_clean_shutdown=clean)


def decoded(region: FileRegion | bytes) -> list[tuple[int, int, bytes | None, bytes | None]]:
    data = region.read() if isinstance(region, FileRegion) else region
    return [(r.offset, r.timestamp, r.key, r.value) for v in iter_batches(data) for r in v.records()]


append_st = st.lists(
    st.tuples(
        st.integers(1, 6),  # records in the batch
        st.integers(0, 120),  # value size
        st.integers(-5000, 5000),  # timestamp jitter
        st.sampled_from(available_codecs()),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=30, deadline=None)
@given(
    appends=append_st,
    segment_bytes=st.integers(1000, 4000),
    index_interval=st.integers(0, 600),
    index_bytes=st.sampled_from([16, 64, 4096]),
    data=st.data(),
)
def test_random_appends_then_reads_agree_with_a_model(
    appends: list[tuple[int, int, int, int]], segment_bytes: int, index_interval: int, index_bytes: int, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as d:
        lg = open_log(d, segment_bytes=segment_bytes, index_interval_bytes=index_interval, segment_index_bytes=index_bytes)
        model: list[tuple[int, int, bytes | None, bytes | None]] = []
        batch_starts = [0]
        for n, size, jitter, codec in appends:
            rows = [(T0 + len(model) * 10 + jitter + i, f"k{len(model) + i}".encode(), bytes([i % 251]) * size) for i in range(n)]
            info = lg.append_as_leader(make_batch(rows, codec), leader_epoch=3)
            assert (info.first_offset, info.last_offset, info.num_records) == (len(model), len(model) + n - 1, n)
            base = len(model)
            model.extend([(base + i, ts, k, v) for i, (ts, k, v) in enumerate(rows)])
            batch_starts.append(len(model))
        assert lg.log_end_offset == len(model)
        _check_reads(lg, model, batch_starts, data)
        lg.close()
        # A clean reopen and an unclean one (full recovery) serve the same data.
        for clean in (True, False):
            lg = open_log(d, segment_bytes=segment_bytes, index_interval_bytes=index_interval, segment_index_bytes=index_bytes, clean=clean)
            assert lg.log_end_offset == len(model)
            _check_reads(lg, model, batch_starts, data)
            lg.close()


@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(st.one_of(
        st.tuples(st.just("append"), st.integers(1, 4), st.integers(0, 80)),
        st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
    ), min_size=1, max_size=40),
    index_interval=st.integers(0, 400),
)
def test_reads_between_appends_and_truncations_agree_with_a_model(
    steps: list[tuple[str, Any, int]], index_interval: int
) -> None:
    """Every read after every step: the segment answers lookups near its end from the locations of the
    batches it appended last, so appends and truncations interleaved with reads must keep those exact."""
    with tempfile.TemporaryDirectory() as d:
        lg = open_log(d, segment_bytes=3000, index_interval_bytes=index_interval)
        model: list[tuple[int, int, bytes | None, bytes | None]] = []
        batch_ends: list[int] = []  # one past each batch's last offset: where a high watermark can be
        for kind, a, b in steps:
            if kind == "append":
                rows = [(T0 + len(model) + i, None, bytes([i]) * b) for i in range(a)]
                base = lg.append_as_leader(make_batch(rows), leader_epoch=1).first_offset
                model = model[:base] + [(base + i, ts, k, v) for i, (ts, k, v) in enumerate(rows)]
                batch_ends.append(len(model))
            elif model:
                lg.truncate_to(int(a * len(model)))
                model = model[:lg.log_end_offset]  # a batch straddling the target goes whole
                batch_ends = [e for e in batch_ends if e <= len(model)]
            assert lg.log_end_offset == len(model)
            lg.high_watermark = len(model)
            for o in range(len(model)):
                got = decoded(lg.read(o, 1 << 20).records)
                assert got and got[0][0] <= o and got == model[got[0][0]: got[0][0] + len(got)]
                hw = min(e for e in batch_ends if e > o)  # the next batch boundary: one batch readable
                capped = decoded(lg.read(o, 1 << 20, max_offset=hw).records)
                assert capped == model[capped[0][0]:hw] and capped[0][0] <= o
            assert lg.read(len(model), 100).records == b""
        lg.close()


def _check_reads(lg: Log, model: list[tuple[int, int, bytes | None, bytes | None]], batch_starts: list[int], data: st.DataObject) -> None:
    leo = len(model)
    lg.high_watermark = leo
    for o in range(leo):
        fetched = lg.read(o, 1 << 20)
        got = decoded(fetched.records)
        assert got, f"nothing read at offset {o}"
        assert got[0][0] <= o < got[0][0] + 6
        assert got == model[got[0][0] : got[0][0] + len(got)]
    # a consumer loop (each read stops at its segment's end) sees every record exactly once
    consumed: list[tuple[int, int, bytes | None, bytes | None]] = []
    while len(consumed) < leo:
        got = decoded(lg.read(len(consumed), data.draw(st.integers(1, 3000), label="max_bytes")).records)
        assert got and got[0][0] <= len(consumed)
        consumed.extend(r for r in got if r[0] >= len(consumed))
    assert consumed == model
    # max_offset (the high watermark) at a batch boundary: nothing at or beyond it is returned
    hw = data.draw(st.sampled_from(batch_starts))
    consumed = []
    while len(consumed) < hw:
        got = decoded(lg.read(len(consumed), 1 << 20, max_offset=hw).records)
        assert got and all(r[0] < hw for r in got)
        consumed.extend(r for r in got if r[0] >= len(consumed))
    assert consumed == model[:hw]
    assert lg.read(hw, 1 << 20, max_offset=hw).records == b""
    # a small max_bytes still returns the whole first batch (min_one_message), and nothing partial otherwise
    o = data.draw(st.integers(0, leo - 1))
    fetched = lg.read(o, 1)
    batches = list(iter_batches(fetched.records_bytes()))
    assert len(batches) == 1 and batches[0].base_offset <= o <= batches[0].last_offset
    partial = lg.read(o, 1, min_one_message=False)
    assert partial.first_entry_incomplete and len(partial.records) == 1
    # reads at the LEO are empty; beyond it, or below the start, are errors
    assert lg.read(leo, 100).records == b""
    with pytest.raises(KafkaError) as e:
        lg.read(leo + 1, 100)
    assert e.value.code == ErrorCode.OFFSET_OUT_OF_RANGE
    # timestamps: the first offset whose timestamp reaches the target (brute force over the model)
    for target in data.draw(st.lists(st.integers(T0 - 6000, T0 + 10 * leo + 6000), min_size=1, max_size=5)):
        expected = min(((off, ts) for off, ts, _, _ in model if ts >= target), default=None)
        assert lg.fetch_offset_by_timestamp(target) == expected


def test_reads_are_file_regions_of_the_segment(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path))
    lg.append_as_leader(make_batch([(T0, b"k", b"v" * 5000)]), 0)
    fetched = lg.read(0, 10_000)
    assert isinstance(fetched.records, FileRegion)
    assert fetched.records.position == 0 and fetched.records.size == os.path.getsize(lg.active_segment.log_path)
    assert os.fstat(fetched.records.file.fileno()).st_ino == os.stat(lg.active_segment.log_path).st_ino
    lg.close()


def test_the_last_small_batches_are_read_from_memory_and_older_ones_from_the_file(tmp_path: Path) -> None:
    """A fetch at the end of a busy partition costs no read: the segment keeps its last small batches."""
    lg = open_log(str(tmp_path))
    for i in range(20):
        lg.append_as_leader(make_batch([(T0 + i, b"k", b"v%d" % i)]), 0)
    lg.high_watermark = 20
    tail = lg.read(19, 1 << 20)
    assert isinstance(tail.records, bytes) and [r[0] for r in decoded(tail.records)] == [19]
    last_two = lg.read(18, 1 << 20)
    assert isinstance(last_two.records, bytes) and [r[0] for r in decoded(last_two.records)] == [18, 19]
    whole = lg.read(0, 1 << 20)  # starts before the tail: a region of the file, the same bytes
    assert isinstance(whole.records, FileRegion)
    assert whole.records.read()[-len(last_two.records):] == last_two.records
    capped = lg.read(17, 1 << 20, max_offset=19)
    assert [r[0] for r in decoded(capped.records)] == [17, 18]
    lg.truncate_to(19)
    assert lg.read(18, 1 << 20).records_bytes() == last_two.records[: len(last_two.records) // 2]
    lg.close()


def test_leader_append_stamps_offsets_and_epoch_into_the_stored_bytes(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path))
    lg.append_as_leader(make_batch([(T0, b"a", b"1"), (T0, b"b", b"2")]), leader_epoch=5)
    buf = make_batch([(T0, b"c", b"3")], partition_leader_epoch=0)
    lg.append_as_leader(buf, leader_epoch=6)
    assert RecordBatchView(buf).base_offset == 2  # stamped in the caller's writable buffer
    views = list(iter_batches(lg.read(0, 10_000).records_bytes()))
    assert [(v.base_offset, v.partition_leader_epoch) for v in views] == [(0, 5), (2, 6)]
    for v in views:
        v.validate()
    assert lg.leader_epoch_cache.entries == [(5, 0), (6, 2)]
    # a read-only buffer (bytes) is accepted too
    lg.append_as_leader(bytes(make_batch([(T0, b"d", b"4")])), leader_epoch=6)
    assert lg.log_end_offset == 4
    lg.close()


def test_invalid_batches_are_rejected_and_nothing_is_written(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path), max_message_bytes=500)
    good = make_batch([(T0, b"k", b"v")])
    corrupt = bytearray(good)
    corrupt[-1] ^= 0xFF
    cases: list[tuple[bytes | bytearray, ErrorCode]] = [
        (corrupt, ErrorCode.CORRUPT_MESSAGE),
        (good + good[:20], ErrorCode.CORRUPT_MESSAGE),  # trailing partial batch
        (make_batch([(T0, b"k", b"v" * 600)]), ErrorCode.MESSAGE_TOO_LARGE),
        (make_batch([(T0, b"k", b"v")], producer_id=5, producer_epoch=0, base_sequence=-1), ErrorCode.INVALID_RECORD),
        (make_batch([(T0, b"k", b"v")], is_control=True), ErrorCode.INVALID_RECORD),
    ]
    for payload, code in cases:
        with pytest.raises(KafkaError) as e:
            lg.append_as_leader(payload, 0)
        assert e.value.code == code, e.value
    assert isinstance(_raises(lambda: lg.append_as_leader(corrupt, 0)), CorruptRecordError)
    assert lg.log_end_offset == 0 and lg.size_in_bytes() == 0
    lg.close()


def _raises(fn: Any) -> BaseException:
    try:
        fn()
    except BaseException as e:
        return e
    raise AssertionError("did not raise")


def test_compacted_topics_require_keys(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path), cleanup_policy="compact")
    with pytest.raises(KafkaError) as e:
        lg.append_as_leader(make_batch([(T0, b"k", b"v"), (T0, None, b"v")], CompressionType.GZIP), 0)
    assert e.value.code == ErrorCode.INVALID_RECORD
    lg.append_as_leader(make_batch([(T0, b"k", None)]), 0)  # tombstones are fine
    lg.close()


def test_log_append_time_stamps_the_broker_clock(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 777)
    lg = open_log(str(tmp_path), clock=clock, message_timestamp_type="LogAppendTime")
    info = lg.append_as_leader(make_batch([(5, b"a", b"1"), (6, b"b", b"2")]), 0)
    assert info.log_append_time == T0 + 777 and info.max_timestamp == T0 + 777
    assert [ts for _, ts, _, _ in decoded(lg.read(0, 1000).records)] == [T0 + 777, T0 + 777]
    lg.close()


def test_timestamp_difference_limit(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path), message_timestamp_difference_max_ms=1000)
    with pytest.raises(KafkaError) as e:
        lg.append_as_leader(make_batch([(T0 - 5000, b"k", b"v")]), 0)
    assert e.value.code == ErrorCode.INVALID_TIMESTAMP
    lg.append_as_leader(make_batch([(T0 - 500, b"k", b"v")]), 0)
    lg.close()


def test_topic_compression_type_recompresses_on_append(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path), compression_type="gzip")
    lg.append_as_leader(make_batch([(T0, b"k", b"v" * 50)] * 3, producer_id=1, producer_epoch=0, base_sequence=0), 0)
    (view,) = iter_batches(lg.read(0, 10_000).records_bytes())
    assert view.compression_type == CompressionType.GZIP and view.producer_id == 1 and view.base_sequence == 0
    assert [r.value for r in view.records()] == [b"v" * 50] * 3
    lg.close()


def test_segments_roll_on_size_and_on_record_age(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    bus = EventBus(clock=clock)
    lg = open_log(str(tmp_path), clock=clock, events=bus, segment_bytes=1000, segment_ms=60_000)
    for _ in range(10):
        lg.append_as_leader(make_batch([(T0, b"k", b"v" * 150)]), 0)
    by_size = len(lg.segments)
    assert by_size > 1 and all(s.size <= 1000 for s in lg.segments)
    lg.append_as_leader(make_batch([(T0 + 61_000, b"k", b"v")]), 0)  # 61 s newer than the segment's first batch
    assert len(lg.segments) == by_size + 1
    rolled = bus.recent(kind_prefix="log.rolled")
    assert [e.fields["base_offset"] for e in rolled] == [s.base_offset for s in lg.segments[1:]]
    # inactive segments are trimmed and snapshot files mark each roll
    first = lg.segments[0]
    assert os.path.getsize(first.offset_index.path) == 8 * first.offset_index.entries
    assert all(os.path.exists(os.path.join(lg.dir, f"{s.base_offset:020d}.snapshot")) for s in lg.segments[1:])
    lg.close()


def test_flush_messages_moves_the_recovery_point(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path), flush_messages=3)
    for _ in range(2):
        lg.append_as_leader(make_batch([(T0, b"k", b"v")]), 0)
    assert lg.recovery_point == 0
    lg.append_as_leader(make_batch([(T0, b"k", b"v")]), 0)
    assert lg.recovery_point == 3
    lg.close()


def test_on_append_callbacks_see_each_append_and_cannot_break_it(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path))
    seen = []
    lg.on_append.append(lambda info: seen.append(info.last_offset))
    def broken(info: LogAppendInfo) -> None:
        raise RuntimeError("a broken subscriber")

    lg.on_append.append(broken)
    lg.append_as_leader(make_batch([(T0, b"k", b"v")] * 2), 0)
    lg.append_as_follower(_follower_batch(2, 3, epoch=0))
    assert seen == [1, 4]
    lg.close()


def _follower_batch(base: int, n: int, epoch: int) -> bytearray:
    return make_batch([(T0, b"k", b"v")] * n, base_offset=base, partition_leader_epoch=epoch)


def test_follower_append_keeps_offsets_and_rejects_going_backwards(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path))
    lg.append_as_follower(_follower_batch(0, 2, epoch=1) + _follower_batch(5, 1, epoch=2))  # gap: compacted leader
    assert lg.log_end_offset == 6
    assert lg.leader_epoch_cache.entries == [(1, 0), (2, 5)]
    with pytest.raises(KafkaError, match="expects offset >= 6"):
        lg.append_as_follower(_follower_batch(4, 1, epoch=2))
    assert [o for o, *_ in decoded(lg.read(0, 10_000).records)] == [0, 1, 5]
    lg.close()
