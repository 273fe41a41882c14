#!/usr/bin/env python3
"""Cluster benchmarks with librdkafka (confluent-kafka) against real broker processes on this machine.

Runs, each on a fresh cluster under one real ZooKeeper:

1. **single broker, acks=1** — produce N 100-byte records to one partition (linger 5 ms, 1 MB batches),
   then consume them: records/s and MB/s. This is the baseline.
2. **3 brokers, RF 3, acks=all, min.insync.replicas=2** — the same produce; printed as a ratio to (1)
   (Kafka's own 2014 figure for this ratio was 51%).
3. **end-to-end latency** on the RF-3 cluster at a fixed rate (default 10,000 records/s, acks=all): the
   time from ``produce()`` to the consumer receiving the record (both in this process, same clock),
   p50 / p99 / p99.9, after a 1 s warm-up that is not counted. The producer sends each record at once
   (``linger.ms=0``) with at most 5 requests in flight — the Java producer's default, which Kafka's own
   latency measurements used (librdkafka's default, 1,000,000, turns every record into its own request).

Usage: ``python tools/bench_cluster.py [--records 2000000] [--latency-seconds 10] [--rate 10000]``.
Numbers depend on the machine and on what else runs on it; compare the ratios.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from itertools import cycle, islice
from typing import Any, Iterator, Sequence

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_zk.launch.cluster import LocalCluster
from kafka_zk.launch.zookeeper import ZooKeeperServer

VALUE = b"x" * 100
PRODUCER = {
    "linger.ms": 5,
    "batch.size": 1_000_000,
    "queue.buffering.max.messages": 2_000_000,
    "queue.buffering.max.kbytes": 2_000_000,
    "message.max.bytes": 2_000_000,
}
CONSUMER = {
    "fetch.max.bytes": 52_428_800,
    "max.partition.fetch.bytes": 10_485_760,
    # librdkafka pauses fetching for fetch.queue.backoff.ms (1 s) once it holds queued.min.messages (100k)
    # records; with 100-byte records one fetch exceeds that, so raise the thresholds for a throughput run.
    "queued.min.messages": 10_000_000,
    "queued.max.messages.kbytes": 2_000_000,
    "fetch.queue.backoff.ms": 0,
}


@contextmanager
def cluster(zk: str, root: str, brokers: int, overrides: dict[str, str]) -> Iterator[LocalCluster]:
    c = LocalCluster(os.path.join(root, f"cluster-{uuid.uuid4().hex[:6]}"))
    c.up(brokers, zookeeper=f"{zk}/bench-{uuid.uuid4().hex[:8]}", overrides=overrides)
    try:
        yield c
    finally:
        c.down()


def create_topic(bs: str, topic: str, rf: int, partitions: int = 1) -> None:
    """Create the topic and wait until every partition has a leader in the metadata."""
    admin = AdminClient({"bootstrap.servers": bs})
    admin.create_topics([NewTopic(topic, partitions, rf)])[topic].result(30)
    deadline = time.monotonic() + 30
    while True:
        md = admin.list_topics(topic, timeout=5).topics.get(topic)
        if (md is not None and md.error is None and len(md.partitions) == partitions
                and all(pm.leader >= 0 for pm in md.partitions.values())):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"no leaders for {topic}")
        time.sleep(0.05)


def new_producer(bs: str, acks: str) -> tuple[Producer, list[Any]]:
    """The benchmarks' producer (``PRODUCER`` settings) and the list its failed deliveries are added to."""
    errors: list[Any] = []
    # Only failed deliveries call back: a Python callback per record would measure the client, not the broker.
    p = Producer({"bootstrap.servers": bs, "acks": acks, "delivery.report.only.error": True,
                  "on_delivery": lambda e, m: errors.append(e), **PRODUCER})
    return p, errors


def send(p: Producer, topic: str, n: int, partitions: Sequence[int] = (0,)) -> None:
    """Hand ``n`` records to ``p``, round-robin over ``partitions``, waiting whenever its queue is full."""
    for part in islice(cycle(partitions), n):
        while True:
            try:
                p.produce(topic, VALUE, partition=part)
                break
            except BufferError:
                p.poll(0.001)


def produce(bs: str, topic: str, n: int, acks: str) -> float:
    p, errors = new_producer(bs, acks)
    t0 = time.perf_counter()
    send(p, topic, n)
    left = p.flush(120)
    dt = time.perf_counter() - t0
    if left or errors:
        raise SystemExit(f"produce failed: {left} undelivered, errors {errors[:3]}")
    return dt


def consume(bs: str, topic: str, n: int) -> float:
    c = Consumer({"bootstrap.servers": bs, "group.id": "bench", "enable.auto.commit": False, **CONSUMER})
    c.assign([TopicPartition(topic, 0, 0)])
    got = 0
    t0 = time.perf_counter()
    while got < n:
        got += len(c.consume(100_000, 1.0))
    dt = time.perf_counter() - t0
    c.close()
    return dt


WARMUP_S = 1.0


def _latency_reader(bs: str, topic: str, expected: int, warm_until: float, seconds: float, out: Any) -> None:
    """Consumer process: produce→receive time of each record, on the system-wide monotonic clock."""
    c = Consumer({"bootstrap.servers": bs, "group.id": "lat", "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    c.assign([TopicPartition(topic, 0, 0)])
    lat: list[float] = []
    seen = 0
    deadline = time.monotonic() + seconds
    while seen < expected and time.monotonic() < deadline:
        m = c.poll(0.1)  # not consume(n, t): that holds records back until it has n of them or t passed
        if m is not None and m.error() is None:
            seen += 1
            sent = float(m.value())
            if sent >= warm_until:
                lat.append(time.monotonic() - sent)
    c.close()
    out.send(lat)


def latency(bs: str, topic: str, seconds: float, rate: int) -> list[float]:
    """Produce at ``rate``/s with acks=all; a consumer in another process measures produce→receive time."""
    total = int((seconds + WARMUP_S) * rate)
    start = time.monotonic() + 1.5  # the consumer connects and starts fetching meanwhile
    warm_until = start + WARMUP_S
    recv, send = multiprocessing.Pipe(duplex=False)
    reader = multiprocessing.Process(target=_latency_reader, args=(bs, topic, total, warm_until, seconds + 30, send))
    reader.start()
    p = Producer({"bootstrap.servers": bs, "acks": "all", "linger.ms": 0, "max.in.flight.requests.per.connection": 5})
    while time.monotonic() < start:
        p.poll(0.05)
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0.0002:
            time.sleep(delay)
        p.produce(topic, b"%.9f" % time.monotonic(), partition=0)
        p.poll(0)
    p.flush(60)
    lat = recv.recv()
    reader.join()
    return sorted(lat)


def pct(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--latency-seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--zookeeper", default=None, help="use this ZooKeeper instead of starting one")
    args = ap.parse_args()
    n = args.records
    root = tempfile.mkdtemp(prefix="kz-bench-")
    zk_server = None
    try:
        if args.zookeeper:
            zk = args.zookeeper
        else:
            zk_server = ZooKeeperServer(os.path.join(root, "zookeeper")).start()
            zk = zk_server.connect_string
        print(f"records: {n:,} x {len(VALUE)} bytes")
        with cluster(zk, root, 1, {}) as c1:
            create_topic(c1.bootstrap_servers, "bench", 1)
            dt = produce(c1.bootstrap_servers, "bench", n, "1")
            base = n / dt
            print(f"1 broker, acks=1 produce : {base:>12,.0f} records/s {n * len(VALUE) / dt / 1e6:7.1f} MB/s")
            dt = consume(c1.bootstrap_servers, "bench", n)
            print(f"1 broker, consume        : {n / dt:>12,.0f} records/s {n * len(VALUE) / dt / 1e6:7.1f} MB/s")
        with cluster(zk, root, 3, {"min.insync.replicas": "2"}) as c3:
            create_topic(c3.bootstrap_servers, "bench", 3)
            dt = produce(c3.bootstrap_servers, "bench", n, "all")
            rf3 = n / dt
            print(f"3 brokers RF 3, acks=all : {rf3:>12,.0f} records/s {n * len(VALUE) / dt / 1e6:7.1f} MB/s"
                  f"  ({100 * rf3 / base:.0f}% of 1 broker acks=1)")
            create_topic(c3.bootstrap_servers, "latency", 3)
            lat = latency(c3.bootstrap_servers, "latency", args.latency_seconds, args.rate)
            print(f"end-to-end latency at {args.rate:,} records/s, acks=all RF 3 ({len(lat):,} records): "
                  f"p50 {pct(lat, 0.5):.2f} ms  p99 {pct(lat, 0.99):.2f} ms  p99.9 {pct(lat, 0.999):.2f} ms")
    finally:
        if zk_server is not None:
            zk_server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
