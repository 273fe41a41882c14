"""APIs Kafka 2.8 has and we deliberately do not serve (transactions, SASL, ACLs, tokens, quotas, ...): they
are not advertised, a request for one closes that connection only (as Kafka does for a key it does not know),
and a transactional producer gets a clear error instead of hanging; the broker keeps serving everybody
else."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer

from kafka_zk.client.connection import KafkaConnection
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.kafka_versions import KAFKA_2_8, NOT_SERVED
from kafka_zk.protocol.messages import ApiVersionsRequest, MetadataRequest
from kafka_zk.server.dispatch import supported_api_versions
from tests.helpers import unique_name

pytestmark = pytest.mark.slow


def test_unserved_apis_are_not_advertised() -> None:
    advertised = supported_api_versions()
    assert not set(NOT_SERVED) & set(advertised)
    assert set(NOT_SERVED) <= set(KAFKA_2_8)
    for key in (
        ApiKey.END_TXN,
        ApiKey.ADD_PARTITIONS_TO_TXN,
        ApiKey.SASL_HANDSHAKE,
        ApiKey.DESCRIBE_ACLS,
        ApiKey.CREATE_DELEGATION_TOKEN,
        ApiKey.DESCRIBE_CLIENT_QUOTAS,
    ):
        assert key in NOT_SERVED, key


def frame(api_key: int, version: int, correlation_id: int, body: bytes = b"") -> bytes:
    """A request frame with header v1 (client id "t") for an API we may not even declare."""
    payload = api_key.to_bytes(2, "big") + version.to_bytes(2, "big") + correlation_id.to_bytes(4, "big")
    payload += (1).to_bytes(2, "big") + b"t" + body
    return len(payload).to_bytes(4, "big") + payload


def test_a_request_for_an_unserved_api_closes_only_that_connection(shared_cluster: Any) -> None:
    asyncio.run(_closes_only_that_connection(shared_cluster))


async def _closes_only_that_connection(cluster: Any) -> None:
    broker = next(iter(cluster.state.brokers.values()))
    host, port = broker.bootstrap.rsplit(":", 1)
    bystander = await KafkaConnection.open(host, int(port))
    try:
        for key, version in (
            (ApiKey.END_TXN, 0),
            (ApiKey.SASL_HANDSHAKE, 1),
            (ApiKey.DESCRIBE_ACLS, 1),
            (999, 0),
        ):
            conn = await KafkaConnection.open(host, int(port))
            await conn.send_raw(frame(key, version, 77, b"\x00\x01x\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
            await conn.wait_closed(timeout=10)  # no answer: the broker closed the connection
            await conn.close()
            resp = await bystander.request(ApiKey.METADATA, MetadataRequest(topics=[]), version=1)
            assert resp.brokers, "the broker kept serving the other connection"
        resp = await bystander.request(ApiKey.API_VERSIONS, ApiVersionsRequest(), version=0)
        assert resp.error_code == 0 and ApiKey.END_TXN not in {k.api_key for k in resp.api_keys}
    finally:
        await bystander.close()
    stats = json.loads(
        urllib.request.urlopen(f"http://127.0.0.1:{broker.control_port}/requests", timeout=10).read()
    )
    assert {"26:0", "17:1", "29:1", "999:0"} <= set(stats["refused"]), stats


def test_transactional_producer_gets_a_clear_error(shared_cluster: Any) -> None:
    producer = Producer(
        {
            "bootstrap.servers": shared_cluster.bootstrap_servers,
            "transactional.id": unique_name("txn"),
            "socket.timeout.ms": 10000,
        }
    )
    started = time.monotonic()
    with pytest.raises(KafkaException) as raised:
        producer.init_transactions(30)
    elapsed = time.monotonic() - started
    error: KafkaError = raised.value.args[0]
    print(f"init_transactions -> {error.name()}: {error.str()} after {elapsed:.1f}s")
    assert error.fatal() and not error.retriable(), error
    assert error.code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, error
    assert "transactions are not supported by this broker" in error.str(), error
    assert elapsed < 20, "the error must come promptly, not as a timeout"
    # the broker stays up: an ordinary idempotent producer on the same cluster still works
    topic = unique_name("after-txn")
    plain = Producer({"bootstrap.servers": shared_cluster.bootstrap_servers, "enable.idempotence": True})
    delivered: list[Any] = []
    plain.produce(topic, b"still here", on_delivery=lambda err, msg: delivered.append(err))
    assert plain.flush(30) == 0 and delivered == [None]
