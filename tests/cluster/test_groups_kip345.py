"""Kafka 2.3–2.8 group features against real broker processes: static membership (KIP-345), the cooperative
rebalance protocol (KIP-429), MEMBER_ID_REQUIRED (KIP-394), batch LeaveGroup, OffsetDelete (KIP-496) and
the admin views (ListGroups v4 states filter, DescribeGroups v5) — with real clients where a client uses
them (confluent-kafka / librdkafka, its AdminClient), on the wire request by request where only admin tools
send them.

What a user relies on:

* a static member (``group.instance.id``) restarted within its session timeout gets its old partitions back
  and the other members never see a rebalance (no revocation);
* a second process with the same instance id fences the first (FENCED_INSTANCE_ID, fatal in librdkafka);
* ``partition.assignment.strategy=cooperative-sticky`` consumers rebalance incrementally: a joining member
  takes partitions without the first one giving up those it keeps, and no record is lost;
* ``kafka-zk consumer-groups --delete-offsets`` removes offsets of topics the group no longer reads and
  refuses those it still reads.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_zk.admin.cli import main as cli
from kafka_zk.client.connection import KafkaConnection
from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import (
    DescribeGroupsRequest,
    FindCoordinatorRequest,
    HeartbeatRequest,
    JoinGroupRequest,
    LeaveGroupRequest,
    ListGroupsRequest,
    OffsetCommitRequest,
    OffsetDeleteRequest,
    OffsetFetchRequest,
    SyncGroupRequest,
)
from tests.helpers import run_async, unique_name, wait_until

pytestmark = pytest.mark.slow

E = ErrorCode


def create_topic(bootstrap: str, name: str, partitions: int, rf: int = 2) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, rf)])[name].result(30)


def produce(bootstrap: str, topic: str, values: range, partitions: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in values:
        p.produce(topic, value=str(i).encode(), partition=i % partitions)
    assert p.flush(60) == 0


class Polled:
    """A confluent consumer polled on its own thread (librdkafka needs poll() to run rebalance callbacks)."""

    def __init__(self, conf: dict[str, Any], topic: str) -> None:
        self.assigned: list[list[tuple[str, int]]] = []
        self.revoked: list[list[tuple[str, int]]] = []
        self.values: set[str] = set()
        self.errors: list[KafkaError] = []
        self._assignment: set[tuple[str, int]] = set()
        self.member_id: str | None = None
        self._stop = threading.Event()
        self.consumer = Consumer(conf)
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _on_assign(self, c: Any, parts: list[Any]) -> None:
        self.assigned.append(sorted((p.topic, p.partition) for p in parts))

    def _on_revoke(self, c: Any, parts: list[Any]) -> None:
        self.revoked.append(sorted((p.topic, p.partition) for p in parts))

    def _run(self) -> None:
        # Only this thread touches the consumer: librdkafka calls from a second thread can deadlock with a
        # rebalance callback running here.
        while not self._stop.is_set():
            for m in self.consumer.consume(100, 0.1):
                if m.error():
                    self.errors.append(m.error())
                else:
                    self.values.add(m.value().decode())
            self._assignment = {(p.topic, p.partition) for p in self.consumer.assignment()}
            self.member_id = self.consumer.memberid()

    def assignment(self) -> set[tuple[str, int]]:
        return set(self._assignment)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.consumer.close()


def base_conf(bootstrap: str, group: str, **extra: Any) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "heartbeat.interval.ms": 1000, "topic.metadata.refresh.interval.ms": 1000, **extra}


def test_a_restarted_static_member_gets_its_partitions_back_without_a_rebalance(shared_cluster: Any) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    topic, group = unique_name("static"), unique_name("g-static")
    create_topic(bootstrap, topic, 4)
    produce(bootstrap, topic, range(40), 4)
    conf = base_conf(bootstrap, group, **{"session.timeout.ms": 30000})
    a = Polled({**conf, "group.instance.id": "pod-a", "client.id": "pod-a"}, topic)
    b = Polled({**conf, "group.instance.id": "pod-b", "client.id": "pod-b"}, topic)
    extra: list[Polled] = []
    try:
        everything = {(topic, p) for p in range(4)}
        wait_until(lambda: a.assignment() and b.assignment() and a.assignment() | b.assignment() == everything
                   and not a.assignment() & b.assignment(), timeout=60, interval=0.1, message="never shared")
        wait_until(lambda: len(a.values | b.values) == 40, timeout=30, interval=0.1)
        a_parts, b_parts = a.assignment(), b.assignment()
        a_events = (len(a.assigned), len(a.revoked))
        old_b = b.member_id
        b.close()  # a static member sends no LeaveGroup: the coordinator keeps its place for the session timeout

        b2 = Polled({**conf, "group.instance.id": "pod-b", "client.id": "pod-b"}, topic)
        extra.append(b2)
        wait_until(lambda: b2.assignment() == b_parts, timeout=30, interval=0.1, message="pod-b did not get its partitions back")
        produce(bootstrap, topic, range(40, 80), 4)
        wait_until(lambda: {str(i) for i in range(40, 80)} <= a.values | b2.values, timeout=30, interval=0.1)
        assert a.assignment() == a_parts and (len(a.assigned), len(a.revoked)) == a_events, "pod-a saw a rebalance"

        admin = AdminClient({"bootstrap.servers": bootstrap})
        desc = admin.describe_consumer_groups([group])[group].result(30)
        assert desc.state == ConsumerGroupState.STABLE
        members = {m.group_instance_id: m.member_id for m in desc.members}
        assert set(members) == {"pod-a", "pod-b"} and members["pod-b"] != old_b and members["pod-b"].startswith("pod-b-")

        # A second process with the same instance id takes over; the running one is fenced (fatal).
        b3 = Polled({**conf, "group.instance.id": "pod-b", "client.id": "pod-b-dup"}, topic)
        extra.append(b3)
        wait_until(lambda: any(e.code() in (KafkaError._FATAL, KafkaError.FENCED_INSTANCE_ID) for e in b2.errors),
                   timeout=30, interval=0.1, message=f"the replaced instance was not fenced: {b2.errors}")
    finally:
        for c in [a, *extra]:
            c.close()


def test_cooperative_sticky_rebalances_incrementally_through_a_join_and_a_leave(shared_cluster: Any) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    topic, group = unique_name("coop"), unique_name("g-coop")
    create_topic(bootstrap, topic, 4)
    produce(bootstrap, topic, range(40), 4)
    conf = base_conf(bootstrap, group, **{"session.timeout.ms": 6000, "partition.assignment.strategy": "cooperative-sticky"})
    everything = {(topic, p) for p in range(4)}
    first = Polled({**conf, "client.id": "coop-1"}, topic)
    second: Polled | None = None
    try:
        wait_until(lambda: first.assignment() == everything, timeout=60, interval=0.1)
        wait_until(lambda: len(first.values) == 40, timeout=30, interval=0.1)
        assert first.revoked == []
        second = Polled({**conf, "client.id": "coop-2"}, topic)
        s = second
        wait_until(lambda: s.assignment() and first.assignment() | s.assignment() == everything
                   and not first.assignment() & s.assignment(), timeout=60, interval=0.1, message="never shared")
        # Incremental: the first member gave up only what moved, never everything.
        assert first.revoked and all(len(r) < 4 for r in first.revoked), first.revoked
        assert set().union(*map(set, first.revoked)) == s.assignment()
        produce(bootstrap, topic, range(40, 80), 4)
        wait_until(lambda: {str(i) for i in range(80)} <= first.values | s.values, timeout=30, interval=0.1)
        s.close()  # a clean leave: the first member takes everything back, again without revoking its own
        second = None
        wait_until(lambda: first.assignment() == everything, timeout=30, interval=0.1)
        assert all(len(r) < 4 for r in first.revoked)
    finally:
        first.close()
        if second is not None:
            second.close()


def test_admin_client_lists_by_state_describes_and_deletes_groups(shared_cluster: Any) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    topic, active, idle = unique_name("adm"), unique_name("g-active"), unique_name("g-idle")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, range(10), 2)
    idle_consumer = Consumer(base_conf(bootstrap, idle, **{"enable.auto.commit": False}))
    idle_consumer.subscribe([topic])
    got = 0
    for _ in range(300):
        got += len([m for m in idle_consumer.consume(100, 0.1) if not m.error()])
        if got >= 10:
            break
    idle_consumer.commit(asynchronous=False)
    idle_consumer.close()
    member = Polled({**base_conf(bootstrap, active), "group.instance.id": "adm-1", "client.id": "adm-1"}, topic)
    try:
        wait_until(lambda: len(member.assignment()) == 2, timeout=60, interval=0.1)
        admin = AdminClient({"bootstrap.servers": bootstrap})

        def listed(states: set[Any]) -> set[str]:
            return {g.group_id for g in admin.list_consumer_groups(states=states).result(30).valid}

        assert active in listed({ConsumerGroupState.STABLE}) and idle not in listed({ConsumerGroupState.STABLE})
        assert idle in listed({ConsumerGroupState.EMPTY}) and active not in listed({ConsumerGroupState.EMPTY})
        assert {active, idle} <= listed(set())
        d = admin.describe_consumer_groups([active])[active].result(30)
        assert (d.state, d.partition_assignor, [m.group_instance_id for m in d.members]) == (ConsumerGroupState.STABLE, "range", ["adm-1"])
        assert sorted(tp.partition for tp in d.members[0].assignment.topic_partitions) == [0, 1]
        assert admin.delete_consumer_groups([idle])[idle].result(30) is None
        with pytest.raises(Exception, match="NON_EMPTY_GROUP|not empty"):
            admin.delete_consumer_groups([active])[active].result(30)
        assert idle not in listed(set())
    finally:
        member.close()


# ------------------------------------------------------------------------------------------------ wire


async def coordinator_conn(bootstrap: str, group: str) -> KafkaConnection:
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    async with await KafkaConnection.open(host, int(port)) as any_broker:
        for _ in range(100):
            resp = await any_broker.request(ApiKey.FIND_COORDINATOR, FindCoordinatorRequest(key=group, key_type=0), version=3)
            if resp.error_code == E.NONE:
                break
            await asyncio.sleep(0.1)
    assert resp.error_code == E.NONE, resp
    return await KafkaConnection.open(resp.host, resp.port)


def subscription(topic: str) -> bytes:
    t = topic.encode()
    return b"\x00\x00" + b"\x00\x00\x00\x01" + len(t).to_bytes(2, "big") + t + b"\xff\xff\xff\xff"


@run_async
async def test_the_kafka_2_8_group_versions_on_the_wire(shared_cluster: Any) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    topic, old_topic, group = unique_name("wire28"), unique_name("wire28-old"), unique_name("g-wire28")
    create_topic(bootstrap, topic, 1)
    create_topic(bootstrap, old_topic, 1)
    conn = await coordinator_conn(bootstrap, group)
    other = await coordinator_conn(bootstrap, group)  # a connection answers in order: one per waiting member
    try:
        protocols = [JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=subscription(topic))]

        def join(member: str, instance: str | None, version: int, via: KafkaConnection = conn) -> Any:
            return via.request(ApiKey.JOIN_GROUP, JoinGroupRequest(
                group_id=group, session_timeout_ms=6000, rebalance_timeout_ms=10000, member_id=member, group_instance_id=instance,
                protocol_type="consumer", protocols=protocols), version=version)

        required = await join("", None, 7)  # v4+: a new dynamic member first only gets its id
        assert (required.error_code, required.protocol_type, required.protocol_name) == (E.MEMBER_ID_REQUIRED, None, None)
        assert required.member_id.startswith("kafka-zk-")
        dynamic = required.member_id
        # The dynamic member rejoins with its id while a static one joins: one generation with both.
        joined = await asyncio.gather(join(dynamic, None, 6), join("", "static-1", 7, via=other))
        assert [r.error_code for r in joined] == [E.NONE, E.NONE]
        assert joined[1].protocol_type == "consumer" and joined[1].member_id.startswith("static-1-")
        static = joined[1].member_id
        leader = next(r for r in joined if r.member_id == r.leader)
        assert {(m.member_id, m.group_instance_id) for m in leader.members} == {(dynamic, None), (static, "static-1")}
        generation = joined[0].generation_id
        empty = b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        plan = [SyncGroupRequest.SyncGroupRequestAssignment(member_id=m, assignment=empty) for m in (dynamic, static)]

        def sync(member: str, instance: str | None, assignments: list[Any], via: KafkaConnection = conn, **kw: Any) -> Any:
            return via.request(ApiKey.SYNC_GROUP, SyncGroupRequest(
                group_id=group, generation_id=generation, member_id=member, group_instance_id=instance, assignments=assignments, **kw),
                version=5)

        assert (await sync(static, "static-1", [])).error_code == E.INCONSISTENT_GROUP_PROTOCOL  # v5 must name them
        synced = await asyncio.gather(
            sync(leader.member_id, "static-1" if leader.member_id == static else None, plan, protocol_type="consumer", protocol_name="range"),
            sync(next(m for m in (dynamic, static) if m != leader.member_id),
                 None if leader.member_id == static else "static-1", [], via=other, protocol_type="consumer", protocol_name="range"))
        assert [(s.error_code, s.protocol_type, s.protocol_name, s.assignment) for s in synced] == [(E.NONE, "consumer", "range", empty)] * 2

        hb = await conn.request(ApiKey.HEARTBEAT, HeartbeatRequest(group_id=group, generation_id=generation, member_id="someone",
                                                                   group_instance_id="static-1"), version=4)
        assert hb.error_code == E.FENCED_INSTANCE_ID
        ok = await conn.request(ApiKey.HEARTBEAT, HeartbeatRequest(group_id=group, generation_id=generation, member_id=static,
                                                                   group_instance_id="static-1"), version=4)
        assert ok.error_code == E.NONE

        commit = OffsetCommitRequest(group_id=group, generation_id=generation, member_id=static, group_instance_id="static-1", topics=[
            OffsetCommitRequest.OffsetCommitRequestTopic(name=t, partitions=[OffsetCommitRequest.OffsetCommitRequestPartition(
                partition_index=0, committed_offset=off, committed_leader_epoch=epoch, committed_metadata="m")])
            for t, off, epoch in ((topic, 12, 4), (old_topic, 3, 0))])
        committed = await conn.request(ApiKey.OFFSET_COMMIT, commit, version=8)
        assert [p.error_code for t in committed.topics for p in t.partitions] == [E.NONE, E.NONE]
        fetch = await conn.request(ApiKey.OFFSET_FETCH, OffsetFetchRequest(group_id=group, topics=None, require_stable=True), version=7)
        assert fetch.error_code == E.NONE
        assert {(t.name, p.committed_offset, p.committed_leader_epoch, p.metadata) for t in fetch.topics for p in t.partitions} == {
            (topic, 12, 4, "m"), (old_topic, 3, 0, "m")}

        described = (await conn.request(ApiKey.DESCRIBE_GROUPS, DescribeGroupsRequest(groups=[group], include_authorized_operations=True),
                                        version=5)).groups[0]
        assert described.group_state == "Stable"
        assert {(m.member_id, m.group_instance_id) for m in described.members} == {(dynamic, None), (static, "static-1")}
        stable = await conn.request(ApiKey.LIST_GROUPS, ListGroupsRequest(states_filter=["stable"]), version=4)
        assert (group, "Stable") in {(g.group_id, g.group_state) for g in stable.groups}
        nothing = await conn.request(ApiKey.LIST_GROUPS, ListGroupsRequest(states_filter=["Empty"]), version=4)
        assert group not in {g.group_id for g in nothing.groups}

        # OffsetDelete: the group reads `topic`, not `old_topic`.
        delete = await conn.request(ApiKey.OFFSET_DELETE, OffsetDeleteRequest(group_id=group, topics=[
            OffsetDeleteRequest.OffsetDeleteRequestTopic(name=t, partitions=[OffsetDeleteRequest.OffsetDeleteRequestPartition(partition_index=0)])
            for t in (topic, old_topic, "no-such-topic")]))
        assert delete.error_code == E.NONE
        assert [(t.name, p.error_code) for t in delete.topics for p in t.partitions] == [
            (topic, E.GROUP_SUBSCRIBED_TO_TOPIC), (old_topic, E.NONE), ("no-such-topic", E.UNKNOWN_TOPIC_OR_PARTITION)]
        unknown = await conn.request(ApiKey.OFFSET_DELETE, OffsetDeleteRequest(group_id=unique_name("g-none"), topics=[]))
        assert unknown.error_code in (E.GROUP_ID_NOT_FOUND, E.NOT_COORDINATOR)

        # LeaveGroup v3/v4: an admin removes the static member by instance id, a bogus one is reported per member.
        leave = await conn.request(ApiKey.LEAVE_GROUP, LeaveGroupRequest(group_id=group, members=[
            LeaveGroupRequest.MemberIdentity(member_id="", group_instance_id="static-1"),
            LeaveGroupRequest.MemberIdentity(member_id="", group_instance_id="static-nope")]), version=4)
        assert leave.error_code == E.NONE
        assert [(m.group_instance_id, m.error_code) for m in leave.members] == [("static-1", E.NONE), ("static-nope", E.UNKNOWN_MEMBER_ID)]
        leave = await conn.request(ApiKey.LEAVE_GROUP, LeaveGroupRequest(group_id=group, members=[
            LeaveGroupRequest.MemberIdentity(member_id=dynamic)]), version=3)
        assert [(m.member_id, m.error_code) for m in leave.members] == [(dynamic, E.NONE)]
        for _ in range(100):
            d = (await conn.request(ApiKey.DESCRIBE_GROUPS, DescribeGroupsRequest(groups=[group]), version=4)).groups[0]
            if d.group_state == "Empty":
                break
            await asyncio.sleep(0.1)
        assert (d.group_state, d.members) == ("Empty", [])
    finally:
        await conn.close()
        await other.close()


def test_cli_delete_offsets(shared_cluster: Any, capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    reading, stopped, group = unique_name("reading"), unique_name("stopped"), unique_name("g-deloff")
    create_topic(bootstrap, reading, 2)
    create_topic(bootstrap, stopped, 2)
    produce(bootstrap, stopped, range(10), 2)
    produce(bootstrap, reading, range(10), 2)

    old = Consumer(base_conf(bootstrap, group, **{"enable.auto.commit": False}))
    old.subscribe([stopped])
    got = 0
    for _ in range(300):
        got += len([m for m in old.consume(100, 0.1) if not m.error()])
        if got >= 10:
            break
    old.commit(asynchronous=False)
    old.close()
    member = Polled({**base_conf(bootstrap, group), "client.id": "reader"}, reading)

    def groups_cli(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        rc = cli(["consumer-groups", "--bootstrap-server", bootstrap, *args])
        return rc, capsys.readouterr().out

    try:
        wait_until(lambda: len(member.assignment()) == 2, timeout=60, interval=0.1)
        rc, out = groups_cli("--delete-offsets", "--group", group, "--topic", reading, "--topic", f"{stopped}:0")
        assert rc == 1
        lines = [line.strip().split(None, 2) for line in out.splitlines() if line.strip()]
        assert lines[0] == ["Error:", "Encounter", "some partition level error, see the follow-up details:"]
        assert lines[1] == ["TOPIC", "PARTITION", "STATUS"]
        rows = {(r[0], r[1]): r[2].strip() for r in lines[2:]}
        assert rows == {(reading, "0"): "Error: The consumer group is actively subscribed to the topic.",
                        (reading, "1"): "Error: The consumer group is actively subscribed to the topic.",
                        (stopped, "0"): "Successful"}
        rc, out = groups_cli("--delete-offsets", "--group", group, "--topic", stopped)
        assert rc == 0 and out.splitlines()[0] == f"Request succeed for deleting offsets with topic {stopped} group {group}"
        rc, out = groups_cli("--delete-offsets", "--group", unique_name("g-none"), "--topic", stopped)
        assert rc == 1 and "does not exist." in out
        rc, out = groups_cli("--describe", "--group", group)
        assert stopped not in out
    finally:
        member.close()


@pytest.mark.parametrize("argv, message", [
    (["--delete-offsets", "--group", "g"], "--delete-offsets needs at least one --topic"),
    (["--delete-offsets", "--group", "g", "--group", "h", "--topic", "t"], "give one --group"),
    (["--delete-offsets", "--group", "g", "--topic", "t:x"], "partitions must be integers"),
])
def test_delete_offsets_bad_arguments_are_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["consumer-groups", "--bootstrap-server", "127.0.0.1:1", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
