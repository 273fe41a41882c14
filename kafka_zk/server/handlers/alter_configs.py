"""AlterConfigs (33): replace a topic's configuration overrides (``/config/topics/<t>`` + a change
notification every broker reacts to), or a broker's dynamic configs (``/config/brokers/<id>``, or
``<default>`` for the empty name, as Kafka): only the keys brokers apply live
(:data:`~kafka_zk.log.config.DYNAMIC_BROKER_KEYS`); any other broker key is INVALID_REQUEST, a bad value
INVALID_CONFIG. Like Kafka's AlterConfigs the given set replaces the stored one.

Errors as ``ZkAdminManager.alterConfigs`` of Kafka 2.8: a null value is INVALID_REQUEST, an unknown key
INVALID_CONFIG, a bad value INVALID_REQUEST ("Invalid config value for resource ..."); v1 is v0, v2 flexible.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.config import ConfigError
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.log.config import DYNAMIC_BROKER_KEYS, LogConfig
from kafka_zk.protocol.messages.configs import RESOURCE_BROKER, RESOURCE_TOPIC, AlterConfigsResponse
from kafka_zk.server.config_ops import alter_error
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.ALTER_CONFIGS
VERSIONS = (0, 2)

R = AlterConfigsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    out = []
    for res in req.resources:
        code, message = ErrorCode.NONE, None
        nulls = [c.name for c in res.configs if c.value is None]
        if nulls:
            code, message = ErrorCode.INVALID_REQUEST, f"Null value not supported for : {','.join(nulls)}"
        elif res.resource_type == RESOURCE_BROKER:
            code, message = await _alter_broker(broker, res, req.validate_only)
        elif res.resource_type != RESOURCE_TOPIC:
            code, message = ErrorCode.INVALID_REQUEST, "only topic and broker configurations can be altered"
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


async def _alter_broker(broker: BrokerServices, res: Any, validate_only: bool) -> tuple[ErrorCode, str | None]:
    name = res.resource_name or "<default>"
    if name != "<default>" and not name.isdigit():
        return ErrorCode.INVALID_REQUEST, f"broker resource name must be a broker id or empty, got {name!r}"
    configs = {c.name: c.value for c in res.configs if c.value is not None}
    static = sorted(k for k in configs if k not in DYNAMIC_BROKER_KEYS)
    if static:
        return ErrorCode.INVALID_REQUEST, (f"{static[0]} cannot be changed while brokers run (dynamic broker "
                                           f"keys: {', '.join(sorted(DYNAMIC_BROKER_KEYS))})")
    try:
        LogConfig.from_broker_props(configs)
    except ConfigError as e:
        return ErrorCode.INVALID_CONFIG, str(e)
    if not validate_only:
        await broker.zk_call(broker.zk.change_entity_config, "brokers", name, configs)
    return ErrorCode.NONE, None
