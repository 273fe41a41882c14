"""Keys and values of the records in ``__consumer_offsets``, byte for byte as Kafka 2.x writes them.

Every record is ``key -> value`` in a compacted topic; the key says *what* the record is about and its
leading int16 **key version** says which kind of record it is (so two kinds never compact together):

=========== ========================== ===============================================================
key version key fields                 value versions (leading int16 of the value)
=========== ========================== ===============================================================
0, 1        group, topic, partition    OffsetCommitValue: committed offset of one partition
2           group                      GroupMetadataValue: membership and assignment of one generation
=========== ========================== ===============================================================

OffsetCommitValue versions (fields in order):

* v0: offset int64, metadata string, timestamp int64 (0.8.2)
* v1: offset int64, metadata string, commit_timestamp int64, expire_timestamp int64 (0.9 – 2.0; still
  written by 2.1+ when the commit carried an explicit retention time)
* v2: offset int64, metadata string, commit_timestamp int64 (2.1-IV0)
* v3: offset int64, leader_epoch int32, metadata string, commit_timestamp int64 (2.1-IV1+; -1 = no epoch)

GroupMetadataValue versions: protocol_type string, generation int32, protocol nullable string,
leader nullable string, [v2+: current_state_timestamp int64], members array of
member_id string, [v3+: group_instance_id nullable string], client_id string, client_host string,
[v1+: rebalance_timeout int32], session_timeout int32, subscription bytes, assignment bytes.
v0 (0.9/0.10.0) lacks the rebalance timeout (readers use the session timeout); v2 (2.1) adds the state
timestamp used by KIP-211 offset expiry; v3 (2.3) adds static membership's instance id.

Kafka 2.x writes key v1 for offsets, key v2 for groups, OffsetCommitValue v3 (v1 when an expire timestamp
is given) and GroupMetadataValue v3 — and so do we. Readers accept every version above.

Encoding (Kafka's old ``protocol.types``): big-endian; ``string`` = int16 length + UTF-8 (length −1 only
for ``nullable string``, meaning null); ``bytes`` = int32 length + bytes; ``array`` = int32 count + items.
A tombstone (``value`` null) deletes the key; it has no value version.

Decoders raise :class:`OffsetsRecordError` (a ValueError) with the field at fault for anything that is not
exactly one of these layouts: unknown version, truncation, negative lengths, trailing bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from kafka_zk.common.tp import TopicPartition

OFFSET_COMMIT_KEY_VERSION = 1
GROUP_METADATA_KEY_VERSION = 2
GROUP_METADATA_VALUE_VERSION = 3
NO_TIMESTAMP = -1
NO_LEADER_EPOCH = -1

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


class OffsetsRecordError(ValueError):
    """A ``__consumer_offsets`` key or value that is not one of Kafka's layouts."""


# ---------------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class OffsetCommitKey:
    group: str
    topic: str
    partition: int
    version: int = OFFSET_COMMIT_KEY_VERSION

    @property
    def topic_partition(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class GroupMetadataKey:
    group: str
    version: int = GROUP_METADATA_KEY_VERSION


@dataclass(frozen=True, slots=True)
class OffsetCommitValue:
    """One committed offset. ``expire_timestamp`` is None unless the commit carried a retention time."""

    offset: int
    metadata: str = ""
    commit_timestamp: int = NO_TIMESTAMP
    expire_timestamp: int | None = None
    leader_epoch: int = NO_LEADER_EPOCH


@dataclass(frozen=True, slots=True)
class MemberEntry:
    member_id: str
    client_id: str
    client_host: str
    rebalance_timeout: int
    session_timeout: int
    subscription: bytes
    assignment: bytes
    group_instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupMetadataValue:
    protocol_type: str
    generation: int
    protocol: str | None
    leader: str | None
    current_state_timestamp: int = NO_TIMESTAMP
    members: list[MemberEntry] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- writer


class _Writer:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def i16(self, v: int) -> None:
        self.parts.append(_I16.pack(v))

    def i32(self, v: int) -> None:
        self.parts.append(_I32.pack(v))

    def i64(self, v: int) -> None:
        self.parts.append(_I64.pack(v))

    def string(self, v: str | None, name: str, nullable: bool = False) -> None:
        if v is None:
            if not nullable:
                raise OffsetsRecordError(f"field '{name}' must not be null")
            self.i16(-1)
            return
        data = v.encode("utf-8")
        if len(data) > 32767:
            raise OffsetsRecordError(f"field '{name}' is {len(data)} bytes; a string holds at most 32767")
        self.i16(len(data))
        self.parts.append(data)

    def bytes_(self, v: bytes) -> None:
        self.i32(len(v))
        self.parts.append(bytes(v))

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


# ---------------------------------------------------------------------------------------------- reader


class _Reader:
    __slots__ = ("buf", "pos", "what")

    def __init__(self, buf: bytes | memoryview, what: str) -> None:
        self.buf = memoryview(buf)
        self.pos = 0
        self.what = what

    def _take(self, n: int, name: str) -> memoryview:
        end = self.pos + n
        if end > len(self.buf):
            raise OffsetsRecordError(
                f"{self.what}: truncated at field '{name}' (needs {n} bytes at {self.pos}, {len(self.buf)} in total)"
            )
        chunk = self.buf[self.pos : end]
        self.pos = end
        return chunk

    def i16(self, name: str) -> int:
        return int(_I16.unpack(self._take(2, name))[0])

    def i32(self, name: str) -> int:
        return int(_I32.unpack(self._take(4, name))[0])

    def i64(self, name: str) -> int:
        return int(_I64.unpack(self._take(8, name))[0])

    def string(self, name: str) -> str:
        n = self.i16(name)
        if n < 0:
            raise OffsetsRecordError(f"{self.what}: field '{name}' has length {n}; it is not nullable")
        return self._utf8(n, name)

    def nullable_string(self, name: str) -> str | None:
        n = self.i16(name)
        if n == -1:
            return None
        if n < 0:
            raise OffsetsRecordError(f"{self.what}: field '{name}' has length {n}")
        return self._utf8(n, name)

    def _utf8(self, n: int, name: str) -> str:
        try:
            return bytes(self._take(n, name)).decode("utf-8")
        except UnicodeDecodeError as e:
            raise OffsetsRecordError(f"{self.what}: field '{name}' is not UTF-8 ({e.reason})") from None

    def bytes_(self, name: str) -> bytes:
        n = self.i32(name)
        if n < 0:
            raise OffsetsRecordError(f"{self.what}: field '{name}' has length {n}; it is not nullable")
        return bytes(self._take(n, name))

    def done(self) -> None:
        if self.pos != len(self.buf):
            raise OffsetsRecordError(f"{self.what}: {len(self.buf) - self.pos} unexpected trailing bytes")


# ---------------------------------------------------------------------------------------------- keys


def encode_offset_commit_key(group: str, tp: TopicPartition, version: int = OFFSET_COMMIT_KEY_VERSION) -> bytes:
    if version not in (0, 1):
        raise OffsetsRecordError(f"offset commit key version {version} does not exist (0 or 1)")
    w = _Writer()
    w.i16(version)
    w.string(group, "group")
    w.string(tp.topic, "topic")
    w.i32(tp.partition)
    return w.getvalue()


def encode_group_metadata_key(group: str) -> bytes:
    w = _Writer()
    w.i16(GROUP_METADATA_KEY_VERSION)
    w.string(group, "group")
    return w.getvalue()


def decode_key(data: bytes | memoryview) -> OffsetCommitKey | GroupMetadataKey:
    """Decode any ``__consumer_offsets`` key; raises OffsetsRecordError for unknown versions or bad bytes."""
    r = _Reader(data, "__consumer_offsets key")
    version = r.i16("version")
    key: OffsetCommitKey | GroupMetadataKey
    if version in (0, 1):
        group = r.string("group")
        topic = r.string("topic")
        key = OffsetCommitKey(group, topic, r.i32("partition"), version)
    elif version == 2:
        key = GroupMetadataKey(r.string("group"), version)
    else:
        raise OffsetsRecordError(f"__consumer_offsets key: unknown key version {version} (expected 0, 1 or 2)")
    r.done()
    return key


# ---------------------------------------------------------------------------------------------- offset values


def offset_commit_value_version(value: OffsetCommitValue) -> int:
    """The version Kafka 2.1+ writes: v1 when an expire timestamp was requested, else v3."""
    return 1 if value.expire_timestamp is not None else 3


def encode_offset_commit_value(value: OffsetCommitValue, version: int | None = None) -> bytes:
    v = offset_commit_value_version(value) if version is None else version
    w = _Writer()
    w.i16(v)
    if v == 0:
        w.i64(value.offset)
        w.string(value.metadata, "metadata")
        w.i64(value.commit_timestamp)
    elif v == 1:
        w.i64(value.offset)
        w.string(value.metadata, "metadata")
        w.i64(value.commit_timestamp)
        w.i64(NO_TIMESTAMP if value.expire_timestamp is None else value.expire_timestamp)
    elif v == 2:
        w.i64(value.offset)
        w.string(value.metadata, "metadata")
        w.i64(value.commit_timestamp)
    elif v == 3:
        w.i64(value.offset)
        w.i32(value.leader_epoch)
        w.string(value.metadata, "metadata")
        w.i64(value.commit_timestamp)
    else:
        raise OffsetsRecordError(f"offset commit value version {v} does not exist (0-3)")
    return w.getvalue()


def decode_offset_commit_value(data: bytes | memoryview) -> OffsetCommitValue:
    """Decode an OffsetCommitValue v0–v3. A v1 expire timestamp of -1 reads as "none" (as Kafka does)."""
    r = _Reader(data, "offset commit value")
    v = r.i16("version")
    if v == 0:
        out = OffsetCommitValue(r.i64("offset"), r.string("metadata"), r.i64("timestamp"))
    elif v == 1:
        offset, metadata, commit_ts, expire_ts = r.i64("offset"), r.string("metadata"), r.i64("commit_timestamp"), r.i64(
            "expire_timestamp"
        )
        out = OffsetCommitValue(offset, metadata, commit_ts, None if expire_ts == NO_TIMESTAMP else expire_ts)
    elif v == 2:
        out = OffsetCommitValue(r.i64("offset"), r.string("metadata"), r.i64("commit_timestamp"))
    elif v == 3:
        offset, epoch = r.i64("offset"), r.i32("leader_epoch")
        out = OffsetCommitValue(offset, r.string("metadata"), r.i64("commit_timestamp"), None, epoch)
    else:
        raise OffsetsRecordError(f"offset commit value: unknown version {v} (expected 0-3)")
    r.done()
    return out


# ---------------------------------------------------------------------------------------------- group values


def encode_group_metadata_value(value: GroupMetadataValue, version: int = GROUP_METADATA_VALUE_VERSION) -> bytes:
    if version not in (0, 1, 2, 3):
        raise OffsetsRecordError(f"group metadata value version {version} does not exist (0-3)")
    if value.members and value.protocol is None:
        raise OffsetsRecordError("a group with members must have a protocol")
    w = _Writer()
    w.i16(version)
    w.string(value.protocol_type, "protocol_type")
    w.i32(value.generation)
    w.string(value.protocol, "protocol", nullable=True)
    w.string(value.leader, "leader", nullable=True)
    if version >= 2:
        w.i64(value.current_state_timestamp)
    w.i32(len(value.members))
    for m in value.members:
        w.string(m.member_id, "member_id")
        if version >= 3:
            w.string(m.group_instance_id, "group_instance_id", nullable=True)
        w.string(m.client_id, "client_id")
        w.string(m.client_host, "client_host")
        if version >= 1:
            w.i32(m.rebalance_timeout)
        w.i32(m.session_timeout)
        w.bytes_(m.subscription)
        w.bytes_(m.assignment)
    return w.getvalue()


def decode_group_metadata_value(data: bytes | memoryview) -> GroupMetadataValue:
    """Decode a GroupMetadataValue v0–v3 (v0 members get rebalance_timeout = session_timeout, as in Kafka)."""
    r = _Reader(data, "group metadata value")
    v = r.i16("version")
    if v not in (0, 1, 2, 3):
        raise OffsetsRecordError(f"group metadata value: unknown version {v} (expected 0-3)")
    protocol_type = r.string("protocol_type")
    generation = r.i32("generation")
    protocol = r.nullable_string("protocol")
    leader = r.nullable_string("leader")
    state_ts = r.i64("current_state_timestamp") if v >= 2 else NO_TIMESTAMP
    count = r.i32("members")
    if count < 0:
        raise OffsetsRecordError(f"group metadata value: member count {count} is negative")
    members = []
    for _ in range(count):
        member_id = r.string("member_id")
        instance_id = r.nullable_string("group_instance_id") if v >= 3 else None
        client_id = r.string("client_id")
        client_host = r.string("client_host")
        rebalance_timeout = r.i32("rebalance_timeout") if v >= 1 else None
        session_timeout = r.i32("session_timeout")
        subscription = r.bytes_("subscription")
        assignment = r.bytes_("assignment")
        members.append(
            MemberEntry(
                member_id,
                client_id,
                client_host,
                session_timeout if rebalance_timeout is None else rebalance_timeout,
                session_timeout,
                subscription,
                assignment,
                instance_id,
            )
        )
    r.done()
    return GroupMetadataValue(protocol_type, generation, protocol, leader, state_ts, members)


# ---------------------------------------------------------------------------------------------- consumer protocol

# ConsumerProtocolAssignment v0 with no partitions and empty (not null) user data: int16 version 0,
# int32 topic count 0, int32 user-data length 0. Sent to members the leader left out of its assignment:
# aiokafka and kafka-python decode the bytes directly and fail on a zero-length buffer.
EMPTY_CONSUMER_ASSIGNMENT = b"\x00\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
CONSUMER_PROTOCOL_TYPE = "consumer"


def subscription_topics(data: bytes | memoryview) -> list[str] | None:
    """The topics of a ConsumerProtocolSubscription (int16 version, [string topics], ...), None if the bytes
    are not one. Every version (0–3, KIP-429 added owned partitions after the user data) starts with them;
    OffsetDelete needs them to refuse deleting offsets of topics the group still consumes."""
    r = _Reader(data, "consumer protocol subscription")
    try:
        r.i16("version")
        count = r.i32("topic count")
        if count < 0:
            return None
        return [r.string("topic") for _ in range(count)]
    except OffsetsRecordError:
        return None
