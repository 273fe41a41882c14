"""AlterConfigs (33): replace a topic's configuration overrides (``/config/topics/<t>`` + a change
notification every broker reacts to). Broker configs are static here (answered INVALID_REQUEST).

Errors as ``ZkAdminManager.alterConfigs`` of Kafka 2.8: a null value is INVALID_REQUEST, an unknown key
INVALID_CONFIG, a bad value INVALID_REQUEST ("Invalid config value for resource ..."); v1 is v0, v2 flexible.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.protocol.messages.configs import RESOURCE_TOPIC, AlterConfigsResponse
from kafka_zk.server.config_ops import alter_error

API_KEY = 33
VERSIONS = (0, 2)

R = AlterConfigsResponse


async def handle(broker: Any, ctx: Any, req: Any) -> Any:
    out = []
    for res in req.resources:
        code, message = ErrorCode.NONE, None
        nulls = [c.name for c in res.configs if c.value is None]
        if res.resource_type != RESOURCE_TOPIC:
            code, message = ErrorCode.INVALID_REQUEST, "only topic configurations can be altered"
        elif nulls:
            code, message = ErrorCode.INVALID_REQUEST, f"Null value not supported for : {','.join(nulls)}"
        else:
            configs = {c.name: c.value for c in res.configs}
            try:
                await broker.zk_call(
                    broker.topic_admin.alter_topic_config, res.resource_name, configs, req.validate_only
                )
            except KafkaError as e:
                e = alter_error(e, res.resource_name, configs)
                code, message = e.code, e.message
        out.append(
            R.AlterConfigsResourceResponse(
                error_code=int(code),
                error_message=message,
                resource_type=res.resource_type,
                resource_name=res.resource_name,
            )
        )
    return R(throttle_time_ms=0, responses=out)
