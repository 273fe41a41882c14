"""Log compaction (``cleanup.policy=compact``): keep the latest record of every key (Kafka's ``LogCleaner``).

A compacted log has a *clean* head (already compacted: ``[log start, first dirty offset)``) and a *dirty*
tail. A cleaning pass:

1. **Chooses the range.** The dirty section ends at the first uncleanable offset: the active segment's
   base offset (the active segment is never touched), the high watermark (nothing uncommitted is
   compacted — Kafka 2.5+ bounds it by the last stable offset, which is at most the HW), and the first
   segment holding records younger than ``min.compaction.lag.ms``. A log is worth cleaning when
   ``dirty bytes / (clean + dirty bytes) >= min.cleanable.dirty.ratio``, or when a dirty record is older
   than ``max.compaction.lag.ms``.
2. **Maps keys.** It reads the dirty records and remembers, per key (a 16-byte BLAKE2b digest of it), the
   largest offset. The map is bounded (``max_map_entries``); when it fills up, the pass ends there and
   the next pass continues from that offset.
3. **Rewrites segments.** Every segment from the log start up to the end of the mapped range is copied,
   in groups that fit one segment (``segment.bytes`` and the index size), into a new segment written as
   ``<base>.log.cleaned``. A record survives when no larger offset exists for its key, it has a key at
   all, and — if it is a tombstone (null value) — its segment was modified after the *delete horizon*
   (the last-modified time of the last clean segment minus ``delete.retention.ms``), so a tombstone
   lives at least ``delete.retention.ms`` after it was first cleaned and consumers see the delete.
   Records after the mapped range are kept. A batch whose records all survive is copied byte for byte;
   one that lost some is re-encoded with the same base offset, last offset, codec and producer fields;
   an emptied batch is dropped unless it is the last batch of a live idempotent producer (then an empty
   batch keeps its sequence numbers, as Kafka does).
4. **Swaps atomically.** The finished segment is fsynced, given the group's newest last-modified time,
   renamed ``.swap``, and swapped in under the log's lock — only if the log was not truncated and the
   group is still there (otherwise the output is discarded). The replaced files are renamed
   ``.deleted``; a crash at any point leaves a readable log (see :mod:`kafka_zk.log.loader`).

The work runs on whatever thread calls :meth:`LogCleaner.clean` (the broker uses a worker thread); it
only reads inactive segments, which nothing else writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from kafka_zk.common.clock import SYSTEM_CLOCK, Clock
from kafka_zk.common.logging import get_logger
from kafka_zk.log import files
from kafka_zk.log.segment import LogSegment
from kafka_zk.record.batch import (
    CONTROL_MASK,
    LOG_APPEND_TIME,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_MASK,
    RecordBatchView,
)
from kafka_zk.record.builder import RecordBatchBuilder
from kafka_zk.record.compression import CompressionType

if TYPE_CHECKING:
    from kafka_zk.log.log import Log

log = get_logger(__name__)

_INT32_MAX = 0x7FFFFFFF
_WRITE_BUFFER = 1024 * 1024
DEFAULT_MAX_MAP_ENTRIES = 1_000_000


def key_digest(key: bytes) -> bytes:
    return hashlib.blake2b(key, digest_size=16).digest()


@dataclass
class CleanResult:
    partition: str
    first_dirty_offset: int
    end_offset: int  # the next pass's first dirty offset
    segments_cleaned: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    records_read: int = 0
    records_retained: int = 0
    aborted: bool = False


def segments_in_range(segments: Sequence[LogSegment], start: int, end: int) -> list[LogSegment]:
    """Segments overlapping ``[start, end)`` (Kafka's ``logSegments(from, to)``)."""
    out = []
    for i, seg in enumerate(segments):
        nxt = segments[i + 1].base_offset if i + 1 < len(segments) else None
        if seg.base_offset >= end:
            break
        if nxt is None or nxt > start:
            out.append(seg)
    return out


def first_uncleanable_offset(lg: "Log", first_dirty: int, now_ms: int) -> int:
    segs = lg.segments
    bound = min(segs[-1].base_offset, lg.high_watermark)
    lag = lg.config.min_compaction_lag_ms
    if lag > 0:
        for seg in segments_in_range(segs[:-1], first_dirty, bound):
            if seg.largest_timestamp > now_ms - lag:
                bound = min(bound, seg.base_offset)
                break
    return max(bound, first_dirty)


def dirty_ratio(lg: "Log", first_dirty: int, now_ms: int) -> tuple[float, bool]:
    """``(dirty ratio, must_clean)``: must_clean when a dirty record is older than max.compaction.lag.ms."""
    segs = lg.segments
    uncleanable = first_uncleanable_offset(lg, first_dirty, now_ms)
    clean = sum(s.size for s in segments_in_range(segs, -1, first_dirty)) if first_dirty > lg.log_start_offset else 0
    dirty_segs = segments_in_range(segs, first_dirty, uncleanable)
    dirty = sum(s.size for s in dirty_segs)
    total = clean + dirty
    ratio = dirty / total if total else 0.0
    must = False
    max_lag = lg.config.max_compaction_lag_ms
    if dirty_segs and max_lag < 2**63 - 1:
        ts = dirty_segs[0]._first_batch_timestamp()
        if ts is not None and ts >= 0 and now_ms - ts > max_lag:
            must = True
    return ratio, must


class LogCleaner:
    def __init__(self, clock: Clock = SYSTEM_CLOCK, max_map_entries: int = DEFAULT_MAX_MAP_ENTRIES) -> None:
        self.clock = clock
        self.max_map_entries = max_map_entries

    def clean(self, lg: "Log", first_dirty_offset: int) -> CleanResult | None:
        """One cleaning pass over ``lg``; None when there is nothing cleanable."""
        now = self.clock.time_ms()
        with lg.lock:
            if lg.closed:
                return None
            generation = lg.generation
            segs = list(lg.segments)
            first_dirty = max(first_dirty_offset, lg.log_start_offset)
            upper = first_uncleanable_offset(lg, first_dirty, now)
            last_batches = {
                (pid, e.last_data_offset) for pid, e in lg.producer_state.producers.items() if not e.is_empty
            }
            cfg = lg.config
        if upper <= first_dirty:
            return None
        result = CleanResult(lg.name, first_dirty, upper)
        try:
            offset_map, end = self._build_offset_map(segs, first_dirty, upper, result)
        except (OSError, ValueError):
            if lg.closed or lg.generation != generation or any(s not in lg.segments for s in segs[:-1]):
                result.aborted = True  # segments were deleted under us (retention, truncation)
                return result
            raise
        result.end_offset = end
        if end <= first_dirty:
            return None
        clean_section = segments_in_range(segs, -1, first_dirty) if first_dirty > segs[0].base_offset else []
        delete_horizon = clean_section[-1].last_modified_ms - cfg.delete_retention_ms if clean_section else 0
        to_clean = [s for s in segs[:-1] if s.base_offset < end]
        for group in self._group_segments(to_clean, segs, cfg.segment_bytes, cfg.segment_index_bytes):
            try:
                ok = self._clean_group(lg, group, offset_map, end - 1, delete_horizon, last_batches, generation, result)
            except (OSError, ValueError):
                if not (lg.closed or lg.generation != generation or any(s not in lg.segments for s in group)):
                    raise
                ok = False  # a source segment was removed (and its file closed) while we read it
            if not ok:
                result.aborted = True
                log.info("log cleaning aborted: the log changed", partition=lg.name)
                return result
        log.info(
            "cleaned log", partition=lg.name, first_dirty_offset=first_dirty, end_offset=end,
            bytes_read=result.bytes_read, bytes_written=result.bytes_written,
            records_read=result.records_read, records_retained=result.records_retained,
        )
        return result

    # ------------------------------------------------------------------ map
    def _build_offset_map(self, segs: list[LogSegment], start: int, upper: int, result: CleanResult) -> tuple[dict[bytes, int], int]:
        offset_map: dict[bytes, int] = {}
        for seg in segments_in_range(segs, start, upper):
            for _pos, mv in seg.iter_batches(0):
                if mv is None:
                    return offset_map, max(start, min(upper, seg.base_offset))
                view = RecordBatchView(mv)
                h = view.header()
                if h.base_offset + h.last_offset_delta < start or h.attributes & CONTROL_MASK:
                    continue
                if h.base_offset >= upper:
                    break
                for rec in view.records():
                    if rec.offset < start or rec.key is None:
                        continue
                    if rec.offset >= upper:
                        break
                    d = key_digest(rec.key)
                    if d not in offset_map and len(offset_map) >= self.max_map_entries:
                        return offset_map, rec.offset
                    offset_map[d] = rec.offset
        return offset_map, upper

    # ------------------------------------------------------------------ grouping
    @staticmethod
    def _group_segments(to_clean: list[LogSegment], all_segs: list[LogSegment], max_size: int, max_index_size: int) -> list[list[LogSegment]]:
        next_base = {s.base_offset: all_segs[i + 1].base_offset for i, s in enumerate(all_segs[:-1])}
        groups: list[list[LogSegment]] = []
        i = 0
        while i < len(to_clean):
            group = [to_clean[i]]
            size = to_clean[i].size
            index_size = to_clean[i].offset_index.size_in_bytes
            time_index_size = to_clean[i].time_index.size_in_bytes
            i += 1
            while i < len(to_clean):
                s = to_clean[i]
                last = next_base.get(s.base_offset, s.base_offset + 1) - 1
                if (
                    size + s.size > max_size
                    or index_size + s.offset_index.size_in_bytes > max_index_size
                    or time_index_size + s.time_index.size_in_bytes > max_index_size
                    or last - group[0].base_offset > _INT32_MAX
                ):
                    break
                group.append(s)
                size += s.size
                index_size += s.offset_index.size_in_bytes
                time_index_size += s.time_index.size_in_bytes
                i += 1
            groups.append(group)
        return groups

    # ------------------------------------------------------------------ rewriting
    def _clean_group(
        self,
        lg: "Log",
        group: list[LogSegment],
        offset_map: dict[bytes, int],
        map_latest_offset: int,
        delete_horizon: int,
        last_batches: set[tuple[int, int]],
        generation: int,
        result: CleanResult,
    ) -> bool:
        cleaned = lg._new_segment(group[0].base_offset, active=True, suffix=files.CLEANED_SUFFIX, preallocate=False)
        try:
            buf = bytearray()
            entries: list[tuple[int, int, int, int]] = []

            def flush_buf() -> None:
                if buf:
                    cleaned.append(memoryview(buf), list(entries))
                    result.bytes_written += len(buf)
                    buf.clear()
                    entries.clear()

            for seg in group:
                retain_deletes = seg.last_modified_ms > delete_horizon
                for _pos, mv in seg.iter_batches(0):
                    if mv is None:
                        break
                    result.bytes_read += len(mv)
                    out = self._filter_batch(mv, offset_map, map_latest_offset, retain_deletes, last_batches, result)
                    if out is None:
                        continue
                    h = RecordBatchView(out).header()
                    entries.append((len(buf), len(out), h.base_offset + h.last_offset_delta, h.max_timestamp))
                    buf += out
                    if len(buf) >= _WRITE_BUFFER:
                        flush_buf()
            flush_buf()
            cleaned.flush()
            cleaned.on_become_inactive()
            cleaned.set_last_modified(max(s.last_modified_ms for s in group))
            cleaned.change_suffix(files.SWAP_SUFFIX)
        except BaseException:
            cleaned.delete()
            raise
        if not lg.replace_segments(cleaned, group, generation):
            cleaned.delete()
            return False
        result.segments_cleaned += len(group)
        return True

    def _filter_batch(
        self,
        mv: memoryview,
        offset_map: dict[bytes, int],
        map_latest_offset: int,
        retain_deletes: bool,
        last_batches: set[tuple[int, int]],
        result: CleanResult,
    ) -> bytes | memoryview | None:
        view = RecordBatchView(mv)
        h = view.header()
        if h.attributes & CONTROL_MASK:
            return mv
        records = list(view.records())
        result.records_read += len(records)
        kept = []
        for rec in records:
            if rec.offset > map_latest_offset:
                kept.append(rec)
                continue
            if rec.key is None:
                continue
            found = offset_map.get(key_digest(rec.key), -1)
            if rec.offset >= found and (rec.value is not None or retain_deletes):
                kept.append(rec)
        result.records_retained += len(kept)
        last_offset = h.base_offset + h.last_offset_delta
        if len(kept) == len(records):
            return mv
        if not kept and not (h.producer_id >= 0 and (h.producer_id, last_offset) in last_batches):
            return None
        builder = RecordBatchBuilder(
            CompressionType(h.attributes & 0x07),
            h.producer_id,
            h.producer_epoch,
            h.base_sequence,
            is_transactional=bool(h.attributes & TRANSACTIONAL_MASK),
            timestamp_type=LOG_APPEND_TIME if h.attributes & TIMESTAMP_TYPE_MASK else 0,
            base_offset=h.base_offset,
            partition_leader_epoch=h.partition_leader_epoch,
            log_append_time=h.max_timestamp if h.attributes & TIMESTAMP_TYPE_MASK else -1,
        )
        for rec in kept:
            builder.append(rec.timestamp, rec.key, rec.value, rec.headers, offset=rec.offset)
        return builder.build(last_offset=last_offset, empty_timestamp=h.max_timestamp)
