"""The 0.8 consumer's range assignment (Kafka 0.8.2's ``RangeAssignor``) and its settings. Pure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafka_zk.common.tp import TopicPartition
from kafka_zk.zkconsumer.assignor import (
    consumers_per_topic,
    range_assign,
    range_assignment,
    subscribed_topics,
    topic_filter_regex,
)
from kafka_zk.zkconsumer.config import ZkConsumerConfig


def tp(p: int, topic: str = "t") -> TopicPartition:
    return TopicPartition(topic, p)


def test_kafkas_own_example_two_consumers_two_streams_five_partitions() -> None:
    # RangeAssignor's scaladoc: p0 -> C1-0, p1 -> C1-0, p2 -> C1-1, p3 -> C2-0, p4 -> C2-1
    members = {"C1": {"t": 2}, "C2": {"t": 2}}
    assert range_assignment(members, {"t": range(5)}) == {
        tp(0): "C1-0", tp(1): "C1-0", tp(2): "C1-1", tp(3): "C2-0", tp(4): "C2-1"}
    assert range_assign("C2", members, {"t": range(5)}) == {tp(3): "C2-0", tp(4): "C2-1"}


def test_three_consumers_share_six_partitions_two_each() -> None:
    members = {f"g_c{i}": {"t": 1} for i in (2, 0, 1)}
    got = range_assignment(members, {"t": [5, 4, 3, 2, 1, 0]})
    assert got == {tp(0): "g_c0-0", tp(1): "g_c0-0", tp(2): "g_c1-0", tp(3): "g_c1-0",
                   tp(4): "g_c2-0", tp(5): "g_c2-0"}


def test_threads_sort_as_strings_so_thread_10_comes_before_thread_2() -> None:
    assert consumers_per_topic({"c": {"t": 12}})["t"][:4] == ["c-0", "c-1", "c-10", "c-11"]
    got = range_assign("c", {"c": {"t": 12}}, {"t": range(12)})
    assert got[tp(2)] == "c-10" and got[tp(10)] == "c-8"


def test_more_threads_than_partitions_leaves_the_last_threads_idle() -> None:
    members = {"a": {"t": 1}, "b": {"t": 1}, "c": {"t": 1}}
    assert range_assign("c", members, {"t": [0, 1]}) == {}
    assert range_assign("a", members, {"t": []}) == {}
    assert range_assign("a", members, {}) == {}  # topic not created yet


def test_each_topic_is_ranged_on_its_own_among_its_subscribers() -> None:
    members = {"a": {"t": 1, "u": 1}, "b": {"u": 1}}
    got = range_assignment(members, {"t": range(2), "u": range(3)})
    assert got == {tp(0): "a-0", tp(1): "a-0", tp(0, "u"): "a-0", tp(1, "u"): "a-0", tp(2, "u"): "b-0"}


def test_an_unregistered_consumer_is_refused() -> None:
    with pytest.raises(ValueError, match="not registered"):
        range_assign("x", {"a": {"t": 1}}, {"t": [0]})


@given(st.dictionaries(st.text("abc", min_size=1, max_size=3), st.integers(1, 4), min_size=1, max_size=6),
       st.integers(0, 40))
def test_every_partition_has_exactly_one_owner_and_shares_differ_by_at_most_one(
        streams: dict[str, int], n: int) -> None:
    members = {c: {"t": k} for c, k in streams.items()}
    partitions = {"t": range(n)}
    union: dict[TopicPartition, str] = {}
    per_thread: dict[str, int] = {}
    for c in members:
        mine = range_assign(c, members, partitions)
        assert not set(mine) & set(union)  # no overlap between members' own decisions
        union.update(mine)
        for tid in mine.values():
            per_thread[tid] = per_thread.get(tid, 0) + 1
    assert set(union) == {tp(p) for p in range(n)}
    counts = [per_thread.get(t, 0) for t in consumers_per_topic(members)["t"]]
    assert max(counts) - min(counts) <= 1


def test_wildcard_subscriptions_resolve_like_kafkas_topic_filter() -> None:
    topics = ["orders", "orders-eu", "audit", "__consumer_offsets"]
    assert topic_filter_regex(' "orders.*, audit" ') == "orders.*|audit"
    assert subscribed_topics({"orders.*,audit": 2}, "white_list", topics) == {"audit": 2, "orders": 2,
                                                                             "orders-eu": 2}
    assert subscribed_topics({"order": 1}, "white_list", topics) == {}  # the whole name must match
    assert subscribed_topics({"orders.*": 1}, "black_list", topics) == {"audit": 1}
    assert "__consumer_offsets" in subscribed_topics({".*": 1}, "white_list", topics, exclude_internal_topics=False)
    assert subscribed_topics({"x": 3}, "static", topics) == {"x": 3}


def test_settings_take_kafkas_dotted_names_and_refuse_unknown_ones() -> None:
    cfg = ZkConsumerConfig.from_settings({"zookeeper.connect": "z:2181", "group.id": "g",
                                          "auto.offset.reset": "smallest", "auto.commit.enable": "false",
                                          "rebalance.backoff.ms": "50"})
    assert (cfg.reset_to, cfg.auto_commit_enable, cfg.rebalance_backoff_ms, cfg.rebalance_max_retries) == (
        "earliest", False, 50, 4)
    with pytest.raises(ValueError, match="unknown ZooKeeper consumer setting 'auto.commit.enabled'"):
        ZkConsumerConfig.from_settings({"zookeeper.connect": "z", "group.id": "g", "auto.commit.enabled": "1"})
    with pytest.raises(ValueError, match="smallest or largest"):
        ZkConsumerConfig(zookeeper_connect="z", group_id="g", auto_offset_reset="earliest")
    with pytest.raises(ValueError, match="must be an integer"):
        ZkConsumerConfig.from_settings({"zookeeper.connect": "z", "group.id": "g", "rebalance.max.retries": "x"})


@pytest.mark.parametrize("kwargs, message", [
    ({"topics": {"t": 1}, "whitelist": "t.*"}, "exactly one of"),
    ({}, "exactly one of"),
    ({"topics": []}, "topics is empty"),
    ({"topics": {"t": 0}}, "stream count"),
    ({"topics": {"t": True}}, "stream count"),
    ({"topics": {"a/b": 1}}, "topic"),
    ({"topics": ["t"], "consumer_id": "x/y"}, "consumer id"),
    ({"topics": ["t"], "rebalance_max_retries": 0}, "rebalance.max.retries"),
    ({"topics": ["t"], "fetch_size": 10}, "unknown ZooKeeper consumer setting 'fetch_size'"),
])
def test_bad_consumer_arguments_say_what_is_wrong(kwargs: dict[str, object], message: str) -> None:
    from kafka_zk.zkconsumer import ZkConsumer

    with pytest.raises(ValueError, match=message):
        ZkConsumer(zookeeper_connect="127.0.0.1:1", group_id="g", **kwargs)  # type: ignore[arg-type]


def test_consumer_ids_are_kafkas_group_underscore_host_ms_hex() -> None:
    from kafka_zk.zkconsumer import ZkConsumer

    c = ZkConsumer(zookeeper_connect="127.0.0.1:1", group_id="g", topics=["t"])
    group, host_ms_hex = c.consumer_id.split("_", 1)
    host, ms, hex8 = host_ms_hex.rsplit("-", 2)
    assert group == "g" and host and ms.isdigit() and len(hex8) == 8 and int(hex8, 16) >= 0
    assert ZkConsumer(zookeeper_connect="z", group_id="g", topics=["t"], consumer_id="me").consumer_id == "g_me"
