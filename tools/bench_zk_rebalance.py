#!/usr/bin/env python3
"""Benchmark: what one member joining costs ZooKeeper, 0.8 ZooKeeper consumer vs broker-coordinated group.

For each group size N (``--sizes``, default 1,5,20) and each kind of group, N-1 members are started and left
to settle, then the N-th joins, and the run measures what that one join costs until the group has settled
again (every partition owned exactly once, nobody rebalancing):

* **ZK writes** — transactions ZooKeeper committed: the difference of its ``zxid`` (four-letter word
  ``srvr``) before and after. Every create, delete, set, failed create (NodeExists) and session creation is
  one transaction, whoever sent it (the brokers too);
* **watch events** — ZooKeeper watch notifications the members received (``ZkConsumer.stats``);
* **ZK reads**, **attempts**, **conflicts** — the ZooKeeper consumers' own counts: reads made to rebalance,
  rebalance attempts over all members, owner claims that hit another member's znode (each costs a
  ``rebalance.backoff.ms`` sleep);
* **settle s** — wall time from the join until the group settled.

ZooKeeper consumers are ``kafka_zk.zkconsumer.ZkConsumer``; the broker-coordinated group is real
confluent-kafka (librdkafka) consumers using JoinGroup/SyncGroup/Heartbeat against the broker's group
coordinator, which keeps the group in memory and in ``__consumer_offsets`` — not in ZooKeeper.

Without ``--zookeeper``/``--bootstrap-server`` it starts its own ZooKeeper and one broker in a temporary
directory and stops them at the end.

    python tools/bench_zk_rebalance.py [--sizes 1,5,20] [--partitions 24] [--backoff-ms 500]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafka_zk.client.admin import AdminClient, NewTopic
from kafka_zk.common.tp import TopicPartition
from kafka_zk.launch.zookeeper import four_letter_word
from kafka_zk.zkconsumer import ZkConsumer


@dataclass
class Cost:
    zk_writes: int
    watch_events: int = 0
    zk_reads: int = 0
    attempts: int = 0
    conflicts: int = 0
    settle_s: float = 0.0


def zxid(zk_hostport: str) -> int:
    host, port = zk_hostport.split("/", 1)[0].split(",")[0].rsplit(":", 1)
    answer = four_letter_word(int(port), "srvr", host)
    m = re.search(r"Zxid: (0x[0-9a-fA-F]+)", answer)
    if not m:
        raise SystemExit(f"bench_zk_rebalance: ZooKeeper at {host}:{port} did not answer 'srvr' "
                         f"(is 4lw.commands.whitelist set?): {answer[:200]!r}")
    return int(m.group(1), 16)


async def wait_for(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_zk_rebalance: {what} did not happen within {timeout:g}s")
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------------------------ ZooKeeper consumers


async def zk_join_cost(zk: str, topic: str, partitions: int, n: int, settings: dict[str, Any],
                       timeout: float) -> Cost:
    group = f"bench-zk-{uuid.uuid4().hex[:8]}"
    wanted = [TopicPartition(topic, p) for p in range(partitions)]
    members: list[ZkConsumer] = []

    def settled() -> bool:
        return not any(c.rebalancing for c in members) and sorted(
            tp for c in members for tp in c.assignment()) == wanted

    def make(i: int) -> ZkConsumer:
        return ZkConsumer(zookeeper_connect=zk, group_id=group, topics={topic: 1}, consumer_id=f"m{i:02d}",
                          auto_commit_enable=False, **settings)

    try:
        warm = [make(i) for i in range(n - 1)]
        members.extend(warm)
        if warm:
            await asyncio.gather(*(c.start() for c in warm))
            await wait_for(settled, timeout, f"{n - 1} ZooKeeper consumers settling")
            await asyncio.sleep(0.5)  # let the last watch notifications arrive before the baseline
        before = [(c.stats.watch_events, c.stats.zk_reads, c.stats.rebalance_attempts, c.stats.owner_conflicts)
                  for c in members]
        z0, t0 = zxid(zk), time.monotonic()
        joiner = make(n - 1)
        members.append(joiner)
        await joiner.start()
        await wait_for(settled, timeout, f"the group of {n} ZooKeeper consumers settling")
        t1 = time.monotonic()
        await asyncio.sleep(0.3)  # anything still in flight belongs to this join
        z1 = zxid(zk)
        before.append((0, 0, 0, 0))
        sums = [sum(getattr(c.stats, f) - b[i] for c, b in zip(members, before))
                for i, f in enumerate(("watch_events", "zk_reads", "rebalance_attempts", "owner_conflicts"))]
        return Cost(z1 - z0, sums[0], sums[1], sums[2], sums[3], t1 - t0)
    finally:
        await asyncio.gather(*(c.abort() for c in members), return_exceptions=True)


# ------------------------------------------------------------------------------- broker-coordinated group


class KafkaMember:
    """One confluent-kafka consumer polling in its own thread; remembers its current assignment."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        from confluent_kafka import Consumer

        self.assignment: set[tuple[str, int]] = set()
        self.rebalances = 0
        self._stop = threading.Event()
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                   "enable.auto.commit": False, "session.timeout.ms": 6000,
                                   "heartbeat.interval.ms": 500, "partition.assignment.strategy": "range"})
        self._consumer.subscribe([topic], on_assign=self._assigned, on_revoke=self._revoked)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _assigned(self, _c: Any, parts: list[Any]) -> None:
        self.assignment = {(p.topic, p.partition) for p in parts}
        self.rebalances += 1

    def _revoked(self, _c: Any, _parts: list[Any]) -> None:
        self.assignment = set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._consumer.poll(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()


async def kafka_join_cost(zk: str, bootstrap: str, topic: str, partitions: int, n: int,
                          timeout: float) -> Cost:
    group = f"bench-kafka-{uuid.uuid4().hex[:8]}"
    wanted = sorted((topic, p) for p in range(partitions))
    members: list[KafkaMember] = []

    def settled(expected_rebalances: list[int]) -> bool:
        owned = sorted(tp for m in members for tp in m.assignment)
        return owned == wanted and all(m.rebalances >= r for m, r in zip(members, expected_rebalances))

    try:
        members.extend(KafkaMember(bootstrap, group, topic) for _ in range(n - 1))
        if members:
            await wait_for(lambda: settled([1] * (n - 1)), timeout, f"{n - 1} Kafka consumers settling")
            await asyncio.sleep(1.0)
        counts = [m.rebalances for m in members]
        z0, t0 = zxid(zk), time.monotonic()
        members.append(KafkaMember(bootstrap, group, topic))
        await wait_for(lambda: settled([c + 1 for c in counts] + [1]), timeout,
                       f"the group of {n} Kafka consumers settling")
        t1 = time.monotonic()
        await asyncio.sleep(0.3)
        return Cost(zxid(zk) - z0, settle_s=t1 - t0)
    finally:
        for m in members:
            m.close()


# ---------------------------------------------------------------------------------------------- driver


def table(rows: list[tuple[int, Cost, Cost]]) -> str:
    head = ("members", "ZK consumer: ZK writes", "watch events", "ZK reads", "attempts", "conflicts",
            "settle s", "| broker group: ZK writes", "watch events", "settle s")
    lines = [head]
    for n, z, k in rows:
        lines.append((str(n), str(z.zk_writes), str(z.watch_events), str(z.zk_reads), str(z.attempts),
                      str(z.conflicts), f"{z.settle_s:.2f}", f"| {k.zk_writes}", str(k.watch_events),
                      f"{k.settle_s:.2f}"))
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in lines)


async def run(zk: str, bootstrap: str, args: argparse.Namespace) -> None:
    topic = f"bench-rebalance-{uuid.uuid4().hex[:6]}"
    async with AdminClient(bootstrap) as admin:
        await admin.create_topic(NewTopic(topic, args.partitions, 1))
    settings = {"rebalance_backoff_ms": args.backoff_ms, "rebalance_max_retries": args.max_retries,
                "zookeeper_session_timeout_ms": 6000}
    # Warm-up: creates __consumer_offsets and /consumers, so that no size pays for it.
    await kafka_join_cost(zk, bootstrap, topic, args.partitions, 1, args.timeout)
    await zk_join_cost(zk, topic, args.partitions, 1, settings, args.timeout)
    rows = []
    for n in args.sizes:
        z = await zk_join_cost(zk, topic, args.partitions, n, settings, args.timeout)
        k = await kafka_join_cost(zk, bootstrap, topic, args.partitions, n, args.timeout)
        rows.append((n, z, k))
        print(f"  measured {n} members", file=sys.stderr)
    print(f"\nOne member joins a group of N-1 ({args.partitions} partitions, rebalance.backoff.ms="
          f"{args.backoff_ms}, rebalance.max.retries={args.max_retries}); costs until the group settled:\n")
    print(table(rows))
    print("\nZK writes per member (ZooKeeper consumer): "
          + ", ".join(f"N={n}: {z.zk_writes / n:.1f}" for n, z, _ in rows))
    base = rows[0][1]
    print("ZooKeeper consumer vs its own N=%d row: " % rows[0][0]
          + ", ".join(f"N={n}: writes x{z.zk_writes / max(base.zk_writes, 1):.1f}, "
                      f"watch events x{z.watch_events / max(base.watch_events, 1):.1f}, "
                      f"reads x{z.zk_reads / max(base.zk_reads, 1):.1f}" for n, z, _ in rows))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,5,20", help="group sizes after the join (default 1,5,20)")
    ap.add_argument("--partitions", type=int, default=24)
    ap.add_argument("--backoff-ms", type=int, default=500, help="rebalance.backoff.ms (Kafka's default: 2000)")
    ap.add_argument("--max-retries", type=int, default=10, help="rebalance.max.retries (Kafka's default: 4)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for a group to settle")
    ap.add_argument("--zookeeper", help="HOST:PORT[/CHROOT] of the cluster's ZooKeeper (with --bootstrap-server)")
    ap.add_argument("--bootstrap-server", help="HOST:PORT of a broker of that cluster")
    args = ap.parse_args()
    try:
        args.sizes = [int(s) for s in args.sizes.split(",")]
        if any(s < 1 for s in args.sizes):
            raise ValueError
    except ValueError:
        ap.error(f"--sizes must be comma-separated integers >= 1, e.g. 1,5,20 (got {args.sizes!r})")
    if bool(args.zookeeper) != bool(args.bootstrap_server):
        ap.error("give both --zookeeper and --bootstrap-server, or neither (to start a cluster here)")
    if args.zookeeper:
        asyncio.run(run(args.zookeeper, args.bootstrap_server, args))
        return 0
    from kafka_zk.launch.cluster import LocalCluster
    from kafka_zk.launch.zookeeper import ZooKeeperServer

    with tempfile.TemporaryDirectory(prefix="bench-zk-rebalance-") as tmp:
        server = ZooKeeperServer(Path(tmp) / "zookeeper")
        server.start()
        cluster = LocalCluster(Path(tmp) / "cluster")
        try:
            cluster.up(1, zookeeper=server.connect_string + "/bench",
                       overrides={"offsets.topic.num.partitions": "1", "group.initial.rebalance.delay.ms": "0"})
            asyncio.run(run(cluster.zookeeper_connect, cluster.bootstrap_servers, args))
        finally:
            cluster.down(grace_s=15)
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
