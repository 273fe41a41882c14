"""Fetch sessions (KIP-227) with real clients: a consumer of many partitions and the brokers' own replica
fetchers switch to incremental fetches, and everything is still read exactly once; DeleteRecords through
real admin clients moves the log start offset on the leader and its follower.

Counted on the brokers (``GET /state`` → ``fetch_sessions``): full, incremental and sessionless fetches, and
how many partitions incremental answers left out. Which clients open sessions is printed (``-s``).
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any, Iterator

import pytest

from tests.conftest import TEST_CLUSTER_OVERRIDES
from tests.helpers import unique_name, wait_until

pytestmark = pytest.mark.slow

PARTITIONS = 60
PER_PARTITION = 5
N = PARTITIONS * PER_PARTITION


def sessions(cluster: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for b in cluster.state.brokers.values():
        st = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{b.control_port}/state", timeout=10).read())
        for k, v in st["fetch_sessions"].items():
            total[k] = total.get(k, 0) + v
    return total


def diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after}


def replicas(cluster: Any) -> dict[tuple[str, int, int], dict[str, Any]]:
    out = {}
    for b in cluster.state.brokers.values():
        st = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{b.control_port}/state", timeout=10).read())
        for r in st["replicas"]:
            out[(r["topic"], r["partition"], b.broker_id)] = r
    return out


@pytest.fixture(scope="module")
def two_brokers(zk_connect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Two brokers, so every partition (replication factor 2) has a follower fetching from a leader."""
    from kafka_zk.launch.cluster import LocalCluster

    cluster = LocalCluster(tmp_path_factory.mktemp("fetch-sessions"))
    try:
        cluster.up(2, zookeeper=f"{zk_connect}/{unique_name('fs')}", overrides=TEST_CLUSTER_OVERRIDES)
        yield cluster
    finally:
        cluster.down(grace_s=15)


def produce(bs: str, topic: str) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bs, "acks": "all", "linger.ms": 5})
    for p in range(PARTITIONS):
        for i in range(PER_PARTITION):
            producer.produce(topic, value=b"%d-%d" % (p, i), partition=p)
    assert producer.flush(60) == 0


def create_topic(bs: str, topic: str, partitions: int = PARTITIONS, config: dict[str, str] | None = None) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bs})
    admin.create_topics([NewTopic(topic, partitions, 2, config=config or {})])[topic].result(30)


def test_kafka_python_consumer_uses_incremental_fetches_and_reads_everything(two_brokers: Any) -> None:
    from kafka import KafkaConsumer, TopicPartition

    bs = two_brokers.bootstrap_servers
    topic = unique_name("fs-kp")
    create_topic(bs, topic)
    before = sessions(two_brokers)
    produce(bs, topic)
    consumer = KafkaConsumer(bootstrap_servers=bs.split(","), client_id="fs-kafka-python",
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=20000)
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    got = [(m.partition, m.offset) for _, m in zip(range(N), consumer)]
    # a few more rounds of empty incremental fetches while idle
    consumer.poll(timeout_ms=2000)
    consumer.close()
    assert sorted(got) == sorted((p, o) for p in range(PARTITIONS) for o in range(PER_PARTITION))
    d = diff(before, sessions(two_brokers))
    print(f"\nkafka-python + followers: {d}")
    assert d["sessions_created"] >= 1 and d["incremental_fetches"] > d["follower_incremental_fetches"]
    assert d["follower_incremental_fetches"] > 0  # our own replica fetchers
    assert d["partitions_omitted"] > 0 and d["session_id_not_found"] == 0


def test_confluent_kafka_consumer_reads_everything_with_or_without_sessions(two_brokers: Any) -> None:
    from confluent_kafka import Consumer, TopicPartition

    bs = two_brokers.bootstrap_servers
    topic = unique_name("fs-ck")
    create_topic(bs, topic)
    produce(bs, topic)
    before = sessions(two_brokers)
    consumer = Consumer({"bootstrap.servers": bs, "group.id": unique_name("fs-ck-g"), "client.id": "fs-ck",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < N and time.monotonic() < deadline:
        m = consumer.poll(1.0)
        if m is not None and m.error() is None:
            got.append((m.partition(), m.offset()))
    consumer.close()
    assert sorted(got) == sorted((p, o) for p in range(PARTITIONS) for o in range(PER_PARTITION))
    d = diff(before, sessions(two_brokers))
    print(f"\nconfluent-kafka (librdkafka) + followers: {d}")
    assert d["session_id_not_found"] == 0 and d["invalid_session_epoch"] == 0


def test_aiokafka_consumer_reads_everything(two_brokers: Any) -> None:
    import asyncio

    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    bs = two_brokers.bootstrap_servers
    topic = unique_name("fs-aio")
    create_topic(bs, topic)
    produce(bs, topic)

    async def consume() -> list[tuple[int, int]]:
        c = AIOKafkaConsumer(bootstrap_servers=bs, auto_offset_reset="earliest", enable_auto_commit=False)
        await c.start()
        try:
            c.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
            got: list[tuple[int, int]] = []
            while len(got) < N:
                batch = await asyncio.wait_for(c.getmany(timeout_ms=1000), 60)
                got += [(m.partition, m.offset) for ms in batch.values() for m in ms]
            return got
        finally:
            await c.stop()

    got = asyncio.run(consume())
    assert sorted(got) == sorted((p, o) for p in range(PARTITIONS) for o in range(PER_PARTITION))


def test_delete_records_with_confluent_kafka_moves_leader_and_follower(two_brokers: Any) -> None:
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient

    bs = two_brokers.bootstrap_servers
    topic, compacted = unique_name("fs-dr"), unique_name("fs-drc")
    create_topic(bs, topic, 2)
    create_topic(bs, compacted, 1, {"cleanup.policy": "compact"})
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bs, "acks": "all"})
    for i in range(10):
        producer.produce(topic, value=b"v%d" % i, partition=0)
        producer.produce(compacted, key=b"k", value=b"v%d" % i, partition=0)
    assert producer.flush(30) == 0
    admin = AdminClient({"bootstrap.servers": bs})
    done = admin.delete_records([TopicPartition(topic, 0, 4)])
    result = done[TopicPartition(topic, 0, 4)].result(30)
    assert result.low_watermark == 4  # the low watermark: leader and follower both start at 4
    assert {r["log_start_offset"] for (t, p, _), r in replicas(two_brokers).items() if (t, p) == (topic, 0)} == {4}
    too_far = admin.delete_records([TopicPartition(topic, 0, 11)])[TopicPartition(topic, 0, 11)]
    with pytest.raises(Exception) as e:
        too_far.result(30)
    assert "OFFSET_OUT_OF_RANGE" in str(e.value)
    policy = admin.delete_records([TopicPartition(compacted, 0, 1)])[TopicPartition(compacted, 0, 1)]
    with pytest.raises(Exception) as e:
        policy.result(30)
    assert "POLICY_VIOLATION" in str(e.value)
    # -1 (confluent's OFFSET_END) = up to the high watermark
    end = admin.delete_records([TopicPartition(topic, 0, -1)])[TopicPartition(topic, 0, -1)].result(30)
    assert end.low_watermark == 10
    wait_until(lambda: {r["log_start_offset"] for (t, p, _), r in replicas(two_brokers).items()
                        if (t, p) == (topic, 0)} == {10}, timeout=30)


def test_delete_records_with_kafka_python(two_brokers: Any) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    bs = two_brokers.bootstrap_servers
    topic = unique_name("fs-drkp")
    create_topic(bs, topic, 1)
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bs, "acks": "all"})
    for i in range(6):
        producer.produce(topic, value=b"v%d" % i, partition=0)
    assert producer.flush(30) == 0
    admin = KafkaAdminClient(bootstrap_servers=bs.split(","))
    out = admin.delete_records({TopicPartition(topic, 0): 3})
    admin.close()
    assert out[TopicPartition(topic, 0)]["low_watermark"] == 3
    consumer = KafkaConsumer(bootstrap_servers=bs.split(","))
    assert consumer.beginning_offsets([TopicPartition(topic, 0)]) == {TopicPartition(topic, 0): 3}
    consumer.close()


def test_delete_records_cli(two_brokers: Any, tmp_path: Any) -> None:
    import subprocess
    import sys

    from confluent_kafka import Producer

    bs = two_brokers.bootstrap_servers
    topic = unique_name("fs-drcli")
    create_topic(bs, topic, 2)
    producer = Producer({"bootstrap.servers": bs, "acks": "all"})
    for i in range(5):
        producer.produce(topic, value=b"v%d" % i, partition=0)
    assert producer.flush(30) == 0
    spec = tmp_path / "offsets.json"
    spec.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 0, "offset": 3},
                                               {"topic": topic, "partition": 1, "offset": 1}], "version": 1}))
    out = subprocess.run([sys.executable, "-m", "kafka_zk", "delete-records", "--bootstrap-server", bs,
                          "--offset-json-file", str(spec)], capture_output=True, text=True, timeout=120)
    assert out.stdout.splitlines() == [
        "Executing records delete operation",
        "Records delete operation completed:",
        f"partition: {topic}-0\tlow_watermark: 3",
        f"partition: {topic}-1\terror: OFFSET_OUT_OF_RANGE",  # partition 1 is empty: its HW is 0
    ], out.stderr
    assert out.returncode == 1


def test_wire_session_errors_leader_epoch_v4_and_init_producer_id_v3(two_brokers: Any) -> None:
    """Raw frames where no client library goes: the session errors, OffsetForLeaderEpoch v4 (flexible) and
    InitProducerId v3's producer id/epoch pair (both or neither, else INVALID_REQUEST, as Kafka 2.8)."""
    import asyncio

    from kafka_zk.client.connection import KafkaConnection
    from kafka_zk.common.errors import ErrorCode
    from kafka_zk.protocol.apis import ApiKey
    from kafka_zk.protocol.messages import FetchRequest, InitProducerIdRequest, OffsetForLeaderEpochRequest

    bs = two_brokers.bootstrap_servers
    topic = unique_name("fs-wire")
    create_topic(bs, topic, 1)
    from confluent_kafka.admin import AdminClient

    leader = AdminClient({"bootstrap.servers": bs}).list_topics(topic, timeout=10).topics[topic].partitions[0].leader
    host, port = two_brokers.broker(leader).bootstrap.split(":")

    def fetch(session_id: int, epoch: int) -> Any:
        return FetchRequest(replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, isolation_level=0,
                            session_id=session_id, session_epoch=epoch, topics=[FetchRequest.FetchTopic(
                                topic=topic, partitions=[FetchRequest.FetchPartition(
                                    partition=0, fetch_offset=0, log_start_offset=-1, partition_max_bytes=1 << 20)])])

    async def run() -> None:
        conn = await KafkaConnection.open(host, int(port))
        try:
            full = await conn.request(ApiKey.FETCH, fetch(0, 0), version=10)
            assert full.error_code == 0 and full.session_id > 0 and len(full.responses) == 1
            inc = await conn.request(ApiKey.FETCH, fetch(full.session_id, 1), version=10)
            assert (inc.error_code, inc.session_id, inc.responses) == (0, full.session_id, [])  # nothing new
            stale = await conn.request(ApiKey.FETCH, fetch(full.session_id, 1), version=10)
            assert (stale.error_code, stale.responses) == (ErrorCode.INVALID_FETCH_SESSION_EPOCH, [])
            unknown = await conn.request(ApiKey.FETCH, fetch(12345, 3), version=10)
            assert unknown.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
            closed = await conn.request(ApiKey.FETCH, fetch(full.session_id, -1), version=10)
            assert (closed.error_code, closed.session_id, len(closed.responses)) == (0, 0, 1)

            epoch = await conn.request(ApiKey.OFFSET_FOR_LEADER_EPOCH, OffsetForLeaderEpochRequest(
                replica_id=-1, topics=[OffsetForLeaderEpochRequest.OffsetForLeaderTopic(topic=topic, partitions=[
                    OffsetForLeaderEpochRequest.OffsetForLeaderPartition(partition=0, leader_epoch=0)])]),
                version=4)
            p = epoch.topics[0].partitions[0]
            assert (p.error_code, p.leader_epoch, p.end_offset) == (0, 0, 0)

            def init(pid: int, pe: int) -> Any:
                return InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000,
                                             producer_id=pid, producer_epoch=pe)

            first = await conn.request(ApiKey.INIT_PRODUCER_ID, init(-1, -1), version=4)
            assert first.error_code == 0 and first.producer_id >= 0 and first.producer_epoch == 0
            bumped = await conn.request(ApiKey.INIT_PRODUCER_ID, init(first.producer_id, 0), version=3)
            assert bumped.error_code == 0 and bumped.producer_id != first.producer_id  # Kafka: a fresh id
            half = await conn.request(ApiKey.INIT_PRODUCER_ID, init(first.producer_id, -1), version=3)
            assert half.error_code == ErrorCode.INVALID_REQUEST
        finally:
            await conn.close()

    asyncio.run(run())
