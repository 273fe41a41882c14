#!/usr/bin/env python3
"""Benchmark: restarting one consumer of a group, dynamic member vs static member (KIP-345).

Starts its own ZooKeeper and broker cluster (``--brokers``, default 1) unless ``--bootstrap`` is given,
creates a topic, and for each mode runs a group of ``--members`` librdkafka consumers, waits until they
share the partitions, then restarts one member (close, new consumer with the same configuration) and
measures:

* ``restart->owned`` — from creating the new consumer until it owns partitions again;
* ``others revoked`` — partitions the *other* members had revoked during the restart (a rebalance);
* ``others idle`` — how long the other members together owned fewer partitions than before.

The baseline is the dynamic member (its close sends LeaveGroup, its return is a new member: two
rebalances); a static member (``group.instance.id``) sends no LeaveGroup and takes its old place back
without a rebalance. Ratios are to the dynamic row of the same run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_zk.common.waiting import wait_until


class Member:
    """A consumer polled on its own thread (the only thread that touches it)."""

    def __init__(self, conf: dict[str, Any], topic: str) -> None:
        self.revoked = 0
        self.owned: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self.consumer = Consumer(conf)
        self.consumer.subscribe([topic], on_revoke=self._on_revoke)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _on_revoke(self, c: Any, parts: list[Any]) -> None:
        self.revoked += len(parts)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.consumer.consume(100, 0.02)
            self.owned = {(p.topic, p.partition) for p in self.consumer.assignment()}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.consumer.close()


def wait(cond: Any, timeout: float, what: str) -> None:
    wait_until(cond, timeout, what, interval_s=0.005)


def run_mode(bootstrap: str, topic: str, partitions: int, members: int, static: bool) -> tuple[float, int, float]:
    group = f"bench-restart-{'static' if static else 'dynamic'}-{uuid.uuid4().hex[:6]}"

    def conf(i: int) -> dict[str, Any]:
        c = {"bootstrap.servers": bootstrap, "group.id": group, "client.id": f"m{i}", "session.timeout.ms": 10000,
             "heartbeat.interval.ms": 500}
        if static:
            c["group.instance.id"] = f"m{i}"
        return c

    group_members = [Member(conf(i), topic) for i in range(members)]
    everything = {(topic, p) for p in range(partitions)}
    try:
        wait(lambda: set().union(*(m.owned for m in group_members)) == everything and all(m.owned for m in group_members),
             60, "the group to share the partitions")
        time.sleep(1.0)
        others = group_members[1:]
        revoked_before = sum(m.revoked for m in others)
        owned_before = sum(len(m.owned) for m in others)
        group_members[0].close()
        idle = 0.0
        start = time.monotonic()
        group_members[0] = Member(conf(0), topic)
        last = start
        while not group_members[0].owned:
            now = time.monotonic()
            if sum(len(m.owned) for m in others) < owned_before:
                idle += now - last
            last = now
            if now - start > 60:
                raise RuntimeError("the restarted member never got partitions")
            time.sleep(0.005)
        owned_after = time.monotonic() - start
        time.sleep(1.0)  # let a trailing rebalance show up in the revocation count
        return owned_after, sum(m.revoked for m in others) - revoked_before, idle
    finally:
        for m in group_members:
            m.close()


def bench(bootstrap: str, args: argparse.Namespace) -> None:
    topic = f"bench-restart-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, args.partitions, 1)])[topic].result(30)
    time.sleep(1.0)
    print(f"{args.members} members, {args.partitions} partitions, {args.rounds} restarts per mode (median)")
    print(f"{'mode':<10} {'restart->owned':>15} {'others revoked':>15} {'others idle':>12}  ratio")
    baseline = None
    for static in (False, True):
        rows = sorted(run_mode(bootstrap, topic, args.partitions, args.members, static) for _ in range(args.rounds))
        owned, revoked, idle = rows[len(rows) // 2]
        if baseline is None:
            baseline = owned
        print(f"{'static' if static else 'dynamic':<10} {owned * 1000:>12.0f} ms {revoked:>15} {idle * 1000:>9.0f} ms"
              f"  {owned / baseline:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/bench_static_restart.py", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bootstrap", help="an existing cluster's HOST:PORT (default: start one)")
    parser.add_argument("--brokers", type=int, default=1, help="brokers of the cluster started here (default 1)")
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.bootstrap:
        bench(args.bootstrap, args)
        return 0
    from kafka_zk.launch.cluster import LocalCluster
    from kafka_zk.launch.zookeeper import ZooKeeperServer

    root = tempfile.mkdtemp(prefix="bench-restart-")
    zookeeper = ZooKeeperServer(os.path.join(root, "zookeeper"))
    zookeeper.start()
    cluster = LocalCluster(os.path.join(root, "cluster"))
    try:
        overrides = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.replication.factor": "1"}
        cluster.up(args.brokers, zookeeper=zookeeper.connect_string + "/bench", overrides=overrides)
        print(f"cluster: {args.brokers} broker(s), overrides {overrides}")
        bench(cluster.bootstrap_servers, args)
    finally:
        try:
            cluster.down(grace_s=15)
        finally:
            zookeeper.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
