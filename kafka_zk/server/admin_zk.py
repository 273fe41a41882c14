"""Topic administration through ZooKeeper, as Kafka 2.x's ``AdminZkClient`` does it.

Creating a topic never talks to the controller directly: the writer (``kafka-zk topics --zookeeper``, or a
broker handling CreateTopics / auto-creation) validates the request, writes ``/config/topics/<t>`` and then
``/brokers/topics/<t>`` (create-only). The controller's watch on ``/brokers/topics`` does the rest (state
znodes, leader election, LeaderAndIsr). Deleting creates ``/admin/delete_topics/<t>``; adding partitions
rewrites the assignment with the old partitions plus the new ones (conditional on its zkVersion).

Everything here is synchronous (``zk_layout`` calls); the broker runs it through the asyncio bridge. Errors
are :class:`KafkaError` with the code the Kafka API would answer and a one-line message the CLI prints.
"""

from __future__ import annotations

from typing import Any, Mapping

from kafka_zk.common.config import ConfigError
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.topic_names import colliding_topic, validate_topic_name
from kafka_zk.controller.placement import assign_additional_partitions, assign_replicas, validate_replica_assignment
from kafka_zk.log.config import LogConfig
from zk_layout.errors import TopicAlreadyMarkedForDeletionError, TopicExistsError, TopicNotFoundError
from zk_layout.znodes import TopicAssignment


class TopicAdmin:
    def __init__(self, zk: Any, placement_mode: str = "modulo") -> None:
        self.zk = zk
        self.placement_mode = placement_mode

    def live_broker_ids(self) -> list[int]:
        return sorted(self.zk.get_broker_ids())

    def create_topic(
        self,
        name: str,
        partitions: int,
        replication_factor: int,
        configs: Mapping[str, str] | None = None,
        assignment: Mapping[int, list[int]] | None = None,
        validate_only: bool = False,
        broker_ids: list[int] | None = None,
        topic_id: str | None = None,
    ) -> dict[int, list[int]]:
        """Validate and (unless ``validate_only``) write a new topic; returns its assignment.

        ``topic_id`` (22-character base64, Kafka 2.8's ``Uuid``) is written into the topic znode (v3)."""
        validate_topic_name(name)
        existing = self.zk.get_all_topics()
        if name in existing:
            raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f"topic '{name}' already exists")
        other = colliding_topic(name, existing)
        if other is not None:
            raise KafkaError(
                ErrorCode.INVALID_TOPIC_EXCEPTION,
                f"topic '{name}' collides with existing topic '{other}' ('.' and '_' are treated alike)",
            )
        cfg = dict(configs or {})
        validate_topic_config(cfg)
        brokers = broker_ids if broker_ids is not None else self.live_broker_ids()
        if assignment:
            validate_replica_assignment(assignment, brokers)
            placed = {int(p): list(r) for p, r in assignment.items()}
        else:
            placed = assign_replicas(brokers, partitions, replication_factor, mode=self.placement_mode)
        if validate_only:
            return placed
        if cfg:
            self.zk.set_or_create_entity_config("topics", name, cfg)
        try:
            self.zk.create_topic_assignment(name, placed, topic_id=topic_id)
        except TopicExistsError:
            raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f"topic '{name}' already exists") from None
        return placed

    def delete_topic(self, name: str) -> None:
        """Mark a topic for deletion; an already marked topic is fine (deletion is idempotent)."""
        try:
            self.zk.mark_topic_for_deletion(name)
        except TopicNotFoundError:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic '{name}' does not exist") from None
        except TopicAlreadyMarkedForDeletionError:
            pass

    def create_partitions(
        self,
        name: str,
        total: int,
        assignment: list[list[int]] | None = None,
        validate_only: bool = False,
        broker_ids: list[int] | None = None,
    ) -> dict[int, list[int]]:
        """Grow a topic to ``total`` partitions; returns the new partitions' assignment."""
        got = self.zk.get_topic_assignment(name)
        if got is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic '{name}' does not exist")
        if self.zk.is_topic_marked_for_deletion(name):
            raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, f"topic '{name}' is being deleted")
        current, version = got
        existing = {p: list(r) for p, r in current.partitions.items()}
        brokers = broker_ids if broker_ids is not None else self.live_broker_ids()
        count = len(existing)
        if total <= count:
            raise KafkaError(
                ErrorCode.INVALID_PARTITIONS,
                f"topic '{name}' has {count} partitions; the new count must be larger, got {total}",
            )
        if assignment:
            if len(assignment) != total - count:
                raise KafkaError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"{len(assignment)} replica lists given for {total - count} new partitions",
                )
            new = {count + i: list(r) for i, r in enumerate(assignment)}
            rf = len(next(iter(existing.values())))
            validate_replica_assignment(new, brokers, start_partition=count, replication_factor=rf)
        else:
            new = assign_additional_partitions(brokers, existing, total, mode=self.placement_mode)
        if validate_only:
            return new
        merged = {**{p: tuple(r) for p, r in existing.items()}, **{p: tuple(r) for p, r in new.items()}}
        updated = TopicAssignment(
            name, merged, dict(current.adding_replicas), dict(current.removing_replicas), current.topic_id
        )
        result = self.zk.set_topic_assignment(updated, expected_version=version)
        if not result.ok:
            raise KafkaError(
                ErrorCode.REASSIGNMENT_IN_PROGRESS,
                f"topic '{name}' assignment changed concurrently; retry",
            )
        return new

    def alter_topic_config(self, name: str, configs: Mapping[str, str], validate_only: bool = False) -> None:
        """Replace a topic's config overrides and notify brokers (``/config/changes``)."""
        if not self.zk.topic_exists(name):
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic '{name}' does not exist")
        cfg = dict(configs)
        validate_topic_config(cfg)
        if not validate_only:
            self.zk.change_entity_config("topics", name, cfg)


def validate_topic_config(configs: Mapping[str, str]) -> LogConfig:
    try:
        return LogConfig(configs)
    except ConfigError as e:
        raise KafkaError(ErrorCode.INVALID_CONFIG, str(e)) from None
