"""Topic log configuration: Kafka 2.x defaults, broker-level synonyms and their precedence, bad input."""

from __future__ import annotations

import pytest

from kafka_zk.common.config import ConfigError
from kafka_zk.log.config import LONG_MAX, LogConfig, broker_defaults_to_topic_props


def test_defaults_are_kafka_2x_defaults() -> None:
    c = LogConfig()
    assert c.segment_bytes == 1 << 30
    assert c.segment_ms == 7 * 24 * 3600 * 1000
    assert c.segment_index_bytes == 10 * 1024 * 1024
    assert c.index_interval_bytes == 4096
    assert c.retention_ms == 604800000 and c.retention_bytes == -1
    assert c.cleanup_policy == ["delete"] and c.delete and not c.compact
    assert c.delete_retention_ms == 86400000 and c.min_compaction_lag_ms == 0
    assert c.min_cleanable_dirty_ratio == 0.5
    assert c.flush_messages == LONG_MAX and c.flush_ms == LONG_MAX
    assert c.max_message_bytes == 1000012
    assert c.message_timestamp_type == "CreateTime" and c.message_timestamp_difference_max_ms == LONG_MAX
    assert c.preallocate is False and c.file_delete_delay_ms == 60000
    assert c.compression_type == "producer"
    assert c.min_insync_replicas == 1 and c.unclean_leader_election_enable is False


def test_topic_overrides_parse_strings_and_record_what_was_set() -> None:
    c = LogConfig({"cleanup.policy": "compact,delete", "retention.ms": "-1", "min.cleanable.dirty.ratio": "0.1"})
    assert c.compact and c.delete and c.retention_ms == -1 and c.min_cleanable_dirty_ratio == 0.1
    assert set(c.overrides) == {"cleanup.policy", "retention.ms", "min.cleanable.dirty.ratio"}
    assert c.get("retention.ms") == -1
    assert c.to_props()["cleanup.policy"] == "compact,delete"


@pytest.mark.parametrize(
    "props,message",
    [
        ({"segment.byte": "1"}, "did you mean 'segment.bytes'"),
        ({"cleanup.policy": "forever"}, "expected one of delete, compact"),
        ({"segment.bytes": "10"}, "must be in"),
        ({"preallocate": "yes"}, "expected bool"),
        ({"compression.type": "brotli"}, "expected one of"),
    ],
)
def test_bad_values_are_one_line_errors(props: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as e:
        LogConfig(props)
    assert "\n" not in str(e.value)


def test_broker_keys_map_to_topic_keys_with_unit_precedence() -> None:
    props = {
        "broker.id": "1",
        "log.segment.bytes": "1048576",
        "log.retention.hours": "1",
        "log.retention.minutes": "30",
        "log.roll.hours": "2",
        "log.cleanup.policy": "compact",
        "log.flush.interval.messages": "100",
        "log.flush.scheduler.interval.ms": "2000",
        "message.max.bytes": "2000000",
        "log.index.interval.bytes": "100",
        "log.cleaner.delete.retention.ms": "5",
    }
    c = LogConfig.from_broker_props(props)
    assert c.segment_bytes == 1048576
    assert c.retention_ms == 30 * 60_000  # minutes beat hours
    assert c.segment_ms == 2 * 3_600_000
    assert c.cleanup_policy == ["compact"]
    assert c.flush_messages == 100 and c.flush_ms == 2000
    assert c.max_message_bytes == 2000000 and c.index_interval_bytes == 100 and c.delete_retention_ms == 5
    assert broker_defaults_to_topic_props({"log.retention.ms": "7", "log.retention.hours": "1"})["retention.ms"] == 7
    assert broker_defaults_to_topic_props({"log.retention.hours": "-1"})["retention.ms"] == -1


def test_topic_config_layers_over_broker_defaults() -> None:
    broker = LogConfig.from_broker_props({"log.retention.hours": "1", "log.segment.bytes": "5000"})
    topic = broker.with_overrides({"retention.ms": "10"})
    assert topic.retention_ms == 10 and topic.segment_bytes == 5000
    assert topic.overrides == {"retention.ms": 10}
    assert topic.defaults is broker and broker.overrides == {"retention.ms": 3_600_000, "segment.bytes": 5000}


def test_config_is_immutable() -> None:
    with pytest.raises(AttributeError):
        LogConfig().segment_bytes = 5  # type: ignore[misc]
