"""The group coordinator's slice of the broker configuration.

The broker fills :class:`GroupCoordinatorConfig` from ``server.properties``; the coordinator never parses
properties itself. Keys and defaults are Kafka 2.x's (``KafkaConfig``): ``group.max.session.timeout.ms`` is
1800000 as since 2.2 (300000 before), ``offsets.retention.minutes`` is 10080 (7 days) as since 2.0 (KIP-186;
1440 before), ``group.max.size`` is unlimited as since 2.2 (KIP-389).
:meth:`GroupCoordinatorConfig.from_props` exists for tools and tests that hold raw ``key=value`` strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from kafka_zk.common.config import ConfigDef, ConfigKey, in_range

JAVA_INT_MAX = 2**31 - 1

COORDINATOR_CONFIG_DEF = ConfigDef(
    [
        ConfigKey("group.min.session.timeout.ms", "int", 6000, "smallest session timeout a member may ask for", in_range(0)),
        ConfigKey("group.max.session.timeout.ms", "int", 1800000, "largest session timeout a member may ask for", in_range(0)),
        ConfigKey(
            "group.initial.rebalance.delay.ms", "int", 3000, "wait for more members before an empty group's first rebalance", in_range(0)
        ),
        ConfigKey("group.max.size", "int", JAVA_INT_MAX, "members one group may hold", in_range(1)),
        ConfigKey("offsets.topic.num.partitions", "int", 50, "partitions of __consumer_offsets (fixed once created)", in_range(1)),
        ConfigKey("offsets.topic.replication.factor", "short", 3, "replication of __consumer_offsets (capped by live brokers)", in_range(1)),
        ConfigKey("offsets.topic.segment.bytes", "int", 104857600, "segment size of __consumer_offsets", in_range(1)),
        ConfigKey("offsets.topic.compression.codec", "int", 0, "compression of coordinator writes (0 = none)", in_range(0, 4)),
        ConfigKey("offsets.retention.minutes", "int", 10080, "how long offsets of an Empty group are kept", in_range(1)),
        ConfigKey("offsets.retention.check.interval.ms", "long", 600000, "period of the offset expiry pass", in_range(1)),
        ConfigKey("offset.metadata.max.bytes", "int", 4096, "largest metadata string an offset commit may carry", in_range(0)),
        ConfigKey("offsets.commit.timeout.ms", "int", 5000, "how long a commit waits for replication", in_range(1)),
        ConfigKey("offsets.commit.required.acks", "short", -1, "acks for coordinator writes (-1 = all in-sync replicas)", in_range(-1)),
        ConfigKey("offsets.load.buffer.size", "int", 5242880, "read size while loading a partition", in_range(1)),
    ]
)


@dataclass(frozen=True)
class GroupCoordinatorConfig:
    """Everything the coordinator reads from the broker config (Kafka 2.x key in each comment)."""

    group_min_session_timeout_ms: int = 6000  # group.min.session.timeout.ms
    group_max_session_timeout_ms: int = 1800000  # group.max.session.timeout.ms
    group_initial_rebalance_delay_ms: int = 3000  # group.initial.rebalance.delay.ms
    group_max_size: int = JAVA_INT_MAX  # group.max.size
    offsets_topic_num_partitions: int = 50  # offsets.topic.num.partitions
    offsets_topic_replication_factor: int = 3  # offsets.topic.replication.factor
    offsets_topic_segment_bytes: int = 104857600  # offsets.topic.segment.bytes
    offsets_topic_compression_codec: int = 0  # offsets.topic.compression.codec
    offsets_retention_minutes: int = 10080  # offsets.retention.minutes
    offsets_retention_check_interval_ms: int = 600000  # offsets.retention.check.interval.ms
    offset_metadata_max_bytes: int = 4096  # offset.metadata.max.bytes
    offsets_commit_timeout_ms: int = 5000  # offsets.commit.timeout.ms
    offsets_commit_required_acks: int = -1  # offsets.commit.required.acks
    offsets_load_buffer_size: int = 5242880  # offsets.load.buffer.size

    @property
    def offsets_retention_ms(self) -> int:
        return self.offsets_retention_minutes * 60 * 1000

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "GroupCoordinatorConfig":
        """Build from ``server.properties``-style values; unknown keys are ignored (they belong to others).

        Raises :class:`kafka_zk.common.config.ConfigError` on a bad value of a key listed here.
        """
        known = {k: v for k, v in props.items() if k in COORDINATOR_CONFIG_DEF.keys}
        v = COORDINATOR_CONFIG_DEF.parse(known)
        return cls(**{name.replace(".", "_"): v[name] for name in COORDINATOR_CONFIG_DEF.keys})
