"""The HTTP admin's pieces without sockets: config keys, request names, counters, the Prometheus exposition
(parsed back with prometheus_client's parser) over a stand-in broker, and the groups' lag arithmetic."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.config import ConfigError
from kafka_zk.common.events import EventBus
from kafka_zk.common.tp import TopicPartition
from kafka_zk.http.cluster_view import _with_lag
from kafka_zk.http.counters import EventCounters
from kafka_zk.http.metrics import exposition, registry_for, request_name
from kafka_zk.replication.topic_stats import BrokerTopicStats
from kafka_zk.server.config import BrokerConfig
from kafka_zk.server.request_stats import RequestStats


def test_http_admin_is_off_by_default_and_on_loopback_when_a_port_is_set() -> None:
    base = {"zookeeper.connect": "127.0.0.1:2181", "log.dirs": "/tmp/x"}
    assert BrokerConfig(base)["http.port"] is None
    cfg = BrokerConfig({**base, "http.port": "8080"})
    assert cfg["http.port"] == 8080 and cfg["http.host"] == "127.0.0.1"
    with pytest.raises(ConfigError, match="http.port"):
        BrokerConfig({**base, "http.port": "70000"})


def test_request_names_are_kafkas_camel_case() -> None:
    assert request_name(0) == "Produce"
    assert request_name(2) == "ListOffsets"
    assert request_name(23) == "OffsetForLeaderEpoch"
    assert request_name(9999) == "9999"


def test_request_time_quantiles_come_from_the_recent_window() -> None:
    stats = RequestStats()
    assert stats.quantiles(0, (0.5,)) == [0.0]
    for ms in range(1, 101):
        stats.record_time(0, float(ms))
    assert stats.time_count[0] == 100 and stats.time_sum_ms[0] == sum(range(1, 101))
    p50, p99 = stats.quantiles(0, (0.5, 0.99))
    assert p50 == 51.0 and p99 == 100.0


def test_event_counters_count_only_what_was_emitted_while_attached() -> None:
    bus = EventBus(1)
    counters = EventCounters()
    bus.emit(kinds.ISR_SHRINK, topic="t", partition=0)
    counters.attach(bus)
    bus.emit(kinds.ISR_SHRINK, topic="t", partition=0)
    bus.emit(kinds.ISR_EXPAND, topic="t", partition=0)
    bus.emit(kinds.REPLICA_LEO, topic="t", partition=0)
    counters.detach()
    bus.emit(kinds.ISR_EXPAND, topic="t", partition=0)
    assert counters[kinds.ISR_SHRINK] == 1 and counters[kinds.ISR_EXPAND] == 1
    assert counters[kinds.REPLICA_LEO] == 0


def _fake_broker() -> Any:
    """The attributes the collector reads, shaped as KafkaBroker's (one leader partition with a lagging
    follower outside the ISR)."""
    log = SimpleNamespace(log_end_offset=10, high_watermark=7, log_start_offset=0, segments=[1, 2],
                          size_in_bytes=lambda: 1234, config=SimpleNamespace(min_insync_replicas=2))
    part = SimpleNamespace(is_leader=True, isr=(1,), replicas=(1, 2), log=log,
                           followers={2: SimpleNamespace(log_end_offset=7)})
    stats = BrokerTopicStats()
    stats.record_append("t", 10, 1000)
    stats.record_fetch_out("t", 300)
    rm = SimpleNamespace(partitions={TopicPartition("t", 0): part}, topic_stats=stats,
                         fetchers=SimpleNamespace(max_lag=lambda: 4))
    ctx = SimpleNamespace(offline_partition_count=lambda: 2, all_partitions=lambda: [1, 2, 3])
    requests = RequestStats()
    requests.count_served(0, 8, "rdkafka")
    requests.record_time(0, 3.0)
    return SimpleNamespace(
        broker_id=1,
        replica_manager=rm,
        controller=SimpleNamespace(is_active=True, context=ctx),
        dispatcher=SimpleNamespace(stats=requests),
        group_coordinator=SimpleNamespace(is_active=True, manager=SimpleNamespace(current_groups=lambda: [
            SimpleNamespace(state="Stable", num_offsets=3), SimpleNamespace(state="Empty", num_offsets=1)])),
    )


def test_metrics_exposition_parses_with_the_jmx_exporter_names() -> None:
    counters = EventCounters()
    counters.counts[kinds.PARTITION_LEADER_ELECTED] = 5
    text = exposition(registry_for(_fake_broker(), counters)).decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert samples[("kafka_server_replicamanager_underreplicatedpartitions", ())] == 1
    assert samples[("kafka_server_replicamanager_underminisrpartitioncount", ())] == 1
    assert samples[("kafka_controller_kafkacontroller_activecontrollercount", ())] == 1
    assert samples[("kafka_controller_kafkacontroller_offlinepartitionscount", ())] == 2
    assert samples[("kafka_controller_controllerstats_leaderelectionrateandtimems_count", ())] == 5
    assert samples[("kafka_server_brokertopicmetrics_messagesin_total", (("topic", "t"),))] == 10
    assert samples[("kafka_server_brokertopicmetrics_messagesin_total", ())] == 10
    assert samples[("kafka_server_brokertopicmetrics_bytesout_total", (("topic", "t"),))] == 300
    assert samples[("kafka_network_requestmetrics_requests_total", (("request", "Produce"), ("version", "8")))] == 1
    assert samples[("kafka_network_requestmetrics_totaltimems",
                    (("quantile", "0.99"), ("request", "Produce")))] == 3.0
    assert samples[("kafka_server_replicafetchermanager_maxlag", (("clientid", "Replica"),))] == 4
    assert samples[("kafka_log_log_size", (("partition", "0"), ("topic", "t")))] == 1234
    assert samples[("kafka_zk_replica_highwatermark",
                    (("partition", "0"), ("replica", "1"), ("source", "local"), ("topic", "t")))] == 7
    assert samples[("kafka_zk_replica_logendoffset",
                    (("partition", "0"), ("replica", "2"), ("source", "leader"), ("topic", "t")))] == 7
    assert samples[("kafka_coordinator_group_groupmetadatamanager_numgroups", ())] == 2
    assert samples[("kafka_coordinator_group_groupmetadatamanager_numgroupsstable", ())] == 1
    assert samples[("kafka_coordinator_group_groupmetadatamanager_numoffsets", ())] == 4


def test_group_lag_is_the_high_watermark_minus_the_committed_offset() -> None:
    topics = [{"name": "t", "partitions": [{"partition": 0, "high_watermark": 30},
                                           {"partition": 1, "high_watermark": None}]}]
    groups = [{"group": "g", "state": "Empty", "offsets": {"t:0": 12, "t:1": 5, "gone:0": 3}}]
    (g,) = _with_lag(groups, topics)
    assert g["total_lag"] == 18
    assert [p["lag"] for p in g["partitions"]] == [18, None, None]
