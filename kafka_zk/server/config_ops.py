"""Pure helpers for the config APIs: how a topic's configuration is *reported* and *changed*.

Reporting (DescribeConfigs, CreateTopics v5+): every topic key with its effective value and where that value
comes from — Kafka's ``ConfigSource``: 1 the topic's own override (``/config/topics/<t>``), 4 the broker's
static ``log.*`` setting, 5 Kafka's default.  Synonyms (DescribeConfigs v1+ on request) list the same key at
every level that sets it, most specific first, as Kafka 2.8's ``ConfigHelper.describeConfigs`` does.  v3
adds the key's type (Kafka's ``ConfigType`` numbering) and documentation.

Changing (IncrementalAlterConfigs, KIP-339): SET / DELETE a key, APPEND to / SUBTRACT from a list-typed key
(the current override, else the key's default list).  The result replaces the topic's overrides, written and
announced exactly like AlterConfigs.  Errors follow ``ZkAdminManager.incrementalAlterConfigs`` of 2.8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.topic_ids import new_topic_id, topic_id_to_uuid, uuid_to_topic_id
from kafka_zk.log.config import BROKER_SYNONYMS, LOG_CONFIG_DEF, LogConfig
from kafka_zk.protocol.messages.configs import OP_APPEND, OP_DELETE, OP_SET, OP_SUBTRACT

SOURCE_TOPIC = 1
SOURCE_DYNAMIC_BROKER = 2
SOURCE_DYNAMIC_DEFAULT_BROKER = 3
SOURCE_STATIC_BROKER = 4
SOURCE_DEFAULT = 5

#: Our ConfigKey types -> Kafka's DescribeConfigsResponse.ConfigType codes.
CONFIG_TYPE_CODES = {
    "bool": 1,
    "string": 2,
    "int": 3,
    "short": 4,
    "long": 5,
    "double": 6,
    "list": 7,
    "class": 8,
    "password": 9,
}

__all__ = [
    "ConfigEntry",
    "alter_error",
    "apply_incremental",
    "topic_config_entries",
    "new_topic_id",
    "topic_id_to_uuid",
    "uuid_to_topic_id",
    "SOURCE_TOPIC",
    "SOURCE_STATIC_BROKER",
    "SOURCE_DEFAULT",
    "CONFIG_TYPE_CODES",
]

OP_NAMES = {OP_SET: "SET", OP_DELETE: "DELETE", OP_APPEND: "APPEND", OP_SUBTRACT: "SUBTRACT"}

_TOPIC_TO_BROKER = {t: b for b, t in BROKER_SYNONYMS.items()}


@dataclass(frozen=True)
class ConfigEntry:
    """One reported key: value, source, and (most specific first) the synonyms ``(name, value, source)``."""

    name: str
    value: str | None
    source: int
    synonyms: tuple[tuple[str, str | None, int], ...]
    config_type: int
    documentation: str | None

    @property
    def is_default(self) -> bool:
        return self.source == SOURCE_DEFAULT


def _fmt(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def topic_config_entries(cfg: LogConfig, keys: Iterable[str] | None = None) -> list[ConfigEntry]:
    """The effective configuration of a topic whose config is ``broker_defaults.with_overrides(topic)``."""
    wanted = None if keys is None else set(keys)
    broker_level = cfg.defaults.overrides if cfg.defaults is not None else {}
    out = []
    for name, value in cfg.to_props().items():
        if wanted is not None and name not in wanted:
            continue
        key = LOG_CONFIG_DEF.keys[name]
        synonyms: list[tuple[str, str | None, int]] = []
        if name in cfg.overrides:
            synonyms.append((name, _fmt(cfg.overrides[name]), SOURCE_TOPIC))
        if name in broker_level:
            synonyms.append(
                (_TOPIC_TO_BROKER.get(name, name), _fmt(broker_level[name]), SOURCE_STATIC_BROKER)
            )
        synonyms.append((_TOPIC_TO_BROKER.get(name, name), _fmt(key.default), SOURCE_DEFAULT))
        out.append(
            ConfigEntry(
                name,
                value,
                synonyms[0][2],
                tuple(synonyms),
                CONFIG_TYPE_CODES.get(key.type, 0),
                key.doc or None,
            )
        )
    return out


def apply_incremental(
    overrides: Mapping[str, str], ops: Iterable[tuple[str, int, str | None]]
) -> dict[str, str]:
    """A topic's new overrides after ``ops`` (``(name, operation, value)``).  Pure.

    Raises :class:`KafkaError`: INVALID_REQUEST for duplicate keys, a null value outside DELETE, APPEND /
    SUBTRACT on a key that is not a list, or an unknown operation; INVALID_CONFIG for an unknown key.
    Values themselves are validated by the caller (on the whole resulting set).
    """
    ops = list(ops)
    names = [n for n, _, _ in ops]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Error due to duplicate config keys : {','.join(dupes)}")
    nulls = [f"{OP_NAMES.get(op, op)}:{n}" for n, op, v in ops if v is None and op != OP_DELETE]
    if nulls:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Null value not supported for : {','.join(nulls)}")
    props = dict(overrides)
    for name, op, value in ops:
        key = LOG_CONFIG_DEF.keys.get(name)
        if key is None and op != OP_DELETE:
            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")
        if op == OP_SET:
            props[name] = value  # type: ignore[assignment]
        elif op == OP_DELETE:
            props.pop(name, None)
        elif op in (OP_APPEND, OP_SUBTRACT):
            assert key is not None and value is not None
            verb = "append" if op == OP_APPEND else "subtract"
            if key.type != "list":
                raise KafkaError(
                    ErrorCode.INVALID_REQUEST, f"Config value {verb} is not allowed for config key: {name}"
                )
            old = props.get(name)
            current = old.split(",") if old is not None else list(key.default)
            current = [x for x in current if x]
            change = [x for x in value.split(",") if x]
            if op == OP_APPEND:
                new = current + change
            else:
                new = list(current)
                for x in change:  # Scala's List.diff: removes one occurrence per element
                    if x in new:
                        new.remove(x)
            props[name] = ",".join(new)
        else:
            raise KafkaError(
                ErrorCode.INVALID_REQUEST,
                f"unknown config operation {op} for key {name} "
                "(expected 0 SET, 1 DELETE, 2 APPEND or 3 SUBTRACT)",
            )
    return props


def alter_error(error: KafkaError, topic: str, props: Mapping[str, str]) -> KafkaError:
    """Kafka's code for a failed topic config change: an unknown key stays INVALID_CONFIG ("Unknown topic
    config name"); a bad value becomes INVALID_REQUEST, as ``ZkAdminManager`` wraps a ``ConfigException``.
    Other errors (UNKNOWN_TOPIC_OR_PARTITION ...) pass through."""
    if error.code is not ErrorCode.INVALID_CONFIG:
        return error
    unknown = sorted(n for n in props if n not in LOG_CONFIG_DEF.keys)
    if unknown:
        return KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {','.join(unknown)}")
    return KafkaError(
        ErrorCode.INVALID_REQUEST, f"Invalid config value for resource topic '{topic}': {error.message}"
    )
