#!/usr/bin/env python3
"""Throughput of our asyncio client (``kafka_zk.client``) against kafka-python, aiokafka and librdkafka
(confluent-kafka) on the same cluster, in one run.

Starts a local cluster of ``--brokers`` brokers (default 1: the issue's "same broker"; with 3 the brokers'
replication shares this machine's cores with the client being measured) or uses ``--bootstrap-server``,
then for each client produces N records of S bytes to a fresh topic (acks=1, 6 partitions, RF min(3,
brokers)) and consumes them back, and prints records/s and MB/s with
the ratio client / kafka-python measured in the same run. kafka-python (pure Python, like us) is the
baseline the issue sets a target against (>= 5x); the client's own CPU per record is printed too (wall rates
on a shared machine include the brokers' and other jobs' load; CPU per record does not); aiokafka is the other asyncio client (its hot paths are
Cython); librdkafka is a C client, shown for scale. ``--clients`` picks a subset.

    .venv/bin/python tools/bench_client.py [--records 300000] [--size 100] [--bootstrap-server HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from typing import Callable

#: 1,000 distinct keys, made once: the loops measure the clients, not the formatting of keys
KEYS = [str(i).encode() for i in range(1000)]


def bench_ours_produce(bs: str, topic: str, n: int, value: bytes) -> float:
    from kafka_zk.client.producer import Producer

    async def go() -> float:
        async with Producer(bs, acks=1, linger_ms=5, batch_size=65536) as p:
            t = time.perf_counter()
            for i in range(n):
                await p.send(topic, value, key=KEYS[i % 1000])
            await p.flush()
            return time.perf_counter() - t
    return asyncio.run(go())


def bench_ours_consume(bs: str, topic: str, n: int, partitions: int) -> float:
    from kafka_zk.client.consumer import Consumer
    from kafka_zk.common.tp import TopicPartition

    async def go() -> float:
        async with Consumer(bs, auto_offset_reset="earliest") as c:
            c.assign([TopicPartition(topic, p) for p in range(partitions)])
            t = time.perf_counter()
            got = 0
            while got < n:
                got += len(await c.poll(timeout_ms=2000))
            return time.perf_counter() - t
    return asyncio.run(go())


def bench_rdkafka_produce(bs: str, topic: str, n: int, value: bytes) -> float:
    import confluent_kafka as ck

    p = ck.Producer({"bootstrap.servers": bs, "acks": 1, "linger.ms": 5, "partitioner": "murmur2_random",
                     "batch.size": 65536})
    t = time.perf_counter()
    for i in range(n):
        while True:
            try:
                p.produce(topic, value, key=KEYS[i % 1000])
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
    p.flush(120)
    return time.perf_counter() - t


def bench_rdkafka_consume(bs: str, topic: str, n: int, partitions: int) -> float:
    import confluent_kafka as ck

    c = ck.Consumer({"bootstrap.servers": bs, "group.id": f"bench-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False})
    c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(partitions)])
    t = time.perf_counter()
    got = 0
    while got < n:
        got += sum(1 for m in c.consume(10000, 2.0) if not m.error())
    elapsed = time.perf_counter() - t
    c.close()
    return elapsed


def bench_kafka_python_produce(bs: str, topic: str, n: int, value: bytes) -> float:
    import kafka

    p = kafka.KafkaProducer(bootstrap_servers=bs, acks=1, linger_ms=5, batch_size=65536)
    t = time.perf_counter()
    for i in range(n):
        p.send(topic, value, key=KEYS[i % 1000])
    p.flush(120)
    elapsed = time.perf_counter() - t
    p.close()
    return elapsed


def bench_kafka_python_consume(bs: str, topic: str, n: int, partitions: int) -> float:
    import kafka

    c = kafka.KafkaConsumer(bootstrap_servers=bs, enable_auto_commit=False, auto_offset_reset="earliest")
    c.assign([kafka.TopicPartition(topic, p) for p in range(partitions)])
    t = time.perf_counter()
    got = 0
    while got < n:
        got += sum(len(b) for b in c.poll(timeout_ms=2000).values())
    elapsed = time.perf_counter() - t
    c.close()
    return elapsed


def bench_aiokafka_produce(bs: str, topic: str, n: int, value: bytes) -> float:
    import aiokafka

    async def go() -> float:
        p = aiokafka.AIOKafkaProducer(bootstrap_servers=bs, acks=1, linger_ms=5, max_batch_size=65536)
        await p.start()
        try:
            t = time.perf_counter()
            for i in range(n):
                await p.send(topic, value, key=KEYS[i % 1000])
            await p.flush()
            return time.perf_counter() - t
        finally:
            await p.stop()
    return asyncio.run(go())


def bench_aiokafka_consume(bs: str, topic: str, n: int, partitions: int) -> float:
    import aiokafka

    async def go() -> float:
        c = aiokafka.AIOKafkaConsumer(bootstrap_servers=bs, enable_auto_commit=False, auto_offset_reset="earliest")
        await c.start()
        try:
            c.assign([aiokafka.TopicPartition(topic, p) for p in range(partitions)])
            t = time.perf_counter()
            got = 0
            while got < n:
                got += sum(len(b) for b in (await c.getmany(timeout_ms=2000)).values())
            return time.perf_counter() - t
        finally:
            await c.stop()
    return asyncio.run(go())


RUNS: dict[str, tuple[Callable[..., float], Callable[..., float]]] = {
    "kafka-python": (bench_kafka_python_produce, bench_kafka_python_consume),
    "aiokafka": (bench_aiokafka_produce, bench_aiokafka_consume),
    "librdkafka": (bench_rdkafka_produce, bench_rdkafka_consume),
    "kafka_zk.client": (bench_ours_produce, bench_ours_consume),
}


def create_topic(bs: str, topic: str, partitions: int, replication_factor: int) -> None:
    from kafka_zk.client.admin import AdminClient, NewTopic

    async def go() -> None:
        async with AdminClient(bs) as admin:
            await admin.create_topic(NewTopic(topic, partitions, replication_factor))
    asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--brokers", type=int, default=1, help="brokers of the local cluster (default 1)")
    ap.add_argument("--replication-factor", type=int,
                    help="of the benchmark topics (default: min(3, brokers); 3 with --bootstrap-server)")
    ap.add_argument("--bootstrap-server")
    ap.add_argument("--clients", default=",".join(RUNS),
                    help=f"comma-separated subset of {', '.join(RUNS)} (kafka-python is always run: the baseline)")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds to wait before each client (the brokers finish replicating the previous run)")
    ap.add_argument("--warmup", type=int, default=2000,
                    help="records each client produces and consumes on a topic of its own before it is measured "
                         "(its one-time costs -- imports, codec generation, first connections -- stay out of the "
                         "rates; 0 to include them)")
    ap.add_argument("--profile", metavar="FILE", help="cProfile our client's produce+consume into FILE")
    args = ap.parse_args()
    chosen = [c.strip() for c in args.clients.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in RUNS]
    if unknown:
        ap.error(f"unknown client(s) {', '.join(unknown)}: expected some of {', '.join(RUNS)}")
    if args.brokers < 1:
        ap.error(f"--brokers must be at least 1, got {args.brokers}")
    rf = args.replication_factor or (3 if args.bootstrap_server else min(3, args.brokers))
    if "kafka-python" not in chosen:
        chosen.insert(0, "kafka-python")
    cluster = None
    bs = args.bootstrap_server
    if bs is None:
        from kafka_zk.launch.cluster import LocalCluster

        cluster = LocalCluster(tempfile.mkdtemp(prefix="bench-client-")).up(args.brokers)
        bs = cluster.bootstrap_servers
    try:
        value = b"x" * args.size
        results: dict[str, dict[str, float]] = {}
        cpu: dict[str, dict[str, float]] = {}  # the client's own CPU (all its threads): robust to a busy machine
        for name in chosen:
            produce, consume = RUNS[name]
            topic = f"bench-{name.replace('.', '-')}-{uuid.uuid4().hex[:6]}"
            create_topic(bs, topic, args.partitions, rf)
            if args.warmup:
                create_topic(bs, topic + "-warmup", args.partitions, rf)
                produce(bs, topic + "-warmup", args.warmup, value)
                consume(bs, topic + "-warmup", args.warmup, args.partitions)
            time.sleep(args.settle)
            if name == "kafka_zk.client" and args.profile:
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            c0 = time.process_time()
            results[name] = {"produce": produce(bs, topic, args.records, value)}
            c1 = time.process_time()
            results[name]["consume"] = consume(bs, topic, args.records, args.partitions)
            cpu[name] = {"produce": c1 - c0, "consume": time.process_time() - c1}
            if name == "kafka_zk.client" and args.profile:
                prof.disable()
                prof.dump_stats(args.profile)
        from kafka_zk.client import fastcodec

        mb = args.records * args.size / 1e6
        print(f"{args.records} records x {args.size} B, {args.partitions} partitions, RF {rf}, acks=1, "
              f"codec: {'C' if fastcodec.ACCELERATED else 'pure Python'}")
        for phase in ("produce", "consume"):
            base = results["kafka-python"][phase]
            for name, r in results.items():
                rate = args.records / r[phase]
                us = cpu[name][phase] / args.records * 1e6
                base_us = cpu["kafka-python"][phase] / args.records * 1e6
                print(f"  {phase:8} {name:16} {rate:10.0f} rec/s {mb / r[phase]:8.1f} MB/s  "
                      f"x kafka-python {base / r[phase]:5.2f}   client CPU {us:5.1f} us/rec "
                      f"(x kafka-python {base_us / us if us else float('inf'):5.2f})")
    finally:
        if cluster is not None:
            cluster.down()


if __name__ == "__main__":
    main()
