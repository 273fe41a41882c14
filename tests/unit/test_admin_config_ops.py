"""The pure rules behind IncrementalAlterConfigs and config reporting (Kafka 2.8's ZkAdminManager)."""

from __future__ import annotations

import uuid

import pytest

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.log.config import LogConfig
from kafka_zk.protocol.apis import decode_request, encode_request, encode_to_bytes
from kafka_zk.protocol.messages.configs import OP_APPEND, OP_DELETE, OP_SET, OP_SUBTRACT
from kafka_zk.protocol.messages.topic_admin import DeleteTopicsRequest
from kafka_zk.server.config_ops import (
    SOURCE_DEFAULT,
    SOURCE_STATIC_BROKER,
    SOURCE_TOPIC,
    apply_incremental,
    new_topic_id,
    topic_config_entries,
    topic_id_to_uuid,
    uuid_to_topic_id,
)


def test_set_and_delete_touch_only_the_named_keys() -> None:
    current = {"retention.ms": "1000", "cleanup.policy": "compact"}
    got = apply_incremental(
        current, [("retention.ms", OP_DELETE, None), ("segment.bytes", OP_SET, "1048576")]
    )
    assert got == {"cleanup.policy": "compact", "segment.bytes": "1048576"}
    assert current == {"retention.ms": "1000", "cleanup.policy": "compact"}  # the input is not modified


def test_append_starts_from_the_default_list_and_subtract_removes_one_occurrence() -> None:
    # cleanup.policy defaults to [delete]: appending compact gives "delete,compact", as Kafka does.
    assert apply_incremental({}, [("cleanup.policy", OP_APPEND, "compact")]) == {
        "cleanup.policy": "delete,compact"
    }
    got = apply_incremental(
        {"leader.replication.throttled.replicas": "0:1,1:2,0:1"},
        [("leader.replication.throttled.replicas", OP_SUBTRACT, "0:1")],
    )
    assert got == {"leader.replication.throttled.replicas": "1:2,0:1"}
    got = apply_incremental({}, [("follower.replication.throttled.replicas", OP_SUBTRACT, "0:1")])
    assert got == {"follower.replication.throttled.replicas": ""}


@pytest.mark.parametrize(
    "ops, code, fragment",
    [
        (
            [("retention.ms", OP_SET, "1"), ("retention.ms", OP_DELETE, None)],
            ErrorCode.INVALID_REQUEST,
            "duplicate",
        ),
        (
            [("retention.ms", OP_SET, None)],
            ErrorCode.INVALID_REQUEST,
            "Null value not supported for : SET:retention.ms",
        ),
        ([("retention.ms", OP_APPEND, "5")], ErrorCode.INVALID_REQUEST, "append is not allowed"),
        ([("segment.bytes", OP_SUBTRACT, "5")], ErrorCode.INVALID_REQUEST, "subtract is not allowed"),
        (
            [("retention.mss", OP_SET, "5")],
            ErrorCode.INVALID_CONFIG,
            "Unknown topic config name: retention.mss",
        ),
        ([("retention.ms", 7, "5")], ErrorCode.INVALID_REQUEST, "unknown config operation 7"),
    ],
)
def test_bad_operations_get_kafkas_error(
    ops: list[tuple[str, int, str | None]], code: ErrorCode, fragment: str
) -> None:
    with pytest.raises(KafkaError) as info:
        apply_incremental({}, ops)
    assert info.value.code is code and fragment in (info.value.message or "")


def test_entries_name_their_source_and_synonyms_most_specific_first() -> None:
    broker = LogConfig.from_broker_props({"log.retention.bytes": "5000", "log.segment.bytes": "2000000"})
    cfg = broker.with_overrides({"retention.bytes": "7000"})
    by_name = {e.name: e for e in topic_config_entries(cfg)}
    rb = by_name["retention.bytes"]
    assert (rb.value, rb.source) == ("7000", SOURCE_TOPIC)
    assert rb.synonyms == (
        ("retention.bytes", "7000", SOURCE_TOPIC),
        ("log.retention.bytes", "5000", SOURCE_STATIC_BROKER),
        ("log.retention.bytes", "-1", SOURCE_DEFAULT),
    )
    assert (by_name["segment.bytes"].value, by_name["segment.bytes"].source) == (
        "2000000",
        SOURCE_STATIC_BROKER,
    )
    assert by_name["preallocate"].is_default and by_name["preallocate"].config_type == 1  # BOOLEAN
    assert (
        by_name["cleanup.policy"].config_type == 7 and by_name["retention.ms"].config_type == 5
    )  # LIST, LONG
    assert by_name["min.insync.replicas"].documentation
    assert [e.name for e in topic_config_entries(cfg, ["retention.bytes"])] == ["retention.bytes"]


def test_topic_ids_round_trip_between_the_znode_and_the_wire() -> None:
    tid = new_topic_id()
    assert len(tid) == 22 and "=" not in tid
    assert uuid_to_topic_id(topic_id_to_uuid(tid)) == tid
    assert topic_id_to_uuid(None) == uuid.UUID(int=0)
    # Kafka's Uuid.toString of 0x0123..., checked by hand: URL-safe base64 of the 16 big-endian bytes.
    u = uuid.UUID("0123456789abcdef0123456789abcdef")
    assert uuid_to_topic_id(u) == "ASNFZ4mrze8BI0VniavN7w"


def test_delete_topics_v6_names_topics_by_name_or_id_and_older_versions_by_names() -> None:
    tid = uuid.uuid4()
    req = DeleteTopicsRequest(
        timeout_ms=5,
        topic_names=["a"],
        topics=[
            DeleteTopicsRequest.DeleteTopicState(name="a"),
            DeleteTopicsRequest.DeleteTopicState(topic_id=tid),
        ],
    )
    v6 = decode_request(20, 6, encode_to_bytes(encode_request(20, 6, req)))
    assert [(t.name, t.topic_id) for t in v6.topics] == [("a", uuid.UUID(int=0)), (None, tid)]
    assert v6.topic_names == []
    v5 = decode_request(20, 5, encode_to_bytes(encode_request(20, 5, req)))
    assert v5.topic_names == ["a"] and v5.topics == []
