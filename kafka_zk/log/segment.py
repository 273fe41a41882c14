"""One log segment: a ``.log`` file of record batches plus its sparse offset and time indexes.

The ``.log`` file is nothing but batches back to back, byte-for-byte as they were appended (offsets and
leader epochs already stamped). The segment keeps a few numbers in memory — its logical size, the largest
timestamp so far and the offset that carried it, and how many bytes were appended since the last index
entry — and everything else is found by reading batch headers from the file:

* **lookup by offset**: the offset index gives the last indexed batch at or before the target; batch
  headers are then read forward (``pread`` of small chunks, at most about ``index.interval.bytes`` of
  them) until a batch whose last offset reaches the target. The locations of the last few batches
  appended are also kept in memory (the *tail*): almost every read of a busy partition starts there —
  followers fetch from the batch after their log end, consumers read up to the high watermark — so those
  lookups cost no system call. The tail is always a run of the segment's last batches ending at its end
  (appends extend it, truncation and recovery empty it), so a target at or after its first batch's base
  offset cannot be in an earlier batch. Small tail batches (up to ``_TAIL_COPY_MAX`` bytes each) are also
  kept as bytes, so a fetch of them is answered from memory instead of a ``pread`` (such small regions are
  copied into the response rather than sent with ``sendfile`` anyway). A latency-bound partition — a few
  records per produce request, followers and consumers at the end — then costs one ``pwrite`` per append
  and no reads; at most ``_TAIL_BATCHES * _TAIL_COPY_MAX`` bytes per active segment.
* **lookup by timestamp**: the time index gives a starting offset, the offset index a position, then
  batches whose max timestamp reaches the target are decoded record by record.
* **recovery**: every batch is read and checked (size, magic, CRC32C, offsets increasing); the file is cut
  at the first batch that fails or is torn, and both indexes are rebuilt on the way.

Writes are ``os.pwrite`` of the caller's buffer at the logical end — no copy in Python. With
``preallocate`` the file is extended to ``segment.bytes`` when created and trimmed back when the segment
stops being active; the zeros after the logical end read as a batch of impossible size, which recovery
treats as the end of valid data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

from kafka_zk.common.clock import Clock
from kafka_zk.common.errors import CorruptRecordError
from kafka_zk.common.logging import get_logger
from kafka_zk.log import files
from kafka_zk.log.index import CorruptIndexError, OffsetIndex, TimeIndex
from kafka_zk.record.batch import HEADER, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, BatchHeader, RecordBatchView

log = get_logger(__name__)

_INT32_MAX = 0x7FFFFFFF
_HEADER_CHUNK = 16 * 1024
_SCAN_CHUNK = 4 * 1024 * 1024
_TAIL_BATCHES = 8  # batch locations kept in memory per segment (see the module docstring)
_TAIL_COPY_MAX = 2048  # tail batches up to this size are kept as bytes too


@dataclass(frozen=True, slots=True)
class BatchLocation:
    """Where a batch sits in a segment file, with its parsed header."""

    position: int
    size: int
    header: BatchHeader

    @property
    def last_offset(self) -> int:
        return self.header.base_offset + self.header.last_offset_delta


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    valid_bytes: int
    truncated_bytes: int
    next_offset: int  # one past the last valid batch (base offset when none)
    reason: str | None  # why scanning stopped early, None when the whole file was valid


class LogSegment:
    """A segment of a partition log. Not thread-safe on its own: the owning :class:`Log` serialises writers."""

    def __init__(
        self,
        dir: str,
        base_offset: int,
        *,
        clock: Clock,
        index_interval_bytes: int = 4096,
        max_index_size: int = 10 * 1024 * 1024,
        roll_jitter_ms: int = 0,
        suffix: str = "",
        active: bool = True,
        preallocate_bytes: int = 0,
    ) -> None:
        self.dir = dir
        self.base_offset = base_offset
        self.clock = clock
        self.index_interval_bytes = index_interval_bytes
        self.max_index_size = max_index_size
        self.roll_jitter_ms = roll_jitter_ms
        self.suffix = suffix
        self.log_path = files.log_file(dir, base_offset, suffix)
        fd = os.open(self.log_path, os.O_RDWR | os.O_CREAT, 0o644)
        self.file: BinaryIO = os.fdopen(fd, "r+b", buffering=0)
        self._fd = fd
        self.size = os.fstat(fd).st_size
        if preallocate_bytes and self.size == 0:
            os.ftruncate(fd, preallocate_bytes)
        self.preallocated = bool(preallocate_bytes)
        self.offset_index = OffsetIndex(files.index_file(dir, base_offset, suffix), base_offset, max_index_size, active)
        self.time_index = TimeIndex(files.time_index_file(dir, base_offset, suffix), base_offset, max_index_size, active)
        self.active = active
        self.max_timestamp_so_far = -1
        self.offset_of_max_timestamp_so_far = base_offset
        self.bytes_since_last_index_entry = 0
        self.rolling_based_timestamp: int | None = None
        self.created_ms = clock.time_ms()
        self.closed = False
        # Index files of a loaded segment get a full consistency check the first time they are used; a
        # new or rebuilt segment's indexes are known good.
        self.indexes_verified = self.size == 0
        # the last batches appended, in order, ending at self.size, each with its bytes when small
        self._tail: list[tuple[BatchLocation, bytes | None]] = []

    # ------------------------------------------------------------------ state
    def load_max_timestamp(self) -> None:
        """Take the max timestamp from the time index's last entry (written when the segment was closed)."""
        ts, off = self.time_index.last_entry
        self.max_timestamp_so_far = ts
        self.offset_of_max_timestamp_so_far = off

    @property
    def largest_timestamp(self) -> int:
        """Max record timestamp, or the file's mtime when no record has one (Kafka's rule)."""
        return self.max_timestamp_so_far if self.max_timestamp_so_far >= 0 else self.last_modified_ms

    @property
    def last_modified_ms(self) -> int:
        return os.fstat(self._fd).st_mtime_ns // 1_000_000

    def set_last_modified(self, ms: int) -> None:
        ns = ms * 1_000_000
        os.utime(self._fd, ns=(ns, ns))

    def can_convert_to_relative_offset(self, offset: int) -> bool:
        return 0 <= offset - self.base_offset <= _INT32_MAX

    def _first_batch_timestamp(self) -> int | None:
        if self.rolling_based_timestamp is None and self.size > 0:
            for loc in self.iter_headers(0):
                self.rolling_based_timestamp = loc.header.max_timestamp
                break
        return self.rolling_based_timestamp

    def time_waited_for_roll(self, now_ms: int, max_timestamp_in_messages: int) -> int:
        first = self._first_batch_timestamp()
        if first is not None and first >= 0:
            return max_timestamp_in_messages - first
        return now_ms - self.created_ms

    def should_roll(self, *, now_ms: int, segment_bytes: int, segment_ms: int, messages_size: int,
                    max_timestamp_in_messages: int, max_offset_in_messages: int) -> bool:
        """Kafka's ``LogSegment.shouldRoll``: size, age (by record timestamps), full index, offset range."""
        reached_roll_ms = self.time_waited_for_roll(now_ms, max_timestamp_in_messages) > segment_ms - self.roll_jitter_ms
        return (
            self.size > segment_bytes - messages_size
            or (self.size > 0 and reached_roll_ms)
            or self.offset_index.is_full
            or self.time_index.is_full
            or not self.can_convert_to_relative_offset(max_offset_in_messages)
        )

    # ------------------------------------------------------------------ writing
    def append(self, buf: memoryview, batches: list[tuple[int, int, int, int]]) -> None:
        """Write ``buf`` at the end. ``batches`` lists ``(position_in_buf, size, last_offset, max_timestamp)``
        for each batch in ``buf``, used to add index entries every ``index.interval.bytes``."""
        start = self.size
        written = 0
        n = len(buf)
        while written < n:
            written += os.pwrite(self._fd, buf[written:], start + written)
        self.size = start + n
        if start == 0 and batches:
            self.rolling_based_timestamp = max(b[3] for b in batches)
        tail = self._tail
        unpack = HEADER.unpack_from
        for rel, size, last_offset, max_ts in batches:
            loc = BatchLocation(start + rel, size, BatchHeader._make(unpack(buf, rel)))
            tail.append((loc, bytes(buf[rel : rel + size]) if size <= _TAIL_COPY_MAX else None))
            if max_ts > self.max_timestamp_so_far:
                self.max_timestamp_so_far = max_ts
                self.offset_of_max_timestamp_so_far = last_offset
            if self.bytes_since_last_index_entry > self.index_interval_bytes:
                self.offset_index.append(last_offset, start + rel)
                self.time_index.maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far)
                self.bytes_since_last_index_entry = 0
            self.bytes_since_last_index_entry += size
        if len(tail) > _TAIL_BATCHES:
            del tail[:-_TAIL_BATCHES]

    def _clear_tail(self) -> None:
        self._tail = []

    def tail_bytes(self, position: int, length: int) -> bytes | None:
        """The ``length`` bytes at ``position`` when they are whole tail batches held in memory, else None."""
        tail = self._tail
        if not tail or position < tail[0][0].position:
            return None
        end = position + length
        parts: list[bytes] = []
        for loc, data in tail:
            if parts or loc.position == position:
                if data is None or loc.position + loc.size > end:
                    return None
                parts.append(data)
                if loc.position + loc.size == end:
                    return parts[0] if len(parts) == 1 else b"".join(parts)
        return None

    def flush(self) -> None:
        os.fsync(self._fd)
        self.offset_index.flush()
        self.time_index.flush()

    def on_become_inactive(self) -> None:
        """The segment stops being the active one: final time-index entry, trim indexes and file."""
        if not self.active:
            return
        if self.time_index.max_entries:
            self.time_index.maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far, skip_full_check=True)
        self.offset_index.trim_to_valid_size()
        self.time_index.trim_to_valid_size()
        self._trim_file()
        self.active = False
        self._clear_tail()  # reads move on to the new active segment

    def make_active(self, max_index_size: int) -> None:
        """Become the active segment again (after truncation): writable, preallocated indexes."""
        self.max_index_size = max_index_size
        self.offset_index.make_writable(max_index_size)
        self.time_index.make_writable(max_index_size)
        self.active = True

    def _trim_file(self) -> None:
        if self.preallocated and os.fstat(self._fd).st_size != self.size:
            os.ftruncate(self._fd, self.size)

    # ------------------------------------------------------------------ reading
    def pread(self, position: int, size: int) -> bytes:
        return os.pread(self._fd, size, position)

    def iter_headers(self, start: int = 0, end: int | None = None) -> Iterator[BatchLocation]:
        """Batch headers from ``start`` up to ``end`` (default: the logical size). Stops silently at a
        header or batch that does not fit before ``end`` (a torn tail) or that declares an impossible size."""
        end = self.size if end is None else min(end, self.size)
        pos = start
        buf = b""
        buf_start = pos
        last_size = 0
        fd = self._fd
        unpack = HEADER.unpack_from
        while pos + RECORD_BATCH_OVERHEAD <= end:
            rel = pos - buf_start
            if rel < 0 or rel + RECORD_BATCH_OVERHEAD > len(buf):
                want = RECORD_BATCH_OVERHEAD if last_size > _HEADER_CHUNK else _HEADER_CHUNK
                buf = os.pread(fd, min(want, end - pos), pos)
                buf_start = pos
                rel = 0
                if len(buf) < RECORD_BATCH_OVERHEAD:
                    return
            h = unpack(buf, rel)
            size = h[1] + LOG_OVERHEAD
            if size < RECORD_BATCH_OVERHEAD or pos + size > end:
                return
            yield BatchLocation(pos, size, BatchHeader._make(h))
            last_size = size
            pos += size

    def iter_batches(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, memoryview | None]]:
        """Whole batches ``(position, bytes)`` from ``start``, read in large chunks. Yields
        ``(position, None)`` and stops at a batch with an impossible size or one running past ``end``."""
        end = self.size if end is None else min(end, self.size)
        pos = start
        buf = memoryview(b"")
        buf_start = pos
        while pos < end:
            rel = pos - buf_start
            if rel + LOG_OVERHEAD > len(buf):
                buf = memoryview(os.pread(self._fd, min(_SCAN_CHUNK, end - pos), pos))
                buf_start, rel = pos, 0
                if len(buf) < LOG_OVERHEAD:
                    yield pos, None
                    return
            size = int.from_bytes(buf[rel + 8 : rel + 12], "big", signed=True) + LOG_OVERHEAD
            if size < RECORD_BATCH_OVERHEAD or pos + size > end:
                yield pos, None
                return
            if rel + size > len(buf):
                buf = memoryview(os.pread(self._fd, max(size, min(_SCAN_CHUNK, end - pos)), pos))
                buf_start, rel = pos, 0
                if len(buf) < size:
                    yield pos, None
                    return
            yield pos, buf[rel : rel + size]
            pos += size

    def verify_indexes(self) -> None:
        """Fully check both indexes once; rebuild them from the log if either is inconsistent."""
        if self.indexes_verified:
            return
        self.indexes_verified = True
        try:
            self.offset_index.sanity_check(self.size)
            self.time_index.sanity_check()
        except CorruptIndexError as e:
            log.warning("rebuilding corrupt index", segment=self.log_path, error=str(e))
            self.rebuild_indexes()

    def _reset_indexes(self) -> None:
        """Empty, writable indexes and no known timestamps: the start of a rebuild or a recovery scan."""
        self.offset_index.make_writable(self.max_index_size)
        self.time_index.make_writable(self.max_index_size)
        self.offset_index.reset()
        self.time_index.reset()
        self.max_timestamp_so_far = -1
        self.offset_of_max_timestamp_so_far = self.base_offset

    def rebuild_indexes(self) -> None:
        """Recreate both indexes from the batch headers (no CRC check: the data is not in question)."""
        active = self.active
        self._reset_indexes()
        last_index_entry = 0
        end = 0
        for loc in self.iter_headers(0):
            h = loc.header
            last = h.base_offset + h.last_offset_delta
            if h.max_timestamp > self.max_timestamp_so_far:
                self.max_timestamp_so_far = h.max_timestamp
                self.offset_of_max_timestamp_so_far = last
            if loc.position - last_index_entry > self.index_interval_bytes and self.can_convert_to_relative_offset(last):
                self.offset_index.append(last, loc.position)
                self.time_index.maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far)
                last_index_entry = loc.position
            end = loc.position + loc.size
        if self.time_index.max_entries:
            self.time_index.maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far, skip_full_check=True)
        self.bytes_since_last_index_entry = end - last_index_entry
        if not active:
            self.offset_index.trim_to_valid_size()
            self.time_index.trim_to_valid_size()
        self.indexes_verified = True

    def translate_offset(self, offset: int, start_position: int = 0) -> BatchLocation | None:
        """The first batch whose last offset is >= ``offset`` (None when the segment ends before it)."""
        self.verify_indexes()
        tail = self._tail
        if tail and offset >= tail[0][0].header.base_offset and start_position <= tail[0][0].position:
            for loc, _ in tail:
                if loc.header.base_offset + loc.header.last_offset_delta >= offset:
                    return loc
            return None
        _, pos = self.offset_index.lookup(offset)
        for loc in self.iter_headers(max(pos, start_position)):
            if loc.header.base_offset + loc.header.last_offset_delta >= offset:
                return loc
        return None

    def read(self, start_offset: int, max_size: int, max_position: int, min_one_message: bool) -> tuple[int, int, bool] | None:
        """``(position, length, first_entry_incomplete)`` of the bytes to return for a fetch at
        ``start_offset``, or None when the offset lies beyond this segment (Kafka's ``LogSegment.read``)."""
        loc = self.translate_offset(start_offset)
        if loc is None:
            return None
        adjusted = max(max_size, loc.size) if min_one_message else max_size
        if adjusted <= 0:
            return loc.position, 0, loc.size > 0
        length = max(0, min(max_position - loc.position, adjusted))
        return loc.position, length, adjusted < loc.size

    def read_next_offset(self) -> tuple[int, int]:
        """``(next_offset, valid_end)``: one past the last batch's last offset (base offset when empty) and
        the byte position where readable batches end (``valid_end < size`` means a torn tail)."""
        self.verify_indexes()
        _, pos = self.offset_index.last_entry
        if pos >= self.size:
            pos = 0
        nxt, end = self.base_offset, pos
        for loc in self.iter_headers(pos):
            nxt, end = loc.last_offset + 1, loc.position + loc.size
        if end == pos and pos != 0:
            # Nothing readable at the indexed position: do not trust the index, walk from the start.
            nxt, end = self.base_offset, 0
            for loc in self.iter_headers(0):
                nxt, end = loc.last_offset + 1, loc.position + loc.size
        return nxt, end

    def find_offset_by_timestamp(self, timestamp: int, starting_offset: int) -> tuple[int, int] | None:
        """``(offset, timestamp)`` of the first record with timestamp >= ``timestamp`` and offset >=
        ``starting_offset`` in this segment, or None."""
        self.verify_indexes()
        _, ts_offset = self.time_index.lookup(timestamp)
        _, pos = self.offset_index.lookup(ts_offset)
        for loc in self.iter_headers(pos):
            h = loc.header
            if h.max_timestamp < timestamp or h.base_offset + h.last_offset_delta < starting_offset:
                continue
            view = RecordBatchView(self.pread(loc.position, loc.size))
            for rec in view.records():
                if rec.timestamp >= timestamp and rec.offset >= starting_offset:
                    return rec.offset, rec.timestamp
        return None

    # ------------------------------------------------------------------ recovery / truncation
    def recover(self, on_batch: Callable[[BatchHeader], None] | None = None) -> RecoveryResult:
        """Validate every batch, rebuild both indexes, cut the file at the first invalid or torn batch."""
        self._reset_indexes()
        self._clear_tail()
        valid = 0
        last_index_entry = 0
        next_offset = self.base_offset
        reason: str | None = None
        physical = os.fstat(self._fd).st_size
        self.size = physical
        for pos, mv in self.iter_batches(0, physical):
            if mv is None:
                zeros = self.pread(pos, LOG_OVERHEAD) == bytes(LOG_OVERHEAD)
                reason = "zero-filled tail (preallocated or never written)" if zeros else "torn batch or impossible batch size"
                break
            view = RecordBatchView(mv)
            try:
                view.validate()
            except CorruptRecordError as e:
                reason = e.message or "invalid batch"
                break
            h = view.header()
            last = h.base_offset + h.last_offset_delta
            if h.base_offset < next_offset or h.last_offset_delta < 0 or not self.can_convert_to_relative_offset(last):
                reason = f"batch offsets [{h.base_offset}, {last}] do not follow offset {next_offset - 1}"
                break
            if h.max_timestamp > self.max_timestamp_so_far:
                self.max_timestamp_so_far = h.max_timestamp
                self.offset_of_max_timestamp_so_far = last
            if valid - last_index_entry > self.index_interval_bytes:
                self.offset_index.append(last, valid)
                self.time_index.maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far)
                last_index_entry = valid
            valid += len(mv)
            next_offset = last + 1
            if on_batch is not None:
                on_batch(h)
        truncated = physical - valid
        if truncated > 0:
            os.ftruncate(self._fd, valid)
        self.size = valid
        if self.time_index.max_entries:
            self.time_index.maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far, skip_full_check=True)
        self.bytes_since_last_index_entry = valid - last_index_entry
        self.rolling_based_timestamp = None
        if not self.active:
            self.offset_index.trim_to_valid_size()
            self.time_index.trim_to_valid_size()
        self.indexes_verified = True
        return RecoveryResult(valid, truncated, next_offset, reason if truncated > 0 else None)

    def truncate_to(self, offset: int) -> tuple[int, int]:
        """Drop every batch whose last offset is >= ``offset``; returns ``(bytes_truncated, next_offset)``.
        A batch straddling ``offset`` is dropped whole (v2 batches are never split)."""
        loc = self.translate_offset(offset)
        if loc is None:
            return 0, -1
        pos = loc.position
        self._clear_tail()
        self.offset_index.truncate_to(offset)
        self.time_index.truncate_to(offset)
        truncated = self.size - pos
        os.ftruncate(self._fd, pos)
        self.size = pos
        ts, off = self.time_index.last_entry
        self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far = ts, off
        self.bytes_since_last_index_entry = 0
        if pos == 0:
            self.created_ms = self.clock.time_ms()
            self.rolling_based_timestamp = None
        return truncated, loc.header.base_offset

    # ------------------------------------------------------------------ files
    def change_suffix(self, new_suffix: str) -> None:
        """Rename the three files from the current suffix to ``new_suffix`` (open descriptors stay valid)."""
        new_log = files.log_file(self.dir, self.base_offset, new_suffix)
        os.replace(self.log_path, new_log)
        self.log_path = new_log
        self.offset_index.rename(files.index_file(self.dir, self.base_offset, new_suffix))
        self.time_index.rename(files.time_index_file(self.dir, self.base_offset, new_suffix))
        self.suffix = new_suffix

    def close(self) -> None:
        if self.closed:
            return
        if self.active:
            self.on_become_inactive()
        self.offset_index.close()
        self.time_index.close()
        self.file.close()
        self.closed = True

    def close_handlers(self) -> None:
        """Close file handles without trimming (the files are about to be deleted)."""
        if self.closed:
            return
        self.offset_index._close_map()
        self.time_index._close_map()
        self.file.close()
        self.closed = True

    def delete(self) -> None:
        self.close_handlers()
        for path in (self.log_path, self.offset_index.path, self.time_index.path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def __repr__(self) -> str:
        return f"LogSegment(base_offset={self.base_offset}, size={self.size}, active={self.active}, suffix={self.suffix!r})"
