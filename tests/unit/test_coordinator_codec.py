"""__consumer_offsets key/value formats and group → partition mapping, checked against Kafka's layouts.

Expected bytes are assembled by hand from the field lists of Kafka 2.x's GroupMetadataManager schemas
(OffsetCommitKey/Value, GroupMetadataKey/Value), not produced by our encoder.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator import offsets_codec as codec
from kafka_zk.coordinator.partitioning import java_string_hashcode, kafka_abs, partition_for


def s16(text: str | None) -> bytes:
    """Kafka STRING / NULLABLE_STRING: int16 length + UTF-8 (-1 = null)."""
    if text is None:
        return struct.pack(">h", -1)
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def b32(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


TS = 1_600_000_123_456


# ------------------------------------------------------------------------------------------------ keys


def test_offset_commit_key_is_version_1_group_topic_partition() -> None:
    expected = struct.pack(">h", 1) + s16("orders-app") + s16("orders") + struct.pack(">i", 7)
    assert codec.encode_offset_commit_key("orders-app", TopicPartition("orders", 7)) == expected
    key = codec.decode_key(expected)
    assert key == codec.OffsetCommitKey("orders-app", "orders", 7, version=1)


def test_offset_commit_key_version_0_decodes_the_same() -> None:
    data = struct.pack(">h", 0) + s16("g") + s16("t") + struct.pack(">i", 0)
    key = codec.decode_key(data)
    assert isinstance(key, codec.OffsetCommitKey) and key.topic_partition == TopicPartition("t", 0) and key.version == 0


def test_group_metadata_key_is_version_2_group() -> None:
    expected = struct.pack(">h", 2) + s16("orders-app")
    assert codec.encode_group_metadata_key("orders-app") == expected
    assert codec.decode_key(expected) == codec.GroupMetadataKey("orders-app")


def test_keys_of_two_kinds_never_collide() -> None:
    # Compaction keeps one record per key: an offset key and a group key must differ even for like names.
    assert codec.encode_group_metadata_key("g") != codec.encode_offset_commit_key("g", TopicPartition("", 0))


# ------------------------------------------------------------------------------------------------ offset values


def test_offset_value_v3_is_what_kafka_2_1_plus_writes() -> None:
    expected = struct.pack(">h", 3) + struct.pack(">q", 42) + struct.pack(">i", -1) + s16("meta") + struct.pack(">q", TS)
    value = codec.OffsetCommitValue(offset=42, metadata="meta", commit_timestamp=TS)
    assert codec.encode_offset_commit_value(value) == expected
    assert codec.decode_offset_commit_value(expected) == value


def test_offset_value_v1_is_written_when_an_expire_timestamp_is_given() -> None:
    expected = struct.pack(">h", 1) + struct.pack(">q", 42) + s16("") + struct.pack(">q", TS) + struct.pack(">q", TS + 1000)
    value = codec.OffsetCommitValue(offset=42, metadata="", commit_timestamp=TS, expire_timestamp=TS + 1000)
    assert codec.encode_offset_commit_value(value) == expected
    assert codec.decode_offset_commit_value(expected) == value


def test_offset_value_v1_with_default_expire_timestamp_reads_as_no_expiry() -> None:
    data = struct.pack(">h", 1) + struct.pack(">q", 5) + s16("x") + struct.pack(">q", TS) + struct.pack(">q", -1)
    assert codec.decode_offset_commit_value(data).expire_timestamp is None


def test_offset_value_v0_and_v2_decode() -> None:
    v0 = struct.pack(">h", 0) + struct.pack(">q", 9) + s16("old") + struct.pack(">q", TS)
    v2 = struct.pack(">h", 2) + struct.pack(">q", 9) + s16("old") + struct.pack(">q", TS)
    for data in (v0, v2):
        value = codec.decode_offset_commit_value(data)
        assert (value.offset, value.metadata, value.commit_timestamp, value.expire_timestamp) == (9, "old", TS, None)


def test_offset_value_v3_keeps_a_leader_epoch() -> None:
    data = struct.pack(">h", 3) + struct.pack(">q", 100) + struct.pack(">i", 4) + s16("") + struct.pack(">q", TS)
    assert codec.decode_offset_commit_value(data).leader_epoch == 4


# ------------------------------------------------------------------------------------------------ group values


def member_v3(member_id: str, instance: str | None, subscription: bytes, assignment: bytes) -> bytes:
    return (
        s16(member_id)
        + s16(instance)
        + s16("client-1")
        + s16("/10.0.0.1")
        + struct.pack(">i", 300000)  # rebalance_timeout
        + struct.pack(">i", 10000)  # session_timeout
        + b32(subscription)
        + b32(assignment)
    )


def test_group_value_v3_is_what_kafka_2_3_plus_writes() -> None:
    expected = (
        struct.pack(">h", 3)
        + s16("consumer")
        + struct.pack(">i", 5)
        + s16("range")
        + s16("client-1-abc")
        + struct.pack(">q", TS)
        + struct.pack(">i", 1)
        + member_v3("client-1-abc", None, b"SUB", b"ASSIGN")
    )
    value = codec.GroupMetadataValue(
        protocol_type="consumer",
        generation=5,
        protocol="range",
        leader="client-1-abc",
        current_state_timestamp=TS,
        members=[codec.MemberEntry("client-1-abc", "client-1", "/10.0.0.1", 300000, 10000, b"SUB", b"ASSIGN")],
    )
    assert codec.encode_group_metadata_value(value) == expected
    assert codec.decode_group_metadata_value(expected) == value


def test_empty_group_value_has_null_protocol_and_leader() -> None:
    expected = struct.pack(">h", 3) + s16("consumer") + struct.pack(">i", 6) + s16(None) + s16(None) + struct.pack(">q", TS) + struct.pack(">i", 0)
    value = codec.GroupMetadataValue("consumer", 6, None, None, TS, [])
    assert codec.encode_group_metadata_value(value) == expected
    assert codec.decode_group_metadata_value(expected) == value


def test_group_value_v0_members_take_the_session_timeout_as_rebalance_timeout() -> None:
    member_v0 = s16("m-1") + s16("c") + s16("/h") + struct.pack(">i", 30000) + b32(b"s") + b32(b"a")
    data = struct.pack(">h", 0) + s16("consumer") + struct.pack(">i", 1) + s16("range") + s16("m-1") + struct.pack(">i", 1) + member_v0
    value = codec.decode_group_metadata_value(data)
    assert value.current_state_timestamp == -1
    assert value.members == [codec.MemberEntry("m-1", "c", "/h", 30000, 30000, b"s", b"a")]


def test_group_value_v1_and_v2_decode() -> None:
    member_v1 = s16("m-1") + s16("c") + s16("/h") + struct.pack(">i", 60000) + struct.pack(">i", 30000) + b32(b"s") + b32(b"a")
    head = s16("consumer") + struct.pack(">i", 2) + s16("roundrobin") + s16("m-1")
    v1 = struct.pack(">h", 1) + head + struct.pack(">i", 1) + member_v1
    v2 = struct.pack(">h", 2) + head + struct.pack(">q", TS) + struct.pack(">i", 1) + member_v1
    assert codec.decode_group_metadata_value(v1).members[0].rebalance_timeout == 60000
    assert codec.decode_group_metadata_value(v2).current_state_timestamp == TS


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "decoder,data,needle",
    [
        (codec.decode_key, struct.pack(">h", 3) + s16("g"), "unknown key version 3"),
        (codec.decode_key, struct.pack(">h", 1) + s16("g"), "truncated at field 'topic'"),
        (codec.decode_key, struct.pack(">h", 2) + s16("g") + b"\x00", "trailing"),
        (codec.decode_offset_commit_value, struct.pack(">h", 4) + b"\x00" * 20, "unknown version 4"),
        (codec.decode_offset_commit_value, struct.pack(">h", 3) + struct.pack(">q", 1), "truncated at field 'leader_epoch'"),
        (codec.decode_group_metadata_value, struct.pack(">h", 3) + s16(None), "protocol_type"),
        (codec.decode_key, struct.pack(">h", 2) + struct.pack(">h", 2) + b"\xff\xfe", "not UTF-8"),
    ],
)
def test_malformed_records_raise_a_clear_error(decoder, data: bytes, needle: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(codec.OffsetsRecordError, match=needle):
        decoder(data)


def test_a_group_with_members_needs_a_protocol() -> None:
    value = codec.GroupMetadataValue("consumer", 1, None, None, TS, [codec.MemberEntry("m", "c", "h", 1, 1, b"", b"")])
    with pytest.raises(codec.OffsetsRecordError, match="protocol"):
        codec.encode_group_metadata_value(value)


# ------------------------------------------------------------------------------------------------ round trips

names = st.text(max_size=40)
int32 = st.integers(-(2**31), 2**31 - 1)
int64 = st.integers(-(2**63), 2**63 - 1)


@given(group=names, topic=names, partition=int32)
def test_offset_key_round_trip(group: str, topic: str, partition: int) -> None:
    key = codec.decode_key(codec.encode_offset_commit_key(group, TopicPartition(topic, partition)))
    assert key == codec.OffsetCommitKey(group, topic, partition)


@given(offset=int64, metadata=names, ts=int64, expire=st.none() | int64.filter(lambda v: v != -1), epoch=int32)
def test_offset_value_round_trip(offset: int, metadata: str, ts: int, expire: int | None, epoch: int) -> None:
    value = codec.OffsetCommitValue(offset, metadata, ts, expire, epoch if expire is None else -1)
    assert codec.decode_offset_commit_value(codec.encode_offset_commit_value(value)) == value


members = st.lists(
    st.builds(codec.MemberEntry, names, names, names, int32, int32, st.binary(max_size=64), st.binary(max_size=64), st.none() | names),
    max_size=4,
)


@given(protocol_type=names, generation=int32, protocol=names, leader=st.none() | names, ts=int64, entries=members)
def test_group_value_round_trip(
    protocol_type: str, generation: int, protocol: str, leader: str | None, ts: int, entries: list[codec.MemberEntry]
) -> None:
    value = codec.GroupMetadataValue(protocol_type, generation, protocol, leader, ts, entries)
    assert codec.decode_group_metadata_value(codec.encode_group_metadata_value(value)) == value


# ------------------------------------------------------------------------------------------------ partition_for


@pytest.mark.parametrize(
    "text,hashcode",
    [
        ("", 0),
        ("hello", 99162322),  # Java: "hello".hashCode()
        ("Aa", 2112),
        ("BB", 2112),  # the classic collision
        ("polygenelubricants", -(2**31)),  # hashes to Integer.MIN_VALUE
        ("\U0001f600", 0xD83D * 31 + 0xDE00),  # outside the BMP: two UTF-16 surrogates
    ],
)
def test_java_string_hashcode(text: str, hashcode: int) -> None:
    assert java_string_hashcode(text) == hashcode


def test_kafka_abs_maps_int_min_to_zero() -> None:
    assert kafka_abs(-(2**31)) == 0 and kafka_abs(-5) == 5 and kafka_abs(7) == 7


def test_partition_for_matches_kafka() -> None:
    assert partition_for("testgroup", 50) == 27  # abs("testgroup".hashCode) % 50, a commonly quoted example
    assert partition_for("polygenelubricants", 50) == 0  # Math.abs would have stayed negative
    assert all(0 <= partition_for(f"group-{i}", 50) < 50 for i in range(200))
    with pytest.raises(ValueError):
        partition_for("g", 0)


def test_empty_consumer_assignment_is_a_valid_v0_assignment() -> None:
    # version int16 0, topics array of 0, user_data bytes of length 0
    assert codec.EMPTY_CONSUMER_ASSIGNMENT == struct.pack(">hii", 0, 0, 0)
