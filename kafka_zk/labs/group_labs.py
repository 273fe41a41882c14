"""A lab about consumer groups: members join and leave, and each generation gets a new assignment.

The consumers are group members of ``kafka_zk.client`` (JoinGroup / SyncGroup / Heartbeat / LeaveGroup with
the range assignor, exactly the calls Kafka's Java consumer makes); the narration shows the coordinator's
decisions as the broker announces them (``group.*`` events) and each member's partitions per generation.
"""

from __future__ import annotations

import asyncio
import contextlib

from kafka_zk.client.consumer import Consumer
from kafka_zk.client.producer import Producer
from kafka_zk.common.tp import TopicPartition
from kafka_zk.labs.context import LabContext
from kafka_zk.labs.lab import Lab

TOPIC = "lab-rebalance"
GROUP = "lab-group"
PARTITIONS = 6


class Member:
    """One consumer process's worth of work: a group member polling in its own task."""

    def __init__(self, ctx: LabContext, name: str) -> None:
        self.name = name
        self.consumer = Consumer(ctx.bootstrap, group_id=GROUP, client_id=name, auto_offset_reset="earliest",
                                 session_timeout_ms=6000, heartbeat_interval_ms=500, fetch_max_wait_ms=100)
        self.records = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.consumer.subscribe([TOPIC])
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.records += len(await self.consumer.poll(timeout_ms=200))

    async def leave(self) -> None:
        """Stop polling and leave the group (LeaveGroup), as ``close()`` of a Java consumer does."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.close()

    def partitions(self) -> list[int]:
        return sorted(tp.partition for tp in self.consumer.assignment() if tp.topic == TOPIC)


async def _settled(members: list[Member], after: int) -> int | None:
    """The generation every member reached, once all agree on one newer than ``after`` and together own every
    partition exactly once; None before that."""
    generations = {m.consumer.generation() for m in members}
    if len(generations) != 1:
        return None
    (gen,) = generations
    owned = [p for m in members for p in m.partitions()]
    return gen if gen > after and sorted(owned) == list(range(PARTITIONS)) else None


async def _generation(ctx: LabContext, members: list[Member], after: int, why: str) -> int:
    gen: int = await ctx.wait_for(lambda: _settled(members, after), 30.0, f"a new generation after {why}")
    ctx.narrator.say("state", f"generation {gen}: " + "  ".join(f"{m.name}={m.partitions()}" for m in members))
    return gen


def _balanced(members: list[Member]) -> bool:
    sizes = [len(m.partitions()) for m in members]
    return max(sizes) - min(sizes) <= 1


async def rebalance(ctx: LabContext) -> None:
    ctx.step(f"create {TOPIC}: {PARTITIONS} partitions, replication factor 3, and write 60 records")
    await ctx.create_topic(TOPIC, PARTITIONS, 3)
    async with Producer(ctx.bootstrap, acks="all") as producer:
        for i in range(60):
            await producer.send_and_wait(TOPIC, f"r{i}".encode(), partition=i % PARTITIONS)
    ctx.follow_events("group.")
    coordinator_partition = abs(_java_hash(GROUP)) % 50
    ctx.note(f"the group's coordinator is the leader of __consumer_offsets-{coordinator_partition} "
             f"(abs(hash(\"{GROUP}\")) mod offsets.topic.num.partitions=50)")

    members: list[Member] = []
    generations: list[int] = []
    last = 0
    for name in ("consumer-a", "consumer-b", "consumer-c"):
        ctx.step(f"{name} joins the group (JoinGroup → the coordinator rebalances every member)")
        member = Member(ctx, name)
        await member.start()
        members.append(member)
        last = await _generation(ctx, members, last, f"{name} joined")
        generations.append(last)
        ctx.check(f"with {len(members)} member(s) every partition has exactly one owner, spread evenly",
                  _balanced(members), "  ".join(f"{m.name}={m.partitions()}" for m in members))
    ctx.check("range assignment for 3 members: two consecutive partitions each",
              [m.partitions() for m in members] == [[0, 1], [2, 3], [4, 5]],
              str([m.partitions() for m in members]))

    leaving = members.pop(1)
    ctx.step(f"{leaving.name} leaves (LeaveGroup): its partitions {leaving.partitions()} go to the others")
    await leaving.leave()
    last = await _generation(ctx, members, last, f"{leaving.name} left")
    generations.append(last)
    ctx.check("after the leave the two remaining members own all partitions, 3 each",
              [len(m.partitions()) for m in members] == [3, 3], str([m.partitions() for m in members]))
    ctx.check("each join and each leave started exactly one new generation",
              generations == list(range(generations[0], generations[0] + len(generations))), str(generations))

    ctx.step("the remaining members read on; then everyone leaves and the group becomes Empty")
    await ctx.wait_for(lambda: sum(m.records for m in [*members, leaving]) >= 60, 30.0, "all 60 records read")
    ctx.check("the group read every record at least once across its generations",
              sum(m.records for m in [*members, leaving]) >= 60,
              f"{sum(m.records for m in [*members, leaving])} records")
    for member in members:
        await member.leave()
    committed = await _committed(ctx)
    ctx.client(f"committed offsets of {GROUP}: {committed}")
    ctx.check("the members' auto-commits left the group's offsets at the end of every partition",
              committed == {p: 10 for p in range(PARTITIONS)}, str(committed))


async def _committed(ctx: LabContext) -> dict[int, int | None]:
    async with Consumer(ctx.bootstrap, group_id=GROUP, enable_auto_commit=False) as c:
        got = await c.committed_offsets([TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
    return {tp.partition: off for tp, off in sorted(got.items())}


def _java_hash(text: str) -> int:
    """Java's ``String.hashCode`` as a signed 32-bit int (what Kafka's coordinator placement hashes)."""
    h = 0
    for ch in text:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


LABS = [
    Lab("rebalance", "consumer group rebalances",
        "members join and leave a group: each change starts one new generation whose assignment gives every "
        "partition exactly one owner", rebalance),
]
