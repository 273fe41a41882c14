"""The HTTP admin every broker serves (``http.port``, set by ``kafka-zk cluster up``), against one real
3-broker cluster driven by real clients: /health, /metrics under the JMX exporter's names (parsed by
prometheus_client's own parser, counters moving when kafka-python produces and confluent-kafka consumes),
/api/cluster equal to what ZooKeeper holds, /api/groups lag, /api/events and /api/stream."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any, Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_CLUSTER_OVERRIDES
from tests.helpers import unique_name, wait_until
from zk_layout.client import KafkaZkClient
from zk_layout.znodes import TopicPartition

JMX_NAMES = [
    "kafka_server_replicamanager_underreplicatedpartitions",
    "kafka_controller_kafkacontroller_offlinepartitionscount",
    "kafka_controller_kafkacontroller_activecontrollercount",
    "kafka_server_replicamanager_isrshrinks",
    "kafka_server_replicamanager_isrexpands",
    "kafka_server_brokertopicmetrics_messagesin",
    "kafka_server_brokertopicmetrics_bytesin",
    "kafka_server_brokertopicmetrics_bytesout",
    "kafka_network_requestmetrics_requests",
    "kafka_network_requestmetrics_totaltimems",
    "kafka_controller_controllerstats_leaderelectionrateandtimems",
    "kafka_controller_controllerstats_uncleanleaderelections",
    "kafka_server_replicafetchermanager_maxlag",
    "kafka_log_log_size",
    "kafka_log_log_logendoffset",
    "kafka_coordinator_group_groupmetadatamanager_numgroups",
    "kafka_zk_replica_logendoffset",
    "kafka_zk_replica_highwatermark",
]


@pytest.fixture(scope="module")
def cluster(zk_connect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from kafka_zk.launch.cluster import LocalCluster

    c = LocalCluster(tmp_path_factory.mktemp("http-admin-cluster"))
    try:
        c.up(3, zookeeper=f"{zk_connect}/http-admin-{uuid.uuid4().hex[:10]}", overrides=TEST_CLUSTER_OVERRIDES)
        yield c
    finally:
        c.down(grace_s=15)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_json(url: str) -> Any:
    status, body = get(url)
    assert status == 200, body
    return json.loads(body)


def scrape(cluster: Any) -> list[dict[str, Any]]:
    """Every broker's /metrics, parsed: ``[{(name, frozenset(labels)): value}]``."""
    out = []
    for b in cluster:
        status, body = get(f"{b.dashboard}metrics")
        assert status == 200
        samples: dict[Any, float] = {}
        for fam in text_string_to_metric_families(body.decode()):
            for s in fam.samples:
                samples[(s.name, frozenset(s.labels.items()))] = s.value
        out.append(samples)
    return out


def total(scrapes: list[dict[Any, float]], name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for s in scrapes for (n, ls), v in s.items() if n == name and want <= set(ls)
               and (labels or not ls))


def create_topic(cluster: Any, topic: str, partitions: int = 3, rf: int = 3) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers, client_id="http-admin-test")
    try:
        admin.create_topics([NewTopic(topic, partitions, rf)])
    finally:
        admin.close()


def produce(cluster: Any, topic: str, n: int) -> None:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all")
    try:
        for i in range(n):
            p.send(topic, key=str(i).encode(), value=b"v" * 50)
        p.flush(30)
    finally:
        p.close()


def test_every_broker_reports_healthy_and_names_the_dashboard(cluster: Any) -> None:
    for b in cluster:
        assert b.dashboard is not None
        health = get_json(f"{b.dashboard}health")
        assert health["status"] == "ok" and health["broker_id"] == b.broker_id
    status, page = get(next(iter(cluster)).dashboard)
    assert status == 200 and b"/static/dashboard.js" in page
    assert get(f"{next(iter(cluster)).dashboard}static/dashboard.js")[0] == 200


def test_metrics_parse_with_jmx_exporter_names_and_counters_move_when_records_are_produced(cluster: Any) -> None:
    topic = unique_name("metrics")
    create_topic(cluster, topic)
    before = scrape(cluster)
    names = {n for s in before for (n, _) in s}
    for name in JMX_NAMES:
        assert any(n == name or n.startswith(name + "_") for n in names), f"{name} missing from /metrics"
    assert total(before, "kafka_controller_kafkacontroller_activecontrollercount") == 1
    assert total(before, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == 0
    produce(cluster, topic, 120)
    after = scrape(cluster)
    assert total(after, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == 120
    assert total(after, "kafka_server_brokertopicmetrics_bytesin_total", topic=topic) > 120 * 50
    assert (total(after, "kafka_network_requestmetrics_requests_total", request="Produce")
            > total(before, "kafka_network_requestmetrics_requests_total", request="Produce"))
    assert total(after, "kafka_network_requestmetrics_totaltimems_count", request="Produce") > 0
    assert total(after, "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) == 0

    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": unique_name("g"),
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        c.subscribe([topic])
        got: list[Any] = []

        def consumed_all() -> bool:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got.append(m)
            return len(got) >= 120

        wait_until(consumed_all, timeout=60, message="confluent-kafka consuming the records")
    finally:
        c.close()
    assert total(scrape(cluster), "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) > 120 * 50
    # per replica: every one of the 3 replicas of each partition reports its LEO, summing to 3 x 120
    final = scrape(cluster)
    leo = [v for s in final for (n, ls), v in s.items()
           if n == "kafka_zk_replica_logendoffset" and ("topic", topic) in ls and ("source", "local") in ls]
    assert len(leo) == 9
    wait_until(lambda: sum(v for s in scrape(cluster) for (n, ls), v in s.items()
                           if n == "kafka_log_log_logendoffset" and ("topic", topic) in ls) == 3 * 120, timeout=30)


def test_api_cluster_matches_zookeeper(cluster: Any) -> None:
    topic = unique_name("view")
    create_topic(cluster, topic, partitions=2)
    produce(cluster, topic, 40)
    zk = KafkaZkClient(cluster.zookeeper_connect).start(timeout_s=30)
    try:
        brokers = zk.get_all_brokers()
        controller = zk.get_controller_id()
        states = zk.get_partition_states([TopicPartition(topic, p) for p in range(2)])
        assignment = zk.get_topic_assignment(topic)
        assert assignment is not None
        for b in cluster:
            view = get_json(f"{b.dashboard}api/cluster")
            assert view["served_by"] == b.broker_id
            assert view["controller"] == controller
            assert {x["id"] for x in view["brokers"]} == set(brokers)
            for x in view["brokers"]:
                assert x["controller"] == (x["id"] == controller)
                reg = brokers[x["id"]][0]
                assert x["endpoints"] == {e.listener_name: f"{e.host}:{e.port}" for e in reg.endpoints}
                assert x["http"] == cluster.broker(x["id"]).dashboard
            parts = {p["partition"]: p for t in view["topics"] if t["name"] == topic for p in t["partitions"]}
            assert set(parts) == {0, 1}
            for p, part in parts.items():
                st = states[TopicPartition(topic, p)][0]
                assert part["leader"] == st.leader
                assert part["leader_epoch"] == st.leader_epoch
                assert part["isr"] == list(st.isr)
                assert part["replicas"] == list(assignment[0].partitions[p])
        # every replica's LEO and HW, and the leader's view of its followers, converge on what was written
        def converged() -> bool:
            view = get_json(f"{next(iter(cluster)).dashboard}api/cluster")
            parts = [p for t in view["topics"] if t["name"] == topic for p in t["partitions"]]
            rows = [r for p in parts for r in p["replica_state"]]
            return (len(rows) == 6 and sum(p["high_watermark"] for p in parts) == 40
                    and all(r["log_end_offset"] == r["high_watermark"] == r["leo_seen_by_leader"] for r in rows)
                    and sum(r["log_end_offset"] for r in rows) == 3 * 40)
        wait_until(converged, timeout=30, message="replica LEO/HW in /api/cluster")
    finally:
        zk.close()


def test_api_groups_shows_committed_offsets_and_lag(cluster: Any) -> None:
    from kafka import KafkaConsumer, TopicPartition as KTP
    from kafka.structs import OffsetAndMetadata

    topic, group = unique_name("lag"), unique_name("grp")
    create_topic(cluster, topic, partitions=1)
    produce(cluster, topic, 30)
    c = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id=group, enable_auto_commit=False)
    try:
        c.commit({KTP(topic, 0): OffsetAndMetadata(12, "", -1)})
    finally:
        c.close()

    def lag() -> Any:
        for b in cluster:
            for g in get_json(f"{b.dashboard}api/groups"):
                if g["group"] == group:
                    return g
        return None

    g = wait_until(lambda: (x := lag()) is not None and x["total_lag"] == 18 and x, timeout=30)
    assert g["partitions"] == [{"topic": topic, "partition": 0, "committed": 12, "log_end_offset": 30, "lag": 18}]


def test_api_events_and_stream_show_the_controllers_decisions(cluster: Any) -> None:
    topic = unique_name("events")
    create_topic(cluster, topic, partitions=1)
    url = next(iter(cluster)).dashboard

    def elected() -> list[dict[str, Any]]:
        return [e for e in get_json(f"{url}api/events")
                if e["kind"] == "partition.leader_elected" and e.get("topic") == topic]

    ev = wait_until(elected, timeout=30)[0]
    assert ev["time_ms"] > 0 and ev["broker_id"] == get_json(f"{url}api/cluster")["controller"]
    assert any(e["kind"] == "controller.elected" for e in get_json(f"{url}api/events"))
    with urllib.request.urlopen(f"{url}api/stream", timeout=30) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        # the stream sends the cluster at once and again whenever it changed: the new topic shows up
        while True:
            line = resp.readline()
            assert line, "stream ended"
            if line == b"event: cluster\n":
                data = resp.readline()
                assert data.startswith(b"data: ")
                snap = json.loads(data[len(b"data: "):])
                if topic in {t["name"] for t in snap["topics"]}:
                    break
