"""``/metrics``: the broker's state in Prometheus text format, under the names Prometheus's JMX exporter
gives Kafka 2.x (its ``kafka-2_0_0.yml`` rules, ``lowercaseOutputName: true``).

Why those names: dashboards and alerts written for a JVM Kafka (``kafka_server_replicamanager_
underreplicatedpartitions > 0``, ...) then work against kafka_zk unchanged. The exporter turns an MBean
``kafka.server:type=ReplicaManager,name=IsrShrinksPerSec`` into ``kafka_server_replicamanager_isrshrinks_total``
(a ``...PerSec`` meter's ``Count``), a gauge's ``Value`` into the lower-cased ``domain_type_name``, and a
histogram's percentiles into ``{quantile="0.99"}`` samples plus ``_count``.

Everything is read at scrape time from the components that own it (a custom collector, no second copy of
the state): the replica manager's partitions and traffic counters, the fetchers' lag, the controller's
context, the group coordinator's groups, the dispatcher's request counters and times, and the event counts
of :mod:`kafka_zk.http.counters`. Beyond Kafka, ``kafka_zk_replica_*`` gives every replica's LEO and HW.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from kafka_zk.common import event_kinds as kinds
from kafka_zk.http.counters import EventCounters
from kafka_zk.protocol.apis import ApiKey

#: Kafka's RequestMetrics histogram percentiles, as the exporter labels them
QUANTILES = (0.5, 0.75, 0.95, 0.98, 0.99, 0.999)
QUANTILE_LABELS = ("0.50", "0.75", "0.95", "0.98", "0.99", "0.999")
GROUP_STATES = {
    "Stable": "numgroupsstable",
    "PreparingRebalance": "numgroupspreparingrebalance",
    "CompletingRebalance": "numgroupscompletingrebalance",
    "Empty": "numgroupsempty",
    "Dead": "numgroupsdead",
}


def request_name(api_key: int) -> str:
    """Kafka's ``request`` tag: the ApiKeys name in camel case (``ListOffsets``, ``OffsetForLeaderEpoch``)."""
    try:
        return "".join(w.capitalize() for w in ApiKey(api_key).name.split("_"))
    except ValueError:
        return str(api_key)


class BrokerCollector(Collector):
    """Collects one broker's metrics; ``broker`` is the KafkaBroker (duck-typed: this package sits below the
    server layer, which owns the broker)."""

    def __init__(self, broker: Any, counters: EventCounters) -> None:
        self.broker = broker
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        yield from self._replica_manager()
        yield from self._topic_traffic()
        yield from self._controller()
        yield from self._requests()
        yield from self._logs_and_replicas()
        yield from self._groups()

    def _replica_manager(self) -> Iterator[Metric]:
        rm = self.broker.replica_manager
        parts = list(rm.partitions.values())
        leaders = [p for p in parts if p.is_leader]
        under = sum(1 for p in leaders if len(p.isr) < len(p.replicas))
        under_min = sum(1 for p in leaders if len(p.isr) < p.log.config.min_insync_replicas)
        yield _gauge("kafka_server_replicamanager_underreplicatedpartitions",
                     "Leader partitions whose ISR is smaller than their replica set", under)
        yield _gauge("kafka_server_replicamanager_underminisrpartitioncount",
                     "Leader partitions whose ISR is below min.insync.replicas", under_min)
        yield _gauge("kafka_server_replicamanager_partitioncount", "Replicas hosted by this broker", len(parts))
        yield _gauge("kafka_server_replicamanager_leadercount", "Partitions this broker leads", len(leaders))
        yield _counter("kafka_server_replicamanager_isrshrinks_total", "ISR shrinks written by this broker",
                       self.counters[kinds.ISR_SHRINK])
        yield _counter("kafka_server_replicamanager_isrexpands_total", "ISR expansions written by this broker",
                       self.counters[kinds.ISR_EXPAND])
        lag = GaugeMetricFamily("kafka_server_replicafetchermanager_maxlag",
                                "Largest lag (leader HW - own LEO) of a partition this broker follows",
                                labels=["clientid"])
        lag.add_metric(["Replica"], rm.fetchers.max_lag())
        yield lag

    def _topic_traffic(self) -> Iterator[Metric]:
        stats = self.broker.replica_manager.topic_stats
        for name, doc, counter in (
            ("messagesin", "Records appended as leader", stats.messages_in),
            ("bytesin", "Bytes appended as leader (produce requests)", stats.bytes_in),
            ("bytesout", "Bytes sent to consumers in fetch responses", stats.bytes_out),
        ):
            fam = CounterMetricFamily(f"kafka_server_brokertopicmetrics_{name}", doc, labels=["topic"])
            total = 0
            for topic, n in sorted(counter.items()):
                fam.add_metric([topic], n)
                total += n
            # the exporter's all-topics meter has no topic label: same family, a label-less sample
            fam.samples.append(Sample(f"kafka_server_brokertopicmetrics_{name}_total", {}, total))
            yield fam

    def _controller(self) -> Iterator[Metric]:
        ctrl = self.broker.controller
        ctx = ctrl.context if ctrl.is_active else None
        yield _gauge("kafka_controller_kafkacontroller_activecontrollercount",
                     "1 on the active controller, else 0", 1 if ctx is not None else 0)
        yield _gauge("kafka_controller_kafkacontroller_offlinepartitionscount",
                     "Partitions without a live leader (reported by the active controller)",
                     ctx.offline_partition_count() if ctx is not None else 0)
        yield _gauge("kafka_controller_kafkacontroller_globalpartitioncount",
                     "Partitions in the cluster (reported by the active controller)",
                     len(ctx.all_partitions()) if ctx is not None else 0)
        elections = Metric("kafka_controller_controllerstats_leaderelectionrateandtimems",
                           "Leader elections this broker made as controller", "summary")
        elections.add_sample("kafka_controller_controllerstats_leaderelectionrateandtimems_count", {},
                             self.counters[kinds.PARTITION_LEADER_ELECTED])
        yield elections
        yield _counter("kafka_controller_controllerstats_uncleanleaderelections_total",
                       "Unclean leader elections this broker made as controller",
                       self.counters[kinds.ELECTION_UNCLEAN])

    def _requests(self) -> Iterator[Metric]:
        dispatcher = getattr(self.broker, "dispatcher", None)
        if dispatcher is None:
            return
        stats = dispatcher.stats
        served = CounterMetricFamily("kafka_network_requestmetrics_requests",
                                     "Kafka-protocol requests served", labels=["request", "version"])
        for (key, version), n in sorted(stats.served.items()):
            served.add_metric([request_name(key), str(version)], n)
        yield served
        times = Metric("kafka_network_requestmetrics_totaltimems",
                       "Time from a request's decoding to its response (ms), over the last requests", "summary")
        for key in sorted(stats.time_count):
            name = request_name(key)
            for label, value in zip(QUANTILE_LABELS, stats.quantiles(key, QUANTILES)):
                times.add_sample("kafka_network_requestmetrics_totaltimems",
                                 {"request": name, "quantile": label}, value)
            times.add_sample("kafka_network_requestmetrics_totaltimems_count", {"request": name},
                             stats.time_count[key])
            times.add_sample("kafka_network_requestmetrics_totaltimems_sum", {"request": name},
                             stats.time_sum_ms[key])
        yield times

    def _logs_and_replicas(self) -> Iterator[Metric]:
        labels = ["topic", "partition"]
        size = GaugeMetricFamily("kafka_log_log_size", "Bytes of the partition's log on this broker", labels=labels)
        leo = GaugeMetricFamily("kafka_log_log_logendoffset", "Log end offset", labels=labels)
        lso = GaugeMetricFamily("kafka_log_log_logstartoffset", "Log start offset", labels=labels)
        segs = GaugeMetricFamily("kafka_log_log_numlogsegments", "Segments of the log", labels=labels)
        rlabels = ["topic", "partition", "replica", "source"]
        r_leo = GaugeMetricFamily("kafka_zk_replica_logendoffset",
                                  "Each replica's LEO: its own (source=local) or as its leader saw it (source=leader)",
                                  labels=rlabels)
        r_hw = GaugeMetricFamily("kafka_zk_replica_highwatermark", "Each local replica's high watermark",
                                 labels=rlabels)
        own = str(self.broker.broker_id)
        for tp, p in sorted(self.broker.replica_manager.partitions.items()):
            lg = p.log
            key = [tp.topic, str(tp.partition)]
            size.add_metric(key, lg.size_in_bytes())
            leo.add_metric(key, lg.log_end_offset)
            lso.add_metric(key, lg.log_start_offset)
            segs.add_metric(key, len(lg.segments))
            r_leo.add_metric([*key, own, "local"], lg.log_end_offset)
            r_hw.add_metric([*key, own, "local"], lg.high_watermark)
            if p.is_leader:
                for replica, f in sorted(p.followers.items()):
                    r_leo.add_metric([*key, str(replica), "leader"], f.log_end_offset)
        yield from (size, leo, lso, segs, r_leo, r_hw)

    def _groups(self) -> Iterator[Metric]:
        gc = self.broker.group_coordinator
        groups = gc.manager.current_groups() if gc.is_active else []
        by_state: Counter[str] = Counter(str(g.state) for g in groups)
        yield _gauge("kafka_coordinator_group_groupmetadatamanager_numgroups",
                     "Groups this broker coordinates", len(groups))
        for state, name in GROUP_STATES.items():
            yield _gauge(f"kafka_coordinator_group_groupmetadatamanager_{name}",
                         f"Groups this broker coordinates in state {state}", by_state[state])
        yield _gauge("kafka_coordinator_group_groupmetadatamanager_numoffsets",
                     "Committed offsets of the groups this broker coordinates",
                     sum(g.num_offsets for g in groups))


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def registry_for(broker: Any, counters: EventCounters) -> CollectorRegistry:
    """A registry of its own per broker (never the process-global one: tests run several brokers' apps)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BrokerCollector(broker, counters))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
