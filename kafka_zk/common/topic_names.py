"""Kafka's topic-name rules (``org.apache.kafka.common.internals.Topic``).

Legal: 1–249 characters from ``[a-zA-Z0-9._-]``, not ``.`` or ``..``. Names that differ only by ``.`` versus
``_`` collide in metric names, so Kafka refuses a new topic whose name collides with an existing one and warns
when a name contains either character.
"""

from __future__ import annotations

import re
from typing import Iterable

from kafka_zk.common.errors import ErrorCode, KafkaError

MAX_NAME_LENGTH = 249
_LEGAL = re.compile(r"^[a-zA-Z0-9._-]+$")
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


def validate_topic_name(name: str) -> None:
    """Raise KafkaError(INVALID_TOPIC_EXCEPTION) with a one-line reason if ``name`` is not a legal topic name."""
    if not name:
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, "topic name is empty")
    if name in (".", ".."):
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, f"topic name cannot be '{name}'")
    if len(name) > MAX_NAME_LENGTH:
        raise KafkaError(
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            f"topic name is {len(name)} characters long; the maximum is {MAX_NAME_LENGTH}",
        )
    if not _LEGAL.match(name):
        bad = sorted({c for c in name if not re.match(r"[a-zA-Z0-9._-]", c)})
        raise KafkaError(
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            f"topic name {name!r} contains illegal character(s) {''.join(bad)!r}; "
            "use only ASCII letters, digits, '.', '_' and '-'",
        )


def has_collision_chars(name: str) -> bool:
    return "." in name or "_" in name


def unify_collision_chars(name: str) -> str:
    return name.replace(".", "_")


def colliding_topic(name: str, existing: Iterable[str]) -> str | None:
    """An existing topic whose name equals ``name`` once '.' and '_' are treated alike (not ``name`` itself)."""
    key = unify_collision_chars(name)
    for other in existing:
        if other != name and unify_collision_chars(other) == key:
            return other
    return None


def is_internal(name: str) -> bool:
    return name in INTERNAL_TOPICS
