"""Kafka's text checkpoint files, written atomically.

Format (``kafka.server.checkpoints.CheckpointFile``)::

    0                  <- version
    2                  <- number of entries
    orders 0 1234      <- one entry per line, fields separated by single spaces
    orders 1 987

Per log directory: ``recovery-point-offset-checkpoint``, ``replication-offset-checkpoint`` (high
watermarks), ``log-start-offset-checkpoint`` and ``cleaner-offset-checkpoint`` hold ``topic partition
offset`` entries. Per partition directory: ``leader-epoch-checkpoint`` holds ``epoch start_offset`` entries.

A write goes to ``<name>.tmp``, is fsynced, then renamed over the old file (and the directory fsynced),
so a crash leaves either the old or the new file, never a torn one. A malformed file raises
:class:`CheckpointError` naming the file and line; callers decide whether to fall back (Kafka resets a
bad recovery-point file to "recover everything").
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping

from kafka_zk.common.tp import TopicPartition

CHECKPOINT_VERSION = 0
RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint"
HIGH_WATERMARK_CHECKPOINT = "replication-offset-checkpoint"
LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint"
CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint"
LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be parsed."""


def fsync_dir(path: str) -> None:
    """fsync a directory so a rename inside it is durable (best effort on platforms that refuse)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: str, data: bytes, sync: bool = True) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        if sync:
            os.fsync(f.fileno())
    os.replace(tmp, path)
    if sync:
        fsync_dir(os.path.dirname(path) or ".")


def _write_lines(path: str, lines: list[str], sync: bool) -> None:
    text = f"{CHECKPOINT_VERSION}\n{len(lines)}\n" + "".join(line + "\n" for line in lines)
    write_atomically(path, text.encode("utf-8"), sync)


def _read_lines(path: str, fields: int) -> list[list[str]]:
    """Entries of a checkpoint file, each split into ``fields`` parts; [] when the file is missing."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: not UTF-8 text") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 2:
        raise CheckpointError(f"{path}: expected a version line and a count line")
    if lines[0].strip() != str(CHECKPOINT_VERSION):
        raise CheckpointError(f"{path}: unrecognised checkpoint version {lines[0].strip()!r} (expected {CHECKPOINT_VERSION})")
    try:
        count = int(lines[1].strip())
    except ValueError:
        raise CheckpointError(f"{path}: malformed entry count {lines[1]!r}") from None
    entries = lines[2:]
    if len(entries) != count:
        raise CheckpointError(f"{path}: header says {count} entries but {len(entries)} follow")
    out: list[list[str]] = []
    for i, line in enumerate(entries, start=3):
        parts = line.split(" ")
        if len(parts) != fields:
            raise CheckpointError(f"{path}: malformed line {i}: {line!r}")
        out.append(parts)
    return out


class OffsetCheckpointFile:
    """``topic partition offset`` entries (one file per log directory)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def write(self, offsets: Mapping[TopicPartition, int], sync: bool = True) -> None:
        lines = [f"{tp.topic} {tp.partition} {off}" for tp, off in sorted(offsets.items())]
        _write_lines(self.path, lines, sync)

    def read(self) -> dict[TopicPartition, int]:
        out: dict[TopicPartition, int] = {}
        for topic, part, off in _read_lines(self.path, 3):
            try:
                out[TopicPartition(topic, int(part))] = int(off)
            except ValueError:
                raise CheckpointError(f"{self.path}: malformed entry {topic} {part} {off}") from None
        return out


class LeaderEpochCheckpointFile:
    """``epoch start_offset`` entries (one file per partition directory)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def write(self, entries: Iterable[tuple[int, int]], sync: bool = True) -> None:
        _write_lines(self.path, [f"{e} {o}" for e, o in entries], sync)

    def read(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for e, o in _read_lines(self.path, 2):
            try:
                out.append((int(e), int(o)))
            except ValueError:
                raise CheckpointError(f"{self.path}: malformed entry {e} {o}") from None
        return out
