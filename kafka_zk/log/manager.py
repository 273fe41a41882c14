"""The broker's log manager: every partition log in every log directory (Kafka's ``LogManager``).

Layout of a log directory::

    <log.dir>/
      .lock                               held (flock) while a broker uses the directory
      .kafka_cleanShutdown                written last at clean shutdown, deleted after startup
      recovery-point-offset-checkpoint    per partition: everything below is fsynced
      log-start-offset-checkpoint         per partition: log start offsets (after retention/DeleteRecords)
      replication-offset-checkpoint       per partition: high watermarks
      cleaner-offset-checkpoint           per compacted partition: first dirty offset
      <topic>-<partition>/                one Log each
      <topic>-<partition>.<uuid>-delete/  a deleted partition waiting for file.delete.delay.ms

At startup a directory without ``.kafka_cleanShutdown`` means the broker crashed: each of its logs is
recovered from its checkpointed recovery point (see :mod:`kafka_zk.log.loader`). The marker is removed
once every log is loaded, so a later crash is detected again.

All methods are synchronous. The broker calls the periodic ones from its event loop on Kafka's
schedules — :meth:`flush_dirty` (``log.flush.scheduler.interval.ms``), :meth:`run_retention`
(``log.retention.check.interval.ms``, 5 min), :meth:`checkpoint_recovery_points`
(``log.flush.offset.checkpoint.interval.ms``, 60 s), :meth:`checkpoint_high_watermarks`
(``replica.high.watermark.checkpoint.interval.ms``, 5 s) — and :meth:`run_cleaner_once` from a worker
thread (``log.cleaner.backoff.ms`` between passes when there is nothing to clean).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import uuid
from typing import Callable, Mapping

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.clock import SYSTEM_CLOCK, Clock
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.log import files
from kafka_zk.log.checkpoints import (
    CLEANER_OFFSET_CHECKPOINT,
    HIGH_WATERMARK_CHECKPOINT,
    LOG_START_OFFSET_CHECKPOINT,
    RECOVERY_POINT_CHECKPOINT,
    CheckpointError,
    OffsetCheckpointFile,
    fsync_dir,
)
from kafka_zk.log.cleaner import DEFAULT_MAX_MAP_ENTRIES, CleanResult, LogCleaner, dirty_ratio
from kafka_zk.log.config import LogConfig
from kafka_zk.log.log import Log
from kafka_zk.log.producer_state import DEFAULT_PRODUCER_ID_EXPIRATION_MS

log = get_logger(__name__)

TopicConfigs = Mapping[str, LogConfig] | Callable[[str], "LogConfig | None"]


class LogDirInUseError(RuntimeError):
    """Another process holds the directory's lock."""


class LogManager:
    def __init__(
        self,
        log_dirs: list[str],
        default_config: LogConfig,
        clock: Clock = SYSTEM_CLOCK,
        events: EventBus | None = None,
        *,
        topic_configs: TopicConfigs | None = None,
        producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
        cleaner_max_map_entries: int = DEFAULT_MAX_MAP_ENTRIES,
    ) -> None:
        """``default_config``: topic defaults from the broker (``LogConfig.from_broker_props``);
        ``topic_configs``: per-topic configs (a mapping or a lookup function) known at startup."""
        if not log_dirs:
            raise ValueError("at least one log directory is required")
        self.log_dirs = [os.path.abspath(d) for d in log_dirs]
        self.default_config = default_config
        self.clock = clock
        self.events = events
        self._topic_configs = topic_configs
        self._topic_overrides: dict[str, LogConfig] = {}
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self._lock = threading.RLock()
        self._logs: dict[TopicPartition, Log] = {}
        self._dir_of: dict[TopicPartition, str] = {}
        self._to_delete: list[tuple[int, Log]] = []
        self._cleaner_offsets: dict[TopicPartition, int] = {}
        self._uncleanable: set[TopicPartition] = set()
        self._cleaner = LogCleaner(clock, cleaner_max_map_entries)
        self._cleaner_lock = threading.Lock()
        self._lock_fds: dict[str, int] = {}
        self.recovered: list[TopicPartition] = []
        self._started = False

    # ------------------------------------------------------------------ configs
    def config_for(self, topic: str) -> LogConfig:
        if topic in self._topic_overrides:
            return self._topic_overrides[topic]
        tc = self._topic_configs
        if tc is not None:
            found = tc(topic) if callable(tc) else tc.get(topic)
            if found is not None:
                return found
        return self.default_config

    def update_topic_config(self, topic: str, config: LogConfig) -> None:
        """Apply a changed topic configuration to the topic's logs (and logs created later)."""
        with self._lock:
            self._topic_overrides[topic] = config
            for tp, lg in self._logs.items():
                if tp.topic == topic:
                    lg.config = config

    # ------------------------------------------------------------------ startup
    def startup(self) -> None:
        """Lock every log directory and load every partition in it (recovering after a crash).
        Raises :class:`LogDirInUseError` or ``OSError`` when a directory cannot be used."""
        with self._lock:
            try:
                for d in self.log_dirs:
                    os.makedirs(d, exist_ok=True)
                    self._lock_dir(d)
                for d in self.log_dirs:
                    self._load_dir(d)
            except BaseException:
                for lg in self._logs.values():
                    lg.close_without_flush()
                self._logs.clear()
                self._dir_of.clear()
                self._release_locks()
                raise
            self._started = True

    def _lock_dir(self, d: str) -> None:
        fd = os.open(os.path.join(d, files.LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LogDirInUseError(f"log directory {d} is in use by another process (its .lock is held)") from None
        self._lock_fds[d] = fd

    def _read_checkpoint(self, d: str, name: str) -> dict[TopicPartition, int]:
        try:
            return OffsetCheckpointFile(os.path.join(d, name)).read()
        except (CheckpointError, OSError) as e:
            log.warning("ignoring unreadable checkpoint file", path=os.path.join(d, name), error=str(e))
            return {}

    def _load_dir(self, d: str) -> None:
        marker = os.path.join(d, files.CLEAN_SHUTDOWN_FILE)
        clean = os.path.exists(marker)
        recovery_points = self._read_checkpoint(d, RECOVERY_POINT_CHECKPOINT)
        log_starts = self._read_checkpoint(d, LOG_START_OFFSET_CHECKPOINT)
        hws = self._read_checkpoint(d, HIGH_WATERMARK_CHECKPOINT)
        cleaner_offsets = self._read_checkpoint(d, CLEANER_OFFSET_CHECKPOINT)
        if not clean:
            log.info("no clean shutdown marker: recovering logs", log_dir=d)
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if not os.path.isdir(path):
                continue
            if name.endswith(files.DELETE_DIR_SUFFIX):
                shutil.rmtree(path, ignore_errors=True)
                continue
            try:
                tp = TopicPartition.parse(name)
            except ValueError:
                log.warning("skipping directory that is not a partition log", path=path)
                continue
            if tp in self._logs:
                raise KafkaError(
                    ErrorCode.KAFKA_STORAGE_ERROR,
                    f"duplicate log directories for {tp}: {self._dir_of[tp]} and {d}",
                )
            lg = Log(
                path,
                self.config_for(tp.topic),
                log_start_offset=log_starts.get(tp, 0),
                recovery_point=recovery_points.get(tp, 0),
                had_clean_shutdown=clean,
                clock=self.clock,
                events=self.events,
                producer_id_expiration_ms=self.producer_id_expiration_ms,
                tp=tp,
            )
            lg.high_watermark = hws.get(tp, lg.log_start_offset)
            self._logs[tp] = lg
            self._dir_of[tp] = d
            if tp in cleaner_offsets:
                self._cleaner_offsets[tp] = cleaner_offsets[tp]
            if lg.recovery.recovered:
                self.recovered.append(tp)
        if clean:
            os.unlink(marker)
            fsync_dir(d)

    # ------------------------------------------------------------------ logs
    def get_log(self, tp: TopicPartition) -> Log | None:
        return self._logs.get(tp)

    def all_logs(self) -> list[Log]:
        with self._lock:
            return list(self._logs.values())

    def log_dir_of(self, tp: TopicPartition) -> str | None:
        return self._dir_of.get(tp)

    def get_or_create_log(self, tp: TopicPartition, config: LogConfig | None = None) -> Log:
        """The partition's log, created (in the directory holding the fewest partitions) if absent."""
        with self._lock:
            lg = self._logs.get(tp)
            if lg is not None:
                return lg
            counts = {d: 0 for d in self.log_dirs}
            for d in self._dir_of.values():
                counts[d] += 1
            d = min(self.log_dirs, key=lambda x: counts[x])
            lg = Log(
                os.path.join(d, str(tp)),
                config or self.config_for(tp.topic),
                had_clean_shutdown=True,
                clock=self.clock,
                events=self.events,
                producer_id_expiration_ms=self.producer_id_expiration_ms,
                tp=tp,
            )
            self._logs[tp] = lg
            self._dir_of[tp] = d
            log.info("created log", partition=str(tp), log_dir=d)
            return lg

    def delete_log(self, tp: TopicPartition) -> bool:
        """Remove the partition: its directory is renamed ``<dir>.<uuid>-delete`` now and deleted after
        ``file.delete.delay.ms`` (by :meth:`run_retention` or :meth:`shutdown`). Returns False if absent."""
        with self._lock:
            lg = self._logs.pop(tp, None)
            if lg is None:
                return False
            d = self._dir_of.pop(tp)
            self._cleaner_offsets.pop(tp, None)
            self._uncleanable.discard(tp)
            target = os.path.join(d, f"{tp}.{uuid.uuid4().hex}{files.DELETE_DIR_SUFFIX}")
            lg.rename_dir(target)
            self._to_delete.append((self.clock.time_ms() + lg.config.file_delete_delay_ms, lg))
            log.info("scheduled log for deletion", partition=str(tp), path=target)
            if self.events is not None:
                self.events.emit(kinds.LOG_DELETED, topic=tp.topic, partition=tp.partition)
            return True

    def _finish_deletions(self, now_ms: int, force: bool = False) -> None:
        with self._lock:
            keep = []
            for deadline, lg in self._to_delete:
                if force or deadline <= now_ms:
                    lg.delete()
                else:
                    keep.append((deadline, lg))
            self._to_delete = keep

    def logs_by_dir(self) -> dict[str, list[tuple[TopicPartition, Log]]]:
        """Every log dir (also those holding no log) with the logs in it — what DescribeLogDirs reports."""
        return self._by_dir()

    # ------------------------------------------------------------------ checkpoints
    def _by_dir(self) -> dict[str, list[tuple[TopicPartition, Log]]]:
        out: dict[str, list[tuple[TopicPartition, Log]]] = {d: [] for d in self.log_dirs}
        with self._lock:
            for tp, lg in self._logs.items():
                out[self._dir_of[tp]].append((tp, lg))
        return out

    def checkpoint_high_watermarks(self) -> None:
        for d, logs in self._by_dir().items():
            OffsetCheckpointFile(os.path.join(d, HIGH_WATERMARK_CHECKPOINT)).write({tp: lg.high_watermark for tp, lg in logs})

    def checkpoint_recovery_points(self) -> None:
        """Write recovery points and log start offsets of every log."""
        for d, logs in self._by_dir().items():
            OffsetCheckpointFile(os.path.join(d, RECOVERY_POINT_CHECKPOINT)).write({tp: lg.recovery_point for tp, lg in logs})
            OffsetCheckpointFile(os.path.join(d, LOG_START_OFFSET_CHECKPOINT)).write({tp: lg.log_start_offset for tp, lg in logs})

    def _checkpoint_cleaner_offsets(self) -> None:
        by_dir: dict[str, dict[TopicPartition, int]] = {d: {} for d in self.log_dirs}
        with self._lock:
            for tp, off in self._cleaner_offsets.items():
                d = self._dir_of.get(tp)
                if d is not None:
                    by_dir[d][tp] = off
        for d, offsets in by_dir.items():
            OffsetCheckpointFile(os.path.join(d, CLEANER_OFFSET_CHECKPOINT)).write(offsets)

    # ------------------------------------------------------------------ periodic work
    def flush_dirty(self, now_ms: int | None = None) -> int:
        """fsync logs whose last flush is older than their ``flush.ms``; returns how many were flushed."""
        now = self.clock.time_ms() if now_ms is None else now_ms
        n = 0
        for lg in self.all_logs():
            if now - lg.last_flush_ms >= lg.config.flush_ms:
                lg.flush()
                n += 1
        return n

    def run_retention(self, now_ms: int | None = None) -> int:
        """Retention for every log plus producer-id expiration and pending deletions; returns the number
        of segments deleted."""
        now = self.clock.time_ms() if now_ms is None else now_ms
        deleted = 0
        for lg in self.all_logs():
            deleted += lg.delete_old_segments(now)
            lg.remove_expired_producers(now)
        self._finish_deletions(now)
        return deleted

    def run_cleaner_once(self, now_ms: int | None = None) -> CleanResult | None:
        """Clean the compacted log with the highest dirty ratio (if any reaches its
        ``min.cleanable.dirty.ratio``, or holds a record older than ``max.compaction.lag.ms``)."""
        now = self.clock.time_ms() if now_ms is None else now_ms
        with self._cleaner_lock:
            best: tuple[bool, float, Log, int] | None = None
            for lg in self.all_logs():
                if not lg.config.compact or lg.closed or lg.tp in self._uncleanable:
                    continue
                first_dirty = self._cleaner_offsets.get(lg.tp, lg.log_start_offset)
                if first_dirty < lg.log_start_offset or first_dirty > lg.active_segment.base_offset:
                    first_dirty = lg.log_start_offset
                ratio, must = dirty_ratio(lg, first_dirty, now)
                if ratio <= 0 or not (must or ratio >= lg.config.min_cleanable_dirty_ratio):
                    continue
                if best is None or (must, ratio) > (best[0], best[1]):
                    best = (must, ratio, lg, first_dirty)
            if best is None:
                return None
            _, ratio, lg, first_dirty = best
            try:
                result = self._cleaner.clean(lg, first_dirty)
            except Exception:
                log.exception("log cleaning failed; marking the partition uncleanable", partition=lg.name)
                self._uncleanable.add(lg.tp)
                return None
            if result is not None and not result.aborted:
                with self._lock:
                    if lg.tp in self._logs:
                        self._cleaner_offsets[lg.tp] = result.end_offset
                self._checkpoint_cleaner_offsets()
            return result

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Flush and close every log, write checkpoints and the clean-shutdown marker, unlock."""
        with self._lock:
            for lg in self._logs.values():
                lg.close()
            if self._started:
                self.checkpoint_recovery_points()
                self.checkpoint_high_watermarks()
                self._checkpoint_cleaner_offsets()
            self._finish_deletions(0, force=True)
            for d in self.log_dirs:
                if d in self._lock_fds:
                    path = os.path.join(d, files.CLEAN_SHUTDOWN_FILE)
                    with open(path, "wb") as f:
                        f.flush()
                        os.fsync(f.fileno())
                    fsync_dir(d)
            self._release_locks()
            self._logs.clear()
            self._dir_of.clear()
            self._started = False

    def _release_locks(self) -> None:
        for fd in self._lock_fds.values():
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        self._lock_fds.clear()

    def abandon(self) -> None:
        """Drop everything without flushing or writing the marker (tests simulating a crash)."""
        with self._lock:
            for lg in self._logs.values():
                lg.close_without_flush()
            for _, lg in self._to_delete:
                lg.close_without_flush()
            self._release_locks()
            self._logs.clear()
            self._dir_of.clear()
