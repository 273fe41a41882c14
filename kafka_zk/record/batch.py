"""Record batch v2 (magic 2): reading, validating and re-stamping one batch in place.

Layout (big-endian; byte offsets from the start of the batch)::

     0  baseOffset            int64   first offset; the leader overwrites it     ┐ not covered
     8  batchLength           int32   bytes after this field (= size - 12)       │ by the CRC
    12  partitionLeaderEpoch  int32   stamped by the leader                      ┘
    16  magic                 int8    2
    17  crc                   uint32  CRC-32C (Castagnoli) of bytes 21 .. end
    21  attributes            int16   bits 0-2 codec, 3 timestamp type (1 = LogAppendTime),
                                      4 transactional, 5 control, 6 delete horizon set
    23  lastOffsetDelta       int32   last offset - baseOffset (also the last sequence delta)
    27  baseTimestamp         int64   timestamp of the first record
    35  maxTimestamp          int64   largest record timestamp (the broker's time for LogAppendTime)
    43  producerId            int64   -1 unless idempotent/transactional
    51  producerEpoch         int16
    53  baseSequence          int32
    57  recordsCount          int32
    61  records ...                   one blob, compressed as the attributes say

Each record: ``length`` varint, ``attributes`` int8, ``timestampDelta`` varlong, ``offsetDelta`` varint,
``keyLength`` varint (-1 = null), key, ``valueLength`` varint (-1 = tombstone), value, ``headersCount``
varint, then per header ``keyLength`` varint + UTF-8 key, ``valueLength`` varint (-1 = null) + value.

Why the view works in place: the three fields a broker must change on append — base offset, leader epoch
and (for ``LogAppendTime``) the max timestamp — are either outside the CRC or cheap to re-CRC, so the log
stores exactly the bytes a producer sent, and hands exactly those bytes to consumers.
"""

from __future__ import annotations

import struct
from typing import Iterator, NamedTuple

from crc32c import crc32c

from kafka_zk.common.errors import CorruptRecordError
from kafka_zk.record.compression import CompressionType, decompress
from kafka_zk.record.varint import decode_varint

Buffer = bytes | bytearray | memoryview

MAGIC_V2 = 2
LOG_OVERHEAD = 12  # baseOffset + batchLength
RECORD_BATCH_OVERHEAD = 61  # full v2 header
CRC_START = 21  # the CRC covers attributes .. end
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_PARTITION_LEADER_EPOCH = -1
NO_TIMESTAMP = -1

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_MASK = 0x10
CONTROL_MASK = 0x20
DELETE_HORIZON_MASK = 0x40

CREATE_TIME = 0
LOG_APPEND_TIME = 1

HEADER = struct.Struct(">qiibIhiqqqhii")
_Q = struct.Struct(">q")
_I = struct.Struct(">i")
_H = struct.Struct(">h")
_U = struct.Struct(">I")
_INT32_MAX = 0x7FFFFFFF


class Record(NamedTuple):
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]


class BatchHeader(NamedTuple):
    """All 13 header fields, parsed with one ``struct`` call (the log's validation fast path)."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int


def increment_sequence(sequence: int, increment: int) -> int:
    """Sequence numbers wrap from Int32.MAX to 0 (Kafka's ``DefaultRecordBatch.incrementSequence``)."""
    if sequence > _INT32_MAX - increment:
        return increment - (_INT32_MAX - sequence) - 1
    return sequence + increment


def decrement_sequence(sequence: int, decrement: int) -> int:
    if sequence < decrement:
        return _INT32_MAX - (decrement - sequence) + 1
    return sequence - decrement


class RecordBatchView:
    """One v2 batch read in place from ``buf`` (which must start at the batch; it may run past its end).

    Header accessors never copy. ``set_*`` methods write into ``buf`` and need a writable buffer
    (``bytearray`` or a memoryview of one). Nothing is checked until :meth:`validate`.
    """

    __slots__ = ("buf",)

    def __init__(self, buf: Buffer) -> None:
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        if len(mv) < LOG_OVERHEAD:
            raise CorruptRecordError(f"record batch needs at least {LOG_OVERHEAD} bytes, got {len(mv)}")
        self.buf = mv

    # ------------------------------------------------------------------ header fields
    def header(self) -> BatchHeader:
        if len(self.buf) < RECORD_BATCH_OVERHEAD:
            raise CorruptRecordError(f"record batch header needs {RECORD_BATCH_OVERHEAD} bytes, got {len(self.buf)}")
        return BatchHeader._make(HEADER.unpack_from(self.buf, 0))

    @property
    def base_offset(self) -> int:
        v: int = _Q.unpack_from(self.buf, 0)[0]
        return v

    @property
    def batch_length(self) -> int:
        v: int = _I.unpack_from(self.buf, 8)[0]
        return v

    @property
    def size_in_bytes(self) -> int:
        v: int = _I.unpack_from(self.buf, 8)[0] + LOG_OVERHEAD
        return v

    @property
    def partition_leader_epoch(self) -> int:
        v: int = _I.unpack_from(self.buf, 12)[0]
        return v

    @property
    def magic(self) -> int:
        return self.buf[16] if len(self.buf) > 16 else -1

    @property
    def crc(self) -> int:
        v: int = _U.unpack_from(self.buf, 17)[0]
        return v

    @property
    def attributes(self) -> int:
        v: int = _H.unpack_from(self.buf, 21)[0]
        return v

    @property
    def compression_type(self) -> CompressionType:
        return CompressionType(self.attributes & COMPRESSION_MASK)

    @property
    def timestamp_type(self) -> int:
        """0 = CreateTime, 1 = LogAppendTime."""
        return 1 if self.attributes & TIMESTAMP_TYPE_MASK else 0

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_MASK)

    @property
    def is_control_batch(self) -> bool:
        return bool(self.attributes & CONTROL_MASK)

    @property
    def last_offset_delta(self) -> int:
        v: int = _I.unpack_from(self.buf, 23)[0]
        return v

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.last_offset + 1

    @property
    def base_timestamp(self) -> int:
        v: int = _Q.unpack_from(self.buf, 27)[0]
        return v

    @property
    def max_timestamp(self) -> int:
        v: int = _Q.unpack_from(self.buf, 35)[0]
        return v

    @property
    def producer_id(self) -> int:
        v: int = _Q.unpack_from(self.buf, 43)[0]
        return v

    @property
    def producer_epoch(self) -> int:
        v: int = _H.unpack_from(self.buf, 51)[0]
        return v

    @property
    def base_sequence(self) -> int:
        v: int = _I.unpack_from(self.buf, 53)[0]
        return v

    @property
    def last_sequence(self) -> int:
        base = self.base_sequence
        if base == NO_SEQUENCE:
            return NO_SEQUENCE
        return increment_sequence(base, self.last_offset_delta)

    @property
    def records_count(self) -> int:
        v: int = _I.unpack_from(self.buf, 57)[0]
        return v

    @property
    def batch(self) -> memoryview:
        """Exactly this batch's bytes (``buf`` may continue past it)."""
        return self.buf[: self.size_in_bytes]

    # ------------------------------------------------------------------ validation
    def compute_crc(self) -> int:
        return crc32c(self.buf[CRC_START : self.size_in_bytes])

    def validate(self) -> None:
        """Check size, magic and CRC32C; raises :class:`CorruptRecordError` naming what is wrong."""
        n = len(self.buf)
        if n < RECORD_BATCH_OVERHEAD:
            raise CorruptRecordError(f"record batch is {n} bytes, shorter than the {RECORD_BATCH_OVERHEAD}-byte header")
        size = self.size_in_bytes
        if size < RECORD_BATCH_OVERHEAD:
            raise CorruptRecordError(f"record batch size {size} is smaller than the {RECORD_BATCH_OVERHEAD}-byte header")
        if size > n:
            raise CorruptRecordError(f"record batch declares {size} bytes but only {n} are present")
        magic = self.buf[16]
        if magic != MAGIC_V2:
            raise CorruptRecordError(f"unsupported record batch magic {magic}: only magic 2 (Produce v3+) is accepted")
        stored = _U.unpack_from(self.buf, 17)[0]
        computed = crc32c(self.buf[CRC_START:size])
        if stored != computed:
            raise CorruptRecordError(
                f"record batch at offset {self.base_offset} is corrupt: CRC32C stored {stored:#010x}, computed {computed:#010x}"
            )

    def is_valid(self) -> bool:
        """:meth:`validate` as a yes/no (what kafka-dump-log prints as ``isvalid``)."""
        try:
            self.validate()
        except CorruptRecordError:
            return False
        return True

    # ------------------------------------------------------------------ in-place rewrites
    def set_base_offset(self, offset: int) -> None:
        """Rewrite the base offset (outside the CRC)."""
        _Q.pack_into(self.buf, 0, offset)

    def set_partition_leader_epoch(self, epoch: int) -> None:
        """Stamp the partition leader epoch (outside the CRC)."""
        _I.pack_into(self.buf, 12, epoch)

    def set_max_timestamp(self, timestamp_type: int, max_timestamp: int) -> None:
        """Set the timestamp type bit and max timestamp (LogAppendTime), then recompute the CRC."""
        attrs = self.attributes & ~TIMESTAMP_TYPE_MASK
        if timestamp_type == LOG_APPEND_TIME:
            attrs |= TIMESTAMP_TYPE_MASK
        _H.pack_into(self.buf, 21, attrs)
        _Q.pack_into(self.buf, 35, max_timestamp)
        _U.pack_into(self.buf, 17, self.compute_crc())

    # ------------------------------------------------------------------ records
    def records_section(self) -> bytes:
        """The records section, decompressed (raises CorruptRecordError on a bad blob)."""
        raw = self.buf[RECORD_BATCH_OVERHEAD : self.size_in_bytes]
        return decompress(self.attributes & COMPRESSION_MASK, raw)

    def records(self) -> Iterator[Record]:
        """Decode every record (decompressing first). Raises :class:`CorruptRecordError` on malformed data.

        Timestamps are absolute: ``baseTimestamp + timestampDelta``, or the batch's max timestamp for a
        LogAppendTime batch (as Kafka's ``DefaultRecord`` reports them).
        """
        h = self.header()
        data = self.records_section()
        yield from decode_records(
            data,
            h.base_offset,
            h.base_timestamp,
            h.max_timestamp if h.attributes & TIMESTAMP_TYPE_MASK else None,
            h.records_count,
        )

    def __repr__(self) -> str:
        try:
            h = self.header()
        except CorruptRecordError:
            return f"RecordBatchView(<{len(self.buf)} bytes>)"
        return (
            f"RecordBatchView(base_offset={h.base_offset}, last_offset={h.base_offset + h.last_offset_delta}, "
            f"count={h.records_count}, size={h.batch_length + LOG_OVERHEAD}, codec={h.attributes & COMPRESSION_MASK}, "
            f"producer_id={h.producer_id}, epoch={h.partition_leader_epoch})"
        )


def decode_records(
    data: Buffer, base_offset: int, base_timestamp: int, log_append_time: int | None, count: int
) -> Iterator[Record]:
    """Decode ``count`` records from an uncompressed records section."""
    if count < 0:
        raise CorruptRecordError(f"negative record count {count}")
    mv = memoryview(data)
    end = len(mv)
    pos = 0
    for _ in range(count):
        length, pos = decode_varint(mv, pos)
        rec_end = pos + length
        if length < 0 or rec_end > end:
            raise CorruptRecordError(f"record length {length} runs past the end of the batch")
        pos += 1  # attributes (unused)
        ts_delta, pos = decode_varint(mv, pos)
        off_delta, pos = decode_varint(mv, pos)
        klen, pos = decode_varint(mv, pos)
        if klen < 0:
            key = None
        else:
            key = bytes(mv[pos : pos + klen])
            pos += klen
        vlen, pos = decode_varint(mv, pos)
        if vlen < 0:
            value = None
        else:
            value = bytes(mv[pos : pos + vlen])
            pos += vlen
        nheaders, pos = decode_varint(mv, pos)
        if nheaders < 0:
            raise CorruptRecordError(f"negative header count {nheaders}")
        headers: list[tuple[str, bytes | None]] = []
        for _h in range(nheaders):
            hklen, pos = decode_varint(mv, pos)
            if hklen < 0:
                raise CorruptRecordError("record header key must not be null")
            try:
                hkey = bytes(mv[pos : pos + hklen]).decode("utf-8")
            except UnicodeDecodeError:
                raise CorruptRecordError("record header key is not UTF-8") from None
            pos += hklen
            hvlen, pos = decode_varint(mv, pos)
            if hvlen < 0:
                hval = None
            else:
                hval = bytes(mv[pos : pos + hvlen])
                pos += hvlen
            headers.append((hkey, hval))
        if pos != rec_end:
            raise CorruptRecordError(f"record declares {length} bytes but its fields take {pos - (rec_end - length)}")
        ts = log_append_time if log_append_time is not None else base_timestamp + ts_delta
        yield Record(base_offset + off_delta, ts, key, value, tuple(headers))
    if pos != end:
        raise CorruptRecordError(f"{end - pos} bytes left after the {count} records the batch declares")


def iter_batches(buf: Buffer) -> Iterator[RecordBatchView]:
    """Walk consecutive batches in ``buf``; stops before a partial batch at the end (as a fetch may end).

    Nothing is validated beyond the size field: a declared size smaller than a batch header raises
    :class:`CorruptRecordError` (the walk could not continue past it).
    """
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    pos = 0
    n = len(mv)
    while n - pos >= LOG_OVERHEAD:
        size = _I.unpack_from(mv, pos + 8)[0] + LOG_OVERHEAD
        if size < RECORD_BATCH_OVERHEAD:
            raise CorruptRecordError(f"record batch at byte {pos} declares size {size}, smaller than its header")
        if pos + size > n:
            return
        yield RecordBatchView(mv[pos : pos + size])
        pos += size
