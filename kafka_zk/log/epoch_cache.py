"""The leader-epoch cache: which leader epoch started at which offset (KIP-101 / KIP-279).

Each entry ``(epoch, start_offset)`` says "leader epoch ``epoch`` wrote its first record at
``start_offset``". Entries are strictly increasing in both fields. A leader adds ``(new epoch, LEO)`` when
it takes over; followers (and recovery) add an entry whenever a batch carries a partition leader epoch
newer than the latest one.

``end_offset_for(e)`` answers OffsetsForLeaderEpoch: the largest epoch ``<= e`` that this replica knows,
and where it ended — the start offset of the next larger epoch, or the log end offset when ``e`` is the
latest epoch. A follower truncates to that offset so it never keeps records the new leader does not have.
Answers (``UNDEFINED_EPOCH = -1``, ``UNDEFINED_EPOCH_OFFSET = -1``):

* ``e`` undefined, or larger than every known epoch → ``(-1, -1)``
* ``e`` == latest → ``(e, LEO)``
* ``e`` below the first known epoch → ``(e, start of the first epoch)`` (data below was deleted)
* otherwise → ``(largest known epoch <= e, start of the next larger epoch)``

Adding an entry first drops existing entries that would break monotonicity (epoch >= new epoch or start
offset >= new start offset); ``truncate_from_end(o)`` drops entries starting at or after ``o`` (log
truncation), ``truncate_from_start(o)`` drops entries wholly below ``o`` and moves the first retained
epoch's start to ``o`` (log start offset moved). Every change is written to ``leader-epoch-checkpoint``.
"""

from __future__ import annotations

import bisect
import threading
from typing import Callable

from kafka_zk.common.logging import get_logger
from kafka_zk.log.checkpoints import LeaderEpochCheckpointFile

log = get_logger(__name__)

UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


class LeaderEpochFileCache:
    """Thread-safe; ``checkpoint`` None keeps it in memory only (tests, temporary logs)."""

    def __init__(self, log_end_offset: Callable[[], int], checkpoint: LeaderEpochCheckpointFile | None = None) -> None:
        self._leo = log_end_offset
        self._checkpoint = checkpoint
        self._lock = threading.RLock()
        self._epochs: list[int] = []
        self._starts: list[int] = []
        if checkpoint is not None:
            for epoch, start in checkpoint.read():
                self._assign(epoch, start)

    # ------------------------------------------------------------------ queries
    @property
    def entries(self) -> list[tuple[int, int]]:
        with self._lock:
            return list(zip(self._epochs, self._starts))

    @property
    def latest_epoch(self) -> int:
        """The latest epoch, or -1 (UNDEFINED_EPOCH) when the cache is empty."""
        with self._lock:
            return self._epochs[-1] if self._epochs else UNDEFINED_EPOCH

    def end_offset_for(self, requested_epoch: int) -> tuple[int, int]:
        """``(epoch, end_offset)`` as described in the module docstring."""
        with self._lock:
            if requested_epoch == UNDEFINED_EPOCH or not self._epochs:
                return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
            if requested_epoch == self._epochs[-1]:
                return requested_epoch, self._leo()
            hi = bisect.bisect_right(self._epochs, requested_epoch)  # first epoch > requested
            if hi == len(self._epochs):
                return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
            if hi == 0:
                return requested_epoch, self._starts[0]
            return self._epochs[hi - 1], self._starts[hi]

    def epoch_for_offset(self, offset: int) -> int:
        """The epoch that wrote ``offset`` (the last entry starting at or before it), or -1."""
        with self._lock:
            i = bisect.bisect_right(self._starts, offset)
            return self._epochs[i - 1] if i else UNDEFINED_EPOCH

    # ------------------------------------------------------------------ updates
    def assign(self, epoch: int, start_offset: int) -> bool:
        """Record that ``epoch`` starts at ``start_offset``; returns whether the cache changed.
        Raises ValueError on a negative epoch or offset."""
        with self._lock:
            changed = self._assign(epoch, start_offset)
            if changed:
                self._flush()
            return changed

    def _assign(self, epoch: int, start_offset: int) -> bool:
        if epoch < 0 or start_offset < 0:
            raise ValueError(f"invalid leader epoch entry ({epoch}, {start_offset})")
        if self._epochs and self._epochs[-1] == epoch and start_offset >= self._starts[-1]:
            return False
        removed = []
        while self._epochs and (self._epochs[-1] >= epoch or self._starts[-1] >= start_offset):
            removed.append((self._epochs.pop(), self._starts.pop()))
        if len(removed) > 1 or (removed and removed[0][1] != start_offset):
            log.warning("new leader epoch entry truncated conflicting entries", epoch=epoch, start_offset=start_offset, removed=removed)
        self._epochs.append(epoch)
        self._starts.append(start_offset)
        return True

    def truncate_from_end(self, end_offset: int) -> None:
        """Drop entries whose start offset is >= ``end_offset`` (the log was truncated there)."""
        with self._lock:
            if end_offset < 0 or not self._starts or self._starts[-1] < end_offset:
                return
            while self._starts and self._starts[-1] >= end_offset:
                self._epochs.pop()
                self._starts.pop()
            self._flush()

    def truncate_from_start(self, start_offset: int) -> None:
        """The log now starts at ``start_offset``: drop entries wholly below it and move the epoch that
        covers it to start there (an entry starting exactly at ``start_offset`` is kept as is)."""
        with self._lock:
            i = bisect.bisect_right(self._starts, start_offset)  # entries [0, i) start <= start_offset
            if i == 0:
                return
            epoch = self._epochs[i - 1]
            if i == 1 and self._starts[0] == start_offset:
                return
            self._epochs[: i] = [epoch]
            self._starts[: i] = [start_offset]
            self._flush()

    def clear_and_flush(self) -> None:
        with self._lock:
            self._epochs.clear()
            self._starts.clear()
            self._flush()

    def _flush(self) -> None:
        if self._checkpoint is not None:
            self._checkpoint.write(list(zip(self._epochs, self._starts)))
