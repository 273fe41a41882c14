"""The consumer's and metadata's pure parts, without sockets: what a Fetch response yields for a position,
bootstrap-server parsing, and Metadata decoding."""

from __future__ import annotations

import pytest

from kafka_zk.client.consumer import build_fetch_request, handle_fetch_response
from kafka_zk.client.decisions import Action
from kafka_zk.client.metadata import cluster_metadata_from_response, merge, parse_bootstrap_servers
from kafka_zk.common.errors import CorruptRecordError, ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.apis import ApiKey, decode_request, encode_request
from kafka_zk.protocol.messages import FetchResponse, MetadataResponse
from kafka_zk.protocol.primitives import chunks_to_bytes
from kafka_zk.record import CompressionType, RecordBatchBuilder

TP = TopicPartition("t", 0)


def batch(base_offset: int, values: list[bytes], compression: int = CompressionType.NONE,
          control: bool = False) -> bytes:
    b = RecordBatchBuilder(compression, base_offset=base_offset, is_control=control)
    for i, v in enumerate(values):
        b.append(1000 + i, f"k{base_offset + i}".encode(), v, [("n", str(base_offset + i).encode())])
    return b.build()


def fetch_response(records: bytes, error: int = 0, hw: int = 100) -> object:
    R = FetchResponse
    return R(responses=[R.FetchableTopicResponse(topic="t", partitions=[
        R.PartitionData(partition_index=0, error_code=error, high_watermark=hw, records=records)])])


def test_records_below_the_position_are_skipped_even_inside_a_compressed_batch() -> None:
    data = batch(10, [b"a", b"b", b"c"], CompressionType.LZ4) + batch(13, [b"d"])
    [fp] = handle_fetch_response(fetch_response(data), {TP: 11})
    assert fp.action == Action.DONE
    assert [(r.offset, r.value, r.key, r.headers) for r in fp.records] == [
        (11, b"b", b"k11", (("n", b"11"),)), (12, b"c", b"k12", (("n", b"12"),)), (13, b"d", b"k13", (("n", b"13"),))]
    assert fp.next_offset == 14 and fp.high_watermark == 100


def test_a_partial_batch_at_the_end_is_left_for_the_next_fetch() -> None:
    whole, cut = batch(0, [b"a"]), batch(1, [b"b" * 100])
    [fp] = handle_fetch_response(fetch_response(whole + cut[:40]), {TP: 0})
    assert [r.value for r in fp.records] == [b"a"] and fp.next_offset == 1


def test_control_batches_advance_the_position_without_records() -> None:
    [fp] = handle_fetch_response(fetch_response(batch(5, [b"marker"], control=True)), {TP: 5})
    assert fp.records == [] and fp.next_offset == 6


def test_errors_and_corruption_are_reported_not_skipped() -> None:
    [fp] = handle_fetch_response(fetch_response(b"", ErrorCode.OFFSET_OUT_OF_RANGE), {TP: 50})
    assert fp.error_code == ErrorCode.OFFSET_OUT_OF_RANGE and fp.action == Action.FAIL
    [fp] = handle_fetch_response(fetch_response(b"", ErrorCode.NOT_LEADER_OR_FOLLOWER), {TP: 50})
    assert fp.action == Action.REFRESH_AND_RETRY
    bad = bytearray(batch(0, [b"payload"]))
    bad[-1] ^= 0xFF
    with pytest.raises(CorruptRecordError):
        handle_fetch_response(fetch_response(bytes(bad)), {TP: 0})


def test_fetch_request_is_a_sessionless_full_fetch() -> None:
    req = build_fetch_request({TP: 7, TopicPartition("u", 2): 3}, max_wait_ms=100, min_bytes=1, max_bytes=1000,
                              partition_max_bytes=500, isolation_level=0)
    got = decode_request(ApiKey.FETCH, 10, chunks_to_bytes(encode_request(ApiKey.FETCH, 10, req)))
    assert (got.replica_id, got.session_id, got.session_epoch) == (-1, 0, -1)
    assert {(t.topic, p.partition, p.fetch_offset) for t in got.topics for p in t.partitions} == {("t", 0, 7), ("u", 2, 3)}


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:9092", [("127.0.0.1", 9092)]),
    (" a:1 , b:2 ,", [("a", 1), ("b", 2)]),
    ("[::1]:9093", [("::1", 9093)]),
])
def test_bootstrap_servers_parse(text: str, expected: list[tuple[str, int]]) -> None:
    assert parse_bootstrap_servers(text) == expected


@pytest.mark.parametrize("text", ["localhost", "h:port", "h:0", ":9092", "", "h:70000"])
def test_bad_bootstrap_servers_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_bootstrap_servers(text)


def test_metadata_decoding_and_merging() -> None:
    R = MetadataResponse
    resp = R(brokers=[R.MetadataResponseBroker(node_id=1, host="h", port=1)], cluster_id="c", controller_id=1,
             topics=[R.MetadataResponseTopic(error_code=0, name="t", partitions=[
                 R.MetadataResponsePartition(partition_index=0, leader_id=1, replica_nodes=[1, 2], isr_nodes=[1]),
                 R.MetadataResponsePartition(error_code=5, partition_index=1, leader_id=-1, replica_nodes=[2, 1],
                                             isr_nodes=[])])])
    md = cluster_metadata_from_response(resp)
    assert md.leader(TopicPartition("t", 0)) == 1 and md.leader(TopicPartition("t", 1)) == -1
    assert md.leader(TopicPartition("nope", 0)) == -1
    t = md.topics["t"]
    assert t.replication_factor == 2 and t.available_partitions() == [0]
    other = cluster_metadata_from_response(R(brokers=[], controller_id=-1, topics=[
        R.MetadataResponseTopic(error_code=0, name="u", partitions=[])]))
    assert set(merge(md, other, all_topics=False).topics) == {"t", "u"}
    assert set(merge(md, other, all_topics=True).topics) == {"u"}


def test_consumer_takes_kafkas_config_names_and_defaults() -> None:
    from kafka_zk.client.consumer import Consumer

    c = Consumer.from_config({"bootstrap.servers": "127.0.0.1:9", "group.id": "g", "enable.auto.commit": "false",
                              "auto.offset.reset": "smallest", "partition.assignment.strategy":
                              "org.apache.kafka.clients.consumer.StickyAssignor,range", "max.poll.records": 10})
    assert (c.group_id, c.enable_auto_commit, c.auto_offset_reset, c.max_poll_records) == ("g", False, "earliest", 10)
    assert [a.name for a in c.assignors] == ["sticky", "range"]
    d = Consumer("127.0.0.1:9", group_id="g")  # Kafka 2.x defaults
    assert (d.enable_auto_commit, d.auto_commit_interval_ms, d.auto_offset_reset, d.max_poll_records) == (
        True, 5000, "latest", 500)
    assert [a.name for a in d.assignors] == ["range"] and d.generation() == -1
    assert not Consumer("127.0.0.1:9").enable_auto_commit  # nothing to commit to without a group
    with pytest.raises(ValueError, match="unknown consumer config 'session.timeout'; did you mean 'session.timeout.ms'"):
        Consumer("127.0.0.1:9", **{"session.timeout": 1})
    with pytest.raises(ValueError, match="subscribe\\(\\) needs a group_id"):
        Consumer("127.0.0.1:9").subscribe(["t"])
    with pytest.raises(ValueError, match="not both or neither"):
        d.subscribe(["t"], pattern="x.*")
    d.subscribe(["t"])
    with pytest.raises(ValueError, match="call unsubscribe\\(\\) before assign\\(\\)"):
        d.assign([("t", 0)])
