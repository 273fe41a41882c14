"""The dispatch table: API key → handler module. ApiVersions and ``docs/protocol-coverage.md`` derive from it.

Run ``python tools/gen_protocol_coverage.py -o docs/protocol-coverage.md`` after changing it (a test checks the
page is current).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from kafka_zk.server.network import Dispatcher, RequestContext
from kafka_zk.server.request_stats import RequestStats

HANDLER_MODULES = (
    "produce",
    "fetch",
    "list_offsets",
    "metadata",
    "offset_commit",
    "offset_fetch",
    "find_coordinator",
    "join_group",
    "heartbeat",
    "leave_group",
    "sync_group",
    "describe_groups",
    "list_groups",
    "api_versions",
    "create_topics",
    "delete_topics",
    "init_producer_id",
    "offset_for_leader_epoch",
    "describe_configs",
    "alter_configs",
    "create_partitions",
    "delete_groups",
    "elect_leaders",
    "describe_log_dirs",
    "describe_cluster",
    "incremental_alter_configs",
    "alter_partition_reassignments",
    "list_partition_reassignments",
    "offset_delete",
)


def _load() -> dict[int, ModuleType]:
    mods = [importlib.import_module(f"kafka_zk.server.handlers.{name}") for name in HANDLER_MODULES]
    return {mod.API_KEY: mod for mod in mods}


TABLE: dict[int, ModuleType] = _load()


def supported_api_versions() -> dict[int, tuple[int, int]]:
    """What the broker advertises in ApiVersions: ``{api_key: (min, max)}``."""
    return {key: tuple(mod.VERSIONS) for key, mod in TABLE.items()}  # type: ignore[misc]


class BrokerDispatcher(Dispatcher):
    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.stats = RequestStats()

    def refused(self, api_key: int, api_version: int, closed: bool = True) -> None:
        (self.stats.refused if closed else self.stats.downgraded)[(api_key, api_version)] += 1

    def supported(self, api_key: int) -> tuple[int, int] | None:
        mod = TABLE.get(api_key)
        return None if mod is None else mod.VERSIONS

    async def handle(self, ctx: RequestContext, request: Any) -> Any:
        self.stats.count_served(ctx.api_key, ctx.api_version, ctx.client_id)
        return await TABLE[ctx.api_key].handle(self.broker, ctx, request)
