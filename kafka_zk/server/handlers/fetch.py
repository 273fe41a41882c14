"""Fetch (1): consumers (replica_id -1) read below the high watermark; followers (replica_id = broker id) read
to the log end and report their progress.

Fetch sessions (KIP-227, v7+) live in :mod:`kafka_zk.server.fetch_sessions`: its context says which
partitions to read (an incremental fetch reads the whole session) and which of them the response carries; a
full fetch lists every requested partition (kafka-python drops a "full" response that does not list them all). Records go out as file regions (``sendfile``). Without transactions the last
stable offset equals the high watermark, and aborted_transactions is an empty list.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.messages.fetch import FetchResponse
from kafka_zk.server.fetch_sessions import context_for_request
from kafka_zk.replication.replica_manager import FetchRequestPartition
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.FETCH
VERSIONS = (4, 10)

R = FetchResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    parts = [
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
    session = context_for_request(broker.fetch_sessions, ctx.api_version, req, parts, broker.clock.monotonic_ms())
    if session.error:
        return R(throttle_time_ms=0, error_code=int(session.error), session_id=0, responses=[])
    parts = session.partitions
    max_bytes = min(req.max_bytes, broker.config["fetch.max.bytes"]) if req.replica_id < 0 else req.max_bytes
    results = await broker.replica_manager.fetch_messages(
        req.replica_id, req.max_wait_ms, req.min_bytes, max_bytes, parts
    )
    outcome = session.respond(results)
    by_topic: dict[str, list[Any]] = {}
    stats = broker.replica_manager.topic_stats
    for tp, r in outcome.results:
        if req.replica_id < 0:  # Kafka's BytesOut counts consumer fetches only
            stats.record_fetch_out(tp.topic, r.size)
        by_topic.setdefault(tp.topic, []).append(
            R.PartitionData(
                partition_index=tp.partition,
                error_code=int(r.error),
                high_watermark=r.high_watermark,
                last_stable_offset=r.last_stable_offset,
                log_start_offset=r.log_start_offset,
                aborted_transactions=[],
                records=r.records,
            )
        )
    return R(
        throttle_time_ms=0,
        error_code=int(outcome.error),
        session_id=outcome.session_id,
        responses=[R.FetchableTopicResponse(topic=t, partitions=ps) for t, ps in by_topic.items()],
    )
