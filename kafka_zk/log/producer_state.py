"""Idempotent-producer state of one partition (Kafka's ``ProducerStateManager`` / ``ProducerAppendInfo``).

For every producer id that wrote to the partition the log remembers its epoch and the metadata of its
last five batches (first/last sequence, first/last offset, max timestamp). On a leader append of a batch
carrying a producer id:

* **duplicate** — same epoch and exactly the sequence range of one of the five remembered batches: the
  producer is retrying a batch that was written. Nothing is written; the original offsets are returned.
* **stale epoch** — epoch below the remembered one: ``INVALID_PRODUCER_EPOCH`` (a fenced zombie).
* **new epoch** — the first sequence must be 0 (the producer reset its sequences when bumping the epoch),
  else ``OUT_OF_ORDER_SEQUENCE_NUMBER``. A producer id the log has never seen (or whose state expired)
  is accepted with any sequence — Kafka 2.5+ (KIP-360) behaviour, so producers survive retention.
* **same epoch** — the first sequence must follow the last one (``last + 1``, wrapping from Int32.MAX to
  0), else ``OUT_OF_ORDER_SEQUENCE_NUMBER``.

Followers (replication origin) skip the sequence checks and only warn about stale epochs.

State is rebuilt on load from the latest snapshot at or below the log end offset plus a replay of the batch
headers after it. Snapshots are written when a segment rolls and at clean shutdown, as
``<20-digit offset>.snapshot`` holding the state of every batch below that offset.

Snapshot file format (ours, versioned and CRC-protected; Kafka's own is a Struct with a CRC that keeps only
the last batch per producer — we keep all five so duplicates are still caught after a restart)::

    magic        4 bytes  "KZPS"
    version      int16    1
    crc          uint32   CRC-32C of every byte after this field
    count        int32    number of producers
    per producer:
      producer_id int64, producer_epoch int16, coordinator_epoch int32,
      current_txn_first_offset int64 (-1: none), last_timestamp int64, batch_count int8,
      per batch: last_seq int32, last_offset int64, offset_delta int32, timestamp int64

All integers big-endian. A snapshot that fails its magic, version, CRC or length check is deleted and the
next older one is tried (the replay then covers more of the log).
"""

from __future__ import annotations

import os
import struct
from collections import deque
from enum import Enum
from typing import Callable, Iterable, NamedTuple

from crc32c import crc32c

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.logging import get_logger
from kafka_zk.log import files
from kafka_zk.log.checkpoints import write_atomically
from kafka_zk.record.batch import NO_PRODUCER_EPOCH, NO_SEQUENCE, decrement_sequence

log = get_logger(__name__)

NUM_BATCHES_TO_RETAIN = 5
DEFAULT_PRODUCER_ID_EXPIRATION_MS = 7 * 24 * 3600 * 1000  # Kafka 2.x: transactional.id.expiration.ms
_INT32_MAX = 0x7FFFFFFF

SNAPSHOT_MAGIC = b"KZPS"
SNAPSHOT_VERSION = 1
_SNAP_HEADER = struct.Struct(">4shIi")  # magic, version, crc, count
_SNAP_ENTRY = struct.Struct(">qhiqqb")
_SNAP_BATCH = struct.Struct(">iqiq")


class AppendOrigin(Enum):
    CLIENT = "client"
    REPLICATION = "replication"
    COORDINATOR = "coordinator"


class CorruptSnapshotError(ValueError):
    pass


class BatchMetadata(NamedTuple):
    last_seq: int
    last_offset: int
    offset_delta: int
    timestamp: int

    @property
    def first_seq(self) -> int:
        return decrement_sequence(self.last_seq, self.offset_delta)

    @property
    def first_offset(self) -> int:
        return self.last_offset - self.offset_delta


class ProducerStateEntry:
    """What the partition remembers about one producer id."""

    __slots__ = ("producer_id", "producer_epoch", "batch_metadata", "last_timestamp", "coordinator_epoch", "current_txn_first_offset")

    def __init__(
        self,
        producer_id: int,
        producer_epoch: int = NO_PRODUCER_EPOCH,
        batches: Iterable[BatchMetadata] = (),
        last_timestamp: int = -1,
        coordinator_epoch: int = -1,
        current_txn_first_offset: int | None = None,
    ) -> None:
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.batch_metadata: deque[BatchMetadata] = deque(batches, maxlen=NUM_BATCHES_TO_RETAIN)
        self.last_timestamp = last_timestamp
        self.coordinator_epoch = coordinator_epoch
        self.current_txn_first_offset = current_txn_first_offset

    @property
    def is_empty(self) -> bool:
        return not self.batch_metadata

    @property
    def first_seq(self) -> int:
        return self.batch_metadata[0].first_seq if self.batch_metadata else NO_SEQUENCE

    @property
    def last_seq(self) -> int:
        return self.batch_metadata[-1].last_seq if self.batch_metadata else NO_SEQUENCE

    @property
    def last_data_offset(self) -> int:
        return self.batch_metadata[-1].last_offset if self.batch_metadata else -1

    def maybe_update_producer_epoch(self, epoch: int) -> bool:
        if self.producer_epoch != epoch:
            self.batch_metadata.clear()
            self.producer_epoch = epoch
            return True
        return False

    def add_batch(self, epoch: int, last_seq: int, last_offset: int, offset_delta: int, timestamp: int) -> None:
        self.maybe_update_producer_epoch(epoch)
        self.batch_metadata.append(BatchMetadata(last_seq, last_offset, offset_delta, timestamp))
        self.last_timestamp = timestamp

    def update(self, nxt: "ProducerStateEntry") -> None:
        self.maybe_update_producer_epoch(nxt.producer_epoch)
        self.batch_metadata.extend(nxt.batch_metadata)
        self.coordinator_epoch = nxt.coordinator_epoch
        self.current_txn_first_offset = nxt.current_txn_first_offset
        self.last_timestamp = nxt.last_timestamp

    def find_duplicate_batch(self, epoch: int, first_seq: int, last_seq: int) -> BatchMetadata | None:
        if epoch != self.producer_epoch:
            return None
        for meta in self.batch_metadata:
            if meta.first_seq == first_seq and meta.last_seq == last_seq:
                return meta
        return None

    def __repr__(self) -> str:
        return (
            f"ProducerStateEntry(producer_id={self.producer_id}, epoch={self.producer_epoch}, "
            f"batches={list(self.batch_metadata)}, last_timestamp={self.last_timestamp})"
        )


def _in_sequence(last_seq: int, next_seq: int) -> bool:
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == _INT32_MAX)


class ProducerAppendInfo:
    """Validates one producer's batches of an append against its current entry, accumulating the update."""

    def __init__(self, producer_id: int, current: ProducerStateEntry, origin: AppendOrigin, partition: str = "") -> None:
        self.producer_id = producer_id
        self.current = current
        self.origin = origin
        self.partition = partition
        self.updated = ProducerStateEntry(
            producer_id,
            current.producer_epoch,
            (),
            current.last_timestamp,
            current.coordinator_epoch,
            current.current_txn_first_offset,
        )

    def _check_producer_epoch(self, epoch: int, offset: int) -> None:
        if epoch < self.updated.producer_epoch:
            msg = (
                f"producer {self.producer_id} epoch {epoch} at offset {offset} in {self.partition} is older "
                f"than the last seen epoch {self.updated.producer_epoch}"
            )
            if self.origin is AppendOrigin.REPLICATION:
                log.warning("stale producer epoch in replicated batch", producer_id=self.producer_id, epoch=epoch)
            else:
                raise KafkaError(ErrorCode.INVALID_PRODUCER_EPOCH, msg)

    def _check_sequence(self, epoch: int, first_seq: int, offset: int) -> None:
        if epoch != self.updated.producer_epoch:
            if first_seq != 0 and self.updated.producer_epoch != NO_PRODUCER_EPOCH:
                raise KafkaError(
                    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"producer {self.producer_id} started epoch {epoch} with sequence {first_seq} (expected 0) in {self.partition}",
                )
            return
        if not self.updated.is_empty:
            current_last = self.updated.last_seq
        elif epoch == self.current.producer_epoch:
            current_last = self.current.last_seq
        else:
            current_last = NO_SEQUENCE
        if not (self.current.producer_epoch == NO_PRODUCER_EPOCH or _in_sequence(current_last, first_seq)):
            raise KafkaError(
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                f"out of order sequence for producer {self.producer_id} in {self.partition}: got {first_seq}, "
                f"expected {current_last + 1 if current_last != _INT32_MAX else 0}",
            )

    def append_data_batch(
        self, epoch: int, first_seq: int, last_seq: int, last_timestamp: int, first_offset: int, last_offset: int, is_transactional: bool = False
    ) -> None:
        """Validate (raising ``KafkaError``) and record one data batch."""
        self._check_producer_epoch(epoch, first_offset)
        if self.origin is AppendOrigin.CLIENT:
            self._check_sequence(epoch, first_seq, first_offset)
        self.updated.add_batch(epoch, last_seq, last_offset, last_offset - first_offset, last_timestamp)
        if is_transactional and self.updated.current_txn_first_offset is None:
            self.updated.current_txn_first_offset = first_offset


class ProducerStateManager:
    """Per-partition producer state plus its snapshot files. ``dir`` None: no snapshots (in-memory)."""

    def __init__(self, dir: str | None, producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS, partition: str = "") -> None:
        self.dir = dir
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self.partition = partition
        self.producers: dict[int, ProducerStateEntry] = {}
        self.last_map_offset = 0
        self.last_snap_offset = 0

    # ------------------------------------------------------------------ appends
    def last_entry(self, producer_id: int) -> ProducerStateEntry | None:
        return self.producers.get(producer_id)

    def prepare_update(self, producer_id: int, origin: AppendOrigin) -> ProducerAppendInfo:
        current = self.producers.get(producer_id) or ProducerStateEntry(producer_id)
        return ProducerAppendInfo(producer_id, current, origin, self.partition)

    def update(self, info: ProducerAppendInfo) -> None:
        current = self.producers.get(info.producer_id)
        if current is None:
            self.producers[info.producer_id] = info.updated
        else:
            current.update(info.updated)

    def update_map_end_offset(self, offset: int) -> None:
        self.last_map_offset = offset

    @property
    def map_end_offset(self) -> int:
        return self.last_map_offset

    def is_expired(self, now_ms: int, entry: ProducerStateEntry) -> bool:
        return entry.current_txn_first_offset is None and now_ms - entry.last_timestamp >= self.producer_id_expiration_ms

    def remove_expired_producers(self, now_ms: int) -> int:
        expired = [pid for pid, e in self.producers.items() if self.is_expired(now_ms, e)]
        for pid in expired:
            del self.producers[pid]
        return len(expired)

    # ------------------------------------------------------------------ snapshots
    def snapshot_offsets(self) -> list[int]:
        if self.dir is None or not os.path.isdir(self.dir):
            return []
        out = []
        for name in os.listdir(self.dir):
            if name.endswith(files.SNAPSHOT_SUFFIX):
                off = files.offset_from_name(name)
                if off is not None:
                    out.append(off)
        return sorted(out)

    @property
    def latest_snapshot_offset(self) -> int | None:
        offs = self.snapshot_offsets()
        return offs[-1] if offs else None

    def take_snapshot(self, sync: bool = True) -> None:
        """Write a snapshot at the map end offset unless one exists there already."""
        if self.dir is None or self.last_map_offset <= self.last_snap_offset:
            return
        path = files.snapshot_file(self.dir, self.last_map_offset)
        write_atomically(path, encode_snapshot(self.producers.values()), sync)
        self.last_snap_offset = self.last_map_offset

    def delete_snapshots(self, predicate: Callable[[int], bool]) -> None:
        if self.dir is None:
            return
        for off in self.snapshot_offsets():
            if predicate(off):
                try:
                    os.unlink(files.snapshot_file(self.dir, off))
                except FileNotFoundError:
                    pass

    def _load_latest_snapshot(self, log_start_offset: int, now_ms: int) -> None:
        assert self.dir is not None
        for off in reversed(self.snapshot_offsets()):
            path = files.snapshot_file(self.dir, off)
            try:
                with open(path, "rb") as f:
                    entries = decode_snapshot(f.read())
            except (OSError, CorruptSnapshotError) as e:
                log.warning("deleting unreadable producer snapshot", path=path, error=str(e))
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                continue
            for entry in entries:
                if not self.is_expired(now_ms, entry):
                    self.producers[entry.producer_id] = entry
            self.last_snap_offset = self.last_map_offset = off
            return
        self.last_snap_offset = self.last_map_offset = log_start_offset

    def truncate_and_reload(self, log_start_offset: int, log_end_offset: int, now_ms: int) -> None:
        """Drop snapshots outside ``(log_start, log_end]``; if the state does not end exactly at
        ``log_end_offset``, reload it from the latest remaining snapshot. The caller then replays batches
        from :attr:`map_end_offset` up to the log end."""
        self.delete_snapshots(lambda off: off > log_end_offset or off <= log_start_offset)
        if log_end_offset != self.last_map_offset or self.dir is None:
            self.producers.clear()
            if self.dir is None:
                self.last_snap_offset = self.last_map_offset = log_start_offset
            else:
                self._load_latest_snapshot(log_start_offset, now_ms)
        else:
            self.truncate_head(log_start_offset)

    def truncate_head(self, log_start_offset: int) -> None:
        """The log start moved (retention): forget snapshots below it."""
        if self.last_map_offset < log_start_offset:
            self.last_map_offset = log_start_offset
        self.delete_snapshots(lambda off: off < log_start_offset)
        latest = self.latest_snapshot_offset
        self.last_snap_offset = latest if latest is not None else log_start_offset

    def truncate_fully_and_start_at(self, offset: int) -> None:
        self.producers.clear()
        self.delete_snapshots(lambda off: True)
        self.last_snap_offset = 0
        self.last_map_offset = offset


def encode_snapshot(entries: Iterable[ProducerStateEntry]) -> bytes:
    body = bytearray()
    count = 0
    for e in entries:
        count += 1
        body += _SNAP_ENTRY.pack(
            e.producer_id,
            e.producer_epoch,
            e.coordinator_epoch,
            -1 if e.current_txn_first_offset is None else e.current_txn_first_offset,
            e.last_timestamp,
            len(e.batch_metadata),
        )
        for b in e.batch_metadata:
            body += _SNAP_BATCH.pack(b.last_seq, b.last_offset, b.offset_delta, b.timestamp)
    count_bytes = struct.pack(">i", count)
    crc = crc32c(count_bytes + bytes(body))
    return struct.pack(">4shI", SNAPSHOT_MAGIC, SNAPSHOT_VERSION, crc) + count_bytes + bytes(body)


def decode_snapshot(data: bytes) -> list[ProducerStateEntry]:
    """Parse a snapshot; raises :class:`CorruptSnapshotError` on any inconsistency."""
    if len(data) < _SNAP_HEADER.size:
        raise CorruptSnapshotError("snapshot shorter than its header")
    magic, version, crc, count = _SNAP_HEADER.unpack_from(data, 0)
    if magic != SNAPSHOT_MAGIC:
        raise CorruptSnapshotError(f"bad snapshot magic {magic!r}")
    if version != SNAPSHOT_VERSION:
        raise CorruptSnapshotError(f"unknown snapshot version {version}")
    if crc32c(data[10:]) != crc:
        raise CorruptSnapshotError("snapshot CRC mismatch")
    pos = _SNAP_HEADER.size
    out: list[ProducerStateEntry] = []
    try:
        for _ in range(count):
            pid, epoch, coord, txn_first, last_ts, nb = _SNAP_ENTRY.unpack_from(data, pos)
            pos += _SNAP_ENTRY.size
            batches = []
            for _b in range(nb):
                batches.append(BatchMetadata(*_SNAP_BATCH.unpack_from(data, pos)))
                pos += _SNAP_BATCH.size
            out.append(ProducerStateEntry(pid, epoch, batches, last_ts, coord, None if txn_first < 0 else txn_first))
    except struct.error:
        raise CorruptSnapshotError("snapshot entries run past the end of the file") from None
    if pos != len(data):
        raise CorruptSnapshotError(f"{len(data) - pos} stray bytes after the snapshot entries")
    return out
