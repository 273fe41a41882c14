"""The client's hot loops: encoding produced records and decoding fetched ones, tuned for CPython.

Why a second codec next to :mod:`kafka_zk.record`: the record package is written for clarity and for the
broker (validation, offsets assigned on append, the cleaner's explicit offsets); the client encodes and
decodes every record it handles, so per-record function calls dominate its profile (``tools/
bench_client.py --profile``). Here the same wire format is produced with the common cases inlined:

* varints of small non-negative values (lengths, offset and timestamp deltas, almost always < 16384) come
  from a precomputed table of their zig-zag encodings; others go through the general encoder;
* a record is one ``bytes.join`` of its parts, a batch one join of its records; the 61-byte header is one
  ``struct.pack_into`` and the CRC32C one C call;
* decoding reads one- and two-byte varints without a call (lengths and deltas below 8192), falling back to
  the general decoder otherwise, and builds the consumer's record objects directly.

Both directions are checked byte-for-byte against :mod:`kafka_zk.record` in tests/unit (hypothesis).

:func:`encode_record` and :func:`decode_records_into` are the C versions from ``_fastcodec.c`` when the
extension was built (``ACCELERATED``), else these Python ones (``py_*``), which stay the reference. Set
``KAFKA_ZK_PURE_PYTHON=1`` to use the Python ones anyway (to compare, or to debug).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from crc32c import crc32c

from kafka_zk.common.errors import CorruptRecordError
from kafka_zk.record.batch import CRC_START, HEADER, LOG_OVERHEAD, MAGIC_V2, RECORD_BATCH_OVERHEAD, _U
from kafka_zk.record.compression import compress
from kafka_zk.record.varint import decode_varint, encode_varint

Header = tuple[str, bytes | None]

_TABLE_SIZE = 1 << 14
#: ``_ZZ[n]`` is the zig-zag varint of ``n`` for 0 <= n < 16384.
_ZZ: tuple[bytes, ...] = tuple(encode_varint(n) for n in range(_TABLE_SIZE))
_NULL = b"\x01"  # zig-zag(-1): a null key/value
_NO_HEADERS = b"\x00"
_ATTRS = b"\x00"


def _varint(n: int) -> bytes:
    return _ZZ[n] if 0 <= n < _TABLE_SIZE else encode_varint(n)


def _headers(headers: Sequence[Header]) -> bytes:
    out = [_varint(len(headers))]
    for hk, hv in headers:
        kb = hk.encode("utf-8")
        out.append(_varint(len(kb)))
        out.append(kb)
        if hv is None:
            out.append(_NULL)
        else:
            out.append(_varint(len(hv)))
            out.append(hv)
    return b"".join(out)


def py_encode_record(offset_delta: int, timestamp_delta: int, key: bytes | None, value: bytes | None,
                  headers: Sequence[Header]) -> bytes:
    """One v2 record, length prefix included (Kafka ``DefaultRecord``)."""
    zz = _ZZ
    body = b"".join((
        _ATTRS,
        zz[timestamp_delta] if 0 <= timestamp_delta < _TABLE_SIZE else encode_varint(timestamp_delta),
        zz[offset_delta] if offset_delta < _TABLE_SIZE else encode_varint(offset_delta),
        _NULL if key is None else (zz[len(key)] if len(key) < _TABLE_SIZE else encode_varint(len(key))) + key,
        _NULL if value is None else (zz[len(value)] if len(value) < _TABLE_SIZE else encode_varint(len(value)))
        + value,
        _headers(headers) if headers else _NO_HEADERS,
    ))
    n = len(body)
    return (zz[n] if n < _TABLE_SIZE else encode_varint(n)) + body


def encode_batch(records: Sequence[bytes], count: int, base_timestamp: int, max_timestamp: int,
                 compression: int, producer_id: int, producer_epoch: int, base_sequence: int,
                 partition_leader_epoch: int = -1) -> bytes:
    """A v2 batch (base offset 0) around already encoded ``records`` — what
    :class:`~kafka_zk.record.RecordBatchBuilder` builds for the same records."""
    section = b"".join(records)
    payload = compress(compression, section) if count else b""
    attrs = int(compression) if count else 0
    size = RECORD_BATCH_OVERHEAD + len(payload)
    out = bytearray(size)
    HEADER.pack_into(out, 0, 0, size - LOG_OVERHEAD, partition_leader_epoch, MAGIC_V2, 0, attrs,
                     max(count - 1, 0), base_timestamp, max_timestamp, producer_id, producer_epoch,
                     base_sequence, count)
    out[RECORD_BATCH_OVERHEAD:] = payload
    _U.pack_into(out, 17, crc32c(memoryview(out)[CRC_START:]))
    return bytes(out)


def py_decode_records_into(data: bytes, count: int, base_offset: int, base_timestamp: int,
                        log_append_time: int | None, min_offset: int, cls: type, topic: str, partition: int,
                        timestamp_type: int, leader_epoch: int, out: list[Any]) -> None:
    """Decode ``count`` records of an uncompressed records section, appending a ``cls`` tuple
    ``(topic, partition, offset, timestamp, timestamp_type, key, value, headers, leader_epoch)`` for each
    record at or above ``min_offset`` (``cls`` is a NamedTuple: built with ``tuple.__new__``, no Python
    call per record). Raises :class:`CorruptRecordError` on malformed data."""
    new = tuple.__new__
    mv = memoryview(data)
    end = len(data)
    pos = 0
    try:
        for _ in range(count):
            b = data[pos]
            if b < 0x80:
                length = (b >> 1) ^ -(b & 1)
                pos += 1
            elif data[pos + 1] < 0x80:
                v = (b & 0x7F) | (data[pos + 1] << 7)
                length = (v >> 1) ^ -(v & 1)
                pos += 2
            else:
                length, pos = decode_varint(mv, pos)
            rec_end = pos + length
            if length < 0 or rec_end > end:
                raise CorruptRecordError(f"record length {length} runs past the end of the batch")
            pos += 1  # attributes
            b = data[pos]
            if b < 0x80:
                ts_delta = (b >> 1) ^ -(b & 1)
                pos += 1
            elif data[pos + 1] < 0x80:
                v = (b & 0x7F) | (data[pos + 1] << 7)
                ts_delta = (v >> 1) ^ -(v & 1)
                pos += 2
            else:
                ts_delta, pos = decode_varint(mv, pos)
            b = data[pos]
            if b < 0x80:
                off_delta = (b >> 1) ^ -(b & 1)
                pos += 1
            elif data[pos + 1] < 0x80:
                v = (b & 0x7F) | (data[pos + 1] << 7)
                off_delta = (v >> 1) ^ -(v & 1)
                pos += 2
            else:
                off_delta, pos = decode_varint(mv, pos)
            b = data[pos]
            if b < 0x80:
                klen = (b >> 1) ^ -(b & 1)
                pos += 1
            elif data[pos + 1] < 0x80:
                v = (b & 0x7F) | (data[pos + 1] << 7)
                klen = (v >> 1) ^ -(v & 1)
                pos += 2
            else:
                klen, pos = decode_varint(mv, pos)
            if klen < 0:
                key = None
            else:
                key = data[pos:pos + klen]
                pos += klen
            b = data[pos]
            if b < 0x80:
                vlen = (b >> 1) ^ -(b & 1)
                pos += 1
            elif data[pos + 1] < 0x80:
                v = (b & 0x7F) | (data[pos + 1] << 7)
                vlen = (v >> 1) ^ -(v & 1)
                pos += 2
            else:
                vlen, pos = decode_varint(mv, pos)
            if vlen < 0:
                value = None
            else:
                value = data[pos:pos + vlen]
                pos += vlen
            b = data[pos]
            if b == 0:
                headers: tuple[Header, ...] = ()
                pos += 1
            else:
                hcount, pos = decode_varint(mv, pos)
                hs: list[Header] = []
                for _h in range(hcount):
                    hklen, pos = decode_varint(mv, pos)
                    hk = str(data[pos:pos + hklen], "utf-8")
                    pos += hklen
                    hvlen, pos = decode_varint(mv, pos)
                    if hvlen < 0:
                        hv = None
                    else:
                        hv = data[pos:pos + hvlen]
                        pos += hvlen
                    hs.append((hk, hv))
                headers = tuple(hs)
            if pos != rec_end or (key is not None and len(key) != klen) or (value is not None and len(value) != vlen):
                raise CorruptRecordError(f"record at position {pos} does not match its length {length}")
            offset = base_offset + off_delta
            if offset >= min_offset:
                ts = log_append_time if log_append_time is not None else base_timestamp + ts_delta
                out.append(new(cls, (topic, partition, offset, ts, timestamp_type, key, value, headers, leader_epoch)))
    except IndexError:
        raise CorruptRecordError("a record runs past the end of the batch") from None
    except UnicodeDecodeError as e:
        raise CorruptRecordError(f"a header key is not UTF-8: {e}") from None


encode_record = py_encode_record
decode_records_into = py_decode_records_into
ACCELERATED = False
if not os.environ.get("KAFKA_ZK_PURE_PYTHON"):
    try:
        from kafka_zk.client import _fastcodec
    except ImportError:  # built without a C compiler: the Python versions above
        pass
    else:
        encode_record = _fastcodec.encode_record
        decode_records_into = _fastcodec.decode_records_into
        ACCELERATED = True
