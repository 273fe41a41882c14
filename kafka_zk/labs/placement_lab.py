"""The placement lab: where replicas go, by this project's rule and by Kafka's randomised one."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from kafka_zk.controller.placement import assign_replicas
from kafka_zk.labs.context import LabContext
from kafka_zk.labs.lab import Lab


def layout_lines(brokers: list[int], partitions: int, rf: int, mode: str, seed: int = 7) -> list[str]:
    """One line per partition, ``p3: [0,1,2]``, with the leaders' spread at the end."""
    plan = assign_replicas(brokers, partitions, rf, mode=mode, rng=random.Random(seed))
    lines = [f"p{p}: [{','.join(map(str, reps))}]" for p, reps in sorted(plan.items())]
    leaders = Counter(reps[0] for reps in plan.values())
    lines.append("leaders per broker: " + " ".join(f"b{b}={leaders.get(b, 0)}" for b in brokers))
    return lines


async def placement(ctx: LabContext) -> None:
    ctx.note("rule: partition i on broker (i mod n), replica j on broker ((i + j) mod n), over the sorted live "
             "brokers; Kafka's AdminUtils starts at a random broker and shifts followers every n partitions")
    for n in (3, 4, 5):
        brokers = list(range(n))
        ctx.step(f"{n} brokers, 2n partitions, replication factor 3")
        for mode in ("modulo", "kafka"):
            ctx.note(f"{mode:>6}: " + "  ".join(layout_lines(brokers, 2 * n, 3, mode)))
    ctx.step("create a real topic (6 partitions, RF 3) and read its assignment back from ZooKeeper")
    await ctx.create_topic("lab-placement", 6, 3)
    got = await asyncio.to_thread(ctx.zk.get_topic_assignment, "lab-placement")
    assert got is not None
    actual = {p: list(r) for p, r in got[0].partitions.items()}
    ctx.watch_znode("/brokers/topics/lab-placement")
    expected = assign_replicas(ctx.broker_ids, 6, 3, mode="modulo")
    ctx.check("the controller placed the topic by the (i mod n, (i + j) mod n) rule", actual == expected,
              f"got {actual}")
    leaders = Counter(r[0] for r in actual.values())
    ctx.check("preferred leaders are spread evenly over the brokers", len(set(leaders.values())) == 1,
              " ".join(f"b{b}={c}" for b, c in sorted(leaders.items())))
    for p in range(6):
        view = await ctx.show("lab-placement", p)
        ctx.check(f"partition {p}: the first replica (preferred leader) leads", view.leader == actual[p][0])


LABS = [
    Lab("placement", "replica placement",
        "replicas are placed by (i mod n, (i + j) mod n), spreading leaders evenly; Kafka's variant randomises the "
        "start and the follower shift", placement),
]
