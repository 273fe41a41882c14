"""AlterConfigs (33): replace a topic's configuration overrides (``/config/topics/<t>`` + a change
notification every broker reacts to). Broker configs are static here (answered INVALID_REQUEST)."""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.protocol.messages.configs import RESOURCE_TOPIC, AlterConfigsResponse

API_KEY = 33
VERSIONS = (0, 2)

R = AlterConfigsResponse


async def handle(broker: Any, ctx: Any, req: Any) -> Any:
    out = []
    for res in req.resources:
        code, message = ErrorCode.NONE, None
        if res.resource_type != RESOURCE_TOPIC:
            code, message = ErrorCode.INVALID_REQUEST, "only topic configurations can be altered"
        else:
            configs = {c.name: c.value for c in res.configs if c.value is not None}
            try:
                await broker.zk_call(broker.topic_admin.alter_topic_config, res.resource_name, configs, req.validate_only)
            except KafkaError as e:
                code, message = e.code, e.message
        out.append(R.AlterConfigsResourceResponse(error_code=int(code), error_message=message, resource_type=res.resource_type, resource_name=res.resource_name))
    return R(throttle_time_ms=0, responses=out)
