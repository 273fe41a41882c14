"""The group state machine and membership rules, tested directly (no coordinator, no asyncio)."""

from __future__ import annotations

import itertools

import pytest

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator.group import (
    VALID_PREVIOUS_STATES,
    CommitRecord,
    GroupMetadata,
    GroupState,
    IllegalGroupStateTransition,
    MemberMetadata,
    OffsetAndMetadata,
)

S = GroupState
DAY = 24 * 3600 * 1000


def member(member_id: str, protocols: list[str], group: str = "g", protocol_type: str = "consumer") -> MemberMetadata:
    return MemberMetadata(member_id, group, "client", "/127.0.0.1", 60000, 10000, protocol_type, [(p, p.encode()) for p in protocols])


def group_with(*members: MemberMetadata, clock: ManualClock | None = None) -> GroupMetadata:
    g = GroupMetadata("g", clock or ManualClock())
    for m in members:
        g.add(m)
    return g


def test_transition_table_is_kafkas() -> None:
    legal = {(src, dst) for dst, srcs in VALID_PREVIOUS_STATES.items() for src in srcs}
    assert legal == {
        (S.EMPTY, S.PREPARING_REBALANCE),
        (S.STABLE, S.PREPARING_REBALANCE),
        (S.COMPLETING_REBALANCE, S.PREPARING_REBALANCE),
        (S.PREPARING_REBALANCE, S.COMPLETING_REBALANCE),
        (S.COMPLETING_REBALANCE, S.STABLE),
        (S.PREPARING_REBALANCE, S.EMPTY),
        *((s, S.DEAD) for s in S),
    }


@pytest.mark.parametrize("src,dst", list(itertools.product(list(S), list(S))))
def test_transition_to_enforces_the_table(src: GroupState, dst: GroupState) -> None:
    seen: list[tuple[GroupState, GroupState]] = []
    g = GroupMetadata("g", ManualClock(), initial_state=src, on_transition=lambda grp, a, b: seen.append((a, b)))
    if src in VALID_PREVIOUS_STATES[dst]:
        assert g.transition_to(dst) is src
        assert g.state is dst and seen == [(src, dst)]
    else:
        with pytest.raises(IllegalGroupStateTransition, match=f"to {dst.value}"):
            g.transition_to(dst)
        assert g.state is src and seen == []


def test_transition_records_the_state_timestamp() -> None:
    clock = ManualClock()
    g = GroupMetadata("g", clock)
    clock.advance(5000)
    g.transition_to(S.PREPARING_REBALANCE)
    assert g.current_state_timestamp == clock.time_ms()


def test_first_member_is_leader_and_leadership_passes_on() -> None:
    g = group_with(member("a", ["range"]), member("b", ["range"]), member("c", ["range"]))
    assert g.leader_id == "a" and g.protocol_type == "consumer"
    g.remove("b")
    assert g.leader_id == "a"
    g.remove("a")
    assert g.leader_id == "c"
    g.remove("c")
    assert g.leader_id is None and g.size == 0


def test_protocol_vote_mixed_assignors_end_on_the_common_one() -> None:
    # librdkafka / kafka-python default to range,roundrobin; aiokafka offers only roundrobin.
    g = group_with(member("a", ["range", "roundrobin"]), member("b", ["range", "roundrobin"]), member("c", ["roundrobin"]))
    assert g.candidate_protocols() == {"roundrobin"}
    assert g.select_protocol() == "roundrobin"


def test_protocol_vote_majority_preference_wins() -> None:
    g = group_with(
        member("a", ["cooperative-sticky", "range"]),
        member("b", ["range", "cooperative-sticky"]),
        member("c", ["range", "cooperative-sticky"]),
    )
    assert g.select_protocol() == "range"
    g.remove("c")  # 1:1 — tie broken by the earliest vote (member a)
    assert g.select_protocol() == "cooperative-sticky"


def test_supports_protocols_rules() -> None:
    g = GroupMetadata("g", ManualClock())
    assert g.supports_protocols("consumer", ["range"])  # Empty: anything non-empty
    assert not g.supports_protocols("", ["range"])
    assert not g.supports_protocols("consumer", [])
    g.add(member("a", ["range", "roundrobin"]))
    g.transition_to(S.PREPARING_REBALANCE)
    assert g.supports_protocols("consumer", ["roundrobin"])
    assert not g.supports_protocols("consumer", ["sticky"])  # INCONSISTENT_GROUP_PROTOCOL
    assert not g.supports_protocols("connect", ["range"])


def test_join_bookkeeping_and_next_generation() -> None:
    g = GroupMetadata("g", ManualClock())
    answers: list[object] = []
    a, b = member("a", ["range"]), member("b", ["range"])
    g.add(a, answers.append)
    g.add(b)
    g.transition_to(S.PREPARING_REBALANCE)
    assert not g.has_all_members_joined and [m.member_id for m in g.not_yet_rejoined_members()] == ["b"]
    g.update_member(b, [("range", b"new")], answers.append)
    assert g.has_all_members_joined
    g.init_next_generation()
    assert (g.state, g.generation_id, g.protocol_name) == (S.COMPLETING_REBALANCE, 1, "range")
    assert [(m.member_id, m.metadata) for m in g.current_member_metadata()] == [("a", b"range"), ("b", b"new")]
    assert g.maybe_invoke_join_callback(a, "joined") and not g.maybe_invoke_join_callback(a, "again")
    assert answers == ["joined"] and g.num_awaiting_join == 1


def test_next_generation_of_an_empty_group_is_empty() -> None:
    g = GroupMetadata("g", ManualClock(), initial_state=S.PREPARING_REBALANCE)
    g.init_next_generation()
    assert (g.state, g.generation_id, g.protocol_name) == (S.EMPTY, 1, None)


def test_member_matches_and_generated_ids() -> None:
    m = member("a", ["range", "roundrobin"])
    assert m.matches([("range", b"range"), ("roundrobin", b"roundrobin")])
    assert not m.matches([("roundrobin", b"roundrobin"), ("range", b"range")])  # order is preference
    member_id = GroupMetadata("g", ManualClock()).generate_member_id("rdkafka")
    assert member_id.startswith("rdkafka-") and len(member_id) == len("rdkafka-") + 36


def test_summary_shows_metadata_only_when_stable() -> None:
    g = group_with(member("a", ["range"]))
    g.transition_to(S.PREPARING_REBALANCE)
    assert g.summary().members[0].metadata == b"" and g.summary().protocol == ""
    g.get("a").join_callback = lambda r: None
    g.init_next_generation()
    g.get("a").assignment = b"A"
    g.transition_to(S.STABLE)
    s = g.summary()
    assert (s.state, s.protocol, s.members[0].metadata, s.members[0].assignment) == ("Stable", "range", b"range", b"A")


# ------------------------------------------------------------------------------------------------ offsets

TP0, TP1 = TopicPartition("t", 0), TopicPartition("t", 1)


def test_pending_commit_enters_the_cache_only_when_appended_and_newest_wins() -> None:
    g = GroupMetadata("g", ManualClock())
    older, newer = OffsetAndMetadata(5, "", 1), OffsetAndMetadata(9, "", 2)
    g.prepare_offset_commit({TP0: older})
    g.prepare_offset_commit({TP0: newer})
    assert g.offset(TP0) is None and g.has_offsets
    g.on_offset_commit_append(TP0, CommitRecord(2, newer))
    g.on_offset_commit_append(TP0, CommitRecord(1, older))  # an older append completing late
    assert g.offset(TP0) == newer and g.has_offsets is True
    g.prepare_offset_commit({TP1: older})
    g.fail_pending_offset_write(TP1, older)
    assert g.offset(TP1) is None and g.all_offsets() == {TP0: newer}


def test_group_offsets_expire_only_while_empty_for_the_retention_period() -> None:
    clock = ManualClock()
    g = group_with(member("a", ["range"]), clock=clock)
    g.initialize_offsets({TP0: CommitRecord(1, OffsetAndMetadata(5, "", clock.time_ms()))})
    g.transition_to(S.PREPARING_REBALANCE)
    g.remove("a")
    clock.advance(10 * DAY)
    assert g.remove_expired_offsets(clock.time_ms(), 7 * DAY) == {}  # not Empty: kept however old
    g.transition_to(S.EMPTY)
    clock.advance(7 * DAY - 1)
    assert g.remove_expired_offsets(clock.time_ms(), 7 * DAY) == {}
    clock.advance(1)
    assert list(g.remove_expired_offsets(clock.time_ms(), 7 * DAY)) == [TP0]
    assert not g.has_offsets


def test_standalone_offsets_expire_from_commit_time_and_explicit_expiry_wins() -> None:
    clock = ManualClock()
    g = GroupMetadata("g", clock)  # no protocol type: offsets only
    now = clock.time_ms()
    g.initialize_offsets(
        {
            TP0: CommitRecord(1, OffsetAndMetadata(5, "", now)),
            TP1: CommitRecord(2, OffsetAndMetadata(6, "", now, expire_timestamp=now + 1000)),
        }
    )
    assert g.remove_expired_offsets(now + 999, DAY) == {}
    assert list(g.remove_expired_offsets(now + 1000, DAY)) == [TP1]
    g.prepare_offset_commit({TP0: OffsetAndMetadata(7, "", now + DAY)})
    assert g.remove_expired_offsets(now + 2 * DAY, DAY) == {}  # a commit in flight protects it
