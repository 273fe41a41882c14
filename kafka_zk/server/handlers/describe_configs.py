"""DescribeConfigs (32): a topic's effective configuration (its ``/config/topics/<t>`` overrides over the
broker's ``log.*`` defaults over Kafka's defaults), or a broker's configuration: its dynamic configs
(``/config/brokers/<id>``, then ``<default>``, read fresh from ZooKeeper) over ``server.properties``. Broker
keys outside ``DYNAMIC_BROKER_KEYS`` are read-only.

v0 flags defaults with ``is_default``; v1 reports ``config_source`` (1 = topic override, 2 = dynamic broker
config, 3 = dynamic default broker config, 4 = static broker config, 5 = Kafka default) and, when asked, the
synonyms in precedence order; v3 the key's type and
documentation when ``include_documentation`` is set; v4 is v3, flexible.  Reporting lives in
:mod:`kafka_zk.server.config_ops`.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode
from kafka_zk.log.config import DYNAMIC_BROKER_KEYS
from kafka_zk.protocol.messages.configs import RESOURCE_BROKER, RESOURCE_TOPIC, DescribeConfigsResponse
from kafka_zk.server.config_ops import (
    CONFIG_TYPE_CODES,
    SOURCE_DEFAULT,
    SOURCE_DYNAMIC_BROKER,
    SOURCE_DYNAMIC_DEFAULT_BROKER,
    SOURCE_STATIC_BROKER,
    ConfigEntry,
    topic_config_entries,
)
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.DESCRIBE_CONFIGS
VERSIONS = (0, 4)

R = DescribeConfigsResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    results = []
    synonyms = ctx.api_version >= 1 and req.include_synonyms
    docs = ctx.api_version >= 3 and req.include_documentation
    for res in req.resources:
        keys = set(res.configuration_keys) if res.configuration_keys is not None else None
        if res.resource_type == RESOURCE_TOPIC:
            if not broker.metadata_cache.contains_topic(res.resource_name):
                results.append(
                    _error(
                        res,
                        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                        f"topic '{res.resource_name}' does not exist",
                    )
                )
                continue
            # Read ZooKeeper every time, as Kafka does: a describe right after AlterConfigs must see the write,
            # even before this broker processed the change notification.
            cfg = await broker.fresh_topic_config(res.resource_name)
            entries = [_entry(e, False, synonyms, docs) for e in topic_config_entries(cfg, keys)]
        elif res.resource_type == RESOURCE_BROKER:
            if res.resource_name not in ("", str(broker.broker_id)):
                results.append(
                    _error(
                        res,
                        ErrorCode.INVALID_REQUEST,
                        f"Unexpected broker id, expected {broker.broker_id} or empty string, "
                        f"but received {res.resource_name}",
                    )
                )
                continue
            entries = [_entry(e, e.name not in DYNAMIC_BROKER_KEYS, synonyms, docs)
                       for e in await _broker_entries(broker, keys)]
        else:
            results.append(
                _error(
                    res,
                    ErrorCode.INVALID_REQUEST,
                    f"unsupported resource type {res.resource_type} (expected 2 topic or 4 broker)",
                )
            )
            continue
        results.append(
            R.DescribeConfigsResult(
                error_code=0,
                error_message=None,
                resource_type=res.resource_type,
                resource_name=res.resource_name,
                configs=entries,
            )
        )
    return R(throttle_time_ms=0, results=results)


async def _broker_entries(broker: BrokerServices, keys: set[str] | None) -> list[ConfigEntry]:
    defs = broker.config.definition
    own = await broker.zk_call(broker.zk.get_entity_config, "brokers", str(broker.broker_id))
    default = await broker.zk_call(broker.zk.get_entity_config, "brokers", "<default>")
    out = []
    for name, value in sorted(broker.config.values.items()):
        if keys is not None and name not in keys:
            continue
        key = defs.keys.get(name)
        static = None if value is None else _fmt(value)
        # Most specific first, as Kafka's synonyms: this broker's dynamic value, the cluster-wide dynamic
        # default, server.properties, the built-in default.
        syn: list[tuple[str, str | None, int]] = []
        if name in own:
            syn.append((name, own[name], SOURCE_DYNAMIC_BROKER))
        if name in default:
            syn.append((name, default[name], SOURCE_DYNAMIC_DEFAULT_BROKER))
        if name in broker.config.raw:
            syn.append((name, static, SOURCE_STATIC_BROKER))
        syn.append((name, _fmt(key.default) if key and key.default is not None else static, SOURCE_DEFAULT))
        shown, source = syn[0][1], syn[0][2]
        out.append(
            ConfigEntry(
                name,
                shown,
                source,
                tuple(syn) if source != SOURCE_DEFAULT else (syn[0],),
                CONFIG_TYPE_CODES.get(key.type, 0) if key else 0,
                (key.doc or None) if key else None,
            )
        )
    return out


def _entry(e: ConfigEntry, read_only: bool, synonyms: bool, docs: bool) -> Any:
    return R.DescribeConfigsResourceResult(
        name=e.name,
        value=e.value,
        read_only=read_only,
        is_default=e.is_default,
        config_source=e.source,
        is_sensitive=False,
        synonyms=[R.DescribeConfigsSynonym(name=n, value=v, source=s) for n, v, s in e.synonyms]
        if synonyms
        else [],
        config_type=e.config_type,
        documentation=e.documentation if docs else None,
    )


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _error(res: Any, code: ErrorCode, message: str) -> Any:
    return R.DescribeConfigsResult(
        error_code=int(code),
        error_message=message,
        resource_type=res.resource_type,
        resource_name=res.resource_name,
        configs=[],
    )
