"""A coordinator on a manual clock with an in-memory offsets log — for tests and the study labs.

:class:`CoordinatorHarness` wires a :class:`GroupCoordinator` to a ManualClock, ManualTimers, an EventBus
and an :class:`InMemoryOffsetsLog`. Time moves only when the caller says (:meth:`CoordinatorHarness.advance`),
so session expiry, rebalance timeouts and retention are exercised in microseconds. Several harnesses may
share one log: a second coordinator taking over a partition is how a leadership move looks from here.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Awaitable, Callable, Iterable, Mapping

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.events import Event, EventBus
from kafka_zk.coordinator.config import GroupCoordinatorConfig
from kafka_zk.coordinator.coordinator import GroupCoordinator
from kafka_zk.coordinator.group import GroupState
from kafka_zk.coordinator.log_port import InMemoryOffsetsLog, OffsetsLog
from kafka_zk.coordinator.results import JoinResult, SyncResult
from kafka_zk.coordinator.timers import ManualTimers

SESSION_TIMEOUT_MS = 10_000
REBALANCE_TIMEOUT_MS = 30_000
RANGE = [("range", b"range-meta")]


def async_test(fn: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Run an ``async def`` test in a fresh event loop (30 s guard: a hang fails instead of blocking)."""

    @functools.wraps(fn)
    def wrapper() -> None:
        asyncio.run(asyncio.wait_for(fn(), 30))

    return wrapper


class CoordinatorHarness:
    def __init__(
        self,
        config: GroupCoordinatorConfig | None = None,
        log: InMemoryOffsetsLog | None = None,
        clock: ManualClock | None = None,
        offsets_log: OffsetsLog | None = None,
    ) -> None:
        """``log`` (in memory, inspectable) backs the coordinator unless another ``offsets_log`` is given."""
        self.config = config or GroupCoordinatorConfig(offsets_topic_num_partitions=4)
        self.clock = clock or ManualClock()
        self.timers = ManualTimers(self.clock)
        self.log = log if log is not None else InMemoryOffsetsLog()
        self.events = EventBus(clock=self.clock)
        self.coordinator = GroupCoordinator(
            offsets_log or self.log, self.config, clock=self.clock, timers=self.timers, events=self.events
        )

    async def start(self, partitions: Iterable[int] | None = None) -> GroupCoordinator:
        """Start the coordinator and make it leader (loaded) of ``partitions`` (default: all)."""
        self.coordinator.startup()
        for p in range(self.config.offsets_topic_num_partitions) if partitions is None else partitions:
            await self.coordinator.on_became_leader(p)
        return self.coordinator

    def advance(self, ms: int) -> int:
        """Move time; fires due timers. Returns how many fired."""
        return self.timers.advance(ms)

    async def settle(self, rounds: int = 10) -> None:
        """Let runnable tasks (waiting requests, background writes) run to their next wait."""
        for _ in range(rounds):
            await asyncio.sleep(0)
        await self.coordinator.drain()
        for _ in range(rounds):
            await asyncio.sleep(0)

    def events_of(self, kind: str) -> list[Event]:
        return [e for e in self.events.recent() if e.kind == kind]

    @classmethod
    async def started(cls, config: GroupCoordinatorConfig | None = None) -> "CoordinatorHarness":
        h = cls(config)
        await h.start()
        return h

    def state(self, group: str = "g") -> GroupState:
        g = self.coordinator.manager.get_group(group)
        assert g is not None, f"group {group!r} is not cached"
        return g.state

    def join(
        self,
        member_id: str = "",
        client_id: str = "client",
        protocols: list[tuple[str, bytes]] = RANGE,
        group: str = "g",
        session: int = SESSION_TIMEOUT_MS,
        rebalance: int = REBALANCE_TIMEOUT_MS,
        protocol_type: str = "consumer",
        instance_id: str | None = None,
        require_known_member_id: bool = False,
    ) -> "asyncio.Task[JoinResult]":
        """Send a JoinGroup (``instance_id``: a static member); returns the task waiting for its answer."""
        coro = self.coordinator.join_group(
            group, member_id, client_id, "/127.0.0.1", session, rebalance, protocol_type, protocols,
            group_instance_id=instance_id, require_known_member_id=require_known_member_id,
        )
        return asyncio.get_running_loop().create_task(coro)

    async def form_group(self, n: int, protocols: list[tuple[str, bytes]] = RANGE, group: str = "g") -> list[JoinResult]:
        """``n`` new members (client ids c0, c1, ...) join an empty group and get generation results."""
        tasks = [self.join(client_id=f"c{i}", protocols=protocols, group=group) for i in range(n)]
        await self.settle()
        self.advance(self.config.group_initial_rebalance_delay_ms * 2)
        await self.settle()
        results = [t.result() for t in tasks]
        assert all(r.error is ErrorCode.NONE for r in results), results
        return results

    async def sync_all(
        self, joined: list[JoinResult], assignment: Mapping[str, bytes] | None = None, group: str = "g"
    ) -> dict[str, SyncResult]:
        """Followers sync first (and must wait), then the leader with ``assignment`` (default: id → id bytes)."""
        c = self.coordinator
        leader = next(r for r in joined if r.member_id == r.leader_id)
        loop = asyncio.get_running_loop()
        waiting = {
            r.member_id: loop.create_task(c.sync_group(group, r.generation_id, r.member_id, {})) for r in joined if r is not leader
        }
        await self.settle()
        assert not any(t.done() for t in waiting.values()), "followers must wait for the leader's assignment"
        plan = {r.member_id: r.member_id.encode() for r in joined} if assignment is None else assignment
        waiting[leader.member_id] = loop.create_task(c.sync_group(group, leader.generation_id, leader.member_id, plan))
        await self.settle()
        return {m: t.result() for m, t in waiting.items()}

    async def stable_group(self, n: int, group: str = "g") -> list[str]:
        """Form and sync a group of ``n``; returns member ids (leader first)."""
        joined = await self.form_group(n, group=group)
        await self.sync_all(joined, group=group)
        return [r.member_id for r in joined]
