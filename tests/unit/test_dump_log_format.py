"""``kafka-zk dump-log`` on segments written by our own log: Kafka's DumpLogSegments lines, index checks."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

from kafka_zk.common.clock import ManualClock
from kafka_zk.log import Log, LogConfig
from kafka_zk.record import RecordBatchBuilder

T0 = 1_600_000_000_000
SEGMENT = "00000000000000000000"


def write_log(tmp: Path, batches: int = 4, per_batch: int = 3, **props: str) -> Path:
    """A closed log of ``batches`` batches (every batch indexed); returns its directory."""
    clock = ManualClock(T0)
    cfg = {"index.interval.bytes": "0", **props}
    log = Log(str(tmp / "orders-0"), LogConfig(cfg), clock=clock, had_clean_shutdown=True)
    for b in range(batches):
        builder = RecordBatchBuilder(0, producer_id=7, producer_epoch=0, base_sequence=b * per_batch)
        for i in range(per_batch):
            n = b * per_batch + i
            builder.append(T0 + n, f"k{n}".encode(), f"value {n}".encode(), [("h", b"x")] if i == 0 else [])
        log.append_as_leader(builder.build(), leader_epoch=3)
    log.close()
    return tmp / "orders-0"


def dump(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kafka_zk", "dump-log", *argv], capture_output=True,
                          text=True,
                          timeout=60)


def test_log_batches_and_records_in_kafkas_format(tmp_path: Path) -> None:
    d = write_log(tmp_path)
    p = dump("--files", str(d / f"{SEGMENT}.log"), "--print-data-log")
    assert p.returncode == 0 and p.stderr == ""
    lines = p.stdout.splitlines()
    assert lines[0] == f"Dumping {d / SEGMENT}.log" and lines[1] == "Starting offset: 0"
    batch_lines = [ln for ln in lines if ln.startswith("baseOffset:")]
    assert len(batch_lines) == 4
    first = batch_lines[0]
    assert first.startswith("baseOffset: 0 lastOffset: 2 count: 3 baseSequence: 0 lastSequence: 2 "
                            "producerId: 7 "
                            "producerEpoch: 0 partitionLeaderEpoch: 3 isTransactional: false "
                            "isControl: false "
                            f"position: 0 CreateTime: {T0 + 2} size: ")
    assert re.search(r" magic: 2 compresscodec: NONE crc: \d+ isvalid: true$", first)
    size = int(re.search(r" size: (\d+)", first).group(1))  # type: ignore[union-attr]
    assert f" position: {size} " in batch_lines[1]  # positions accumulate batch sizes
    records = [ln for ln in lines if ln.startswith("| ")]
    assert len(records) == 12
    assert records[0].startswith(f"| offset: 0 isValid: true crc: null keySize: 2 valueSize: 7 CreateTime: "
                                 f"{T0} "
                                 "baseOffset: 0 lastOffset: 2 baseSequence: 0 lastSequence: 2 "
                                 "producerEpoch: 0 "
                                 "partitionLeaderEpoch: 3 batchSize: ")
    assert records[0].endswith("sequence: 0 headerKeys: [h] key: k0 payload: value 0")
    assert records[4].endswith("sequence: 4 headerKeys: [] key: k4 payload: value 4")


def test_shallow_by_default_and_deep_without_data(tmp_path: Path) -> None:
    d = write_log(tmp_path, batches=2)
    shallow = dump("--files", str(d / f"{SEGMENT}.log")).stdout
    assert "| offset" not in shallow and shallow.count("baseOffset:") == 2
    deep = dump("--files", str(d / f"{SEGMENT}.log"), "--deep-iteration").stdout
    assert deep.count("| offset:") == 6 and "payload:" not in deep


def test_trailing_garbage_is_reported(tmp_path: Path) -> None:
    d = write_log(tmp_path, batches=2)
    with open(d / f"{SEGMENT}.log", "ab") as f:
        f.write(b"\x00" * 7)
    out = dump("--files", str(d / f"{SEGMENT}.log")).stdout
    assert out.splitlines()[-1] == f"Found 7 invalid bytes at the end of {SEGMENT}.log"


def test_index_and_timeindex_dump_and_verify(tmp_path: Path) -> None:
    d = write_log(tmp_path)
    idx, tidx = d / f"{SEGMENT}.index", d / f"{SEGMENT}.timeindex"
    p = dump("--files", f"{idx},{tidx}")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    lines = p.stdout.splitlines()
    offsets = [ln for ln in lines if ln.startswith("offset: ")]
    assert [ln.split(" position:")[0] for ln in offsets] == ["offset: 5", "offset: 8", "offset: 11"]
    batch_positions = [ln.split(" position: ")[1].split()[0] for ln in dump("--files",
                                                                            str(d / f"{SEGMENT}.log"))
                       .stdout.splitlines() if ln.startswith("baseOffset:")]
    assert [ln.split("position: ")[1] for ln in offsets] == batch_positions[1:]
    assert [ln for ln in lines if ln.startswith("timestamp: ")][-1] == f"timestamp: {T0 + 11} offset: 11"
    quiet = dump("--files", f"{idx},{tidx}", "--verify-index-only")
    assert quiet.stdout.splitlines() == [f"Dumping {idx}", f"Dumping {tidx}"] and quiet.stderr == ""


def test_verify_reports_a_corrupted_index_entry(tmp_path: Path) -> None:
    d = write_log(tmp_path)
    idx = d / f"{SEGMENT}.index"
    raw = bytearray(idx.read_bytes())
    struct.pack_into(">i", raw, 8, 7)  # second entry now claims offset 7 (the batch there ends at 8)
    idx.write_bytes(bytes(raw))
    p = dump("--files", str(idx), "--verify-index-only")
    assert p.returncode == 0
    assert p.stderr.splitlines() == [f"Mismatches in :{idx}", "  Index offset: 7, log offset: 8"]


def test_sanity_check_and_bad_arguments(tmp_path: Path) -> None:
    d = write_log(tmp_path)
    idx = d / f"{SEGMENT}.index"
    assert dump("--files", str(idx),
                "--index-sanity-check").stdout.splitlines()[-1] == f"{idx} passed sanity check."
    with open(idx, "ab") as f:
        f.write(b"\x01\x02\x03")
    assert "is corrupt" in dump("--files", str(idx), "--index-sanity-check").stdout
    missing = dump("--files", str(tmp_path / f"{SEGMENT}.log"))
    assert missing.returncode == 1 and missing.stderr.startswith("kafka-zk dump-log: error: cannot read ")
    assert len(missing.stderr.splitlines()) == 1
    other = dump("--files", str(tmp_path / "notes.txt"))
    assert other.returncode == 0 and other.stderr.strip() == f"Ignoring unknown file {tmp_path / 'notes.txt'}"


def test_an_all_padding_index_is_empty_not_a_mismatch(tmp_path: Path) -> None:
    """An active segment's preallocated index before its first entry: zeros, which Kafka reports as a
    mismatch of offset 0; we say the index is empty."""
    d = write_log(tmp_path, batches=1)
    idx, tidx = d / f"{SEGMENT}.index", d / f"{SEGMENT}.timeindex"
    idx.write_bytes(b"\x00" * 800)
    tidx.write_bytes(b"\x00" * 1200)
    p = dump("--files", f"{idx},{tidx}", "--verify-index-only")
    assert p.stdout.splitlines() == [f"Dumping {idx}", f"{idx} is empty.",
                                     f"Dumping {tidx}"] and p.stderr == ""


def test_piping_into_head_is_not_an_error(tmp_path: Path) -> None:
    d = write_log(tmp_path, batches=50)
    p = subprocess.run(f"{sys.executable} -m kafka_zk dump-log --print-data-log --files {d / SEGMENT}.log | "
                       f"head -2",
                       shell=True, capture_output=True, text=True, timeout=60)
    assert p.stdout.splitlines()[1] == "Starting offset: 0" and p.stderr == ""


def test_producer_snapshot_in_kafkas_words(tmp_path: Path) -> None:
    d = write_log(tmp_path)  # producer 7, four batches of 3; the clean close writes a snapshot at offset 12
    snap = d / "00000000000000000012.snapshot"
    p = dump("--files", str(snap))
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout.splitlines()[1] == ("producerId: 7 producerEpoch: 0 coordinatorEpoch: -1 currentTxnFirstOffset: "
                                        f"None firstSequence: 0 lastSequence: 2 lastOffset: 2 offsetDelta: 2 "
                                        f"timestamp: {T0 + 2}")
    raw = bytearray(snap.read_bytes())
    raw[-1] ^= 0xFF
    snap.write_bytes(bytes(raw))
    bad = dump("--files", str(snap))
    assert bad.returncode == 0 and bad.stderr.startswith(f"{snap}: snapshot CRC mismatch")
