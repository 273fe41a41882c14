"""Leader epoch cache (KIP-101/279): end offsets per epoch, monotonic entries, truncation, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafka_zk.log.checkpoints import CheckpointError, LeaderEpochCheckpointFile
from kafka_zk.log.epoch_cache import UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, LeaderEpochFileCache


def cache(leo: int = 100, path: Path | None = None) -> LeaderEpochFileCache:
    return LeaderEpochFileCache(lambda: leo, LeaderEpochCheckpointFile(str(path)) if path else None)


def test_end_offset_for_follows_kip_279() -> None:
    c = cache(leo=100)
    for epoch, start in [(2, 10), (5, 40), (7, 70)]:
        c.assign(epoch, start)
    assert c.end_offset_for(7) == (7, 100)  # latest epoch: the LEO
    assert c.end_offset_for(5) == (5, 70)  # start of the next epoch
    assert c.end_offset_for(6) == (5, 70)  # unknown epoch: largest known below it
    assert c.end_offset_for(3) == (2, 40)
    assert c.end_offset_for(1) == (1, 10)  # below every epoch: start of the first one
    assert c.end_offset_for(8) == (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
    assert c.end_offset_for(UNDEFINED_EPOCH) == (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
    assert cache().end_offset_for(3) == (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
    assert c.latest_epoch == 7 and cache().latest_epoch == UNDEFINED_EPOCH
    assert c.epoch_for_offset(45) == 5 and c.epoch_for_offset(5) == UNDEFINED_EPOCH


def test_assign_keeps_entries_monotonic() -> None:
    c = cache()
    assert c.assign(3, 10)
    assert not c.assign(3, 20)  # same epoch, later offset: no change
    assert c.assign(3, 5)  # same epoch, earlier offset: replaces
    assert c.entries == [(3, 5)]
    c.assign(4, 20)
    c.assign(6, 30)
    c.assign(5, 25)  # lower epoch than the latest: later entries are dropped
    assert c.entries == [(3, 5), (4, 20), (5, 25)]
    c.assign(9, 15)  # start offset below existing entries: they are dropped
    assert c.entries == [(3, 5), (9, 15)]
    with pytest.raises(ValueError):
        c.assign(-1, 0)


def test_truncation_from_both_ends() -> None:
    c = cache()
    for epoch, start in [(1, 0), (2, 10), (3, 20), (4, 30)]:
        c.assign(epoch, start)
    c.truncate_from_end(20)
    assert c.entries == [(1, 0), (2, 10)]
    c.truncate_from_start(15)
    assert c.entries == [(2, 15)]
    c.truncate_from_start(15)
    assert c.entries == [(2, 15)]
    c.truncate_from_start(5)  # below the first entry: nothing to do
    assert c.entries == [(2, 15)]


def test_every_change_is_persisted_in_kafkas_format(tmp_path: Path) -> None:
    p = tmp_path / "leader-epoch-checkpoint"
    c = cache(path=p)
    c.assign(0, 0)
    c.assign(4, 120)
    assert p.read_text() == "0\n2\n0 0\n4 120\n"
    assert cache(path=p).entries == [(0, 0), (4, 120)]
    c.clear_and_flush()
    assert p.read_text() == "0\n0\n"


def test_malformed_checkpoint_is_reported(tmp_path: Path) -> None:
    p = tmp_path / "leader-epoch-checkpoint"
    p.write_text("0\n2\n1 5\n")
    with pytest.raises(CheckpointError, match="header says 2 entries"):
        cache(path=p)
