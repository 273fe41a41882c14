"""The producer pipeline seen from outside: interceptors, serializers, partitioners, delivery callbacks and the
sync wrapper on a real cluster; what our producer writes is read by kafka-python, and kafka-python's default
partitioner puts keys where ours does; a group member of ours commits where kafka-python resumes."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import pytest

from helpers import run_async, unique_name
from kafka_zk.client.admin import AdminClient, NewTopic
from kafka_zk.client.consumer import Consumer
from kafka_zk.client.partitioner import partition_for_key
from kafka_zk.client.producer import Producer, ProducerRecord, RecordMetadata
from kafka_zk.client.sync import SyncProducer
from kafka_zk.common.tp import TopicPartition

kafka = pytest.importorskip("kafka")

PARTITIONS = 5


async def create(bs: str, topic: str, partitions: int = PARTITIONS) -> None:
    async with AdminClient(bs) as admin:
        await admin.create_topic(NewTopic(topic, partitions, 2))


class Stamp:
    """Adds a header on send and counts acknowledgements — what a tracing interceptor does."""

    def __init__(self) -> None:
        self.acks: list[RecordMetadata | None] = []
        self.errors: list[BaseException] = []

    def on_send(self, record: ProducerRecord) -> ProducerRecord:
        record.headers = [*record.headers, ("traced", b"1")]
        return record

    def on_acknowledgement(self, metadata: RecordMetadata | None, error: BaseException | None) -> None:
        self.acks.append(metadata)
        if error is not None:
            self.errors.append(error)


def read_with_kafka_python(bs: str, topic: str, n: int) -> list[Any]:
    c = kafka.KafkaConsumer(bootstrap_servers=bs, auto_offset_reset="earliest", enable_auto_commit=False,
                            consumer_timeout_ms=10000)
    try:
        c.assign([kafka.TopicPartition(topic, p) for p in range(PARTITIONS)])
        got: list[Any] = []
        deadline = time.monotonic() + 30
        while len(got) < n and time.monotonic() < deadline:
            for batch in c.poll(timeout_ms=500).values():
                got.extend(batch)
        return got
    finally:
        c.close()


@run_async
async def test_pipeline_serializers_interceptors_callbacks_read_by_kafka_python(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic = unique_name("pipe")
    await create(bs, topic)
    stamp = Stamp()
    delivered: list[tuple[RecordMetadata | None, BaseException | None]] = []
    async with Producer(**{"bootstrap.servers": bs, "acks": "all", "linger.ms": 20, "compression.type": "snappy",
                           "enable.idempotence": True},
                        key_serializer=str.encode, value_serializer=lambda v: json.dumps(v).encode(),
                        interceptors=[stamp]) as p:
        futs = [await p.send(topic, {"n": i}, key=f"user-{i % 7}" if i % 2 else None,
                             on_delivery=lambda md, err: delivered.append((md, err))) for i in range(60)]
        await p.flush()
    metas = [f.result() for f in futs]
    assert len(delivered) == 60 and all(err is None for _, err in delivered)
    assert len(stamp.acks) == 60 and not stamp.errors
    # sticky: the 30 unkeyed records fill few batches instead of one record per partition per batch
    unkeyed_parts = Counter(m.partition for i, m in enumerate(metas) if i % 2 == 0)
    assert len(unkeyed_parts) <= 3, unkeyed_parts

    got = read_with_kafka_python(bs, topic, 60)
    assert sorted(json.loads(r.value)["n"] for r in got) == list(range(60))
    for r in got:
        assert [(k, v) for k, v in r.headers] == [("traced", b"1")]
        if r.key is not None:
            assert r.partition == partition_for_key(r.key, PARTITIONS)
    assert {(r.partition, r.offset) for r in got} == {(m.partition, m.offset) for m in metas}


@run_async
async def test_kafka_python_default_partitioner_agrees_with_ours(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic = unique_name("kp-keys")
    await create(bs, topic)
    keys = [f"k{i}".encode() for i in range(50)] + [b"", b"\xff" * 9]

    def produce() -> list[int]:
        p = kafka.KafkaProducer(bootstrap_servers=bs)
        try:
            return [p.send(topic, b"v", key=k).get(20).partition for k in keys]
        finally:
            p.close()
    theirs = await asyncio.to_thread(produce)
    async with Producer(bs) as ours:
        mine = [(await ours.send_and_wait(topic, b"v", key=k)).partition for k in keys]
    assert mine == theirs == [partition_for_key(k, PARTITIONS) for k in keys]


def test_sync_producer_for_scripts_and_round_robin(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic = unique_name("sync")
    asyncio.run(create(bs, topic))
    calls: list[int] = []
    with SyncProducer(bs, partitioner="round_robin", linger_ms=5) as p:
        futs = [p.send(topic, b"x", key=b"same", on_delivery=lambda md, err: calls.append(md.partition))
                for _ in range(10)]
        p.flush()
        parts = [f.get(10).partition for f in futs]
        assert p.send_and_wait(topic, b"y", partition=3, timeout=10).partition == 3
    assert sorted(parts) == sorted([0, 1, 2, 3, 4] * 2)  # round-robin ignores the key
    assert sorted(calls) == sorted(parts)
    with pytest.raises(RuntimeError, match="closed"):
        p.send(topic, b"z")


@run_async
async def test_group_commits_of_ours_are_where_kafka_python_resumes(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic, group = unique_name("resume"), unique_name("g")
    await create(bs, topic)
    async with Producer(bs, linger_ms=5) as p:
        for i in range(20):
            await p.send(topic, str(i).encode(), key=str(i).encode())
        await p.flush()
    async with Consumer(bs, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                        session_timeout_ms=6000, fetch_max_wait_ms=100) as c:
        c.subscribe([topic])
        got: list[Any] = []
        while len(got) < 20:
            got += await c.poll(timeout_ms=500)
        assert c.generation() >= 1 and c.member_id()
        await c.commit()
    assert {TopicPartition(topic, p) for p in range(PARTITIONS)} >= {TopicPartition(r.topic, r.partition) for r in got}

    def committed() -> dict[int, int | None]:
        kc = kafka.KafkaConsumer(bootstrap_servers=bs, group_id=group, enable_auto_commit=False)
        try:
            return {p: kc.committed(kafka.TopicPartition(topic, p)) for p in range(PARTITIONS)}
        finally:
            kc.close()
    theirs = await asyncio.to_thread(committed)
    ends = Counter(r.partition for r in got)
    assert {p: off for p, off in theirs.items() if off} == {p: n for p, n in ends.items()}
