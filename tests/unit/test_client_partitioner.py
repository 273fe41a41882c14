"""The producer's default partitioner agrees with Kafka's (Java ``Utils.murmur2`` + ``toPositive``) and with
kafka-python's implementation, so keyed records land where every other client would put them."""

from __future__ import annotations

import random

import pytest

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from kafka_zk.client.partitioner import (
    DefaultPartitioner,
    Murmur2RoundRobinPartitioner,
    RoundRobinPartitioner,
    make_partitioner,
    murmur2,
    partition_for_key,
)


def signed32(n: int) -> int:
    return n - (1 << 32) if n >= 1 << 31 else n


def test_murmur2_matches_kafkas_own_test_vectors() -> None:
    # The values Kafka's UtilsTest.testMurmur2 expects (Java ints).
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for key, expected in cases.items():
        assert signed32(murmur2(key)) == expected, key


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_murmur2_matches_kafka_python(key: bytes) -> None:
    assert murmur2(key) == kafka_python_murmur2(key)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=32), st.integers(min_value=1, max_value=1000))
def test_keyed_partition_is_positive_murmur2_mod_count(key: bytes, n: int) -> None:
    p = partition_for_key(key, n)
    assert 0 <= p < n
    assert p == (kafka_python_murmur2(key) & 0x7FFFFFFF) % n  # kafka-python's DefaultPartitioner rule


def test_sign_bit_is_cleared_not_negated() -> None:
    # murmur2(b"21") is negative as a Java int: toPositive keeps the low 31 bits, abs() would not.
    h = murmur2(b"21")
    assert h >= 1 << 31
    assert partition_for_key(b"21", 7) == (h & 0x7FFFFFFF) % 7 != abs(signed32(h)) % 7


def test_legacy_partitioner_keys_by_murmur2_and_rotates_unkeyed_over_available() -> None:
    part = Murmur2RoundRobinPartitioner()
    assert part.partition("t", b"k", 6, available=[0]) == partition_for_key(b"k", 6)
    picks = [part.partition("t", None, 6, available=[1, 4]) for _ in range(6)]
    assert set(picks) == {1, 4} and Counter(picks) == {1: 3, 4: 3}
    spread = Counter(part.partition("u", None, 3, available=[]) for _ in range(9))
    assert spread == {0: 3, 1: 3, 2: 3}


def test_sticky_partitioner_keeps_unkeyed_records_on_one_partition_until_a_new_batch() -> None:
    part = DefaultPartitioner(random.Random(7))
    assert part.partition("t", b"k", 6, available=[0]) == partition_for_key(b"k", 6)
    first = part.partition("t", None, 6, available=[1, 3, 4])
    assert first in (1, 3, 4)
    assert {part.partition("t", None, 6, available=[1, 3, 4]) for _ in range(20)} == {first}
    moved = part.on_new_batch("t", first, 6, available=[1, 3, 4])
    assert moved in (1, 3, 4) and moved != first
    assert part.partition("t", None, 6, available=[1, 3, 4]) == moved
    # a second record racing for the same new batch does not move it again
    assert part.on_new_batch("t", first, 6, available=[1, 3, 4]) == moved
    seen = set()
    for _ in range(60):
        seen.add(part.on_new_batch("t", part.partition("t", None, 6, []), 6, []))
    assert seen == set(range(6))


def test_round_robin_partitioner_ignores_keys() -> None:
    part = RoundRobinPartitioner()
    assert [part.partition("t", b"same", 3, []) for _ in range(6)] == [0, 1, 2, 0, 1, 2]
    assert part.on_new_batch("t", 2, 3, []) == 2


def test_partitioner_names() -> None:
    assert isinstance(make_partitioner(None), DefaultPartitioner)
    assert isinstance(make_partitioner("murmur2_random"), DefaultPartitioner)
    assert isinstance(make_partitioner("org.apache.kafka.clients.producer.RoundRobinPartitioner"),
                      RoundRobinPartitioner)
    with pytest.raises(ValueError, match="unknown partitioner 'crc32'"):
        make_partitioner("crc32")
