"""Pure parts of ``kafka-zk configs`` and ``consumer-groups --zookeeper``: Kafka's syntax and lines."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kafka_zk.admin.common import UsageError
from kafka_zk.admin.configs import (
    bootstrap_describe_lines,
    merge,
    parse_add_config,
    validate_broker_configs,
    validate_topic_configs,
    zk_altered_line,
    zk_describe_line,
)
from kafka_zk.admin.zk_groups import Row, owner_consumer_id, render


def test_add_config_keeps_commas_inside_brackets() -> None:
    assert parse_add_config("retention.ms=1000, cleanup.policy=compact") == {"retention.ms": "1000",
                                                                            "cleanup.policy": "compact"}
    assert parse_add_config("leader.replication.throttled.replicas=[0:1,1:2],min.insync.replicas=2") == {
        "leader.replication.throttled.replicas": "0:1,1:2", "min.insync.replicas": "2"}
    with pytest.raises(UsageError, match="is not key=value"):
        parse_add_config("retention.ms")


def test_merge_adds_deletes_and_refuses_unknown_deletes() -> None:
    assert merge({"a": "1", "b": "2"}, {"b": "3"}, ["a"]) == {"b": "3"}
    with pytest.raises(UsageError, match=r"Invalid config\(s\): c"):
        merge({"a": "1"}, {}, ["c"])


def test_validation_names_the_closest_key() -> None:
    with pytest.raises(UsageError, match="did you mean 'segment.bytes'"):
        validate_topic_configs({"segment.byte": "1024"})
    with pytest.raises(UsageError, match="did you mean 'log.retention.ms'"):
        validate_broker_configs({"log.retention.mss": "1"}, [])
    with pytest.raises(UsageError, match="not a broker config that can change while brokers run"):
        validate_broker_configs({}, ["broker.id"])
    validate_broker_configs({"log.retention.ms": "1000", "log.cleanup.policy": "compact"}, [])


def test_kafka_lines() -> None:
    assert zk_describe_line("topics", "t", {"a": "1", "b": "2"}) == "Configs for topic 't' are a=1,b=2"
    assert zk_describe_line("brokers", "<default>", {}) == "Configs for default brokers are "
    assert zk_altered_line("brokers", "2") == "Completed updating config for entity: brokers '2'."
    entries = [SimpleNamespace(name="retention.ms", value="5", source=1, is_sensitive=False),
               SimpleNamespace(name="segment.bytes", value="1073741824", source=5, is_sensitive=False)]
    assert bootstrap_describe_lines("topics", "t", entries, False) == [
        "Dynamic configs for topic t are:",
        "  retention.ms=5 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=5}"]
    assert bootstrap_describe_lines("topics", "t", entries, True)[2] == (
        "  segment.bytes=1073741824 sensitive=false synonyms={DEFAULT_CONFIG:segment.bytes=1073741824}")


def test_old_group_table_grows_to_fit_and_marks_missing_values() -> None:
    topic = "a-rather-long-topic-name"
    rows = [Row(topic, 0, 5, 9, "consumer-1"), Row(topic, 1, None, 4, None)]
    lines = render(rows).splitlines()
    assert lines[0] == ""
    assert lines[1] == ("TOPIC                    PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             "
                        "CONSUMER-ID")
    assert lines[2].split() == ["a-rather-long-topic-name", "0", "5", "9", "4", "consumer-1"]
    assert lines[3].split() == ["a-rather-long-topic-name", "1", "-", "4", "-", "-"]
    assert owner_consumer_id(b"group1_host-1600-abc-0") == "group1_host-1600-abc"
    assert owner_consumer_id(None) is None
