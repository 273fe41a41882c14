"""One registry per API: the declared messages give ``apis.API``, the handler modules give the dispatch table,
and each handler reaches the broker only through ``BrokerServices`` — so a fake broker can drive one."""

from __future__ import annotations

import asyncio
import inspect
import pkgutil
import types
from typing import Any, get_type_hints

import pytest

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.election import ElectionStrategy
from kafka_zk.protocol import messages
from kafka_zk.protocol.apis import API, ApiKey
from kafka_zk.protocol.messages.elect_leaders import ELECTION_PREFERRED, ELECTION_UNCLEAN, ElectLeadersRequest
from kafka_zk.protocol.schema import Message
from kafka_zk.server import dispatch, handlers
from kafka_zk.server.handler_api import BrokerServices, Request, RequestContext
from kafka_zk.server.handlers import elect_leaders


def test_every_declared_message_is_in_the_api_registry() -> None:
    declared = {id(v) for v in vars(messages).values() if isinstance(v, Message)}
    registered = {id(msg) for pair in API.values() for msg in pair}
    assert declared == registered
    for key, (req, resp) in API.items():
        assert (req.kind, resp.kind) == ("request", "response")
        assert req.api_key == resp.api_key == key


def test_every_handler_module_is_routed_by_its_api_key() -> None:
    names = {i.name for i in pkgutil.iter_modules(handlers.__path__)}
    assert {route.module.rsplit(".", 1)[1] for route in dispatch.TABLE.values()} == names
    for key, route in dispatch.TABLE.items():
        assert isinstance(route.api_key, ApiKey) and route.api_key == key
        lo, hi = route.versions
        assert API[route.api_key][0].valid_versions[0] <= lo <= hi <= API[route.api_key][0].valid_versions[1]
    assert dispatch.supported_api_versions()[ApiKey.API_VERSIONS] == dispatch.TABLE[18].versions


def test_every_handler_has_the_typed_signature() -> None:
    for route in dispatch.TABLE.values():
        hints = get_type_hints(route.handle)
        params = list(inspect.signature(route.handle).parameters)
        assert params == ["broker", "ctx", "req"], route.module
        assert (hints["broker"], hints["ctx"], hints["req"]) == (BrokerServices, RequestContext, Request)


def _module(**attrs: Any) -> types.ModuleType:
    mod = types.ModuleType("kafka_zk.server.handlers.fake")
    for name, value in attrs.items():
        setattr(mod, name, value)
    return mod


async def _handle(broker: Any, ctx: Any, req: Any) -> None:
    return None


def _sync_handle(broker: Any, ctx: Any, req: Any) -> None:
    return None


@pytest.mark.parametrize(
    "attrs, complaint",
    [
        ({"VERSIONS": (0, 1), "handle": _handle}, "defines API_KEY"),
        ({"API_KEY": 999, "VERSIONS": (0, 1), "handle": _handle}, "defines API_KEY"),
        ({"API_KEY": ApiKey.HEARTBEAT, "VERSIONS": (0, 1), "handle": _sync_handle}, "async def handle"),
        ({"API_KEY": ApiKey.END_TXN, "VERSIONS": (0, 1), "handle": _handle}, "no message declaration"),
        ({"API_KEY": ApiKey.HEARTBEAT, "VERSIONS": (0, 9), "handle": _handle}, "outside the declared"),
    ],
)
def test_a_malformed_handler_module_is_refused_at_import(attrs: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        dispatch._route(_module(**attrs))


class _Controller:
    def __init__(self) -> None:
        self.asked: list[ElectionStrategy] = []

    async def elect_leaders(
        self, partitions: list[TopicPartition] | None, strategy: ElectionStrategy
    ) -> dict[TopicPartition, tuple[ErrorCode, str | None]]:
        self.asked.append(strategy)
        return {tp: (ErrorCode.NONE, None) for tp in partitions or ()}


def _ctx(version: int) -> RequestContext:
    connection: Any = None  # the handler never touches it
    return RequestContext(ApiKey.ELECT_LEADERS, version, 1, "test", "127.0.0.1", 1, "PLAINTEXT", connection)


@pytest.mark.parametrize(
    "version, election_type, strategy",
    [
        (0, ELECTION_UNCLEAN, ElectionStrategy.PREFERRED),  # v0 has no election type: always preferred
        (1, ELECTION_PREFERRED, ElectionStrategy.PREFERRED),
        (1, ELECTION_UNCLEAN, ElectionStrategy.OFFLINE),  # unclean = the offline election, unclean allowed
    ],
)
def test_elect_leaders_asks_the_controller_for_the_strategy(
    version: int, election_type: int, strategy: ElectionStrategy
) -> None:
    controller = _Controller()
    broker = types.SimpleNamespace(is_controller=True, controller=controller)
    req = ElectLeadersRequest(
        election_type=election_type,
        topic_partitions=[ElectLeadersRequest.TopicPartitions(topic="t", partitions=[0, 1])],
        timeout_ms=1000,
    )
    resp = asyncio.run(elect_leaders.handle(broker, _ctx(version), req))  # type: ignore[arg-type]
    assert controller.asked == [strategy]
    results = [(r.topic, [p.partition_id for p in r.partition_result]) for r in resp.replica_election_results]
    assert results == [("t", [0, 1])]
