"""CreateTopics (19): only the controller broker takes it (else NOT_CONTROLLER, and clients re-route).

Per topic: -1 partitions / replication factor mean the broker defaults (v4, KIP-464); the broker validates
name, configs and assignment, writes ``/config/topics/<t>`` and ``/brokers/topics/<t>`` (see
``kafka_zk.server.admin_zk``), then waits up to ``timeout_ms`` for the controller to elect leaders for every
partition (REQUEST_TIMED_OUT if it does not; the topic still gets created). ``validate_only`` writes nothing.

As Kafka 2.8 does (inter-broker protocol 2.8), a new topic gets a topic id, written into the topic znode
(version 3) and returned from v7.  From v5 a successful result also carries the topic's partition count,
replication factor and effective configuration (also for ``validate_only``, so a client can preview them);
a failed one has -1/-1 and no configs.  A null config value is INVALID_REQUEST, as in Kafka.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.log.config import LogConfig
from kafka_zk.protocol.messages.topic_admin import CreateTopicsResponse
from kafka_zk.server.config_ops import new_topic_id, topic_config_entries, topic_id_to_uuid
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.CREATE_TOPICS
VERSIONS = (0, 7)

R = CreateTopicsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    results = []
    created: list[str] = []
    names = [t.name for t in req.topics]
    for t in req.topics:
        if names.count(t.name) > 1:
            results.append(
                _failed(t.name, ErrorCode.INVALID_REQUEST, "Found multiple entries for this topic.")
            )
            continue
        if not broker.is_controller:
            results.append(_failed(t.name, ErrorCode.NOT_CONTROLLER, "this broker is not the controller"))
            continue
        try:
            result = await _create(broker, t, req.validate_only, ctx.api_version)
            if not req.validate_only:
                created.append(t.name)
            results.append(result)
        except KafkaError as e:
            results.append(_failed(t.name, e.code, e.message))
    if created:
        missing = await broker.wait_for_leaders(created, req.timeout_ms)
        for r in results:
            if r.name in missing:
                r.error_code = int(ErrorCode.REQUEST_TIMED_OUT)
                r.error_message = "topic created; leaders not yet elected"
    return R(throttle_time_ms=0, topics=results)


def _failed(name: str, code: ErrorCode, message: str | None) -> Any:
    return R.CreatableTopicResult(name=name, error_code=int(code), error_message=message, configs=[])


async def _create(broker: BrokerServices, t: Any, validate_only: bool, version: int) -> Any:
    assignment = {a.partition_index: list(a.broker_ids) for a in t.assignments} or None
    if assignment is not None and (t.num_partitions != -1 or t.replication_factor != -1):
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            "give either a replica assignment or partitions/replication factor, not both",
        )
    partitions = broker.config["num.partitions"] if t.num_partitions == -1 else t.num_partitions
    rf = broker.config["default.replication.factor"] if t.replication_factor == -1 else t.replication_factor
    if assignment is None and partitions < 1:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS, f"number of partitions must be at least 1, got {partitions}"
        )
    if assignment is None and rf < 1:
        raise KafkaError(
            ErrorCode.INVALID_REPLICATION_FACTOR, f"replication factor must be at least 1, got {rf}"
        )
    nulls = [c.name for c in t.configs if c.value is None]
    if nulls:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST, f"Null value not supported for topic configs : {','.join(nulls)}"
        )
    configs = {c.name: c.value for c in t.configs}
    topic_id = None if validate_only else new_topic_id()
    placed = await broker.zk_call(
        broker.topic_admin.create_topic,
        t.name,
        partitions,
        rf,
        configs,
        assignment,
        validate_only,
        broker.live_broker_ids(),
        topic_id,
    )
    result = R.CreatableTopicResult(
        name=t.name, error_code=0, error_message=None, topic_id=topic_id_to_uuid(topic_id)
    )
    if version >= 5:
        # The broker's topic defaults (its log.* settings) under the new topic's overrides.
        cfg = LogConfig.from_broker_props(broker.config.raw).with_overrides(configs)
        result.num_partitions = len(placed)
        result.replication_factor = len(next(iter(placed.values()))) if placed else -1
        result.configs = [
            R.CreatableTopicConfigs(
                name=e.name, value=e.value, read_only=False, config_source=e.source, is_sensitive=False
            )
            for e in topic_config_entries(cfg)
        ]
    return result
