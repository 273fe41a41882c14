"""Building v2 record batches: our client's producer, ``__consumer_offsets`` writes, the cleaner, tests.

The builder encodes records into a ``bytearray`` as they are appended, then :meth:`RecordBatchBuilder.build`
compresses the records section (when asked), writes the 61-byte header and the CRC32C. Offsets are
written as deltas from ``base_offset`` (0 for a producer: the leader assigns real offsets on append);
the cleaner passes explicit offsets to keep each record's original offset, and ``last_offset`` to keep
the batch's original last offset (the producer's last sequence depends on it).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from crc32c import crc32c

from kafka_zk.record.batch import (
    CONTROL_MASK,
    CRC_START,
    HEADER,
    LOG_APPEND_TIME,
    LOG_OVERHEAD,
    MAGIC_V2,
    NO_PARTITION_LEADER_EPOCH,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    NO_SEQUENCE,
    NO_TIMESTAMP,
    RECORD_BATCH_OVERHEAD,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_MASK,
    _U,
)
from kafka_zk.record.compression import CompressionType, compress
from kafka_zk.record.varint import size_of_varint, write_varint

Header = tuple[str, bytes | None]


class RecordBatchBuilder:
    """Accumulates records for one batch.

    ``append`` returns the record's offset. ``timestamp`` is milliseconds since the epoch (``-1`` =
    none). Keys/values are bytes or ``None`` (a null key; a null value is a tombstone); header keys
    are ``str`` (UTF-8 on the wire).
    """

    def __init__(
        self,
        compression: int = CompressionType.NONE,
        producer_id: int = NO_PRODUCER_ID,
        producer_epoch: int = NO_PRODUCER_EPOCH,
        base_sequence: int = NO_SEQUENCE,
        *,
        is_transactional: bool = False,
        is_control: bool = False,
        timestamp_type: int = 0,
        base_offset: int = 0,
        partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
        log_append_time: int = NO_TIMESTAMP,
    ) -> None:
        self.compression = CompressionType(compression)
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.base_sequence = base_sequence
        self.is_transactional = is_transactional
        self.is_control = is_control
        self.timestamp_type = timestamp_type
        self.base_offset = base_offset
        self.partition_leader_epoch = partition_leader_epoch
        self.log_append_time = log_append_time
        self._records = bytearray()
        self._count = 0
        self._last_offset_delta = -1
        self._base_timestamp: int | None = None
        self._max_timestamp = NO_TIMESTAMP

    def __len__(self) -> int:
        return self._count

    @property
    def estimated_size(self) -> int:
        """Header plus encoded records, before compression."""
        return RECORD_BATCH_OVERHEAD + len(self._records)

    def append(
        self,
        timestamp: int,
        key: bytes | None,
        value: bytes | None,
        headers: Iterable[Header] = (),
        *,
        offset: int | None = None,
    ) -> int:
        """Append one record; ``offset`` defaults to the next one. Offsets must increase."""
        delta = self._last_offset_delta + 1 if offset is None else offset - self.base_offset
        if delta <= self._last_offset_delta or delta < 0:
            raise ValueError(f"record offsets must increase: got offset {self.base_offset + delta}")
        if self._base_timestamp is None:
            self._base_timestamp = timestamp
        if timestamp > self._max_timestamp:
            self._max_timestamp = timestamp
        body = bytearray(b"\x00")  # attributes
        write_varint(body, timestamp - self._base_timestamp)
        write_varint(body, delta)
        if key is None:
            body.append(1)  # zig-zag(-1)
        else:
            write_varint(body, len(key))
            body += key
        if value is None:
            body.append(1)
        else:
            write_varint(body, len(value))
            body += value
        hdrs: Sequence[Header] = headers if isinstance(headers, (list, tuple)) else list(headers)
        write_varint(body, len(hdrs))
        for hk, hv in hdrs:
            hkb = hk.encode("utf-8")
            write_varint(body, len(hkb))
            body += hkb
            if hv is None:
                body.append(1)
            else:
                write_varint(body, len(hv))
                body += hv
        write_varint(self._records, len(body))
        self._records += body
        self._count += 1
        self._last_offset_delta = delta
        return self.base_offset + delta

    @staticmethod
    def estimate_record_size(key: bytes | None, value: bytes | None, headers: Sequence[Header] = ()) -> int:
        """Upper bound of one record's encoded size (timestamp/offset deltas at their widest)."""
        n = 1 + 10 + 5
        n += 1 if key is None else size_of_varint(len(key)) + len(key)
        n += 1 if value is None else size_of_varint(len(value)) + len(value)
        n += size_of_varint(len(headers))
        for hk, hv in headers:
            hkb = len(hk.encode("utf-8"))
            n += size_of_varint(hkb) + hkb + (1 if hv is None else size_of_varint(len(hv)) + len(hv))
        return n + 5

    def build(self, last_offset: int | None = None, *, empty_timestamp: int = NO_TIMESTAMP) -> bytes:
        """Encode the batch. ``last_offset`` overrides the last offset delta (the cleaner keeps the
        original one). An empty batch is legal (the cleaner writes one to keep an idempotent producer's
        sequence); ``empty_timestamp`` then fills its base and max timestamps."""
        if last_offset is None:
            last_delta = max(self._last_offset_delta, 0)
        else:
            last_delta = last_offset - self.base_offset
            if last_delta < self._last_offset_delta:
                raise ValueError("last_offset is below the last appended record")
        payload = compress(self.compression, self._records) if self._count else b""
        attrs = int(self.compression) if self._count else 0  # an empty records section is never compressed
        if self.timestamp_type == LOG_APPEND_TIME:
            attrs |= TIMESTAMP_TYPE_MASK
        if self.is_transactional:
            attrs |= TRANSACTIONAL_MASK
        if self.is_control:
            attrs |= CONTROL_MASK
        base_ts = self._base_timestamp if self._base_timestamp is not None else empty_timestamp
        max_ts = self._max_timestamp if self._count else empty_timestamp
        if self.timestamp_type == LOG_APPEND_TIME and self.log_append_time != NO_TIMESTAMP:
            max_ts = self.log_append_time
        size = RECORD_BATCH_OVERHEAD + len(payload)
        out = bytearray(size)
        HEADER.pack_into(
            out,
            0,
            self.base_offset,
            size - LOG_OVERHEAD,
            self.partition_leader_epoch,
            MAGIC_V2,
            0,
            attrs,
            last_delta,
            base_ts,
            max_ts,
            self.producer_id,
            self.producer_epoch,
            self.base_sequence,
            self._count,
        )
        out[RECORD_BATCH_OVERHEAD:] = payload
        _U.pack_into(out, 17, crc32c(memoryview(out)[CRC_START:]))
        return bytes(out)


def build_batch(
    records: Iterable[tuple[Any, ...]],
    compression: int = CompressionType.NONE,
    **kwargs: Any,
) -> bytes:
    """Convenience: one batch from ``(timestamp, key, value)`` or ``(timestamp, key, value, headers)``
    tuples; ``kwargs`` go to :class:`RecordBatchBuilder`."""
    b = RecordBatchBuilder(compression, **kwargs)
    for rec in records:
        b.append(*rec)
    return b.build()
