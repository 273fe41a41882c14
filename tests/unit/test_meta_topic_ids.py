"""Topic ids (KIP-516, Kafka 2.8): from the topic znode through the controller's UpdateMetadata into the
broker's metadata cache, which Metadata v10+ answers from."""

from __future__ import annotations

import uuid

from kafka_zk.common.control import (
    BrokerEndpoint,
    UpdateMetadataBroker,
    UpdateMetadataPartitionState,
    UpdateMetadataRequest,
    decode_control,
    encode_control,
)
from kafka_zk.server.metadata_cache import ZERO_UUID, MetadataCache, format_topic_id, parse_topic_id


def test_kafka_uuid_text_form_round_trips() -> None:
    # Kafka's Uuid.toString(): URL-safe base64 of the 16 bytes, without padding (22 characters)
    tid = uuid.UUID("1c7a6e3f-9d51-4b44-a3f0-f6b1e6e0ffee")
    text = format_topic_id(tid)
    assert len(text) == 22 and "=" not in text and "+" not in text and "/" not in text
    assert parse_topic_id(text) == tid
    assert parse_topic_id("HHpuP51RS0Sj8Pax5uD_7g") == tid
    assert parse_topic_id("not base64!") == ZERO_UUID and parse_topic_id("AAAA") == ZERO_UUID


def _state(
    topic: str, partition: int, leader: int = 1, topic_id: str | None = None
) -> UpdateMetadataPartitionState:
    return UpdateMetadataPartitionState(topic, partition, 1, leader, 3, [1], 0, [1], topic_id=topic_id)


def _update(*states: UpdateMetadataPartitionState) -> UpdateMetadataRequest:
    broker = UpdateMetadataBroker(1, [BrokerEndpoint("127.0.0.1", 9092, "PLAINTEXT")])
    return UpdateMetadataRequest(1, 1, -1, list(states), [broker])


def test_cache_keeps_topic_ids_until_the_topic_is_deleted() -> None:
    tid = uuid.uuid4()
    cache = MetadataCache(1)
    cache.update(
        _update(_state("with", 0, topic_id=format_topic_id(tid)), _state("with", 1), _state("without", 0))
    )
    assert cache.topic_id("with") == tid  # a later state without an id does not erase it
    assert cache.topic_id("without") == ZERO_UUID and cache.topic_id("unknown") == ZERO_UUID
    cache.update(_update(_state("with", 0, leader=-2)))
    assert cache.topic_id("with") == tid  # partition 1 is still there
    cache.update(_update(_state("with", 1, leader=-2)))
    assert cache.topic_id("with") == ZERO_UUID and not cache.contains_topic("with")


def test_topic_id_survives_the_control_channel_codec() -> None:
    req = _update(_state("t", 0, topic_id="HHpuP51RS0Sj8Pax5uD_7g"))
    again = decode_control(encode_control(req), expect=UpdateMetadataRequest)
    assert again.partition_states[0].topic_id == "HHpuP51RS0Sj8Pax5uD_7g"
