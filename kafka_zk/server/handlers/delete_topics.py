"""DeleteTopics (20): the controller broker marks ``/admin/delete_topics/<t>``; the controller deletes.

Waits up to ``timeout_ms`` for the topic to disappear from the metadata (REQUEST_TIMED_OUT otherwise; the
deletion still completes later). ``delete.topic.enable=false`` answers TOPIC_DELETION_DISABLED (v3+; older
clients do not know that code and get INVALID_REQUEST, as from Kafka).

v6 names each topic by name *or* topic id (KIP-516): an id is resolved through the topic znodes'
``topic_id`` (UNKNOWN_TOPIC_ID when no topic has it); giving both is INVALID_REQUEST for the whole request,
as Kafka's ``InvalidRequestException`` is.  v5 adds a per-topic error message.
"""

from __future__ import annotations

import uuid

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.protocol.messages.topic_admin import DeleteTopicsResponse
from kafka_zk.server.config_ops import topic_id_to_uuid
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.DELETE_TOPICS
VERSIONS = (0, 6)

R = DeleteTopicsResponse
ZERO = uuid.UUID(int=0)


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    if ctx.api_version >= 6:
        wanted = [(t.name, t.topic_id) for t in req.topics]
    else:
        wanted = [(name, ZERO) for name in dict.fromkeys(req.topic_names)]
    if not broker.is_controller:
        return _all(wanted, ErrorCode.NOT_CONTROLLER, "this broker is not the controller")
    if not broker.config["delete.topic.enable"]:
        code = ErrorCode.INVALID_REQUEST if ctx.api_version < 3 else ErrorCode.TOPIC_DELETION_DISABLED
        return _all(wanted, code, "topic deletion is disabled (delete.topic.enable=false)")
    if any(name is not None and tid != ZERO for name, tid in wanted):
        return _all(wanted, ErrorCode.INVALID_REQUEST, "Topic name and topic ID can not both be specified.")
    names_by_id = await _names_by_id(broker) if any(tid != ZERO for _, tid in wanted) else {}
    results = []
    marked: list[str] = []
    for name, tid in wanted:
        if tid != ZERO:
            name = names_by_id.get(tid)
            if name is None:
                results.append(
                    R.DeletableTopicResult(
                        name=None,
                        topic_id=tid,
                        error_code=int(ErrorCode.UNKNOWN_TOPIC_ID),
                        error_message=f"no topic has id {tid}",
                    )
                )
                continue
        code, message = ErrorCode.NONE, None
        try:
            await broker.zk_call(broker.topic_admin.delete_topic, name)
            marked.append(name)
        except KafkaError as e:
            code, message = e.code, e.message
        results.append(
            R.DeletableTopicResult(name=name, topic_id=tid, error_code=int(code), error_message=message)
        )
    if marked:
        remaining = await broker.wait_for_topics_gone(marked, req.timeout_ms)
        for r in results:
            if r.name in remaining:
                r.error_code = int(ErrorCode.REQUEST_TIMED_OUT)
                r.error_message = "deletion started; the topic is not gone yet"
    return R(throttle_time_ms=0, responses=results)


async def _names_by_id(broker: BrokerServices) -> dict[uuid.UUID, str]:
    """Topic ids as ZooKeeper has them (the controller's view is the same znodes)."""
    zk = broker.zk
    topics = await broker.zk_call(zk.get_all_topics)
    got = await broker.zk_call(zk.get_topic_assignments, sorted(topics))
    return {topic_id_to_uuid(a.topic_id): t for t, (a, _) in got.items() if a.topic_id}


def _all(wanted: list[tuple[str | None, uuid.UUID]], code: ErrorCode, message: str) -> Response:
    return R(
        throttle_time_ms=0,
        responses=[
            R.DeletableTopicResult(name=n, topic_id=tid, error_code=int(code), error_message=message)
            for n, tid in wanted
        ],
    )
