"""DeleteTopics (20): the controller broker marks ``/admin/delete_topics/<t>``; the controller deletes.

Waits up to ``timeout_ms`` for the topic to disappear from the metadata (REQUEST_TIMED_OUT otherwise; the
deletion still completes later). ``delete.topic.enable=false`` answers TOPIC_DELETION_DISABLED.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.protocol.messages.topic_admin import DeleteTopicsResponse

API_KEY = 20
VERSIONS = (0, 1)

R = DeleteTopicsResponse


async def handle(broker: Any, ctx: Any, req: Any) -> Any:
    results = []
    marked: list[str] = []
    for name in dict.fromkeys(req.topic_names):
        if not broker.is_controller:
            code = ErrorCode.NOT_CONTROLLER
        elif not broker.config["delete.topic.enable"]:
            code = ErrorCode.TOPIC_DELETION_DISABLED
        else:
            try:
                await broker.zk_call(broker.topic_admin.delete_topic, name)
                marked.append(name)
                code = ErrorCode.NONE
            except KafkaError as e:
                code = e.code
        results.append(R.DeletableTopicResult(name=name, error_code=int(code)))
    if marked:
        remaining = await broker.wait_for_topics_gone(marked, req.timeout_ms)
        for r in results:
            if r.name in remaining:
                r.error_code = int(ErrorCode.REQUEST_TIMED_OUT)
    return R(throttle_time_ms=0, responses=results)
