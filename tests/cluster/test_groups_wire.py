"""The group APIs on the wire, request by request, against real broker processes (our own client speaking the
Kafka protocol), and ``kafka-zk consumer-groups`` against a group of a real confluent-kafka consumer.

Covers what clients meet beyond the happy path the real-client tests walk: creation of ``__consumer_offsets``
by FindCoordinator, NOT_COORDINATOR from the wrong broker (per version), the member/generation errors, the
ZooKeeper store of OffsetCommit/OffsetFetch v0 next to the Kafka store, and the admin APIs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_zk.admin.cli import main as cli
from kafka_zk.client.connection import KafkaConnection
from kafka_zk.common.errors import ErrorCode
from kafka_zk.coordinator import GROUP_METADATA_TOPIC_NAME, partition_for
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import (
    DeleteGroupsRequest,
    DescribeGroupsRequest,
    FindCoordinatorRequest,
    HeartbeatRequest,
    JoinGroupRequest,
    LeaveGroupRequest,
    ListGroupsRequest,
    MetadataRequest,
    OffsetCommitRequest,
    OffsetFetchRequest,
    SyncGroupRequest,
)
from tests.helpers import run_async, unique_name
from zk_layout.client import KafkaZkClient

pytestmark = pytest.mark.slow

E = ErrorCode


async def connect(hostport: str) -> KafkaConnection:
    host, port = hostport.rsplit(":", 1)
    return await KafkaConnection.open(host, int(port))


async def find(conn: KafkaConnection, group: str, version: int = 1, attempts: int = 100) -> Any:
    for _ in range(attempts):
        resp = await conn.request(ApiKey.FIND_COORDINATOR, FindCoordinatorRequest(key=group, key_type=0), version=version)
        if resp.error_code != E.COORDINATOR_NOT_AVAILABLE:
            return resp
        await asyncio.sleep(0.1)
    return resp


async def knows(conn: KafkaConnection, topic: str) -> None:
    """Wait until this broker's metadata cache has leaders for ``topic`` (UpdateMetadata reaches brokers one by one)."""
    body = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)], allow_auto_topic_creation=False)
    for _ in range(100):
        t = (await conn.request(ApiKey.METADATA, body)).topics[0]
        if t.error_code == 0 and t.partitions and all(p.leader_id >= 0 for p in t.partitions):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{conn.peer} never learned about {topic}")


def commit_body(group: str, offsets: dict[tuple[str, int], int], generation: int = -1, member: str = "", metadata: str = "") -> Any:
    topics: dict[str, list[Any]] = {}
    for (t, p), off in offsets.items():
        topics.setdefault(t, []).append(OffsetCommitRequest.OffsetCommitRequestPartition(partition_index=p, committed_offset=off,
                                                                                          committed_metadata=metadata))
    return OffsetCommitRequest(group_id=group, generation_id=generation, member_id=member, retention_time_ms=-1,
                               topics=[OffsetCommitRequest.OffsetCommitRequestTopic(name=t, partitions=ps) for t, ps in topics.items()])


def fetch_body(group: str, partitions: list[tuple[str, int]] | None) -> Any:
    if partitions is None:
        return OffsetFetchRequest(group_id=group, topics=None)
    topics: dict[str, list[int]] = {}
    for t, p in partitions:
        topics.setdefault(t, []).append(p)
    return OffsetFetchRequest(group_id=group, topics=[OffsetFetchRequest.OffsetFetchRequestTopic(name=t, partition_indexes=ps)
                                                      for t, ps in topics.items()])


def commit_errors(resp: Any) -> dict[tuple[str, int], int]:
    return {(t.name, p.partition_index): p.error_code for t in resp.topics for p in t.partitions}


def fetched(resp: Any) -> dict[tuple[str, int], tuple[int, str, int]]:
    return {(t.name, p.partition_index): (p.committed_offset, p.metadata, p.error_code) for t in resp.topics for p in t.partitions}


def create_topic(bootstrap: str, name: str, partitions: int, rf: int = 2) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, rf)])[name].result(30)


# ---------------------------------------------------------------------------------------------------------


def test_find_coordinator_creates_the_offsets_topic_and_names_its_leader(cluster_factory: Any) -> None:
    cluster = cluster_factory(2)  # offsets.topic.replication.factor is 3: capped to the 2 live brokers
    asyncio.run(_creates_the_offsets_topic(cluster))


async def _creates_the_offsets_topic(cluster: Any) -> None:
    group = "polygenelubricants"  # String.hashCode == Integer.MIN_VALUE: Kafka's Utils.abs maps it to partition 0
    brokers = {b.broker_id: b.bootstrap for b in cluster}
    conn = await connect(brokers[0])
    try:
        first = await find(conn, group, attempts=1)
        assert first.error_code == E.COORDINATOR_NOT_AVAILABLE and first.node_id == -1 and first.error_message
        zk = KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=10000).start()
        try:
            found_topic = zk.get_topic_assignment(GROUP_METADATA_TOPIC_NAME)
            assert found_topic is not None, "FindCoordinator did not create the offsets topic"
            assignment, _ = found_topic
            configs = zk.get_entity_config("topics", GROUP_METADATA_TOPIC_NAME)
        finally:
            zk.close()
        assert len(assignment.partitions) == 5 and {len(r) for r in assignment.partitions.values()} == {2}
        assert configs == {"cleanup.policy": "compact", "compression.type": "producer", "segment.bytes": "104857600"}

        found = await find(conn, group)
        assert found.error_code == E.NONE and found.error_message is None
        meta = await conn.request(ApiKey.METADATA, MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=GROUP_METADATA_TOPIC_NAME)],
                                                                     allow_auto_topic_creation=False))
        topic = meta.topics[0]
        assert topic.is_internal and partition_for(group, 5) == 0
        assert found.node_id == next(p.leader_id for p in topic.partitions if p.partition_index == 0)
        assert f"{found.host}:{found.port}" == brokers[found.node_id]
        v0 = await find(conn, group, version=0)
        assert (v0.error_code, v0.node_id, v0.port) == (0, found.node_id, found.port)

        other = await connect(brokers[1 - found.node_id])
        try:
            hb = await other.request(ApiKey.HEARTBEAT, HeartbeatRequest(group_id=group, generation_id=1, member_id="m"))
            assert hb.error_code == E.NOT_COORDINATOR
            tp = (GROUP_METADATA_TOPIC_NAME, 1)
            v3 = await other.request(ApiKey.OFFSET_FETCH, fetch_body(group, [tp]), version=3)
            assert v3.error_code == E.NOT_COORDINATOR and v3.topics == []
            v1 = await other.request(ApiKey.OFFSET_FETCH, fetch_body(group, [tp]), version=1)
            assert fetched(v1) == {tp: (-1, "", E.NOT_COORDINATOR)}
            commit = await other.request(ApiKey.OFFSET_COMMIT, commit_body(group, {tp: 1}), version=2)
            assert commit_errors(commit) == {tp: E.NOT_COORDINATOR}
        finally:
            await other.close()
    finally:
        await conn.close()


@run_async
async def test_one_member_walks_the_group_protocol_by_hand(shared_cluster: Any) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    topic, group = unique_name("hand"), unique_name("g-hand")
    create_topic(bootstrap, topic, 2)
    async with await connect(bootstrap.split(",")[0]) as any_broker:
        coord = await find(any_broker, group)
        assert coord.error_code == E.NONE
    conn = await connect(f"{coord.host}:{coord.port}")
    try:
        await knows(conn, topic)
        protocols = [JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=b"subscription")]

        def join(member: str, session: int = 6000, version: int = 2) -> Any:
            body = JoinGroupRequest(group_id=group, session_timeout_ms=session, rebalance_timeout_ms=10000, member_id=member,
                                    protocol_type="consumer", protocols=protocols)
            return conn.request(ApiKey.JOIN_GROUP, body, version=version)

        assert (await join("", session=1000)).error_code == E.INVALID_SESSION_TIMEOUT  # below group.min.session.timeout.ms
        joined = await join("", version=0)  # v0: the session timeout is the rebalance timeout too
        assert joined.error_code == E.NONE and joined.generation_id == 1 and joined.protocol_name == "range"
        me = joined.member_id
        assert me.startswith("kafka-zk-") and joined.leader == me
        assert [(m.member_id, m.metadata) for m in joined.members] == [(me, b"subscription")]

        assignment = b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        sync = await conn.request(ApiKey.SYNC_GROUP, SyncGroupRequest(group_id=group, generation_id=1, member_id=me, assignments=[
            SyncGroupRequest.SyncGroupRequestAssignment(member_id=me, assignment=assignment)]), version=0)
        assert (sync.error_code, sync.assignment) == (E.NONE, assignment)

        async def heartbeat(generation: int, member: str) -> int:
            hb = await conn.request(ApiKey.HEARTBEAT, HeartbeatRequest(group_id=group, generation_id=generation, member_id=member))
            return int(hb.error_code)

        assert await heartbeat(1, me) == E.NONE
        assert await heartbeat(2, me) == E.ILLEGAL_GENERATION
        assert await heartbeat(1, "someone-else") == E.UNKNOWN_MEMBER_ID

        tp0, tp1 = (topic, 0), (topic, 1)
        stale = await conn.request(ApiKey.OFFSET_COMMIT, commit_body(group, {tp0: 5}, generation=0, member=me), version=1)
        assert commit_errors(stale) == {tp0: E.ILLEGAL_GENERATION}
        ok = await conn.request(ApiKey.OFFSET_COMMIT, commit_body(group, {tp0: 5, tp1: 7, ("no-such-topic", 0): 1}, generation=1,
                                                                  member=me, metadata="why"), version=3)
        assert commit_errors(ok) == {tp0: E.NONE, tp1: E.NONE, ("no-such-topic", 0): E.UNKNOWN_TOPIC_OR_PARTITION}
        too_long = await conn.request(ApiKey.OFFSET_COMMIT, commit_body(group, {tp0: 6}, 1, me, metadata="x" * 4097))
        assert commit_errors(too_long) == {tp0: E.OFFSET_METADATA_TOO_LARGE}
        v1 = await conn.request(ApiKey.OFFSET_FETCH, fetch_body(group, [tp0, tp1, (topic, 9)]), version=1)
        assert fetched(v1) == {tp0: (5, "why", 0), tp1: (7, "why", 0), (topic, 9): (-1, "", 0)}
        everything = await conn.request(ApiKey.OFFSET_FETCH, fetch_body(group, None), version=3)
        assert everything.error_code == 0 and fetched(everything) == {tp0: (5, "why", 0), tp1: (7, "why", 0)}

        described = (await conn.request(ApiKey.DESCRIBE_GROUPS, DescribeGroupsRequest(groups=[group]))).groups[0]
        assert (described.error_code, described.group_state, described.protocol_type, described.protocol_data) == (0, "Stable", "consumer", "range")
        (member,) = described.members
        assert (member.member_id, member.client_id, member.client_host) == (me, "kafka-zk", "/127.0.0.1")
        assert (member.member_metadata, member.member_assignment) == (b"subscription", assignment)
        listed: set[str] = set()
        for b in shared_cluster:
            async with await connect(b.bootstrap) as c:
                lg = await c.request(ApiKey.LIST_GROUPS, ListGroupsRequest())
                assert lg.error_code == 0
                listed |= {g.group_id for g in lg.groups if g.protocol_type == "consumer"}
        assert group in listed

        delete = await conn.request(ApiKey.DELETE_GROUPS, DeleteGroupsRequest(groups_names=[group]))
        assert [(r.group_id, r.error_code) for r in delete.results] == [(group, E.NON_EMPTY_GROUP)]
        leave = await conn.request(ApiKey.LEAVE_GROUP, LeaveGroupRequest(group_id=group, member_id=me), version=0)
        assert leave.error_code == E.NONE
        assert await heartbeat(1, me) == E.UNKNOWN_MEMBER_ID
        empty = (await conn.request(ApiKey.DESCRIBE_GROUPS, DescribeGroupsRequest(groups=[group]))).groups[0]
        assert (empty.group_state, empty.members) == ("Empty", [])
        delete = await conn.request(ApiKey.DELETE_GROUPS, DeleteGroupsRequest(groups_names=[group, group]))
        assert [(r.group_id, r.error_code) for r in delete.results] == [(group, E.NONE)]
        assert fetched(await conn.request(ApiKey.OFFSET_FETCH, fetch_body(group, [tp0]), version=2)) == {tp0: (-1, "", 0)}
        gone = (await conn.request(ApiKey.DESCRIBE_GROUPS, DescribeGroupsRequest(groups=[group]))).groups[0]
        assert (gone.error_code, gone.group_state) == (0, "Dead")
        again = await conn.request(ApiKey.DELETE_GROUPS, DeleteGroupsRequest(groups_names=[group]))
        assert again.results[0].error_code == E.GROUP_ID_NOT_FOUND
    finally:
        await conn.close()


@run_async
async def test_v0_offsets_live_in_zookeeper_apart_from_the_kafka_store(shared_cluster: Any) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    topic, group = unique_name("classic"), unique_name("g-classic")
    create_topic(bootstrap, topic, 2)
    tp0, tp1, nowhere = (topic, 0), (topic, 1), ("no-such-topic", 0)
    async with await connect(bootstrap.split(",")[-1]) as conn:  # v0 needs no coordinator: any broker will do
        await knows(conn, topic)
        commit = await conn.request(ApiKey.OFFSET_COMMIT, commit_body(group, {tp0: 42, nowhere: 1}), version=0)
        assert commit_errors(commit) == {tp0: E.NONE, nowhere: E.UNKNOWN_TOPIC_OR_PARTITION}
        too_long = await conn.request(ApiKey.OFFSET_COMMIT, commit_body(group, {tp1: 1}, metadata="x" * 4097), version=0)
        assert commit_errors(too_long) == {tp1: E.OFFSET_METADATA_TOO_LARGE}
        v0 = await conn.request(ApiKey.OFFSET_FETCH, fetch_body(group, [tp0, tp1, nowhere]), version=0)
        # no znode reads as UNKNOWN_TOPIC_OR_PARTITION, as Kafka 0.8.1-2.x answer v0
        assert fetched(v0) == {tp0: (42, "", 0), tp1: (-1, "", E.UNKNOWN_TOPIC_OR_PARTITION), nowhere: (-1, "", E.UNKNOWN_TOPIC_OR_PARTITION)}
        coord = await find(conn, group)
    zk = KafkaZkClient(shared_cluster.zookeeper_connect, session_timeout_ms=10000).start()
    try:
        assert zk.get_consumer_offset(group, topic, 0) == 42  # /consumers/<group>/offsets/<topic>/0, as 0.8.1 wrote it
    finally:
        zk.close()
    async with await connect(f"{coord.host}:{coord.port}") as conn:
        kafka_store = await conn.request(ApiKey.OFFSET_FETCH, fetch_body(group, [tp0]), version=3)
        assert fetched(kafka_store) == {tp0: (-1, "", 0)}  # the two stores are separate, as in Kafka 2.x


def test_describe_shows_the_lag_of_a_paused_consumer_then_reset_and_delete(shared_cluster: Any, capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    topic, group = unique_name("lag"), unique_name("g-lag")
    create_topic(bootstrap, topic, 3)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})

    def produce(n: int) -> None:
        for i in range(n):
            producer.produce(topic, value=b"x", partition=i % 3)
        assert producer.flush(30) == 0

    def groups_cli(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        rc = cli(["consumer-groups", "--bootstrap-server", bootstrap, *args])
        return rc, capsys.readouterr().out

    def table(out: str) -> dict[int, list[str]]:
        return {int(cols[2]): cols for cols in (line.split() for line in out.splitlines()) if cols and cols[0] == group and cols[1] == topic}

    produce(30)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": "lagging", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000})
    try:
        consumer.subscribe([topic])
        seen = 0
        for _ in range(300):
            seen += len([m for m in consumer.consume(100, 0.1) if not m.error()])
            if seen >= 30:
                break
        assert seen == 30
        consumer.commit(asynchronous=False)
        produce(45)  # the consumer stays in the group (librdkafka heartbeats in the background) but reads nothing more
        rc, out = groups_cli("--describe", "--group", group)
        assert rc == 0
        rows = table(out)
        assert out.split("\n")[1].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                              "CONSUMER-ID", "HOST", "CLIENT-ID"]
        member = consumer.memberid()
        assert {p: cols[3:] for p, cols in rows.items()} == {p: ["10", "25", "15", member, "/127.0.0.1", "lagging"] for p in range(3)}
        rc, out = groups_cli("--reset-offsets", "--group", group, "--all-topics", "--to-earliest", "--execute")
        assert rc == 1  # refused: the group is active
        assert group in groups_cli("--list")[1].split()
    finally:
        consumer.close()

    rc, out = groups_cli("--reset-offsets", "--group", group, "--topic", f"{topic}:0,2", "--shift-by", "-4", "--execute")
    assert rc == 0 and {p: cols[3] for p, cols in table(out).items()} == {0: "6", 2: "6"}
    rc, out = groups_cli("--describe", "--group", group)
    assert {p: cols[3:6] for p, cols in table(out).items()} == {0: ["6", "25", "19"], 1: ["10", "25", "15"], 2: ["6", "25", "19"]}
    rc, out = groups_cli("--reset-offsets", "--group", group, "--all-topics", "--to-latest")  # a dry run changes nothing
    assert rc == 0 and {cols[3] for cols in table(out).values()} == {"25"}
    assert {cols[3] for cols in table(groups_cli("--describe", "--group", group)[1]).values()} == {"6", "10"}
    rc, out = groups_cli("--delete", "--group", group)
    assert rc == 0 and f"('{group}') was successful" in out
    assert group not in groups_cli("--list")[1].split()


@run_async
async def test_offsets_of_a_deleted_topic_are_dropped(shared_cluster: Any) -> None:
    bootstrap = shared_cluster.bootstrap_servers
    doomed, kept, group = unique_name("doomed"), unique_name("kept"), unique_name("g-doomed")
    create_topic(bootstrap, doomed, 1, rf=3)  # a replica on every broker, so on the coordinator too
    create_topic(bootstrap, kept, 1, rf=3)
    async with await connect(bootstrap.split(",")[0]) as any_broker:
        coord = await find(any_broker, group)
    async with await connect(f"{coord.host}:{coord.port}") as conn:
        await knows(conn, doomed)
        await knows(conn, kept)
        commit = await conn.request(ApiKey.OFFSET_COMMIT, commit_body(group, {(doomed, 0): 3, (kept, 0): 4}))
        assert set(commit_errors(commit).values()) == {E.NONE}
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.delete_topics([doomed])[doomed].result(30)
        for _ in range(100):
            left = fetched(await conn.request(ApiKey.OFFSET_FETCH, fetch_body(group, None)))
            if (doomed, 0) not in left:
                break
            await asyncio.sleep(0.1)
        assert left == {(kept, 0): (4, "", 0)}
