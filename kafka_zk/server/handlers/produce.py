"""Produce (0): append batches on the partition leaders; acks 0, 1 or all (-1).

v3+ carries only magic-2 batches. v0-v2 carry legacy message sets (magic 0/1): they are decoded, their CRC32s
checked (CORRUPT_MESSAGE otherwise) and up-converted into one v2 batch per partition, as Kafka's
``LogValidator`` does, since the log stores only v2 batches (a v2 batch in an old request passes as it is,
as Kafka lets it). v9 is the flexible layout. The batch buffer is handed to the log as it arrived (the log rewrites the
base offset and leader epoch in place, outside the CRC), so a produce copies nothing but the frame itself.
With acks=0 there is no response; if anything failed the connection is closed so the client refreshes its
metadata (Kafka's behaviour).
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.produce import ProduceResponse
from kafka_zk.record.batch import COMPRESSION_MASK, MAGIC_V2
from kafka_zk.record.compression import CompressionType
from kafka_zk.record.legacy import decode_message_set, message_set_magic, up_convert
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.PRODUCE
VERSIONS = (0, 9)
#: The last version whose records may be a legacy (magic 0/1) message set.
LEGACY_MAX_VERSION = 2
#: The first version allowed to carry zstd batches (KIP-110).
ZSTD_MIN_VERSION = 7

R = ProduceResponse


def _is_zstd(records: memoryview) -> bool:
    """The codec bits of the (only) v2 batch's attributes (bytes 21-22)."""
    return len(records) > 22 and records[16] == MAGIC_V2 and records[22] & COMPRESSION_MASK == CompressionType.ZSTD


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response | None:
    entries: dict[TopicPartition, memoryview] = {}
    invalid: dict[TopicPartition, ErrorCode] = {}
    for topic in req.topic_data:
        for pd in topic.partition_data:
            tp = TopicPartition(topic.name, pd.index)
            records = pd.records  # a writable view of the frame: the log stamps offsets into it in place
            if records is None or len(records) == 0:
                invalid[tp] = ErrorCode.CORRUPT_MESSAGE
                continue
            if ctx.api_version <= LEGACY_MAX_VERSION and message_set_magic(records) != MAGIC_V2:
                try:
                    records = memoryview(bytearray(up_convert(decode_message_set(records))))
                except KafkaError as e:
                    invalid[tp] = e.code
                    continue
            elif ctx.api_version < ZSTD_MIN_VERSION and _is_zstd(records):
                invalid[tp] = ErrorCode.UNSUPPORTED_COMPRESSION_TYPE  # as Kafka's ProduceRequest.validateRecords
                continue
            entries[tp] = records
    results = await broker.replica_manager.append_records(
        req.timeout_ms, req.acks, entries, internal_topics_allowed=False
    )
    if req.acks == 0:
        if invalid or any(r.error != ErrorCode.NONE for r in results.values()):
            ctx.close_after = True
        return None
    by_topic: dict[str, list[Any]] = {}
    for tp, code in invalid.items():
        by_topic.setdefault(tp.topic, []).append(
            R.PartitionProduceResponse(index=tp.partition, error_code=int(code), base_offset=-1)
        )
    for tp, r in results.items():
        by_topic.setdefault(tp.topic, []).append(
            R.PartitionProduceResponse(
                index=tp.partition,
                error_code=int(r.error),
                base_offset=r.base_offset if r.error == ErrorCode.NONE else -1,
                log_append_time_ms=r.log_append_time,
                log_start_offset=r.log_start_offset,
                error_message=r.error_message if r.error != ErrorCode.NONE else None,
            )
        )
    return R(
        responses=[R.TopicProduceResponse(name=t, partition_responses=ps) for t, ps in by_topic.items()],
        throttle_time_ms=0,
    )
