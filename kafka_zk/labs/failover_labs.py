"""Labs about failures the controller handles: its own death, a leader's death, a ZooKeeper session expiry."""

from __future__ import annotations

import asyncio
import time

from kafka_zk.client.consumer import Consumer
from kafka_zk.client.producer import Producer
from kafka_zk.common.errors import KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.labs.context import LabContext
from kafka_zk.labs.lab import Lab


# ------------------------------------------------------------------------------------ controller-failover

async def controller_failover(ctx: LabContext) -> None:
    ctx.step("watch /controller, /controller_epoch and /brokers/ids")
    ctx.watch_znode("/controller")
    ctx.watch_znode("/controller_epoch")
    ctx.watch_children("/brokers/ids")
    ctx.follow_events("controller.", "broker.", "partition.leader_elected")
    await ctx.create_topic("lab-ctrl", 3, 3)
    old, old_epoch = await ctx.controller()
    ctx.note(f"broker {old} is the controller (epoch {old_epoch}): it created the ephemeral /controller first")
    assert old is not None and old_epoch is not None

    ctx.step(f"kill the controller, broker {old} (SIGKILL): its session lives on until it times out")
    killed_at = await ctx.kill(old)
    ctx.note("the other brokers watch /controller; when ZooKeeper deletes it they all race to create it, "
             "one wins (the others get NodeExists and go back to watching)")

    async def new_controller() -> tuple[int, int] | None:
        cid, epoch = await ctx.controller()
        return (cid, epoch) if cid is not None and cid != old and epoch is not None else None
    new, epoch = await ctx.wait_for(new_controller, 30.0, "a new controller")
    took = time.monotonic() - killed_at
    ctx.note(f"broker {new} won the race {took:.1f}s after the kill (≈ zookeeper.session.timeout.ms)")
    ctx.check("a surviving broker became controller", new != old and new in ctx.broker_ids, f"controller {new}")
    ctx.check("the controller epoch went up by one (a deposed controller's writes are now fenced)",
              epoch == old_epoch + 1, f"epoch {old_epoch} -> {epoch}")
    ctx.step("the new controller initialises: reads brokers, topics and partition states from ZooKeeper, "
             "elects new leaders for partitions the dead broker led, and tells every broker")
    await asyncio.sleep(1.0)
    leaders_ok = True
    for p in range(3):
        view = await ctx.show("lab-ctrl", p)
        leaders_ok &= view.leader not in (-1, old)
    ctx.check("every partition has a live leader after failover", leaders_ok)
    ctx.step("create a topic through the new controller")
    await ctx.create_topic("lab-ctrl-after", 2, 2)
    view = await ctx.show("lab-ctrl-after", 0)
    ctx.check("topic creation works with the new controller", view.leader >= 0, f"leader {view.leader}")


# ------------------------------------------------------------------------------------ leader-failover

async def leader_failover(ctx: LabContext) -> None:
    topic = "lab-leader"
    ctx.step(f"create {topic}: 1 partition, replication factor 3; a producer (acks=all) writes continuously")
    await ctx.create_topic(topic, 1, 3)
    ctx.watch_znode(f"/brokers/topics/{topic}/partitions/0/state")
    ctx.follow_events("partition.leader_elected", "broker.failed", "replica.became_leader")
    before = await ctx.show(topic)
    acked: list[int] = []
    gaps: list[float] = []
    stop = asyncio.Event()
    writer = asyncio.create_task(_steady_writer(ctx, topic, acked, gaps, stop))
    await ctx.wait_for(lambda: len(acked) >= 20, 20.0, "the producer to get going")

    ctx.step(f"kill the leader, broker {before.leader} (SIGKILL)")
    killed_at = await ctx.kill(before.leader)
    acked_before_kill = len(acked)

    async def moved() -> object:
        st = await asyncio.to_thread(ctx.partition_state, topic, 0)
        return st if st is not None and st.leader not in (-1, before.leader) else None
    st = await ctx.wait_for(moved, 30.0, "a new leader")
    elected_after = time.monotonic() - killed_at
    await ctx.wait_for(lambda: len(acked) >= acked_before_kill + 20, 30.0, "the producer to recover")
    stop.set()
    await writer
    after = await ctx.show(topic)
    longest = max(gaps, default=0.0)
    ctx.note(f"new leader elected {elected_after:.1f}s after the kill; the producer's longest wait between two "
             f"acknowledgements was {longest:.1f}s (the dead leader's session must time out first)")
    ctx.check("the new leader came from the ISR", st.leader in before.isr, f"leader {st.leader}, ISR was {list(before.isr)}")
    ctx.check("the leader epoch went up", st.leader_epoch > before.leader_epoch,
              f"{before.leader_epoch} -> {st.leader_epoch}")
    seen = await _read(ctx, topic)
    missing = sorted(set(acked) - set(seen))
    ctx.check("every acknowledged record (acks=all) is readable from the new leader", not missing,
              f"{len(acked)} acknowledged, {len(missing)} missing")
    ctx.check("the client recovered: writes resumed after the election", len(acked) >= acked_before_kill + 20)
    del after


async def _steady_writer(ctx: LabContext, topic: str, acked: list[int], gaps: list[float], stop: asyncio.Event) -> None:
    last = time.monotonic()
    async with Producer(ctx.bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=5000) as p:
        i = 0
        while not stop.is_set():
            try:
                meta = await p.send_and_wait(topic, f"r{i}".encode(), partition=0)
            except KafkaError as e:
                ctx.client(f"producer: record {i} failed ({e.code.name}); retrying")
                await asyncio.sleep(0.2)
                continue
            now = time.monotonic()
            gaps.append(now - last)
            last = now
            acked.append(meta.offset)
            i += 1
            await asyncio.sleep(0.02)
    ctx.client(f"producer stopped after {len(acked)} acknowledged records")


async def _read(ctx: LabContext, topic: str) -> list[int]:
    tp = TopicPartition(topic, 0)
    seen: list[int] = []
    async with Consumer(ctx.bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=200) as c:
        c.assign([tp])
        c.seek(tp, 0)
        for _ in range(20):
            got = await c.poll(timeout_ms=300)
            seen.extend(r.offset for r in got)
            hw = c.highwater(tp)
            if not got and hw is not None and (not seen or seen[-1] + 1 >= hw):
                break
    ctx.client(f"consumer read {len(seen)} records")
    return seen


# ------------------------------------------------------------------------------------ zk-session-expiry

async def zk_session_expiry(ctx: LabContext) -> None:
    topic = "lab-session"
    await ctx.create_topic(topic, 3, 3)
    victim = ctx.broker_ids[-1]
    controller, _ = await ctx.controller()
    if victim == controller:
        victim = ctx.broker_ids[0]
    ctx.watch_children("/brokers/ids")
    ctx.watch_znode(f"/brokers/ids/{victim}")
    ctx.follow_events("broker.", "partition.leader_elected", "isr.")
    reg = await asyncio.to_thread(ctx.zk.get_broker_and_epoch, victim)
    assert reg is not None
    old_epoch = reg[1]
    ctx.note(f"broker {victim} is registered with broker epoch {old_epoch} (the czxid of its ephemeral znode)")

    ctx.step(f"freeze broker {victim} (SIGSTOP) past zookeeper.session.timeout.ms: it sends no heartbeats, "
             "so ZooKeeper expires its session and deletes its ephemeral znode")
    await ctx.pause(victim)
    try:
        async def gone() -> bool:
            return victim not in await asyncio.to_thread(ctx.zk.get_broker_ids)
        await ctx.wait_for(gone, 30.0, f"/brokers/ids/{victim} to disappear")
        ctx.check(f"the expired session removed /brokers/ids/{victim}", True)
        await asyncio.sleep(1.5)
        moved = True
        for p in range(3):
            view = await ctx.show(topic, p)
            moved &= view.leader != victim and victim not in view.isr
        ctx.check(f"the controller treated broker {victim} as failed: no leadership, out of every ISR", moved)
    finally:
        ctx.step(f"thaw broker {victim} (SIGCONT): kazoo reports the expired session, the broker opens a new "
                 "one and registers again")
        await ctx.resume(victim)

    async def back() -> int | None:
        got = await asyncio.to_thread(ctx.zk.get_broker_and_epoch, victim)
        return got[1] if got is not None and got[1] != old_epoch else None
    new_epoch = await ctx.wait_for(back, 30.0, f"broker {victim} to register again")
    ctx.check(f"broker {victim} re-registered with a new broker epoch", new_epoch > old_epoch,
              f"{old_epoch} -> {new_epoch}")

    async def rejoined() -> bool:
        for p in range(3):
            st = await asyncio.to_thread(ctx.partition_state, topic, p)
            if st is None or victim not in st.isr:
                return False
        return True
    await ctx.wait_for(rejoined, 30.0, f"broker {victim} to rejoin every ISR")
    for p in range(3):
        await ctx.show(topic, p)
    ctx.check(f"broker {victim} caught up and rejoined every ISR", True)


LABS = [
    Lab("controller-failover", "the controller dies",
        "the /controller race elects a new controller, the epoch goes up by one, and the cluster keeps working",
        controller_failover),
    Lab("leader-failover", "a partition leader dies",
        "a new leader is elected from the ISR with a higher leader epoch and clients recover with no acknowledged "
        "record lost", leader_failover),
    Lab("zk-session-expiry", "a broker's ZooKeeper session expires",
        "an expired session deregisters the broker (it is failed over like a crash) and it re-registers with a "
        "new broker epoch", zk_session_expiry),
]
