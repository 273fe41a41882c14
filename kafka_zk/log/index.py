"""Sparse offset and time indexes of a log segment, memory-mapped.

``<base>.index`` — 8-byte entries ``(relative_offset int32, position int32)``: "the batch whose last
offset is ``base + relative_offset`` starts at byte ``position`` of the ``.log`` file". One entry is
added per ``index.interval.bytes`` of appended data, so a lookup is a binary search over the entries
followed by a short forward scan of batch headers (at most about one interval).

``<base>.timeindex`` — 12-byte entries ``(timestamp int64, relative_offset int32)``: "the largest
timestamp seen up to (and including) the batch ending at that offset". An entry is added alongside an
offset-index entry only when the timestamp grew, plus one final entry holding the segment's largest
timestamp when the segment stops being active — so the last entry of a closed segment's time index is
its max timestamp (what retention by time reads).

The active segment's indexes are preallocated to ``segment.index.bytes`` (rounded down to whole entries)
and mapped read-write; the entry count lives in memory. When the segment rolls (or the log closes) the
files are trimmed to their entries, so a closed index's size says how many entries it has. After a crash
an untrimmed index has trailing zero entries, which fail :meth:`sanity_check` — the loader then rebuilds
the index from the log, as it does for a missing one. Inactive indexes are opened lazily, read-only.

Appends are staged in a small in-memory buffer and copied into the mapping every
``_PENDING_ENTRIES`` entries (or before any read of the index): a store into a mapped page that the
kernel is writing back can stall for tens of microseconds, and the active index page is rewritten on
nearly every append of large batches. Staged entries are never lost to a reader, and a crash can only
lose entries of the active segment — which recovery rebuilds anyway.
"""

from __future__ import annotations

import array
import mmap
import os
import struct
import sys
from typing import Callable

from kafka_zk.common.errors import KafkaError, ErrorCode

_PENDING_ENTRIES = 64
_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")
_INT32_MAX = 0x7FFFFFFF


class CorruptIndexError(Exception):
    """An index file that cannot be trusted; the segment's indexes must be rebuilt from its log."""


class _MmapIndex:
    entry_size = 0

    def __init__(self, path: str, base_offset: int, max_index_size: int, writable: bool) -> None:
        self.path = path
        self.base_offset = base_offset
        self._max_index_size = max_index_size
        self._fd = -1
        self._mm: mmap.mmap | None = None
        self._writable = False
        self._opened = False
        try:
            length = os.path.getsize(path)
        except FileNotFoundError:
            length = 0
        self._entries = length // self.entry_size  # entries stored in the mapping/file
        self._max_entries = self._entries
        self._pending = bytearray()  # staged entries, not yet copied into the mapping
        self._npending = 0
        self._last: tuple[int, int] | None = None  # cached last entry (raw fields), None = read it
        if writable:
            self._open(True)

    # ------------------------------------------------------------------ file handling
    def _open(self, writable: bool) -> None:
        self._close_map()
        flags = os.O_RDWR | os.O_CREAT if writable else os.O_RDONLY
        try:
            fd = os.open(self.path, flags, 0o644)
        except FileNotFoundError:
            # An inactive index whose file vanished: treat as empty (the loader rebuilds missing indexes).
            self._entries = self._max_entries = 0
            self._opened = True
            return
        length = os.fstat(fd).st_size
        self._entries = length // self.entry_size
        if writable:
            size = max(self._max_index_size // self.entry_size * self.entry_size, self._entries * self.entry_size)
            if length != size:
                os.ftruncate(fd, size)
            self._max_entries = size // self.entry_size
            self._mm = mmap.mmap(fd, size, access=mmap.ACCESS_WRITE) if size else None
        else:
            self._max_entries = self._entries
            self._mm = mmap.mmap(fd, self._entries * self.entry_size, access=mmap.ACCESS_READ) if self._entries else None
        self._fd = fd
        self._writable = writable
        self._opened = True

    def _ensure_open(self) -> None:
        """Open lazily (read-only), and make staged entries visible in the mapping."""
        if not self._opened:
            self._open(False)
        elif self._npending:
            self._sync()

    def _sync(self) -> None:
        if self._npending and self._mm is not None:
            start = self._entries * self.entry_size
            self._mm[start : start + len(self._pending)] = self._pending
            self._entries += self._npending
        self._pending.clear()
        self._npending = 0

    def _stage(self, entry: bytes, raw: tuple[int, int]) -> None:
        self._pending += entry
        self._npending += 1
        self._last = raw
        if self._npending >= _PENDING_ENTRIES:
            self._sync()

    def _close_map(self) -> None:
        self._sync()
        self._last = None
        if self._mm is not None:
            self._mm.close()
            self._mm = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._opened = False
        self._writable = False

    @property
    def entries(self) -> int:
        return self._entries + self._npending

    @property
    def max_entries(self) -> int:
        return self._max_entries

    @property
    def is_full(self) -> bool:
        return self._writable and self._entries + self._npending >= self._max_entries

    @property
    def size_in_bytes(self) -> int:
        return (self._entries + self._npending) * self.entry_size

    def make_writable(self, max_index_size: int | None = None) -> None:
        """Re-open read-write, preallocated to ``max_index_size`` (the segment became active again)."""
        if max_index_size is not None:
            self._max_index_size = max_index_size
        self._open(True)

    def trim_to_valid_size(self) -> None:
        """Shrink the file to its entries and re-open it read-only (the segment is no longer active)."""
        if not self._opened:
            return
        self._sync()
        if self._writable:
            self._close_map()
            if os.path.exists(self.path):
                with open(self.path, "r+b") as f:
                    f.truncate(self._entries * self.entry_size)
        self._close_map()

    def flush(self) -> None:
        if self._mm is not None and self._writable:
            self._sync()
            self._mm.flush()

    def close(self) -> None:
        self.trim_to_valid_size()
        self._close_map()

    def reset(self) -> None:
        """Drop every entry (recovery rebuilds from scratch)."""
        self._pending.clear()
        self._npending = 0
        self._ensure_open()
        self._entries = 0
        self._last = None

    def rename(self, new_path: str) -> None:
        if os.path.exists(self.path):
            os.replace(self.path, new_path)
        self.path = new_path

    def delete(self) -> None:
        self._close_map()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _relative(self, offset: int) -> int:
        rel = offset - self.base_offset
        if rel < 0 or rel > _INT32_MAX:
            raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, f"offset {offset} cannot be indexed relative to base {self.base_offset}")
        return rel

    def _search(self, key_of: Callable[[int], int], target: int) -> int:
        """Index of the last entry whose key <= target, or -1."""
        lo, hi = 0, self._entries - 1
        if hi < 0 or key_of(0) > target:
            return -1
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if key_of(mid) <= target:
                lo = mid
            else:
                hi = mid - 1
        return lo


class OffsetIndex(_MmapIndex):
    entry_size = 8

    def entry(self, n: int) -> tuple[int, int]:
        """``(absolute_offset, position)`` of entry ``n``."""
        self._ensure_open()
        assert self._mm is not None
        rel, pos = _OFFSET_ENTRY.unpack_from(self._mm, n * 8)
        return self.base_offset + rel, pos

    def _rel_at(self, n: int) -> int:
        assert self._mm is not None
        v: int = _I32.unpack_from(self._mm, n * 8)[0]
        return v

    @property
    def last_entry(self) -> tuple[int, int]:
        self._ensure_open()
        if self._entries == 0:
            return self.base_offset, 0
        return self.entry(self._entries - 1)

    def lookup(self, target_offset: int) -> tuple[int, int]:
        """The last entry with offset <= target, or ``(base_offset, 0)``."""
        self._ensure_open()
        slot = self._search(self._rel_at, target_offset - self.base_offset)
        if slot < 0:
            return self.base_offset, 0
        return self.entry(slot)

    def append(self, offset: int, position: int) -> None:
        if not self._writable:
            raise RuntimeError(f"offset index {self.path} is not writable")
        n = self._entries + self._npending
        if n >= self._max_entries:
            raise RuntimeError(f"offset index {self.path} is full ({n} entries)")
        rel = self._relative(offset)
        if n:
            if self._last is None:
                self._sync()
                self._last = _OFFSET_ENTRY.unpack_from(self._mm, (self._entries - 1) * 8)  # type: ignore[arg-type]
            if rel <= self._last[0]:
                raise ValueError(f"offset index entries must increase: {offset} after {self.base_offset + self._last[0]}")
        self._stage(_OFFSET_ENTRY.pack(rel, position), (rel, position))

    def truncate_to(self, offset: int) -> None:
        """Remove entries for offsets >= ``offset``."""
        self._ensure_open()
        slot = self._search(self._rel_at, offset - self.base_offset)
        # keep entries with offset < target: the slot found is <= target; drop it if it equals target
        if slot >= 0 and self._rel_at(slot) == offset - self.base_offset:
            slot -= 1
        self._entries = slot + 1
        self._last = None

    def quick_check(self, log_size: int) -> bool:
        """Cheap plausibility test used at load: the last entry fits the entry count and the log."""
        self._ensure_open()
        if self._entries == 0 or self._mm is None:
            return self._entries == 0
        rel, pos = _OFFSET_ENTRY.unpack_from(self._mm, (self._entries - 1) * 8)
        return bool(rel >= self._entries - 1 and pos >= self._entries - 1 and pos < log_size)

    def sanity_check(self, log_size: int) -> None:
        """Raise :class:`CorruptIndexError` unless entries strictly increase and point inside the log."""
        self._ensure_open()
        if self._mm is None or self._entries == 0:
            return
        values = array.array("i")
        values.frombytes(self._mm[: self._entries * 8])
        if sys.byteorder == "little":
            values.byteswap()
        rels, positions = values[0::2], values[1::2]
        if rels[0] < 0 or positions[0] < 0 or positions[-1] >= log_size:
            raise CorruptIndexError(f"{self.path}: entries point outside the log ({log_size} bytes)")
        if any(a >= b for a, b in zip(rels, rels[1:])) or any(a >= b for a, b in zip(positions, positions[1:])):
            raise CorruptIndexError(f"{self.path}: entries are not strictly increasing")


_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


class TimeIndex(_MmapIndex):
    entry_size = 12

    def entry(self, n: int) -> tuple[int, int]:
        """``(timestamp, absolute_offset)`` of entry ``n``."""
        self._ensure_open()
        assert self._mm is not None
        ts, rel = _TIME_ENTRY.unpack_from(self._mm, n * 12)
        return ts, self.base_offset + rel

    def _ts_at(self, n: int) -> int:
        assert self._mm is not None
        v: int = _I64.unpack_from(self._mm, n * 12)[0]
        return v

    def quick_check(self) -> bool:
        """Cheap plausibility test used at load: more than one entry means strictly growing timestamps."""
        self._ensure_open()
        if self._entries < 2:
            return True
        first_ts = self.entry(0)[0]
        last_ts, last_off = self.entry(self._entries - 1)
        return last_ts > first_ts and last_off >= self.base_offset

    @property
    def is_full(self) -> bool:
        # The last slot is kept for the max-timestamp entry written when the segment rolls.
        return self._writable and self._entries + self._npending >= self._max_entries - 1

    @property
    def last_entry(self) -> tuple[int, int]:
        """``(timestamp, offset)`` of the last entry, or ``(-1, base_offset)``."""
        self._ensure_open()
        if self._entries == 0:
            return -1, self.base_offset
        return self.entry(self._entries - 1)

    def lookup(self, target_timestamp: int) -> tuple[int, int]:
        """The last entry with timestamp <= target, or ``(-1, base_offset)``."""
        self._ensure_open()
        slot = self._search(self._ts_at, target_timestamp)
        if slot < 0:
            return -1, self.base_offset
        return self.entry(slot)

    def maybe_append(self, timestamp: int, offset: int, skip_full_check: bool = False) -> None:
        """Add ``(timestamp, offset)`` if the timestamp is larger than the last entry's."""
        if not self._writable:
            raise RuntimeError(f"time index {self.path} is not writable")
        if not skip_full_check and self.is_full:
            raise RuntimeError(f"time index {self.path} is full")
        n = self._entries + self._npending
        if n >= self._max_entries:
            return
        if not n:
            last_ts, last_rel = -1, 0
        else:
            if self._last is None:
                self._sync()
                self._last = _TIME_ENTRY.unpack_from(self._mm, (self._entries - 1) * 12)  # type: ignore[arg-type]
            last_ts, last_rel = self._last
            if offset - self.base_offset < last_rel:
                raise ValueError(f"time index offsets must not decrease: {offset} after {self.base_offset + last_rel}")
        if timestamp > last_ts:  # last_ts is -1 when empty: NO_TIMESTAMP never gets an entry
            rel = self._relative(offset)
            self._stage(_TIME_ENTRY.pack(timestamp, rel), (timestamp, rel))

    def truncate_to(self, offset: int) -> None:
        """Remove entries for offsets >= ``offset`` (entry offsets never decrease: binary search)."""
        self._ensure_open()
        lo, hi = 0, self._entries
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.entry(mid)[1] >= offset:
                hi = mid
            else:
                lo = mid + 1
        self._entries = lo
        self._last = None

    def sanity_check(self) -> None:
        """Raise :class:`CorruptIndexError` unless timestamps strictly increase and offsets never decrease."""
        self._ensure_open()
        if self._mm is None or self._entries == 0:
            return
        prev_ts, prev_rel = -1, -1
        for ts, rel in _TIME_ENTRY.iter_unpack(self._mm[: self._entries * 12]):
            if ts <= prev_ts or rel < prev_rel or rel < 0:
                raise CorruptIndexError(f"{self.path}: entry (timestamp {ts}, relative offset {rel}) is out of order")
            prev_ts, prev_rel = ts, rel
