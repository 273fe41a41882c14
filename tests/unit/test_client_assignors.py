"""The group leader's assignors give what Kafka's Java assignors give, and the ConsumerProtocol bytes are the
layout every Kafka consumer reads (checked against kafka-python's own encoder)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_zk.client.assignors import (
    RangeAssignor,
    RoundRobinAssignor,
    StickyAssignor,
    decode_sticky_user_data,
    encode_sticky_user_data,
    make_assignors,
)
from kafka_zk.client.consumer_protocol import (
    Assignment,
    Subscription,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
)
from kafka_zk.common.tp import TopicPartition as TP


def subs(**topics: list[str]) -> dict[str, Subscription]:
    return {m: Subscription(tuple(t)) for m, t in topics.items()}


def test_range_gives_contiguous_ranges_first_members_get_the_extra() -> None:
    out = RangeAssignor().assign({"t": 7, "u": 2}, subs(c=["t", "u"], a=["t", "u"], b=["t"]))
    assert out["a"] == [TP("t", 0), TP("t", 1), TP("t", 2), TP("u", 0)]
    assert out["b"] == [TP("t", 3), TP("t", 4)]
    assert out["c"] == [TP("t", 5), TP("t", 6), TP("u", 1)]


def test_range_three_members_six_partitions_two_each() -> None:
    out = RangeAssignor().assign({"t": 6}, subs(m1=["t"], m2=["t"], m3=["t"]))
    assert {m: [tp.partition for tp in tps] for m, tps in out.items()} == {"m1": [0, 1], "m2": [2, 3], "m3": [4, 5]}


def test_roundrobin_deals_in_turn_skipping_unsubscribed_members() -> None:
    out = RoundRobinAssignor().assign({"t": 3, "u": 3}, subs(a=["t", "u"], b=["u"]))
    assert out == {"a": [TP("t", 0), TP("t", 1), TP("t", 2), TP("u", 1)], "b": [TP("u", 0), TP("u", 2)]}


def test_missing_topics_and_members_without_partitions() -> None:
    out = RangeAssignor().assign({"t": 1}, subs(a=["t", "nope"], b=["t"]))
    assert out == {"a": [TP("t", 0)], "b": []}


def sticky_round(prev: dict[str, list[TP]], generation: int, members: list[str], n: int) -> dict[str, list[TP]]:
    s = {m: Subscription(("t",), encode_sticky_user_data(prev.get(m, []), generation)) for m in members}
    return StickyAssignor().assign({"t": n}, s)


def test_sticky_keeps_partitions_when_a_member_leaves_or_joins() -> None:
    first = sticky_round({}, -1, ["a", "b", "c"], 6)
    assert sorted(len(v) for v in first.values()) == [2, 2, 2]
    second = sticky_round(first, 1, ["a", "b"], 6)  # c left
    assert sorted(len(v) for v in second.values()) == [3, 3]
    for m in ("a", "b"):
        assert set(first[m]) <= set(second[m])  # nothing a survivor had moved
    third = sticky_round(second, 2, ["a", "b", "d"], 6)  # d joins: only 2 partitions move, to d
    moved = sum(len(set(second[m]) - set(third[m])) for m in ("a", "b"))
    assert moved == 2 and len(third["d"]) == 2


def test_sticky_newest_generation_wins_a_double_claim() -> None:
    s = {"a": Subscription(("t",), encode_sticky_user_data([TP("t", 0)], 3)),
         "b": Subscription(("t",), encode_sticky_user_data([TP("t", 0)], 5))}
    out = StickyAssignor().assign({"t": 2}, s)
    assert out == {"a": [TP("t", 1)], "b": [TP("t", 0)]}
    assert decode_sticky_user_data(b"\x00\x00") == ((), -1)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdef"), st.lists(st.sampled_from(["t", "u", "v"]), min_size=1),
                       min_size=1),
       st.dictionaries(st.sampled_from(["t", "u", "v"]), st.integers(1, 9), min_size=1),
       st.sampled_from([RangeAssignor, RoundRobinAssignor, StickyAssignor]))
def test_every_existing_subscribed_partition_goes_to_exactly_one_subscriber(
        members: dict[str, list[str]], topics: dict[str, int], assignor: type) -> None:
    out = assignor().assign(topics, subs(**members))
    assert set(out) == set(members)
    owners: dict[TP, str] = {}
    for m, tps in out.items():
        for tp in tps:
            assert tp not in owners and tp.topic in members[m]
            owners[tp] = m
    wanted = {TP(t, p) for ts in members.values() for t in ts if t in topics for p in range(topics[t])}
    assert set(owners) == wanted
    if assignor is not RangeAssignor and len({tuple(sorted(set(t))) for t in members.values()}) == 1:
        counts = [len(v) for v in out.values()]
        assert max(counts) - min(counts) <= 1  # same subscriptions: balanced


def test_consumer_protocol_bytes_match_kafka_python() -> None:
    from kafka.protocol.old.consumer_protocol import (
        ConsumerProtocolMemberAssignment_v0 as ConsumerProtocolMemberAssignment,
    )
    from kafka.protocol.old.consumer_protocol import (
        ConsumerProtocolMemberMetadata_v0 as ConsumerProtocolMemberMetadata,
    )

    ours = encode_subscription(Subscription(("a", "b"), b"ud"))
    theirs = ConsumerProtocolMemberMetadata(0, ["a", "b"], b"ud").encode()
    assert ours == theirs
    assert decode_subscription(theirs) == Subscription(("a", "b"), b"ud")
    a = Assignment((TP("a", 0), TP("a", 2), TP("b", 1)), b"")
    theirs_a = ConsumerProtocolMemberAssignment(0, [("a", [0, 2]), ("b", [1])], b"").encode()
    assert encode_assignment(a) == theirs_a
    assert decode_assignment(theirs_a) == a
    assert decode_assignment(b"") == Assignment(())


def test_newer_subscription_versions_are_read_as_a_prefix() -> None:
    v1 = encode_subscription(Subscription(("t",), None, (TP("t", 3),), version=1))
    assert decode_subscription(v1).owned_partitions == (TP("t", 3),)
    v9 = b"\x00\x09" + v1[2:] + b"future-field"
    assert decode_subscription(v9).topics == ("t",)


def test_assignor_names() -> None:
    assert [a.name for a in make_assignors("range, sticky")] == ["range", "sticky"]
    assert [a.name for a in make_assignors(["org.apache.kafka.clients.consumer.RoundRobinAssignor"])] == ["roundrobin"]
    with pytest.raises(ValueError, match="unknown partition assignment strategy 'cooperative-sticky'"):
        make_assignors("cooperative-sticky")


def test_leader_step_and_heartbeat_decisions() -> None:
    from kafka_zk.client.group import heartbeat_decision, leader_assign
    from kafka_zk.common.errors import ErrorCode

    members = {"b": encode_subscription(Subscription(("t",))), "a": encode_subscription(Subscription(("t",))),
               "junk": b"\x00"}
    out = leader_assign(RangeAssignor(), members, {"t": 3})
    assert decode_assignment(out["a"]).partitions == (TP("t", 0), TP("t", 1))
    assert decode_assignment(out["b"]).partitions == (TP("t", 2),)
    assert decode_assignment(out["junk"]).partitions == ()  # an unreadable member gets nothing, the rest proceed
    assert heartbeat_decision(ErrorCode.NONE) == "ok"
    assert heartbeat_decision(ErrorCode.REBALANCE_IN_PROGRESS) == "rejoin"
    assert heartbeat_decision(ErrorCode.ILLEGAL_GENERATION) == "rejoin"
    assert heartbeat_decision(ErrorCode.UNKNOWN_MEMBER_ID) == "reset"
    assert heartbeat_decision(ErrorCode.NOT_COORDINATOR) == "coordinator"
    assert heartbeat_decision(ErrorCode.GROUP_AUTHORIZATION_FAILED) == "fatal"
