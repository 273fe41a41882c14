"""Each real client's whole version set is served: confluent-kafka, kafka-python, aiokafka and kcat against a
real cluster, doing what their users do (admin, idempotent produce, a consumer group with commits, offsets
lookups), while the brokers count every request per client id and version (``GET /requests``).

The assertion is the one a user relies on: whatever API versions the client picked after ApiVersions
negotiation, every one was served — none answered by closing the connection — and the core APIs of each
workload were used. The versions each client picked are printed (``-s``) for the coverage discussion.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.request
from typing import Any

import pytest

from kafka_zk.protocol.apis import ApiKey, api_name
from tests.helpers import unique_name

pytestmark = pytest.mark.slow

N = 200
K = ApiKey
#: APIs every workload below needs: a client that got none of these served did not really run.
CORE = {
    K.API_VERSIONS,
    K.METADATA,
    K.PRODUCE,
    K.FETCH,
    K.FIND_COORDINATOR,
    K.JOIN_GROUP,
    K.SYNC_GROUP,
    K.OFFSET_COMMIT,
    K.OFFSET_FETCH,
}


def stats(cluster: Any) -> list[dict[str, Any]]:
    return [
        json.loads(urllib.request.urlopen(f"http://127.0.0.1:{b.control_port}/requests", timeout=10).read())
        for b in cluster.state.brokers.values()
    ]


def delta(
    before: list[dict[str, Any]], after: list[dict[str, Any]], client_id: str
) -> tuple[dict[str, int], set]:
    """Between two snapshots: (refused requests, (api_key, version) pairs served to ``client_id``)."""
    refused: dict[str, int] = {}
    served: set[tuple[int, int]] = set()
    for b, a in zip(before, after):
        for key, n in a["refused"].items():
            if n > b["refused"].get(key, 0):
                refused[key] = refused.get(key, 0) + n - b["refused"].get(key, 0)
        old = b["by_client"].get(client_id, {})
        for key, n in a["by_client"].get(client_id, {}).items():
            if n > old.get(key, 0):
                api_key, version = key.split(":")
                served.add((int(api_key), int(version)))
    return refused, served


def check(
    name: str, before: list[dict[str, Any]], cluster: Any, client_id: str, extra: frozenset[int] = frozenset()
) -> None:
    refused, served = delta(before, stats(cluster), client_id)
    picked = ", ".join(f"{api_name(k)} v{v}" for k, v in sorted(served))
    print(f"\n{name} ({client_id}) used: {picked}")
    assert refused == {}, f"{name}: the brokers refused (closed the connection on) {refused}"
    missing = {api_name(k) for k in (CORE | extra) - {k for k, _ in served}}
    assert not missing, f"{name}: never served {sorted(missing)} — did the workload run?"


def test_confluent_kafka_version_set(shared_cluster: Any) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

    cid, bs = "vs-confluent", shared_cluster.bootstrap_servers
    topic, group = unique_name("vs-ck"), unique_name("vs-ck-g")
    before = stats(shared_cluster)
    admin = AdminClient({"bootstrap.servers": bs, "client.id": cid})
    admin.create_topics([NewTopic(topic, 3, 2)])[topic].result(30)
    admin.describe_cluster().result(30)
    producer = Producer(
        {"bootstrap.servers": bs, "client.id": cid, "enable.idempotence": True, "compression.type": "lz4"}
    )
    for i in range(N):
        producer.produce(topic, key=b"k%d" % (i % 10), value=b"v%d" % i)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": bs,
            "client.id": cid,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 60
    while got < N and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            got += 1
    consumer.commit(asynchronous=False)
    assert consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=30)
    consumer.close()
    assert got == N
    admin.list_consumer_groups().result(30)
    admin.describe_consumer_groups([group])[group].result(30)
    admin.list_offsets({TopicPartition(topic, 0): OffsetSpec.latest()})[TopicPartition(topic, 0)].result(30)
    check(
        "confluent-kafka",
        before,
        shared_cluster,
        cid,
        {
            K.CREATE_TOPICS,
            K.INIT_PRODUCER_ID,
            K.LIST_GROUPS,
            K.DESCRIBE_GROUPS,
            K.LIST_OFFSETS,
            K.LEAVE_GROUP,
        },
    )


def test_kafka_python_version_set(shared_cluster: Any) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic

    cid, bs = "vs-kafka-python", shared_cluster.bootstrap_servers.split(",")
    topic, group = unique_name("vs-kp"), unique_name("vs-kp-g")
    before = stats(shared_cluster)
    admin = KafkaAdminClient(bootstrap_servers=bs, client_id=cid)
    admin.create_topics([NewTopic(topic, 3, 2)])
    producer = KafkaProducer(bootstrap_servers=bs, client_id=cid, acks="all", linger_ms=5)
    futures = [producer.send(topic, key=b"k%d" % (i % 10), value=b"v%d" % i) for i in range(N)]
    producer.flush(60)
    assert all(f.succeeded() for f in futures)
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bs,
        client_id=cid,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=20000,
    )
    got = 0
    for _ in consumer:
        got += 1
        if got == N:
            break
    consumer.commit()
    consumer.end_offsets([TopicPartition(topic, p) for p in range(3)])
    consumer.close()
    assert got == N
    admin.list_groups()
    admin.describe_groups([group])
    # (not admin.describe_cluster(): kafka-python 3.0 fails on a DescribeCluster v0 answer — it pops the v1
    # field endpoint_type — so it fails against Kafka 2.8 too, which also has only v0)
    admin.describe_log_dirs()
    admin.close()
    check(
        "kafka-python",
        before,
        shared_cluster,
        cid,
        {K.CREATE_TOPICS, K.LIST_GROUPS, K.DESCRIBE_GROUPS, K.LIST_OFFSETS, K.DESCRIBE_LOG_DIRS},
    )


def test_aiokafka_version_set(shared_cluster: Any) -> None:
    cid, bs = "vs-aiokafka", shared_cluster.bootstrap_servers
    topic, group = unique_name("vs-aio"), unique_name("vs-aio-g")
    before = stats(shared_cluster)
    asyncio.run(_aiokafka(bs, cid, topic, group))
    check("aiokafka", before, shared_cluster, cid, {K.CREATE_TOPICS, K.INIT_PRODUCER_ID, K.LIST_OFFSETS})


async def _aiokafka(bs: str, cid: str, topic: str, group: str) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bs, client_id=cid)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 2)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bs, client_id=cid, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for i in range(N):
            await producer.send(topic, key=b"k%d" % (i % 10), value=b"v%d" % i)
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bs,
        client_id=cid,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got = 0
    try:
        deadline = time.monotonic() + 60
        while got < N and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            got += sum(len(msgs) for msgs in batch.values())
        await consumer.commit()
        await consumer.end_offsets(list(consumer.assignment()))
    finally:
        await consumer.stop()
    assert got == N


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed (apt-get install kcat)")
def test_kcat_version_set(shared_cluster: Any) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    cid, bs = "vs-kcat", shared_cluster.bootstrap_servers
    topic, group = unique_name("vs-kcat"), unique_name("vs-kcat-g")
    admin = AdminClient({"bootstrap.servers": bs})
    admin.create_topics([NewTopic(topic, 3, 2)])[topic].result(30)
    before = stats(shared_cluster)
    x = ["-X", f"client.id={cid}"]
    subprocess.run(["kcat", "-L", "-b", bs, *x], check=True, capture_output=True, timeout=60)
    lines = b"".join(b"k%d\tv%d\n" % (i % 10, i) for i in range(N))
    subprocess.run(
        [
            "kcat",
            "-P",
            "-b",
            bs,
            "-t",
            topic,
            "-K",
            "\t",
            "-z",
            "snappy",
            *x,
            "-X",
            "enable.idempotence=true",
        ],
        input=lines,
        check=True,
        timeout=120,
    )
    out = subprocess.run(
        ["kcat", "-b", bs, "-G", group, topic, "-e", "-q", *x, "-X", "auto.offset.reset=earliest"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    assert len(out.splitlines()) == N
    check("kcat", before, shared_cluster, cid, {K.INIT_PRODUCER_ID})
