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
    settled: bool = True


def zxid(zk_hostport: str) -> int:
    host, port = zk_hostport.split("/", 1)[0].split(",")[0].rsplit(":", 1)
    answer = four_letter_word(int(port), "srvr", host)
    m = re.search(r"Zxid: (0x[0-9a-fA-F]+)", answer)
    if not m:
        raise SystemExit(f"bench_zk_rebalance: ZooKeeper at {host}:{port} did not answer 'srvr' "
                         f"(is 4lw.commands.whitelist set?): {answer[:200]!r}")
    return int(m.group(1), 16)


async def wait_for(cond: Any, timeout: float, what: str) -> None:
    if not await settle(cond, timeout):
        raise SystemExit(f"bench_zk_rebalance: {what} did not happen within {timeout:g}s")


async def settle(cond: Any, timeout: float) -> bool:
    """Wait until ``cond()``; False after ``timeout`` s (a group that never settles is a result too)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def all_own(owned: list[list[tuple[str, int]]], wanted: list[tuple[str, int]]) -> bool:
    """Each partition owned exactly once and — when there are enough partitions — nobody idle (so that a
    generation without every member does not count as settled)."""
    flat = sorted(tp for mine in owned for tp in mine)
    return flat == wanted and (len(owned) > len(wanted) or all(owned))


# ------------------------------------------------------------------------------------ ZooKeeper consumers


async def zk_cost(zk: str, topic: str, partitions: int, n: int, joining: int, settings: dict[str, Any],
                  timeout: float) -> Cost:
    """``n - joining`` members settle first; then ``joining`` members start at once; the cost of that."""
    group = f"bench-zk-{uuid.uuid4().hex[:8]}"
    wanted = [(topic, p) for p in range(partitions)]
    members: list[ZkConsumer] = []
    fields = ("watch_events", "zk_reads", "rebalance_attempts", "owner_conflicts")

    def settled() -> bool:
        return not any(c.rebalancing for c in members) and all_own(
            [sorted(c.assignment()) for c in members], wanted)

    def make(i: int) -> ZkConsumer:
        return ZkConsumer(zookeeper_connect=zk, group_id=group, topics={topic: 1}, consumer_id=f"m{i:02d}",
                          auto_commit_enable=False, **settings)

    try:
        warm = [make(i) for i in range(n - joining)]
        members.extend(warm)
        if warm:
            await asyncio.gather(*(c.start() for c in warm))
            await wait_for(settled, timeout, f"{len(warm)} ZooKeeper consumers settling")
            await asyncio.sleep(0.5)  # let the last watch notifications arrive before the baseline
        before = {id(c): [getattr(c.stats, f) for f in fields] for c in members}
        z0, t0 = zxid(zk), time.monotonic()
        joiners = [make(i) for i in range(n - joining, n)]
        members.extend(joiners)
        # A start whose first rebalance fails every attempt raises (createMessageStreams does): keep going.
        await asyncio.gather(*(c.start() for c in joiners), return_exceptions=True)
        ok = await settle(settled, timeout)
        t1 = time.monotonic()
        await asyncio.sleep(0.3)  # anything still in flight belongs to this change
        z1 = zxid(zk)
        sums = [sum(getattr(c.stats, f) - before.get(id(c), [0] * 4)[i] for c in members)
                for i, f in enumerate(fields)]
        return Cost(z1 - z0, sums[0], sums[1], sums[2], sums[3], t1 - t0, ok)
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


async def kafka_cost(zk: str, bootstrap: str, topic: str, partitions: int, n: int, joining: int,
                     timeout: float) -> Cost:
    group = f"bench-kafka-{uuid.uuid4().hex[:8]}"
    wanted = sorted((topic, p) for p in range(partitions))
    members: list[KafkaMember] = []

    def settled(expected_rebalances: list[int]) -> bool:
        return all_own([sorted(m.assignment) for m in members], wanted) and all(
            m.rebalances >= r for m, r in zip(members, expected_rebalances))

    try:
        members.extend(KafkaMember(bootstrap, group, topic) for _ in range(n - joining))
        if members:
            await wait_for(lambda: settled([1] * len(members)), timeout, f"{len(members)} Kafka consumers settling")
            await asyncio.sleep(1.0)
        counts = [m.rebalances + 1 for m in members] + [1] * joining
        z0, t0 = zxid(zk), time.monotonic()
        members.extend(KafkaMember(bootstrap, group, topic) for _ in range(joining))
        ok = await settle(lambda: settled(counts), timeout)
        t1 = time.monotonic()
        await asyncio.sleep(0.3)
        return Cost(zxid(zk) - z0, settle_s=t1 - t0, settled=ok)
    finally:
        for m in members:
            m.close()


# ---------------------------------------------------------------------------------------------- driver


def table(rows: list[tuple[int, Cost, Cost]]) -> str:
    head = ("members", "ZK consumer: ZK writes", "watch events", "ZK reads", "attempts", "conflicts",
            "settle s", "| broker group: ZK writes", "watch events", "settle s")
    lines = [head]

    def secs(c: Cost) -> str:
        return f"{c.settle_s:.2f}" if c.settled else f">{c.settle_s:.0f} (never)"

    for n, z, k in rows:
        lines.append((str(n), str(z.zk_writes), str(z.watch_events), str(z.zk_reads), str(z.attempts),
                      str(z.conflicts), secs(z), f"| {k.zk_writes}", str(k.watch_events), secs(k)))
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in lines)


async def run(zk: str, bootstrap: str, args: argparse.Namespace) -> None:
    topic = f"bench-rebalance-{uuid.uuid4().hex[:6]}"
    async with AdminClient(bootstrap) as admin:
        await admin.create_topic(NewTopic(topic, args.partitions, 1))
    settings = {"rebalance_backoff_ms": args.backoff_ms, "rebalance_max_retries": args.max_retries,
                "zookeeper_session_timeout_ms": 6000}
    # Warm-up: creates __consumer_offsets and /consumers, so that no size pays for it.
    await kafka_cost(zk, bootstrap, topic, args.partitions, 1, 1, args.timeout)
    await zk_cost(zk, topic, args.partitions, 1, 1, settings, args.timeout)
    print(f"{args.partitions} partitions, rebalance.backoff.ms={args.backoff_ms}, "
          f"rebalance.max.retries={args.max_retries}, auto commit off; costs until the group settled.")
    for title, together in (("One member joins a settled group of N-1", False),
                            ("N members start at the same time", True)):
        rows = []
        for n in args.sizes:
            joining = n if together else 1
            z = await zk_cost(zk, topic, args.partitions, n, joining, settings, args.timeout)
            k = await kafka_cost(zk, bootstrap, topic, args.partitions, n, joining, args.timeout)
            rows.append((n, z, k))
            print(f"  measured: {title}, N={n}", file=sys.stderr)
        print(f"\n{title}:\n")
        print(table(rows))
        base = rows[0][1]
        print(f"ZooKeeper consumer vs its own N={rows[0][0]} row: " + "; ".join(
            f"N={n}: writes x{z.zk_writes / max(base.zk_writes, 1):.1f}, "
            f"watch events {z.watch_events}, reads x{z.zk_reads / max(base.zk_reads, 1):.1f}" for n, z, _ in rows))


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
