"""The dispatch table: API key → handler. ApiVersions and ``docs/protocol-coverage.md`` derive from it.

The table is not a list to keep in step: it is discovered from the modules of
:mod:`kafka_zk.server.handlers`, each naming its ``API_KEY`` (see :mod:`kafka_zk.server.handler_api`), and
checked against the declared messages (:data:`kafka_zk.protocol.apis.API`) at import — serving an API is
adding one handler module. Run ``python tools/gen_protocol_coverage.py -o docs/protocol-coverage.md`` after
changing what is served (a test checks the page is current).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from types import ModuleType

from kafka_zk.protocol.apis import DECLARED_VERSIONS, ApiKey
from kafka_zk.server import handlers
from kafka_zk.server.handler_api import BrokerServices, Handler, Request, Response
from kafka_zk.server.network import Dispatcher, RequestContext
from kafka_zk.server.request_stats import RequestStats


@dataclass(frozen=True)
class Route:
    """One served API: its key, the versions the broker advertises, and the handler."""

    api_key: ApiKey
    versions: tuple[int, int]
    handle: Handler
    module: str


def _route(mod: ModuleType) -> Route:
    """The route a handler module declares; ``ValueError`` when it is not a well-formed handler module."""
    name = mod.__name__
    try:
        key = ApiKey(mod.API_KEY)
        lo, hi = (int(v) for v in mod.VERSIONS)
        handle = mod.handle
    except (AttributeError, ValueError, TypeError) as e:
        raise ValueError(f"{name}: a handler module defines API_KEY (an ApiKey), VERSIONS, handle: {e}") from e
    if not inspect.iscoroutinefunction(handle):
        raise ValueError(f"{name}: handle must be `async def handle(broker, ctx, req)`")
    declared = DECLARED_VERSIONS.get(key)
    if declared is None:
        raise ValueError(f"{name}: {key.name} has no message declaration in kafka_zk.protocol.messages")
    if not declared[0] <= lo <= hi <= declared[1]:
        raise ValueError(f"{name}: VERSIONS {lo}-{hi} outside the declared {declared[0]}-{declared[1]}")
    return Route(key, (lo, hi), handle, name)


def _load() -> dict[int, Route]:
    table: dict[int, Route] = {}
    for info in sorted(pkgutil.iter_modules(handlers.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        route = _route(importlib.import_module(f"{handlers.__name__}.{info.name}"))
        other = table.get(route.api_key)
        if other is not None:
            raise ValueError(f"{route.module} and {other.module} both handle {route.api_key.name}")
        table[int(route.api_key)] = route
    return dict(sorted(table.items()))


TABLE: dict[int, Route] = _load()


def supported_api_versions() -> dict[int, tuple[int, int]]:
    """What the broker advertises in ApiVersions: ``{api_key: (min, max)}``."""
    return {key: route.versions for key, route in TABLE.items()}


class BrokerDispatcher(Dispatcher):
    def __init__(self, broker: BrokerServices) -> None:
        self.broker = broker
        self.stats = RequestStats()

    def refused(self, api_key: int, api_version: int, closed: bool = True) -> None:
        (self.stats.refused if closed else self.stats.downgraded)[(api_key, api_version)] += 1

    def supported(self, api_key: int) -> tuple[int, int] | None:
        route = TABLE.get(api_key)
        return None if route is None else route.versions

    async def handle(self, ctx: RequestContext, request: Request) -> Response | None:
        self.stats.count_served(ctx.api_key, ctx.api_version, ctx.client_id)
        return await TABLE[ctx.api_key].handle(self.broker, ctx, request)
