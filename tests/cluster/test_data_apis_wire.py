"""Produce 0-9, Fetch 0-12 and ListOffsets 0-6 on the wire, version by version, against real broker processes
(our own client speaking each version; the legacy message sets are checked with kafka-python's own legacy
record reader, and the old-client end to end proof is tests/cluster/test_legacy_formats.py).

What a user relies on: every version is answered in its layout; old producers' message sets get
consecutive offsets; a corrupt one gets CORRUPT_MESSAGE and the connection stays usable; Fetch v0-v1 clients
get magic-0 messages, v2-v3 magic 1, v4+ the stored v2 batches; v12 reports a diverging epoch; ListOffsets
v0 answers a list of offsets, v4+ the leader epoch and Kafka's epoch errors.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kafka_zk.client.connection import KafkaConnection
from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import FetchRequest, ListOffsetsRequest, MetadataRequest, ProduceRequest
from kafka_zk.record import CompressionType, available_codecs, build_batch, iter_batches
from kafka_zk.record.legacy import encode_message, encode_message_set, iter_messages
from tests.helpers import unique_name
from zk_layout.client import KafkaZkClient

pytestmark = pytest.mark.slow

E = ErrorCode
kp_memory = pytest.importorskip("kafka.record.memory_records")


async def setup_topic(cluster: Any) -> tuple[KafkaConnection, str, int]:
    """A 1-partition, 1-replica topic; a connection to its leader; the leader epoch."""
    topic = unique_name("data-wire")
    leader = min(cluster.state.brokers)
    with KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=15000).start() as zk:
        zk.create_topic_assignment(topic, {0: [leader]})
    host, port = cluster.state.brokers[leader].bootstrap.rsplit(":", 1)
    conn = await KafkaConnection.open(host, int(port))
    body = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)], allow_auto_topic_creation=False)
    for _ in range(150):
        t = (await conn.request(ApiKey.METADATA, body, version=9)).topics[0]
        if t.error_code == 0 and t.partitions and t.partitions[0].leader_id == leader:
            # the replica manager may lag the metadata cache: wait for a produce to be accepted
            return conn, topic, t.partitions[0].leader_epoch
        await asyncio.sleep(0.1)
    raise AssertionError(f"{topic} never got a leader")


def produce_body(topic: str, records: bytes, acks: int = 1) -> Any:
    P = ProduceRequest
    return P(acks=acks, timeout_ms=10000, topic_data=[
        P.TopicProduceData(name=topic, partition_data=[P.PartitionProduceData(index=0, records=records)])
    ])


async def produce(conn: KafkaConnection, version: int, topic: str, records: bytes) -> Any:
    for _ in range(100):
        resp = await conn.request(ApiKey.PRODUCE, produce_body(topic, records), version=version)
        p = resp.responses[0].partition_responses[0]
        if p.error_code not in (E.NOT_LEADER_OR_FOLLOWER, E.UNKNOWN_TOPIC_OR_PARTITION):
            return p
        await asyncio.sleep(0.1)
    return p


def fetch_body(topic: str, offset: int, last_fetched_epoch: int = -1, current_leader_epoch: int = -1) -> Any:
    F = FetchRequest
    return F(replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, isolation_level=0, topics=[
        F.FetchTopic(topic=topic, partitions=[F.FetchPartition(
            partition=0, fetch_offset=offset, partition_max_bytes=1 << 20,
            last_fetched_epoch=last_fetched_epoch, current_leader_epoch=current_leader_epoch)])
    ], rack_id="rack-a")


def list_offsets_body(topic: str, timestamp: int, *, current_leader_epoch: int = -1, max_num: int = 1,
                      twice: bool = False) -> Any:
    L = ListOffsetsRequest
    part = L.ListOffsetsPartition(partition_index=0, timestamp=timestamp, current_leader_epoch=current_leader_epoch,
                                  max_num_offsets=max_num)
    return L(replica_id=-1, isolation_level=0,
             topics=[L.ListOffsetsTopic(name=topic, partitions=[part, part] if twice else [part])])


def test_produce_fetch_and_list_offsets_every_version(shared_cluster: Any) -> None:
    asyncio.run(_every_version(shared_cluster))


async def _every_version(cluster: Any) -> None:
    conn, topic, epoch = await setup_topic(cluster)
    try:
        rows = [(0, 1_600_000_000_000 + i, b"k%d" % i, b"v%d" % i) for i in range(3)]
        expected_values: list[bytes] = []
        # Produce v0-v2: legacy message sets (v0/v1 magic 0, v2 magic 1 with a gzip wrapper), v3-v9 v2 batches
        for v in range(10):
            if v <= 1:
                records = encode_message_set([(i, ts, k, val) for i, (_, ts, k, val) in enumerate(rows)], 0)
            elif v == 2:
                records = encode_message_set([(i, ts, k, val) for i, (_, ts, k, val) in enumerate(rows)], 1,
                                             CompressionType.GZIP)
            else:
                records = build_batch([(ts, k, val) for _, ts, k, val in rows])
            p = await produce(conn, v, topic, records)
            assert p.error_code == 0, (v, p)
            assert p.base_offset == len(expected_values), v
            expected_values += [val for *_, val in rows]
        # a corrupt legacy set: CORRUPT_MESSAGE, nothing appended, the connection still serves
        bad = bytearray(encode_message_set([(0, 1, None, b"x")], 1))
        bad[-1] ^= 0x55
        p = await produce(conn, 2, topic, bytes(bad))
        assert p.error_code == E.CORRUPT_MESSAGE
        end = len(expected_values)

        # Fetch: v0/v1 magic 0, v2/v3 magic 1 (from the middle of a batch: earlier records dropped), v4+ v2
        for v in range(13):
            offset = 4 if v in (1, 3) else 0
            resp = await conn.request(ApiKey.FETCH, fetch_body(topic, offset), version=v)
            assert resp.session_id == 0
            pd = resp.responses[0].partitions[0]
            assert (pd.error_code, pd.high_watermark) == (0, end), v
            assert pd.preferred_read_replica == -1
            data = bytes(pd.records)
            if v > 3:
                values = [r.value for b in iter_batches(data) for r in b.records()]
                assert values == expected_values, v
                continue
            # down-converted answers are capped at the bytes read: fetch on from the next offset, as clients do
            magic = 0 if v <= 1 else 1
            msgs, got = [], []
            while True:
                batch_msgs = list(iter_messages(data))
                assert batch_msgs and {m.magic for m in batch_msgs} == {magic}, v
                msgs += batch_msgs
                mr = kp_memory.MemoryRecords(data)
                while (b := mr.next_batch()) is not None:
                    got += [r.value for r in b]
                if msgs[-1].offset + 1 >= end:
                    break
                resp = await conn.request(ApiKey.FETCH, fetch_body(topic, msgs[-1].offset + 1), version=v)
                data = bytes(resp.responses[0].partitions[0].records)
            assert [m.offset for m in msgs] == list(range(offset, end)), v
            assert [m.value for m in msgs] == expected_values[offset:], v
            assert got == expected_values[offset:], f"kafka-python reads the v{v} answers"
        # v12: a fetcher whose last fetched epoch ends before its fetch offset is told where to truncate
        resp = await conn.request(ApiKey.FETCH, fetch_body(topic, end + 5, last_fetched_epoch=epoch), version=12)
        pd = resp.responses[0].partitions[0]
        assert pd.error_code == 0 and (pd.diverging_epoch.epoch, pd.diverging_epoch.end_offset) == (epoch, end)
        assert len(pd.records) == 0
        resp = await conn.request(ApiKey.FETCH, fetch_body(topic, end, last_fetched_epoch=epoch), version=12)
        assert resp.responses[0].partitions[0].diverging_epoch.epoch == -1  # in sync: the tagged field is absent
        resp = await conn.request(ApiKey.FETCH, fetch_body(topic, 0, current_leader_epoch=epoch + 1), version=9)
        assert resp.responses[0].partitions[0].error_code == E.UNKNOWN_LEADER_EPOCH

        # ListOffsets v0: a list of offsets, newest first
        resp = await conn.request(ApiKey.LIST_OFFSETS, list_offsets_body(topic, -1, max_num=5), version=0)
        p0 = resp.topics[0].partitions[0]
        assert p0.error_code == 0 and p0.old_style_offsets[0] == end and sorted(p0.old_style_offsets, reverse=True) == p0.old_style_offsets
        resp = await conn.request(ApiKey.LIST_OFFSETS, list_offsets_body(topic, -2, max_num=5), version=0)
        assert resp.topics[0].partitions[0].old_style_offsets == [0]
        for v in range(1, 7):
            # magic-0 records (offsets 0-5) have no timestamp: the first at or after ...001 is the v2 set's second
            for ts, want in ((-1, end), (-2, 0), (1_600_000_000_001, 7)):
                resp = await conn.request(ApiKey.LIST_OFFSETS, list_offsets_body(topic, ts), version=v)
                p1 = resp.topics[0].partitions[0]
                assert (p1.error_code, p1.offset) == (0, want), (v, ts)
                assert p1.leader_epoch == (epoch if v >= 4 else -1), (v, ts)
            resp = await conn.request(ApiKey.LIST_OFFSETS, list_offsets_body(topic, -1, twice=True), version=v)
            assert {p.error_code for p in resp.topics[0].partitions} == {E.INVALID_REQUEST}, v
        for v in (4, 5, 6):
            body = list_offsets_body(topic, -1, current_leader_epoch=epoch + 1)
            resp = await conn.request(ApiKey.LIST_OFFSETS, body, version=v)
            assert resp.topics[0].partitions[0].error_code == E.UNKNOWN_LEADER_EPOCH, v
        body = list_offsets_body(topic, -1, current_leader_epoch=epoch + 1)
        resp = await conn.request(ApiKey.LIST_OFFSETS, body, version=3)
        assert resp.topics[0].partitions[0].error_code == 0, "v3 has no current_leader_epoch on the wire"
    finally:
        await conn.close()


def test_format_refusals_are_kafkas_error_codes(shared_cluster: Any) -> None:
    asyncio.run(_format_refusals(shared_cluster))


async def _format_refusals(cluster: Any) -> None:
    from kafka_zk.client.admin import AdminClient, NewTopic

    if CompressionType.ZSTD not in available_codecs():
        pytest.skip("zstandard is not installed")
    conn, topic, _ = await setup_topic(cluster)
    try:
        # zstd needs Produce v7+ (KIP-110); older versions get UNSUPPORTED_COMPRESSION_TYPE, nothing appended
        zstd = build_batch([(1, None, b"z")], CompressionType.ZSTD)
        assert (await produce(conn, 6, topic, zstd)).error_code == E.UNSUPPORTED_COMPRESSION_TYPE
        legacy_zstd = encode_message(0, 1, 1, None, b"?", int(CompressionType.ZSTD))
        assert (await produce(conn, 2, topic, legacy_zstd)).error_code == E.UNSUPPORTED_COMPRESSION_TYPE
        assert (await produce(conn, 7, topic, zstd)).error_code == 0
    finally:
        await conn.close()
    # a topic that forbids down-conversion: Fetch v0-v3 consumers get UNSUPPORTED_VERSION, v4+ their records
    strict = unique_name("no-downconv")
    async with AdminClient(cluster.bootstrap_servers) as admin:
        await admin.create_topic(NewTopic(strict, 1, 1, configs={"message.downconversion.enable": "false"}))
    leader = await leader_of(cluster, strict)
    host, port = cluster.state.brokers[leader].bootstrap.rsplit(":", 1)
    c = await KafkaConnection.open(host, int(port))
    try:
        assert (await produce(c, 8, strict, build_batch([(1, None, b"a")]))).error_code == 0
        resp = await c.request(ApiKey.FETCH, fetch_body(strict, 0), version=3)
        assert resp.responses[0].partitions[0].error_code == E.UNSUPPORTED_VERSION
        resp = await c.request(ApiKey.FETCH, fetch_body(strict, 0), version=4)
        pd = resp.responses[0].partitions[0]
        assert pd.error_code == 0 and [r.value for b in iter_batches(bytes(pd.records)) for r in b.records()] == [b"a"]
    finally:
        await c.close()


async def leader_of(cluster: Any, topic: str) -> int:
    host, port = cluster.state.brokers[min(cluster.state.brokers)].bootstrap.rsplit(":", 1)
    conn = await KafkaConnection.open(host, int(port))
    body = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)], allow_auto_topic_creation=False)
    try:
        for _ in range(150):
            t = (await conn.request(ApiKey.METADATA, body, version=9)).topics[0]
            if t.error_code == 0 and t.partitions and t.partitions[0].leader_id >= 0:
                return int(t.partitions[0].leader_id)
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    raise AssertionError(f"{topic} never got a leader")
