"""Metadata 0-11, ApiVersions 0-3, DescribeCluster 0 and DescribeLogDirs 0-2 on the wire, version by version,
against real broker processes (our own client speaking the Kafka protocol at each version).

What a user relies on: every version Kafka 2.8 has is answered in that version's layout with the same facts
(brokers, controller, cluster id, leaders), the topic id of the topic znode (Kafka 2.8's znode v3: a topic
created without one gets one from the controller, as Kafka 2.8's does), the zero UUID before v10, and log-dir
sizes that grow with what was produced.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from kafka_zk.client.connection import KafkaConnection
from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.apis import ApiKey, encode_request_frame
from kafka_zk.protocol.headers import RequestHeader
from kafka_zk.protocol.messages.api_versions import API_VERSIONS_RESPONSE as ApiVersionsResponse
from kafka_zk.protocol.messages import (
    ApiVersionsRequest,
    DescribeClusterRequest,
    DescribeLogDirsRequest,
    MetadataRequest,
)
from kafka_zk.protocol.schema import ZERO_UUID
from kafka_zk.server.metadata_cache import format_topic_id, parse_topic_id
from tests.helpers import unique_name
from zk_layout.client import KafkaZkClient

pytestmark = pytest.mark.slow

E = ErrorCode
MT = MetadataRequest.MetadataRequestTopic


async def connect(hostport: str) -> KafkaConnection:
    host, port = hostport.rsplit(":", 1)
    return await KafkaConnection.open(host, int(port))


def metadata_body(version: int, topics: list[str] | None) -> Any:
    wanted = None if topics is None else [MT(name=t) for t in topics]
    return MetadataRequest(topics=wanted, allow_auto_topic_creation=False)


async def wait_for_topic(conn: KafkaConnection, topic: str, partitions: int) -> Any:
    for _ in range(150):
        resp = await conn.request(ApiKey.METADATA, metadata_body(11, [topic]), version=11)
        t = resp.topics[0]
        if (
            t.error_code == 0
            and len(t.partitions) == partitions
            and all(p.leader_id >= 0 for p in t.partitions)
        ):
            return t
        await asyncio.sleep(0.1)
    raise AssertionError(f"{topic} never got leaders on {conn.peer}")


def znode_topic_id(cluster: Any, topic: str) -> uuid.UUID:
    """The id in the topic znode, once the controller has written one."""
    with KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=15000).start() as zk:
        for _ in range(100):
            found = zk.get_topic_assignment(topic)
            if found is not None and found[0].topic_id:
                return parse_topic_id(found[0].topic_id)
            time.sleep(0.1)
    raise AssertionError(f"the controller never gave {topic} a topic id")


def create_topic_in_zk(cluster: Any, topic: str, partitions: int, topic_id: str | None) -> None:
    with KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=15000).start() as zk:
        ids = sorted(cluster.state.brokers)
        zk.create_topic_assignment(
            topic,
            {p: [ids[p % len(ids)], ids[(p + 1) % len(ids)]] for p in range(partitions)},
            topic_id=topic_id,
        )


def test_metadata_every_version_in_its_layout(shared_cluster: Any) -> None:
    asyncio.run(_metadata_versions(shared_cluster))


async def _metadata_versions(cluster: Any) -> None:
    plain = unique_name("meta")
    with_id = unique_name("meta-id")
    kafka_id = uuid.uuid4()
    create_topic_in_zk(cluster, plain, 2, None)
    create_topic_in_zk(cluster, with_id, 1, format_topic_id(kafka_id))
    first = cluster.state.brokers[min(cluster.state.brokers)]
    conn = await connect(first.bootstrap)
    try:
        await wait_for_topic(conn, plain, 2)
        await wait_for_topic(conn, with_id, 1)
        assigned_id = znode_topic_id(cluster, plain)
        assert znode_topic_id(cluster, with_id) == kafka_id, "a topic id given at creation is kept"
        for v in range(0, 12):
            resp = await conn.request(ApiKey.METADATA, metadata_body(v, [plain, with_id]), version=v)
            assert sorted(b.node_id for b in resp.brokers) == sorted(cluster.state.brokers), v
            assert [t.name for t in resp.topics] == [plain, with_id], v
            assert all(t.error_code == 0 for t in resp.topics), v
            parts = resp.topics[0].partitions
            assert [p.partition_index for p in parts] == [0, 1] and all(
                p.leader_id in p.isr_nodes for p in parts
            )
            if v >= 1:
                assert resp.controller_id in cluster.state.brokers, v
            if v >= 2:
                assert resp.cluster_id, v
            if v >= 7:
                assert all(p.leader_epoch >= 0 for p in parts), v
            else:
                assert all(p.leader_epoch == -1 for p in parts), v  # not on the wire: the decoder's default
            if v >= 10:
                assert resp.topics[0].topic_id == assigned_id, "the id the controller gave the topic"
                assert resp.topics[1].topic_id == kafka_id, "the id in the topic znode (v3)"
            else:
                assert resp.topics[1].topic_id == ZERO_UUID  # not on the wire before v10
        # "all topics": v0 empty list, v1+ null; v1+ empty list means none
        for v in (0, 4, 9, 11):
            body = MetadataRequest(topics=[] if v == 0 else None)
            names = {t.name for t in (await conn.request(ApiKey.METADATA, body, version=v)).topics}
            assert {plain, with_id} <= names, v
        assert (await conn.request(ApiKey.METADATA, MetadataRequest(topics=[]), version=1)).topics == []
        # v4+: allow_auto_topic_creation=false leaves an unknown topic unknown
        ghost = unique_name("ghost")
        resp = await conn.request(ApiKey.METADATA, metadata_body(4, [ghost]), version=4)
        assert resp.topics[0].error_code == E.UNKNOWN_TOPIC_OR_PARTITION
        # Kafka 2.8 does not look topics up by id: INVALID_REQUEST, the connection stays usable
        by_id = MetadataRequest(topics=[MT(name=None, topic_id=kafka_id)], allow_auto_topic_creation=False)
        resp = await conn.request(ApiKey.METADATA, by_id, version=10)
        assert [(t.error_code, t.name, t.topic_id) for t in resp.topics] == [
            (E.INVALID_REQUEST, "", kafka_id)
        ]
        resp = await conn.request(ApiKey.METADATA, metadata_body(11, [plain]), version=11)
        assert resp.topics[0].error_code == 0
    finally:
        await conn.close()


def test_describe_cluster_agrees_with_metadata(shared_cluster: Any) -> None:
    asyncio.run(_describe_cluster(shared_cluster))


async def _describe_cluster(cluster: Any) -> None:
    for broker in cluster.state.brokers.values():
        conn = await connect(broker.bootstrap)
        try:
            meta = await conn.request(ApiKey.METADATA, MetadataRequest(topics=[]), version=11)
            resp = await conn.request(ApiKey.DESCRIBE_CLUSTER, DescribeClusterRequest(), version=0)
        finally:
            await conn.close()
        assert resp.error_code == 0 and resp.error_message is None
        assert resp.cluster_id == meta.cluster_id and resp.controller_id == meta.controller_id >= 0
        assert sorted((b.broker_id, b.host, b.port) for b in resp.brokers) == sorted(
            (b.node_id, b.host, b.port) for b in meta.brokers
        )
        assert {b.broker_id: b.port for b in resp.brokers} == {
            i: b.port for i, b in cluster.state.brokers.items()
        }


def test_describe_log_dirs_reports_real_dirs_and_sizes(shared_cluster: Any) -> None:
    asyncio.run(_describe_log_dirs(shared_cluster))


async def _describe_log_dirs(cluster: Any) -> None:
    from confluent_kafka import Producer

    topic = unique_name("dirs")
    create_topic_in_zk(cluster, topic, 2, None)
    bootstrap = cluster.bootstrap_servers
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(200):
        producer.produce(topic, value=b"x" * 100, partition=i % 2)
    assert producer.flush(30) == 0
    total: dict[int, int] = {}
    for _bid, broker in sorted(cluster.state.brokers.items()):
        conn = await connect(broker.bootstrap)
        try:
            for v in range(0, 3):
                everything = await conn.request(
                    ApiKey.DESCRIBE_LOG_DIRS, DescribeLogDirsRequest(topics=None), version=v
                )
                assert [r.log_dir for r in everything.results] == [str(Path(broker.data_dir).resolve())], v
                assert all(r.error_code == 0 for r in everything.results)
                asked = DescribeLogDirsRequest(
                    topics=[DescribeLogDirsRequest.DescribableLogDirTopic(topic=topic, partitions=[0, 1, 7])]
                )
                resp = await conn.request(ApiKey.DESCRIBE_LOG_DIRS, asked, version=v)
                found = {
                    (t.name, p.partition_index): p
                    for r in resp.results
                    for t in r.topics
                    for p in t.partitions
                }
                assert {name for name, _ in found} <= {topic}
                assert all(
                    not p.is_future_key and p.offset_lag == 0 and p.partition_size > 0 for p in found.values()
                )
                for (_, pid), p in found.items():
                    total[pid] = total.get(pid, 0) + p.partition_size
                in_all = {
                    (t.name, p.partition_index)
                    for r in everything.results
                    for t in r.topics
                    for p in t.partitions
                }
                assert set(found) <= in_all
        finally:
            await conn.close()
    # each partition has two replicas, each holding its 100 records of 100 bytes, asked three times (v0-2)
    assert set(total) == {0, 1}
    assert all(size >= 2 * 3 * 100 * 100 for size in total.values()), total


async def raw(conn: KafkaConnection, version: int, body: Any, correlation_id: int) -> bytes:
    """Send an ApiVersions request at ``version`` and return the response body (after header v0)."""
    frame = bytearray(
        encode_request_frame(RequestHeader(ApiKey.API_VERSIONS, min(version, 4), correlation_id, "t"), body)
    )
    frame[6:8] = version.to_bytes(2, "big")  # a future version: v4's bytes under a higher version number
    await conn.send_raw(bytes(frame))
    answer = await conn.recv_raw_frame(timeout=10)
    assert int.from_bytes(answer[:4], "big") == correlation_id
    return answer[4:]


def test_api_versions_every_version_and_beyond(shared_cluster: Any) -> None:
    asyncio.run(_api_versions(shared_cluster))


async def _api_versions(cluster: Any) -> None:
    broker = next(iter(cluster.state.brokers.values()))
    conn = await connect(broker.bootstrap)
    try:
        for v in range(0, 4):
            body = ApiVersionsRequest(client_software_name="kafka-zk-tests", client_software_version="1.0")
            resp = await conn.request(ApiKey.API_VERSIONS, body, version=v)
            assert resp.error_code == 0
            ranges = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
            assert ranges[ApiKey.METADATA] == (0, 11) and ranges[ApiKey.API_VERSIONS] == (0, 3)
            assert ranges[ApiKey.DESCRIBE_CLUSTER] == (0, 0) and ranges[ApiKey.DESCRIBE_LOG_DIRS] == (0, 2)
            assert ApiKey.END_TXN not in ranges and ApiKey.SASL_HANDSHAKE not in ranges
        # raw frames, to see the exact layout: v3 with an empty top-level tag section (librdkafka 2.0.2 needs
        # it), INVALID_REQUEST in the v3 layout for bad software names, v0 + UNSUPPORTED_VERSION above v3
        good = ApiVersionsRequest(client_software_name="librdkafka", client_software_version="2.0.2")
        body = await raw(conn, 3, good, 901)
        assert body[-1:] == b"\x00"
        assert ApiVersionsResponse.decode(3, body).error_code == 0  # strict: every byte accounted for
        bad = ApiVersionsRequest(client_software_name="bad name!", client_software_version="1.0")
        assert ApiVersionsResponse.decode(3, await raw(conn, 3, bad, 902)).error_code == E.INVALID_REQUEST
        for v in (4, 7):
            resp = ApiVersionsResponse.decode(0, await raw(conn, v, good, 903 + v))
            assert resp.error_code == E.UNSUPPORTED_VERSION
            assert [(k.api_key, k.min_version, k.max_version) for k in resp.api_keys] == [(18, 0, 3)]
    finally:
        await conn.close()
    stats = json.loads(
        urllib.request.urlopen(f"http://127.0.0.1:{broker.control_port}/requests", timeout=10).read()
    )
    assert all(stats["served"].get(f"18:{v}", 0) >= 1 for v in range(4)), stats
