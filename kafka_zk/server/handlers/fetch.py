"""Fetch (1): consumers (replica_id -1) read below the high watermark; followers (replica_id = broker id) read
to the log end and report their progress.

Fetch sessions (KIP-227, v7+) live in :mod:`kafka_zk.server.fetch_sessions`: its context says which
partitions to read (an incremental fetch reads the whole session) and which of them the response carries; a
full fetch lists every requested partition (kafka-python drops a "full" response that does not list them
all). Records go out as file regions (``sendfile``). Without transactions the last stable offset equals the
high watermark, and aborted_transactions is an empty list.

Versions: v0-v3 clients can only parse legacy message sets, so their records are down-converted from the
stored v2 batches (magic 0 for v0/v1, magic 1 for v2/v3; uncompressed; records below the fetch offset
dropped, no larger than what was read but at least one message), as Kafka does — this costs a read and a re-encode instead of ``sendfile`` — unless the topic sets
``message.downconversion.enable=false`` (UNSUPPORTED_VERSION then, as Kafka); a zstd topic answers pre-v10
fetchers UNSUPPORTED_COMPRESSION_TYPE. v11's ``rack_id`` is
accepted and ``preferred_read_replica`` is always -1 (no follower fetching, KIP-392). v12 (flexible) checks
``last_fetched_epoch`` against the leader epoch cache like Kafka 2.8's ``Partition.readRecords``: a
diverged fetcher gets ``diverging_epoch`` and no records, so it can truncate without OffsetForLeaderEpoch.

A diverged partition (v12) is always answered, also in an incremental session response, as in Kafka.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.regions import FileRegion
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.fetch import FetchResponse
from kafka_zk.record.legacy import MAGIC_V0, MAGIC_V1, down_convert
from kafka_zk.replication.replica_manager import FetchRequestPartition, FetchResult
from kafka_zk.server.fetch_sessions import FetchOutcome, context_for_request
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.FETCH
VERSIONS = (0, 12)
#: The last version whose clients read only legacy message sets (v4 promises magic-2 support).
LEGACY_MAX_VERSION = 3
#: The first version allowed to receive zstd batches (KIP-110).
ZSTD_MIN_VERSION = 10
#: The first version with ``last_fetched_epoch`` (divergence check).
DIVERGENCE_MIN_VERSION = 12

R = FetchResponse


def partitions_to_read(req: Request) -> list[FetchRequestPartition]:
    """The request's partitions in request order (the fetch session picks what is read)."""
    return [
        FetchRequestPartition(
            TopicPartition(t.topic, p.partition),
            p.fetch_offset,
            p.log_start_offset,
            p.partition_max_bytes,
            p.current_leader_epoch,
        )
        for t in req.topics
        for p in t.partitions
    ]


def diverging_epochs(broker: BrokerServices, req: Any, version: int) -> dict[TopicPartition, tuple[int, int]]:
    """v12+: partitions whose ``last_fetched_epoch`` the leader's log does not share up to the fetch offset,
    with the (epoch, end offset) the fetcher must truncate to. Errors are left for the read to report."""
    out: dict[TopicPartition, tuple[int, int]] = {}
    if version < DIVERGENCE_MIN_VERSION:
        return out
    rm = broker.replica_manager
    for t in req.topics:
        for p in t.partitions:
            if p.last_fetched_epoch < 0:
                continue
            tp = TopicPartition(t.topic, p.partition)
            try:
                epoch, end = rm.last_offset_for_leader_epoch(tp, p.last_fetched_epoch, p.current_leader_epoch)
            except KafkaError:
                continue
            if epoch < p.last_fetched_epoch or end < p.fetch_offset:
                out[tp] = (epoch, end)
    return out


def _records(r: FetchResult, fp: FetchRequestPartition, version: int) -> Any:
    if version > LEGACY_MAX_VERSION or len(r.records) == 0:
        return r.records
    data = r.records.read() if isinstance(r.records, FileRegion) else r.records
    return down_convert(data, MAGIC_V0 if version <= 1 else MAGIC_V1, fp.fetch_offset, max_bytes=len(data))


def format_error(broker: BrokerServices, tp: TopicPartition, version: int, from_follower: bool) -> ErrorCode | None:
    """Kafka's per-partition format refusals (``KafkaApis.maybeConvertFetchedData``): a zstd topic to a
    pre-v10 fetcher (UNSUPPORTED_COMPRESSION_TYPE), and a consumer needing down-conversion from a topic with
    ``message.downconversion.enable=false`` (UNSUPPORTED_VERSION)."""
    p = broker.replica_manager.partition(tp)
    if p is None:
        return None
    cfg = p.log.config
    if version < ZSTD_MIN_VERSION and cfg.compression_type == "zstd":
        return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    if version <= LEGACY_MAX_VERSION and not from_follower and not cfg.message_downconversion_enable:
        return ErrorCode.UNSUPPORTED_VERSION
    return None


def build_response(
    broker: BrokerServices,
    version: int,
    outcome: FetchOutcome,
    requested: dict[TopicPartition, FetchRequestPartition],
    diverged: dict[TopicPartition, tuple[int, int]],
    from_follower: bool = False,
) -> Response:
    by_topic: dict[str, list[Any]] = {}
    stats = broker.replica_manager.topic_stats
    for tp, r in outcome.results:
        fp = requested[tp]
        refusal = format_error(broker, tp, version, from_follower) if r.error == ErrorCode.NONE else None
        if refusal is not None:
            r = FetchResult(refusal, r.high_watermark, r.last_stable_offset, r.log_start_offset)
        elif not from_follower:  # Kafka's BytesOut counts consumer fetches only
            stats.record_fetch_out(tp.topic, r.size)
        pd = R.PartitionData(
            partition_index=tp.partition,
            error_code=int(r.error),
            high_watermark=r.high_watermark,
            last_stable_offset=r.last_stable_offset,
            log_start_offset=r.log_start_offset,
            aborted_transactions=[],
            preferred_read_replica=-1,
            records=_records(r, fp, version),
        )
        if tp in diverged:
            epoch, end = diverged[tp]
            pd.diverging_epoch = R.EpochEndOffset(epoch=epoch, end_offset=end)
        by_topic.setdefault(tp.topic, []).append(pd)
    return R(
        throttle_time_ms=0,
        error_code=int(outcome.error),
        session_id=outcome.session_id,
        responses=[R.FetchableTopicResponse(topic=t, partitions=ps) for t, ps in by_topic.items()],
    )


def _diverged_result(broker: BrokerServices, tp: TopicPartition) -> FetchResult:
    p = broker.replica_manager.partition(tp)
    hw = p.log.high_watermark if p is not None else -1
    return FetchResult(ErrorCode.NONE, hw, hw, p.log.log_start_offset if p is not None else -1)


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    session = context_for_request(
        broker.fetch_sessions, ctx.api_version, req, partitions_to_read(req), broker.clock.monotonic_ms()
    )
    if session.error:
        return R(throttle_time_ms=0, error_code=int(session.error), session_id=0, responses=[])
    parts = session.partitions
    diverged = diverging_epochs(broker, req, ctx.api_version)
    to_read = [fp for fp in parts if fp.tp not in diverged]
    max_bytes = min(req.max_bytes, broker.config["fetch.max.bytes"]) if req.replica_id < 0 else req.max_bytes
    results: dict[TopicPartition, FetchResult] = {tp: _diverged_result(broker, tp) for tp in diverged}
    if to_read:
        wait = 0 if diverged else req.max_wait_ms  # a diverged partition is news: answer at once
        read = await broker.replica_manager.fetch_messages(req.replica_id, wait, req.min_bytes, max_bytes, to_read)
        results.update(read)
    outcome = session.respond([(fp.tp, results[fp.tp]) for fp in parts if fp.tp in results])
    if outcome.error == ErrorCode.NONE:
        answered = {tp for tp, _ in outcome.results}
        outcome.results.extend((tp, results[tp]) for tp in diverged if tp not in answered)
    requested = {fp.tp: fp for fp in parts}
    return build_response(broker, ctx.api_version, outcome, requested, diverged, req.replica_id >= 0)
