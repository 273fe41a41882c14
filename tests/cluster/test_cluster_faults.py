"""The cluster under faults (real processes): controller failover, leader failure, bad input, idempotent retries."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

import pytest

from helpers import wait_until
from kafka_zk.client.connection import KafkaConnection
from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages.fetch import FetchRequest
from kafka_zk.protocol.messages.metadata import MetadataRequest
from kafka_zk.protocol.messages.produce import ProduceRequest
from kafka_zk.protocol.messages.producer_id import InitProducerIdRequest
from kafka_zk.record.batch import iter_batches
from kafka_zk.record.builder import build_batch
from zk_layout import KafkaZkClient

from test_cluster_interop import create_topic


def zk_client(cluster: Any) -> KafkaZkClient:
    return KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=10000).start()


def partition_state(zk: KafkaZkClient, topic: str, p: int) -> Any:
    got = zk.get_partition_state((topic, p))
    assert got is not None
    return got[0]


def produce_acked(bootstrap: str, topic: str, values: list[bytes], partition: int = 0) -> list[int]:
    from confluent_kafka import Producer

    offsets: list[int] = []
    errors: list[Any] = []

    def report(err: Any, msg: Any) -> None:
        (errors.append(err) if err else offsets.append(msg.offset()))

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "message.timeout.ms": 60000})
    for v in values:
        p.produce(topic, v, partition=partition, on_delivery=report)
    assert p.flush(90) == 0
    assert errors == []
    return offsets


@pytest.mark.slow
def test_controller_failover_keeps_serving_topic_creation(cluster_factory: Any) -> None:
    cluster = cluster_factory(3)
    zk = zk_client(cluster)
    try:
        old = zk.get_controller_id()
        epoch, _ = zk.get_controller_epoch()
        cluster.kill(old, "KILL")
        wait_until(lambda: zk.get_controller_id() not in (None, old), timeout=30,
                   message="no new controller after the old one was killed")
        new = zk.get_controller_id()
        assert zk.get_controller_epoch()[0] == epoch + 1
        # exactly one controller: every live broker's view agrees with /controller
        create_topic(cluster.bootstrap_servers, "after-failover", partitions=4, rf=2)
        states = [partition_state(zk, "after-failover", p) for p in range(4)]
        assert all(s.leader != old and s.controller_epoch == epoch + 1 for s in states)
        assert new in {b for b in range(3) if b != old}
    finally:
        zk.close()


@pytest.mark.slow
def test_leader_failure_moves_leadership_to_isr_and_clients_continue(cluster_factory: Any) -> None:
    cluster = cluster_factory(3)
    bs = cluster.bootstrap_servers
    # Lead from a broker that is not the controller: killing the controller too is the failover case, where
    # the new controller first takes the dead replica out of the ISR (leader -1, epoch + 1) and only then
    # elects (epoch + 1 again), as Kafka 2.8's onControllerFailover does.
    controller = cluster.controller_id()
    leader, *followers = [b for b in range(3) if b != controller] + [controller]
    create_topic(bs, "lf", replica_assignment=[[leader, *followers]])
    first = produce_acked(bs, "lf", [b"before-%d" % i for i in range(100)])
    zk = zk_client(cluster)
    try:
        before = wait_until(lambda: (s := partition_state(zk, "lf", 0)).leader == leader and len(s.isr) == 3 and s,
                            timeout=30, message="the preferred leader leads with a full ISR")
        assert cluster.controller_id() != before.leader
        cluster.kill(before.leader, "KILL")
        after = wait_until(lambda: (s := partition_state(zk, "lf", 0)).leader not in (-1, before.leader) and s, timeout=30,
                           message="no new leader after the old one was killed")
        assert after.leader in before.isr
        assert after.leader_epoch == before.leader_epoch + 1
        assert before.leader not in after.isr
        second = produce_acked(bs, "lf", [b"after-%d" % i for i in range(100)])
        assert min(second) > max(first)
    finally:
        zk.close()


# ---- bad input -------------------------------------------------------------------------------------------


def _send_raw(addr: tuple[str, int], payload: bytes) -> bytes:
    """Send bytes, return what the broker answered before closing (b'' = closed without an answer)."""
    with socket.create_connection(addr, timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def _frame(api_key: int, version: int, body: bytes, correlation_id: int = 7) -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation_id, 4) + b"test"
    return struct.pack(">i", len(header) + len(body)) + header + body


async def _metadata_ok(host: str, port: int) -> bool:
    conn = await KafkaConnection.open(host, port)
    try:
        resp = await conn.request(ApiKey.METADATA, MetadataRequest(topics=None), version=4)
        return len(resp.brokers) == 3
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", id="http-request"),
        pytest.param(struct.pack(">i", 200 * 1024 * 1024) + b"\0" * 16, id="frame-above-socket.request.max.bytes"),
        pytest.param(struct.pack(">i", -5), id="negative-frame-size"),
        pytest.param(_frame(9999, 0, b""), id="unknown-api-key"),
        pytest.param(_frame(3, 99, b""), id="unsupported-metadata-version"),
        pytest.param(_frame(0, 8, b"\xff\xff\xff"), id="truncated-produce-body"),
        pytest.param(_frame(3, 4, b"\x7f\xff\xff\xff"), id="metadata-array-count-beyond-frame"),
        pytest.param(struct.pack(">i", 3) + b"\x00\x03\x00", id="header-shorter-than-8-bytes"),
        pytest.param(bytes(range(256)) * 50, id="garbage"),
    ],
)
def test_malformed_input_closes_only_that_connection(shared_cluster: Any, payload: bytes) -> None:
    host, port = shared_cluster.bootstrap_servers.split(",")[0].split(":")
    addr = (host, int(port))
    # a healthy connection opened before the bad one keeps working afterwards
    healthy = socket.create_connection(addr, timeout=10)
    try:
        answer = _send_raw(addr, payload)
        assert answer == b"", f"expected the broker to close the connection, got {answer[:40]!r}"
        assert asyncio.run(_metadata_ok(host, int(port)))
        healthy.sendall(_frame(18, 0, b"", correlation_id=11))
        size = struct.unpack(">i", healthy.recv(4))[0]
        body = b""
        while len(body) < size:
            body += healthy.recv(size - len(body))
        assert struct.unpack(">i", body[:4])[0] == 11
    finally:
        healthy.close()


def test_apiversions_at_unknown_version_gets_the_v0_downgrade_answer(shared_cluster: Any) -> None:
    host, port = shared_cluster.bootstrap_servers.split(",")[0].split(":")
    answer = _send_raw((host, int(port)), _frame(18, 42, b"\x00\x00\x00"))
    size, correlation_id, error = struct.unpack(">iih", answer[:10])
    assert correlation_id == 7 and error == ErrorCode.UNSUPPORTED_VERSION
    (count,) = struct.unpack(">i", answer[10:14])
    assert count == 1 and struct.unpack(">hhh", answer[14:20]) == (18, 0, 3)


# ---- idempotent producer -----------------------------------------------------------------------------------


def test_retried_idempotent_batch_is_written_once(shared_cluster: Any) -> None:
    bs = shared_cluster.bootstrap_servers
    create_topic(bs, "idem", partitions=1, rf=3)

    async def run() -> None:
        from confluent_kafka.admin import AdminClient

        leader = AdminClient({"bootstrap.servers": bs}).list_topics("idem", timeout=5).topics["idem"].partitions[0].leader
        host, port = shared_cluster.broker(leader).bootstrap.split(":")
        conn = await KafkaConnection.open(host, int(port))
        try:
            init = await conn.request(ApiKey.INIT_PRODUCER_ID, InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000))
            assert init.error_code == 0 and init.producer_id >= 0

            def produce(seq: int, values: list[bytes]) -> Any:
                batch = build_batch([(int(time.time() * 1000), None, v) for v in values],
                                    producer_id=init.producer_id, producer_epoch=init.producer_epoch, base_sequence=seq)
                return ProduceRequest(transactional_id=None, acks=-1, timeout_ms=10000, topic_data=[
                    ProduceRequest.TopicProduceData(name="idem", partition_data=[
                        ProduceRequest.PartitionProduceData(index=0, records=batch)])])

            def result(resp: Any) -> tuple[int, int]:
                p = resp.responses[0].partition_responses[0]
                return p.error_code, p.base_offset

            first = result(await conn.request(ApiKey.PRODUCE, produce(0, [b"a", b"b", b"c"]), version=8))
            retry = result(await conn.request(ApiKey.PRODUCE, produce(0, [b"a", b"b", b"c"]), version=8))
            assert first == (0, 0)
            assert retry[0] in (ErrorCode.NONE, ErrorCode.DUPLICATE_SEQUENCE_NUMBER)
            if retry[0] == ErrorCode.NONE:
                assert retry[1] == first[1], "a retried batch must get its original offset"
            gap = result(await conn.request(ApiKey.PRODUCE, produce(10, [b"d"]), version=8))
            assert gap[0] == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
            nxt = result(await conn.request(ApiKey.PRODUCE, produce(3, [b"d"]), version=8))
            assert nxt == (0, 3)

            fetch = FetchRequest(replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, isolation_level=0,
                                 session_id=0, session_epoch=-1, topics=[FetchRequest.FetchTopic(topic="idem", partitions=[
                                     FetchRequest.FetchPartition(partition=0, fetch_offset=0, log_start_offset=-1, partition_max_bytes=1 << 20)])])
            data = (await conn.request(ApiKey.FETCH, fetch, version=10)).responses[0].partitions[0]
            values = [bytes(r.value) for b in iter_batches(data.records) for r in b.records()]
            assert values == [b"a", b"b", b"c", b"d"]
            assert data.high_watermark == 4
        finally:
            await conn.close()

    asyncio.run(run())


# ---- control plane fencing -------------------------------------------------------------------------------


def test_broker_refuses_control_requests_from_a_stale_controller_or_for_an_old_incarnation(shared_cluster: Any) -> None:
    import urllib.error
    import urllib.request

    from kafka_zk.common.control import (
        LeaderAndIsrPartitionState,
        LeaderAndIsrRequest,
        LeaderAndIsrResponse,
        decode_control,
        encode_control,
    )

    create_topic(shared_cluster.bootstrap_servers, "fenced", partitions=1, rf=3)
    zk = zk_client(shared_cluster)
    try:
        epoch, _ = zk.get_controller_epoch()
        before = partition_state(zk, "fenced", 0)
        victim = next(b for b in before.isr if b != before.leader)
        registration = zk.get_broker_and_epoch(victim)
        assert registration is not None
        broker_epoch = registration[1]
    finally:
        zk.close()
    url = f"http://127.0.0.1:{shared_cluster.broker(victim).control_port}/control/leader_and_isr"

    def send(controller_epoch: int, epoch_of_broker: int) -> LeaderAndIsrResponse:
        # "become leader of fenced-0 with a higher leader epoch": harmful if it were accepted
        req = LeaderAndIsrRequest(0, controller_epoch, epoch_of_broker, [LeaderAndIsrPartitionState(
            "fenced", 0, controller_epoch, victim, before.leader_epoch + 10, [victim], 99, list(before.isr))], [])
        with urllib.request.urlopen(urllib.request.Request(url, data=encode_control(req), method="POST"), timeout=10) as r:
            return decode_control(r.read(), expect=LeaderAndIsrResponse)

    assert send(epoch - 1, broker_epoch).error_code == ErrorCode.STALE_CONTROLLER_EPOCH
    assert send(epoch, broker_epoch - 1).error_code == ErrorCode.STALE_BROKER_EPOCH
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(urllib.request.Request(url, data=b"\x93garbage", method="POST"), timeout=10)
    assert bad.value.code == 400
    # nothing changed: the victim still follows, and producing through the real leader still works
    zk = zk_client(shared_cluster)
    try:
        assert partition_state(zk, "fenced", 0) == before
    finally:
        zk.close()
    assert produce_acked(shared_cluster.bootstrap_servers, "fenced", [b"still-fine"]) == [0]
