"""The "consumer" embedded protocol: the bytes consumers put in JoinGroup metadata and SyncGroup assignments.

The broker treats both as opaque; every Kafka consumer (Java, librdkafka, kafka-python) agrees on this layout
(Java ``ConsumerProtocol``), which is why a group can mix clients and why ``kafka-consumer-groups
--describe`` can show partitions:

* Subscription v0: ``version int16, topics [string], user_data bytes``; v1 (Kafka 2.4) adds
  ``owned_partitions [topic string, partitions [int32]]``.
* Assignment v0: ``version int16, assigned [topic string, partitions [int32]], user_data bytes``.

Readers must accept *higher* versions than they know and ignore trailing fields (Java reads the version it
knows as a prefix), so a newer member does not break the group. We write v0: Kafka 2.x-era members all read
it, and v1's owned partitions only matter to the cooperative protocol, which we do not implement.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterable

from kafka_zk.common.tp import TopicPartition

PROTOCOL_TYPE = "consumer"

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")


class ConsumerProtocolError(ValueError):
    """The bytes are not a ConsumerProtocol subscription/assignment."""


@dataclass(frozen=True)
class Subscription:
    topics: tuple[str, ...]
    user_data: bytes | None = None
    owned_partitions: tuple[TopicPartition, ...] = ()
    version: int = 0


@dataclass(frozen=True)
class Assignment:
    partitions: tuple[TopicPartition, ...]
    user_data: bytes | None = None
    version: int = 0


# ----------------------------------------------------------------------------------------------- writing


def _string(s: str) -> bytes:
    b = s.encode()
    return _I16.pack(len(b)) + b


def _bytes(b: bytes | None) -> bytes:
    return _I32.pack(-1) if b is None else _I32.pack(len(b)) + b


def encode_topic_partitions(tps: Iterable[TopicPartition]) -> bytes:
    """``[topic string, partitions [int32]]``, topics in first-seen order, partitions sorted."""
    by_topic: dict[str, list[int]] = {}
    for tp in tps:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    out = [_I32.pack(len(by_topic))]
    for topic, parts in by_topic.items():
        out.append(_string(topic))
        out.append(_I32.pack(len(parts)))
        out.extend(_I32.pack(p) for p in sorted(parts))
    return b"".join(out)


def encode_subscription(sub: Subscription) -> bytes:
    out = [_I16.pack(sub.version), _I32.pack(len(sub.topics))]
    out.extend(_string(t) for t in sub.topics)
    out.append(_bytes(sub.user_data))
    if sub.version >= 1:
        out.append(encode_topic_partitions(sub.owned_partitions))
    return b"".join(out)


def encode_assignment(a: Assignment) -> bytes:
    return _I16.pack(a.version) + encode_topic_partitions(a.partitions) + _bytes(a.user_data)


# ----------------------------------------------------------------------------------------------- reading


class Reader:
    """A bounds-checked big-endian reader over one byte string."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ConsumerProtocolError(f"truncated: need {n} bytes at offset {self.pos} of {len(self.data)}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int16(self) -> int:
        return int(_I16.unpack(self._take(2))[0])

    def int32(self) -> int:
        return int(_I32.unpack(self._take(4))[0])

    def string(self) -> str:
        n = self.int16()
        if n < 0:
            raise ConsumerProtocolError("null string where a topic name was expected")
        return self._take(n).decode()

    def bytes_(self) -> bytes | None:
        n = self.int32()
        return None if n < 0 else self._take(n)

    def count(self) -> int:
        n = self.int32()
        if n < 0 or n > len(self.data):
            raise ConsumerProtocolError(f"bad array length {n}")
        return n

    def topic_partitions(self) -> tuple[TopicPartition, ...]:
        out: list[TopicPartition] = []
        for _ in range(self.count()):
            topic = self.string()
            out.extend(TopicPartition(topic, self.int32()) for _ in range(self.count()))
        return tuple(out)

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.data)


def decode_subscription(data: bytes) -> Subscription:
    r = Reader(data)
    version = r.int16()
    if version < 0:
        raise ConsumerProtocolError(f"negative subscription version {version}")
    topics = tuple(r.string() for _ in range(r.count()))
    user_data = r.bytes_()
    owned = r.topic_partitions() if version >= 1 and not r.at_end else ()
    return Subscription(topics, user_data, owned, version)


def decode_assignment(data: bytes) -> Assignment:
    """An empty byte string is the empty assignment (what a coordinator sends a member the leader left out)."""
    if not data:
        return Assignment(())
    r = Reader(data)
    version = r.int16()
    if version < 0:
        raise ConsumerProtocolError(f"negative assignment version {version}")
    partitions = r.topic_partitions()
    user_data = r.bytes_() if not r.at_end else None
    return Assignment(partitions, user_data, version)


@dataclass
class MemberSubscription:
    """One member as the leader sees it in the JoinGroup response."""

    member_id: str
    subscription: Subscription
    group_instance_id: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
