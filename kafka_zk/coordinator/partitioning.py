"""Which ``__consumer_offsets`` partition (and hence which broker) owns a group.

Kafka maps a group to ``Utils.abs(groupId.hashCode) % offsets.topic.num.partitions``
(``GroupMetadataManager.partitionFor``); the leader of that partition is the group's coordinator. Clients
never compute this themselves (they ask FindCoordinator), but tools and the study labs do, and a group's
offsets written by a real Kafka 2.x broker live in exactly that partition — so both halves must match Java
bit for bit:

* ``String.hashCode`` is ``s[0]*31^(n-1) + ... + s[n-1]`` over the string's **UTF-16 code units** in 32-bit
  two's-complement arithmetic (a character outside the BMP counts as its two surrogates).
* ``Utils.abs`` is not ``Math.abs``: it maps ``Integer.MIN_VALUE`` to 0 instead of leaving it negative.
"""

from __future__ import annotations

INT32_MIN = -(2**31)


def java_string_hashcode(s: str) -> int:
    """Java's ``String.hashCode()`` of ``s`` as a signed 32-bit int."""
    data = s.encode("utf-16-be", "surrogatepass")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - 2**32 if h >= 2**31 else h


def kafka_abs(n: int) -> int:
    """Kafka's ``Utils.abs``: absolute value of a 32-bit int, with ``Integer.MIN_VALUE`` mapped to 0."""
    return 0 if n == INT32_MIN else abs(n)


def partition_for(group_id: str, num_partitions: int) -> int:
    """The ``__consumer_offsets`` partition of ``group_id``. Raises ValueError if ``num_partitions`` < 1."""
    if num_partitions < 1:
        raise ValueError(f"offsets topic partition count must be >= 1, got {num_partitions}")
    return kafka_abs(java_string_hashcode(group_id)) % num_partitions
