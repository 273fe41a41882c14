"""The whole cluster as one JSON document: what ``/api/cluster``, ``/api/groups`` and ``/api/events`` serve.

Why gathered this way: ZooKeeper holds the cluster's decisions (registered brokers, the controller, every
partition's assignment and leader/ISR/leader epoch), read through ``zk_layout``; but only the brokers know
their logs: each replica's log end offset (LEO) and high watermark (HW), and the leader's view of its
followers' LEOs. Each broker already serves that on its control endpoint (``GET /state``, registered in
ZooKeeper as the ``CONTROLLER`` listener), so any broker's HTTP admin can draw the whole cluster by asking
the others, and a killed broker simply shows up as unreachable. Events (the controller's decisions,
ISR changes) come from every broker's ``GET /events``, merged by time.

A broker that does not answer within :data:`PEER_TIMEOUT_S` is shown without its replica progress rather
than delaying the page.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from kafka_zk.common.logging import get_logger
from zk_layout.znodes import TopicPartition

log = get_logger(__name__)

PEER_TIMEOUT_S = 1.5
#: the kinds the event timeline shows: the controller's decisions and the leaders' ISR changes
DECISION_PREFIXES = ("controller.", "broker.", "partition.", "election.", "isr.", "topic.")
EVENTS_SHOWN = 300


def local_groups(coordinator: Any) -> list[dict[str, Any]]:
    """The groups this broker coordinates with their committed offsets (served in its ``/state``)."""
    if not coordinator.is_active:
        return []
    out = []
    for g in coordinator.manager.current_groups():
        out.append(
            {
                "group": g.group_id,
                "state": str(g.state),
                "protocol_type": g.protocol_type,
                "generation": g.generation_id,
                "members": len(g.members),
                "offsets": {f"{tp.topic}:{tp.partition}": o.offset for tp, o in sorted(g.all_offsets().items())},
            }
        )
    return out


class ClusterView:
    """Reads ZooKeeper and the peers for one broker's HTTP admin; ``broker`` is the KafkaBroker
    (duck-typed). Results are cached for ``ttl_s`` so that several dashboards do not multiply the reads."""

    def __init__(self, broker: Any, ttl_s: float = 0.5) -> None:
        self.broker = broker
        self.ttl_s = ttl_s
        self._session: aiohttp.ClientSession | None = None
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._inflight: asyncio.Future[dict[str, Any]] | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT_S))
        return self._session

    async def snapshot(self) -> dict[str, Any]:
        """ZooKeeper's view plus every reachable broker's ``/state`` (cached ``ttl_s``)."""
        loop = asyncio.get_running_loop()
        if self._cached is not None and loop.time() - self._cached[0] < self.ttl_s:
            return self._cached[1]
        if self._inflight is None:
            started = loop.time()
            task = self._inflight = loop.create_task(self._gather())

            def done(t: asyncio.Future[dict[str, Any]]) -> None:
                self._inflight = None
                if not t.cancelled() and t.exception() is None:
                    self._cached = (started, t.result())  # as fresh as the moment its reads began

            task.add_done_callback(done)
        return await asyncio.shield(self._inflight)

    async def _gather(self) -> dict[str, Any]:
        b = self.broker
        zk = b.zk
        registered = await b.zk_call(zk.get_all_brokers)
        controller_id = await b.zk_call(zk.get_controller_id)
        epoch = await b.zk_call(zk.get_controller_epoch)
        topics = sorted(await b.zk_call(zk.get_all_topics))
        assignments = await b.zk_call(zk.get_topic_assignments, topics)
        tps = [TopicPartition(t, p) for t, (a, _) in assignments.items() for p in a.partitions]
        states = await b.zk_call(zk.get_partition_states, tps)
        control = b.config.control_listener_name
        peers = {
            bid: reg.endpoint(control)
            for bid, (reg, _) in registered.items()
            if bid != b.broker_id
        }
        fetched = await asyncio.gather(*(self._peer_state(ep) for ep in peers.values()))
        broker_states: dict[int, dict[str, Any] | None] = dict(zip(peers, fetched))
        broker_states[b.broker_id] = b.describe_state()
        replicas: dict[tuple[int, str, int], dict[str, Any]] = {}
        for bid, st in broker_states.items():
            for r in (st or {}).get("replicas", []):
                replicas[(bid, r["topic"], r["partition"])] = r
        all_ids = set(registered)
        out_topics = []
        for topic in topics:
            if topic not in assignments:
                continue
            a = assignments[topic][0]
            parts = []
            for p, reps in sorted(a.partitions.items()):
                all_ids.update(reps)
                st = states.get(TopicPartition(topic, p))
                ps = st[0] if st is not None else None
                leader = ps.leader if ps is not None else -1
                isr = list(ps.isr) if ps is not None else []
                leader_state = replicas.get((leader, topic, p))
                seen = (leader_state or {}).get("followers", {})
                rows = []
                for r in reps:
                    mine = replicas.get((r, topic, p))
                    follower = seen.get(str(r), seen.get(r))  # JSON turns int keys into strings
                    rows.append(
                        {
                            "broker": r,
                            "alive": r in registered,
                            "in_isr": r in isr,
                            "role": "leader" if r == leader else "follower",
                            "log_end_offset": mine["log_end_offset"] if mine else None,
                            "high_watermark": mine["high_watermark"] if mine else None,
                            "log_start_offset": mine["log_start_offset"] if mine else None,
                            "leo_seen_by_leader": (
                                leader_state["log_end_offset"] if r == leader and leader_state
                                else (follower or {}).get("log_end_offset")
                            ),
                        }
                    )
                parts.append(
                    {
                        "partition": p,
                        "leader": leader,
                        "leader_epoch": ps.leader_epoch if ps is not None else -1,
                        "controller_epoch": ps.controller_epoch if ps is not None else -1,
                        "replicas": list(reps),
                        "isr": isr,
                        "high_watermark": leader_state["high_watermark"] if leader_state else None,
                        "replica_state": rows,
                    }
                )
            out_topics.append({"name": topic, "internal": topic.startswith("__"), "partitions": parts})
        brokers = []
        for bid in sorted(all_ids):
            entry = registered.get(bid)
            st = broker_states.get(bid)
            brokers.append(
                {
                    "id": bid,
                    "alive": entry is not None,
                    "reachable": st is not None,
                    "controller": bid == controller_id,
                    "broker_epoch": entry[1] if entry else None,
                    "rack": entry[0].rack if entry else None,
                    "endpoints": {e.listener_name: f"{e.host}:{e.port}" for e in entry[0].endpoints} if entry else {},
                    "http": (st or {}).get("http"),
                }
            )
        groups = [g for st in broker_states.values() for g in (st or {}).get("groups", [])]
        return {
            "cluster_id": b.cluster_id,
            "served_by": b.broker_id,
            "time_ms": b.clock.time_ms(),
            "controller": controller_id,
            "controller_epoch": epoch[0] if epoch else None,
            "brokers": brokers,
            "topics": out_topics,
            "groups": _with_lag(groups, out_topics),
        }

    async def _peer_state(self, ep: Any) -> dict[str, Any] | None:
        if ep is None:
            return None
        try:
            async with self._http().get(f"http://{_host(ep.host)}:{ep.port}/state") as resp:
                resp.raise_for_status()
                result: dict[str, Any] = await resp.json()
                return result
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as e:
            log.debug("peer state unavailable", endpoint=f"{ep.host}:{ep.port}", error=str(e) or type(e).__name__)
            return None

    async def events(self, limit: int = EVENTS_SHOWN) -> list[dict[str, Any]]:
        """The decisions of every reachable broker (a killed broker's ring is gone with it), oldest first."""
        b = self.broker
        registered = await b.zk_call(b.zk.get_all_brokers)
        control = b.config.control_listener_name
        prefixes = ",".join(DECISION_PREFIXES)
        out: list[dict[str, Any]] = [e.to_dict() for e in b.events.recent(0) if e.kind.startswith(DECISION_PREFIXES)]

        async def peer(ep: Any) -> list[dict[str, Any]]:
            if ep is None:
                return []
            try:
                url = f"http://{_host(ep.host)}:{ep.port}/events"
                async with self._http().get(url, params={"kind": prefixes}) as resp:
                    resp.raise_for_status()
                    got: list[dict[str, Any]] = await resp.json()
                    return got
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError):
                return []

        eps = [reg.endpoint(control) for bid, (reg, _) in registered.items() if bid != b.broker_id]
        for got in await asyncio.gather(*(peer(ep) for ep in eps)):
            out.extend(e for e in got if str(e.get("kind", "")).startswith(DECISION_PREFIXES))
        out.sort(key=lambda e: (e.get("time_ms", 0), e.get("broker_id") or 0, e.get("seq", 0)))
        return out[-limit:]


def _with_lag(groups: list[dict[str, Any]], topics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each group's committed offsets against the partitions' high watermarks (what a consumer can read,
    so what ``kafka-consumer-groups --describe`` calls LOG-END-OFFSET)."""
    hw = {f"{t['name']}:{p['partition']}": p["high_watermark"] for t in topics for p in t["partitions"]}
    out = []
    for g in sorted(groups, key=lambda g: g["group"]):
        parts = []
        total = 0
        for key, committed in g["offsets"].items():
            end = hw.get(key)
            lag = None if end is None or committed < 0 else max(0, end - committed)
            total += lag or 0
            topic, _, partition = key.rpartition(":")
            parts.append({"topic": topic, "partition": int(partition), "committed": committed,
                          "log_end_offset": end, "lag": lag})
        out.append({**{k: v for k, v in g.items() if k != "offsets"}, "partitions": parts, "total_lag": total})
    return out


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


__all__ = ["ClusterView", "DECISION_PREFIXES", "local_groups"]
