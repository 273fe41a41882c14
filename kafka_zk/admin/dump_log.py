"""``kafka-zk dump-log --files F[,F...]``: Kafka's ``kafka-dump-log.sh`` (DumpLogSegments) for our segments.

Our segment files are Kafka's byte for byte (``docs/storage.md``), so the tool reads them the way Kafka's
does and prints the same lines, letting a reader hold our output next to Kafka's:

* ``.log``: ``Starting offset: B`` then one line per batch (``baseOffset: .. lastOffset: .. count: ..
  ... position: P CreateTime: T size: S magic: 2 compresscodec: NONE crc: C isvalid: true``); with
  ``--deep-iteration`` (implied by ``--print-data-log``) one ``| offset: ...`` line per record, with
  ``key: ... payload: ...`` under ``--print-data-log``. Bytes after the last whole batch are reported as
  ``Found N invalid bytes at the end of F``; non-consecutive record offsets go to stderr, as Kafka does.
* ``.index``: ``offset: O position: P`` per entry; every entry is checked against the batch found at its
  position in the matching ``.log`` (the entry must name that batch's last offset). Mismatches are printed
  on stderr as ``Mismatches in :F`` / ``  Index offset: O, log offset: L``. ``--verify-index-only``
  checks without printing the entries; ``--index-sanity-check`` runs only the size/order check a broker
  runs at startup.
* ``.timeindex``: ``timestamp: T offset: O`` per entry, checked against the max timestamp of the batch
  ending at O and for increasing timestamps; problems go to stderr in Kafka's words.

* ``.snapshot`` (producer state, our own format, ``docs/storage.md``): one line per producer in Kafka's
  words (``producerId: .. producerEpoch: .. coordinatorEpoch: .. currentTxnFirstOffset: None firstSequence:
  .. lastSequence: .. lastOffset: .. offsetDelta: .. timestamp: ..``, the oldest retained batch as Kafka
  prints); an unreadable snapshot is one line on stderr.

An active segment's index files are preallocated and end in zero entries; like Kafka the dump stops at the
first entry (after the first) whose offset is the segment's base offset. Unlike Kafka it also recognises an
index that is *all* padding (a first entry ``(base, 0)`` that the log contradicts, or a time entry ``(0,
base)``) and says the file is empty, instead of reporting the padding as a mismatch.

Everything here is pure except :func:`run` (file reading and printing), so the formatting is unit-tested on
segments written by :mod:`kafka_zk.log`. Exit codes: 0 done (even with mismatches, as Kafka), 2 bad
arguments, 1 a file that cannot be read.
"""

from __future__ import annotations

import argparse
import functools
import mmap
import os
import struct
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterator

from kafka_zk.common.errors import CorruptRecordError
from kafka_zk.record.batch import LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, RecordBatchView, iter_batches
from kafka_zk.record.compression import CompressionType

PROG = "kafka-zk dump-log"
RECORD_INDENT = "|"
NO_TIMESTAMP = -1
_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")
_SIZE = struct.Struct(">i")

Out = Callable[[str], None]


@dataclass
class Problems:
    """What the dump found wrong, printed on stderr after every file (Kafka's order and wording)."""

    index_mismatches: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    time_mismatches: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    time_out_of_order: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    time_offset_not_found: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    non_consecutive: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out: list[str] = []
        for name, pairs in self.index_mismatches.items():
            out.append(f"Mismatches in :{name}")
            out.extend(f"  Index offset: {i}, log offset: {lo}" for i, lo in pairs)
        for name, pairs in self.time_mismatches.items():
            out.append(f"Found timestamp mismatch in :{name}")
            out.extend(f"  Index timestamp: {i}, log timestamp: {lt}" for i, lt in pairs)
        for name, pairs in self.time_out_of_order.items():
            out.append(f"Found out of order timestamp in :{name}")
            out.extend(f"  Index timestamp: {i}, Previously indexed timestamp: {p}" for i, p in pairs)
        for pairs in self.time_offset_not_found.values():
            out.append("The following indexed offsets are not found in the log.")
            out.extend(f"Indexed offset: {i}, found log offset: {lo}" for i, lo in pairs)
        for name, pairs in self.non_consecutive.items():
            out.append(f"Non-consecutive offsets in {name}")
            out.extend(f"  {a} is followed by {b}" for a, b in pairs)
        return out

    @property
    def any(self) -> bool:
        return any((self.index_mismatches, self.time_mismatches, self.time_out_of_order,
                    self.time_offset_not_found, self.non_consecutive))


# ============================================================================================ formatting


def _text(data: bytes) -> str:
    """Kafka's StringDecoder: the bytes as UTF-8 (undecodable bytes replaced)."""
    return data.decode("utf-8", "replace")


def timestamp_type_name(batch: RecordBatchView) -> str:
    return "LogAppendTime" if batch.timestamp_type else "CreateTime"


def batch_line(batch: RecordBatchView, position: int) -> str:
    """One batch, as ``DumpLogSegments.printBatchLevel`` prints a magic-2 batch."""
    h = batch.header()
    last_offset = h.base_offset + h.last_offset_delta
    last_seq = batch.last_sequence
    return (f"baseOffset: {h.base_offset} lastOffset: {last_offset} count: {h.records_count} "
            f"baseSequence: {h.base_sequence} lastSequence: {last_seq} producerId: {h.producer_id} "
            f"producerEpoch: {h.producer_epoch} partitionLeaderEpoch: {h.partition_leader_epoch} "
            f"isTransactional: {str(batch.is_transactional).lower()} "
            f"isControl: {str(batch.is_control_batch).lower()} position: {position} "
            f"{timestamp_type_name(batch)}: {h.max_timestamp} size: {batch.size_in_bytes} magic: {h.magic} "
            f"compresscodec: {CompressionType(batch.compression_type).name} crc: {h.crc} "
            f"isvalid: {str(batch.is_valid()).lower()}")


def record_lines(batch: RecordBatchView, position: int, print_data: bool) -> Iterator[tuple[int, str]]:
    """``(offset, line)`` per record of ``batch``, as DumpLogSegments' deep iteration prints them."""
    h = batch.header()
    last_offset = h.base_offset + h.last_offset_delta
    ts_name = timestamp_type_name(batch)
    for r in batch.records():
        key_size = -1 if r.key is None else len(r.key)
        value_size = -1 if r.value is None else len(r.value)
        sequence = -1 if h.base_sequence < 0 else h.base_sequence + (r.offset - h.base_offset)
        line = (f"{RECORD_INDENT} offset: {r.offset} isValid: true crc: null keySize: {key_size} "
                f"valueSize: {value_size} {ts_name}: {r.timestamp} baseOffset: {h.base_offset} "
                f"lastOffset: {last_offset} baseSequence: {h.base_sequence} "
                f"lastSequence: {batch.last_sequence} "
                f"producerEpoch: {h.producer_epoch} partitionLeaderEpoch: {h.partition_leader_epoch} "
                f"batchSize: {batch.size_in_bytes} magic: {h.magic} "
                f"compressType: {CompressionType(batch.compression_type).name} position: {position} "
                f"sequence: {sequence} headerKeys: [{','.join(k for k, _ in r.headers)}]")
        if batch.is_control_batch and r.key is not None and len(r.key) >= 4:
            _version, type_id = struct.unpack_from(">hh", r.key, 0)
            if type_id in (0, 1) and r.value is not None and len(r.value) >= 6:
                coordinator_epoch = struct.unpack_from(">i", r.value, 2)[0]
                marker = "ABORT" if type_id == 0 else "COMMIT"
                line += f" endTxnMarker: {marker} coordinatorEpoch: {coordinator_epoch}"
            else:
                line += f" controlType: UNKNOWN({type_id})"
        if print_data and not batch.is_control_batch:
            if r.key is not None:
                line += f" key: {_text(r.key)}"
            if r.value is not None:
                line += f" payload: {_text(r.value)}"
        yield r.offset, line


def _batches_with_positions(data: memoryview | bytes) -> Iterator[tuple[int, RecordBatchView]]:
    position = 0
    for batch in iter_batches(data):
        yield position, batch
        position += batch.size_in_bytes


def dump_log(name: str, base_offset: int, data: memoryview | bytes, print_data: bool, deep: bool,
             out: Out, problems: Problems) -> None:
    """Print a ``.log`` file's batches (and records when ``deep``)."""
    out(f"Starting offset: {base_offset}")
    valid_bytes = 0
    last_offset = -1
    try:
        for position, batch in _batches_with_positions(data):
            if batch.magic != 2:
                out(f"offset: {batch.base_offset} position: {position} magic: {batch.magic} "
                    f"(only magic 2 batches are decoded)")
                valid_bytes = position + batch.size_in_bytes
                continue
            out(batch_line(batch, position))
            if deep:
                for offset, line in record_lines(batch, position, print_data):
                    if last_offset != -1 and offset != last_offset + 1:
                        problems.non_consecutive.setdefault(name, []).append((last_offset, offset))
                    last_offset = offset
                    out(line)
            valid_bytes = position + batch.size_in_bytes
    except CorruptRecordError as e:
        out(f"Corrupt batch at position {valid_bytes}: {e}")
    trailing = len(data) - valid_bytes
    if trailing > 0:
        out(f"Found {trailing} invalid bytes at the end of {os.path.basename(name)}")


def _batch_at(log: memoryview | bytes, position: int) -> RecordBatchView | None:
    """The batch starting at byte ``position`` of a log, or None if there is no whole batch there."""
    if position < 0 or position + LOG_OVERHEAD > len(log):
        return None
    size = _SIZE.unpack_from(log, position + 8)[0] + LOG_OVERHEAD
    if size < RECORD_BATCH_OVERHEAD or position + size > len(log):
        return None
    return RecordBatchView(memoryview(log)[position: position + size])


def offset_index_entries(data: bytes | memoryview, base_offset: int) -> Iterator[tuple[int, int]]:
    """``(absolute offset, position)`` per entry, stopping at the zero padding of a preallocated index."""
    for n in range(len(data) // _OFFSET_ENTRY.size):
        rel, position = _OFFSET_ENTRY.unpack_from(data, n * _OFFSET_ENTRY.size)
        if n > 0 and rel == 0:
            return
        yield base_offset + rel, position


def time_index_entries(data: bytes | memoryview, base_offset: int) -> Iterator[tuple[int, int]]:
    """``(timestamp, absolute offset)`` per entry, stopping at the zero padding."""
    for n in range(len(data) // _TIME_ENTRY.size):
        ts, rel = _TIME_ENTRY.unpack_from(data, n * _TIME_ENTRY.size)
        if rel == 0 and (n > 0 or ts == 0):  # zero padding (a real first entry has a timestamp)
            return
        yield ts, base_offset + rel


def dump_index(name: str, base_offset: int, index: bytes | memoryview, log: bytes | memoryview,
               verify_only: bool, out: Out, problems: Problems) -> None:
    """Print (unless ``verify_only``) and verify an offset index against its log."""
    entries = list(offset_index_entries(index, base_offset))
    if entries and entries[0] == (base_offset, 0):
        first = _batch_at(log, 0)
        if first is None or first.last_offset != base_offset:
            entries = []  # zero padding of an active segment's preallocated index, not an entry
    if not entries:
        out(f"{name} is empty.")
        return
    for offset, position in entries:
        batch = _batch_at(log, position)
        found = -1 if batch is None else batch.last_offset
        if found != offset:
            problems.index_mismatches.setdefault(name, []).append((offset, found))
        if not verify_only:
            out(f"offset: {offset} position: {position}")


def _position_for(index: bytes | memoryview, base_offset: int, target: int) -> int:
    """Kafka's ``OffsetIndex.lookup``: the position of the largest entry with offset <= target (0 if none)."""
    best = 0
    for offset, position in offset_index_entries(index, base_offset):
        if offset > target:
            break
        best = position
    return best


def dump_time_index(name: str, base_offset: int, time_index: bytes | memoryview, index: bytes | memoryview,
                    log: bytes | memoryview, verify_only: bool, out: Out, problems: Problems) -> None:
    """Print (unless ``verify_only``) and verify a time index against its log."""
    prev = NO_TIMESTAMP
    for timestamp, offset in time_index_entries(time_index, base_offset):
        start = _position_for(index, base_offset, offset)
        found: RecordBatchView | None = None
        try:
            for _pos, batch in _batches_with_positions(memoryview(log)[start:]):
                if batch.last_offset >= offset:
                    found = batch
                    break
        except CorruptRecordError:
            found = None
        if found is None:
            problems.time_offset_not_found.setdefault(name, []).append((offset, -1))
        elif found.last_offset != offset:
            problems.time_offset_not_found.setdefault(name, []).append((offset, found.last_offset))
        else:
            max_ts = max((r.timestamp for r in found.records()), default=NO_TIMESTAMP)
            if max_ts != timestamp:
                problems.time_mismatches.setdefault(name, []).append((timestamp, max_ts))
            if prev >= timestamp:
                problems.time_out_of_order.setdefault(name, []).append((timestamp, prev))
        if not verify_only:
            out(f"timestamp: {timestamp} offset: {offset}")
        prev = timestamp


def snapshot_lines(data: bytes) -> list[str]:
    """A producer-state snapshot, as DumpLogSegments prints Kafka's (raises CorruptSnapshotError)."""
    from kafka_zk.log.producer_state import decode_snapshot

    out = []
    for e in decode_snapshot(data):
        txn = "None" if e.current_txn_first_offset is None else f"Some({e.current_txn_first_offset})"
        line = (f"producerId: {e.producer_id} producerEpoch: {e.producer_epoch} "
                f"coordinatorEpoch: {e.coordinator_epoch} currentTxnFirstOffset: {txn} ")
        if e.batch_metadata:
            b = e.batch_metadata[0]
            line += (f"firstSequence: {b.first_seq} lastSequence: {b.last_seq} lastOffset: {b.last_offset} "
                     f"offsetDelta: {b.offset_delta} timestamp: {b.timestamp}")
        out.append(line)
    return out


def sanity_check_index(name: str, base_offset: int, index: bytes | memoryview, log_size: int,
                       entry_size: int) -> str | None:
    """The check a broker runs at startup (what makes it rebuild an index); the problem, or None."""
    if len(index) % entry_size:
        return (f"Index file {name} is corrupt, found {len(index)} bytes which is neither positive nor a "
                f"multiple of {entry_size}.")
    if entry_size == _OFFSET_ENTRY.size:
        entries = list(offset_index_entries(index, base_offset))
        if entries and entries[-1][0] < base_offset:
            return f"Corrupt index found, index file ({name}) has non-zero size but the last offset is " \
                   f"{entries[-1][0]} which is less than the base offset {base_offset}."
        if any(pos > log_size for _o, pos in entries):
            return (f"Corrupt index found, index file ({name}) points past the end of its log "
                    f"({log_size} bytes).")
    return None


# ============================================================================================ the command


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("dump-log", help="print log segments and indexes (kafka-dump-log)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", required=True, metavar="FILE[,FILE...]",
                   help="comma-separated .log, .index, .timeindex and .snapshot files")
    p.add_argument("--print-data-log", action="store_true", help="print each record's key and payload")
    p.add_argument("--deep-iteration", action="store_true",
                   help="print every record (implied by --print-data-log)")
    p.add_argument("--verify-index-only", action="store_true",
                   help="verify index files without printing entries")
    p.add_argument("--index-sanity-check", action="store_true",
                   help="only run the index check a broker runs at startup")
    p.set_defaults(func=run)


class _Mapped:
    """A file's bytes, memory-mapped when non-empty (segments can be a gigabyte)."""

    def __init__(self, path: str) -> None:
        self._f = open(path, "rb")
        size = os.fstat(self._f.fileno()).st_size
        self._mm = mmap.mmap(self._f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        self.data: memoryview | bytes = memoryview(self._mm) if self._mm is not None else b""

    def close(self) -> None:
        try:
            if isinstance(self.data, memoryview):
                self.data.release()
            if self._mm is not None:
                self._mm.close()
        except BufferError:  # a batch view still points into the map; the process exits soon anyway
            pass
        self._f.close()


def _open_into(opened: list[_Mapped], path: str) -> memoryview | bytes:
    m = _Mapped(path)
    opened.append(m)
    return m.data


def _sibling(path: str, suffix: str) -> str:
    return os.path.join(os.path.dirname(path), os.path.basename(path).split(".")[0] + suffix)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except BrokenPipeError:  # `| head`: the reader is gone, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace) -> int:
    files = [f for f in args.files.split(",") if f]
    if not files:
        print(f"{PROG}: error: --files is empty (expected FILE[,FILE...])", file=sys.stderr)
        return 2
    out: Out = print
    problems = Problems()
    code = 0
    for path in files:
        name = os.path.basename(path)
        suffix = name[name.rfind("."):] if "." in name else ""
        try:
            base_offset = int(name.split(".")[0])
        except ValueError:
            base_offset = -1
        if suffix not in (".log", ".index", ".timeindex", ".snapshot"):
            print(f"Ignoring unknown file {path}", file=sys.stderr)
            continue
        if base_offset < 0:
            print(f"{PROG}: error: {path}: a segment file is named <20-digit base offset>{suffix}",
                  file=sys.stderr)
            code = 2
            continue
        print(f"Dumping {path}")
        opened: list[_Mapped] = []
        open_ = functools.partial(_open_into, opened)
        try:
            if suffix == ".snapshot":
                from kafka_zk.log.producer_state import CorruptSnapshotError

                try:
                    for line in snapshot_lines(bytes(open_(path))):
                        out(line)
                except CorruptSnapshotError as e:
                    print(f"{path}: {e}", file=sys.stderr)
                continue
            if suffix == ".log":
                dump_log(os.path.abspath(path), base_offset, open_(path), args.print_data_log,
                         args.deep_iteration or args.print_data_log, out, problems)
                continue
            data = open_(path)
            log_path = _sibling(path, ".log")
            if args.index_sanity_check:
                size = os.path.getsize(log_path) if os.path.exists(log_path) else 0
                problem = sanity_check_index(path, base_offset, data, size, 8 if suffix == ".index" else 12)
                print(problem or f"{path} passed sanity check.")
                continue
            log = open_(log_path)
            if suffix == ".index":
                dump_index(os.path.abspath(path), base_offset, data, log, args.verify_index_only, out,
                           problems)
            else:
                index = open_(_sibling(path, ".index"))
                dump_time_index(os.path.abspath(path), base_offset, data, index, log, args.verify_index_only,
                                out, problems)
        except BrokenPipeError:
            raise
        except OSError as e:
            print(f"{PROG}: error: cannot read {e.filename or path}: {e.strerror}", file=sys.stderr)
            code = 1
        finally:
            for m in opened:
                m.close()
    for line in problems.lines():
        print(line, file=sys.stderr)
    return code
