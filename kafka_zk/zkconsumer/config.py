"""``ZkConsumerConfig``: Kafka 0.8.2's ``ConsumerConfig`` — the same names (dotted, as in a properties
file, or with underscores as Python keywords) and the same defaults.

Only what this consumer acts on is accepted; anything else is refused with one line naming the key
(a typo in a consumer's properties should not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["ZkConsumerConfig", "OFFSET_RESETS"]

#: ``auto.offset.reset`` values of Kafka 0.8 and what they mean for a position without a committed offset.
OFFSET_RESETS = {"smallest": "earliest", "largest": "latest"}


@dataclass(frozen=True)
class ZkConsumerConfig:
    zookeeper_connect: str
    group_id: str
    #: ``consumer.id``: None generates ``<host>-<ms>-<8 hex>`` (the registration is ``<group>_<that>``).
    consumer_id: str | None = None
    #: ``client.id``: defaults to the group id, as in Kafka 0.8.
    client_id: str | None = None
    zookeeper_session_timeout_ms: int = 6000
    zookeeper_connection_timeout_ms: int = 6000
    auto_commit_enable: bool = True
    auto_commit_interval_ms: int = 60000
    #: ``smallest`` or ``largest`` (Kafka 0.8's names for earliest / latest).
    auto_offset_reset: str = "largest"
    rebalance_max_retries: int = 4
    #: Kafka's default is ``zookeeper.sync.time.ms`` (2000).
    rebalance_backoff_ms: int = 2000
    refresh_leader_backoff_ms: int = 200
    fetch_message_max_bytes: int = 1024 * 1024
    fetch_min_bytes: int = 1
    fetch_wait_max_ms: int = 100
    socket_timeout_ms: int = 30000
    exclude_internal_topics: bool = True
    #: Only ``range`` (Kafka 0.8.2's default) is implemented.
    partition_assignment_strategy: str = "range"
    #: Only ``zookeeper`` (Kafka 0.8's default; ``kafka`` storage is the broker-side offsets API).
    offsets_storage: str = "zookeeper"

    def __post_init__(self) -> None:
        if not self.group_id:
            raise ValueError("group.id is required: the name of the consumer group (e.g. group.id=my-group)")
        if self.auto_offset_reset not in OFFSET_RESETS:
            raise ValueError(f"auto.offset.reset must be smallest or largest (Kafka 0.8's names), "
                             f"got {self.auto_offset_reset!r}")
        if self.partition_assignment_strategy != "range":
            raise ValueError(f"partition.assignment.strategy: only 'range' is implemented, "
                             f"got {self.partition_assignment_strategy!r}")
        if self.offsets_storage != "zookeeper":
            raise ValueError(f"offsets.storage: only 'zookeeper' is implemented, got {self.offsets_storage!r}")
        if self.rebalance_max_retries < 1:
            raise ValueError(f"rebalance.max.retries must be >= 1, got {self.rebalance_max_retries}")
        for name in ("rebalance_backoff_ms", "auto_commit_interval_ms", "fetch_wait_max_ms",
                     "zookeeper_session_timeout_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name.replace('_', '.')} must be >= 0, got {getattr(self, name)}")

    @property
    def reset_to(self) -> str:
        """``earliest`` / ``latest``: the reset the fetching client performs."""
        return OFFSET_RESETS[self.auto_offset_reset]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "ZkConsumerConfig":
        """Build from ``{"zookeeper.connect": ..., "group.id": ..., ...}`` (dotted or underscored keys;
        string values from a properties file are converted)."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in settings.items():
            name = key.replace(".", "_")
            if name not in fields:
                known = ", ".join(sorted(n.replace("_", ".") for n in fields))
                raise ValueError(f"unknown ZooKeeper consumer setting {key!r} (known: {known})")
            values[name] = _convert(key, value, fields[name].default)
        for required in ("zookeeper_connect", "group_id"):
            if required not in values:
                raise ValueError(f"{required.replace('_', '.')} is required")
        return cls(**values)


def _convert(key: str, value: Any, default: Any) -> Any:
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    text = value.strip()
    if isinstance(default, bool):
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{key} must be true or false, got {value!r}")
        return text.lower() == "true"
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{key} must be an integer, got {value!r}") from None
    return value
