"""Which partition a record goes to: Kafka's default partitioner (Java ``DefaultPartitioner``, Kafka 2.0-2.3).

* A record with an explicit partition goes there.
* A record with a key goes to ``toPositive(murmur2(key)) % num_partitions`` over **all** partitions of the topic
  (available or not), so the same key always lands on the same partition while the partition count stays the
  same. ``murmur2`` is Kafka's 32-bit MurmurHash2 with seed ``0x9747b28c`` (``Utils.murmur2``) and
  ``toPositive`` clears the sign bit (``x & 0x7fffffff``), not ``abs()``. kafka-python, the Java client and
  librdkafka's ``murmur2_random`` partitioner compute the same partition; librdkafka's *default*
  (``consistent_random``, CRC32-based) does not.
* A record without a key goes round-robin over the partitions that have a leader (all partitions when none
  has): Kafka 2.0-2.3's rule (2.4 replaced it with the sticky partitioner, which only changes batching).
"""

from __future__ import annotations

from typing import Sequence

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2`` as an unsigned 32-bit value (Java returns the same bits as a signed int)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK32
    end4 = length - length % 4
    for i in range(0, end4, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK32
        k ^= k >> 24
        k = (k * _M) & _MASK32
        h = ((h * _M) & _MASK32) ^ k
    rest = length % 4
    if rest == 3:
        h ^= data[end4 + 2] << 16
    if rest >= 2:
        h ^= data[end4 + 1] << 8
    if rest >= 1:
        h ^= data[end4]
        h = (h * _M) & _MASK32
    h ^= h >> 13
    h = (h * _M) & _MASK32
    h ^= h >> 15
    return h


def to_positive(n: int) -> int:
    """Kafka's ``Utils.toPositive``: clear the sign bit of a 32-bit value."""
    return n & 0x7FFFFFFF


def partition_for_key(key: bytes, num_partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key``. Raises ValueError if ``num_partitions < 1``."""
    if num_partitions < 1:
        raise ValueError(f"a topic has at least one partition, got {num_partitions}")
    return to_positive(murmur2(key)) % num_partitions


class DefaultPartitioner:
    """Keyed records by murmur2, unkeyed ones round-robin per topic over the partitions with a leader."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def partition(self, topic: str, key: bytes | None, num_partitions: int, available: Sequence[int]) -> int:
        """``available``: partitions that currently have a leader (may be empty)."""
        if key is not None:
            return partition_for_key(key, num_partitions)
        if num_partitions < 1:
            raise ValueError(f"a topic has at least one partition, got {num_partitions}")
        n = self._counters.get(topic, 0)
        self._counters[topic] = (n + 1) & 0x7FFFFFFF
        pool = sorted(available) if available else list(range(num_partitions))
        return pool[n % len(pool)]
