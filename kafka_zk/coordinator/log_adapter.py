"""The ``OffsetsLog`` port on top of the broker's replicated log.

Writes: the coordinator's key/value records become **one** v2 record batch (CreateTime = now, no producer
id, compression ``offsets.topic.compression.codec``), appended to ``__consumer_offsets-<p>`` through the
replica manager with ``offsets.commit.required.acks`` (-1: wait for the in-sync replicas) and
``offsets.commit.timeout.ms``, internal topics allowed — Kafka's ``GroupMetadataManager.appendForGroup``.
A per-partition produce error is raised as :class:`KafkaError` for the coordinator to map.

Reads (loading a partition after becoming its leader): the batches from the log start to the log end
offset are decoded back into key/value pairs. Control batches (transaction markers) carry no group data
and are skipped; the coordinator never writes transactional offset commits, so it never needs them.

The replica manager and the log reader are passed in as narrow protocols, so this module depends on
the shape it uses, not on the replication package's internals.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping, Protocol

from kafka_zk.common.clock import Clock
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator.config import GroupCoordinatorConfig
from kafka_zk.coordinator.log_port import Record
from kafka_zk.coordinator.metadata_manager import GROUP_METADATA_TOPIC_NAME
from kafka_zk.record.batch import iter_batches
from kafka_zk.record.builder import RecordBatchBuilder

log = get_logger(__name__)


class _ProduceResult(Protocol):
    @property
    def error(self) -> ErrorCode: ...

    @property
    def error_message(self) -> str | None: ...


class AppendsRecords(Protocol):
    """The slice of ``ReplicaManager`` the adapter uses."""

    async def append_records(
        self,
        timeout_ms: int,
        required_acks: int,
        entries: dict[TopicPartition, memoryview],
        internal_topics_allowed: bool = False,
    ) -> Mapping[TopicPartition, _ProduceResult]: ...


class ReadsBatches(Protocol):
    def __call__(self, partition: int) -> Iterable[bytes | memoryview]:
        """Buffers of whole v2 batches of ``__consumer_offsets-<partition>``, log start to log end, in order."""


def encode_batch(records: list[Record], timestamp_ms: int, compression: int = 0) -> bytes:
    """One v2 batch holding ``records`` (key, value-or-None) stamped ``timestamp_ms``."""
    builder = RecordBatchBuilder(compression)
    for key, value in records:
        builder.append(timestamp_ms, key, value)
    return builder.build()


def decode_batches(buf: bytes | memoryview) -> Iterator[Record]:
    """The key/value pairs of every data batch in ``buf`` (control batches skipped).

    Raises :class:`kafka_zk.common.errors.CorruptRecordError` for a batch that fails to decode; records
    without a key (which a coordinator never writes) are skipped with a warning.
    """
    for batch in iter_batches(buf):
        if batch.is_control_batch:
            continue
        for record in batch.records():
            if record.key is None:
                log.warning("record without key in __consumer_offsets skipped", offset=record.offset)
                continue
            yield record.key, record.value


class ReplicatedOffsetsLog:
    """``OffsetsLog`` over the replica manager (appends) and a batch reader (loads)."""

    def __init__(
        self,
        replica_manager: AppendsRecords,
        read_batches: ReadsBatches,
        clock: Clock,
        config: GroupCoordinatorConfig | None = None,
    ) -> None:
        self._rm = replica_manager
        self._read_batches = read_batches
        self._clock = clock
        self._config = config or GroupCoordinatorConfig()

    async def append(self, partition: int, records: list[Record]) -> None:
        tp = TopicPartition(GROUP_METADATA_TOPIC_NAME, partition)
        batch = encode_batch(records, self._clock.time_ms(), self._config.offsets_topic_compression_codec)
        results = await self._rm.append_records(
            self._config.offsets_commit_timeout_ms,
            self._config.offsets_commit_required_acks,
            {tp: memoryview(batch)},
            internal_topics_allowed=True,
        )
        result = results.get(tp)
        if result is None:
            raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, f"append to {tp} returned no result")
        if result.error is not ErrorCode.NONE:
            raise KafkaError(result.error, result.error_message)

    def read(self, partition: int) -> Iterator[Record]:
        for buf in self._read_batches(partition):
            yield from decode_batches(buf)
