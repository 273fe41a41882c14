"""IncrementalAlterConfigs (44, KIP-339): change single config keys of a topic or broker.

Topics: the new overrides are computed from the current ``/config/topics/<t>`` by
:func:`kafka_zk.server.config_ops.apply_incremental`, validated as a whole, and written with a
``/config/changes`` notification — the same write AlterConfigs does, so every broker applies it.
``validate_only`` checks without writing.  Any broker may answer (Kafka 2.8 in ZooKeeper mode handles it
locally).  Brokers: our broker configuration is static (no key is dynamically updatable), so a change to
a broker resource is refused with INVALID_REQUEST, as Kafka refuses keys that are not dynamic.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.protocol.messages.configs import (
    RESOURCE_BROKER,
    RESOURCE_TOPIC,
    IncrementalAlterConfigsResponse,
)
from kafka_zk.server.config_ops import alter_error, apply_incremental
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.INCREMENTAL_ALTER_CONFIGS
VERSIONS = (0, 1)

R = IncrementalAlterConfigsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    out = []
    for res in req.resources:
        code, message = ErrorCode.NONE, None
        try:
            if res.resource_type == RESOURCE_TOPIC:
                await _alter_topic(broker, res, req.validate_only)
            elif res.resource_type == RESOURCE_BROKER:
                _alter_broker(broker, res)
            else:
                raise KafkaError(
                    ErrorCode.INVALID_REQUEST,
                    "IncrementalAlterConfigs is only supported for topics "
                    f"(2) and brokers (4), but resource type is {res.resource_type}",
                )
        except KafkaError as e:
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


async def _alter_topic(broker: BrokerServices, res: Any, validate_only: bool) -> None:
    name = res.resource_name
    ops = [(c.name, c.config_operation, c.value) for c in res.configs]
    if not await broker.zk_call(broker.zk.topic_exists, name):
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic '{name}' does not exist")
    current = await broker.zk_call(broker.zk.get_entity_config, "topics", name)
    new = apply_incremental(current, ops)
    try:
        await broker.zk_call(broker.topic_admin.alter_topic_config, name, new, validate_only)
    except KafkaError as e:
        raise alter_error(e, name, new) from None


def _alter_broker(broker: BrokerServices, res: Any) -> None:
    if res.resource_name not in ("", str(broker.broker_id)):
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"Unexpected broker id, expected {broker.broker_id} or empty "
            f"string, but received {res.resource_name}",
        )
    keys = sorted({c.name for c in res.configs})
    if keys:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"Cannot update these configs dynamically: {', '.join(keys)} "
            "(this broker's configuration is static; change server.properties and restart)",
        )
