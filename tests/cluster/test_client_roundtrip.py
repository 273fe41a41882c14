"""Our Producer, Consumer and AdminClient against a real 3-broker cluster: what users of the client rely on."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest

from helpers import async_wait_until, run_async, unique_name
from kafka_zk.client.admin import RESOURCE_TOPIC, AdminClient, NewTopic
from kafka_zk.client.consumer import Consumer, ConsumerRecord, OffsetOutOfRangeError, build_fetch_request
from kafka_zk.client.errors import IncompatibleBrokerVersion
from kafka_zk.client.partitioner import partition_for_key
from kafka_zk.client.producer import Producer
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.record import available_codecs, iter_batches


async def create(bs: str, name: str, partitions: int = 3, rf: int = 3, **configs: str) -> None:
    async with AdminClient(bs) as admin:
        await admin.create_topic(NewTopic(name, partitions, rf, configs=configs))


async def read_all(bs: str, topic: str, expected: int, timeout: float = 15.0) -> list[ConsumerRecord]:
    async with Consumer(bs, auto_offset_reset="earliest") as c:
        c.assign([TopicPartition(topic, p) for p in await c.partitions_for_topic(topic)])
        got: list[ConsumerRecord] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(got) < expected and asyncio.get_running_loop().time() < deadline:
            got += await c.poll(timeout_ms=500)
        return got


@run_async
async def test_keyed_records_with_headers_round_trip_with_every_codec(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    for codec in available_codecs():
        topic = unique_name(f"rt-{codec.config_name}")
        await create(bs, topic)
        sent = [(f"key-{i % 7}".encode(), f"value-{i}".encode() * (i % 5 + 1), [("n", str(i).encode()), ("nil", None)])
                for i in range(60)]
        async with Producer(bs, compression_type=codec.config_name, linger_ms=5) as p:
            futures = [await p.send(topic, v, k, headers=h) for k, v, h in sent]
            await p.flush()
        metas = [f.result() for f in futures]
        assert all(m.partition == partition_for_key(k, 3) for m, (k, _, _) in zip(metas, sent))
        by_partition: dict[int, list[int]] = defaultdict(list)
        for m in metas:
            by_partition[m.partition].append(m.offset)
        assert all(offs == list(range(len(offs))) for offs in by_partition.values()), by_partition  # in send order
        got = await read_all(bs, topic, len(sent))
        assert sorted((r.key, r.value, r.headers) for r in got) == sorted((k, v, tuple(h)) for k, v, h in sent)
        for r in got:
            assert (r.partition, r.offset) in {(m.partition, m.offset) for m in metas}


@run_async
async def test_acks_zero_one_and_all(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic = unique_name("acks")
    await create(bs, topic, partitions=1)
    offsets = {}
    for acks in (0, 1, "all"):
        async with Producer(bs, acks=acks) as p:
            offsets[acks] = (await p.send_and_wait(topic, f"acks={acks}".encode())).offset
    assert offsets[0] == -1  # no response, no offset
    assert offsets[1] >= 0 and offsets["all"] == offsets[1] + 1
    got = await read_all(bs, topic, 3)
    assert [r.value for r in got] == [b"acks=0", b"acks=1", b"acks=all"]


@run_async
async def test_idempotent_producer_stamps_producer_id_and_sequences(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic = unique_name("idem")
    await create(bs, topic, partitions=1)
    async with Producer(bs, acks="all", enable_idempotence=True) as p:
        for burst in range(3):
            for i in range(5):
                await p.send(topic, f"{burst}-{i}".encode())
            await p.flush()
    async with Consumer(bs) as c:
        tp = TopicPartition(topic, 0)
        await c.cluster.refresh([topic])
        resp = await c.cluster.request(c.cluster.metadata.leader(tp), ApiKey.FETCH,
                                       build_fetch_request({tp: 0}, 100, 1, 1 << 20, 1 << 20, 0))
        batches = list(iter_batches(resp.responses[0].partitions[0].records))
    assert sum(b.records_count for b in batches) == 15
    assert len({b.producer_id for b in batches}) == 1 and batches[0].producer_id >= 0
    seqs = [(b.base_sequence, b.records_count) for b in batches]
    assert seqs[0][0] == 0 and all(s + n == s2 for (s, n), (s2, _) in zip(seqs, seqs[1:]))
    with pytest.raises(ValueError, match="acks"):
        Producer(bs, acks=1, enable_idempotence=True)


@run_async
async def test_send_rejects_what_cannot_be_delivered(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic = unique_name("reject")
    await create(bs, topic, partitions=2)
    async with Producer(bs, max_request_size=10_000, allow_auto_create_topics=False, max_block_ms=5000) as p:
        with pytest.raises(KafkaError) as e:
            await p.send(topic, b"x", partition=2)
        assert e.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        with pytest.raises(KafkaError) as e:
            await p.send(topic, b"x" * 20_000)
        assert e.value.code == ErrorCode.MESSAGE_TOO_LARGE
        with pytest.raises(KafkaError) as e:
            await p.send(unique_name("missing"), b"x")
        assert e.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        with pytest.raises(TypeError, match="bytes"):
            await p.send(topic, "text")  # type: ignore[arg-type]
        assert (await p.send_and_wait(topic, b"still fine", partition=1)).partition == 1


@run_async
async def test_seek_positions_offsets_and_max_records(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic = unique_name("seek")
    await create(bs, topic, partitions=1)
    tp = TopicPartition(topic, 0)
    async with Producer(bs, acks="all") as p:  # acked by all in-sync replicas: the high watermark is 10
        for i in range(10):
            await p.send(topic, str(i).encode())
        await p.flush()
    async with Consumer(bs, auto_offset_reset="latest") as c:
        c.assign([tp])
        assert await c.position(tp) == 10  # latest: only new records
        assert await c.end_offsets([tp]) == {tp: 10} and await c.beginning_offsets([tp]) == {tp: 0}
        c.seek(tp, 4)
        first = await c.poll(timeout_ms=2000, max_records=3)
        assert [r.value for r in first] == [b"4", b"5", b"6"]
        assert await c.position(tp) == 7
        rest = await c.poll(timeout_ms=2000)
        assert [r.value for r in rest] == [b"7", b"8", b"9"] and c.highwater(tp) == 10
        assert await c.poll(timeout_ms=200) == []
        await c.seek_to_beginning(tp)
        assert (await c.poll(timeout_ms=2000, max_records=1))[0].offset == 0
        with pytest.raises(ValueError, match="not assigned"):
            c.seek(TopicPartition(topic, 5), 0)
    async with Consumer(bs, auto_offset_reset="none") as strict:
        strict.assign([tp])
        strict.seek(tp, 50)
        with pytest.raises(OffsetOutOfRangeError):
            await strict.poll(timeout_ms=2000)
    async with Consumer(bs, auto_offset_reset="earliest") as lenient:
        lenient.assign([tp])
        lenient.seek(tp, 50)  # out of range: reset to the earliest offset
        assert [r.offset for r in await lenient.poll(timeout_ms=3000, max_records=2)] == [0, 1]


@run_async
async def test_admin_topic_lifecycle(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    name, other = unique_name("adm"), unique_name("adm")
    async with AdminClient(bs) as admin:
        results = await admin.create_topics([
            NewTopic(name, 2, 3, configs={"retention.ms": "60000"}),
            NewTopic(other, replica_assignment={0: [2, 1], 1: [1, 0]}),
            NewTopic("bad name!", 1, 1),
            NewTopic(unique_name("adm"), 1, 4),
        ])
        assert results[name] is None and results[other] is None
        assert results["bad name!"].code == ErrorCode.INVALID_TOPIC_EXCEPTION  # type: ignore[union-attr]
        assert [e.code for n, e in results.items() if n.startswith("adm") and e is not None] == [
            ErrorCode.INVALID_REPLICATION_FACTOR]
        with pytest.raises(KafkaError) as exc:
            await admin.create_topic(NewTopic(name, 1, 1))
        assert exc.value.code == ErrorCode.TOPIC_ALREADY_EXISTS
        await async_wait_until(lambda: _has_topics(admin, {name, other}), timeout=10)
        described = await admin.describe_topics([name, other, "nope"])
        assert [p.replicas for _, p in sorted(described[other].partitions.items())] == [(2, 1), (1, 0)]
        assert described[name].replication_factor == 3 and described["nope"].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert await admin.topic_config_overrides(name) == {"retention.ms": "60000"}
        assert (await admin.alter_configs({(RESOURCE_TOPIC, name): {"retention.ms": "1000", "cleanup.policy": "compact"}}
                                          ))[(RESOURCE_TOPIC, name)] is None
        await async_wait_until(
            lambda: _overrides_are(admin, name, {"retention.ms": "1000", "cleanup.policy": "compact"}), timeout=10)
        assert (await admin.create_partitions({name: 4}))[name] is None
        await async_wait_until(lambda: _partition_count(admin, name, 4), timeout=10)
        shrink = (await admin.create_partitions({name: 2}))[name]
        assert shrink is not None and shrink.code == ErrorCode.INVALID_PARTITIONS
        assert (await admin.delete_topics([other]))[other] is None
        await async_wait_until(lambda: _has_topics(admin, {name}, absent={other}), timeout=15)
        missing = (await admin.delete_topics(["never-was"]))["never-was"]
        assert missing is not None and missing.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


async def _has_topics(admin: AdminClient, present: set[str], absent: frozenset[str] | set[str] = frozenset()) -> bool:
    names = set(await admin.list_topics())
    return present <= names and not (absent & names)


async def _overrides_are(admin: AdminClient, topic: str, expected: dict[str, str]) -> bool:
    return await admin.topic_config_overrides(topic) == expected


async def _partition_count(admin: AdminClient, topic: str, n: int) -> bool:
    return len((await admin.describe_topics([topic]))[topic].partitions) == n


@run_async
async def test_group_offsets_commit_and_committed(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    topic, group = unique_name("commit"), unique_name("g")
    await create(bs, topic, partitions=2)
    async with Producer(bs) as p:
        for i in range(6):
            await p.send(topic, str(i).encode(), partition=i % 2)
        await p.flush()
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    async with Consumer(bs, group_id=group, auto_offset_reset="earliest") as c:
        c.assign(tps)
        try:
            assert await c.committed(tps[0]) is None
        except IncompatibleBrokerVersion as e:  # a regression in the advertised versions must fail, not skip
            pytest.fail(f"the broker no longer advertises the group offset APIs the client needs: {e}")
        got = await c.poll(timeout_ms=3000, max_records=4)
        await c.commit()
        positions = {tp: await c.position(tp) for tp in tps}
        assert sum(positions.values()) == len(got) == 4
        assert await c.committed_offsets(tps) == positions
    # (enable.auto.commit is on by default, as in Kafka: without this the close would commit 3 and 3)
    async with Consumer(bs, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False) as again:
        again.assign(tps)
        rest = await again.poll(timeout_ms=3000)
        assert sorted(r.value or b"" for r in rest + got) == [str(i).encode() for i in range(6)]
    async with AdminClient(bs) as admin:
        assert await admin.list_consumer_group_offsets(group) == positions
        assert group in {g.group_id for g in await admin.list_groups()}
        described = (await admin.describe_groups([group]))[group]
        assert (described.state, described.members) == ("Empty", ())  # offsets only, no members
