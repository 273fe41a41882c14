"""Opening a partition log from disk, and recovering it after an unclean shutdown (Kafka's ``LogLoader``).

Steps, in order:

1. **Leftovers.** ``*.tmp``, ``*.deleted`` and ``*.cleaned`` files are deleted (a half-written checkpoint
   or snapshot, a segment already removed from the log, a cleaner output that never got swapped in).
   Index files without a ``.log`` are deleted too.
2. **Interrupted swaps.** A ``<base>.log.swap`` is a cleaned segment that was complete when the broker
   stopped: the segments it covers (base offsets in ``[base, its next offset)``) are deleted and it is
   renamed into place, so a crash at any point of a swap leaves either the old or the new segments.
3. **Segments.** Every ``<base>.log`` is opened; a missing index, or one that fails a cheap plausibility
   test, is rebuilt from the batch headers. (A full consistency check of each index runs the first time
   it is used, see :meth:`LogSegment.verify_indexes`.)
4. **Recovery** — only without the clean-shutdown marker. Every segment from the one holding the
   recovery point onward is rescanned: each batch's size, magic, CRC32C and offset order are checked,
   the indexes are rebuilt, and the log is cut at the first invalid or torn batch — logged at WARNING
   with the offset and byte position — and every later segment deleted. Recovered data is fsynced.
   With the marker, only the active segment's tail is walked to find the log end offset (and recovered
   if it turns out torn after all).
5. **Offsets and caches.** LEO = one past the last batch; log start = max(checkpointed start, first
   segment base); the leader-epoch cache is trimmed to ``[log start, LEO]`` (rebuilt from batch headers if
   its checkpoint is unreadable); producer state is reloaded from the newest snapshot at or below the LEO
   plus a replay of the batch headers after it.
"""

from __future__ import annotations

import bisect
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.logging import get_logger
from kafka_zk.log import files
from kafka_zk.log.checkpoints import LEADER_EPOCH_CHECKPOINT, CheckpointError, LeaderEpochCheckpointFile
from kafka_zk.log.epoch_cache import LeaderEpochFileCache
from kafka_zk.log.segment import LogSegment
from kafka_zk.record.batch import BatchHeader

if TYPE_CHECKING:
    from kafka_zk.log.log import Log

log = get_logger(__name__)


@dataclass
class LoadResult:
    """What loading found; ``recovered`` means the unclean-shutdown scan ran."""

    recovered: bool = False
    truncated_bytes: int = 0
    truncated_at_offset: int | None = None
    truncated_at_position: int | None = None
    deleted_segments: list[int] = field(default_factory=list)
    rebuilt_indexes: list[int] = field(default_factory=list)
    completed_swaps: list[int] = field(default_factory=list)
    duration_ms: float = 0.0


def load_epoch_cache(lg: "Log") -> LeaderEpochFileCache:
    cp = LeaderEpochCheckpointFile(os.path.join(lg.dir, LEADER_EPOCH_CHECKPOINT))
    try:
        cache = LeaderEpochFileCache(lambda: lg.log_end_offset, cp)
        return cache
    except (CheckpointError, ValueError) as e:
        log.warning("unreadable leader epoch checkpoint; rebuilding it from the log", partition=lg.name, error=str(e))
        try:
            os.unlink(cp.path)
        except FileNotFoundError:
            pass
        lg._epoch_cache_rebuild = True
        return LeaderEpochFileCache(lambda: lg.log_end_offset, cp)


def _remove_leftovers(dir: str) -> list[int]:
    """Delete temporary files; return the base offsets of ``.log.swap`` files."""
    swaps: list[int] = []
    names = os.listdir(dir)
    for name in names:
        path = os.path.join(dir, name)
        if name.endswith((files.TMP_SUFFIX, files.DELETED_SUFFIX, files.CLEANED_SUFFIX)):
            _unlink(path)
        elif name.endswith(files.LOG_SUFFIX + files.SWAP_SUFFIX):
            off = files.offset_from_name(name)
            if off is not None:
                swaps.append(off)
    logs = {files.offset_from_name(n) for n in names if n.endswith(files.LOG_SUFFIX)}
    for name in names:
        if name.endswith((files.INDEX_SUFFIX, files.TIME_INDEX_SUFFIX)) and files.offset_from_name(name) not in logs:
            _unlink(os.path.join(dir, name))
        elif name.endswith((files.INDEX_SUFFIX + files.SWAP_SUFFIX, files.TIME_INDEX_SUFFIX + files.SWAP_SUFFIX)):
            if files.offset_from_name(name) not in swaps:
                _unlink(os.path.join(dir, name))
    return sorted(swaps)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _complete_swaps(lg: "Log", swaps: list[int], result: LoadResult) -> None:
    for base in swaps:
        seg = lg._new_segment(base, active=False, suffix=files.SWAP_SUFFIX, preallocate=False)
        seg.rebuild_indexes()
        nxt, end = seg.read_next_offset()
        if end < seg.size:
            seg.recover()
        for name in os.listdir(lg.dir):
            if name.endswith(files.LOG_SUFFIX):
                off = files.offset_from_name(name)
                if off is not None and base <= off < max(nxt, base + 1):
                    for path in (files.log_file(lg.dir, off), files.index_file(lg.dir, off), files.time_index_file(lg.dir, off)):
                        _unlink(path)
        seg.change_suffix("")
        seg.close()
        result.completed_swaps.append(base)
        log.info("completed interrupted segment swap", partition=lg.name, base_offset=base, next_offset=nxt)


def _indexes_plausible(seg: LogSegment) -> bool:
    if not (os.path.exists(seg.offset_index.path) and os.path.exists(seg.time_index.path)):
        return False
    if os.path.getsize(seg.time_index.path) % 12 or (not seg.active and os.path.getsize(seg.offset_index.path) % 8):
        return False
    return seg.offset_index.quick_check(seg.size) and seg.time_index.quick_check()


def load(lg: "Log", had_clean_shutdown: bool) -> LoadResult:
    t0 = time.monotonic()
    result = LoadResult()
    swaps = _remove_leftovers(lg.dir)
    _complete_swaps(lg, swaps, result)

    bases = sorted(
        off for n in os.listdir(lg.dir) if n.endswith(files.LOG_SUFFIX) and (off := files.offset_from_name(n)) is not None
    )
    segments: list[LogSegment] = []
    # Without the clean-shutdown marker, segments from the one holding the recovery point are rescanned
    # (and their indexes rebuilt) below; only older segments need their indexes checked here.
    first_recovered = bases[max(bisect.bisect_right(bases, lg.recovery_point) - 1, 0)] if bases and not had_clean_shutdown else None
    for i, base in enumerate(bases):
        index_missing = not (os.path.exists(files.index_file(lg.dir, base)) and os.path.exists(files.time_index_file(lg.dir, base)))
        seg = lg._new_segment(base, active=(i == len(bases) - 1), preallocate=False)
        if first_recovered is not None and base >= first_recovered:
            pass
        elif index_missing or not _indexes_plausible(seg):
            log.warning("rebuilding missing or corrupt index", partition=lg.name, base_offset=base)
            seg.indexes_verified = False
            seg.rebuild_indexes()
            result.rebuilt_indexes.append(base)
        segments.append(seg)
    if not segments:
        segments.append(lg._new_segment(lg.log_start_offset))
        bases = [lg.log_start_offset]
    lg._set_segments(segments)

    cache = lg.leader_epoch_cache

    def note_epoch(h: BatchHeader) -> None:
        epoch = h.partition_leader_epoch
        if epoch >= 0 and epoch > cache.latest_epoch:
            cache.assign(epoch, h.base_offset)

    if not had_clean_shutdown:
        result.recovered = True
        first = max(bisect.bisect_right(bases, lg.recovery_point) - 1, 0)
        for i in range(first, len(segments)):
            seg = segments[i]
            res = seg.recover(note_epoch)
            if res.truncated_bytes > 0:
                log.warning(
                    "truncating log at invalid or torn batch",
                    partition=lg.name,
                    segment=seg.base_offset,
                    offset=res.next_offset,
                    position=res.valid_bytes,
                    truncated_bytes=res.truncated_bytes,
                    reason=res.reason,
                )
                result.truncated_bytes += res.truncated_bytes
                result.truncated_at_offset = res.next_offset
                result.truncated_at_position = res.valid_bytes
                for doomed in segments[i + 1 :]:
                    log.warning("deleting segment after the truncation point", partition=lg.name, base_offset=doomed.base_offset)
                    result.deleted_segments.append(doomed.base_offset)
                    result.truncated_bytes += doomed.size
                    doomed.delete()
                segments = segments[: i + 1]
                break
        if not segments[-1].active:
            segments[-1].make_active(lg.config.segment_index_bytes)
        lg._set_segments(segments)
    else:
        active = segments[-1]
        _, end = active.read_next_offset()
        if end < active.size:
            res = active.recover(note_epoch)
            log.warning(
                "truncating torn tail despite clean shutdown marker",
                partition=lg.name, segment=active.base_offset, offset=res.next_offset, position=res.valid_bytes,
                truncated_bytes=res.truncated_bytes, reason=res.reason,
            )
            result.truncated_bytes += res.truncated_bytes
            result.truncated_at_offset = res.next_offset
            result.truncated_at_position = res.valid_bytes

    last = segments[-1]
    leo, _ = last.read_next_offset()
    if last.size == 0:
        leo = last.base_offset
    lg._log_end_offset = leo
    for seg in segments:
        if not seg.active or had_clean_shutdown:
            seg.load_max_timestamp()
    active = segments[-1]
    active.bytes_since_last_index_entry = max(active.size - active.offset_index.last_entry[1], 0) if active.offset_index.entries else active.size

    log_start = max(lg.log_start_offset, segments[0].base_offset)
    if log_start > leo:
        log.warning("log start offset beyond the log end; restarting the log empty", partition=lg.name, log_start_offset=log_start, log_end_offset=leo)
        lg.truncate_fully_and_start_at(log_start)
        leo = log_start
    lg._log_start_offset = log_start
    lg._high_watermark = log_start

    if lg._epoch_cache_rebuild:
        for seg in lg.segments:
            for loc in seg.iter_headers(0):
                note_epoch(loc.header)
    cache.truncate_from_end(leo)
    cache.truncate_from_start(log_start)

    lg.rebuild_producer_state(leo)

    if result.recovered:
        for seg in lg.segments[max(bisect.bisect_right([s.base_offset for s in lg.segments], lg.recovery_point) - 1, 0) :]:
            seg.flush()
    lg.recovery_point = leo
    result.duration_ms = (time.monotonic() - t0) * 1000
    if result.recovered:
        log.info(
            "recovered log", partition=lg.name, log_end_offset=leo, truncated_bytes=result.truncated_bytes,
            duration_ms=round(result.duration_ms, 1),
        )
        lg._emit(
            kinds.LOG_RECOVERED, log_start_offset=log_start, log_end_offset=leo, truncated_bytes=result.truncated_bytes,
            truncated_at_offset=result.truncated_at_offset, truncated_at_position=result.truncated_at_position,
        )
    return result
