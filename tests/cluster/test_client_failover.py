"""The producer rides through a leader change: when the leader of its partitions shuts down mid-stream, it
refreshes metadata, retries on the new leader, and every record is delivered exactly once (idempotence)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from helpers import unique_name
from kafka_zk.client.admin import AdminClient, NewTopic
from kafka_zk.client.consumer import Consumer
from kafka_zk.client.producer import Producer
from kafka_zk.common.tp import TopicPartition

pytestmark = pytest.mark.slow


def test_producer_retries_on_the_new_leader_after_a_controlled_shutdown(cluster_factory: Any) -> None:
    cluster = cluster_factory(3)  # outside the event loop: the launcher runs its own
    asyncio.run(produce_through_failover(cluster))


async def produce_through_failover(cluster: Any) -> None:
    bs = cluster.bootstrap_servers
    topic = unique_name("failover")
    async with AdminClient(bs) as admin:
        await admin.create_topic(NewTopic(topic, replica_assignment={0: [1, 2, 0], 1: [1, 0, 2]}))
    total = 300
    async with Producer(bs, acks="all", enable_idempotence=True, linger_ms=2, delivery_timeout_ms=60000) as p:
        futures = []
        for i in range(total):
            futures.append(await p.send(topic, str(i).encode(), partition=i % 2))
            if i == total // 3:
                await p.flush()
                # broker 1 leads both partitions: SIGTERM = controlled shutdown, leadership moves to 2 and 0
                await asyncio.get_running_loop().run_in_executor(None, cluster.kill, 1, "TERM")
            elif i % 20 == 0:
                await asyncio.sleep(0.01)  # let the stream spread over the shutdown
        await p.flush(60)
    metas = [f.result() for f in futures]
    assert all(m.offset >= 0 for m in metas)
    async with Consumer(bs.split(",")[0], auto_offset_reset="earliest") as c:
        c.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        got: list[Any] = []
        deadline = asyncio.get_running_loop().time() + 20
        while len(got) < total and asyncio.get_running_loop().time() < deadline:
            got += await c.poll(timeout_ms=500)
        got += await c.poll(timeout_ms=300)  # nothing more: no duplicates
    values = [int(r.value) for r in got]
    assert sorted(values) == list(range(total))
    for part in (0, 1):
        in_log = [int(r.value) for r in got if r.partition == part]
        assert in_log == sorted(in_log)  # per-partition order survived the retries
