"""Labs about one partition's replicas: the high watermark, the ISR, min.insync.replicas, unclean election.

Each script narrates the replicas' log end offsets and the HW as the brokers report them, the ISR as
ZooKeeper records it, and the decisions the brokers announce; each ends with checks of what it claims.
"""

from __future__ import annotations

import asyncio

from kafka_zk.client.consumer import Consumer
from kafka_zk.client.producer import Producer
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.labs.context import LabContext
from kafka_zk.labs.lab import Lab


async def _produce(ctx: LabContext, topic: str, n: int, start: int, acks: int | str = 1) -> list[int]:
    """Write ``n`` records (values ``r<start>``...); returns the acknowledged offsets."""
    offsets = []
    async with Producer(ctx.bootstrap, acks=acks, retries=0, request_timeout_ms=10000) as p:
        for i in range(start, start + n):
            meta = await p.send_and_wait(topic, f"r{i}".encode(), key=f"k{i}".encode(), partition=0)
            offsets.append(meta.offset)
    ctx.client(f"producer (acks={acks}) wrote {n} records, acknowledged offsets {offsets[0]}..{offsets[-1]}")
    return offsets


async def _read_all(ctx: LabContext, topic: str, polls: int = 5) -> tuple[list[int], int | None]:
    """What a consumer can read from offset 0 now: (offsets read, the high watermark it was told)."""
    tp = TopicPartition(topic, 0)
    seen: list[int] = []
    async with Consumer(ctx.bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=200) as c:
        c.assign([tp])
        c.seek(tp, 0)
        for _ in range(polls):
            seen.extend(r.offset for r in await c.poll(timeout_ms=300))
        hw = c.highwater(tp)
    ctx.client(f"consumer read {len(seen)} records (offsets {_span(seen)}), fetch said high watermark = {hw}")
    return seen, hw


def _span(offsets: list[int]) -> str:
    return f"{offsets[0]}..{offsets[-1]}" if offsets else "none"


async def _wait_isr(ctx: LabContext, topic: str, want: set[int], timeout_s: float) -> None:
    async def isr_is() -> bool:
        st = await asyncio.to_thread(ctx.partition_state, topic, 0)
        return st is not None and set(st.isr) == want
    await ctx.wait_for(isr_is, timeout_s, f"ISR of {topic}-0 to become {sorted(want)}")


def _followers(view_replicas: tuple[int, ...], leader: int) -> list[int]:
    return [b for b in view_replicas if b != leader]


# ---------------------------------------------------------------------------------------------- hw-leo

async def hw_leo(ctx: LabContext) -> None:
    topic = "lab-hw-leo"
    ctx.step(f"create {topic}: 1 partition, replication factor 3")
    await ctx.create_topic(topic, 1, 3)
    ctx.watch_znode(f"/brokers/topics/{topic}/partitions/0/state")
    view = await ctx.show(topic)
    leader, (slow, fast) = view.leader, _followers(view.replicas, view.leader)

    ctx.step("write 10 records with acks=1 while every replica keeps up")
    await _produce(ctx, topic, 10, 0)
    view = await ctx.wait_for(lambda: _hw_is(ctx, topic, 10), 15.0, "HW 10")
    ctx.narrator.say("state", view.render())
    ctx.check("with every replica caught up, HW = LEO of the leader", view.high_watermark == view.leo[leader] == 10)

    ctx.step(f"slow follower {slow} down to a halt (SIGSTOP); it stays in the ISR until replica.lag.time.max.ms")
    await ctx.pause(slow)
    try:
        ctx.step("write 10 more records with acks=1: the leader acknowledges at once")
        await _produce(ctx, topic, 10, 10)
        await asyncio.sleep(1.0)
        view = await ctx.show(topic)
        ctx.note(f"HW = min LEO over the ISR {list(view.isr)} = LEO of the slow follower {slow}; the fast follower "
                 f"{fast} has everything, but the slowest ISR member holds the HW back")
        ctx.check("the leader's LEO moved ahead to 20", view.leo[leader] == 20, f"leader LEO {view.leo[leader]}")
        ctx.check("the fast follower caught up to 20", view.leo[fast] == 20, f"LEO {view.leo[fast]}")
        ctx.check("the HW stayed at the slow follower's LEO (10)", view.high_watermark == 10,
                  f"HW {view.high_watermark}")
        ctx.step("a consumer reads from offset 0")
        seen, told = await _read_all(ctx, topic)
        ctx.check("the consumer cannot read past the HW", seen == list(range(10)) and told == 10,
                  f"read {_span(seen)}, told HW {told}")
    finally:
        ctx.step(f"resume follower {slow} (SIGCONT)")
        await ctx.resume(slow)
    view = await ctx.wait_for(lambda: _hw_is(ctx, topic, 20), 15.0, "HW 20")
    ctx.narrator.say("state", view.render())
    seen, told = await _read_all(ctx, topic)
    ctx.check("once the slow follower caught up the HW reached 20 and all 20 records are readable",
              seen == list(range(20)) and told == 20, f"read {_span(seen)}, told HW {told}")


async def _hw_is(ctx: LabContext, topic: str, hw: int) -> object:
    view = await ctx.partition(topic, 0)
    return view if view.high_watermark == hw else None


# ----------------------------------------------------------------------------------- isr-shrink-expand

async def isr_shrink_expand(ctx: LabContext) -> None:
    topic = "lab-isr"
    ctx.step(f"create {topic}: 1 partition, replication factor 3 (replica.lag.time.max.ms=2000 in this lab)")
    await ctx.create_topic(topic, 1, 3)
    ctx.watch_znode(f"/brokers/topics/{topic}/partitions/0/state")
    ctx.watch_children("/isr_change_notification")
    ctx.follow_events("isr.", "replica.became", "partition.")
    view = await ctx.show(topic)
    leader = view.leader
    lagging = _followers(view.replicas, leader)[0]
    await _produce(ctx, topic, 5, 0)

    ctx.step(f"pause follower {lagging} (SIGSTOP) and keep writing: it stops fetching")
    await ctx.pause(lagging)
    try:
        writer = asyncio.create_task(_trickle(ctx, topic, 5, 40))
        await _wait_isr(ctx, topic, set(view.replicas) - {lagging}, 20.0)
        view = await ctx.show(topic)
        ctx.check(f"the leader shrank the ISR to drop follower {lagging} after replica.lag.time.max.ms",
                  lagging not in view.isr, f"ISR {list(view.isr)}")
        await writer
        view = await ctx.show(topic)
        ctx.check("without the lagging follower the HW keeps up with the other replicas",
                  view.high_watermark == view.leo[leader], f"HW {view.high_watermark}, leader LEO {view.leo[leader]}")
    finally:
        ctx.step(f"resume follower {lagging} (SIGCONT): it fetches what it missed")
        await ctx.resume(lagging)
    await _wait_isr(ctx, topic, set(view.replicas), 20.0)
    view = await ctx.show(topic)
    ctx.check(f"follower {lagging} caught up to the HW and the leader expanded the ISR again",
              set(view.isr) == set(view.replicas), f"ISR {list(view.isr)}")


async def _trickle(ctx: LabContext, topic: str, start: int, n: int) -> None:
    async with Producer(ctx.bootstrap, acks=1) as p:
        for i in range(start, start + n):
            await p.send_and_wait(topic, f"r{i}".encode(), partition=0)
            await asyncio.sleep(0.1)
    ctx.client(f"producer wrote records {start}..{start + n - 1} one every 100 ms")


# --------------------------------------------------------------------------------------------- min-isr

async def min_isr(ctx: LabContext) -> None:
    topic = "lab-min-isr"
    ctx.step(f"create {topic}: replication factor 3, min.insync.replicas=2")
    await ctx.create_topic(topic, 1, 3, configs={"min.insync.replicas": "2"})
    ctx.watch_znode(f"/brokers/topics/{topic}/partitions/0/state")
    ctx.follow_events("isr.")
    view = await ctx.show(topic)
    f1, f2 = _followers(view.replicas, view.leader)
    await _produce(ctx, topic, 3, 0, acks="all")

    ctx.step(f"pause both followers ({f1}, {f2}) and write with acks=1 so they fall behind; the leader "
             "shrinks the ISR to itself (a follower with the leader's LEO stays in sync however long it is idle)")
    await ctx.pause(f1)
    await ctx.pause(f2)
    try:
        await _produce(ctx, topic, 3, 3, acks=1)
        await _wait_isr(ctx, topic, {view.leader}, 20.0)
        await ctx.show(topic)
        ctx.step("produce with acks=all: the ISR (1) is below min.insync.replicas (2)")
        code = await _produce_error(ctx, topic, "all")
        ctx.check("acks=all is refused with NOT_ENOUGH_REPLICAS", code == ErrorCode.NOT_ENOUGH_REPLICAS,
                  f"error {code.name if code is not None else 'none: the write was accepted'}")
        ctx.step("produce with acks=1: min.insync.replicas only applies to acks=all")
        code1 = await _produce_error(ctx, topic, 1)
        ctx.check("acks=1 is still accepted (availability over durability)", code1 is None,
                  "accepted" if code1 is None else code1.name)
        ctx.step(f"resume follower {f1}")
        await ctx.resume(f1)
        await _wait_isr(ctx, topic, {view.leader, f1}, 20.0)
        await ctx.show(topic)
        code2 = await _produce_error(ctx, topic, "all")
        ctx.check("with 2 in-sync replicas acks=all is accepted again", code2 is None,
                  "accepted" if code2 is None else code2.name)
    finally:
        await ctx.resume(f1)
        await ctx.resume(f2)


async def _produce_error(ctx: LabContext, topic: str, acks: int | str) -> ErrorCode | None:
    try:
        async with Producer(ctx.bootstrap, acks=acks, retries=0, delivery_timeout_ms=3000,
                            request_timeout_ms=2500, max_block_ms=3000) as p:
            meta = await p.send_and_wait(topic, b"probe", partition=0)
        ctx.client(f"acks={acks}: acknowledged at offset {meta.offset}")
        return None
    except KafkaError as e:
        ctx.client(f"acks={acks}: refused with {e.code.name}")
        return e.code


# ------------------------------------------------------------------------------------ unclean-election

async def unclean_election(ctx: LabContext) -> None:
    safe, unsafe = "lab-safe", "lab-unsafe"
    ids = ctx.broker_ids
    leader, follower = ids[0], ids[1]
    placement = {0: [leader, follower]}
    ctx.step(f"create {safe} (unclean.leader.election.enable=false) and {unsafe} (=true), both on replicas "
             f"[{leader},{follower}], leader {leader}")
    await ctx.create_topic(safe, configs={"unclean.leader.election.enable": "false"}, assignment=placement)
    await ctx.create_topic(unsafe, configs={"unclean.leader.election.enable": "true"}, assignment=placement)
    for t in (safe, unsafe):
        ctx.watch_znode(f"/brokers/topics/{t}/partitions/0/state")
    ctx.follow_events("partition.", "election.", "replica.truncated", "broker.failed")
    for t in (safe, unsafe):
        await _produce(ctx, t, 5, 0, acks="all")

    ctx.step(f"pause follower {follower}, then write 5 more with acks=all: they wait until the leader drops the "
             "lagging follower from the ISR, then are acknowledged by the leader alone (min.insync.replicas=1)")
    await ctx.pause(follower)
    try:
        await asyncio.gather(*(_produce(ctx, t, 5, 5, acks="all") for t in (safe, unsafe)))
        for t in (safe, unsafe):
            await _wait_isr(ctx, t, {leader}, 20.0)
            await ctx.show(t)
        ctx.step(f"kill leader {leader} (SIGKILL), then resume the stale follower {follower}")
        await ctx.kill(leader)
    finally:
        await ctx.resume(follower)

    async def decided() -> bool:
        s = await asyncio.to_thread(ctx.partition_state, safe, 0)
        u = await asyncio.to_thread(ctx.partition_state, unsafe, 0)
        return bool(s and u and s.leader != leader and u.leader != leader)
    await ctx.wait_for(decided, 30.0, "the controller to act on the dead leader")
    await asyncio.sleep(1.0)
    s, u = await ctx.show(safe), await ctx.show(unsafe)
    ctx.check(f"{safe}: no in-sync replica is alive, so the partition is offline (leader -1)", s.leader == -1,
              f"leader {s.leader}")
    code = await _produce_error(ctx, safe, 1)
    ctx.check(f"{safe}: writes fail while it is offline (unavailable, but nothing acknowledged is lost)",
              code is not None, code.name if code else "accepted")
    ctx.check(f"{unsafe}: the out-of-sync follower {follower} was elected leader", u.leader == follower,
              f"leader {u.leader}")
    seen, _ = await _read_all(ctx, unsafe)
    ctx.check(f"{unsafe}: acknowledged records 5..9 are gone (the new leader never had them)",
              seen == list(range(5)), f"readable {_span(seen)}")

    ctx.step(f"restart broker {leader}: it truncates {unsafe} to the new leader's log and brings {safe} back")
    await ctx.start_broker(leader)

    async def safe_back() -> bool:
        st = await asyncio.to_thread(ctx.partition_state, safe, 0)
        return bool(st and st.leader == leader)
    await ctx.wait_for(safe_back, 30.0, f"{safe} to get its leader back")
    await ctx.show(safe)
    seen_safe, _ = await _read_all(ctx, safe)
    ctx.check(f"{safe}: back online with all 10 acknowledged records", seen_safe == list(range(10)),
              f"readable {_span(seen_safe)}")
    await ctx.show(unsafe)
    seen, _ = await _read_all(ctx, unsafe)
    ctx.check(f"{unsafe}: the lost records stay lost after the old leader returns", seen == list(range(5)),
              f"readable {_span(seen)}")


#: The ISR labs pause followers for a few seconds: the leader must notice (replica.lag.time.max.ms) well
#: before ZooKeeper would expire the paused broker's session, or the controller would act instead.
ISR_LAB_SETTINGS = {"replica.lag.time.max.ms": "2000", "zookeeper.session.timeout.ms": "10000"}

LABS = [
    Lab("hw-leo", "log end offsets and the high watermark",
        "the HW is the minimum LEO over the ISR, and consumers cannot read past it", hw_leo),
    Lab("isr-shrink-expand", "a follower falls out of the ISR and comes back",
        "a follower that stops fetching for replica.lag.time.max.ms leaves the ISR, and rejoins once caught up",
        isr_shrink_expand, overrides=ISR_LAB_SETTINGS),
    Lab("min-isr", "acks=all and min.insync.replicas",
        "acks=all is refused with NOT_ENOUGH_REPLICAS when the ISR is smaller than min.insync.replicas",
        min_isr, overrides=ISR_LAB_SETTINGS),
    Lab("unclean-election", "the availability/consistency trade-off",
        "with unclean election on acknowledged records are lost; with it off the partition is unavailable instead",
        unclean_election, overrides=ISR_LAB_SETTINGS),
]
