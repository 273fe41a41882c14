"""Legacy message formats with a real client: kafka-python pinned to ``api_version=(0, 9)`` (Produce v1 with
magic-0 messages, Fetch v1, ListOffsets v0) and ``(0, 10, 0)`` (Produce v2 / Fetch v2, magic 1 with
timestamps), plain and with gzip/snappy wrappers, through a consumer group on a real cluster; and kcat
(librdkafka) without ApiVersions at ``broker.version.fallback`` 0.8.2 / 0.9.0 (Produce/Fetch v0-v1).

What a user relies on: an old client's records are stored (up-converted to v2 batches) and read back by
old and new clients alike; records written by a new client (v2 batches, headers) are down-converted for an
old consumer; nothing is refused (no closed connection), and the old versions really were the ones used
(the brokers' ``GET /requests`` counters per client id).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from typing import Any

import pytest

from tests.helpers import unique_name

pytestmark = pytest.mark.slow

kafka = pytest.importorskip("kafka")

N = 60
PARTITIONS = 2


def stats(cluster: Any) -> list[dict[str, Any]]:
    return [
        json.loads(urllib.request.urlopen(f"http://127.0.0.1:{b.control_port}/requests", timeout=10).read())
        for b in cluster.state.brokers.values()
    ]


def served_and_refused(before: list[dict[str, Any]], cluster: Any, cid: str) -> tuple[set[str], dict[str, int]]:
    served: set[str] = set()
    refused: dict[str, int] = {}
    for b, a in zip(before, stats(cluster)):
        old = b["by_client"].get(cid, {})
        served |= {k for k, n in a["by_client"].get(cid, {}).items() if n > old.get(k, 0)}
        for k, n in a["refused"].items():
            if n > b["refused"].get(k, 0):
                refused[k] = refused.get(k, 0) + n - b["refused"].get(k, 0)
    return served, refused


def create_topic(bs: list[str], topic: str) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bs, client_id="legacy-admin")
    admin.create_topics([NewTopic(topic, PARTITIONS, 2)])
    admin.close()


def produce(bs: list[str], topic: str, cid: str, api_version: tuple[int, ...] | None, compression: str | None,
            start: int = 0) -> None:
    from kafka import KafkaProducer

    kw: dict[str, Any] = {} if api_version is None else {"api_version": api_version}
    producer = KafkaProducer(bootstrap_servers=bs, client_id=cid, acks="all", linger_ms=20,
                             compression_type=compression, **kw)
    futures = [
        producer.send(topic, key=b"k%d" % (i % 7), value=b"value-%d" % i, timestamp_ms=1_600_000_000_000 + i,
                      **({"headers": [("h", b"x")]} if api_version is None else {}))
        for i in range(start, start + N)
    ]
    producer.flush(60)
    assert all(f.succeeded() for f in futures), [f.exception for f in futures if f.failed()]
    producer.close()


def consume(bs: list[str], topic: str, cid: str, api_version: tuple[int, ...] | None, n: int) -> list[Any]:
    from kafka import KafkaConsumer

    kw: dict[str, Any] = {} if api_version is None else {"api_version": api_version}
    consumer = KafkaConsumer(topic, bootstrap_servers=bs, client_id=cid, group_id=unique_name("legacy-g"),
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=20000,
                             **kw)
    got = []
    for msg in consumer:
        got.append(msg)
        if len(got) == n:
            break
    consumer.commit()
    consumer.close()
    return got


CASES = [
    ((0, 9), None, {"0:1", "1:1", "2:0"}),
    ((0, 9), "gzip", {"0:1", "1:1"}),
    ((0, 10, 0), None, {"0:2", "1:2"}),
    ((0, 10, 0), "snappy", {"0:2", "1:2"}),
    ((0, 10, 0), "gzip", {"0:2", "1:2"}),
]


@pytest.mark.parametrize(("api_version", "compression", "want"), CASES,
                         ids=[f"{'.'.join(map(str, v))}-{c or 'none'}" for v, c, _ in CASES])
def test_old_kafka_python_produces_and_consumes_through_legacy_formats(
    shared_cluster: Any, api_version: tuple[int, ...], compression: str | None, want: set[str]
) -> None:
    if compression == "snappy":
        pytest.importorskip("snappy")
    bs = shared_cluster.bootstrap_servers.split(",")
    topic = unique_name("legacy")
    cid = unique_name("legacy-kp")
    create_topic(bs, topic)
    before = stats(shared_cluster)
    produce(bs, topic, cid, api_version, compression)
    got = consume(bs, topic, cid, api_version, N)
    served, refused = served_and_refused(before, shared_cluster, cid)
    assert refused == {}, f"the brokers closed connections on {refused}"
    assert want <= served, f"expected the legacy versions {sorted(want)}, the client used {sorted(served)}"
    assert sorted(m.value for m in got) == sorted(b"value-%d" % i for i in range(N))
    assert all(m.key == b"k%d" % (int(m.value.split(b"-")[1]) % 7) for m in got)
    if api_version >= (0, 10):  # magic 1 keeps the producer's timestamps end to end
        assert {m.timestamp - int(m.value.split(b"-")[1]) for m in got} == {1_600_000_000_000}
    # a modern consumer reads the up-converted v2 batches with the same records and offsets
    modern = consume(bs, topic, unique_name("modern-kp"), None, N)
    assert sorted((m.partition, m.offset, m.value) for m in modern) == sorted(
        (m.partition, m.offset, m.value) for m in got
    )


@pytest.mark.parametrize("api_version", [(0, 9), (0, 10, 0)], ids=["0.9", "0.10.0"])
def test_old_consumer_reads_what_a_modern_producer_wrote(shared_cluster: Any, api_version: tuple[int, ...]) -> None:
    bs = shared_cluster.bootstrap_servers.split(",")
    topic = unique_name("legacy-down")
    cid = unique_name("legacy-old")
    create_topic(bs, topic)
    produce(bs, topic, unique_name("modern-p"), None, "gzip")
    before = stats(shared_cluster)
    got = consume(bs, topic, cid, api_version, N)
    served, refused = served_and_refused(before, shared_cluster, cid)
    assert refused == {}
    assert ("1:1" if api_version == (0, 9) else "1:2") in served
    assert sorted(m.value for m in got) == sorted(b"value-%d" % i for i in range(N))
    offsets: dict[int, list[int]] = {}
    for m in got:
        offsets.setdefault(m.partition, []).append(m.offset)
    assert all(o == list(range(len(o))) for o in offsets.values())  # each record once, in offset order


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed (apt-get install kcat)")
@pytest.mark.parametrize(("fallback", "want"), [("0.8.2", {"0:0", "1:0", "2:0"}), ("0.9.0", {"0:1", "1:1"})])
def test_kcat_without_api_versions_uses_legacy_formats(shared_cluster: Any, fallback: str, want: set[str]) -> None:
    """librdkafka told not to ask ApiVersions picks the versions of ``broker.version.fallback``: a 0.8.2/0.9
    broker's Produce/Fetch/ListOffsets v0-v1 and magic-0 messages, gzip-compressed here. (From a fallback of 0.10
    on librdkafka asks ApiVersions anyway.)"""
    bs = shared_cluster.bootstrap_servers
    topic = unique_name("legacy-kcat")
    cid = unique_name("legacy-kcat")
    create_topic(bs.split(","), topic)
    x = ["-X", f"client.id={cid}", "-X", "api.version.request=false", "-X", f"broker.version.fallback={fallback}"]
    before = stats(shared_cluster)
    lines = b"".join(b"k%d\tv%d\n" % (i % 10, i) for i in range(N))
    subprocess.run(["kcat", "-P", "-b", bs, "-t", topic, "-K", "\t", "-z", "gzip", *x], input=lines, check=True,
                   timeout=120)
    out = subprocess.run(["kcat", "-C", "-b", bs, "-t", topic, "-e", "-q", "-K", "\t", *x], capture_output=True,
                         check=True, timeout=120).stdout
    served, refused = served_and_refused(before, shared_cluster, cid)
    assert refused == {}
    assert want <= served, f"expected {sorted(want)}, kcat used {sorted(served)}"
    assert sorted(out.splitlines()) == sorted(b"k%d\tv%d" % (i % 10, i) for i in range(N))
