"""Legacy message sets (magic 0/1): the bytes Kafka's format defines, kafka-python's own legacy builder and
reader as an oracle, CRC errors as CORRUPT_MESSAGE, compressed wrappers, and the v2 up/down conversions the
broker does for Produce v0-v2 and Fetch v0-v3."""

from __future__ import annotations

import struct
import zlib

import pytest

from kafka_zk.common.errors import CorruptRecordError, ErrorCode, KafkaError
from kafka_zk.record import CompressionType, RecordBatchView, available_codecs, build_batch, iter_batches
from kafka_zk.record.legacy import (
    decode_message_set,
    down_convert,
    encode_message,
    encode_message_set,
    iter_messages,
    up_convert,
)

kp_legacy = pytest.importorskip("kafka.record.legacy_records")
kp_memory = pytest.importorskip("kafka.record.memory_records")

ROWS = [(i, 1_700_000_000_000 + i, f"k{i}".encode() if i % 2 else None, f"value-{i}".encode() * (i + 1))
        for i in range(7)]


def kp_read(data: bytes) -> list[tuple[int, int | None, bytes | None, bytes | None]]:
    """kafka-python's consumer-side reading of a message set (``MemoryRecords`` walks the top-level messages)."""
    mr = kp_memory.MemoryRecords(data)
    out = []
    while (batch := mr.next_batch()) is not None:
        out += [(r.offset, r.timestamp, r.key, r.value) for r in batch]
    return out


LEGACY_CODECS = [c for c in (CompressionType.NONE, CompressionType.GZIP, CompressionType.SNAPPY)
                 if c in available_codecs()]


def test_magic1_message_bytes_are_the_layout_kafka_defines() -> None:
    # offset 5, size, crc, magic 1, attributes 0, timestamp 1000, key "k", value "vv"
    body = bytes([1, 0]) + struct.pack(">q", 1000) + struct.pack(">i", 1) + b"k" + struct.pack(">i", 2) + b"vv"
    expected = struct.pack(">qiI", 5, len(body) + 4, zlib.crc32(body)) + body
    assert encode_message(5, 1, 1000, b"k", b"vv") == expected
    [m] = iter_messages(expected)
    assert (m.offset, m.timestamp, m.key, m.value, m.magic) == (5, 1000, b"k", b"vv", 1)


def test_magic0_message_has_no_timestamp() -> None:
    raw = encode_message(0, 0, 1234, None, b"x")
    assert len(raw) == 12 + 4 + 2 + 4 + 4 + 1
    [m] = iter_messages(raw)
    assert (m.timestamp, m.key, m.value) == (-1, None, b"x")


@pytest.mark.parametrize("magic", [0, 1])
@pytest.mark.parametrize("codec", LEGACY_CODECS, ids=lambda c: c.config_name)
def test_kafka_python_reads_what_we_write(magic: int, codec: CompressionType) -> None:
    data = encode_message_set([r[:4] for r in ROWS], magic, codec)
    got = kp_read(data)
    want_ts = [r[1] if magic == 1 else None for r in ROWS]
    assert [(o, k, v) for o, _, k, v in got] == [(r[0], r[2], r[3]) for r in ROWS]
    assert [t for _, t, _, _ in got] == want_ts


@pytest.mark.parametrize("magic", [0, 1])
@pytest.mark.parametrize("codec", LEGACY_CODECS, ids=lambda c: c.config_name)
def test_we_read_what_kafka_python_writes(magic: int, codec: CompressionType) -> None:
    b = kp_legacy.LegacyRecordBatchBuilder(magic, int(codec), 1 << 20)
    for off, ts, k, v in ROWS:
        b.append(off, ts if magic else None, k, v)
    decoded = decode_message_set(bytes(b.build()))
    assert decoded.compression == codec and decoded.magic == magic
    assert [(m.key, m.value) for m in decoded.messages] == [(r[2], r[3]) for r in ROWS]
    assert [m.timestamp for m in decoded.messages] == [r[1] if magic else -1 for r in ROWS]
    if codec != CompressionType.NONE and magic == 1:
        assert [m.offset for m in decoded.messages] == list(range(len(ROWS)))  # relative inner offsets


def test_a_flipped_byte_is_corrupt_message() -> None:
    raw = bytearray(encode_message_set([r[:4] for r in ROWS], 1))
    raw[40] ^= 0xFF
    with pytest.raises(CorruptRecordError) as e:
        decode_message_set(bytes(raw))
    assert e.value.code == ErrorCode.CORRUPT_MESSAGE and "CRC32" in str(e.value)


def test_bad_wrappers_and_truncation_are_corrupt() -> None:
    with pytest.raises(CorruptRecordError):
        decode_message_set(encode_message_set([(0, 1, None, b"x")], 1)[:-3])
    bogus = encode_message(0, 1, 1, None, b"not gzip", int(CompressionType.GZIP))
    with pytest.raises(CorruptRecordError):
        decode_message_set(bogus)
    inner = encode_message_set([(0, 1, None, b"a")], 1, CompressionType.GZIP)
    nested = encode_message(0, 1, 1, None, zlib.compress(inner), int(CompressionType.GZIP))
    with pytest.raises(CorruptRecordError):
        decode_message_set(nested)
    with pytest.raises(KafkaError) as e:
        decode_message_set(encode_message(0, 1, 1, None, b"x", 7))
    assert e.value.code == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE


def test_partial_trailing_message_is_skipped_only_when_allowed() -> None:
    raw = encode_message_set([r[:4] for r in ROWS], 1)
    assert len(list(iter_messages(raw[:-5], allow_partial=True))) == len(ROWS) - 1


@pytest.mark.parametrize("codec", LEGACY_CODECS, ids=lambda c: c.config_name)
def test_up_convert_builds_one_valid_v2_batch_keeping_the_codec(codec: CompressionType) -> None:
    batch = up_convert(decode_message_set(encode_message_set([r[:4] for r in ROWS], 1, codec)))
    [view] = iter_batches(batch)
    view.validate()
    assert view.compression_type == codec and view.records_count == len(ROWS)
    assert [(r.offset, r.timestamp, r.key, r.value) for r in view.records()] == [r[:4] for r in ROWS]


def test_up_convert_of_magic0_has_no_timestamps() -> None:
    view = RecordBatchView(up_convert(decode_message_set(encode_message_set([r[:4] for r in ROWS], 0))))
    assert {r.timestamp for r in view.records()} == {-1}


@pytest.mark.parametrize("magic", [0, 1])
def test_down_convert_skips_records_below_the_fetch_offset_and_drops_a_partial_batch(magic: int) -> None:
    first = build_batch([(r[1], r[2], r[3], [("h", b"x")]) for r in ROWS[:4]], base_offset=10)
    second = build_batch([(r[1], r[2], r[3]) for r in ROWS[4:]], CompressionType.GZIP, base_offset=14)
    data = down_convert(first + second + second[:20], magic, 12)
    got = kp_read(data)
    assert [g[0] for g in got] == [12, 13, 14, 15, 16]
    assert [(g[2], g[3]) for g in got] == [(r[2], r[3]) for r in ROWS[2:]]
    assert [g[1] for g in got] == ([r[1] for r in ROWS[2:]] if magic else [None] * 5)


def test_down_convert_stays_within_max_bytes_but_always_returns_the_first_message() -> None:
    batch = build_batch([(r[1], r[2], r[3]) for r in ROWS], CompressionType.GZIP)
    full = down_convert(batch, 1, 0)
    assert len(full) > len(batch)  # uncompressed messages outgrow the gzip batch
    capped = down_convert(batch, 1, 0, max_bytes=len(batch))
    msgs = list(iter_messages(capped))
    assert len(capped) <= len(batch) and 0 < len(msgs) < len(ROWS)
    assert [m.offset for m in msgs] == list(range(len(msgs)))
    assert len(list(iter_messages(down_convert(batch, 1, 0, max_bytes=1)))) == 1
