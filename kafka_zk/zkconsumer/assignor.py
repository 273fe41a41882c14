"""The 0.8 high-level consumer's partition assignment, as pure functions (no ZooKeeper, no sockets).

Every consumer of a group computes the *whole* group's assignment by itself, from the same inputs read
from ZooKeeper — the registrations under ``/consumers/<group>/ids`` and the partitions under
``/brokers/topics`` — and then claims only its own share. There is no leader: agreement rests on every
member reading the same state and running the same deterministic function, which is why a member that
read a slightly older state claims a partition that someone else still owns, and has to back off and try
again (``rebalance.backoff.ms``). This module is that function, equal to Kafka 0.8.2's ``RangeAssignor``:

* consumer *threads* (``<consumer id>-<n>``, one per stream of a topic) are sorted as **strings**, so
  ``c-10`` comes before ``c-2`` — as Kafka's ``ConsumerThreadId.compare``, which compares ``toString``;
* partitions are sorted by number; each thread gets ``len(partitions) // len(threads)`` consecutive
  partitions and the first ``len(partitions) % len(threads)`` threads one more;
* each topic is assigned on its own (the "range" in the name: neighbouring partitions stay together).

Wildcard registrations (``white_list`` / ``black_list``, one regex as the subscription's only key) are
resolved against the cluster's topics as Kafka's ``TopicFilter`` does (commas mean ``|``, spaces and
surrounding quotes dropped, the regex must match the whole name, ``__consumer_offsets`` excluded unless
``exclude.internal.topics=false``).
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

from kafka_zk.common.tp import TopicPartition

__all__ = [
    "INTERNAL_TOPICS",
    "thread_id",
    "topic_filter_regex",
    "subscribed_topics",
    "threads_per_topic",
    "consumers_per_topic",
    "range_assign",
    "range_assignment",
]

#: Kafka 0.8.2's ``Topic.InternalTopics``.
INTERNAL_TOPICS = frozenset({"__consumer_offsets"})


def thread_id(consumer_id: str, n: int) -> str:
    """``TopicCount.makeThreadId``: the name a stream gets in owner znodes."""
    return f"{consumer_id}-{n}"


def topic_filter_regex(raw: str) -> str:
    """Kafka's ``TopicFilter.regex``: ``"a, b"`` → ``a|b`` (quotes from property files dropped)."""
    regex = raw.strip().replace(",", "|").replace(" ", "")
    return re.sub(r"[\"']+$", "", re.sub(r"^[\"']+", "", regex))


def subscribed_topics(subscription: Mapping[str, int], pattern: str, all_topics: Iterable[str],
                      exclude_internal_topics: bool = True) -> dict[str, int]:
    """``{topic: stream count}`` a registration stands for. ``static`` is the subscription itself;
    ``white_list`` / ``black_list`` match its one regex against ``all_topics``."""
    if pattern == "static" or not subscription:
        return dict(subscription)
    raw, streams = next(iter(subscription.items()))
    rx = re.compile(topic_filter_regex(raw))
    out: dict[str, int] = {}
    for topic in sorted(all_topics):
        if exclude_internal_topics and topic in INTERNAL_TOPICS:
            continue
        matches = rx.fullmatch(topic) is not None
        if matches == (pattern == "white_list"):
            out[topic] = streams
    return out


def threads_per_topic(consumer_id: str, topics: Mapping[str, int]) -> dict[str, list[str]]:
    """``TopicCount.makeConsumerThreadIdsPerTopic``: ``{topic: [<id>-0, ..., <id>-(count-1)]}``."""
    out: dict[str, list[str]] = {}
    for topic, count in topics.items():
        if count < 1:
            raise ValueError(f"topic {topic!r}: a consumer needs at least one stream per topic, got {count}")
        out[topic] = [thread_id(consumer_id, i) for i in range(count)]
    return out


def consumers_per_topic(members: Mapping[str, Mapping[str, int]]) -> dict[str, list[str]]:
    """``ZkUtils.getConsumersPerTopic``: every thread of every member subscribed to each topic, sorted as
    strings. ``members`` maps consumer id → its resolved ``{topic: stream count}``."""
    out: dict[str, list[str]] = {}
    for consumer_id, topics in members.items():
        for topic, threads in threads_per_topic(consumer_id, topics).items():
            out.setdefault(topic, []).extend(threads)
    return {topic: sorted(threads) for topic, threads in out.items()}


def range_assign(consumer_id: str, members: Mapping[str, Mapping[str, int]],
                 partitions: Mapping[str, Iterable[int]]) -> dict[TopicPartition, str]:
    """The partitions ``consumer_id``'s threads should own (``RangeAssignor.assign``): ``{tp: thread id}``.

    ``members`` is every registered consumer (``consumer_id`` included) with its resolved topics;
    ``partitions`` maps each topic to its partition ids (a topic missing there has none, so nobody gets
    any of it). Raises ValueError when ``consumer_id`` is not among ``members``.
    """
    if consumer_id not in members:
        raise ValueError(f"consumer {consumer_id!r} is not registered in the group (members: {sorted(members)})")
    all_threads = consumers_per_topic(members)
    decision: dict[TopicPartition, str] = {}
    for topic, mine in threads_per_topic(consumer_id, members[consumer_id]).items():
        threads = all_threads[topic]
        parts = sorted(partitions.get(topic, ()))
        per_thread, with_extra = divmod(len(parts), len(threads))
        for tid in mine:
            pos = threads.index(tid)
            start = per_thread * pos + min(pos, with_extra)
            count = per_thread + (1 if pos < with_extra else 0)
            for p in parts[start:start + count]:
                decision[TopicPartition(topic, p)] = tid
    return decision


def range_assignment(members: Mapping[str, Mapping[str, int]],
                     partitions: Mapping[str, Iterable[int]]) -> dict[TopicPartition, str]:
    """The whole group's assignment: the union of every member's :func:`range_assign` (what the group
    converges to once every member has rebalanced against the same state)."""
    parts = {t: sorted(ps) for t, ps in partitions.items()}
    out: dict[TopicPartition, str] = {}
    for consumer_id in sorted(members):
        out.update(range_assign(consumer_id, members, parts))
    return dict(sorted(out.items()))
