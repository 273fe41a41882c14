"""The producer's pure parts, without sockets: batching rules of the accumulator, the Produce request it
builds, and what each Produce response means for the records waiting on it."""

from __future__ import annotations

import asyncio

import pytest

from helpers import run_async
from kafka_zk.client.accumulator import RecordAccumulator, RecordMetadata
from kafka_zk.client.decisions import Action, classify
from kafka_zk.client.producer import build_produce_request, handle_produce_response
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.apis import ApiKey, decode_request, encode_request
from kafka_zk.protocol.messages import ProduceResponse
from kafka_zk.protocol.primitives import chunks_to_bytes
from kafka_zk.record import CompressionType, RecordBatchView

TP0 = TopicPartition("t", 0)
TP1 = TopicPartition("t", 1)


@run_async
async def test_linger_and_batch_size_decide_when_a_partition_is_ready() -> None:
    acc = RecordAccumulator(batch_size=200, linger_ms=50, compression=CompressionType.NONE)
    acc.append(TP0, 1000, b"k", b"v" * 10, [], now_ms=0)
    assert acc.ready(now_ms=10, flushing=False) == ([], 50)  # lingering
    assert acc.ready(now_ms=50, flushing=False)[0] == [TP0]  # linger expired
    assert acc.ready(now_ms=10, flushing=True)[0] == [TP0]  # flush sends at once
    assert acc.ready(now_ms=60, flushing=False, muted={TP0})[0] == []  # one batch in flight per partition
    for _ in range(10):  # fill past batch.size: a second batch starts, the first is ready
        acc.append(TP1, 1000, None, b"x" * 40, [], now_ms=0)
    assert TP1 in acc.ready(now_ms=0, flushing=False)[0]
    first = acc.drain(TP1)
    assert first.estimated_size <= 200 and 1 < first.record_count < 10


@run_async
async def test_a_record_larger_than_batch_size_gets_a_batch_of_its_own() -> None:
    acc = RecordAccumulator(batch_size=100, linger_ms=0, compression=CompressionType.NONE)
    acc.append(TP0, 1, None, b"small", [], 0)
    acc.append(TP0, 1, None, b"L" * 500, [], 0)
    acc.append(TP0, 1, None, b"after", [], 0)
    counts = []
    while TP0 in acc.partitions():
        counts.append(acc.drain(TP0).record_count)
    assert counts == [1, 1, 1]


@run_async
async def test_sealed_batches_are_resent_byte_for_byte_and_complete_in_offset_order() -> None:
    acc = RecordAccumulator(batch_size=16384, linger_ms=0, compression=CompressionType.GZIP)
    for i in range(3):
        acc.append(TP0, 1000 + i, f"k{i}".encode(), f"v{i}".encode(), [("h", b"x")], 0)
    batch = acc.drain(TP0)
    data = batch.seal(producer_id=7, producer_epoch=0, base_sequence=5)
    view = RecordBatchView(data)
    view.validate()
    assert (view.producer_id, view.base_sequence, view.records_count) == (7, 5, 3)
    assert view.compression_type == CompressionType.GZIP
    acc.reenqueue(batch, retry_at_ms=100)
    assert acc.ready(now_ms=50, flushing=True) == ([], 100)  # backing off
    again = acc.drain(TP0)
    assert again.seal(99, 9, 99) is data  # retries never rebuild (the broker deduplicates by these bytes)
    again.complete(base_offset=40, log_append_time=-1)
    assert [again.metadata(i) for i in range(3)] == [RecordMetadata("t", 0, 40 + i, 1000 + i) for i in range(3)]


@run_async
async def test_expired_batches_leave_the_queue_but_not_those_behind_an_in_flight_one() -> None:
    acc = RecordAccumulator(batch_size=16384, linger_ms=0, compression=CompressionType.NONE)
    acc.append(TP0, 1, None, b"a", [], now_ms=0)
    acc.append(TP1, 1, None, b"b", [], now_ms=0)
    assert acc.expired(now_ms=100, delivery_timeout_ms=200) == []
    gone = acc.expired(now_ms=200, delivery_timeout_ms=200, muted={TP1})
    assert [b.tp for b in gone] == [TP0] and acc.partitions() == [TP1]


def _response(*parts: tuple[TopicPartition, int, int]) -> object:
    R = ProduceResponse
    by_topic: dict[str, list[object]] = {}
    for tp, code, base in parts:
        by_topic.setdefault(tp.topic, []).append(R.PartitionProduceResponse(index=tp.partition, error_code=code,
                                                                             base_offset=base))
    return R(responses=[R.TopicProduceResponse(name=t, partition_responses=ps) for t, ps in by_topic.items()])


@run_async
async def test_produce_response_decisions() -> None:
    acc = RecordAccumulator(batch_size=16384, linger_ms=0, compression=CompressionType.NONE)
    tps = [TopicPartition("t", p) for p in range(5)]
    for tp in tps:
        acc.append(tp, 1, None, b"v", [], 0)
    batches = [acc.drain(tp) for tp in tps]
    for b in batches:
        b.seal(-1, -1, -1)
    req = build_produce_request(batches, acks=-1, timeout_ms=1000)
    decoded = decode_request(ApiKey.PRODUCE, 8, chunks_to_bytes(encode_request(ApiKey.PRODUCE, 8, req)))
    assert decoded.acks == -1 and sorted(p.index for t in decoded.topic_data for p in t.partition_data) == [0, 1, 2, 3, 4]
    resp = _response((tps[0], 0, 10), (tps[1], ErrorCode.NOT_LEADER_OR_FOLLOWER, -1),
                     (tps[2], ErrorCode.NOT_ENOUGH_REPLICAS, -1), (tps[3], ErrorCode.DUPLICATE_SEQUENCE_NUMBER, -1))
    outcomes = {o.batch.tp.partition: o for o in handle_produce_response(resp, batches)}
    assert outcomes[0].action == Action.DONE and outcomes[0].base_offset == 10
    assert outcomes[1].action == Action.REFRESH_AND_RETRY  # leader moved: refresh metadata first
    assert outcomes[2].action == Action.RETRY  # ISR too small right now
    assert outcomes[3].action == Action.DONE  # the broker already has this batch
    assert outcomes[4].action == Action.REFRESH_AND_RETRY  # not answered at all


@pytest.mark.parametrize("code, action", [
    (ErrorCode.MESSAGE_TOO_LARGE, Action.FAIL),
    (ErrorCode.TOPIC_AUTHORIZATION_FAILED, Action.FAIL),
    (ErrorCode.CORRUPT_MESSAGE, Action.FAIL),
    (ErrorCode.REQUEST_TIMED_OUT, Action.RETRY),
    (ErrorCode.LEADER_NOT_AVAILABLE, Action.REFRESH_AND_RETRY),
    (ErrorCode.NOT_CONTROLLER, Action.REFRESH_AND_RETRY),
    (12345, Action.FAIL),
])
def test_error_classification(code: int, action: Action) -> None:
    assert classify(code) == action


@run_async
async def test_failed_batches_fail_every_record_with_the_error() -> None:
    acc = RecordAccumulator(batch_size=16384, linger_ms=0, compression=CompressionType.NONE)
    from kafka_zk.client.producer import FutureRecordMetadata

    batch = acc.append(TP0, 1, None, b"v", [], 0)
    acc.append(TP0, 1, None, b"v", [], 0)
    futs = [FutureRecordMetadata(batch, i) for i in range(2)]
    acc.drain(TP0).fail(KafkaError(ErrorCode.MESSAGE_TOO_LARGE, "too big"))
    for f in futs:
        with pytest.raises(KafkaError, match="too big"):
            f.result()


def test_kafka_dotted_config_names_and_defaults() -> None:
    from kafka_zk.client.partitioner import RoundRobinPartitioner
    from kafka_zk.client.producer import Producer

    p = Producer.from_config({"bootstrap.servers": "127.0.0.1:9", "linger.ms": 7, "batch.size": 1000,
                              "acks": "all", "enable.idempotence": "true", "compression.type": "zstd",
                              "max.in.flight.requests.per.connection": 2,
                              "partitioner.class": "org.apache.kafka.clients.producer.RoundRobinPartitioner"})
    assert (p.linger_ms, p.batch_size, p.acks, p.enable_idempotence, p.max_in_flight) == (7, 1000, -1, True, 2)
    assert p.compression == CompressionType.ZSTD and isinstance(p.partitioner, RoundRobinPartitioner)
    d = Producer("127.0.0.1:9")  # Kafka 2.x defaults
    assert (d.acks, d.linger_ms, d.batch_size, d.buffer_memory, d.max_in_flight, d.enable_idempotence) == (
        1, 0, 16384, 33554432, 5, False)
    with pytest.raises(ValueError, match="unknown producer config 'linger.msec'; did you mean 'linger.ms'"):
        Producer("127.0.0.1:9", **{"linger.msec": 5})
    with pytest.raises(ValueError, match="enable_idempotence requires acks=-1"):
        Producer("127.0.0.1:9", enable_idempotence=True)


@run_async
async def test_sticky_cue_new_batch_only_when_the_open_one_cannot_take_the_record() -> None:
    acc = RecordAccumulator(batch_size=200, linger_ms=50, compression=CompressionType.NONE)
    assert acc.opens_new_batch(TP0, 20)
    acc.append(TP0, 1, None, b"v" * 10, [], now_ms=0)
    assert not acc.opens_new_batch(TP0, 20)
    assert acc.opens_new_batch(TP0, 500)


@run_async
async def test_record_future_get_refuses_to_block_its_own_loop() -> None:
    from kafka_zk.client.producer import FutureRecordMetadata

    acc = RecordAccumulator(batch_size=16384, linger_ms=0, compression=CompressionType.NONE)
    batch = acc.append(TP0, 1, None, b"v", [], 0)
    fut = FutureRecordMetadata(batch, 0)
    with pytest.raises(RuntimeError, match="would block it forever"):
        fut.get()
    batch.complete(base_offset=5)
    md = RecordMetadata("t", 0, 5, 1)
    assert fut.get() == md and await fut == md


@run_async
async def test_record_futures_share_their_batch_outcome_and_a_cancelled_wait_leaves_it_alone() -> None:
    from kafka_zk.client.producer import FutureRecordMetadata

    acc = RecordAccumulator(batch_size=16384, linger_ms=0, compression=CompressionType.NONE)
    for ts in (10, 11, 12):
        batch = acc.append(TP0, ts, None, b"v", [], 0)
    futs = [FutureRecordMetadata(batch, i) for i in range(3)]
    seen: list[object] = []
    for f in futs:
        f.add_done_callback(lambda f: seen.append(f.result().offset))
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(futs[0], 0.01)  # cancels the wait, not the batch
    assert not any(f.done() or f.cancelled() for f in futs)
    batch.complete(base_offset=100)
    assert await asyncio.gather(*futs) == [RecordMetadata("t", 0, 100 + i, 10 + i) for i in range(3)]
    assert seen == [100, 101, 102]  # callbacks in record order
