"""Replica placement: the modulo rule, Kafka's AdminUtils rule, and the errors users see."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.controller.placement import (
    assign_additional_partitions,
    assign_replicas,
    parse_replica_assignment,
    validate_replica_assignment,
)


def test_modulo_table_3_brokers_6_partitions_rf3() -> None:
    assert assign_replicas([2, 0, 1], 6, 3) == {
        0: [0, 1, 2],
        1: [1, 2, 0],
        2: [2, 0, 1],
        3: [0, 1, 2],
        4: [1, 2, 0],
        5: [2, 0, 1],
    }


def test_modulo_uses_sorted_ids_not_positions() -> None:
    # Broker ids need not be contiguous; the rule indexes the sorted list.
    assert assign_replicas([30, 10, 20], 3, 2) == {0: [10, 20], 1: [20, 30], 2: [30, 10]}


def test_modulo_continues_for_added_partitions() -> None:
    existing = assign_replicas([0, 1, 2], 3, 2)
    added = assign_additional_partitions([0, 1, 2], existing, 5)
    assert added == {3: [0, 1], 4: [1, 2]}
    assert {**existing, **added} == assign_replicas([0, 1, 2], 5, 2)


def test_kafka_mode_fixed_start_matches_worked_example() -> None:
    # zk-layout.md §4.3: startIndex = shift = 0 over brokers [0,1,2].
    assert assign_replicas([0, 1, 2], 6, 3, mode="kafka", fixed_start_index=0) == {
        0: [0, 1, 2],
        1: [1, 2, 0],
        2: [2, 0, 1],
        3: [0, 2, 1],
        4: [1, 0, 2],
        5: [2, 1, 0],
    }


def test_kafka_mode_five_broker_table_from_adminutils_comment() -> None:
    got = assign_replicas(range(5), 10, 3, mode="kafka", fixed_start_index=0)
    assert [got[p] for p in range(10)] == [
        [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1],
        [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2],
    ]


def test_kafka_mode_random_start_spreads_first_leader() -> None:
    rng = random.Random(7)
    firsts = Counter(assign_replicas([0, 1, 2, 3], 1, 2, mode="kafka", rng=rng)[0][0] for _ in range(200))
    assert set(firsts) == {0, 1, 2, 3}


@given(
    n=st.integers(1, 7),
    partitions=st.integers(1, 30),
    data=st.data(),
    mode=st.sampled_from(["modulo", "kafka"]),
    seed=st.integers(0, 10_000),
)
def test_every_list_has_rf_distinct_live_brokers_and_leaders_balance(
    n: int, partitions: int, data: st.DataObject, mode: str, seed: int
) -> None:
    rf = data.draw(st.integers(1, n))
    brokers = [b * 3 + 1 for b in range(n)]
    got = assign_replicas(brokers, partitions, rf, mode=mode, rng=random.Random(seed))
    assert sorted(got) == list(range(partitions))
    for replicas in got.values():
        assert len(replicas) == rf and len(set(replicas)) == rf and set(replicas) <= set(brokers)
    leaders = Counter(r[0] for r in got.values())
    assert max(leaders.values()) - min(leaders.get(b, 0) for b in brokers) <= 1


def test_rf_larger_than_brokers_is_invalid_replication_factor() -> None:
    with pytest.raises(KafkaError) as e:
        assign_replicas([0, 1], 3, 3)
    assert e.value.code is ErrorCode.INVALID_REPLICATION_FACTOR
    assert "replication factor 3" in str(e.value) and "(2: 0, 1)" in str(e.value)


def test_no_brokers_is_invalid_replication_factor() -> None:
    with pytest.raises(KafkaError) as e:
        assign_replicas([], 1, 1)
    assert e.value.code is ErrorCode.INVALID_REPLICATION_FACTOR


@pytest.mark.parametrize("partitions, rf, code", [(0, 1, ErrorCode.INVALID_PARTITIONS), (1, 0, ErrorCode.INVALID_REPLICATION_FACTOR)])
def test_non_positive_counts_rejected(partitions: int, rf: int, code: ErrorCode) -> None:
    with pytest.raises(KafkaError) as e:
        assign_replicas([0, 1, 2], partitions, rf)
    assert e.value.code is code


def test_unknown_mode_is_value_error() -> None:
    with pytest.raises(ValueError, match="modulo, kafka"):
        assign_replicas([0], 1, 1, mode="rack")


def test_additional_partitions_must_grow() -> None:
    with pytest.raises(KafkaError) as e:
        assign_additional_partitions([0, 1], {0: [0], 1: [1]}, 2)
    assert e.value.code is ErrorCode.INVALID_PARTITIONS


def test_parse_replica_assignment() -> None:
    assert parse_replica_assignment("0:1:2, 1:2:0") == {0: [0, 1, 2], 1: [1, 2, 0]}


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("0:1,1:x", "partition 1"),
        ("0:0", "more than once"),
        ("0:1,2", "same number of replicas"),
        ("0:-1", "negative"),
    ],
)
def test_parse_replica_assignment_errors(text: str, fragment: str) -> None:
    with pytest.raises(KafkaError) as e:
        parse_replica_assignment(text)
    assert e.value.code is ErrorCode.INVALID_REPLICA_ASSIGNMENT
    assert fragment in str(e.value)


def test_validate_unknown_brokers_and_gaps() -> None:
    with pytest.raises(KafkaError, match="unknown broker.*5"):
        validate_replica_assignment({0: [0, 5]}, brokers=[0, 1])
    with pytest.raises(KafkaError, match="not consecutive"):
        validate_replica_assignment({0: [0], 2: [1]})
    validate_replica_assignment({3: [0], 4: [1]}, brokers=[0, 1], start_partition=3)
