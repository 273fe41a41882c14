"""DescribeConfigs (32): a topic's effective configuration (its ``/config/topics/<t>`` overrides over the
broker's ``log.*`` defaults over Kafka's defaults), or a broker's configuration: its dynamic configs
(``/config/brokers/<id>``, then ``<default>``, read fresh from ZooKeeper) over ``server.properties``.

v0 flags defaults with ``is_default``; v1 reports ``config_source`` (1 = topic override, 2 = dynamic broker
config, 3 = dynamic default broker config, 4 = static broker config, 5 = Kafka default) and, when asked,
the synonyms in precedence order. Broker keys outside ``DYNAMIC_BROKER_KEYS`` are read-only.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode
from kafka_zk.log.config import DYNAMIC_BROKER_KEYS
from kafka_zk.protocol.messages.configs import RESOURCE_BROKER, RESOURCE_TOPIC, DescribeConfigsResponse

API_KEY = 32
VERSIONS = (0, 1)

R = DescribeConfigsResponse

SOURCE_TOPIC = 1
SOURCE_DYNAMIC_BROKER = 2
SOURCE_DYNAMIC_DEFAULT_BROKER = 3
SOURCE_STATIC_BROKER = 4
SOURCE_DEFAULT = 5


async def handle(broker: Any, ctx: Any, req: Any) -> Any:
    results = []
    for res in req.resources:
        keys = set(res.configuration_keys) if res.configuration_keys is not None else None
        if res.resource_type == RESOURCE_TOPIC:
            if not broker.metadata_cache.contains_topic(res.resource_name):
                results.append(_error(res, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic '{res.resource_name}' does not exist"))
                continue
            # Read ZooKeeper every time, as Kafka does: a describe right after AlterConfigs must see the write,
            # even before this broker processed the change notification.
            cfg = await broker.fresh_topic_config(res.resource_name)
            entries = []
            for name, value in cfg.to_props().items():
                if keys is not None and name not in keys:
                    continue
                if name in cfg.overrides:
                    source = SOURCE_TOPIC
                elif cfg.defaults is not None and name in cfg.defaults.overrides:
                    source = SOURCE_STATIC_BROKER
                else:
                    source = SOURCE_DEFAULT
                entries.append(
                    R.DescribeConfigsResourceResult(
                        name=name,
                        value=value,
                        read_only=False,
                        is_default=source == SOURCE_DEFAULT,
                        config_source=source,
                        is_sensitive=False,
                        synonyms=[],
                    )
                )
            results.append(R.DescribeConfigsResult(error_code=0, error_message=None, resource_type=res.resource_type, resource_name=res.resource_name, configs=entries))
        elif res.resource_type == RESOURCE_BROKER:
            if res.resource_name not in ("", str(broker.broker_id)):
                results.append(_error(res, ErrorCode.INVALID_REQUEST, f"broker {res.resource_name} is not this broker ({broker.broker_id})"))
                continue
            entries = []
            own = await broker.zk_call(broker.zk.get_entity_config, "brokers", str(broker.broker_id))
            default = await broker.zk_call(broker.zk.get_entity_config, "brokers", "<default>")
            for name, value in sorted(broker.config.values.items()):
                if keys is not None and name not in keys:
                    continue
                explicit = name in broker.config.raw
                source = SOURCE_STATIC_BROKER if explicit else SOURCE_DEFAULT
                shown = None if value is None else _fmt(value)
                if name in own:
                    source, shown = SOURCE_DYNAMIC_BROKER, own[name]
                elif name in default:
                    source, shown = SOURCE_DYNAMIC_DEFAULT_BROKER, default[name]
                entries.append(
                    R.DescribeConfigsResourceResult(
                        name=name,
                        value=shown,
                        read_only=name not in DYNAMIC_BROKER_KEYS,
                        is_default=source == SOURCE_DEFAULT,
                        config_source=source,
                        is_sensitive=False,
                        synonyms=[],
                    )
                )
            results.append(R.DescribeConfigsResult(error_code=0, error_message=None, resource_type=res.resource_type, resource_name=res.resource_name, configs=entries))
        else:
            results.append(_error(res, ErrorCode.INVALID_REQUEST, f"unsupported resource type {res.resource_type}"))
    return R(throttle_time_ms=0, results=results)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _error(res: Any, code: ErrorCode, message: str) -> Any:
    return R.DescribeConfigsResult(
        error_code=int(code), error_message=message, resource_type=res.resource_type, resource_name=res.resource_name, configs=[]
    )
