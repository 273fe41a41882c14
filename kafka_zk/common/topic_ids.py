"""Topic ids (KIP-516, Kafka 2.8): one random UUID per topic, in two spellings.

ZooKeeper's ``/brokers/topics/<t>`` (version 3) holds it as Kafka's ``Uuid.toString``: the 16 bytes in URL-safe
base64 without padding (22 characters); the wire (CreateTopics v7, DeleteTopics v6, ...) carries the 16
bytes as a ``uuid``.  Kafka never hands out the all-zero id (``Uuid.ZERO_UUID``, "no id") or
``Uuid.ONE_UUID`` (a reserved sentinel), so neither do we.
"""

from __future__ import annotations

import base64
import uuid

ZERO = uuid.UUID(int=0)


def new_topic_id() -> str:
    """A fresh id in the znode's spelling."""
    while True:
        value = uuid.uuid4()
        if value.int > 1:
            return uuid_to_topic_id(value)


def topic_id_to_uuid(topic_id: str | None) -> uuid.UUID:
    """The znode spelling as a wire UUID (zero when absent). Raises ``ValueError`` for a malformed id."""
    if not topic_id:
        return ZERO
    raw = base64.urlsafe_b64decode(topic_id + "=" * (-len(topic_id) % 4))
    if len(raw) != 16:
        raise ValueError(f"topic id {topic_id!r} is not 16 bytes of URL-safe base64")
    return uuid.UUID(bytes=raw)


def uuid_to_topic_id(value: uuid.UUID) -> str:
    """A wire UUID in the znode's spelling."""
    return base64.urlsafe_b64encode(value.bytes).rstrip(b"=").decode("ascii")
