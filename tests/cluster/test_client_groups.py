"""Our consumer in broker-coordinated groups: members share partitions with no overlap, a member that
leaves hands its partitions to the others, a restarted group resumes from its committed offsets, a new
topic matching a pattern subscription joins the assignment, and our members share a group with
librdkafka (confluent-kafka) members.

Members run as tasks polling in a loop (one event loop), so each poll drives its member's rebalances, as in
an application; every record each member returns is recorded."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from helpers import async_wait_until, run_async, unique_name
from kafka_zk.client.admin import AdminClient, NewTopic
from kafka_zk.client.consumer import Consumer
from kafka_zk.client.producer import Producer
from kafka_zk.common.tp import TopicPartition

FAST = dict(session_timeout_ms=6000, heartbeat_interval_ms=500, fetch_max_wait_ms=100, auto_offset_reset="earliest")


class Member:
    """A consumer polling in a task; ``records`` collects (partition, offset, value)."""

    def __init__(self, bs: str, group: str, topics: Any = None, **kw: Any) -> None:
        self.consumer = Consumer(bs, group_id=group, **{**FAST, **kw})
        self.topics = topics
        self.records: list[tuple[str, int, int, bytes]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Member:
        await self.consumer.start()
        if isinstance(self.topics, re.Pattern):
            self.consumer.subscribe(pattern=self.topics)
        else:
            self.consumer.subscribe(self.topics)
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            for r in await self.consumer.poll(timeout_ms=200):
                self.records.append((r.topic, r.partition, r.offset, r.value or b""))

    def assignment(self) -> set[TopicPartition]:
        return self.consumer.assignment()

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.consumer.close()


async def create(bs: str, topic: str, partitions: int) -> None:
    async with AdminClient(bs) as admin:
        await admin.create_topic(NewTopic(topic, partitions, 2))


async def produce(bs: str, topic: str, values: list[bytes], partition: int | None = None) -> None:
    async with Producer(bs, acks="all", linger_ms=5) as p:
        for i, v in enumerate(values):
            await p.send(topic, v, key=str(i).encode(), partition=partition)
        await p.flush()


def stable(members: list[Member], want: int) -> bool:
    """Every member joined the same generation and together they own ``want`` partitions, none twice."""
    gens = {m.consumer.generation() for m in members}
    owned = [tp for m in members for tp in m.assignment()]
    return len(gens) == 1 and -1 not in gens and len(owned) == len(set(owned)) == want


@run_async
async def test_three_members_share_six_partitions_one_leaves_and_offsets_survive_a_restart(
        shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic, group = unique_name("grp"), unique_name("g")
    await create(bs, topic, 6)
    members = [await Member(bs, group, [topic], auto_commit_interval_ms=200).start() for _ in range(3)]
    try:
        await async_wait_until(lambda: stable(members, 6), timeout=60, message="3 members did not settle")
        assert sorted(len(m.assignment()) for m in members) == [2, 2, 2]
        # range: contiguous pairs of partitions
        assert sorted(sorted(tp.partition for tp in m.assignment()) for m in members) == [[0, 1], [2, 3], [4, 5]]
        gen = members[0].consumer.generation()
        await produce(bs, topic, [f"a{i}".encode() for i in range(60)])
        await async_wait_until(lambda: sum(len(m.records) for m in members) >= 60, timeout=30)

        leaving = members.pop()
        moved = leaving.assignment()
        await leaving.stop()  # LeaveGroup: the others rebalance at once
        await async_wait_until(lambda: stable(members, 6) and members[0].consumer.generation() > gen, timeout=60)
        assert sorted(len(m.assignment()) for m in members) == [3, 3]
        assert moved <= members[0].assignment() | members[1].assignment()
        await produce(bs, topic, [f"b{i}".encode() for i in range(60)])
        await async_wait_until(lambda: sum(len(m.records) for m in members) + len(leaving.records) >= 120,
                               timeout=30)
    finally:
        for m in members:
            await m.stop()  # commits (auto-commit on close) and leaves
    seen = [r for m in members + [leaving] for r in m.records]
    assert sorted(v for *_, v in seen) == sorted([f"a{i}".encode() for i in range(60)]
                                                  + [f"b{i}".encode() for i in range(60)])
    assert len({(p, o) for _, p, o, _ in seen}) == len(seen)  # no partition was read by two members at once

    # records produced while the group is down arrive after a restart with auto_offset_reset=latest:
    # a lost commit would have skipped them; a missing commit would repeat old ones
    await produce(bs, topic, [f"c{i}".encode() for i in range(30)])
    restarted = [await Member(bs, group, [topic], auto_offset_reset="latest").start() for _ in range(2)]
    try:
        await async_wait_until(lambda: sum(len(m.records) for m in restarted) >= 30, timeout=60)
        await asyncio.sleep(0.5)
    finally:
        for m in restarted:
            await m.stop()
    assert sorted(v for m in restarted for *_, v in m.records) == sorted(f"c{i}".encode() for i in range(30))


@run_async
async def test_pattern_subscription_picks_up_a_new_matching_topic(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    prefix = unique_name("pat")
    await create(bs, f"{prefix}-one", 2)
    await create(bs, unique_name("other"), 1)
    m = await Member(bs, unique_name("g"), re.compile(re.escape(prefix) + r"-.*"), metadata_max_age_ms=500).start()
    try:
        await async_wait_until(lambda: len(m.assignment()) == 2, timeout=60)
        gen = m.consumer.generation()
        await create(bs, f"{prefix}-two", 3)
        await async_wait_until(lambda: len(m.assignment()) == 5, timeout=60, message="new topic not assigned")
        assert m.consumer.generation() > gen
        assert m.consumer.subscription() == {f"{prefix}-one", f"{prefix}-two"}
        await produce(bs, f"{prefix}-two", [b"late"])
        await async_wait_until(lambda: any(v == b"late" for *_, v in m.records), timeout=30)
    finally:
        await m.stop()


@run_async
async def test_roundrobin_and_sticky_members_and_pause_resume(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    t1, t2 = unique_name("rr"), unique_name("rr")
    await create(bs, t1, 3)
    await create(bs, t2, 3)
    group = unique_name("g")
    members = [await Member(bs, group, [t1, t2], partition_assignment_strategy="roundrobin").start()
               for _ in range(2)]
    try:
        await async_wait_until(lambda: stable(members, 6), timeout=60)
        assert sorted(len(m.assignment()) for m in members) == [3, 3]
        assert {tp.topic for tp in members[0].assignment()} == {t1, t2}  # range would give 2+1 of each topic
        c = members[0].consumer
        paused = sorted(c.assignment())[0]
        c.pause(paused)
        assert c.paused() == {paused}
        for p in range(3):
            await produce(bs, paused.topic, [b"p"] * 4, partition=p)
        await async_wait_until(lambda: sum(len(m.records) for m in members) >= 8, timeout=30)
        await asyncio.sleep(1.0)
        assert sum(len(m.records) for m in members) == 8
        assert not any(TopicPartition(t, p) == paused for t, p, *_ in members[0].records)
        c.resume(paused)
        await async_wait_until(lambda: sum(TopicPartition(t, p) == paused for t, p, *_ in members[0].records) == 4,
                               timeout=30)
    finally:
        for m in members:
            await m.stop()

    group = unique_name("g")
    sticky = [await Member(bs, group, [t1, t2], partition_assignment_strategy="sticky").start() for _ in range(3)]
    try:
        await async_wait_until(lambda: stable(sticky, 6), timeout=60)
        before = {id(m): m.assignment() for m in sticky}
        gen = sticky[0].consumer.generation()
        late = await Member(bs, group, [t1, t2], partition_assignment_strategy="sticky").start()
        sticky.append(late)
        await async_wait_until(lambda: stable(sticky, 6) and sticky[0].consumer.generation() > gen, timeout=60)
        kept = sum(len(before[id(m)] & m.assignment()) for m in sticky[:3])
        assert kept >= 4 and len(late.assignment()) >= 1  # at most 2 of 6 partitions moved, to the newcomer
    finally:
        for m in sticky:
            await m.stop()


@run_async
async def test_our_members_and_librdkafka_members_share_a_group(shared_cluster: Any) -> None:
    ck = pytest.importorskip("confluent_kafka")
    bs = shared_cluster.bootstrap_servers
    topic, group = unique_name("mix"), unique_name("g")
    await create(bs, topic, 4)
    ours = await Member(bs, group, [topic]).start()
    theirs = ck.Consumer({"bootstrap.servers": bs, "group.id": group, "session.timeout.ms": 6000,
                          "partition.assignment.strategy": "range", "auto.offset.reset": "earliest"})
    theirs.subscribe([topic])
    got: list[bytes] = []
    try:
        await produce(bs, topic, [f"m{i}".encode() for i in range(40)])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            m = await asyncio.to_thread(theirs.poll, 0.2)
            if m is not None and not m.error():
                got.append(m.value())
            assigned = {(p.topic, p.partition) for p in theirs.assignment()}
            if len(got) + len(ours.records) >= 40 and len(assigned) == 2 and len(ours.assignment()) == 2:
                break
        ours_tps = {(tp.topic, tp.partition) for tp in ours.assignment()}
        assert len(ours_tps) == 2 and not ours_tps & {(p.topic, p.partition) for p in theirs.assignment()}
    finally:
        await asyncio.to_thread(theirs.close)
        await ours.stop()
    assert sorted(got + [v for *_, v in ours.records]) == sorted(f"m{i}".encode() for i in range(40))
