"""One partition's log: an ordered list of segments, the last one active.

Theory of operation
-------------------
* **Offsets.** ``log_start_offset`` is the first offset a reader may ask for, ``log_end_offset`` (LEO) the
  offset the next record will get, ``high_watermark`` the end of what consumers may see (set by the
  replication layer, clamped to ``[log_start, LEO]``), ``recovery_point`` the offset below which every
  byte has been fsynced.
* **Appends.** The leader validates each batch from its header and CRC (:mod:`kafka_zk.log.validation`),
  checks idempotent producers' sequences (:mod:`kafka_zk.log.producer_state`), rewrites base offsets and
  the leader epoch in the caller's buffer, rolls a new segment if the active one is full or old, and
  writes the buffer with one ``pwrite``. Followers append the leader's batches unchanged. Nothing is
  fsynced unless ``flush.messages`` says so; segments are fsynced when they roll and at shutdown.
* **Reads** find the segment by binary search over base offsets, the batch through the sparse index, and
  return a :class:`FileRegion` for ``sendfile`` (or, for the active segment's last few small batches, the
  bytes the segment keeps of them: see :mod:`kafka_zk.log.segment`). Segment lists are copy-on-write, so
  readers take a reference without locking; removed segments keep their files open (renamed ``.deleted``) for
  ``file.delete.delay.ms`` so a region handed out just before stays readable.
* **Truncation** (followers, KIP-101) cuts the log at an offset, drops later segments, trims the leader
  epoch cache and rebuilds producer state from the latest snapshot below the cut.
* **Retention** deletes whole segments from the front — by time (largest timestamp older than
  ``retention.ms``), by size (``retention.bytes``), or below a raised log start offset — but never beyond
  the high watermark, and advances the log start offset to the first remaining segment.
* **Threads.** Everything runs on the broker's event-loop thread except the log cleaner, which builds
  cleaned segments in its own thread and swaps them in under :attr:`lock` (see :mod:`kafka_zk.log.cleaner`).
  Mutating methods take the lock; an uncontended ``RLock`` costs well under a microsecond.
"""

from __future__ import annotations

import bisect
import os
import random
import shutil
import threading
from typing import Callable, Iterable, Sequence

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.clock import SYSTEM_CLOCK, Clock
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.regions import FileRegion
from kafka_zk.common.tp import TopicPartition
from kafka_zk.log import files
from kafka_zk.log.config import LogConfig
from kafka_zk.log.epoch_cache import LeaderEpochFileCache
from kafka_zk.log.info import FetchDataInfo, LogAppendInfo
from kafka_zk.log.producer_state import DEFAULT_PRODUCER_ID_EXPIRATION_MS, AppendOrigin, ProducerAppendInfo, ProducerStateManager
from kafka_zk.log.segment import LogSegment
from kafka_zk.log.validation import (
    assign_offsets,
    check_client_batch,
    check_keys_for_compaction,
    needs_recompression,
    recompress,
    split_batches,
    target_compression,
)
from kafka_zk.record.batch import CONTROL_MASK, TRANSACTIONAL_MASK, BatchHeader, increment_sequence

log = get_logger(__name__)


class NonMonotonicOffsetsError(KafkaError):
    """A follower append whose offsets do not continue the log (Kafka's UnexpectedAppendOffsetException)."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.UNKNOWN_SERVER_ERROR, message)


class Log:
    """A partition log in ``dir`` (``<topic>-<partition>``). Opening it loads and, after an unclean
    shutdown, recovers the segments (see :mod:`kafka_zk.log.loader`)."""

    def __init__(
        self,
        dir: str,
        config: LogConfig,
        *,
        log_start_offset: int = 0,
        recovery_point: int = 0,
        had_clean_shutdown: bool = False,
        clock: Clock = SYSTEM_CLOCK,
        events: EventBus | None = None,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
        tp: TopicPartition | None = None,
    ) -> None:
        from kafka_zk.log import loader

        self.dir = os.path.abspath(dir)
        os.makedirs(self.dir, exist_ok=True)
        self.tp = tp if tp is not None else TopicPartition.parse(os.path.basename(self.dir))
        self._config = config
        self.clock = clock
        self.events = events
        self.lock = threading.RLock()
        self._segments: list[LogSegment] = []
        self._bases: list[int] = []
        self._log_start_offset = log_start_offset
        self._log_end_offset = log_start_offset
        self._high_watermark = log_start_offset
        self.recovery_point = recovery_point
        self._pending_deletes: list[tuple[int, LogSegment]] = []
        self._last_flush_ms = clock.time_ms()
        self._generation = 0  # bumped whenever existing data changes (truncation); the cleaner checks it
        self._closed = False
        self.on_append: list[Callable[[LogAppendInfo], None]] = []
        self._epoch_cache_rebuild = False  # set by the loader when the checkpoint was unreadable
        self.producer_state = ProducerStateManager(self.dir, producer_id_expiration_ms, str(self.tp))
        self.leader_epoch_cache: LeaderEpochFileCache = loader.load_epoch_cache(self)
        self.recovery = loader.load(self, had_clean_shutdown)

    # ------------------------------------------------------------------ properties
    @property
    def config(self) -> LogConfig:
        return self._config

    @config.setter
    def config(self, config: LogConfig) -> None:
        """Apply a changed topic config (new segments and appends use it)."""
        self._config = config

    @property
    def name(self) -> str:
        return str(self.tp)

    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self._log_end_offset

    @property
    def high_watermark(self) -> int:
        return self._high_watermark

    @high_watermark.setter
    def high_watermark(self, value: int) -> None:
        self._high_watermark = min(max(value, self._log_start_offset), self._log_end_offset)

    @property
    def last_stable_offset(self) -> int:
        """No transactions are kept open, so the LSO is the high watermark."""
        return self._high_watermark

    @property
    def segments(self) -> Sequence[LogSegment]:
        return tuple(self._segments)

    @property
    def active_segment(self) -> LogSegment:
        return self._segments[-1]

    @property
    def last_flush_ms(self) -> int:
        return self._last_flush_ms

    @property
    def generation(self) -> int:
        return self._generation

    def size_in_bytes(self) -> int:
        return sum(s.size for s in self._segments)

    def __repr__(self) -> str:
        return f"Log({self.name}, start={self._log_start_offset}, end={self._log_end_offset}, hw={self._high_watermark}, segments={len(self._segments)})"

    # ------------------------------------------------------------------ segment bookkeeping
    def _set_segments(self, segments: list[LogSegment]) -> None:
        """Publish a new segment list (copy-on-write: readers holding the old list stay consistent)."""
        bases = [s.base_offset for s in segments]
        self._segments, self._bases = segments, bases

    def _new_segment(self, base_offset: int, *, active: bool = True, suffix: str = "", preallocate: bool | None = None) -> LogSegment:
        cfg = self._config
        jitter = random.randrange(cfg.segment_jitter_ms) if cfg.segment_jitter_ms > 0 else 0
        prealloc = cfg.preallocate if preallocate is None else preallocate
        return LogSegment(
            self.dir,
            base_offset,
            clock=self.clock,
            index_interval_bytes=cfg.index_interval_bytes,
            max_index_size=cfg.segment_index_bytes,
            roll_jitter_ms=jitter,
            suffix=suffix,
            active=active,
            preallocate_bytes=cfg.segment_bytes if prealloc else 0,
        )

    def _emit(self, kind: str, **fields: object) -> None:
        if self.events is not None:
            self.events.emit(kind, topic=self.tp.topic, partition=self.tp.partition, **fields)

    def _check_open(self) -> None:
        if self._closed:
            raise KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, f"log {self.name} is closed")

    # ------------------------------------------------------------------ appends
    def append_as_leader(
        self, batches: memoryview | bytes | bytearray, leader_epoch: int, origin: AppendOrigin = AppendOrigin.CLIENT
    ) -> LogAppendInfo:
        """Validate, assign offsets and append (see the module docstring).

        Raises ``CorruptRecordError`` (CORRUPT_MESSAGE) for bad sizes/magic/CRC, ``KafkaError`` with
        MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_RECORD, INVALID_TIMESTAMP,
        OUT_OF_ORDER_SEQUENCE_NUMBER or INVALID_PRODUCER_EPOCH. Nothing is written when it raises. A
        duplicate of a recent idempotent batch returns the original offsets with ``duplicate=True``.
        ``batches`` is stamped in place when writable (a read-only buffer is copied once).
        """
        mv = batches if isinstance(batches, memoryview) else memoryview(batches)
        if mv.readonly:
            mv = memoryview(bytearray(mv))
        cfg = self._config
        valid = split_batches(mv, max_message_bytes=cfg.max_message_bytes)
        now = self.clock.time_ms()
        if origin is AppendOrigin.CLIENT:
            for b in valid:
                check_client_batch(b, cfg, now)
        if cfg.compact:
            for b in valid:
                check_keys_for_compaction(mv, b, self.name)
        target = target_compression(cfg) if origin is AppendOrigin.CLIENT else None
        if target is not None and any(needs_recompression(b, target) for b in valid):
            parts = [
                recompress(mv[b.position : b.position + b.size], target) if needs_recompression(b, target) else bytes(mv[b.position : b.position + b.size])
                for b in valid
            ]
            mv = memoryview(bytearray(b"".join(parts)))
            valid = split_batches(mv, max_message_bytes=None)
        total = len(mv)
        if total > cfg.segment_bytes:
            raise KafkaError(ErrorCode.RECORD_LIST_TOO_LARGE, f"{total} bytes of records exceed segment.bytes {cfg.segment_bytes}")
        log_append_time = now if cfg.log_append_time else None
        with self.lock:
            self._check_open()
            first = self._log_end_offset
            if not valid:
                return LogAppendInfo(first, first - 1, -1, -1, -1, self._log_start_offset, 0, 0, num_batches=0, leader_epoch=leader_epoch)
            # One pass: idempotence checks (a duplicate returns the original result; errors raise before any
            # write), then the offsets, timestamps and index entries of each batch.
            updates: dict[int, ProducerAppendInfo] = {}
            entries: list[tuple[int, int, int, int]] = []
            nxt = first
            max_ts, off_of_max, num_records = -1, first, 0
            for b in valid:
                h = b.header
                last = nxt + h.last_offset_delta
                ts = h.max_timestamp if log_append_time is None else log_append_time
                if h.producer_id >= 0:
                    dup = self._check_producer(h, origin, updates, nxt, last, ts)
                    if dup is not None:
                        dup.num_batches, dup.leader_epoch = len(valid), leader_epoch
                        return dup
                if ts > max_ts:
                    max_ts, off_of_max = ts, last
                entries.append((b.position, b.size, last, ts))
                num_records += h.records_count
                nxt = last + 1
            assign_offsets(mv, valid, first, leader_epoch, log_append_time)
            self._write(mv, entries, first, nxt - 1, max_ts)
            for info in updates.values():
                self.producer_state.update(info)
            self.producer_state.update_map_end_offset(nxt)
            if leader_epoch >= 0 and leader_epoch > self.leader_epoch_cache.latest_epoch:
                self.leader_epoch_cache.assign(leader_epoch, first)
            self._log_end_offset = nxt
            result = LogAppendInfo(
                first, nxt - 1, max_ts, off_of_max, -1 if log_append_time is None else log_append_time,
                self._log_start_offset, num_records, total, num_batches=len(valid), leader_epoch=leader_epoch,
            )
            if nxt - self.recovery_point >= cfg.flush_messages:
                self.flush()
        if self.on_append:
            self._fire_on_append(result)
        return result

    def _check_producer(
        self, h: BatchHeader, origin: AppendOrigin, updates: dict[int, ProducerAppendInfo], first: int, last: int, ts: int
    ) -> LogAppendInfo | None:
        """Sequence/epoch checks for one idempotent batch; returns the original result for a duplicate."""
        last_seq = _last_sequence(h)
        if origin is AppendOrigin.CLIENT:
            entry = self.producer_state.last_entry(h.producer_id)
            dup = entry.find_duplicate_batch(h.producer_epoch, h.base_sequence, last_seq) if entry else None
            if dup is not None:
                return LogAppendInfo(
                    dup.first_offset, dup.last_offset, dup.timestamp, dup.last_offset, -1,
                    self._log_start_offset, dup.last_offset - dup.first_offset + 1, 0, duplicate=True,
                )
        info = updates.get(h.producer_id) or self.producer_state.prepare_update(h.producer_id, origin)
        updates[h.producer_id] = info
        if not h.attributes & CONTROL_MASK:
            info.append_data_batch(h.producer_epoch, h.base_sequence, last_seq, ts, first, last, bool(h.attributes & TRANSACTIONAL_MASK))
        return None

    def append_as_follower(self, batches: memoryview | bytes | bytearray) -> LogAppendInfo:
        """Append the leader's batches unchanged (offsets, epochs, timestamps). Offsets must start at or
        after the LEO and increase (gaps are fine: the leader may have compacted), else
        :class:`NonMonotonicOffsetsError`; bad batches raise ``CorruptRecordError``."""
        mv = batches if isinstance(batches, memoryview) else memoryview(batches)
        valid = split_batches(mv, max_message_bytes=None)
        with self.lock:
            self._check_open()
            leo = self._log_end_offset
            if not valid:
                return LogAppendInfo(leo, leo - 1, -1, -1, -1, self._log_start_offset, 0, 0)
            expected = leo
            entries = []
            max_ts, off_of_max = -1, -1
            updates: dict[int, ProducerAppendInfo] = {}
            for b in valid:
                h = b.header
                last = h.base_offset + h.last_offset_delta
                if h.base_offset < expected or last < h.base_offset:
                    raise NonMonotonicOffsetsError(
                        f"follower append to {self.name} has batch [{h.base_offset}, {last}] but the log expects offset >= {expected}"
                    )
                expected = last + 1
                if h.max_timestamp > max_ts:
                    max_ts, off_of_max = h.max_timestamp, last
                entries.append((b.position, b.size, last, h.max_timestamp))
                if h.producer_id >= 0 and not h.attributes & CONTROL_MASK:
                    info = updates.get(h.producer_id) or self.producer_state.prepare_update(h.producer_id, AppendOrigin.REPLICATION)
                    updates[h.producer_id] = info
                    info.append_data_batch(h.producer_epoch, h.base_sequence, _last_sequence(h), h.max_timestamp, h.base_offset, last, bool(h.attributes & TRANSACTIONAL_MASK))
            first = valid[0].header.base_offset
            self._write(mv, entries, first, expected - 1, max_ts)
            for info in updates.values():
                self.producer_state.update(info)
            self.producer_state.update_map_end_offset(expected)
            for b in valid:
                epoch = b.header.partition_leader_epoch
                if epoch >= 0 and epoch > self.leader_epoch_cache.latest_epoch:
                    self.leader_epoch_cache.assign(epoch, b.header.base_offset)
            self._log_end_offset = expected
            result = LogAppendInfo(
                first, expected - 1, max_ts, off_of_max, -1, self._log_start_offset,
                sum(b.header.records_count for b in valid), len(mv), num_batches=len(valid),
                leader_epoch=valid[-1].header.partition_leader_epoch,
            )
            self._maybe_flush()
        self._fire_on_append(result)
        return result

    def _write(self, mv: memoryview, entries: list[tuple[int, int, int, int]], first_offset: int, last_offset: int, max_ts: int) -> None:
        segment = self._maybe_roll(len(mv), max_ts, first_offset, last_offset)
        segment.append(mv, entries)

    def _maybe_roll(self, size: int, max_ts: int, first_offset: int, last_offset: int) -> LogSegment:
        seg = self._segments[-1]
        cfg = self._config
        if seg.should_roll(
            now_ms=self.clock.time_ms(), segment_bytes=cfg.segment_bytes, segment_ms=cfg.segment_ms,
            messages_size=size, max_timestamp_in_messages=max_ts, max_offset_in_messages=last_offset,
        ):
            return self.roll(first_offset)
        return seg

    def _maybe_flush(self) -> None:
        if self._log_end_offset - self.recovery_point >= self._config.flush_messages:
            self.flush()

    def _fire_on_append(self, info: LogAppendInfo) -> None:
        for cb in list(self.on_append):
            try:
                cb(info)
            except Exception:
                log.exception("on_append callback failed", partition=self.name)

    # ------------------------------------------------------------------ reads
    def read(self, start_offset: int, max_bytes: int, max_offset: int | None = None, min_one_message: bool = True) -> FetchDataInfo:
        """Read from ``start_offset`` up to ``max_bytes`` bytes, stopping before ``max_offset`` (exclusive;
        the high watermark for consumers). With ``min_one_message`` the first batch is returned whole even
        when larger than ``max_bytes``; otherwise the region may end inside a batch, as Kafka's does.
        Raises ``KafkaError(OFFSET_OUT_OF_RANGE)`` below the log start or above the LEO."""
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self._check_open()
        segs, bases = self._segments, self._bases
        leo, lso, hw = self._log_end_offset, self._log_start_offset, self._high_watermark
        empty = FetchDataInfo(start_offset, b"", False, lso, leo, hw)
        if start_offset == leo:
            return empty
        if start_offset > leo or start_offset < lso:
            raise KafkaError(
                ErrorCode.OFFSET_OUT_OF_RANGE,
                f"offset {start_offset} is out of range for {self.name}: log start {lso}, log end {leo}",
            )
        if max_offset is not None and start_offset >= max_offset:
            return empty
        i = bisect.bisect_right(bases, start_offset) - 1
        if i < 0:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, f"offset {start_offset} is below the first segment of {self.name}")
        while i < len(segs):
            seg = segs[i]
            max_position = seg.size
            if max_offset is not None and max_offset < leo:
                nxt_base = bases[i + 1] if i + 1 < len(bases) else None
                if nxt_base is None or max_offset < nxt_base:
                    loc = seg.translate_offset(max_offset)
                    if loc is not None:
                        max_position = loc.position
            r = seg.read(start_offset, max_bytes, max_position, min_one_message)
            if r is not None:
                pos, length, incomplete = r
                records: FileRegion | bytes = b""
                if length > 0:
                    records = seg.tail_bytes(pos, length) or FileRegion(seg.file, pos, length)
                return FetchDataInfo(start_offset, records, incomplete, lso, leo, hw)
            i += 1
        return empty

    def fetch_offset_by_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """``(offset, timestamp)`` of the first record whose timestamp is >= ``timestamp`` (ListOffsets), or
        None when there is none. The special targets -1 (latest) and -2 (earliest) are the caller's."""
        lso = self._log_start_offset
        for seg in self._segments:
            if seg.size and seg.largest_timestamp >= timestamp:
                found = seg.find_offset_by_timestamp(timestamp, lso)
                if found is not None:
                    return found
        return None

    # ------------------------------------------------------------------ roll / flush
    def roll(self, expected_next_offset: int | None = None) -> LogSegment:
        """Start a new active segment at ``max(expected_next_offset, LEO)``; the old one is fsynced and its
        indexes trimmed, and a producer-state snapshot is written at the new base offset."""
        with self.lock:
            self._check_open()
            new_base = max(expected_next_offset or 0, self._log_end_offset)
            active = self._segments[-1]
            if active.size == 0 and active.base_offset == new_base:
                return active
            if new_base <= active.base_offset:
                raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, f"cannot roll {self.name} to offset {new_base}: active segment starts at {active.base_offset}")
            self.producer_state.update_map_end_offset(new_base)
            self.producer_state.take_snapshot()
            active.on_become_inactive()
            new = self._new_segment(new_base)
            self._set_segments(self._segments + [new])
            self.flush(new_base)
            log.debug("rolled segment", partition=self.name, base_offset=new_base)
            self._emit(kinds.LOG_ROLLED, base_offset=new_base, previous_base_offset=active.base_offset, previous_size=active.size)
            return new

    def flush(self, offset: int | None = None) -> None:
        """fsync every segment holding data below ``offset`` (default: the LEO) that is not yet durable."""
        with self.lock:
            if self._closed:
                return
            target = self._log_end_offset if offset is None else offset
            if target <= self.recovery_point:
                self._last_flush_ms = self.clock.time_ms()
                return
            segs, bases = self._segments, self._bases
            for i, seg in enumerate(segs):
                nxt_base = bases[i + 1] if i + 1 < len(bases) else None
                if nxt_base is not None and nxt_base <= self.recovery_point:
                    continue
                if seg.base_offset >= target:
                    break
                seg.flush()
            self.recovery_point = target
            self._last_flush_ms = self.clock.time_ms()

    # ------------------------------------------------------------------ truncation
    def truncate_to(self, target_offset: int) -> bool:
        """Remove everything at or after ``target_offset`` (a batch straddling it is removed whole).
        Returns False when there was nothing to remove."""
        if target_offset < 0:
            raise ValueError(f"cannot truncate {self.name} to negative offset {target_offset}")
        with self.lock:
            self._check_open()
            old_leo = self._log_end_offset
            if target_offset >= old_leo:
                return False
            if target_offset < self._segments[0].base_offset:
                self.truncate_fully_and_start_at(target_offset)
                return True
            self._generation += 1
            i = bisect.bisect_right(self._bases, target_offset) - 1
            doomed = self._segments[i + 1 :]
            keep = self._segments[: i + 1]
            seg = keep[-1]
            if not seg.active:
                seg.make_active(self._config.segment_index_bytes)
            _, batch_base = seg.truncate_to(target_offset)
            new_leo = target_offset if batch_base < 0 else min(target_offset, batch_base)
            self._set_segments(keep)
            self._schedule_delete(doomed, "truncation")
            self._log_end_offset = new_leo
            self.recovery_point = min(self.recovery_point, new_leo)
            self._log_start_offset = min(self._log_start_offset, new_leo)
            self._high_watermark = min(self._high_watermark, new_leo)
            self.leader_epoch_cache.truncate_from_end(new_leo)
            self.rebuild_producer_state(new_leo)
            log.info("truncated log", partition=self.name, from_offset=old_leo, to_offset=new_leo)
            self._emit(kinds.LOG_TRUNCATED, reason="truncate_to", from_offset=old_leo, to_offset=new_leo)
            return True

    def truncate_fully_and_start_at(self, new_offset: int) -> None:
        """Delete every segment and restart the log empty at ``new_offset`` (a follower far behind a
        leader whose log start moved past it)."""
        with self.lock:
            self._check_open()
            self._generation += 1
            old_start, old_leo = self._log_start_offset, self._log_end_offset
            doomed = list(self._segments)
            self._schedule_delete(doomed, "truncation")
            self._set_segments([self._new_segment(new_offset)])
            self.leader_epoch_cache.clear_and_flush()
            self.producer_state.truncate_fully_and_start_at(new_offset)
            self._log_end_offset = self._log_start_offset = self.recovery_point = self._high_watermark = new_offset
            log.info("truncated log fully", partition=self.name, from_start=old_start, from_end=old_leo, new_offset=new_offset)
            self._emit(kinds.LOG_TRUNCATED, reason="truncate_fully", from_offset=old_leo, to_offset=new_offset, previous_start_offset=old_start)

    def rebuild_producer_state(self, log_end: int) -> None:
        """Reload producer state from the latest snapshot at or below ``log_end`` and replay the batch
        headers between it and ``log_end``."""
        psm = self.producer_state
        psm.truncate_and_reload(self._log_start_offset, log_end, self.clock.time_ms())
        start = max(psm.map_end_offset, self._log_start_offset)
        if start < log_end:
            for h in self._headers_between(start, log_end):
                if h.producer_id < 0 or h.attributes & CONTROL_MASK:
                    continue
                last = h.base_offset + h.last_offset_delta
                info = psm.prepare_update(h.producer_id, AppendOrigin.REPLICATION)
                info.append_data_batch(h.producer_epoch, h.base_sequence, _last_sequence(h), h.max_timestamp, h.base_offset, last, bool(h.attributes & TRANSACTIONAL_MASK))
                psm.update(info)
        psm.update_map_end_offset(log_end)

    def _headers_between(self, start: int, end: int) -> Iterable[BatchHeader]:
        segs, bases = self._segments, self._bases
        i = max(bisect.bisect_right(bases, start) - 1, 0)
        for seg in segs[i:]:
            if seg.base_offset >= end:
                return
            pos = seg.offset_index.lookup(start)[1] if start > seg.base_offset else 0
            for loc in seg.iter_headers(pos):
                h = loc.header
                if h.base_offset >= end:
                    return
                if h.base_offset + h.last_offset_delta >= start:
                    yield h

    # ------------------------------------------------------------------ retention
    def maybe_increment_log_start_offset(self, new_start: int) -> bool:
        """Raise the log start offset (DeleteRecords); never beyond the high watermark."""
        with self.lock:
            if new_start > self._high_watermark:
                raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, f"cannot move log start of {self.name} to {new_start} beyond the high watermark {self._high_watermark}")
            if new_start <= self._log_start_offset:
                return False
            self._set_log_start(new_start)
            return True

    def _set_log_start(self, new_start: int) -> None:
        self._log_start_offset = new_start
        self._high_watermark = max(self._high_watermark, new_start)
        self.recovery_point = max(self.recovery_point, min(new_start, self._log_end_offset))
        self.leader_epoch_cache.truncate_from_start(new_start)
        self.producer_state.truncate_head(new_start)

    def delete_old_segments(self, now_ms: int | None = None) -> int:
        """Apply retention (Kafka's ``deleteOldSegments``); returns the number of segments deleted.
        Also finishes deleting files removed more than ``file.delete.delay.ms`` ago."""
        now = self.clock.time_ms() if now_ms is None else now_ms
        cfg = self._config
        deleted = 0
        with self.lock:
            if self._closed:
                return 0
            if cfg.delete:
                if cfg.retention_ms >= 0:
                    deleted += self._delete_segments(lambda s, nxt: now - s.largest_timestamp > cfg.retention_ms, "retention.ms")
                if cfg.retention_bytes >= 0:
                    excess = [self.size_in_bytes() - cfg.retention_bytes]

                    def over_size(s: LogSegment, nxt: LogSegment | None) -> bool:
                        if excess[0] - s.size >= 0:
                            excess[0] -= s.size
                            return True
                        return False

                    deleted += self._delete_segments(over_size, "retention.bytes")
            deleted += self._delete_segments(lambda s, nxt: nxt is not None and nxt.base_offset <= self._log_start_offset, "log_start_offset")
            self.delete_pending_files(now)
        return deleted

    def _delete_segments(self, predicate: Callable[[LogSegment, LogSegment | None], bool], reason: str) -> int:
        segs = self._segments
        deletable: list[LogSegment] = []
        for i, seg in enumerate(segs):
            nxt = segs[i + 1] if i + 1 < len(segs) else None
            upper = nxt.base_offset if nxt is not None else self._log_end_offset
            if nxt is None and seg.size == 0:
                break
            if self._high_watermark >= upper and predicate(seg, nxt):
                deletable.append(seg)
            else:
                break
        if not deletable:
            return 0
        if len(deletable) == len(segs):
            self.roll()
        remaining = self._segments[len(deletable) :]
        self._set_segments(remaining)
        self._schedule_delete(deletable, reason)
        first = remaining[0].base_offset
        if first > self._log_start_offset:
            self._set_log_start(first)
        for seg in deletable:
            log.info("deleting segment", partition=self.name, base_offset=seg.base_offset, size=seg.size, reason=reason)
            self._emit(kinds.LOG_SEGMENT_DELETED, base_offset=seg.base_offset, size=seg.size, reason=reason, log_start_offset=self._log_start_offset)
        return len(deletable)

    def _schedule_delete(self, segments: list[LogSegment], reason: str) -> None:
        """Rename to ``.deleted`` now; close and unlink after ``file.delete.delay.ms`` (in-flight reads)."""
        deadline = self.clock.time_ms() + self._config.file_delete_delay_ms
        for seg in segments:
            try:
                seg.change_suffix(files.DELETED_SUFFIX)
            except FileNotFoundError:
                pass
            self._pending_deletes.append((deadline, seg))

    def delete_pending_files(self, now_ms: int | None = None, force: bool = False) -> None:
        now = self.clock.time_ms() if now_ms is None else now_ms
        with self.lock:
            keep = []
            for deadline, seg in self._pending_deletes:
                if force or deadline <= now:
                    seg.delete()
                else:
                    keep.append((deadline, seg))
            self._pending_deletes = keep

    def remove_expired_producers(self, now_ms: int | None = None) -> int:
        with self.lock:
            return self.producer_state.remove_expired_producers(self.clock.time_ms() if now_ms is None else now_ms)

    # ------------------------------------------------------------------ cleaner support
    def replace_segments(self, new_segment: LogSegment, old_segments: list[LogSegment], expected_generation: int) -> bool:
        """Swap a cleaned segment (files suffixed ``.swap``) in for ``old_segments`` (consecutive, not the
        active one). Returns False, changing nothing, if the log was truncated or those segments are gone
        since the cleaner started. Crash-safe order: ``.swap`` exists → old files renamed ``.deleted`` →
        ``.swap`` renamed to the final names (the loader completes an interrupted swap)."""
        with self.lock:
            if self._closed or self._generation != expected_generation:
                return False
            segs = self._segments
            try:
                i = segs.index(old_segments[0])
            except ValueError:
                return False
            if segs[i : i + len(old_segments)] != old_segments or i + len(old_segments) >= len(segs):
                return False
            self._schedule_delete(list(old_segments), "cleaned")
            new_segment.change_suffix("")
            self._set_segments(segs[:i] + [new_segment] + segs[i + len(old_segments) :])
            return True

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Flush, write a producer-state snapshot at the LEO and close every file."""
        with self.lock:
            if self._closed:
                return
            self.flush()
            self.producer_state.update_map_end_offset(self._log_end_offset)
            self.producer_state.take_snapshot()
            for seg in self._segments:
                seg.close()
            self.delete_pending_files(force=True)
            self._closed = True

    def close_without_flush(self) -> None:
        """Close file handles only (simulating a crash in tests; the broker uses :meth:`close`)."""
        with self.lock:
            for seg in self._segments:
                seg.close_handlers()
            for _, seg in self._pending_deletes:
                seg.close_handlers()
            self._closed = True

    def delete(self) -> None:
        """Close everything and remove the directory."""
        with self.lock:
            for seg in self._segments:
                seg.close_handlers()
            self.delete_pending_files(force=True)
            self._closed = True
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def closed(self) -> bool:
        return self._closed

    def rename_dir(self, new_dir: str) -> None:
        """Move the partition directory (LogManager's ``<dir>.<uuid>-delete``); open files stay valid."""
        with self.lock:
            os.replace(self.dir, new_dir)
            self.dir = new_dir
            self.producer_state.dir = new_dir
            self._generation += 1  # a running cleaner must not swap files into the old path


def _last_sequence(h: BatchHeader) -> int:
    if h.base_sequence < 0:
        return -1
    return increment_sequence(h.base_sequence, h.last_offset_delta)
