"""Consumer groups with the real clients (confluent-kafka, kafka-python, aiokafka) against real broker processes.

Every member is a real client in its own process (so that ``kill -9`` is a real crash), printing one JSON
line per event: its assignment whenever it changes, every record it receives, every manual commit. The test
process produces, watches the members' lines and kills or stops them. What is checked is what users rely on:

* the members of a group share the topic's partitions with no overlap and nothing left out;
* a member killed with SIGKILL loses its partitions to the others once its session times out;
* a new member and new partitions of the topic trigger rebalances that include them;
* a group restarted after a clean stop resumes from its committed offsets: restarted members use
  ``auto.offset.reset=latest``, so a lost commit would skip records, and every record produced while the
  group was down must still arrive (at-least-once: nothing skipped, duplicates allowed);
* killing the broker that coordinates the group moves the group to the new leader of its
  ``__consumer_offsets`` partition with the committed offsets intact, and the group settles (Stable, each
  member once) even when the move outlasts a client's session.

Clients run with ``session.timeout.ms=6000`` (the broker's minimum) and ``heartbeat.interval.ms=1000``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from kafka_zk.client.connection import KafkaConnection
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import DescribeGroupsRequest, FindCoordinatorRequest, OffsetFetchRequest
from tests.helpers import unique_name, wait_until

pytestmark = pytest.mark.slow

CLIENTS = ("confluent", "kafka-python", "aiokafka")
SESSION_TIMEOUT_MS = 6000

# One group member: argv[1] is a JSON config; prints JSON lines; SIGTERM = clean stop (close the consumer).
MEMBER = r'''
import json, signal, sys, time
cfg = json.loads(sys.argv[1])
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))

def out(**ev):
    sys.stdout.write(json.dumps(ev) + "\n")
    sys.stdout.flush()

def report(records, assignment, last):
    for t, p, o, v in records:
        out(ev="rec", t=t, p=p, o=o, v=v)
    a = sorted([t, p] for t, p in assignment)
    if a != last:
        out(ev="assigned", parts=a)
    return a

def confluent():
    from confluent_kafka import Consumer, KafkaException
    c = Consumer({"bootstrap.servers": cfg["bootstrap"], "group.id": cfg["group"], "client.id": cfg["client_id"],
                  "enable.auto.commit": cfg["auto_commit"], "auto.commit.interval.ms": 500,
                  "auto.offset.reset": cfg["reset"], "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                  "topic.metadata.refresh.interval.ms": 1000, "max.poll.interval.ms": 30000})
    c.subscribe(cfg["topics"])
    last = None
    while not stop:
        msgs = [m for m in c.consume(100, 0.2) if not m.error()]
        last = report([(m.topic(), m.partition(), m.offset(), m.value().decode()) for m in msgs],
                      [(tp.topic, tp.partition) for tp in c.assignment()], last)
        if msgs and not cfg["auto_commit"]:
            try:
                c.commit(asynchronous=False)
                out(ev="committed")
            except KafkaException as e:
                out(ev="commit_failed", error=str(e))
    c.close()

def kafka_python():
    from kafka import KafkaConsumer
    from kafka.coordinator.consumer import ConsumerCoordinator
    from kafka.errors import KafkaError
    # kafka-python 3.0.12's leader wedge (docs/consumer-groups.md, known client issues): a join it started
    # and has not finished must keep need_rejoin() true, or a poll() that times out mid-join never resumes it.
    need_rejoin = ConsumerCoordinator.need_rejoin
    ConsumerCoordinator.need_rejoin = lambda self: need_rejoin(self) or (
        self.rejoining and self._subscription.partitions_auto_assigned())
    c = KafkaConsumer(bootstrap_servers=cfg["bootstrap"].split(","), group_id=cfg["group"], client_id=cfg["client_id"],
                      enable_auto_commit=cfg["auto_commit"], auto_commit_interval_ms=500,
                      auto_offset_reset=cfg["reset"], session_timeout_ms=6000, heartbeat_interval_ms=1000,
                      metadata_max_age_ms=1000, max_poll_interval_ms=30000)
    c.subscribe(cfg["topics"])
    last = None
    while not stop:
        batch = c.poll(1000)  # long poll timeouts: see docs/consumer-groups.md, known client issues
        recs = [(m.topic, m.partition, m.offset, m.value.decode()) for ms in batch.values() for m in ms]
        last = report(recs, [(tp.topic, tp.partition) for tp in c.assignment()], last)
        if recs and not cfg["auto_commit"]:
            try:
                c.commit()
                out(ev="committed")
            except KafkaError as e:
                out(ev="commit_failed", error=repr(e))
    c.close()

def aiokafka():
    import asyncio
    from aiokafka import AIOKafkaConsumer
    from aiokafka.errors import KafkaError
    async def run():
        c = AIOKafkaConsumer(*cfg["topics"], bootstrap_servers=cfg["bootstrap"], group_id=cfg["group"],
                             client_id=cfg["client_id"], enable_auto_commit=cfg["auto_commit"],
                             auto_commit_interval_ms=500, auto_offset_reset=cfg["reset"], session_timeout_ms=6000,
                             heartbeat_interval_ms=1000, metadata_max_age_ms=1000, max_poll_interval_ms=30000)
        await c.start()
        last = None
        while not stop:
            batch = await c.getmany(timeout_ms=200)
            recs = [(m.topic, m.partition, m.offset, m.value.decode()) for ms in batch.values() for m in ms]
            last = report(recs, [(tp.topic, tp.partition) for tp in c.assignment()], last)
            if recs and not cfg["auto_commit"]:
                try:
                    await c.commit()
                    out(ev="committed")
                except KafkaError as e:
                    out(ev="commit_failed", error=repr(e))
        await c.stop()
    asyncio.run(run())

{"confluent": confluent, "kafka-python": kafka_python, "aiokafka": aiokafka}[cfg["client"]]()
out(ev="closed")
'''


class Member:
    """A group member in a subprocess; its JSON lines are collected by a reader thread."""

    def __init__(self, client: str, bootstrap: str, group: str, topics: list[str], name: str,
                 auto_commit: bool = True, reset: str = "earliest") -> None:
        self.client = client
        self.name = name
        cfg = {"client": client, "bootstrap": bootstrap, "group": group, "topics": topics, "client_id": name,
               "auto_commit": auto_commit, "reset": reset}
        self.proc = subprocess.Popen([sys.executable, "-c", MEMBER, json.dumps(cfg)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr or []), daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.events.append(ev)

    def _events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    def assignment(self) -> set[tuple[str, int]]:
        got = [e["parts"] for e in self._events() if e["ev"] == "assigned"]
        return {(t, p) for t, p in got[-1]} if got else set()

    def values(self) -> set[str]:
        return {e["v"] for e in self._events() if e["ev"] == "rec"}

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30) -> None:
        """Clean stop: the client closes (commits when auto-committing, leaves the group)."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout)
        assert self.proc.returncode == 0, f"{self.name} exited with {self.proc.returncode}: {''.join(self.stderr)[-2000:]}"

    def __repr__(self) -> str:
        return f"<{self.client} member {self.name}: assigned {sorted(self.assignment())}>"


@pytest.fixture
def members() -> Iterator[Callable[..., Member]]:
    """``start(client, bootstrap, group, topics, name, ...) -> Member``; every member still running is killed at the end."""
    started: list[Member] = []

    def start(*args: Any, **kwargs: Any) -> Member:
        m = Member(*args, **kwargs)
        started.append(m)
        return m

    yield start
    for m in started:
        if m.alive():
            m.proc.kill()
            m.proc.wait(10)


def create_topic(bootstrap: str, name: str, partitions: int, rf: int = 3) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, rf)])[name].result(30)


def add_partitions(bootstrap: str, topic: str, total: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive the future
    admin.create_partitions([NewPartitions(topic, total)])[topic].result(30)


def produce(bootstrap: str, topic: str, values: range, partitions: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in values:
        p.produce(topic, value=str(i).encode(), partition=i % partitions)
    assert p.flush(60) == 0, "records not delivered"


def wait_shared(group: list[Member], topic: str, partitions: int, timeout: float = 45) -> dict[str, set[tuple[str, int]]]:
    """Wait until ``group`` owns all partitions of ``topic``, each exactly once, every member some; return who has what."""
    everything = {(topic, p) for p in range(partitions)}

    def shared() -> dict[str, set[tuple[str, int]]]:
        owned = {m.name: m.assignment() for m in group}
        flat = [tp for parts in owned.values() for tp in parts]
        return owned if sorted(flat) == sorted(everything) and all(owned.values()) else {}

    return wait_until(shared, timeout=timeout, interval=0.1, message=lambda: f"{topic} not shared by {group}")


def wait_consumed(group: list[Member], values: range, timeout: float = 45) -> None:
    wanted = {str(i) for i in values}

    def missing() -> set[str]:
        seen: set[str] = set()
        for m in group:
            seen |= m.values()
        return wanted - seen

    wait_until(lambda: not missing(), timeout=timeout, interval=0.1,
               message=lambda: f"records never delivered (at-least-once broken?) e.g. {sorted(missing(), key=int)[:5]}")


@pytest.mark.parametrize("client", CLIENTS)
def test_group_shares_rebalances_and_resumes(shared_cluster: Any, members: Callable[..., Member], client: str) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    topic, group = unique_name("orders"), unique_name(f"g-{client}")
    create_topic(bootstrap, topic, 6)
    produce(bootstrap, topic, range(0, 60), 6)
    # auto-commit and manual commit side by side
    first = [members(client, bootstrap, group, [topic], f"{client}-{i}", auto_commit=(i != 1)) for i in range(3)]
    owned = wait_shared(first, topic, 6)
    assert all(len(parts) == 2 for parts in owned.values()), owned
    wait_consumed(first, range(0, 60))

    # a crashed member's partitions move to the others once its session has timed out
    crashed = first[1]
    crashed.kill()
    killed_at = time.monotonic()
    survivors = [first[0], first[2]]
    wait_shared(survivors, topic, 6)
    assert time.monotonic() - killed_at > (SESSION_TIMEOUT_MS - 2000) / 1000, "rebalanced before the session timeout"
    produce(bootstrap, topic, range(60, 120), 6)
    wait_consumed(survivors, range(60, 120))

    # a new member, then new partitions, each bring a rebalance that includes them
    newcomer = members(client, bootstrap, group, [topic], f"{client}-3", auto_commit=False)
    wait_shared([*survivors, newcomer], topic, 6)
    add_partitions(bootstrap, topic, 8)
    wait_shared([*survivors, newcomer], topic, 8)
    produce(bootstrap, topic, range(120, 180), 8)
    wait_consumed([*survivors, newcomer], range(120, 180))

    # stop cleanly, produce while nobody consumes, restart: the group resumes where it committed
    for m in [*survivors, newcomer]:
        m.stop()
    produce(bootstrap, topic, range(180, 240), 8)
    restarted = [members(client, bootstrap, group, [topic], f"{client}-r{i}", reset="latest") for i in range(2)]
    wait_shared(restarted, topic, 8)
    wait_consumed(restarted, range(180, 240))


def test_a_mixed_group_of_all_three_clients_shares_one_topic(shared_cluster: Any, members: Callable[..., Member]) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    topic, group = unique_name("mixed"), unique_name("g-mixed")
    create_topic(bootstrap, topic, 6)
    produce(bootstrap, topic, range(0, 30), 6)
    group_members = [members(client, bootstrap, group, [topic], f"mixed-{client}") for client in CLIENTS]
    owned = wait_shared(group_members, topic, 6)
    assert all(len(parts) == 2 for parts in owned.values()), owned
    wait_consumed(group_members, range(0, 30))
    described = asyncio.run(_describe(bootstrap, group))
    # aiokafka only offers roundrobin, so the vote lands there
    assert (described.group_state, described.protocol_type, described.protocol_data) == ("Stable", "consumer", "roundrobin")
    assert sorted(m.client_id for m in described.members) == sorted(f"mixed-{c}" for c in CLIENTS)
    assert {m.client_host for m in described.members} == {"/127.0.0.1"}
    for m in group_members:
        m.stop()


def test_killing_the_coordinator_moves_the_group_with_its_offsets(cluster_factory: Any, members: Callable[..., Member]) -> None:
    cluster = cluster_factory(3)
    bootstrap = cluster.bootstrap_servers
    topic, group = unique_name("moves"), unique_name("g-moves")
    create_topic(bootstrap, topic, 4)
    produce(bootstrap, topic, range(0, 40), 4)
    group_members = [members("confluent", bootstrap, group, [topic], "mover-0", auto_commit=False),
                     members("aiokafka", bootstrap, group, [topic], "mover-1", auto_commit=False)]
    wait_shared(group_members, topic, 4)
    wait_consumed(group_members, range(0, 40))
    coordinator = asyncio.run(_coordinator(bootstrap, group))
    committed = wait_until(lambda: _all_committed(bootstrap, group, {f"{topic}:{p}": 10 for p in range(4)}), timeout=30,
                           message="the manual commits never reached the coordinator")

    cluster.kill(coordinator, "KILL")
    others = ",".join(b.bootstrap for b in cluster if b.broker_id != coordinator)
    (moved,) = wait_until(lambda: _coordinator_or_none(others, group, exclude=coordinator), timeout=60,
                          message="no other broker became the group's coordinator")
    assert moved != coordinator
    assert asyncio.run(_committed(others, group)) == committed  # loaded from the replicated __consumer_offsets
    produce(others, topic, range(40, 80), 4)
    wait_consumed(group_members, range(40, 80), timeout=60)
    # When the move outlasts librdkafka's session timeout, it gives up its member id and joins afresh; its old
    # id stays in the group until the new coordinator expires it, so the group settles, one session later.
    wait_until(lambda: _settled(others, group, ["mover-0", "mover-1"]), timeout=SESSION_TIMEOUT_MS / 1000 * 3,
               message=lambda: f"the group did not settle: {asyncio.run(_describe(others, group))}")
    for m in group_members:
        m.stop()


# ---- wire-level look at the group (our own client) -------------------------------------------------------


async def _open(bootstrap: str) -> KafkaConnection:
    last: Exception | None = None
    for hp in bootstrap.split(","):
        host, port = hp.rsplit(":", 1)
        try:
            return await KafkaConnection.open(host, int(port))
        except Exception as e:  # a killed broker in the list
            last = e
    raise AssertionError(f"no broker reachable in {bootstrap}: {last}")


async def _find(bootstrap: str, group: str) -> Any:
    async with await _open(bootstrap) as conn:
        return await conn.request(ApiKey.FIND_COORDINATOR, FindCoordinatorRequest(key=group, key_type=0))


async def _coordinator(bootstrap: str, group: str) -> int:
    for _ in range(100):
        resp = await _find(bootstrap, group)
        if resp.error_code == 0:
            return int(resp.node_id)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no coordinator for {group}")


def _coordinator_or_none(bootstrap: str, group: str, exclude: int) -> tuple[int, ...]:
    """``(node_id,)`` once a broker other than ``exclude`` coordinates ``group`` and has loaded it, else ``()``."""

    async def probe() -> tuple[int, ...]:
        resp = await _find(bootstrap, group)
        if resp.error_code != 0 or resp.node_id == exclude:
            return ()
        async with await KafkaConnection.open(resp.host, resp.port) as conn:
            d = await conn.request(ApiKey.DESCRIBE_GROUPS, DescribeGroupsRequest(groups=[group]))
        return (int(resp.node_id),) if d.groups[0].error_code == 0 else ()  # loaded, not just elected

    return asyncio.run(probe())


async def _on_coordinator(bootstrap: str, group: str, api: ApiKey, body: Any) -> Any:
    resp = await _find(bootstrap, group)
    assert resp.error_code == 0, resp
    async with await KafkaConnection.open(resp.host, resp.port) as conn:
        return await conn.request(api, body)


async def _describe(bootstrap: str, group: str) -> Any:
    return (await _on_coordinator(bootstrap, group, ApiKey.DESCRIBE_GROUPS, DescribeGroupsRequest(groups=[group]))).groups[0]


async def _committed(bootstrap: str, group: str) -> dict[str, int]:
    resp = await _on_coordinator(bootstrap, group, ApiKey.OFFSET_FETCH, OffsetFetchRequest(group_id=group, topics=None))
    assert resp.error_code == 0, resp
    return {f"{t.name}:{p.partition_index}": p.committed_offset for t in resp.topics for p in t.partitions}


def _settled(bootstrap: str, group: str, client_ids: list[str]) -> bool:
    """The group is Stable with one member for each of ``client_ids``."""
    described = asyncio.run(_describe(bootstrap, group))
    return described.group_state == "Stable" and sorted(m.client_id for m in described.members) == sorted(client_ids)


def _all_committed(bootstrap: str, group: str, wanted: dict[str, int]) -> dict[str, int]:
    got = asyncio.run(_committed(bootstrap, group))
    return got if got == wanted else {}

