#!/usr/bin/env python3
"""Broker memory: RSS of one broker process idle, with ``--partitions`` (1,000) partitions, with
``--connections`` (10,000) idle client connections, and over a produce/consume soak.

One real ZooKeeper and one broker. RSS is read from ``/proc/<pid>/status`` (``VmRSS``). The idle connections
are plain TCP connections that each completed one ApiVersions round trip (so the broker set up its
per-connection state) and then stay silent. The soak produces and consumes 100-byte records with
confluent-kafka for ``--soak-seconds`` (600 = Kafka's 10-minute soak; the default 60 is the quick run) and
prints RSS every ``--every`` seconds; growth is last sample minus the first after warm-up.

Usage: ``python tools/bench_memory.py [--partitions 1000] [--connections 10000] [--soak-seconds 60]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_zk.launch.cluster import LocalCluster
from kafka_zk.launch.zookeeper import ZooKeeperServer

# ApiVersions v0, correlation id 1, client id "mem": the smallest request every broker answers.
_API_VERSIONS = struct.pack(">hhih", 18, 0, 1, 3) + b"mem"
API_VERSIONS_REQUEST = struct.pack(">i", len(_API_VERSIONS)) + _API_VERSIONS


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmRSS for pid {pid}")


def settle_rss(pid: int, seconds: float = 3.0) -> float:
    time.sleep(seconds)
    return rss_mb(pid)


def open_idle_connections(host: str, port: int, n: int) -> list[socket.socket]:
    socks: list[socket.socket] = []
    for i in range(n):
        s = socket.create_connection((host, port), timeout=30)
        s.sendall(API_VERSIONS_REQUEST)
        socks.append(s)
        if i % 500 == 499:  # read the answers in batches so the broker is never far behind
            for t in socks[-500:]:
                size = struct.unpack(">i", _recv_exact(t, 4))[0]
                _recv_exact(t, size)
    for t in socks[len(socks) - len(socks) % 500:]:
        size = struct.unpack(">i", _recv_exact(t, 4))[0]
        _recv_exact(t, size)
    return socks


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise SystemExit("the broker closed an idle connection during setup")
        buf += chunk
    return buf


def soak(bs: str, topic: str, seconds: float, every: float, pid: int) -> list[tuple[float, float]]:
    stop = threading.Event()
    samples: list[tuple[float, float]] = []

    def consume() -> None:
        c = Consumer({"bootstrap.servers": bs, "group.id": "soak", "enable.auto.commit": False})
        c.assign([TopicPartition(topic, p, 0) for p in range(4)])
        while not stop.is_set():
            c.consume(10_000, 0.2)
        c.close()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    p = Producer({"bootstrap.servers": bs, "acks": "1", "linger.ms": 5, "delivery.report.only.error": True})
    t0 = time.monotonic()
    next_sample = t0
    i = 0
    while time.monotonic() - t0 < seconds:
        try:
            p.produce(topic, b"x" * 100, partition=i % 4)
            i += 1
        except BufferError:
            p.poll(0.01)
        if i % 1000 == 0:
            p.poll(0)
            time.sleep(0.01)  # a steady stream, not a flat-out run: the soak is about memory
        if time.monotonic() >= next_sample:
            samples.append((time.monotonic() - t0, rss_mb(pid)))
            print(f"  soak {samples[-1][0]:6.0f} s  RSS {samples[-1][1]:7.1f} MB  ({i:,} records produced)")
            next_sample += every
    p.flush(60)
    stop.set()
    reader.join(30)
    samples.append((time.monotonic() - t0, rss_mb(pid)))
    return samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--connections", type=int, default=10_000)
    ap.add_argument("--soak-seconds", type=float, default=60.0)
    ap.add_argument("--every", type=float, default=10.0)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))  # the broker inherits it
    root = tempfile.mkdtemp(prefix="kz-bench-mem-")
    zk_server = ZooKeeperServer(os.path.join(root, "zookeeper")).start()
    cluster = LocalCluster(os.path.join(root, "cluster"))
    socks: list[socket.socket] = []
    try:
        cluster.up(1, zookeeper=f"{zk_server.connect_string}/mem-{uuid.uuid4().hex[:6]}",
                   overrides={"offsets.topic.num.partitions": "1", "group.initial.rebalance.delay.ms": "0"})
        b = next(iter(cluster))
        pid = b.pid()
        assert pid is not None
        base = settle_rss(pid)
        print(f"idle broker                          : RSS {base:7.1f} MB")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})
        admin.create_topics([NewTopic("mem", args.partitions, 1)])["mem"].result(120)
        deadline = time.monotonic() + 300
        while len(admin.list_topics("mem", timeout=30).topics["mem"].partitions) < args.partitions:
            if time.monotonic() > deadline:
                raise SystemExit("the topic's partitions did not appear")
            time.sleep(0.5)
        with_parts = settle_rss(pid, 5)
        print(f"+ {args.partitions:,} partitions                   : RSS {with_parts:7.1f} MB  "
              f"({1024 * (with_parts - base) / args.partitions:.1f} KB per partition)")
        socks = open_idle_connections("127.0.0.1", b.port, args.connections)
        with_conns = settle_rss(pid, 5)
        print(f"+ {args.connections:,} idle connections            : RSS {with_conns:7.1f} MB  "
              f"({1024 * (with_conns - with_parts) / args.connections:.1f} KB per connection)")
        for s in socks:
            s.close()
        socks = []
        samples = soak(cluster.bootstrap_servers, "mem", args.soak_seconds, args.every, pid)
        warm = samples[min(1, len(samples) - 1)]
        print(f"soak {args.soak_seconds:g} s: RSS {warm[1]:.1f} MB after warm-up -> {samples[-1][1]:.1f} MB at the end "
              f"(growth {samples[-1][1] - warm[1]:+.1f} MB)")
    finally:
        for s in socks:
            s.close()
        cluster.down()
        zk_server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
