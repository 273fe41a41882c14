"""The coordinator's port to the ``__consumer_offsets`` log, and an in-memory implementation of it.

The coordinator never touches segments or replication itself. It hands key/value records to an
:class:`OffsetsLog` and reads a partition back when it becomes that partition's leader:

* ``append(partition, records)`` appends the records to the leader's log **in call order** (the order in
  which appends are *started* is the order in the log — the coordinator relies on it to keep the newest
  commit of a partition) and completes once they are replicated as ``offsets.commit.required.acks`` (-1 =
  all in-sync replicas) demands, within ``offsets.commit.timeout.ms``. On failure it raises
  :class:`~kafka_zk.common.errors.KafkaError` with the produce error (NOT_LEADER_OR_FOLLOWER,
  NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, MESSAGE_TOO_LARGE, ...); the coordinator maps it the way Kafka's
  GroupMetadataManager does. A ``None`` value is a tombstone.
* ``read(partition)`` yields every record of the partition from the log start to the log end offset, in
  offset order (a compacted log yields fewer; the result is the same).

The broker's adapter (built on ``kafka_zk.log`` / ``kafka_zk.replication``) wraps records into batches with
CreateTime timestamps, as Kafka does for coordinator writes.

:class:`InMemoryOffsetsLog` keeps records in lists. Tests use it as the replicated log shared by several
coordinators (a "leadership move" is a second coordinator reading the same log); it can hold appends back
or fail them to exercise error paths, and compact like the log cleaner.
"""

from __future__ import annotations

import asyncio
from typing import Iterable, Protocol

from kafka_zk.common.errors import ErrorCode, KafkaError

Record = tuple[bytes, bytes | None]


class OffsetsLog(Protocol):
    async def append(self, partition: int, records: list[Record]) -> None:
        """Append and wait for replication; raises KafkaError with the produce error on failure."""

    def read(self, partition: int) -> Iterable[Record]:
        """Every record of ``partition`` in offset order."""


class InMemoryOffsetsLog:
    """An ``OffsetsLog`` in memory: append order preserved, optional failure injection and gating."""

    def __init__(self) -> None:
        self.partitions: dict[int, list[Record]] = {}
        self.fail_with: ErrorCode | None = None  # next appends raise KafkaError(fail_with) (nothing written)
        self.gate: asyncio.Event | None = None  # when set to an unset Event, appends wait for it after writing
        self.appends = 0

    async def append(self, partition: int, records: list[Record]) -> None:
        if self.fail_with is not None:
            raise KafkaError(self.fail_with, "injected append failure")
        self.partitions.setdefault(partition, []).extend(records)
        self.appends += 1
        if self.gate is not None:
            await self.gate.wait()

    def read(self, partition: int) -> list[Record]:
        return list(self.partitions.get(partition, []))

    def compact(self, partition: int) -> None:
        """What the log cleaner converges to: the last record of each key, tombstones dropped."""
        latest: dict[bytes, bytes | None] = {}
        for key, value in self.partitions.get(partition, []):
            latest.pop(key, None)
            latest[key] = value
        self.partitions[partition] = [(k, v) for k, v in latest.items() if v is not None]
