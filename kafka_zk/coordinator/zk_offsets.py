"""The classic offset store: committed offsets as znodes, as Kafka 0.8.0–0.8.1 kept them.

OffsetCommit v0 and OffsetFetch v0 predate Kafka-based offset storage: the broker writes the offset as bare
decimal text to ``/consumers/<group>/offsets/<topic>/<partition>`` and reads it back from there (Kafka 2.x
still answers v0 this way, ``KafkaApis.handleOffsetCommitRequest`` / ``handleOffsetFetchRequest``). The
znode layout and its codec belong to ``zk_layout`` (``get_consumer_offset`` / ``set_consumer_offset``); this
module adds the request semantics on the asyncio side:

* commit: metadata longer than ``offset.metadata.max.bytes`` → OFFSET_METADATA_TOO_LARGE for that
  partition; the metadata string itself is *not* stored (v0 never stored it); a ZooKeeper failure →
  UNKNOWN_SERVER_ERROR for the partitions not yet written. No generation or member checks: v0 has none.
* fetch: the stored offset, or -1 with metadata "" when the znode is absent (not an error).
* Checking that the topic exists (UNKNOWN_TOPIC_OR_PARTITION) is the handler's job: it holds the metadata
  cache; partitions it rejects never reach this store.

Why Kafka moved away from it (``docs/consumer-groups.md`` has the comparison and numbers): every commit is
a ZooKeeper write — a quorum round trip and a transaction-log fsync per partition — while the offsets
topic batches a whole commit into one appended record batch replicated like any other data.

All calls go through :class:`kafka_zk.zk.bridge.AsyncZk`, so the event loop never blocks on ZooKeeper;
one commit or fetch is one hop to the bridge's thread pool however many partitions it carries.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator.results import INVALID_OFFSET, OffsetFetchEntry
from kafka_zk.zk.bridge import AsyncZk

log = get_logger(__name__)


class ZkOffsetStore:
    """OffsetCommit v0 / OffsetFetch v0 against ``/consumers/<group>/offsets``."""

    def __init__(self, az: AsyncZk, offset_metadata_max_bytes: int = 4096) -> None:
        self._az = az
        self._max_metadata = offset_metadata_max_bytes

    async def commit_offsets(
        self, group_id: str, offsets: Mapping[TopicPartition, tuple[int, str | None]]
    ) -> dict[TopicPartition, ErrorCode]:
        """Write each offset's znode; returns the per-partition error (never raises for ZooKeeper trouble)."""
        result: dict[TopicPartition, ErrorCode] = {}
        to_write: list[tuple[TopicPartition, int]] = []
        for tp, (offset, metadata) in offsets.items():
            if metadata is not None and len(metadata) > self._max_metadata:
                result[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
            else:
                to_write.append((tp, offset))
        if to_write:
            result.update(await self._az.call(self._write_all, group_id, to_write))
        return result

    def _write_all(self, group_id: str, to_write: list[tuple[TopicPartition, int]]) -> dict[TopicPartition, ErrorCode]:
        """Runs in the bridge's pool: one znode write per partition, stopping at the first failure."""
        out: dict[TopicPartition, ErrorCode] = {}
        for i, (tp, offset) in enumerate(to_write):
            try:
                self._az.client.set_consumer_offset(group_id, tp.topic, tp.partition, offset)
            except Exception as e:
                log.warning("zookeeper offset commit failed", group=group_id, topic=tp.topic, partition=tp.partition, reason=repr(e))
                out.update({t: ErrorCode.UNKNOWN_SERVER_ERROR for t, _ in to_write[i:]})
                break
            out[tp] = ErrorCode.NONE
        return out

    async def fetch_offsets(self, group_id: str, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, OffsetFetchEntry]:
        """The committed offsets (-1, "" when none). A ZooKeeper failure → UNKNOWN_SERVER_ERROR per partition."""
        return await self._az.call(self._read_all, group_id, list(partitions))

    def _read_all(self, group_id: str, partitions: list[TopicPartition]) -> dict[TopicPartition, OffsetFetchEntry]:
        out: dict[TopicPartition, OffsetFetchEntry] = {}
        for tp in partitions:
            try:
                offset = self._az.client.get_consumer_offset(group_id, tp.topic, tp.partition)
            except Exception as e:
                log.warning("zookeeper offset fetch failed", group=group_id, topic=tp.topic, partition=tp.partition, reason=repr(e))
                out[tp] = OffsetFetchEntry(INVALID_OFFSET, "", ErrorCode.UNKNOWN_SERVER_ERROR)
                continue
            out[tp] = OffsetFetchEntry(INVALID_OFFSET if offset is None else offset, "", ErrorCode.NONE)
        return out
