"""Our client and librdkafka (confluent-kafka) read each other's records on a real cluster, and keyed records
land on the same partitions whichever of the two produced them (librdkafka's ``murmur2_random`` partitioner is
Java's default partitioner)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from helpers import run_async, unique_name
from kafka_zk.client.admin import AdminClient, NewTopic
from kafka_zk.client.consumer import Consumer
from kafka_zk.client.partitioner import partition_for_key
from kafka_zk.client.producer import Producer
from kafka_zk.common.tp import TopicPartition

ck = pytest.importorskip("confluent_kafka")

PARTITIONS = 4


async def create(bs: str, topic: str) -> None:
    async with AdminClient(bs) as admin:
        await admin.create_topic(NewTopic(topic, PARTITIONS, 2))


def records(n: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    return [(f"user-{i % 11}".encode(), f"event {i} ".encode() * (i % 4 + 1), [("seq", str(i).encode())])
            for i in range(n)]


@run_async
async def test_confluent_kafka_reads_what_our_producer_wrote(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic = unique_name("ours-to-rdkafka")
    await create(bs, topic)
    sent = records(40)
    async with Producer(bs, acks="all", compression_type="lz4", enable_idempotence=True) as p:
        futures = [await p.send(topic, v, k, headers=h) for k, v, h in sent]
        await p.flush()
    where = {(f.result().partition, f.result().offset): (k, v, h) for f, (k, v, h) in zip(futures, sent)}

    consumer = ck.Consumer({"bootstrap.servers": bs, "group.id": unique_name("g"), "enable.auto.commit": False,
                            "auto.offset.reset": "earliest"})
    try:
        consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(PARTITIONS)])
        got: dict[tuple[int, int], Any] = {}
        deadline = time.monotonic() + 20
        while len(got) < len(sent) and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is None or m.error():
                assert m is None or m.error().code() == ck.KafkaError._PARTITION_EOF, m.error()
                continue
            got[(m.partition(), m.offset())] = (m.key(), m.value(), [(hk, hv) for hk, hv in m.headers() or []])
    finally:
        consumer.close()
    assert got == where
    assert all(p == partition_for_key(k, PARTITIONS) for (p, _), (k, _, _) in got.items())


@run_async
async def test_our_consumer_reads_what_confluent_kafka_wrote_on_the_same_partitions(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic = unique_name("rdkafka-to-ours")
    await create(bs, topic)
    sent = records(40)
    producer = ck.Producer({"bootstrap.servers": bs, "partitioner": "murmur2_random", "compression.type": "zstd",
                            "linger.ms": 5})
    reports: list[Any] = []
    for k, v, h in sent:
        producer.produce(topic, value=v, key=k, headers=h, on_delivery=lambda err, m: reports.append((err, m)))
    assert producer.flush(20) == 0
    assert all(err is None for err, _ in reports)
    rdkafka_placed = {(m.partition(), m.offset()) for _, m in reports}

    async with Consumer(bs, auto_offset_reset="earliest") as c:
        c.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        got: list[Any] = []
        deadline = time.monotonic() + 20
        while len(got) < len(sent) and time.monotonic() < deadline:
            got += await c.poll(timeout_ms=500)
    assert {(r.partition, r.offset) for r in got} == rdkafka_placed
    assert sorted((r.key, r.value, r.headers) for r in got) == sorted((k, v, tuple(h)) for k, v, h in sent)
    for r in got:
        assert r.key is not None and r.partition == partition_for_key(r.key, PARTITIONS)
