"""Legacy message sets (magic 0 and magic 1): what Produce v0-v2 carry and Fetch v0-v3 clients can read.

The broker stores only v2 batches, so this module is the bridge both ways: :func:`decode_message_set`
reads what an old producer sent (the produce handler up-converts it into one v2 batch, as Kafka's
``LogValidator`` does), :func:`encode_message_set` writes what an old consumer can parse (the fetch handler
down-converts stored batches, as Kafka's ``RecordsUtil.downConvert`` does). Pure: no I/O.

Layout of one message (big-endian)::

    offset      int64    absolute (magic 0, and a magic-1 wrapper: the offset of its LAST inner message);
                         relative 0..n-1 inside a magic-1 compressed wrapper
    size        int32    bytes after this field
    crc         uint32   CRC-32 (zlib's, not CRC-32C) of magic .. end
    magic       int8     0 or 1
    attributes  int8     bits 0-2 codec, bit 3 timestamp type (magic 1 only; 1 = LogAppendTime)
    timestamp   int64    magic 1 only
    key         bytes    int32 length (-1 = null) + bytes
    value       bytes    int32 length (-1 = null) + bytes; for a compressed wrapper, the compressed inner set

A message set is just messages back to back; a fetch may end in a partial one, which readers drop.
"""

from __future__ import annotations

import struct
import zlib
from typing import Iterable, Iterator, NamedTuple

from kafka_zk.common.errors import CorruptRecordError, ErrorCode, KafkaError
from kafka_zk.record.batch import CONTROL_MASK
from kafka_zk.record.batch import TIMESTAMP_TYPE_MASK as V2_TS_MASK
from kafka_zk.record.batch import iter_batches
from kafka_zk.record.builder import RecordBatchBuilder
from kafka_zk.record.compression import CompressionType, compress, decompress

Buffer = bytes | bytearray | memoryview

MAGIC_V0 = 0
MAGIC_V1 = 1
LOG_OVERHEAD = 12  # offset + size
CODEC_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
NO_TIMESTAMP = -1
#: Header bytes after ``size``: crc, magic, attributes (+ timestamp for magic 1).
_HEADER_V0 = struct.Struct(">qiIbb")
_HEADER_V1 = struct.Struct(">qiIbbq")
_I = struct.Struct(">i")
#: Smallest legal message: header plus two null lengths.
MIN_SIZE = {MAGIC_V0: _HEADER_V0.size - LOG_OVERHEAD + 8, MAGIC_V1: _HEADER_V1.size - LOG_OVERHEAD + 8}


class LegacyMessage(NamedTuple):
    """One decoded (inner or uncompressed) message. ``offset`` is as written on the wire."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    magic: int = MAGIC_V1
    attributes: int = 0


class DecodedMessageSet(NamedTuple):
    """A producer's message set, flattened: inner messages of wrappers in order."""

    messages: list[LegacyMessage]
    #: The codec of the first compressed wrapper (NONE when all messages are plain): the v2 batch keeps it.
    compression: CompressionType
    magic: int
    #: True when any message carries LogAppendTime (a producer never should; kept for completeness).
    log_append_time: bool


def _read_bytes(mv: memoryview, pos: int, end: int) -> tuple[bytes | None, int]:
    if pos + 4 > end:
        raise CorruptRecordError("legacy message truncated inside a key/value length")
    (n,) = _I.unpack_from(mv, pos)
    pos += 4
    if n < 0:
        return None, pos
    if pos + n > end:
        raise CorruptRecordError(f"legacy message key/value of {n} bytes runs past the message end")
    return bytes(mv[pos : pos + n]), pos + n


def iter_messages(buf: Buffer, *, allow_partial: bool = False) -> Iterator[LegacyMessage]:
    """Walk the top-level messages of a set, checking each CRC32 (a mismatch raises
    :class:`CorruptRecordError`, i.e. CORRUPT_MESSAGE). Wrappers are returned as they are (their value is
    the compressed inner set). A trailing partial message is an error unless ``allow_partial``."""
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    n = len(mv)
    pos = 0
    while pos < n:
        if n - pos < LOG_OVERHEAD:
            if allow_partial:
                return
            raise CorruptRecordError(f"{n - pos} trailing bytes at byte {pos} do not form a message")
        offset, size = struct.unpack_from(">qi", mv, pos)
        end = pos + LOG_OVERHEAD + size
        if size < MIN_SIZE[MAGIC_V0]:
            raise CorruptRecordError(f"message at byte {pos} declares size {size}, smaller than a message header")
        if end > n:
            if allow_partial:
                return
            raise CorruptRecordError(f"message at byte {pos} declares {size} bytes but only {n - pos - 12} remain")
        stored_crc = struct.unpack_from(">I", mv, pos + 12)[0]
        magic, attrs = mv[pos + 16], mv[pos + 17]
        if magic not in (MAGIC_V0, MAGIC_V1):
            raise CorruptRecordError(f"message at byte {pos} has magic {magic}, not a legacy (0 or 1) message")
        if size < MIN_SIZE[magic]:
            raise CorruptRecordError(f"magic {magic} message at byte {pos} is too short ({size} bytes)")
        crc = zlib.crc32(mv[pos + 16 : end])
        if crc != stored_crc:
            raise CorruptRecordError(
                f"message at offset {offset} is corrupt: CRC32 stored {stored_crc:#010x}, computed {crc:#010x}"
            )
        body = pos + 18
        timestamp = NO_TIMESTAMP
        if magic == MAGIC_V1:
            timestamp = struct.unpack_from(">q", mv, body)[0]
            body += 8
        key, body = _read_bytes(mv, body, end)
        value, body = _read_bytes(mv, body, end)
        if body != end:
            raise CorruptRecordError(f"message at offset {offset} declares {size} bytes but its fields take less")
        yield LegacyMessage(offset, timestamp, key, value, magic, attrs)
        pos = end


def decode_message_set(buf: Buffer) -> DecodedMessageSet:
    """Decode a producer's message set, decompressing wrappers (one level deep, as Kafka allows).

    Inner timestamps of a LogAppendTime wrapper are the wrapper's (that is what the attribute means).
    Raises :class:`CorruptRecordError` for bad CRCs, sizes, magics, nested wrappers or undecodable payloads;
    ``KafkaError(UNSUPPORTED_COMPRESSION_TYPE)`` for an unknown or unavailable codec.
    """
    out: list[LegacyMessage] = []
    codec = CompressionType.NONE
    magic = -1
    log_append_time = False
    for msg in iter_messages(buf):
        magic = max(magic, msg.magic)
        mcodec = msg.attributes & CODEC_MASK
        wrapper_lat = msg.magic == MAGIC_V1 and bool(msg.attributes & TIMESTAMP_TYPE_MASK)
        log_append_time = log_append_time or wrapper_lat
        if mcodec == CompressionType.NONE:
            out.append(msg)
            continue
        if msg.value is None:
            raise CorruptRecordError(f"compressed message at offset {msg.offset} has a null value")
        if mcodec == CompressionType.ZSTD:  # KIP-110: zstd needs magic 2 (Kafka's LogValidator says the same)
            raise KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, "zstd compression needs magic 2 (Produce v7+)")
        inner_data = decompress(mcodec, msg.value)  # an unknown codec raises UNSUPPORTED_COMPRESSION_TYPE
        if codec == CompressionType.NONE:
            codec = CompressionType(mcodec)
        inner = list(iter_messages(inner_data))
        if not inner:
            raise CorruptRecordError(f"compressed message at offset {msg.offset} holds no messages")
        for m in inner:
            if m.attributes & CODEC_MASK:
                raise CorruptRecordError("compressed message sets must not nest another compressed message")
            if m.magic != msg.magic:
                raise CorruptRecordError(f"inner message of magic {m.magic} inside a magic {msg.magic} wrapper")
            ts = msg.timestamp if wrapper_lat else m.timestamp
            out.append(m._replace(timestamp=ts))
    return DecodedMessageSet(out, codec, magic, log_append_time)


def encode_message(offset: int, magic: int, timestamp: int, key: bytes | None, value: bytes | None,
                   attributes: int = 0) -> bytes:
    """One message with its CRC32."""
    parts = [bytes([magic, attributes])]
    if magic == MAGIC_V1:
        parts.append(struct.pack(">q", timestamp))
    for b in (key, value):
        parts.append(_I.pack(-1) if b is None else _I.pack(len(b)) + bytes(b))
    body = b"".join(parts)
    crc = zlib.crc32(body)
    return struct.pack(">qiI", offset, len(body) + 4, crc) + body


def encode_message_set(
    records: Iterable[tuple[int, int, bytes | None, bytes | None]],
    magic: int,
    compression: int = CompressionType.NONE,
    *,
    log_append_time: bool = False,
) -> bytes:
    """Encode ``(offset, timestamp, key, value)`` records as a magic-0/1 message set.

    Uncompressed: one message per record with its absolute offset. Compressed: one wrapper whose value is
    the compressed inner set; the wrapper carries the last record's offset, inner offsets are relative for
    magic 1 (KIP-31) and absolute for magic 0, the magic-1 wrapper's timestamp is the largest inner one
    (or the log append time, with the timestamp-type bit set). Magic 0 has no timestamps: they are dropped.
    """
    if magic not in (MAGIC_V0, MAGIC_V1):
        raise ValueError(f"legacy message sets have magic 0 or 1, not {magic}")
    recs = list(records)
    ts_attr = TIMESTAMP_TYPE_MASK if (log_append_time and magic == MAGIC_V1) else 0
    if compression == CompressionType.NONE:
        return b"".join(encode_message(off, magic, ts, k, v, ts_attr) for off, ts, k, v in recs)
    if not recs:
        return b""
    base = recs[0][0]
    inner = b"".join(
        encode_message(off - base if magic == MAGIC_V1 else off, magic, ts, k, v) for off, ts, k, v in recs
    )
    max_ts = max(ts for _, ts, _, _ in recs)
    return encode_message(recs[-1][0], magic, max_ts, None, compress(compression, inner),
                          int(compression) | ts_attr)


def message_set_magic(buf: Buffer) -> int | None:
    """The magic byte of the first entry (legacy message or v2 batch: both keep it at byte 16), or None."""
    return buf[16] if len(buf) > 16 else None


# ------------------------------------------------------------------------------------- conversion


def up_convert(decoded: DecodedMessageSet) -> bytes:
    """One v2 batch holding every message of a producer's legacy set, offsets 0..n-1 (the log assigns the
    real ones), the first wrapper's codec kept (the topic's ``compression.type`` may still re-encode it).
    Magic-0 messages have no timestamp: the records get ``NO_TIMESTAMP`` (-1), as in Kafka."""
    if not decoded.messages:
        raise CorruptRecordError("the message set holds no messages")
    b = RecordBatchBuilder(decoded.compression, timestamp_type=1 if decoded.log_append_time else 0)
    for m in decoded.messages:
        b.append(m.timestamp if m.magic == MAGIC_V1 else NO_TIMESTAMP, m.key, m.value)
    return b.build()


def down_convert(buf: Buffer, magic: int, first_offset: int, max_bytes: int | None = None) -> bytes:
    """Re-encode the stored v2 batches in ``buf`` (a fetch's bytes; a partial batch at the end is dropped)
    as an uncompressed magic-0/1 message set, skipping records below ``first_offset`` and control batches
    (an old consumer knows neither), as Kafka's ``RecordsUtil.downConvert`` does. Headers cannot be
    represented and are dropped. With ``max_bytes`` the set stops before the message that would pass it
    (the first message always goes: a consumer must progress), so a fetch answer does not outgrow what was
    read — uncompressed messages are larger than compressed batches (Kafka bounds its lazy down-conversion
    by the original size too)."""
    out: list[bytes] = []
    size = 0
    for batch in iter_batches(buf):
        if batch.attributes & CONTROL_MASK:
            continue
        lat = bool(batch.attributes & V2_TS_MASK) and magic == MAGIC_V1
        attrs = TIMESTAMP_TYPE_MASK if lat else 0
        for r in batch.records():
            if r.offset < first_offset:
                continue
            msg = encode_message(r.offset, magic, r.timestamp, r.key, r.value, attrs)
            if max_bytes is not None and out and size + len(msg) > max_bytes:
                return b"".join(out)
            out.append(msg)
            size += len(msg)
    return b"".join(out)
