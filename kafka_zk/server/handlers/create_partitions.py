"""CreatePartitions (37): grow a topic; the controller broker rewrites ``/brokers/topics/<t>`` (old + new
partitions) and the controller elects leaders for the new ones. Partition counts only grow. A topic named
twice is INVALID_REQUEST; v1 is v0, v2 the first flexible version, v3 is v2 (as in Kafka 2.8)."""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.protocol.messages.topic_admin import CreatePartitionsResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.CREATE_PARTITIONS
VERSIONS = (0, 3)

R = CreatePartitionsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    results = []
    grown: list[str] = []
    names = [t.name for t in req.topics]
    for t in req.topics:
        if names.count(t.name) > 1:  # Kafka answers every copy of a duplicated topic with this
            results.append(
                R.CreatePartitionsTopicResult(
                    name=t.name,
                    error_code=int(ErrorCode.INVALID_REQUEST),
                    error_message="Duplicate topic in request.",
                )
            )
            continue
        if not broker.is_controller:
            results.append(
                R.CreatePartitionsTopicResult(
                    name=t.name,
                    error_code=int(ErrorCode.NOT_CONTROLLER),
                    error_message="this broker is not the controller",
                )
            )
            continue
        assignment = [list(a.broker_ids) for a in t.assignments] if t.assignments else None
        try:
            await broker.zk_call(
                broker.topic_admin.create_partitions,
                t.name,
                t.count,
                assignment,
                req.validate_only,
                broker.live_broker_ids(),
            )
            if not req.validate_only:
                grown.append(t.name)
            results.append(R.CreatePartitionsTopicResult(name=t.name, error_code=0, error_message=None))
        except KafkaError as e:
            results.append(
                R.CreatePartitionsTopicResult(name=t.name, error_code=int(e.code), error_message=e.message)
            )
    if grown:
        missing = await broker.wait_for_leaders(
            grown, req.timeout_ms, min_partitions={t.name: t.count for t in req.topics}
        )
        for r in results:
            if r.name in missing:
                r.error_code = int(ErrorCode.REQUEST_TIMED_OUT)
                r.error_message = "partitions created; leaders not yet elected"
    return R(throttle_time_ms=0, results=results)
