"""The Kafka 0.8 ZooKeeper consumer (``kafka_zk.zkconsumer.ZkConsumer``) against a real ZooKeeper and a real
broker: a group shares partitions without overlap, a dead member's partitions move, committed offsets
survive a restart and show in ``kafka-zk consumer-groups --zookeeper --describe``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from typing import Any, Iterator

import pytest

from helpers import async_wait_until, expire_session, run_async, unique_name
from kafka_zk.client.admin import AdminClient, NewTopic
from kafka_zk.client.consumer import ConsumerRecord
from kafka_zk.client.producer import Producer
from kafka_zk.common.tp import TopicPartition
from kafka_zk.zkconsumer import ZkConsumer
from zk_layout import KafkaZkClient

#: Quick enough for tests; Kafka's defaults are 2000 ms / 4 retries.
FAST = {"rebalance_backoff_ms": 300, "rebalance_max_retries": 10, "auto_offset_reset": "smallest"}


@pytest.fixture(scope="module")
def cluster(zk_connect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One broker is enough: the consumer group lives in ZooKeeper, not in the brokers."""
    from tests.conftest import TEST_CLUSTER_OVERRIDES
    from kafka_zk.launch.cluster import LocalCluster

    c = LocalCluster(tmp_path_factory.mktemp("zkconsumer-cluster"))
    try:
        c.up(1, zookeeper=f"{zk_connect}/zkc-{uuid.uuid4().hex[:10]}", overrides=TEST_CLUSTER_OVERRIDES)
        yield c
    finally:
        c.down(grace_s=15)


async def make_topic(bs: str, partitions: int, records: int) -> str:
    topic = unique_name("zkc")
    async with AdminClient(bs) as admin:
        await admin.create_topic(NewTopic(topic, partitions, 1))
    await produce(bs, topic, 0, records)
    return topic


async def produce(bs: str, topic: str, start: int, count: int) -> None:
    async with Producer(bs, linger_ms=5) as p:
        for i in range(start, start + count):
            await p.send(topic, f"v{i}".encode(), f"k{i}".encode())
        await p.flush()


def owned(consumers: list[ZkConsumer]) -> list[TopicPartition]:
    return sorted(tp for c in consumers for tp in c.assignment())


async def settled(consumers: list[ZkConsumer], topic: str, partitions: int) -> bool:
    """Every member done rebalancing, and together they own each partition exactly once."""
    if any(c.rebalancing for c in consumers):
        return False
    return owned(consumers) == [TopicPartition(topic, p) for p in range(partitions)]


async def drain(consumers: list[ZkConsumer], want: int | set[bytes], timeout: float = 30.0) -> list[ConsumerRecord]:
    """Poll until ``want`` records arrived (or, given a set of values, until each of them did)."""
    got: list[ConsumerRecord] = []
    deadline = asyncio.get_running_loop().time() + timeout

    def missing() -> bool:
        if isinstance(want, int):
            return len(got) < want
        return not want <= {r.value for r in got}

    while missing() and asyncio.get_running_loop().time() < deadline:
        for batch in await asyncio.gather(*(c.poll(timeout_ms=200) for c in consumers)):
            got.extend(batch)
    return got


@run_async
async def test_three_consumers_share_six_partitions_and_a_dead_ones_partitions_move(cluster: Any) -> None:
    bs, zkc = cluster.bootstrap_servers, cluster.zookeeper_connect
    topic, group = await make_topic(bs, 6, 60), unique_name("g")
    consumers = [ZkConsumer(zookeeper_connect=zkc, group_id=group, topics={topic: 1}, consumer_id=f"c{i}", **FAST)
                 for i in range(3)]
    try:
        for c in consumers:
            await c.start()
        await async_wait_until(lambda: settled(consumers, topic, 6), timeout=60,
                               message="three consumers did not settle on six partitions")
        # Range assignment over the sorted ids: c0 gets 0-1, c1 2-3, c2 4-5 — and ZooKeeper says the same.
        assert [sorted(tp.partition for tp in c.assignment()) for c in consumers] == [[0, 1], [2, 3], [4, 5]]
        zk = KafkaZkClient(zkc, session_timeout_ms=10000).start()
        try:
            assert zk.get_consumers_in_group(group) == [f"{group}_c0", f"{group}_c1", f"{group}_c2"]
            assert zk.get_partition_owners(group, topic) == {p: f"{group}_c{p // 2}-0" for p in range(6)}
            reg = zk.get_consumer_registrations(group)[f"{group}_c1"]
            assert (reg.subscription, reg.pattern) == ({topic: 1}, "static")
        finally:
            zk.close()
        records = await drain(consumers, 60)
        assert sorted(r.value for r in records) == sorted(f"v{i}".encode() for i in range(60))
        assert len(records) == 60  # nobody read a partition twice

        dead = consumers.pop(1)
        await dead.abort()  # its session ends: registration and owner znodes vanish, nothing committed
        await async_wait_until(lambda: settled(consumers, topic, 6), timeout=60,
                               message="survivors did not take over the dead consumer's partitions")
        assert [sorted(tp.partition for tp in c.assignment()) for c in consumers] == [[0, 1, 2], [3, 4, 5]]
        await produce(bs, topic, 60, 30)
        new = {f"v{i}".encode() for i in range(60, 90)}
        more = await drain(consumers, new)
        assert new <= {r.value for r in more}
        from_dead = {r.partition for r in more if r.value and int(r.value[1:]) >= 60} & {2, 3}
        assert from_dead, "new records of the dead consumer's partitions were not read by the survivors"
    finally:
        for c in consumers:
            await c.close()


@run_async
async def test_committed_offsets_survive_a_restart_and_show_in_consumer_groups(cluster: Any) -> None:
    bs, zkc = cluster.bootstrap_servers, cluster.zookeeper_connect
    topic, group = await make_topic(bs, 2, 40), unique_name("g")
    settings = {**FAST, "auto_commit_enable": False}
    first = ZkConsumer(zookeeper_connect=zkc, group_id=group, topics=[topic], consumer_id="one", **settings)
    await first.start()
    try:
        got: list[ConsumerRecord] = []
        while len(got) < 25:
            got += await first.poll(timeout_ms=500, max_records=25 - len(got))
        await first.commit()
        expected = {p: max(r.offset for r in got if r.partition == p) + 1 for p in {r.partition for r in got}}
        for p, off in expected.items():
            assert await first.committed((topic, p)) == off
        # A live owner shows up in the old tool's CONSUMER-ID column.
        d = subprocess.run([sys.executable, "-m", "kafka_zk", "consumer-groups", "--zookeeper", zkc, "--describe",
                            "--group", group], capture_output=True, text=True, timeout=120)
        assert d.returncode == 0, d.stderr
        rows = {int(ln.split()[1]): ln.split() for ln in d.stdout.splitlines()[2:]}
        for p, off in expected.items():
            assert rows[p][2] == str(off) and rows[p][5] == f"{group}_one", d.stdout
    finally:
        await first.close()

    # A new consumer in the group resumes exactly after what was committed: nothing lost, nothing repeated.
    second = ZkConsumer(zookeeper_connect=zkc, group_id=group, topics=[topic], consumer_id="two", **settings)
    await second.start()
    try:
        rest = await drain([second], 40 - len(got))
    finally:
        await second.close()
    assert sorted(r.value for r in got + rest) == sorted(f"v{i}".encode() for i in range(40))
    assert len(got) + len(rest) == 40


@run_async
async def test_largest_skips_history_and_a_session_expiry_registers_again(cluster: Any) -> None:
    bs, zkc = cluster.bootstrap_servers, cluster.zookeeper_connect
    topic, group = await make_topic(bs, 3, 15), unique_name("g")
    c = ZkConsumer(zookeeper_connect=zkc, group_id=group, topics={topic: 2}, consumer_id="solo",
                   rebalance_backoff_ms=300, rebalance_max_retries=10)  # auto.offset.reset=largest
    await c.start()
    try:
        assert set(c.assignment().values()) == {f"{group}_solo-0", f"{group}_solo-1"}  # two streams
        assert await c.poll(timeout_ms=300) == []  # history is skipped
        await produce(bs, topic, 15, 6)
        assert sorted(r.value for r in await drain([c], 6)) == sorted(f"v{i}".encode() for i in range(15, 21))
        assert c._zk is not None
        rebalances = c.stats.rebalances
        expire_session(c._zk.kazoo)
        await async_wait_until(lambda: c.stats.rebalances > rebalances and not c.rebalancing, timeout=30)
        zk = KafkaZkClient(zkc, session_timeout_ms=10000).start()
        try:
            assert zk.get_consumers_in_group(group) == [f"{group}_solo"]
            assert sorted(zk.get_partition_owners(group, topic)) == [0, 1, 2]
        finally:
            zk.close()
    finally:
        await c.close()
    zk = KafkaZkClient(zkc, session_timeout_ms=10000).start()
    try:  # close() committed with auto commit on: the positions after the six records
        assert sum(zk.get_consumer_offset(group, topic, p) or 0 for p in range(3)) == 21
        assert zk.get_consumers_in_group(group) == []
    finally:
        zk.close()


@run_async
async def test_added_partitions_and_new_matching_topics_trigger_a_rebalance(cluster: Any) -> None:
    bs, zkc = cluster.bootstrap_servers, cluster.zookeeper_connect
    topic, group = await make_topic(bs, 2, 0), unique_name("g")
    static = ZkConsumer(zookeeper_connect=zkc, group_id=group, topics=[topic], consumer_id="s", **FAST)
    prefix = unique_name("wild")
    wild = ZkConsumer(zookeeper_connect=zkc, group_id=unique_name("gw"), whitelist=f"{prefix}-.*",
                      consumer_id="w", **FAST)
    await static.start()
    await wild.start()
    try:
        assert wild.assignment() == {}  # nothing matches yet
        async with AdminClient(bs) as admin:
            await admin.create_partitions({topic: 4})  # the data watch on /brokers/topics/<t> fires
            await admin.create_topic(NewTopic(f"{prefix}-a", 2, 1))  # the children watch on /brokers/topics
        await async_wait_until(lambda: settled([static], topic, 4), timeout=30,
                               message="the added partitions were not claimed")
        await async_wait_until(lambda: settled([wild], f"{prefix}-a", 2), timeout=30,
                               message="the new topic matching the whitelist was not claimed")
        await produce(bs, f"{prefix}-a", 0, 4)
        assert sorted(r.value for r in await drain([wild], 4)) == [b"v0", b"v1", b"v2", b"v3"]
    finally:
        await static.close()
        await wild.close()


@run_async
async def test_an_owner_that_does_not_go_away_makes_claims_back_off_and_give_up(cluster: Any) -> None:
    from kafka_zk.zkconsumer import ZkRebalanceFailedError

    bs, zkc = cluster.bootstrap_servers, cluster.zookeeper_connect
    topic, group = await make_topic(bs, 3, 0), unique_name("g")
    stale = KafkaZkClient(zkc, session_timeout_ms=10000).start()  # an old member that still owns partition 2
    try:
        assert stale.claim_partition_owner(group, topic, 2, f"{group}_old-0")
        c = ZkConsumer(zookeeper_connect=zkc, group_id=group, topics=[topic], consumer_id="new",
                       rebalance_backoff_ms=100, rebalance_max_retries=3)
        with pytest.raises(ZkRebalanceFailedError, match="can't rebalance after 3 retries"):
            await c.start()
        assert (c.stats.rebalance_attempts, c.stats.owner_conflicts) == (3, 3)
        # Every attempt gave back what it had claimed: only the stale owner is left.
        assert stale.get_partition_owners(group, topic) == {2: f"{group}_old-0"}

        patient = ZkConsumer(zookeeper_connect=zkc, group_id=group, topics=[topic], consumer_id="new",
                             rebalance_backoff_ms=200, rebalance_max_retries=50)
        starting = asyncio.create_task(patient.start())
        await async_wait_until(lambda: patient.stats.owner_conflicts >= 2, timeout=20)
        stale.release_partition_owner(group, topic, 2)  # the old member finally lets go
        await asyncio.wait_for(starting, 20)
        try:
            assert sorted(tp.partition for tp in patient.assignment()) == [0, 1, 2]
            assert stale.get_partition_owners(group, topic) == {p: f"{group}_new-0" for p in range(3)}
        finally:
            await patient.close()
    finally:
        stale.close()
