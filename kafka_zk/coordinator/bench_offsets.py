"""Benchmark: offset commits per second, ``__consumer_offsets`` store vs the classic ZooKeeper store.

    python -m kafka_zk.coordinator.bench_offsets --zk 127.0.0.1:2181 [--commits 2000] [--zk-commits 300]

(start a ZooKeeper first, e.g. ``kafka-zk zookeeper start``; run it with ``forceSync=yes`` — the server
default, and what production runs — for numbers that mean anything.)

What each line measures (all on this machine, one process, one event loop):

* ``memory``   — baseline: the coordinator's OffsetCommit path (validation, records encoded in Kafka's
  format, cache update) over an in-memory log. The other rows are ratios to it.
* ``file``     — the same, appending each commit as one v2 record batch to a file (page cache, no fsync
  per append: Kafka's flush policy). This is the leader's share of a Kafka commit; replication to the
  followers (acks=all) adds one fetch round trip, not measured here.
* ``zookeeper`` — OffsetCommit v0 semantics: one znode ``setData``/``create`` per partition through the
  asyncio bridge; each is a ZooKeeper transaction (on an ensemble, a quorum round trip) logged with fsync
  when the server runs with forceSync=yes.

Each store runs ``--partitions`` 1 and 10 offsets per commit, sequentially (one consumer) and from
``--concurrency`` committers at once (a consumer fleet).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from typing import Awaitable, Callable

from kafka_zk.common.clock import SYSTEM_CLOCK
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator.config import GroupCoordinatorConfig
from kafka_zk.coordinator.coordinator import GroupCoordinator
from kafka_zk.coordinator.log_adapter import encode_batch
from kafka_zk.coordinator.log_port import InMemoryOffsetsLog, Record
from kafka_zk.coordinator.zk_offsets import ZkOffsetStore

Commit = Callable[[str, dict[TopicPartition, tuple[int, str | None]]], Awaitable[dict[TopicPartition, ErrorCode]]]


class FileOffsetsLog:
    """Appends each call as one record batch to ``<dir>/<partition>.log`` (no fsync, like Kafka's default)."""

    def __init__(self, directory: str) -> None:
        self._dir = directory
        self._fds: dict[int, int] = {}

    async def append(self, partition: int, records: list[Record]) -> None:
        fd = self._fds.get(partition)
        if fd is None:
            fd = self._fds[partition] = os.open(os.path.join(self._dir, f"{partition}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, encode_batch(records, SYSTEM_CLOCK.time_ms()))

    def read(self, partition: int) -> list[Record]:
        return []

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)


async def _run(commit: Commit, commits: int, partitions: int, concurrency: int) -> float:
    """Commits per second: ``commits`` commits of ``partitions`` offsets, spread over ``concurrency`` groups."""
    per_worker = max(commits // concurrency, 1)

    async def worker(w: int) -> None:
        group = f"bench-{w}"
        for i in range(per_worker):
            offsets: dict[TopicPartition, tuple[int, str | None]] = {TopicPartition("bench", p): (i, None) for p in range(partitions)}
            result = await commit(group, offsets)
            if any(code is not ErrorCode.NONE for code in result.values()):
                raise RuntimeError(f"commit failed: {result}")

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return per_worker * concurrency / (time.perf_counter() - start)


def _coordinator_commit(log: InMemoryOffsetsLog | FileOffsetsLog) -> Commit:
    config = GroupCoordinatorConfig(offsets_topic_num_partitions=1)
    coordinator = GroupCoordinator(log, config)
    coordinator.startup(enable_metadata_expiration=False)
    coordinator.manager.finish_loading(0, owned=True)

    async def commit(group: str, offsets: dict[TopicPartition, tuple[int, str | None]]) -> dict[TopicPartition, ErrorCode]:
        return await coordinator.commit_offsets(group, -1, "", offsets)

    return commit


async def main_async(args: argparse.Namespace) -> int:
    from zk_layout import KafkaZkClient

    from kafka_zk.zk.bridge import AsyncZk

    zk = KafkaZkClient(args.zk, session_timeout_ms=18000)
    zk.start()
    az = AsyncZk(zk)
    store = ZkOffsetStore(az)
    tmp = tempfile.mkdtemp(prefix="bench-offsets-")
    file_log = FileOffsetsLog(tmp)
    print(f"{'store':<10} {'offsets/commit':>14} {'committers':>10} {'commits/s':>12} {'offsets/s':>12} {'vs memory':>10}")
    try:
        for partitions in (1, 10):
            for concurrency in (1, args.concurrency):
                baseline = await _run(_coordinator_commit(InMemoryOffsetsLog()), args.commits, partitions, concurrency)
                rows = [
                    ("memory", baseline),
                    ("file", await _run(_coordinator_commit(file_log), args.commits, partitions, concurrency)),
                    ("zookeeper", await _run(store.commit_offsets, args.zk_commits, partitions, concurrency)),
                ]
                for name, rate in rows:
                    print(f"{name:<10} {partitions:>14} {concurrency:>10} {rate:>12.0f} {rate * partitions:>12.0f} {rate / baseline:>10.3f}")
                file_rate, zk_rate = rows[1][1], rows[2][1]
                print(f"{'':<10} file / zookeeper = {file_rate / zk_rate:.1f}x")
    finally:
        file_log.close()
        await az.aclose()
        zk.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kafka_zk.coordinator.bench_offsets", description=__doc__.splitlines()[0])
    parser.add_argument("--zk", required=True, help="ZooKeeper connect string (host:port[/chroot])")
    parser.add_argument("--commits", type=int, default=2000, help="commits per coordinator run (default 2000)")
    parser.add_argument("--zk-commits", type=int, default=300, help="commits per ZooKeeper run (default 300)")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel committers in the concurrent runs (default 8)")
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
