"""Automatic preferred-leader rebalancing: Kafka's leader imbalance check (``checkAndTriggerAutoLeaderRebalance``).

Every ``leader.imbalance.check.interval.seconds`` (300 s; first check 5 s after failover) the controller
groups partitions (of topics not being deleted) by their *preferred* replica, the head of the assignment.
For each broker B:

    imbalance(B) = #partitions preferring B but led by someone else / #partitions preferring B

When ``imbalance(B) > leader.imbalance.per.broker.percentage / 100`` (10 %), preferred elections run for
B's misled partitions — only while no reassignment is in progress anywhere, and only for partitions whose
preferred replica is live and in the ISR (so the election can succeed). A broker at or below the threshold
is left alone even if some of its partitions are misled: moving leaders costs client round trips.
"""

from __future__ import annotations

from collections import defaultdict

from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.context import ControllerContext
from kafka_zk.controller.election import preferred_leader


def leader_imbalance(ctx: ControllerContext) -> dict[int, tuple[list[TopicPartition], int]]:
    """``{preferred broker: (partitions it should lead but does not, partitions preferring it)}``."""
    by_preferred: dict[int, list[TopicPartition]] = defaultdict(list)
    for tp in ctx.all_partitions():
        if ctx.is_topic_queued_up_for_deletion(tp.topic):
            continue
        replicas = ctx.replicas(tp)
        if replicas:
            by_preferred[replicas[0]].append(tp)
    out: dict[int, tuple[list[TopicPartition], int]] = {}
    for broker, tps in sorted(by_preferred.items()):
        misled = [tp for tp in tps if (li := ctx.leadership.get(tp)) is not None and li.leader != broker]
        out[broker] = (misled, len(tps))
    return out


def partitions_to_rebalance(ctx: ControllerContext, imbalance_percentage: int) -> list[TopicPartition]:
    """Partitions the auto rebalance would run preferred elections for right now."""
    if ctx.partitions_being_reassigned:
        return []
    threshold = imbalance_percentage / 100.0
    chosen: list[TopicPartition] = []
    for _broker, (misled, total) in leader_imbalance(ctx).items():
        if total == 0 or len(misled) / total <= threshold:
            continue
        for tp in misled:
            li = ctx.leadership[tp]
            if tp.topic in ctx.all_topics and preferred_leader(ctx.replicas(tp), li.isr, ctx.live_broker_ids):
                chosen.append(tp)
    return chosen
