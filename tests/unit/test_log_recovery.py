"""Crash recovery: damaged files always recover to a prefix of what was written, losing nothing before
the damage; damaged or missing indexes are rebuilt, never trusted."""

from __future__ import annotations

import logging
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.events import EventBus
from kafka_zk.common.regions import FileRegion
from kafka_zk.log import Log, LogConfig
from kafka_zk.record import RecordBatchBuilder, iter_batches

T0 = 1_600_000_000_000
CFG = {"segment.bytes": 1500, "index.interval.bytes": 120, "segment.index.bytes": 4096}


def open_log(d: str, clean: bool, recovery_point: int = 0, events: EventBus | None = None) -> Log:
    return Log(os.path.join(d, "t-0"), LogConfig(CFG), clock=ManualClock(T0), had_clean_shutdown=clean,
               recovery_point=recovery_point, events=events)


def write_batches(lg: Log, sizes: list[tuple[int, int]], start: int = 0) -> list[tuple[int, bytes | None, bytes | None]]:
    model: list[tuple[int, bytes | None, bytes | None]] = []
    for n, vsize in sizes:
        first = start + len(model)
        b = RecordBatchBuilder(producer_id=7, producer_epoch=0, base_sequence=first)
        rows = [(first + i, f"k{first + i}".encode(), os.urandom(vsize)) for i in range(n)]
        for off, k, v in rows:
            b.append(T0 + off, k, v)
        lg.append_as_leader(bytearray(b.build()), leader_epoch=1 + first // 10)
        model.extend(rows)
    return model


def layout(lg: Log) -> list[tuple[str, int, list[tuple[int, int, int, int]]]]:
    """Per segment: (log path, base offset, [(position, size, base_offset, last_offset)])."""
    out = []
    for seg in lg.segments:
        out.append((seg.log_path, seg.base_offset, [(loc.position, loc.size, loc.header.base_offset, loc.last_offset) for loc in seg.iter_headers()]))
    return out


def read_all(lg: Log) -> list[tuple[int, bytes | None, bytes | None]]:
    out: list[tuple[int, bytes | None, bytes | None]] = []
    while len(out) < lg.log_end_offset:
        r = lg.read(len(out), 1 << 20).records
        data = r.read() if isinstance(r, FileRegion) else r
        got = [(rec.offset, rec.key, rec.value) for v in iter_batches(data) for rec in v.records()]
        assert got, f"no data at offset {len(out)} below LEO {lg.log_end_offset}"
        out.extend(x for x in got if x[0] >= len(out))
    return out


damage_st = st.sampled_from(["cut", "garbage", "flip", "zero_tail", "delete_index", "corrupt_index", "zero_index"])


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.tuples(st.integers(1, 5), st.integers(0, 200)), min_size=1, max_size=25),
    flush_at=st.integers(0, 25),
    damage=damage_st,
    data=st.data(),
)
def test_crash_with_damage_recovers_a_prefix(sizes: list[tuple[int, int]], flush_at: int, damage: str, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as d:
        lg = open_log(d, clean=True)
        model = write_batches(lg, sizes[:flush_at])
        lg.flush()
        rp = lg.recovery_point
        model += write_batches(lg, sizes[flush_at:], start=len(model))
        segs = layout(lg)
        lg.close_without_flush()  # the crash: no trimmed indexes, no snapshot, no marker

        # Only bytes after the recovery point can be lost in a real crash: damage starts at its segment.
        first = max(i for i, (_, base, _) in enumerate(segs) if base <= rp) if any(base <= rp for _, base, _ in segs) else 0
        seg_i = data.draw(st.integers(first, len(segs) - 1), label="segment")
        path, base, batches = segs[seg_i]
        size = os.path.getsize(path)
        expected = len(model)  # records expected to survive
        later = sum(len(b) for _, _, b in segs[seg_i + 1 :])
        if damage == "cut":
            cut = data.draw(st.integers(0, size), label="cut")
            # A roll fsyncs the segment it closes before the next one takes a record, so a crash can tear a
            # batch in a closed segment's tail but never drop whole batches from it: a clean cut at a batch
            # boundary is only possible in the last segment (the log keeps compaction's gaps between
            # segments, so the loader must not read such a cut as damage).
            assume(seg_i == len(segs) - 1 or all(cut != b[0] + b[1] and cut != b[0] for b in batches))
            os.truncate(path, cut)
            survivors = [b for b in batches if b[0] + b[1] <= cut]
            expected = _surviving(segs, seg_i, survivors, model)
        elif damage in ("garbage", "zero_tail"):
            junk = os.urandom(data.draw(st.integers(1, 100), label="junk")) if damage == "garbage" else bytes(64)
            with open(path, "ab") as f:
                f.write(junk)
            expected = _surviving(segs, seg_i, batches, model) if later else len(model)
        elif damage == "flip":
            if not batches:
                return
            b = data.draw(st.sampled_from(batches), label="batch")
            pos = data.draw(st.integers(b[0] + 17, b[0] + b[1] - 1), label="flip")  # inside the CRC or its field
            with open(path, "r+b") as f:
                f.seek(pos)
                byte = f.read(1)[0]
                f.seek(pos)
                f.write(bytes([byte ^ (1 << data.draw(st.integers(0, 7), label="bit"))]))
            expected = _surviving(segs, seg_i, [x for x in batches if x[0] < b[0]], model)
        else:
            idx = path[: -len(".log")] + data.draw(st.sampled_from([".index", ".timeindex"]), label="which")
            if damage == "delete_index":
                if os.path.exists(idx):
                    os.unlink(idx)
            elif os.path.exists(idx):
                with open(idx, "r+b") as f:
                    n = os.path.getsize(idx)
                    f.write(os.urandom(min(n, 64)) if damage == "corrupt_index" else bytes(min(n, 64)))

        lg = open_log(d, clean=False, recovery_point=rp)
        got = read_all(lg)
        assert got == model[: len(got)], "recovered data is not a prefix of what was written"
        assert len(got) == expected, f"{damage}: expected {expected} records to survive, got {len(got)}"
        assert lg.log_end_offset == expected
        # The recovered log takes new appends and serves them.
        builder = RecordBatchBuilder()
        builder.append(T0, b"after", b"crash")
        lg.append_as_leader(bytearray(builder.build()), leader_epoch=99)
        assert read_all(lg)[-1] == (expected, b"after", b"crash")
        assert lg.leader_epoch_cache.latest_epoch == 99
        lg.close()
        # ... and a clean reopen afterwards sees the same log.
        lg = open_log(d, clean=True)
        assert lg.log_end_offset == expected + 1
        lg.close()


def _surviving(segs: list[Any], seg_i: int, survivors_in_seg: list[tuple[int, int, int, int]], model: list[Any]) -> int:
    """Records before the damaged segment plus the surviving batches of it; later segments are dropped."""
    if survivors_in_seg:
        return survivors_in_seg[-1][3] + 1
    return segs[seg_i][1] if seg_i > 0 or segs[seg_i][1] > 0 else 0


def test_truncation_is_logged_with_offset_and_byte_position(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    lg = open_log(str(tmp_path), clean=True)
    write_batches(lg, [(2, 50)] * 3)
    (path, _, batches) = layout(lg)[-1]
    lg.close_without_flush()
    os.truncate(path, batches[2][0] + 10)  # tear the third batch
    with caplog.at_level(logging.WARNING, logger="kafka_zk.log"):
        lg = open_log(str(tmp_path), clean=False, events=bus)
    (rec,) = [r for r in caplog.records if r.getMessage() == "truncating log at invalid or torn batch"]
    fields = rec.kz_fields  # type: ignore[attr-defined]
    assert fields["offset"] == 4 and fields["position"] == batches[2][0] and fields["truncated_bytes"] == 10
    assert lg.log_end_offset == 4
    (ev,) = bus.recent(kind_prefix="log.recovered")
    assert ev.fields["truncated_at_offset"] == 4 and ev.fields["log_end_offset"] == 4
    lg.close()


def test_clean_shutdown_skips_the_scan_but_still_catches_a_torn_tail(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path), clean=True)
    model = write_batches(lg, [(3, 40)] * 4)
    path = lg.active_segment.log_path
    lg.close()
    lg = open_log(str(tmp_path), clean=True)
    assert not lg.recovery.recovered and lg.log_end_offset == len(model)
    lg.close()
    with open(path, "ab") as f:
        f.write(b"\x00\x00\x00\x00\x00\x00\x00\x99\x00\x00\x01\x00junk")
    lg = open_log(str(tmp_path), clean=True)
    assert read_all(lg) == model
    lg.close()


def test_missing_and_corrupt_indexes_of_old_segments_are_rebuilt(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path), clean=True)
    model = write_batches(lg, [(2, 100)] * 20)
    first, second = lg.segments[0], lg.segments[1]
    lg.close()
    os.unlink(first.offset_index.path)
    with open(second.offset_index.path, "r+b") as f:  # swap two entries: still the right size, out of order
        entries = f.read()
        if len(entries) >= 16:
            f.seek(0)
            f.write(entries[8:16] + entries[0:8] + entries[16:])
    lg = open_log(str(tmp_path), clean=True)
    assert first.base_offset in lg.recovery.rebuilt_indexes
    assert read_all(lg) == model
    assert os.path.exists(first.offset_index.path)
    lg.close()


def test_leftover_temporary_files_are_removed(tmp_path: Path) -> None:
    lg = open_log(str(tmp_path), clean=True)
    write_batches(lg, [(1, 10)])
    lg.close()
    d = tmp_path / "t-0"
    for name in ("00000000000000000005.log.deleted", "00000000000000000007.log.cleaned", "00000000000000000003.snapshot.tmp", "00000000000000000042.index"):
        (d / name).write_bytes(b"junk")
    lg = open_log(str(tmp_path), clean=True)
    assert sorted(os.listdir(d)) == sorted(n for n in os.listdir(d) if not n.endswith((".deleted", ".cleaned", ".tmp")) and not n.startswith("00000000000000000042"))
    assert not any(n.endswith((".deleted", ".cleaned", ".tmp")) or n.startswith("00000000000000000042") for n in os.listdir(d))
    lg.close()


def test_preallocated_segments_recover_without_the_zero_tail(tmp_path: Path) -> None:
    cfg = LogConfig({**CFG, "preallocate": "true", "segment.bytes": "100000"})
    lg = Log(str(tmp_path / "t-0"), cfg, had_clean_shutdown=True)
    model = write_batches(lg, [(2, 30)] * 3)
    path = lg.active_segment.log_path
    assert os.path.getsize(path) == 100000
    lg.close_without_flush()
    lg = Log(str(tmp_path / "t-0"), cfg, had_clean_shutdown=False)
    assert read_all(lg) == model
    lg.close()
    assert os.path.getsize(path) == lg.segments[0].size  # trimmed when closed


def test_random_corruption_of_every_file_never_crashes_the_loader(tmp_path: Path) -> None:
    rnd = random.Random(7)
    for round_ in range(5):
        d = tmp_path / f"r{round_}"
        lg = open_log(str(d), clean=True)
        model = write_batches(lg, [(rnd.randint(1, 4), rnd.randint(0, 80)) for _ in range(15)])
        lg.close_without_flush()
        for name in os.listdir(d / "t-0"):
            p = d / "t-0" / name
            if rnd.random() < 0.4 and p.stat().st_size:
                data = bytearray(p.read_bytes())
                for _ in range(3):
                    data[rnd.randrange(len(data))] = rnd.randrange(256)
                p.write_bytes(bytes(data))
        lg = open_log(str(d), clean=False)
        got = read_all(lg)
        assert got == model[: len(got)]
        lg.close()
