#!/usr/bin/env python3
"""What incremental fetch sessions (KIP-227) save a consumer of many partitions, measured on a real broker.

One broker process (under a real ZooKeeper), one topic of ``--partitions`` partitions (default 1,000). A
consumer that follows all of them does ``--rounds`` fetch rounds; before each round ``--active`` partitions
(default 10, chosen by a fixed seed) get one new record, then both consumers fetch it, in alternating order,
so both read the same records and drift on the machine hits both alike. Two modes, same run, same broker:

* **sessionless** — Fetch v10 with session epoch -1: every request lists every partition, every response
  answers every partition (what a client without KIP-227, e.g. librdkafka, does);
* **session** — one full fetch with epoch 0, then incremental fetches: the request lists only partitions
  whose fetch offset moved, the response only partitions with records or a changed high watermark.

Printed per mode and as ratios session/sessionless: request and response bytes per round (whole frames as
on the wire), broker CPU per round (user+system time of the broker process from ``/proc/<pid>/stat``, read
around the fetches only, so producing the records does not count), and the client's wall time per round.
The consumer is raw frames from :mod:`kafka_zk.protocol` on a blocking socket (no client library in the
measurement); max_wait_ms=0 so no round long-polls.

Usage: ``python tools/bench_fetch_sessions.py [--partitions 1000] [--rounds 200] [--active 10]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import struct
import sys
import tempfile
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_zk.launch.cluster import LocalCluster
from kafka_zk.launch.zookeeper import ZooKeeperServer
from kafka_zk.protocol.apis import ApiKey, decode_response, encode_request_frame
from kafka_zk.protocol.headers import RequestHeader
from kafka_zk.protocol.messages.fetch import FetchRequest
from kafka_zk.record.batch import iter_batches

FETCH_VERSION = 10  # the highest this broker serves today; sessions need v7+
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


class RawConsumer:
    """Fetch frames over one socket; tracks fetch offsets and, in session mode, the KIP-227 session."""

    def __init__(self, host: str, port: int, topic: str, partitions: int, use_session: bool) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.topic = topic
        self.offsets = {p: 0 for p in range(partitions)}
        self.sent_offsets: dict[int, int] = {}
        self.use_session = use_session
        self.session_id, self.epoch = 0, (0 if use_session else -1)
        self.correlation = 0
        self.records = 0

    def _recv(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise SystemExit("broker closed the connection")
            buf += chunk
        return bytes(buf)

    def fetch(self) -> tuple[int, int]:
        """One round; returns (request bytes, response bytes)."""
        if self.use_session and self.epoch > 0:
            send = {p: o for p, o in self.offsets.items() if self.sent_offsets.get(p) != o}
        else:
            send = dict(self.offsets)
        parts = [FetchRequest.FetchPartition(partition=p, current_leader_epoch=-1, fetch_offset=o,
                                             log_start_offset=-1, partition_max_bytes=1 << 20)
                 for p, o in send.items()]
        req = FetchRequest(replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=50 << 20, isolation_level=0,
                           session_id=self.session_id, session_epoch=self.epoch,
                           topics=[FetchRequest.FetchTopic(topic=self.topic, partitions=parts)] if parts else [],
                           forgotten_topics_data=[])
        self.correlation += 1
        frame = encode_request_frame(RequestHeader(ApiKey.FETCH, FETCH_VERSION, self.correlation, "bench"), req)
        self.sock.sendall(frame)
        size = struct.unpack(">i", self._recv(4))[0]
        body = self._recv(size)
        resp = decode_response(ApiKey.FETCH, FETCH_VERSION, body[4:])  # response header v0: correlation id
        if resp.error_code:
            raise SystemExit(f"fetch session error {resp.error_code}")
        self.sent_offsets.update(send)
        for t in resp.responses:
            for p in t.partitions:
                if p.error_code:
                    raise SystemExit(f"partition {p.partition_index}: error {p.error_code}")
                if p.records:
                    n, next_offset = _count_records(p.records)
                    self.records += n
                    self.offsets[p.partition_index] = next_offset
        if self.use_session:
            self.session_id, self.epoch = (resp.session_id, 1) if self.epoch == 0 else (self.session_id,
                                                                                          self.epoch + 1)
            if resp.session_id == 0:
                raise SystemExit("the broker created no fetch session")
        return len(frame), 4 + size

    def close(self) -> None:
        self.sock.close()


def _count_records(records: Any) -> tuple[int, int]:
    """(records, next offset) of the whole batches in ``records``."""
    n, next_offset = 0, -1
    for b in iter_batches(records):
        n += b.records_count
        next_offset = b.next_offset
    return n, next_offset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=200, help="fetch rounds per mode")
    ap.add_argument("--active", type=int, default=10, help="partitions that get a record before each round")
    ap.add_argument("--zookeeper", default=None, help="use this ZooKeeper instead of starting one")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="bench-fs-")
    zk_server = None
    try:
        if args.zookeeper:
            zk = args.zookeeper
        else:
            zk_server = ZooKeeperServer(os.path.join(root, "zookeeper")).start()
            zk = zk_server.connect_string
        c = LocalCluster(os.path.join(root, "cluster"))
        c.up(1, zookeeper=f"{zk}/bench-{uuid.uuid4().hex[:8]}", overrides={"num.partitions": "1"})
        try:
            run(c, args)
        finally:
            c.down()
    finally:
        if zk_server is not None:
            zk_server.stop()
        shutil.rmtree(root, ignore_errors=True)


def run(c: LocalCluster, args: argparse.Namespace) -> None:
    bs = c.bootstrap_servers
    topic = "bench-sessions"
    admin = AdminClient({"bootstrap.servers": bs})
    admin.create_topics([NewTopic(topic, args.partitions, 1)])[topic].result(120)
    deadline = time.monotonic() + 120
    while any(p.leader < 0 for p in admin.list_topics(topic, timeout=10).topics[topic].partitions.values()):
        if time.monotonic() > deadline:
            raise SystemExit("partitions without leader")
        time.sleep(0.2)
    broker = c.broker(next(iter(c.state.brokers)))
    pid = broker.pid()
    assert pid is not None
    host, port = bs.split(",")[0].rsplit(":", 1)
    producer = Producer({"bootstrap.servers": bs, "acks": "1", "linger.ms": 0})
    rng = random.Random(42)
    modes = {"sessionless": RawConsumer(host, int(port), topic, args.partitions, False),
             "session": RawConsumer(host, int(port), topic, args.partitions, True)}
    totals = {m: [0, 0, 0.0, 0.0] for m in modes}  # request bytes, response bytes, cpu s, wall s
    for consumer in modes.values():  # warm-up round (opens the session), not counted
        consumer.fetch()
    produced = 0
    names = list(modes)
    for r in range(args.rounds):
        for p in rng.sample(range(args.partitions), args.active):
            producer.produce(topic, b"x" * 100, partition=p)
            produced += 1
        producer.flush(30)
        for name in names if r % 2 == 0 else reversed(names):  # both read the same new records each round
            cpu0, t0 = cpu_seconds(pid), time.perf_counter()
            req_b, resp_b = modes[name].fetch()
            wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
            tot = totals[name]
            tot[0] += req_b
            tot[1] += resp_b
            tot[2] += cpu
            tot[3] += wall
    # both consumers must have read every record (nothing lost by leaving partitions out)
    for consumer in modes.values():
        while consumer.records < produced:
            consumer.fetch()
        consumer.close()
    assert all(m.records == produced for m in modes.values()), {k: m.records for k, m in modes.items()}
    n = args.rounds
    print(f"{args.partitions} partitions, {args.active} active per round, {n} rounds per mode, "
          f"{produced} records read by each consumer")
    print(f"{'mode':<12} {'request B/round':>16} {'response B/round':>17} {'broker CPU ms/round':>20} "
          f"{'wall ms/round':>14}")
    for name, (rq, rs, cpu, wall) in totals.items():
        print(f"{name:<12} {rq / n:>16.0f} {rs / n:>17.0f} {cpu / n * 1000:>20.2f} {wall / n * 1000:>14.2f}")
    base, sess = totals["sessionless"], totals["session"]
    print(f"ratio session/sessionless: request bytes {sess[0] / base[0]:.3f}, response bytes "
          f"{sess[1] / base[1]:.3f}, broker CPU {sess[2] / max(base[2], 1e-9):.3f}, "
          f"wall {sess[3] / base[3]:.3f}")


if __name__ == "__main__":
    main()
