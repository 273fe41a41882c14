"""The classic ZooKeeper offset store (OffsetCommit/OffsetFetch v0) against a real ZooKeeper."""

from __future__ import annotations

import asyncio

from zk_layout import KafkaZkClient

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator.zk_offsets import ZkOffsetStore
from kafka_zk.zk.bridge import AsyncZk

T0, T1 = TopicPartition("orders", 0), TopicPartition("orders", 1)


def test_commit_writes_kafka_08_znodes_and_fetch_reads_them(zk: KafkaZkClient) -> None:
    async def scenario() -> None:
        az = AsyncZk(zk)
        try:
            store = ZkOffsetStore(az)
            assert await store.commit_offsets("old-app", {T0: (42, "ignored"), T1: (7, None)}) == {T0: ErrorCode.NONE, T1: ErrorCode.NONE}
            # exactly where and how a 0.8 consumer / Kafka 2.x broker keeps them: bare decimal text
            got = zk.get_data("/consumers/old-app/offsets/orders/0")
            assert got is not None and got[0] == b"42"
            assert await store.commit_offsets("old-app", {T0: (43, "")}) == {T0: ErrorCode.NONE}
            fetched = await store.fetch_offsets("old-app", [T0, T1, TopicPartition("orders", 2)])
            assert fetched == {
                T0: (43, "", ErrorCode.NONE, -1),
                T1: (7, "", ErrorCode.NONE, -1),
                TopicPartition("orders", 2): (-1, "", ErrorCode.NONE, -1),
            }
            assert await store.fetch_offsets("never-committed", [T0]) == {T0: (-1, "", ErrorCode.NONE, -1)}
        finally:
            await az.aclose()

    asyncio.run(scenario())


def test_oversized_metadata_is_rejected_without_writing(zk: KafkaZkClient) -> None:
    async def scenario() -> None:
        az = AsyncZk(zk)
        try:
            store = ZkOffsetStore(az, offset_metadata_max_bytes=10)
            result = await store.commit_offsets("g", {T0: (1, "x" * 11), T1: (2, "x" * 10)})
            assert result == {T0: ErrorCode.OFFSET_METADATA_TOO_LARGE, T1: ErrorCode.NONE}
            assert zk.get_data("/consumers/g/offsets/orders/0") is None
        finally:
            await az.aclose()

    asyncio.run(scenario())


def test_zookeeper_failure_is_an_error_code_not_an_exception(zk_chroot: str) -> None:
    async def scenario() -> None:
        client = KafkaZkClient(zk_chroot, session_timeout_ms=6000)
        client.start()
        az = AsyncZk(client)
        try:
            store = ZkOffsetStore(az)
            client.close()  # the session is gone: every write fails
            assert await store.commit_offsets("g", {T0: (1, None), T1: (2, None)}) == {
                T0: ErrorCode.UNKNOWN_SERVER_ERROR,
                T1: ErrorCode.UNKNOWN_SERVER_ERROR,
            }
            assert (await store.fetch_offsets("g", [T0]))[T0].error is ErrorCode.UNKNOWN_SERVER_ERROR
        finally:
            await az.aclose()

    asyncio.run(scenario())
