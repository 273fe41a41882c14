"""Record batch v2: encoding round trips, CRC coverage, in-place stamping, malformed input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_zk.common.errors import CorruptRecordError, KafkaError
from kafka_zk.record import (
    LOG_APPEND_TIME,
    CompressionType,
    RecordBatchBuilder,
    RecordBatchView,
    available_codecs,
    iter_batches,
)
from kafka_zk.record.batch import decrement_sequence, increment_sequence
from kafka_zk.record.varint import decode_varint, encode_varint, size_of_varint

CODECS = available_codecs()

record_st = st.tuples(
    st.integers(min_value=0, max_value=2**41),  # timestamp
    st.one_of(st.none(), st.binary(max_size=40)),  # key
    st.one_of(st.none(), st.binary(max_size=300)),  # value
    st.lists(st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=10))), max_size=3),
)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_varint_round_trips_and_reports_its_size(n: int) -> None:
    enc = encode_varint(n)
    assert decode_varint(enc, 0) == (n, len(enc))
    assert size_of_varint(n) == len(enc)
    assert len(enc) <= 10


def test_varint_uses_zigzag_so_small_negatives_are_short() -> None:
    assert encode_varint(0) == b"\x00"
    assert encode_varint(-1) == b"\x01"
    assert encode_varint(1) == b"\x02"
    assert encode_varint(-64) == b"\x7f"
    assert encode_varint(64) == b"\x80\x01"


def test_truncated_varint_is_a_corrupt_record() -> None:
    with pytest.raises(CorruptRecordError):
        decode_varint(b"\x80\x80", 0)


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(record_st, min_size=1, max_size=20),
    codec=st.sampled_from(CODECS),
    producer=st.tuples(st.integers(0, 2**40), st.integers(0, 32767), st.integers(0, 2**31 - 1)),
)
def test_batch_round_trips_for_every_codec(records: list, codec: CompressionType, producer: tuple[int, int, int]) -> None:
    pid, epoch, seq = producer
    b = RecordBatchBuilder(codec, pid, epoch, seq)
    for ts, k, v, h in records:
        b.append(ts, k, v, h)
    data = b.build()
    view = RecordBatchView(data)
    view.validate()
    assert view.size_in_bytes == len(data)
    assert view.compression_type == codec
    assert view.records_count == len(records)
    assert view.last_offset_delta == len(records) - 1
    assert view.base_timestamp == records[0][0]
    assert view.max_timestamp == max(r[0] for r in records)
    assert (view.producer_id, view.producer_epoch, view.base_sequence) == (pid, epoch, seq)
    assert view.last_sequence == increment_sequence(seq, len(records) - 1)
    decoded = list(view.records())
    assert [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in decoded] == [
        (i, ts, k, v, list(h)) for i, (ts, k, v, h) in enumerate(records)
    ]


@settings(max_examples=30, deadline=None)
@given(data=st.data(), codec=st.sampled_from(CODECS))
def test_any_flipped_bit_inside_the_crc_range_is_detected(data: st.DataObject, codec: CompressionType) -> None:
    b = RecordBatchBuilder(codec)
    b.append(1, b"key", b"value" * 10)
    buf = bytearray(b.build())
    pos = data.draw(st.integers(21, len(buf) - 1))
    bit = data.draw(st.integers(0, 7))
    buf[pos] ^= 1 << bit
    with pytest.raises(CorruptRecordError, match="CRC32C"):
        RecordBatchView(buf).validate()


def test_stamping_offset_and_leader_epoch_in_place_keeps_the_crc_valid() -> None:
    buf = bytearray(_batch(3))
    view = RecordBatchView(buf)
    crc = view.crc
    view.set_base_offset(1_000_000)
    view.set_partition_leader_epoch(42)
    view.validate()
    assert view.crc == crc
    assert (view.base_offset, view.partition_leader_epoch, view.last_offset) == (1_000_000, 42, 1_000_002)
    assert [r.offset for r in view.records()] == [1_000_000, 1_000_001, 1_000_002]


def test_log_append_time_rewrites_type_and_max_timestamp_with_a_new_crc() -> None:
    buf = bytearray(_batch(2, ts=10))
    view = RecordBatchView(buf)
    view.set_max_timestamp(LOG_APPEND_TIME, 99_999)
    view.validate()
    assert view.timestamp_type == LOG_APPEND_TIME
    assert [r.timestamp for r in view.records()] == [99_999, 99_999]


def test_iter_batches_stops_before_a_partial_tail() -> None:
    one, two = _batch(1), _batch(2)
    buf = one + two + two[:30]
    batches = list(iter_batches(buf))
    assert [v.records_count for v in batches] == [1, 2]
    assert bytes(batches[1].batch) == two


def test_validate_names_what_is_wrong() -> None:
    data = bytearray(_batch(1))
    with pytest.raises(CorruptRecordError, match="only 70 are present"):
        RecordBatchView(data[:70]).validate()
    with pytest.raises(CorruptRecordError, match="shorter than the 61-byte header"):
        RecordBatchView(data[:40]).validate()
    bad_magic = bytearray(data)
    bad_magic[16] = 1
    with pytest.raises(CorruptRecordError, match="magic 1"):
        RecordBatchView(bad_magic).validate()
    with pytest.raises(CorruptRecordError, match="smaller than"):
        RecordBatchView(_with_length(data, 10)).validate()


def test_record_fields_running_past_the_batch_are_corrupt() -> None:
    # A record whose declared key length runs past the batch end: rebuild the CRC so only decoding fails.
    b = RecordBatchBuilder()
    b.append(1, b"k", b"v")
    buf = bytearray(b.build())
    # records section starts at 61: length varint, attributes, ts delta, offset delta, key length
    buf[61 + 4] = 0x7E  # key length 63
    view = RecordBatchView(buf)
    struct.pack_into(">I", buf, 17, view.compute_crc())
    view.validate()
    with pytest.raises(CorruptRecordError):
        list(view.records())


def test_unknown_or_missing_codec_is_unsupported_compression() -> None:
    b = RecordBatchBuilder()
    b.append(1, b"k", b"v")
    buf = bytearray(b.build())
    struct.pack_into(">h", buf, 21, 6)  # codec id 6 does not exist
    view = RecordBatchView(buf)
    with pytest.raises(KafkaError, match="UNSUPPORTED_COMPRESSION_TYPE"):
        list(view.records())


def test_sequences_wrap_at_int32_max() -> None:
    assert increment_sequence(2**31 - 1, 1) == 0
    assert increment_sequence(2**31 - 2, 3) == 1
    assert decrement_sequence(1, 3) == 2**31 - 2
    assert decrement_sequence(10, 3) == 7


def test_builder_rejects_decreasing_offsets_and_keeps_explicit_ones() -> None:
    b = RecordBatchBuilder(base_offset=100)
    b.append(1, b"a", b"1", offset=100)
    b.append(1, b"b", b"2", offset=105)
    with pytest.raises(ValueError):
        b.append(1, b"c", b"3", offset=104)
    view = RecordBatchView(b.build(last_offset=110))
    assert [r.offset for r in view.records()] == [100, 105]
    assert view.last_offset == 110


def test_empty_batch_keeps_producer_fields_and_timestamp() -> None:
    b = RecordBatchBuilder(CompressionType.GZIP, 5, 2, 40, base_offset=7)
    view = RecordBatchView(b.build(last_offset=9, empty_timestamp=1234))
    view.validate()
    assert view.records_count == 0 and list(view.records()) == []
    assert (view.base_offset, view.last_offset, view.producer_id, view.base_sequence) == (7, 9, 5, 40)
    assert view.max_timestamp == 1234 and view.compression_type == CompressionType.NONE


def _batch(n: int, ts: int = 1) -> bytes:
    b = RecordBatchBuilder()
    for i in range(n):
        b.append(ts + i, f"k{i}".encode(), b"v" * 10)
    return b.build()


def _with_length(buf: bytearray, length: int) -> bytearray:
    out = bytearray(buf)
    struct.pack_into(">i", out, 8, length)
    return out
