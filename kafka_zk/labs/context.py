"""What a lab script works with: a real local cluster, eyes on it, and hands to break it.

Eyes: ZooKeeper watches (``zk_layout`` decodes each znode), the brokers' event buses (polled from each
broker's control listener, ``GET /events``) and each replica's own view (``GET /state``: its log end
offset, and on the leader the high watermark and the ISR). Hands: kill, pause (SIGSTOP) and resume brokers,
create topics and run clients. Everything seen goes to the :class:`~kafka_zk.labs.narration.Narrator`.

Each broker reports its *own* replica (its LEO is ground truth for that replica); the leader's report adds
the HW. The ISR shown is the one in ZooKeeper's partition state, the controller's and the leader's shared
record, which is what a client's metadata reflects.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Mapping, Sequence

import aiohttp

from kafka_zk.client.admin import AdminClient, NewTopic
from kafka_zk.common.waiting import async_wait_until
from kafka_zk.labs.narration import Narrator, describe_znode, replica_table
from kafka_zk.launch.cluster import LocalCluster
from zk_layout.client import KafkaZkClient
from zk_layout.tree import decode_znode
from zk_layout.znodes import TopicPartition as ZkTopicPartition

#: Event kinds that are progress reports, not decisions; narrated only when a lab asks for them by name.
NOISY_EVENTS = ("replica.leo", "replica.hw", "log.rolled")


@dataclass(frozen=True)
class PartitionView:
    """One partition as ZooKeeper and every replica see it right now."""

    topic: str
    partition: int
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    replicas: tuple[int, ...]
    leo: Mapping[int, int | None]  # broker -> its own log end offset (None: broker down or not answering)
    high_watermark: int | None  # the leader's, None when there is no leader answering
    leo_from_leader: frozenset[int] = frozenset()  # replicas that did not answer: LEO as the leader last saw it

    def render(self) -> str:
        return replica_table(self.topic, self.partition, self.leader, self.leader_epoch, self.isr,
                             self.leo, self.high_watermark, self.leo_from_leader)


class CheckFailed(AssertionError):
    """A lab's claim did not hold (raised only by :meth:`LabContext.require`)."""


class LabContext:
    def __init__(self, cluster: LocalCluster, narrator: Narrator) -> None:
        self.cluster = cluster
        self.narrator = narrator
        self.checks: list[tuple[str, bool, str]] = []
        self._zk: KafkaZkClient | None = None
        self._http: aiohttp.ClientSession | None = None
        self._watches: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._event_seq: dict[int, int] = {}
        self._followed: tuple[str, ...] = ()

    # ---- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> "LabContext":
        # Short: a paused broker must not hold up the story of the others.
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5))
        self._zk = KafkaZkClient(self.cluster.zookeeper_connect, session_timeout_ms=30000)
        await asyncio.to_thread(self._zk.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        if self._followed:  # the decisions of the last moments belong in the story too
            await asyncio.sleep(0.3)
            with contextlib.suppress(Exception):
                await self._poll_events_once(self._followed)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for w in self._watches:
            w.cancel()
        if self._zk is not None:
            await asyncio.to_thread(self._zk.close)
        if self._http is not None:
            await self._http.close()

    @property
    def zk(self) -> KafkaZkClient:
        assert self._zk is not None, "LabContext used outside 'async with'"
        return self._zk

    @property
    def bootstrap(self) -> str:
        return self.cluster.bootstrap_servers

    @property
    def broker_ids(self) -> list[int]:
        return sorted(self.cluster.state.brokers)

    # ---- narration -------------------------------------------------------------------------------

    def step(self, text: str) -> None:
        self.narrator.say("step", text)

    def note(self, text: str) -> None:
        self.narrator.say("note", text)

    def client(self, text: str) -> None:
        self.narrator.say("client", text)

    def check(self, claim: str, ok: bool, detail: str = "") -> bool:
        """Record whether one claim of the lab held; the lab passes when every check did."""
        self.checks.append((claim, ok, detail))
        self.narrator.say("check", f"{'PASS' if ok else 'FAIL'} {claim}" + (f" ({detail})" if detail else ""))
        return ok

    def require(self, claim: str, ok: bool, detail: str = "") -> None:
        """A check the rest of the script depends on: stop the lab when it fails."""
        if not self.check(claim, ok, detail):
            raise CheckFailed(claim)

    # ---- eyes: ZooKeeper -------------------------------------------------------------------------

    def watch_znode(self, path: str) -> None:
        """Narrate every change of one znode's data (created, changed, deleted), decoded."""
        last: list[Any] = [object()]

        def changed(data: bytes | None, stat: Any) -> None:
            try:
                value = None if data is None else decode_znode(path, data)
            except Exception as e:  # a malformed payload is worth telling, never fatal to the lab
                value = f"<undecodable: {e}>"
            if data is not None and value is None:
                value = data.decode(errors="replace")
            if value != last[0]:
                version = f" (zkVersion {stat.version})" if stat is not None else ""
                self.narrator.say("znode", describe_znode(path, value) + version)
                last[0] = value

        self._watches.append(self.zk.watch_data(path, changed))

    def watch_children(self, path: str, label: str | None = None) -> None:
        """Narrate the children of a znode as they change (e.g. ``/brokers/ids``)."""
        last: list[list[str] | None] = [None]

        def changed(children: list[str]) -> None:
            kids = sorted(children, key=lambda c: (len(c), c))
            if kids != last[0]:
                self.narrator.say("znode", f"{label or path} children = [{', '.join(kids)}]")
                last[0] = kids

        self._watches.append(self.zk.watch_children(path, changed))

    def partition_state(self, topic: str, partition: int) -> Any:
        got = self.zk.get_partition_state(ZkTopicPartition(topic, partition))
        return None if got is None else got[0]

    # ---- eyes: brokers ---------------------------------------------------------------------------

    async def broker_state(self, broker_id: int) -> dict[str, Any] | None:
        """The broker's ``GET /state`` (None when it does not answer: killed, paused or starting)."""
        b = self.cluster.broker(broker_id)
        assert self._http is not None
        try:
            async with self._http.get(f"http://127.0.0.1:{b.control_port}/state") as resp:
                if resp.status != 200:
                    return None
                data: dict[str, Any] = await resp.json()
                return data
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return None

    async def partition(self, topic: str, partition: int) -> PartitionView:
        zk_state, assignment = await asyncio.gather(
            asyncio.to_thread(self.partition_state, topic, partition),
            asyncio.to_thread(self.zk.get_topic_assignment, topic),
        )
        replicas = tuple(assignment[0].partitions.get(partition, ())) if assignment else ()
        states = await asyncio.gather(*(self.broker_state(b) for b in replicas))
        leo: dict[int, int | None] = {}
        hw: int | None = None
        seen_by_leader: dict[int, int] = {}
        for b, st in zip(replicas, states):
            own = _replica_of(st, topic, partition)
            leo[b] = None if own is None else int(own["log_end_offset"])
            if own is not None and own.get("role") == "leader":
                hw = int(own["high_watermark"])
                seen_by_leader = {int(r): int(f["log_end_offset"]) for r, f in own.get("followers", {}).items()}
        # A paused or dead broker cannot answer for itself: show what the leader last heard from it.
        leader_view = {b: seen_by_leader[b] for b, v in leo.items() if v is None and b in seen_by_leader}
        leo.update(leader_view)
        return PartitionView(topic, partition,
                             zk_state.leader if zk_state else -1, zk_state.leader_epoch if zk_state else -1,
                             tuple(zk_state.isr) if zk_state else (), replicas, leo, hw, frozenset(leader_view))

    async def show(self, topic: str, partition: int = 0) -> PartitionView:
        view = await self.partition(topic, partition)
        self.narrator.say("state", view.render())
        return view

    def follow_events(self, *kinds: str, interval_s: float = 0.2) -> None:
        """Narrate events whose kind starts with one of ``kinds`` from every broker's bus, as they happen."""
        wanted = tuple(kinds)
        self._followed = wanted
        self._tasks.append(asyncio.create_task(self._poll_events(wanted, interval_s)))

    async def _poll_events(self, kinds: tuple[str, ...], interval_s: float) -> None:
        assert self._http is not None
        # Start from "now": what happened before the lab asked is history, not the story.
        for b in self.broker_ids:
            self._event_seq[b] = await self._latest_seq(b)
        while True:
            await self._poll_events_once(kinds)
            await asyncio.sleep(interval_s)

    async def _poll_events_once(self, kinds: tuple[str, ...]) -> None:
        batches = await asyncio.gather(*(self._events_since(b) for b in self.broker_ids))
        for b, events in zip(self.broker_ids, batches):
            for ev in events:
                kind = ev.get("kind", "")
                if not kind.startswith(kinds) or (kind in NOISY_EVENTS and kind not in kinds):
                    continue
                fields = " ".join(f"{k}={_short(v)}" for k, v in ev.items()
                                  if k not in ("seq", "time_ms", "kind", "broker_id"))
                self.narrator.say("event", f"broker {b}: {kind} {fields}".rstrip())

    async def _latest_seq(self, broker_id: int) -> int:
        events = await self._fetch_events(broker_id, 0)
        return max((int(e["seq"]) for e in events), default=0)

    async def _events_since(self, broker_id: int) -> list[dict[str, Any]]:
        since = self._event_seq.get(broker_id, 0)
        events = await self._fetch_events(broker_id, since)
        if events:
            self._event_seq[broker_id] = max(int(e["seq"]) for e in events)
        return events

    async def _fetch_events(self, broker_id: int, since: int) -> list[dict[str, Any]]:
        """The broker's events with a sequence number above ``since``."""
        assert self._http is not None
        b = self.cluster.broker(broker_id)
        try:
            async with self._http.get(f"http://127.0.0.1:{b.control_port}/events", params={"since": str(since)}) as r:
                if r.status != 200:
                    return []
                data: list[dict[str, Any]] = await r.json()
                return [e for e in data if int(e["seq"]) > since]  # the endpoint's ``since`` is exclusive
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return []  # killed, paused or restarting: its events come when it answers again

    # ---- hands -----------------------------------------------------------------------------------

    async def create_topic(self, name: str, partitions: int = 1, replication_factor: int = 3,
                           configs: Mapping[str, str] | None = None,
                           assignment: Mapping[int, Sequence[int]] | None = None) -> None:
        topic = (NewTopic(name, replica_assignment=assignment, configs=dict(configs or {})) if assignment
                 else NewTopic(name, partitions, replication_factor, configs=dict(configs or {})))
        async with AdminClient(self.bootstrap) as admin:
            await admin.create_topic(topic)
        count = len(assignment) if assignment else partitions
        await self.wait_for(lambda: self._all_led(name, count), 30.0, f"leaders for every partition of {name}")

    async def _all_led(self, topic: str, partitions: int) -> bool:
        for p in range(partitions):
            st = await asyncio.to_thread(self.partition_state, topic, p)
            if st is None or st.leader < 0:
                return False
            view = await self.partition(topic, p)
            if view.high_watermark is None:
                return False
        return True

    async def kill(self, broker_id: int) -> float:
        """SIGKILL a broker (no controlled shutdown: its ZooKeeper session lingers until it times out).
        Returns the monotonic time of the kill."""
        await asyncio.to_thread(self.cluster.kill, broker_id, "KILL")
        return time.monotonic()

    async def pause(self, broker_id: int) -> None:
        await asyncio.to_thread(self.cluster.kill, broker_id, "STOP")

    async def resume(self, broker_id: int) -> None:
        await asyncio.to_thread(self.cluster.kill, broker_id, "CONT")

    async def start_broker(self, broker_id: int) -> None:
        await asyncio.to_thread(self.cluster.start, broker_id)
        self._event_seq[broker_id] = 0  # a new process numbers its events from the start again

    async def controller(self) -> tuple[int | None, int | None]:
        """(controller broker id, controller epoch) from ZooKeeper."""
        cid = await asyncio.to_thread(self.zk.get_controller_id)
        epoch = await asyncio.to_thread(self.zk.get_controller_epoch)
        return cid, None if epoch is None else epoch[0]

    async def wait_for(self, cond: Callable[[], Awaitable[Any] | Any], timeout_s: float, what: str,
                       interval_s: float = 0.1) -> Any:
        """Poll ``cond`` until it returns something truthy; raises TimeoutError naming ``what``."""
        return await async_wait_until(cond, timeout_s, what, interval_s)


def _replica_of(state: dict[str, Any] | None, topic: str, partition: int) -> dict[str, Any] | None:
    if state is None:
        return None
    for r in state.get("replicas", []):
        if r.get("topic") == topic and r.get("partition") == partition:
            return dict(r)
    return None


def _short(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_short(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_short(v)}" for k, v in value.items()) + "}"
    return str(value)


def broker_list(ids: Iterable[int]) -> str:
    return ", ".join(f"broker {b}" for b in ids)
