"""The controller's slice of the broker configuration.

The broker fills :class:`ControllerConfig` from ``server.properties`` (keys and Kafka 2.x defaults listed
beside each field); the controller never parses properties itself. :meth:`ControllerConfig.from_props`
exists for tools and tests that hold raw ``key=value`` strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from kafka_zk.common.config import ConfigDef, ConfigKey, in_range

# Kafka 2.x keys the controller reads; types and defaults as in KafkaConfig.
CONTROLLER_CONFIG_DEF = ConfigDef(
    [
        ConfigKey("auto.leader.rebalance.enable", "bool", True, "move leadership back to preferred replicas"),
        ConfigKey("leader.imbalance.check.interval.seconds", "long", 300, "auto rebalance period", in_range(1)),
        ConfigKey("leader.imbalance.per.broker.percentage", "int", 10, "allowed imbalance per broker", in_range(0)),
        ConfigKey("delete.topic.enable", "bool", True, "honour /admin/delete_topics"),
        ConfigKey("unclean.leader.election.enable", "bool", False, "broker default; topics may override"),
        ConfigKey("request.timeout.ms", "int", 30000, "controller to broker request timeout", in_range(1)),
        ConfigKey("controller.socket.timeout.ms", "int", 30000, "controller to broker connect timeout", in_range(1)),
        ConfigKey("control.plane.listener.name", "string", "CONTROLLER", "listener the controller sends to"),
        ConfigKey("inter.broker.listener.name", "string", "PLAINTEXT", "listener followers fetch from"),
    ]
)


@dataclass(frozen=True)
class ControllerConfig:
    """Everything the controller reads from the broker config (Kafka 2.x key in each comment)."""

    auto_leader_rebalance_enable: bool = True  # auto.leader.rebalance.enable
    leader_imbalance_check_interval_seconds: float = 300  # leader.imbalance.check.interval.seconds
    leader_imbalance_per_broker_percentage: int = 10  # leader.imbalance.per.broker.percentage
    delete_topic_enable: bool = True  # delete.topic.enable
    unclean_leader_election_enable: bool = False  # unclean.leader.election.enable (broker default)
    request_timeout_ms: int = 30000  # request.timeout.ms (controller → broker request timeout)
    controller_socket_timeout_ms: int = 30000  # controller.socket.timeout.ms (connect timeout)
    control_plane_listener_name: str = "CONTROLLER"  # control.plane.listener.name
    inter_broker_listener_name: str = "PLAINTEXT"  # inter.broker.listener.name (for LiveLeaders)
    # Not Kafka keys: delay of the first auto-rebalance check after failover (Kafka hard-codes 5 s) and
    # the control-channel retry backoff (Kafka's RequestSendThread hard-codes 100 ms).
    first_rebalance_check_delay_s: float = 5.0
    channel_retry_backoff_ms: int = 100

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> "ControllerConfig":
        """Build from ``server.properties``-style values; unknown keys are ignored (they belong to others).

        Raises :class:`kafka_zk.common.config.ConfigError` on a bad value of a key listed here.
        """
        known = {k: v for k, v in props.items() if k in CONTROLLER_CONFIG_DEF.keys}
        v = CONTROLLER_CONFIG_DEF.parse(known)
        return cls(
            auto_leader_rebalance_enable=v["auto.leader.rebalance.enable"],
            leader_imbalance_check_interval_seconds=v["leader.imbalance.check.interval.seconds"],
            leader_imbalance_per_broker_percentage=v["leader.imbalance.per.broker.percentage"],
            delete_topic_enable=v["delete.topic.enable"],
            unclean_leader_election_enable=v["unclean.leader.election.enable"],
            request_timeout_ms=v["request.timeout.ms"],
            controller_socket_timeout_ms=v["controller.socket.timeout.ms"],
            control_plane_listener_name=v["control.plane.listener.name"],
            inter_broker_listener_name=v["inter.broker.listener.name"],
        )
