"""CreateTopics (19): only the controller broker takes it (else NOT_CONTROLLER, and clients re-route).

Per topic: -1 partitions / replication factor mean the broker defaults (v4, KIP-464); the broker validates
name, configs and assignment, writes ``/config/topics/<t>`` and ``/brokers/topics/<t>`` (see
``kafka_zk.server.admin_zk``), then waits up to ``timeout_ms`` for the controller to elect leaders for every
partition (REQUEST_TIMED_OUT if it does not; the topic still gets created). ``validate_only`` writes nothing.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.protocol.messages.topic_admin import CreateTopicsResponse

API_KEY = 19
VERSIONS = (0, 4)

R = CreateTopicsResponse


async def handle(broker: Any, ctx: Any, req: Any) -> Any:
    results = []
    created: list[str] = []
    seen: set[str] = set()
    for t in req.topics:
        if t.name in seen:
            results.append(R.CreatableTopicResult(name=t.name, error_code=int(ErrorCode.INVALID_REQUEST), error_message="duplicate topic in request"))
            continue
        seen.add(t.name)
        if not broker.is_controller:
            results.append(R.CreatableTopicResult(name=t.name, error_code=int(ErrorCode.NOT_CONTROLLER), error_message="this broker is not the controller"))
            continue
        try:
            await _create(broker, t, req.validate_only)
            if not req.validate_only:
                created.append(t.name)
            results.append(R.CreatableTopicResult(name=t.name, error_code=0, error_message=None))
        except KafkaError as e:
            results.append(R.CreatableTopicResult(name=t.name, error_code=int(e.code), error_message=e.message))
    if created:
        missing = await broker.wait_for_leaders(created, req.timeout_ms)
        for r in results:
            if r.name in missing:
                r.error_code = int(ErrorCode.REQUEST_TIMED_OUT)
                r.error_message = "topic created; leaders not yet elected"
    return R(throttle_time_ms=0, topics=results)


async def _create(broker: Any, t: Any, validate_only: bool) -> None:
    assignment = {a.partition_index: list(a.broker_ids) for a in t.assignments} or None
    if assignment is not None and (t.num_partitions != -1 or t.replication_factor != -1):
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            "give either a replica assignment or partitions/replication factor, not both",
        )
    partitions = broker.config["num.partitions"] if t.num_partitions == -1 else t.num_partitions
    rf = broker.config["default.replication.factor"] if t.replication_factor == -1 else t.replication_factor
    if assignment is None and partitions < 1:
        raise KafkaError(ErrorCode.INVALID_PARTITIONS, f"number of partitions must be at least 1, got {partitions}")
    if assignment is None and rf < 1:
        raise KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, f"replication factor must be at least 1, got {rf}")
    configs = {c.name: c.value for c in t.configs if c.value is not None}
    await broker.zk_call(
        broker.topic_admin.create_topic,
        t.name,
        partitions,
        rf,
        configs,
        assignment,
        validate_only,
        broker.live_broker_ids(),
    )
