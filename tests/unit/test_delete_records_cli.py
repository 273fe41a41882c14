"""``kafka-zk delete-records``'s offset JSON is Kafka's; bad files are one-line errors."""

from __future__ import annotations

import pytest

from kafka_zk.admin.common import UsageError
from kafka_zk.admin.delete_records import parse_offset_json
from kafka_zk.common.tp import TopicPartition


def test_kafka_offset_json_is_read() -> None:
    text = '{"partitions": [{"topic": "foo", "partition": 1, "offset": 1}, {"topic": "foo", "partition": 2, ' \
           '"offset": -1}], "version": 1}'
    assert parse_offset_json(text, "f") == [(TopicPartition("foo", 1), 1), (TopicPartition("foo", 2), -1)]


@pytest.mark.parametrize("text, why", [
    ("nope", "is not JSON"),
    ('{"version": 1}', "missing partitions"),
    ('{"partitions": [], "version": 2}', "version 2 is not supported"),
    ('{"partitions": [{"topic": "a", "partition": "0", "offset": 1}]}', r"partitions\[0\] needs"),
    ('{"partitions": [{"topic": "a", "partition": 0, "offset": 1}, {"topic": "a", "partition": 0, "offset": 2}]}',
     "duplicate topic partitions: a-0"),
])
def test_bad_offset_json_says_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        parse_offset_json(text, "f")
