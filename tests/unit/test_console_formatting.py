"""The console tools' pure parts: Kafka's DefaultMessageFormatter / LineMessageReader rules, client keys."""

from __future__ import annotations

import pytest

from kafka_zk.admin.client_props import CONSUMER_KEYS, PRODUCER_KEYS, client_kwargs, read_properties_file
from kafka_zk.admin.message_format import (LineError, LineReader, MessageFormatter, PropertyError,
                                           parse_assignments)


def fmt(**props: str) -> MessageFormatter:
    return MessageFormatter.from_properties(props)


def test_default_prints_the_value_only_and_null_literal() -> None:
    f = fmt()
    assert f.format(0, 5, 1000, 0, b"k", b"v") == b"v\n"
    assert f.format(0, 5, 1000, 0, b"k", None) == b"null\n"


def test_every_column_in_kafkas_order_with_separators() -> None:
    f = MessageFormatter.from_properties({"print.timestamp": "true", "print.partition": "TRUE",
                                          "print.offset": "true",
                                          "print.headers": "true", "print.key": "true", "key.separator": ":"})
    line = f.format(2, 42, 1_600_000_000_000, 0, b"user1", b"hello", [("h1", b"a"), ("h2", None)])
    assert line == b"CreateTime:1600000000000:Partition:2:Offset:42:h1:a,h2:null:user1:hello\n"
    assert f.format(2, 42, 7, 1, None, b"x") == b"LogAppendTime:7:Partition:2:Offset:42:NO_HEADERS:null:x\n"


def test_value_off_ends_the_last_column_with_the_line_separator() -> None:
    f = fmt(**{"print.key": "true", "print.value": "false", "line.separator": "|"})
    assert f.format(0, 0, 0, 0, b"k", b"v") == b"k|"


def test_escaped_separators_and_custom_null() -> None:
    f = fmt(**{"print.key": "true", "key.separator": "\\t", "null.literal": "<none>"})
    assert f.format(0, 0, 0, 0, None, b"\xff\x00") == b"<none>\t\xff\x00\n"  # bytes are written as they are


def test_no_timestamp_and_non_true_booleans() -> None:
    assert fmt(**{"print.timestamp": "true"}).format(0, 0, -1, 0, None, b"v") == b"NO_TIMESTAMP\tv\n"
    assert fmt(**{"print.key": "yes"}).format(0, 0, 0, 0, b"k", b"v") == b"v\n"  # Kafka: only "true" is true


def test_unknown_formatter_property_is_named() -> None:
    with pytest.raises(PropertyError, match="unknown formatter property 'print.keys'"):
        fmt(**{"print.keys": "true"})


def test_line_reader_splits_at_the_first_separator() -> None:
    r = LineReader.from_properties({"parse.key": "true", "key.separator": ":"})
    assert r.parse(b"k:v:w", 1) == (b"k", b"v:w")
    assert LineReader().parse(b"a:b", 1) == (None, b"a:b")
    with pytest.raises(LineError, match=r"No key found on line 3: 'nokey'"):
        r.parse(b"nokey", 3)
    lenient = LineReader.from_properties({"parse.key": "true", "key.separator": ":", "ignore.error": "true"})
    assert lenient.parse(b"nokey", 3) == (None, b"nokey")
    assert LineReader.from_properties({"parse.key": "true"}).parse(b"k\tv", 1) == (b"k", b"v")


def test_assignments_and_bad_ones() -> None:
    assert parse_assignments(["a=1", "b=x=y"], "--property") == {"a": "1", "b": "x=y"}
    with pytest.raises(PropertyError, match="is not KEY=VALUE"):
        parse_assignments(["print.key"], "--property")


def test_client_keys_map_to_our_client_and_typos_are_caught() -> None:
    kw = client_kwargs({"acks": "all", "linger.ms": "5", "compression.type": "GZIP",
                        "enable.idempotence": "true"},
                       PRODUCER_KEYS, "--producer-property")
    assert kw == {"acks": "all", "linger_ms": 5, "compression_type": "gzip", "enable_idempotence": True}
    with pytest.raises(PropertyError, match="did you mean acks"):
        client_kwargs({"ack": "all"}, PRODUCER_KEYS, "--producer-property")
    with pytest.raises(PropertyError, match=r"acks='2' is not valid \(expected 0, 1, -1 or all\)"):
        client_kwargs({"acks": "2"}, PRODUCER_KEYS, "--producer-property")
    with pytest.raises(PropertyError, match="is not an integer"):
        client_kwargs({"fetch.max.wait.ms": "soon"}, CONSUMER_KEYS, "--consumer-property")
    ignored = "org.apache.kafka.common.serialization.ByteArrayDeserializer"
    assert client_kwargs({"key.deserializer": ignored}, CONSUMER_KEYS, "--consumer-property") == {}


def test_properties_file(tmp_path: object) -> None:
    from pathlib import Path
    p = Path(str(tmp_path)) / "producer.properties"
    p.write_text("# comment\nacks = all\nlinger.ms:7\n\n")
    assert read_properties_file(str(p), "--producer.config") == {"acks": "all", "linger.ms": "7"}
    with pytest.raises(PropertyError, match="No such file"):
        read_properties_file(str(p) + ".missing", "--producer.config")
