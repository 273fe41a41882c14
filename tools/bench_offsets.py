#!/usr/bin/env python3
"""Benchmark: offset commits per second, ``__consumer_offsets`` store vs the classic ZooKeeper store.

Two modes; both print commits/s and ratios to a baseline measured in the same run.

``python tools/bench_offsets.py cluster [--bootstrap HOST:PORT]`` — the real thing, over the wire. Without
``--bootstrap`` it starts its own ZooKeeper (``forceSync=yes``, what production runs) and a 3-broker cluster
in a temporary directory (``--override KEY=VALUE`` sets broker configs), and stops them at the end. Rows:

* ``round trip`` — baseline: an ApiVersions request to the same broker (network + dispatch, no work);
* ``kafka (v3)`` — OffsetCommit v3 to the group's coordinator: records appended to ``__consumer_offsets``
  (replication factor 3, ``offsets.commit.required.acks=-1``: the answer waits for both followers);
* ``zookeeper (v0)`` — OffsetCommit v0 to the same broker: one znode write per partition.

``python tools/bench_offsets.py local --zk HOST:PORT`` — one process, no broker: the coordinator's own commit
path over an in-memory log (baseline), appending each commit as one v2 batch to a file (the leader's share
of a Kafka commit, without replication), and ``ZkOffsetStore`` writing znodes through the asyncio bridge.

Each mode runs 1 and 10 offsets per commit, from one committer and from ``--concurrency`` committers at once
(each its own group, connection and — in cluster mode — coordinator).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from typing import Any, Awaitable, Callable

from kafka_zk.common.clock import SYSTEM_CLOCK
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator.config import GroupCoordinatorConfig
from kafka_zk.coordinator.coordinator import GroupCoordinator
from kafka_zk.coordinator.log_adapter import encode_batch
from kafka_zk.coordinator.log_port import InMemoryOffsetsLog, Record
from kafka_zk.coordinator.zk_offsets import ZkOffsetStore

TOPIC = "bench-offsets"
Offsets = dict[TopicPartition, tuple[int, str | None]]
Commit = Callable[[int, Offsets], Awaitable[dict[TopicPartition, ErrorCode]]]  # (worker, offsets) -> errors


async def rate(commit: Commit, commits: int, partitions: int, concurrency: int) -> float:
    """Commits per second: ``commits`` commits of ``partitions`` offsets spread over ``concurrency`` workers."""
    per_worker = max(commits // concurrency, 1)

    async def worker(w: int) -> None:
        for i in range(per_worker):
            result = await commit(w, {TopicPartition(TOPIC, p): (i, None) for p in range(partitions)})
            bad = {tp: code for tp, code in result.items() if code is not ErrorCode.NONE}
            if bad:
                raise RuntimeError(f"commit failed: {bad}")

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return per_worker * concurrency / (time.perf_counter() - start)


def print_header() -> None:
    print(f"{'store':<15} {'offsets/commit':>14} {'committers':>10} {'commits/s':>11} {'offsets/s':>11} {'vs baseline':>11}")


def print_row(name: str, partitions: int, concurrency: int, value: float, baseline: float) -> None:
    print(f"{name:<15} {partitions:>14} {concurrency:>10} {value:>11.0f} {value * partitions:>11.0f} {value / baseline:>11.3f}")


# ============================================================================================ local mode


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


def coordinator_commit(log: InMemoryOffsetsLog | FileOffsetsLog) -> Commit:
    coordinator = GroupCoordinator(log, GroupCoordinatorConfig(offsets_topic_num_partitions=1))
    coordinator.startup(enable_metadata_expiration=False)
    coordinator.manager.finish_loading(0, owned=True)

    async def commit(worker: int, offsets: Offsets) -> dict[TopicPartition, ErrorCode]:
        return await coordinator.commit_offsets(f"bench-{worker}", -1, "", offsets)

    return commit


async def local_mode(args: argparse.Namespace) -> int:
    from kafka_zk.zk.bridge import AsyncZk
    from zk_layout import KafkaZkClient

    zk = KafkaZkClient(args.zk, session_timeout_ms=18000)
    zk.start()
    az = AsyncZk(zk)
    store = ZkOffsetStore(az)

    async def zk_commit(worker: int, offsets: Offsets) -> dict[TopicPartition, ErrorCode]:
        return await store.commit_offsets(f"bench-{worker}", offsets)

    file_log = FileOffsetsLog(tempfile.mkdtemp(prefix="bench-offsets-"))
    print_header()
    try:
        for partitions in (1, 10):
            for concurrency in (1, args.concurrency):
                baseline = await rate(coordinator_commit(InMemoryOffsetsLog()), args.commits, partitions, concurrency)
                file_rate = await rate(coordinator_commit(file_log), args.commits, partitions, concurrency)
                zk_rate = await rate(zk_commit, args.zk_commits, partitions, concurrency)
                print_row("memory", partitions, concurrency, baseline, baseline)
                print_row("file", partitions, concurrency, file_rate, baseline)
                print_row("zookeeper", partitions, concurrency, zk_rate, baseline)
                print(f"{'':<15} file / zookeeper = {file_rate / zk_rate:.1f}x")
    finally:
        file_log.close()
        await az.aclose()
        zk.close()
    return 0


# ============================================================================================ cluster mode


async def cluster_rates(bootstrap: str, args: argparse.Namespace) -> None:
    from kafka_zk.client.connection import KafkaConnection
    from kafka_zk.protocol.apis import ApiKey
    from kafka_zk.protocol.messages import (
        ApiVersionsRequest,
        CreateTopicsRequest,
        FindCoordinatorRequest,
        MetadataRequest,
        OffsetCommitRequest,
    )

    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    admin = await KafkaConnection.open(host, int(port))
    meta = await admin.request(ApiKey.METADATA, MetadataRequest(topics=None, allow_auto_topic_creation=False))
    controller = next(b for b in meta.brokers if b.node_id == meta.controller_id)
    async with await KafkaConnection.open(controller.host, controller.port) as c:
        await c.request(ApiKey.CREATE_TOPICS, CreateTopicsRequest(topics=[CreateTopicsRequest.CreatableTopic(
            name=TOPIC, num_partitions=10, replication_factor=min(3, len(meta.brokers)), assignments=[], configs=[])],
            timeout_ms=30000, validate_only=False))
    await asyncio.sleep(1.0)  # UpdateMetadata reaches every broker

    conns: dict[int, Any] = {}
    for w in range(args.concurrency):
        for _ in range(200):
            found = await admin.request(ApiKey.FIND_COORDINATOR, FindCoordinatorRequest(key=f"bench-{w}", key_type=0))
            if found.error_code == 0:
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"no coordinator for bench-{w}: error {found.error_code}")
        conns[w] = await KafkaConnection.open(found.host, found.port)
    await admin.close()

    def body(worker: int, offsets: Offsets) -> Any:
        parts = [OffsetCommitRequest.OffsetCommitRequestPartition(partition_index=tp.partition, committed_offset=o, committed_metadata="")
                 for tp, (o, _) in offsets.items()]
        return OffsetCommitRequest(group_id=f"bench-{worker}", generation_id=-1, member_id="", retention_time_ms=-1,
                                   topics=[OffsetCommitRequest.OffsetCommitRequestTopic(name=TOPIC, partitions=parts)])

    def committer(version: int) -> Commit:
        async def commit(worker: int, offsets: Offsets) -> dict[TopicPartition, ErrorCode]:
            resp = await conns[worker].request(ApiKey.OFFSET_COMMIT, body(worker, offsets), version=version)
            return {TopicPartition(t.name, p.partition_index): ErrorCode(p.error_code) for t in resp.topics for p in t.partitions}
        return commit

    async def round_trip(worker: int, offsets: Offsets) -> dict[TopicPartition, ErrorCode]:
        await conns[worker].request(ApiKey.API_VERSIONS, ApiVersionsRequest(), version=0)
        return {}

    await rate(committer(3), 50, 1, args.concurrency)  # warm up (first appends create segments, load groups)
    print_header()
    try:
        for partitions in (1, 10):
            for concurrency in (1, args.concurrency):
                baseline = await rate(round_trip, args.commits, partitions, concurrency)
                kafka_rate = await rate(committer(3), args.commits, partitions, concurrency)
                zk_rate = await rate(committer(0), args.zk_commits, partitions, concurrency)
                print_row("round trip", partitions, concurrency, baseline, baseline)
                print_row("kafka (v3)", partitions, concurrency, kafka_rate, baseline)
                print_row("zookeeper (v0)", partitions, concurrency, zk_rate, baseline)
                print(f"{'':<15} kafka / zookeeper = {kafka_rate / zk_rate:.1f}x")
    finally:
        for c in conns.values():
            await c.close()


def cluster_mode(args: argparse.Namespace) -> int:
    if args.bootstrap:
        asyncio.run(cluster_rates(args.bootstrap, args))
        return 0
    from kafka_zk.launch.cluster import LocalCluster
    from kafka_zk.launch.zookeeper import ZooKeeperServer

    root = tempfile.mkdtemp(prefix="bench-offsets-")
    zookeeper = ZooKeeperServer(os.path.join(root, "zookeeper"), fsync=True)
    zookeeper.start()
    cluster = LocalCluster(os.path.join(root, "cluster"))
    try:
        overrides = {"group.initial.rebalance.delay.ms": "0", **dict(kv.split("=", 1) for kv in args.override)}
        cluster.up(3, zookeeper=zookeeper.connect_string + "/bench", overrides=overrides)
        print(f"cluster: 3 brokers, ZooKeeper forceSync=yes, overrides {overrides}, {root}")
        asyncio.run(cluster_rates(cluster.bootstrap_servers, args))
    finally:
        try:
            cluster.down(grace_s=15)
        finally:
            zookeeper.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/bench_offsets.py", description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("cluster", help="over the wire against real brokers (started here unless --bootstrap)")
    c.add_argument("--bootstrap", help="an existing cluster's HOST:PORT (default: start one)")
    c.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                   help="broker config for the cluster started here, e.g. offsets.commit.required.acks=1")
    local = sub.add_parser("local", help="one process: coordinator vs ZkOffsetStore, no broker")
    local.add_argument("--zk", required=True, help="ZooKeeper connect string (host:port[/chroot])")
    for p, commits, zk_commits in ((c, 1000, 300), (local, 2000, 300)):
        p.add_argument("--commits", type=int, default=commits, help=f"commits per Kafka-store run (default {commits})")
        p.add_argument("--zk-commits", type=int, default=zk_commits, help=f"commits per ZooKeeper run (default {zk_commits})")
        p.add_argument("--concurrency", type=int, default=8, help="committers in the concurrent runs (default 8)")
    args = parser.parse_args(argv)
    return cluster_mode(args) if args.mode == "cluster" else asyncio.run(local_mode(args))


if __name__ == "__main__":
    sys.exit(main())
