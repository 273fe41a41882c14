"""Partition assignors: how a group's leader splits partitions among the members (pure, no I/O).

The coordinator only picks a leader and relays bytes; the leader runs the assignor every member agreed on
in JoinGroup (the first protocol, in the leader's preference order, that all members list). Names and
results match Kafka's Java assignors, so a group may mix our consumers with Java, librdkafka or
kafka-python members using the same assignor:

* ``range`` (Java ``RangeAssignor``, Kafka's default): per topic, the members subscribed to it sorted by
  member id; partitions split into contiguous ranges, the first ``P % M`` members get one extra. Co-
  partitioned topics line up (partition 0 of every topic goes to the same member), at the price of
  imbalance across many topics.
* ``roundrobin`` (``RoundRobinAssignor``): every partition of every subscribed topic, sorted by topic and
  partition, dealt to members (sorted by id) in turn, skipping a member not subscribed to that topic.
* ``sticky`` (``StickyAssignor``, KIP-54): balanced like round-robin, but a member keeps the partitions it
  owned in the previous generation as far as balance allows, so fewer partitions move (and fewer caches and
  in-flight batches are thrown away) on each rebalance. Members publish their current assignment and
  generation in the subscription's user data (Java's ``StickyAssignorUserData`` v1 layout). Our algorithm
  is the straightforward one — keep valid previous owners (the highest generation wins a conflict), deal
  unowned partitions to the least-loaded eligible member, then move partitions from the most- to the
  least-loaded member until counts differ by at most one — which reaches Java's balance and stickiness in
  the common cases but may pick different partitions to move in ties.
"""

from __future__ import annotations

from typing import Mapping, Protocol, Sequence

from kafka_zk.client.consumer_protocol import Reader, Subscription, encode_topic_partitions
from kafka_zk.common.tp import TopicPartition

Assignments = dict[str, list[TopicPartition]]


class Assignor(Protocol):
    name: str

    def user_data(self, topics: Sequence[str], owned: Sequence[TopicPartition], generation: int) -> bytes | None:
        """What this member adds to its subscription (None for nothing)."""

    def assign(self, partitions_per_topic: Mapping[str, int], subscriptions: Mapping[str, Subscription]
               ) -> Assignments:
        """``{member_id: partitions}`` for every member (an empty list for those that get nothing)."""


def _subscribers(subscriptions: Mapping[str, Subscription], partitions_per_topic: Mapping[str, int]
                 ) -> dict[str, list[str]]:
    """``{topic: sorted member ids}`` for topics that exist (a subscribed topic not in the metadata is skipped,
    as Java does: it may not be created yet)."""
    out: dict[str, list[str]] = {}
    for member in sorted(subscriptions):
        for topic in dict.fromkeys(subscriptions[member].topics):
            if partitions_per_topic.get(topic, 0) > 0:
                out.setdefault(topic, []).append(member)
    return out


class RangeAssignor:
    name = "range"

    def user_data(self, topics: Sequence[str], owned: Sequence[TopicPartition], generation: int) -> bytes | None:
        return None

    def assign(self, partitions_per_topic: Mapping[str, int], subscriptions: Mapping[str, Subscription]
               ) -> Assignments:
        out: Assignments = {m: [] for m in subscriptions}
        for topic, members in sorted(_subscribers(subscriptions, partitions_per_topic).items()):
            n = partitions_per_topic[topic]
            per, extra = divmod(n, len(members))
            start = 0
            for i, m in enumerate(members):
                length = per + (1 if i < extra else 0)
                out[m].extend(TopicPartition(topic, p) for p in range(start, start + length))
                start += length
        return out


class RoundRobinAssignor:
    name = "roundrobin"

    def user_data(self, topics: Sequence[str], owned: Sequence[TopicPartition], generation: int) -> bytes | None:
        return None

    def assign(self, partitions_per_topic: Mapping[str, int], subscriptions: Mapping[str, Subscription]
               ) -> Assignments:
        out: Assignments = {m: [] for m in subscriptions}
        members = sorted(subscriptions)
        if not members:
            return out
        subscribed = {m: set(subscriptions[m].topics) for m in members}
        i = 0
        for topic in sorted(_subscribers(subscriptions, partitions_per_topic)):
            for p in range(partitions_per_topic[topic]):
                while topic not in subscribed[members[i % len(members)]]:
                    i += 1
                out[members[i % len(members)]].append(TopicPartition(topic, p))
                i += 1
        return out


def encode_sticky_user_data(owned: Sequence[TopicPartition], generation: int) -> bytes:
    """Java ``StickyAssignorUserData`` v1: ``previous_assignment [topic, [partition]]``, ``generation int32``."""
    return encode_topic_partitions(owned) + generation.to_bytes(4, "big", signed=True)


def decode_sticky_user_data(data: bytes | None) -> tuple[tuple[TopicPartition, ...], int]:
    """(previous assignment, generation); generation -1 when absent (v0) or unreadable."""
    if not data:
        return (), -1
    try:
        r = Reader(data)
        owned = r.topic_partitions()
        generation = r.int32() if not r.at_end else -1
        return owned, generation
    except ValueError:
        return (), -1  # a member with garbage user data simply owns nothing


class StickyAssignor:
    name = "sticky"

    def user_data(self, topics: Sequence[str], owned: Sequence[TopicPartition], generation: int) -> bytes | None:
        return encode_sticky_user_data(owned, generation)

    def assign(self, partitions_per_topic: Mapping[str, int], subscriptions: Mapping[str, Subscription]
               ) -> Assignments:
        members = sorted(subscriptions)
        subscribed = {m: set(subscriptions[m].topics) for m in members}
        all_tps = [TopicPartition(t, p) for t in sorted(_subscribers(subscriptions, partitions_per_topic))
                   for p in range(partitions_per_topic[t])]
        valid = set(all_tps)
        # 1. previous owners keep what is still theirs to have; the newest generation wins a double claim
        claim: dict[TopicPartition, tuple[int, str]] = {}
        for m in members:
            owned, generation = decode_sticky_user_data(subscriptions[m].user_data)
            for tp in owned:
                if tp in valid and tp.topic in subscribed[m]:
                    if tp not in claim or claim[tp][0] < generation:
                        claim[tp] = (generation, m)
        out: Assignments = {m: [] for m in members}
        for tp in all_tps:
            if tp in claim:
                out[claim[tp][1]].append(tp)
        # 2. unowned partitions to the least-loaded member that wants them
        for tp in all_tps:
            if tp in claim:
                continue
            eligible = [m for m in members if tp.topic in subscribed[m]]
            if eligible:
                out[min(eligible, key=lambda m: (len(out[m]), m))].append(tp)
        # 3. balance: move from the most to the least loaded while that narrows the gap
        moved = True
        while moved:
            moved = False
            for src in sorted(members, key=lambda m: (-len(out[m]), m)):
                for tp in sorted(out[src], reverse=True):
                    dst_choices = [m for m in members if m != src and tp.topic in subscribed[m]
                                   and len(out[m]) + 1 < len(out[src])]
                    if dst_choices:
                        dst = min(dst_choices, key=lambda m: (len(out[m]), m))
                        out[src].remove(tp)
                        out[dst].append(tp)
                        moved = True
                        break
                if moved:
                    break
        for m in members:
            out[m].sort()
        return out


ASSIGNORS: dict[str, type] = {"range": RangeAssignor, "roundrobin": RoundRobinAssignor, "sticky": StickyAssignor}
#: Java class names users write in ``partition.assignment.strategy``.
_JAVA_NAMES = {"RangeAssignor": "range", "RoundRobinAssignor": "roundrobin", "StickyAssignor": "sticky"}


def make_assignors(spec: str | Sequence[str | Assignor] | Assignor) -> list[Assignor]:
    """``"range"``, ``"roundrobin,sticky"``, ``["sticky", "range"]``, Java class names, or instances."""
    items: list[str | Assignor]
    if isinstance(spec, str):
        items = [s.strip() for s in spec.split(",") if s.strip()]
    elif isinstance(spec, (list, tuple)):
        items = list(spec)
    else:
        items = [spec]  # type: ignore[list-item]  # a single assignor instance
    out: list[Assignor] = []
    for item in items:
        if isinstance(item, str):
            name = _JAVA_NAMES.get(item.rsplit(".", 1)[-1], item)
            cls = ASSIGNORS.get(name)
            if cls is None:
                raise ValueError(f"unknown partition assignment strategy {item!r}: expected range, roundrobin "
                                 f"or sticky (or org.apache.kafka.clients.consumer.RangeAssignor ...)")
            out.append(cls())
        else:
            out.append(item)
    if not out:
        raise ValueError("partition_assignment_strategy is empty: name at least one of range, roundrobin, sticky")
    return out
