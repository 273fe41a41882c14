"""Unmodified Kafka clients against a 3-broker cluster of real processes.

Each client produces 10,000 keyed records with headers, spread over every compression codec this machine
has, to a 6-partition RF-3 topic, then consumes them back. Every record must come back exactly once (the
producers are idempotent or acks=all with retries), in per-partition order (values carry a sequence number
per key; keys map to one partition), with its key, headers and value intact.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections import defaultdict
from typing import Any

import pytest

from kafka_zk.record.compression import available_codecs

N = 10_000
PARTITIONS = 6
KEYS = 50

CODEC_NAMES = {1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def codecs() -> list[str]:
    have = {int(c) for c in available_codecs()}
    return [name for code, name in CODEC_NAMES.items() if code in have]


def create_topic(bootstrap: str, topic: str, partitions: int = PARTITIONS, rf: int = 3,
                 replica_assignment: list[list[int]] | None = None) -> None:
    """Create ``topic`` (``partitions`` x ``rf``, or as ``replica_assignment`` lists, preferred leader first)
    and wait until every partition has a leader."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    if replica_assignment is not None:
        partitions = len(replica_assignment)
        new = NewTopic(topic, num_partitions=partitions, replica_assignment=replica_assignment)
    else:
        new = NewTopic(topic, partitions, rf)
    admin.create_topics([new])[topic].result(30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        md = admin.list_topics(topic, timeout=5).topics[topic]
        if md.error is None and len(md.partitions) == partitions and all(p.leader >= 0 for p in md.partitions.values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {topic} did not get leaders")


def records() -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """(key, value, headers); value = b'<key>:<seq within key>:<padding>'."""
    seq: dict[int, int] = defaultdict(int)
    out = []
    for i in range(N):
        k = i % KEYS
        out.append((b"key-%d" % k, b"%d:%d:%s" % (k, seq[k], b"x" * (i % 90)), [("n", b"%d" % i), ("src", b"test")]))
        seq[k] += 1
    return out


def check(consumed: list[tuple[int, bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    """consumed: (partition, key, value, headers) in consumption order."""
    expected = {r[1]: r for r in records()}
    assert len(consumed) == N, f"consumed {len(consumed)} records, expected {N}"
    values = [c[2] for c in consumed]
    assert len(set(values)) == N, "duplicates or losses"
    last_seq: dict[bytes, int] = {}
    key_partition: dict[bytes, int] = {}
    for partition, key, value, headers in consumed:
        exp = expected[value]
        assert key == exp[0]
        assert [(h, bytes(v)) for h, v in headers] == exp[2]
        assert key_partition.setdefault(key, partition) == partition, f"{key!r} in two partitions"
        seq = int(value.split(b":")[1])
        assert seq > last_seq.get(key, -1), f"out of order within {key!r}"
        last_seq[key] = seq


@pytest.mark.slow
def test_confluent_kafka(shared_cluster: Any) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition

    bs, topic = shared_cluster.bootstrap_servers, "interop-confluent"
    create_topic(bs, topic)
    recs = records()
    errors: list[Any] = []
    chunk = N // len(codecs())
    for ci, codec in enumerate(codecs()):
        p = Producer({"bootstrap.servers": bs, "compression.codec": codec, "enable.idempotence": True, "linger.ms": 5})
        for key, value, headers in recs[ci * chunk : N if ci == len(codecs()) - 1 else (ci + 1) * chunk]:
            p.produce(topic, value, key, headers=headers, on_delivery=lambda e, m: errors.append(e) if e else None)
        assert p.flush(60) == 0
    assert errors == []
    c = Consumer({"bootstrap.servers": bs, "group.id": "interop-confluent", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    got: list[Any] = []
    deadline = time.monotonic() + 60
    while len(got) < N and time.monotonic() < deadline:
        for m in c.consume(1000, 1.0):
            assert m.error() is None, m.error()
            got.append((m.partition(), m.key(), m.value(), m.headers() or []))
    c.close()
    check(got)


@pytest.mark.slow
def test_kafka_python(shared_cluster: Any) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    bs, topic = shared_cluster.bootstrap_servers.split(","), "interop-kafka-python"
    create_topic(",".join(bs), topic)
    recs = records()
    chunk = N // len(codecs())
    for ci, codec in enumerate(codecs()):
        p = KafkaProducer(bootstrap_servers=bs, compression_type=codec, linger_ms=5)  # idempotent by default
        futures = [p.send(topic, key=k, value=v, headers=h) for k, v, h in recs[ci * chunk : N if ci == len(codecs()) - 1 else (ci + 1) * chunk]]
        p.flush(60)
        assert all(f.succeeded() for f in futures), next(f.exception for f in futures if f.failed())
        p.close()
    c = KafkaConsumer(bootstrap_servers=bs, auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=10000)
    c.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    c.seek_to_beginning()
    got = []
    for m in c:
        got.append((m.partition, m.key, m.value, list(m.headers)))
        if len(got) == N:
            break
    c.close()
    check(got)


@pytest.mark.slow
def test_aiokafka(shared_cluster: Any) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    bs, topic = shared_cluster.bootstrap_servers, "interop-aiokafka"
    create_topic(bs, topic)
    recs = records()

    async def run() -> list[Any]:
        chunk = N // len(codecs())
        for ci, codec in enumerate(codecs()):
            p = AIOKafkaProducer(bootstrap_servers=bs, compression_type=codec, acks="all", enable_idempotence=True)
            await p.start()
            try:
                futs = [await p.send(topic, value=v, key=k, headers=h) for k, v, h in recs[ci * chunk : N if ci == len(codecs()) - 1 else (ci + 1) * chunk]]
                await asyncio.gather(*futs)
            finally:
                await p.stop()
        from aiokafka import TopicPartition

        c = AIOKafkaConsumer(bootstrap_servers=bs, auto_offset_reset="earliest", enable_auto_commit=False)
        await c.start()
        c.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        await c.seek_to_beginning()
        got: list[Any] = []
        try:
            deadline = time.monotonic() + 60
            while len(got) < N and time.monotonic() < deadline:
                batch = await c.getmany(timeout_ms=1000)
                for msgs in batch.values():
                    got.extend((m.partition, m.key, m.value, list(m.headers)) for m in msgs)
        finally:
            await c.stop()
        return got

    check(asyncio.run(run()))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed (apt-get install kcat)")
def test_kcat(shared_cluster: Any) -> None:
    bs, topic = shared_cluster.bootstrap_servers, "interop-kcat"
    create_topic(bs, topic)
    recs = records()
    chunk = N // len(codecs())
    for ci, codec in enumerate(codecs()):
        part = recs[ci * chunk : N if ci == len(codecs()) - 1 else (ci + 1) * chunk]
        # kcat reads "key\tvalue" lines; headers come from -H and are the same for every record of a run,
        # so this run checks keys, values and codecs, and the static header.
        lines = b"".join(k + b"\t" + v + b"\n" for k, v, _ in part)
        subprocess.run(
            ["kcat", "-P", "-b", bs, "-t", topic, "-K", "\t", "-z", codec, "-H", "src=test",
             "-X", "enable.idempotence=true", "-X", "linger.ms=5"],
            input=lines, check=True, timeout=120,
        )
    out = subprocess.run(
        ["kcat", "-C", "-b", bs, "-t", topic, "-e", "-o", "beginning", "-q", "-f", "%p\t%k\t%s\t%h\n"],
        capture_output=True, check=True, timeout=120,
    ).stdout
    got = []
    for line in out.splitlines():
        partition, key, value, headers = line.split(b"\t", 3)
        assert headers == b"src=test"
        got.append((int(partition), key, value))
    expected = {v: k for k, v, _ in recs}
    assert len(got) == N and len({g[2] for g in got}) == N
    last: dict[tuple[int, bytes], int] = {}
    for partition, key, value in got:
        assert expected[value] == key
        seq = int(value.split(b":")[1])
        assert seq > last.get((partition, key), -1)
        last[(partition, key)] = seq
