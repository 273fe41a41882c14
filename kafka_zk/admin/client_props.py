"""Kafka client configuration keys (``--producer-property acks=all``, ``--consumer-property ...``,
``--producer-props k=v ...``, ``--producer.config FILE``) turned into keyword arguments of our
:class:`~kafka_zk.client.producer.Producer` / :class:`~kafka_zk.client.consumer.Consumer`.

Only keys our client implements are accepted; any other key is a one-line error naming the closest known
key, rather than Kafka's warning that is easy to miss (a mistyped ``acks`` silently weakens durability).
Serializer keys naming Kafka's byte-array or string (de)serializers are accepted and ignored: the tools
send and print bytes as they are, which is what those classes do for UTF-8 text.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable, Mapping

from kafka_zk.admin.message_format import PropertyError

_IGNORED_VALUES = ("org.apache.kafka.common.serialization.ByteArraySerializer",
                   "org.apache.kafka.common.serialization.StringSerializer",
                   "org.apache.kafka.common.serialization.ByteArrayDeserializer",
                   "org.apache.kafka.common.serialization.StringDeserializer")
_IGNORED_KEYS = ("key.serializer", "value.serializer", "key.deserializer", "value.deserializer")


def _int(lo: int, hi: int = 2**63 - 1) -> Callable[[str, str], int]:
    def parse(key: str, text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            example = f"{key}={max(lo, 0)}"
            raise PropertyError(f"{key}={text!r} is not an integer (for example {example})") from None
        if not lo <= value <= hi:
            raise PropertyError(f"{key}={value} is out of range (expected {lo}..{hi})")
        return value
    return parse


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(key: str, text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise PropertyError(f"{key}={text!r} is not valid (expected one of: {', '.join(choices)})")
        return value
    return parse


def _bool(key: str, text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise PropertyError(f"{key}={text!r} is not a boolean (expected true or false)")
    return value == "true"


def _acks(key: str, text: str) -> str:
    value = text.strip().lower()
    if value not in ("0", "1", "-1", "all"):
        raise PropertyError(f"acks={text!r} is not valid (expected 0, 1, -1 or all)")
    return value


def _text(_key: str, text: str) -> str:
    return text.strip()


# Kafka key → (our keyword, parser)
PRODUCER_KEYS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "bootstrap.servers": ("bootstrap_servers", _text),
    "client.id": ("client_id", _text),
    "acks": ("acks", _acks),
    "compression.type": ("compression_type", _choice("none", "gzip", "snappy", "lz4", "zstd")),
    "batch.size": ("batch_size", _int(0, 2**31 - 1)),
    "linger.ms": ("linger_ms", _int(0, 2**31 - 1)),
    "max.request.size": ("max_request_size", _int(1, 2**31 - 1)),
    "request.timeout.ms": ("request_timeout_ms", _int(1, 2**31 - 1)),
    "delivery.timeout.ms": ("delivery_timeout_ms", _int(1, 2**31 - 1)),
    "retries": ("retries", _int(0, 2**31 - 1)),
    "retry.backoff.ms": ("retry_backoff_ms", _int(0)),
    "max.block.ms": ("max_block_ms", _int(0)),
    "buffer.memory": ("buffer_memory", _int(1)),
    "enable.idempotence": ("enable_idempotence", _bool),
}

CONSUMER_KEYS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "bootstrap.servers": ("bootstrap_servers", _text),
    "client.id": ("client_id", _text),
    "group.id": ("group_id", _text),
    "auto.offset.reset": ("auto_offset_reset", _choice("earliest", "latest", "none")),
    "fetch.min.bytes": ("fetch_min_bytes", _int(0, 2**31 - 1)),
    "fetch.max.wait.ms": ("fetch_max_wait_ms", _int(0, 2**31 - 1)),
    "fetch.max.bytes": ("fetch_max_bytes", _int(0, 2**31 - 1)),
    "max.partition.fetch.bytes": ("max_partition_fetch_bytes", _int(0, 2**31 - 1)),
    "isolation.level": ("isolation_level", _choice("read_uncommitted", "read_committed")),
    "request.timeout.ms": ("request_timeout_ms", _int(1, 2**31 - 1)),
    "retry.backoff.ms": ("retry_backoff_ms", _int(0)),
    # group membership (console-consumer --group, consumer-perf-test --group)
    "session.timeout.ms": ("session_timeout_ms", _int(1, 2**31 - 1)),
    "heartbeat.interval.ms": ("heartbeat_interval_ms", _int(1, 2**31 - 1)),
    "max.poll.interval.ms": ("max_poll_interval_ms", _int(1, 2**31 - 1)),
    "enable.auto.commit": ("enable_auto_commit", _bool),
    "auto.commit.interval.ms": ("auto_commit_interval_ms", _int(0, 2**31 - 1)),
    "partition.assignment.strategy": ("partition_assignment_strategy", _text),
    "group.instance.id": ("group_instance_id", _text),
}


def client_kwargs(props: Mapping[str, str], table: Mapping[str, tuple[str, Callable[[str, str], Any]]],
                  option: str) -> dict[str, Any]:
    """Keyword arguments for a client from Kafka keys. Raises :class:`PropertyError` (one line)."""
    out: dict[str, Any] = {}
    for key, text in props.items():
        if key in _IGNORED_KEYS:
            if text.strip() not in _IGNORED_VALUES:
                raise PropertyError(f"{option} {key}={text} is not supported (the tools handle raw bytes; "
                                    f"use ByteArraySerializer/Deserializer or leave it out)")
            continue
        if key not in table:
            close = difflib.get_close_matches(key, list(table), n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(table))}"
            raise PropertyError(f"{option} {key!r} is not a client setting this tool supports ({hint})")
        name, parse = table[key]
        out[name] = parse(key, text)
    return out


def read_properties_file(path: str, option: str) -> dict[str, str]:
    """A Java ``.properties`` file's ``key=value`` lines (``#``/``!`` comments); raises PropertyError."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise PropertyError(f"{option} {path}: {e.strerror}") from None
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        sep = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if sep <= 0:
            raise PropertyError(f"{option} {path} line {number} is not key=value: {raw!r}")
        out[line[:sep].strip()] = line[sep + 1:].strip()
    return out
