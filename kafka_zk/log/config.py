"""Topic-level log configuration (Kafka's ``LogConfig``) and the broker-level defaults that feed it.

Every key is Kafka's own with its Kafka 2.x default (2.8's ``LogConfig``: the last ZooKeeper-only 2.x line
that still has every key below). A topic's effective configuration is the broker's defaults (its
``log.*`` keys, mapped by :func:`broker_defaults_to_topic_props` exactly as Kafka's
``KafkaServer.copyKafkaConfigToLog`` does) overlaid with the topic's own overrides from
``/config/topics/<topic>``.

Precedence rules that the mapping reproduces:

* ``log.retention.ms`` > ``log.retention.minutes`` > ``log.retention.hours`` (168); ``-1`` = unlimited.
* ``log.roll.ms`` > ``log.roll.hours`` (168); likewise ``log.roll.jitter.ms`` > ``log.roll.jitter.hours``.
* ``log.flush.interval.ms`` falls back to ``log.flush.scheduler.interval.ms`` (both default to
  Long.MAX_VALUE, i.e. "rely on the page cache").

``LONG_MAX`` (9223372036854775807) is Kafka's "never" for ``flush.*``, ``max.compaction.lag.ms`` and
``message.timestamp.difference.max.ms``.
"""

from __future__ import annotations

from typing import Any, Mapping

from kafka_zk.common.config import ConfigDef, ConfigError, ConfigKey, in_range, one_of

LONG_MAX = 9223372036854775807
INT_MAX = 2147483647

COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")

LOG_CONFIG_DEF = ConfigDef(
    [
        ConfigKey("segment.bytes", "int", 1024 * 1024 * 1024, "Segment file size before a roll", in_range(14)),
        ConfigKey("segment.ms", "long", 7 * 24 * 3600 * 1000, "Roll a segment after this long", in_range(1)),
        ConfigKey("segment.jitter.ms", "long", 0, "Random jitter subtracted from segment.ms", in_range(0)),
        ConfigKey("segment.index.bytes", "int", 10 * 1024 * 1024, "Size of the preallocated offset index", in_range(4)),
        ConfigKey("index.interval.bytes", "int", 4096, "Bytes between offset index entries", in_range(0)),
        ConfigKey("flush.messages", "long", LONG_MAX, "fsync after this many messages", in_range(0)),
        ConfigKey("flush.ms", "long", LONG_MAX, "fsync after this long", in_range(0)),
        ConfigKey("retention.bytes", "long", -1, "Delete old segments beyond this size (-1: no limit)"),
        ConfigKey("retention.ms", "long", 7 * 24 * 3600 * 1000, "Delete segments older than this (-1: no limit)", in_range(-1)),
        ConfigKey("max.message.bytes", "int", 1000000 + 12, "Largest record batch accepted", in_range(0)),
        ConfigKey("cleanup.policy", "list", ["delete"], "delete, compact or both", one_of("delete", "compact")),
        ConfigKey("delete.retention.ms", "long", 24 * 3600 * 1000, "Keep tombstones this long after cleaning", in_range(0)),
        ConfigKey("min.compaction.lag.ms", "long", 0, "Never compact records younger than this", in_range(0)),
        ConfigKey("max.compaction.lag.ms", "long", LONG_MAX, "Compact records older than this regardless of ratio", in_range(1)),
        ConfigKey("min.cleanable.dirty.ratio", "double", 0.5, "Dirty/total ratio that makes a log cleanable", in_range(0, 1)),
        ConfigKey("file.delete.delay.ms", "long", 60000, "Delay before deleting a removed segment's files", in_range(0)),
        ConfigKey("preallocate", "bool", False, "Preallocate segment files"),
        ConfigKey("compression.type", "string", "producer", "Final compression of stored batches", one_of(*COMPRESSION_TYPES)),
        ConfigKey("message.timestamp.type", "string", "CreateTime", "CreateTime or LogAppendTime", one_of("CreateTime", "LogAppendTime")),
        ConfigKey("message.timestamp.difference.max.ms", "long", LONG_MAX, "Largest CreateTime skew accepted", in_range(0)),
        ConfigKey("message.format.version", "string", "2.8-IV1", "Message format (only v2 batches are stored)"),
        ConfigKey("message.downconversion.enable", "bool", True, "Down-convert for Fetch v0-v3 consumers (false: UNSUPPORTED_VERSION)"),
        ConfigKey("min.insync.replicas", "int", 1, "ISR size required for acks=all", in_range(1)),
        ConfigKey("unclean.leader.election.enable", "bool", False, "Allow out-of-sync replicas to become leader"),
        ConfigKey("leader.replication.throttled.replicas", "list", [], "Throttled leader replicas"),
        ConfigKey("follower.replication.throttled.replicas", "list", [], "Throttled follower replicas"),
    ]
)

# Broker key -> topic key (KafkaServer.copyKafkaConfigToLog, Kafka 2.8).
BROKER_SYNONYMS: dict[str, str] = {
    "log.segment.bytes": "segment.bytes",
    "log.roll.jitter.ms": "segment.jitter.ms",
    "log.index.size.max.bytes": "segment.index.bytes",
    "log.flush.interval.messages": "flush.messages",
    "log.retention.bytes": "retention.bytes",
    "message.max.bytes": "max.message.bytes",
    "log.index.interval.bytes": "index.interval.bytes",
    "log.cleaner.delete.retention.ms": "delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms": "min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms": "max.compaction.lag.ms",
    "log.segment.delete.delay.ms": "file.delete.delay.ms",
    "log.cleaner.min.cleanable.ratio": "min.cleanable.dirty.ratio",
    "log.cleanup.policy": "cleanup.policy",
    "unclean.leader.election.enable": "unclean.leader.election.enable",
    "min.insync.replicas": "min.insync.replicas",
    "compression.type": "compression.type",
    "log.preallocate": "preallocate",
    "log.message.format.version": "message.format.version",
    "log.message.timestamp.type": "message.timestamp.type",
    "log.message.timestamp.difference.max.ms": "message.timestamp.difference.max.ms",
    "log.message.downconversion.enable": "message.downconversion.enable",
}
# Broker keys that may change while brokers run (``/config/brokers/<default>`` and ``/<id>``, applied by
# DynamicConfigManager): Kafka's DynamicLogConfig set — each topic key's primary broker synonym, except
# log.message.format.version, whose change needs a rolling restart.
DYNAMIC_BROKER_KEYS: frozenset[str] = frozenset(
    set(BROKER_SYNONYMS) - {"log.message.format.version"}
    | {"log.retention.ms", "log.roll.ms", "log.roll.jitter.ms", "log.flush.interval.ms"}
)

# Keys with unit variants, resolved by precedence (most specific first), with the factor to ms.
_UNIT_SYNONYMS: dict[str, list[tuple[str, int]]] = {
    "retention.ms": [("log.retention.ms", 1), ("log.retention.minutes", 60_000), ("log.retention.hours", 3_600_000)],
    "segment.ms": [("log.roll.ms", 1), ("log.roll.hours", 3_600_000)],
    "segment.jitter.ms": [("log.roll.jitter.ms", 1), ("log.roll.jitter.hours", 3_600_000)],
    "flush.ms": [("log.flush.interval.ms", 1), ("log.flush.scheduler.interval.ms", 1)],
}


def _attr(key: str) -> str:
    return key.replace(".", "_")


class LogConfig:
    """Typed, immutable topic configuration. Attribute names are the keys with dots as underscores
    (``cfg.segment_bytes``, ``cfg.cleanup_policy``); :meth:`get` takes the dotted key.

    ``overrides`` holds the keys set explicitly at this layer (for DescribeConfigs: a topic config built with
    ``broker_config.with_overrides(topic_props)`` has the topic's keys there, and ``defaults`` is the
    broker-level config whose own ``overrides`` are the broker's ``log.*`` settings).
    """

    # Declared for type checkers; values are set from LOG_CONFIG_DEF in __init__.
    segment_bytes: int
    segment_ms: int
    segment_jitter_ms: int
    segment_index_bytes: int
    index_interval_bytes: int
    flush_messages: int
    flush_ms: int
    retention_bytes: int
    retention_ms: int
    max_message_bytes: int
    cleanup_policy: list[str]
    delete_retention_ms: int
    min_compaction_lag_ms: int
    max_compaction_lag_ms: int
    min_cleanable_dirty_ratio: float
    file_delete_delay_ms: int
    preallocate: bool
    compression_type: str
    message_timestamp_type: str
    message_timestamp_difference_max_ms: int
    message_format_version: str
    message_downconversion_enable: bool
    min_insync_replicas: int
    unclean_leader_election_enable: bool
    leader_replication_throttled_replicas: list[str]
    follower_replication_throttled_replicas: list[str]

    def __init__(self, props: Mapping[str, Any] | None = None, defaults: "LogConfig | None" = None) -> None:
        """``props``: topic-level overrides (strings or typed values); ``defaults``: the broker-derived
        base (Kafka's defaults when None). Raises :class:`ConfigError` on an unknown key or bad value."""
        parsed = LOG_CONFIG_DEF.parse(props or {}, with_defaults=False)
        base = defaults.values if defaults is not None else LOG_CONFIG_DEF.parse({})
        values = dict(base)
        values.update(parsed)
        self.values: dict[str, Any] = values
        self.overrides: dict[str, Any] = parsed
        self.defaults = defaults
        for k, v in values.items():
            object.__setattr__(self, _attr(k), v)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("values", "overrides", "defaults"):
            object.__setattr__(self, name, value)
            return
        raise AttributeError("LogConfig is immutable; use with_overrides()")

    def get(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise LOG_CONFIG_DEF.unknown_key_error(key) from None

    def with_overrides(self, props: Mapping[str, Any]) -> "LogConfig":
        return LogConfig(props, defaults=self)

    @property
    def compact(self) -> bool:
        return "compact" in self.cleanup_policy

    @property
    def delete(self) -> bool:
        return "delete" in self.cleanup_policy

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == "LogAppendTime"

    @classmethod
    def from_broker_props(cls, props: Mapping[str, Any]) -> "LogConfig":
        """Topic defaults from broker properties (``log.segment.bytes``, ``log.retention.hours``, ...).
        Keys that are not log settings are ignored."""
        return cls(broker_defaults_to_topic_props(props))

    def to_props(self) -> dict[str, str]:
        """Every key as the string Kafka would show (lists comma-joined, booleans lower-case)."""
        out: dict[str, str] = {}
        for k, v in sorted(self.values.items()):
            if isinstance(v, bool):
                out[k] = "true" if v else "false"
            elif isinstance(v, list):
                out[k] = ",".join(v)
            else:
                out[k] = str(v)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LogConfig) and self.values == other.values

    def __repr__(self) -> str:
        return f"LogConfig({self.overrides!r})"


def broker_defaults_to_topic_props(props: Mapping[str, Any]) -> dict[str, Any]:
    """Map broker-level keys onto topic keys as Kafka does; values stay as given (strings are parsed
    later by :class:`LogConfig`). Raises :class:`ConfigError` on a non-numeric unit value."""
    out: dict[str, Any] = {}
    for broker_key, topic_key in BROKER_SYNONYMS.items():
        if broker_key in props and props[broker_key] is not None:
            out[topic_key] = props[broker_key]
    for topic_key, variants in _UNIT_SYNONYMS.items():
        for broker_key, factor in variants:
            raw = props.get(broker_key)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                n = int(raw.strip()) if isinstance(raw, str) else int(raw)
            except ValueError:
                raise ConfigError(f"invalid value {raw!r} for {broker_key}: expected an integer") from None
            out[topic_key] = n if (n < 0 or factor == 1) else n * factor
            break
    return out
