"""Sparse offset and time indexes: lookups agree with a brute-force search, truncation, trimming, checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_zk.log.index import CorruptIndexError, OffsetIndex, TimeIndex


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.lists(st.integers(1, 50), min_size=0, max_size=60),
    targets=st.lists(st.integers(0, 4000), min_size=1, max_size=20),
)
def test_offset_index_lookup_is_the_last_entry_at_or_below(tmp_path_factory: pytest.TempPathFactory, gaps: list[int], targets: list[int]) -> None:
    path = str(tmp_path_factory.mktemp("idx") / "00000000000000000100.index")
    idx = OffsetIndex(path, 100, 8 * 100, writable=True)
    entries = []
    off, pos = 100, 0
    for g in gaps:
        off += g
        pos += g * 10
        idx.append(off, pos)
        entries.append((off, pos))
    for t in targets:
        expected = max((e for e in entries if e[0] <= t), default=(100, 0))
        assert idx.lookup(t) == expected
    idx.close()
    assert os.path.getsize(path) == 8 * len(entries)  # trimmed on close
    reopened = OffsetIndex(path, 100, 800, writable=False)
    assert reopened.entries == len(entries)
    for t in targets:
        assert reopened.lookup(t) == max((e for e in entries if e[0] <= t), default=(100, 0))
    reopened.close()


def test_offset_index_truncate_and_full(tmp_path: Path) -> None:
    idx = OffsetIndex(str(tmp_path / "00000000000000000000.index"), 0, 8 * 4, writable=True)
    for i in range(1, 5):
        idx.append(i * 10, i * 100)
    assert idx.is_full
    with pytest.raises(RuntimeError, match="full"):
        idx.append(50, 500)
    idx.truncate_to(30)
    assert idx.entries == 2 and idx.last_entry == (20, 200)
    idx.truncate_to(25)
    assert idx.entries == 2
    with pytest.raises(ValueError):
        idx.append(20, 300)
    idx.close()


def test_time_index_keeps_only_growing_timestamps(tmp_path: Path) -> None:
    idx = TimeIndex(str(tmp_path / "00000000000000000010.timeindex"), 10, 12 * 10, writable=True)
    idx.maybe_append(-1, 10)  # no timestamp: no entry
    idx.maybe_append(1000, 12)
    idx.maybe_append(900, 15)  # smaller: ignored
    idx.maybe_append(1500, 20)
    assert idx.entries == 2
    assert idx.lookup(999) == (-1, 10)
    assert idx.lookup(1000) == (1000, 12)
    assert idx.lookup(1499) == (1000, 12)
    assert idx.lookup(10**13) == (1500, 20)
    assert idx.last_entry == (1500, 20)
    idx.truncate_to(20)
    assert idx.last_entry == (1000, 12)
    idx.close()


def test_sanity_checks_reject_zeroed_or_disordered_indexes(tmp_path: Path) -> None:
    path = str(tmp_path / "00000000000000000000.index")
    with open(path, "wb") as f:
        f.write(bytes(8 * 5))  # an untrimmed, preallocated index after a crash
    idx = OffsetIndex(path, 0, 8 * 5, writable=False)
    assert not idx.quick_check(10_000)
    with pytest.raises(CorruptIndexError):
        idx.sanity_check(10_000)
    idx.close()
    tpath = str(tmp_path / "00000000000000000000.timeindex")
    with open(tpath, "wb") as f:
        f.write((5).to_bytes(8, "big") + (1).to_bytes(4, "big") + (4).to_bytes(8, "big") + (2).to_bytes(4, "big"))
    tidx = TimeIndex(tpath, 0, 24, writable=False)
    with pytest.raises(CorruptIndexError):
        tidx.sanity_check()
    tidx.close()
