"""Append-time validation of record batches: what the log checks before a byte reaches the disk.

The fast path never decodes a record. For every batch in the buffer it checks, from the 61-byte header
alone: that the whole batch is present, magic 2, the CRC32C (hardware-accelerated, over the bytes as they
will be stored), ``max.message.bytes``, and — for client appends — that the header is self-consistent
(record count = last offset delta + 1 > 0, no control batches, a sequence whenever there is a producer id)
and, when ``message.timestamp.difference.max.ms`` is set, that the CreateTime timestamps are close to the
broker's clock. Only two topic settings force records to be read: ``cleanup.policy=compact`` (every
record needs a key) and a ``compression.type`` other than ``producer`` that differs from the batch's
codec (the batch is re-encoded, as Kafka's ``LogValidator`` does).

Offsets and leader epochs are then stamped into the caller's buffer in place (:func:`assign_offsets`).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from crc32c import crc32c

from kafka_zk.common.errors import CorruptRecordError, ErrorCode, KafkaError
from kafka_zk.log.config import LONG_MAX, LogConfig
from kafka_zk.record.batch import (
    CONTROL_MASK,
    COMPRESSION_MASK,
    CRC_START,
    HEADER,
    LOG_APPEND_TIME,
    LOG_OVERHEAD,
    MAGIC_V2,
    NO_TIMESTAMP,
    RECORD_BATCH_OVERHEAD,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_MASK,
    BatchHeader,
    RecordBatchView,
)
from kafka_zk.record.builder import RecordBatchBuilder
from kafka_zk.record.compression import CompressionType


class ValidBatch(NamedTuple):
    position: int  # within the append buffer
    size: int
    header: BatchHeader


def split_batches(buf: memoryview, *, max_message_bytes: int | None) -> list[ValidBatch]:
    """Check every batch's size, magic and CRC; raise :class:`CorruptRecordError` (or
    ``KafkaError(MESSAGE_TOO_LARGE)``) on the first bad one. Trailing bytes that are not a whole batch are
    an error too: a producer never sends them."""
    out: list[ValidBatch] = []
    n = len(buf)
    pos = 0
    unpack = HEADER.unpack_from
    while pos < n:
        if n - pos < RECORD_BATCH_OVERHEAD:
            raise CorruptRecordError(f"{n - pos} trailing bytes at byte {pos} do not form a record batch")
        h = unpack(buf, pos)
        size = h[1] + LOG_OVERHEAD
        if size < RECORD_BATCH_OVERHEAD:
            raise CorruptRecordError(f"record batch at byte {pos} declares size {size}, smaller than its header")
        if pos + size > n:
            raise CorruptRecordError(f"record batch at byte {pos} declares {size} bytes but only {n - pos} remain")
        if h[3] != MAGIC_V2:
            raise CorruptRecordError(f"unsupported record batch magic {h[3]} at byte {pos}: only magic 2 (Produce v3+) is accepted")
        if max_message_bytes is not None and size > max_message_bytes:
            raise KafkaError(
                ErrorCode.MESSAGE_TOO_LARGE,
                f"record batch of {size} bytes exceeds max.message.bytes {max_message_bytes}",
            )
        crc = crc32c(buf[pos + CRC_START : pos + size])
        if crc != h[4]:
            raise CorruptRecordError(f"record batch at byte {pos} is corrupt: CRC32C stored {h[4]:#010x}, computed {crc:#010x}")
        out.append(ValidBatch(pos, size, BatchHeader._make(h)))
        pos += size
    return out


def check_client_batch(b: ValidBatch, config: LogConfig, now_ms: int) -> None:
    """Header-level rules for batches that come from producers (Kafka's ``LogValidator.validateBatch``)."""
    h = b.header
    if h.last_offset_delta < 0:
        raise KafkaError(ErrorCode.INVALID_RECORD, f"record batch has a negative last offset delta {h.last_offset_delta}")
    if h.records_count <= 0:
        raise KafkaError(ErrorCode.INVALID_RECORD, f"invalid record count {h.records_count} in record batch")
    if h.records_count != h.last_offset_delta + 1:
        raise KafkaError(
            ErrorCode.INVALID_RECORD,
            f"record batch offset range [0, {h.last_offset_delta}] does not match its record count {h.records_count}",
        )
    if h.attributes & CONTROL_MASK:
        raise KafkaError(ErrorCode.INVALID_RECORD, "clients may not write control batches")
    if h.producer_id >= 0 and h.base_sequence < 0:
        raise KafkaError(ErrorCode.INVALID_RECORD, f"record batch from producer {h.producer_id} has invalid sequence {h.base_sequence}")
    max_diff = config.message_timestamp_difference_max_ms
    if max_diff < LONG_MAX and not config.log_append_time:
        for ts in (h.base_timestamp, h.max_timestamp):
            if ts != NO_TIMESTAMP and abs(ts - now_ms) > max_diff:
                raise KafkaError(
                    ErrorCode.INVALID_TIMESTAMP,
                    f"timestamp {ts} is more than message.timestamp.difference.max.ms={max_diff} from the broker's time {now_ms}",
                )


def check_keys_for_compaction(buf: memoryview, b: ValidBatch, partition: str) -> None:
    """A compacted topic keeps the latest record per key, so every record needs one."""
    for rec in RecordBatchView(buf[b.position : b.position + b.size]).records():
        if rec.key is None:
            raise KafkaError(ErrorCode.INVALID_RECORD, f"compacted topic cannot accept a record without a key ({partition})")


def target_compression(config: LogConfig) -> CompressionType | None:
    """The codec batches must be stored with, or None to keep the producer's."""
    name = config.compression_type
    if name == "producer":
        return None
    return CompressionType.from_name(name)


def recompress(batch: memoryview, codec: CompressionType) -> bytes:
    """Re-encode a client batch with another codec, keeping producer id/epoch/sequence and timestamps."""
    view = RecordBatchView(batch)
    h = view.header()
    builder = RecordBatchBuilder(
        codec,
        h.producer_id,
        h.producer_epoch,
        h.base_sequence,
        is_transactional=bool(h.attributes & TRANSACTIONAL_MASK),
        timestamp_type=LOG_APPEND_TIME if h.attributes & TIMESTAMP_TYPE_MASK else 0,
        partition_leader_epoch=h.partition_leader_epoch,
    )
    for rec in view.records():
        builder.append(rec.timestamp, rec.key, rec.value, rec.headers, offset=rec.offset - h.base_offset)
    return builder.build()


def needs_recompression(b: ValidBatch, target: CompressionType | None) -> bool:
    return target is not None and (b.header.attributes & COMPRESSION_MASK) != target


def assign_offsets(buf: memoryview, batches: list[ValidBatch], first_offset: int, leader_epoch: int, log_append_time: int | None) -> int:
    """Stamp base offsets and the leader epoch in place (and LogAppendTime, re-CRCing); returns the next offset."""
    nxt = first_offset
    for b in batches:
        # Both fields lie outside the CRC: two in-place stores, no re-encoding.
        _BASE_OFFSET.pack_into(buf, b.position, nxt)
        _LEADER_EPOCH.pack_into(buf, b.position + 12, leader_epoch)
        if log_append_time is not None:
            RecordBatchView(buf[b.position : b.position + b.size]).set_max_timestamp(LOG_APPEND_TIME, log_append_time)
        nxt += b.header.last_offset_delta + 1
    return nxt


_BASE_OFFSET = struct.Struct(">q")
_LEADER_EPOCH = struct.Struct(">i")
