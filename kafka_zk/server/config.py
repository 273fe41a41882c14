"""Broker configuration: Kafka's ``server.properties`` keys, Kafka 2.x defaults.

Defaults follow Kafka 2.8 (the last ZooKeeper-only release), which means the KIP-537 timings:
``zookeeper.session.timeout.ms=18000`` and ``replica.lag.time.max.ms=30000`` (2.0–2.4 used 6000 and 10000).

Keys fall in three groups:

* keys we implement (listed in :data:`SERVER_KEYS` and the broker-level ``log.*`` defaults from
  :mod:`kafka_zk.log.config`);
* keys real ``server.properties`` files carry that only tune the JVM broker's threads and buffers
  (:data:`ACCEPTED_IGNORED`): accepted so an existing file works, and ignored;
* anything else is an error naming the key (with a "did you mean" hint), and the broker exits non-zero.

Listeners: ``listeners`` / ``advertised.listeners`` are ``NAME://host:port`` lists as in Kafka. The controller
talks to brokers over the listener named by ``control.plane.listener.name`` (KIP-291; default ``CONTROLLER``).
That listener speaks HTTP + msgpack (see docs/differences.md); when ``listeners`` does not define it the broker
binds ``CONTROLLER://<host of the first listener>:0`` and registers the port it got.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from kafka_zk.common.config import ConfigDef, ConfigError, ConfigKey, in_range, one_of, parse_properties

MAX_INT = 2**31 - 1


def _k(name: str, type_: str, default: Any, doc: str = "", validator: Any = None) -> ConfigKey:
    return ConfigKey(name, type_, default, doc, validator)


SERVER_KEYS = [
    # identity and ZooKeeper
    _k("broker.id", "int", -1, "broker id; -1 generates one from /brokers/seqid", in_range(-1, None)),
    _k("broker.id.generation.enable", "bool", True),
    _k("reserved.broker.max.id", "int", 1000, "", in_range(0, None)),
    _k("broker.rack", "string", None),
    _k("zookeeper.connect", "string", None, "host:port[,host:port...][/chroot]"),
    _k("zookeeper.session.timeout.ms", "int", 18000, "", in_range(1, None)),
    _k("zookeeper.connection.timeout.ms", "int", None),
    _k("zookeeper.max.in.flight.requests", "int", 10, "", in_range(1, None)),
    # listeners
    _k("listeners", "string", "PLAINTEXT://:9092"),
    _k("advertised.listeners", "string", None),
    _k(
        "listener.security.protocol.map",
        "string",
        "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
    ),
    _k("inter.broker.listener.name", "string", None),
    _k("security.inter.broker.protocol", "string", "PLAINTEXT", "", one_of("PLAINTEXT")),
    _k("control.plane.listener.name", "string", "CONTROLLER"),
    _k("socket.request.max.bytes", "int", 104857600, "", in_range(1, None)),
    _k("connections.max.idle.ms", "long", 600000),
    # topics
    _k("num.partitions", "int", 1, "", in_range(1, None)),
    _k("default.replication.factor", "int", 1, "", in_range(1, None)),
    _k("auto.create.topics.enable", "bool", True),
    _k("delete.topic.enable", "bool", True),
    _k("replica.placement.strategy", "string", "modulo",
       "kafka_zk only: 'modulo' (partition i replica j on broker (i+j) mod n) or 'kafka' (AdminUtils)",
       one_of("modulo", "kafka")),
    # replication
    _k("replica.lag.time.max.ms", "long", 30000, "", in_range(1, None)),
    _k("replica.fetch.wait.max.ms", "int", 500, "", in_range(0, None)),
    _k("replica.fetch.min.bytes", "int", 1),
    _k("replica.fetch.max.bytes", "int", 1048576, "", in_range(0, None)),
    _k("replica.fetch.response.max.bytes", "int", 10485760, "", in_range(0, None)),
    _k("replica.fetch.backoff.ms", "int", 1000, "", in_range(0, None)),
    _k("replica.socket.timeout.ms", "int", 30000),
    _k("num.replica.fetchers", "int", 1, "", in_range(1, None)),
    _k("replica.high.watermark.checkpoint.interval.ms", "long", 5000, "", in_range(1, None)),
    # controller
    _k("controller.socket.timeout.ms", "int", 30000),
    _k("request.timeout.ms", "int", 30000),
    _k("controlled.shutdown.enable", "bool", True),
    _k("controlled.shutdown.max.retries", "int", 3),
    _k("controlled.shutdown.retry.backoff.ms", "long", 5000),
    _k("auto.leader.rebalance.enable", "bool", True),
    _k("leader.imbalance.check.interval.seconds", "long", 300, "", in_range(1, None)),
    _k("leader.imbalance.per.broker.percentage", "int", 10, "", in_range(0, 100)),
    # group coordinator and offsets
    _k("offsets.topic.num.partitions", "int", 50, "", in_range(1, None)),
    _k("offsets.topic.replication.factor", "short", 3, "", in_range(1, None)),
    _k("offsets.topic.segment.bytes", "int", 104857600, "", in_range(1, None)),
    _k("offsets.topic.compression.codec", "int", 0, "", in_range(0, 4)),
    _k("offsets.retention.minutes", "int", 10080, "", in_range(1, None)),
    _k("offsets.retention.check.interval.ms", "long", 600000, "", in_range(1, None)),
    _k("offsets.commit.timeout.ms", "int", 5000, "", in_range(1, None)),
    _k("offsets.commit.required.acks", "short", -1, "", in_range(-1, None)),
    _k("offsets.load.buffer.size", "int", 5242880),
    _k("offset.metadata.max.bytes", "int", 4096),
    _k("group.initial.rebalance.delay.ms", "int", 3000, "", in_range(0, None)),
    _k("group.min.session.timeout.ms", "int", 6000),
    _k("group.max.session.timeout.ms", "int", 1800000),
    _k("group.max.size", "int", MAX_INT, "", in_range(1, None)),
    # producer ids
    _k("transactional.id.expiration.ms", "int", 604800000),
    _k("producer.id.expiration.ms", "int", 86400000),
    # request limits
    _k("fetch.max.bytes", "int", 57671680, "", in_range(1024, None)),
    _k("max.incremental.fetch.session.cache.slots", "int", 1000,
       "fetch sessions (KIP-227) the broker keeps; 0 disables them", in_range(0, None)),
    _k("queued.max.requests", "int", 500, "", in_range(1, None)),
    # kafka_zk extras
    _k("kafka_zk.events.capacity", "int", 10000, "kafka_zk only: events kept for /events", in_range(100, None)),
    # HTTP admin (kafka_zk only): /health, /metrics, /api/*, the dashboard; off unless http.port is set
    _k("http.host", "string", "127.0.0.1", "kafka_zk only: address of the HTTP admin listener (loopback)"),
    _k("http.port", "int", None, "kafka_zk only: port of the HTTP admin listener (0 = any free port); "
       "unset = no HTTP admin", in_range(0, 65535)),
]

# Keys that only tune the JVM broker (threads, socket buffers, metrics reporters, SSL/SASL we do not offer):
# accepted so that an existing server.properties starts, then ignored.
ACCEPTED_IGNORED = frozenset(
    {
        "num.network.threads",
        "num.io.threads",
        "num.recovery.threads.per.data.dir",
        "background.threads",
        "socket.send.buffer.bytes",
        "socket.receive.buffer.bytes",
        "socket.listen.backlog.size",
        "replica.socket.receive.buffer.bytes",
        "max.connections",
        "max.connections.per.ip",
        "queued.max.request.bytes",
        "inter.broker.protocol.version",
        "log.message.format.version",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "transaction.state.log.num.partitions",
        "metric.reporters",
        "metrics.num.samples",
        "metrics.sample.window.ms",
        "metrics.recording.level",
        "zookeeper.set.acl",
        "zookeeper.sync.time.ms",
        "authorizer.class.name",
        "log.cleaner.dedupe.buffer.size",
        "log.cleaner.io.buffer.size",
        "log.cleaner.io.max.bytes.per.second",
        "log.cleaner.threads",
        "num.replica.alter.log.dirs.threads",
        "jmx.port",
    }
)

LISTENER_RE = re.compile(r"^(?P<name>[A-Za-z0-9_]+)://(?P<host>\[[^\]]*\]|[^:/]*):(?P<port>\d+)$")


@dataclass(frozen=True)
class Listener:
    name: str
    host: str  # "" = all interfaces (as Kafka: bind all, advertise the canonical host name)
    port: int

    def __str__(self) -> str:
        return f"{self.name}://{self.host}:{self.port}"


def parse_listeners(value: str, key: str) -> list[Listener]:
    out: list[Listener] = []
    for item in (x.strip() for x in value.split(",")):
        if not item:
            continue
        m = LISTENER_RE.match(item)
        if not m:
            raise ConfigError(f"invalid value {item!r} for {key}: expected NAME://host:port, e.g. PLAINTEXT://127.0.0.1:9092")
        port = int(m["port"])
        if port > 65535:
            raise ConfigError(f"invalid port {port} in {key}: must be 0..65535")
        out.append(Listener(m["name"].upper(), m["host"].strip("[]"), port))
    names = [lst.name for lst in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"invalid value for {key}: listener names must be unique, got {', '.join(names)}")
    return out


# Broker-level log keys that have no topic-level twin.
LOG_SERVER_KEYS = [
    _k("log.dir", "string", "/tmp/kafka-logs"),
    _k("log.dirs", "string", None),
    _k("log.retention.check.interval.ms", "long", 300000, "", in_range(1, None)),
    _k("log.flush.offset.checkpoint.interval.ms", "int", 60000, "", in_range(0, None)),
    _k("log.flush.start.offset.checkpoint.interval.ms", "int", 60000, "", in_range(0, None)),
    _k("log.cleaner.enable", "bool", True),
    _k("log.cleaner.backoff.ms", "long", 15000, "", in_range(0, None)),
]


def _broker_config_def() -> ConfigDef:
    """Server keys, broker-only log keys, and every broker-level synonym of a topic config key (typed like
    its topic key, default None = "not set": the topic default applies, see kafka_zk.log.config)."""
    from kafka_zk.log.config import _UNIT_SYNONYMS, BROKER_SYNONYMS, LOG_CONFIG_DEF

    synonyms = [
        ConfigKey(broker_key, LOG_CONFIG_DEF.keys[topic_key].type, None, f"broker default for {topic_key}",
                  LOG_CONFIG_DEF.keys[topic_key].validator)
        for broker_key, topic_key in BROKER_SYNONYMS.items()
    ]
    units = [
        ConfigKey(broker_key, "long", None, f"broker default for {topic_key}")
        for topic_key, variants in _UNIT_SYNONYMS.items()
        for broker_key, _ in variants
    ]
    keys = {k.name: k for k in [*SERVER_KEYS, *LOG_SERVER_KEYS, *synonyms, *units]}
    return ConfigDef(keys.values())


class BrokerConfig:
    """Typed broker configuration. Attribute access uses the key with dots replaced (``cfg['num.partitions']``
    or ``cfg.get('num.partitions')``); derived values (listeners, log dirs) are properties."""

    def __init__(self, props: Mapping[str, Any]) -> None:
        definition = _broker_config_def()
        #: The key definitions (types, defaults, docs) — what DescribeConfigs reports beside the values.
        self.definition: ConfigDef = definition
        known = {k: v for k, v in props.items() if k not in ACCEPTED_IGNORED}
        self.values: dict[str, Any] = definition.parse(known)
        self.raw: dict[str, Any] = dict(props)
        self._validate()

    @classmethod
    def from_file(cls, path: str, overrides: Mapping[str, str] | None = None) -> "BrokerConfig":
        try:
            with open(path, encoding="utf-8") as f:
                props = parse_properties(f.read())
        except OSError as e:
            raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
        props.update(overrides or {})
        return cls(props)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    # ---- derived values -------------------------------------------------------------------------------

    @property
    def broker_id(self) -> int:
        return int(self.values["broker.id"])

    @property
    def zookeeper_connect(self) -> str:
        return str(self.values["zookeeper.connect"])

    @property
    def log_dirs(self) -> list[str]:
        dirs = self.values.get("log.dirs") or self.values["log.dir"]
        return [d.strip() for d in str(dirs).split(",") if d.strip()]

    @property
    def listeners(self) -> list[Listener]:
        return parse_listeners(self.values["listeners"], "listeners")

    @property
    def advertised_listeners(self) -> list[Listener]:
        adv = self.values.get("advertised.listeners")
        return parse_listeners(adv, "advertised.listeners") if adv else self.listeners

    @property
    def security_protocol_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in str(self.values["listener.security.protocol.map"]).split(","):
            name, sep, proto = item.strip().partition(":")
            if not sep:
                raise ConfigError(
                    f"invalid entry {item!r} in listener.security.protocol.map: expected NAME:PROTOCOL"
                )
            out[name.strip().upper()] = proto.strip().upper()
        return out

    @property
    def control_listener_name(self) -> str:
        return str(self.values["control.plane.listener.name"]).upper()

    @property
    def inter_broker_listener_name(self) -> str:
        name = self.values.get("inter.broker.listener.name")
        if name:
            return str(name).upper()
        for lst in self.listeners:
            if lst.name != self.control_listener_name:
                return lst.name
        return "PLAINTEXT"

    def _validate(self) -> None:
        if not self.values.get("zookeeper.connect"):
            raise ConfigError("missing required configuration key 'zookeeper.connect' (e.g. zookeeper.connect=127.0.0.1:2181)")
        listeners = self.listeners
        if not [lst for lst in listeners if lst.name != self.control_listener_name]:
            raise ConfigError("listeners must define at least one Kafka listener, e.g. listeners=PLAINTEXT://127.0.0.1:9092")
        proto_map = self.security_protocol_map
        for lst in listeners + self.advertised_listeners:
            proto = proto_map.get(lst.name)
            if proto is None:
                raise ConfigError(
                    f"listener {lst.name} has no entry in listener.security.protocol.map (add {lst.name}:PLAINTEXT)"
                )
            if proto != "PLAINTEXT":
                raise ConfigError(f"listener {lst.name} uses {proto}: only PLAINTEXT listeners are supported")
        adv_names = {lst.name for lst in self.advertised_listeners}
        if not adv_names <= {lst.name for lst in listeners}:
            raise ConfigError("advertised.listeners names a listener that listeners does not define")
        if self.inter_broker_listener_name not in {lst.name for lst in listeners}:
            raise ConfigError(
                f"inter.broker.listener.name={self.inter_broker_listener_name} is not one of the listeners"
            )
        bid = self.broker_id
        if bid > self.values["reserved.broker.max.id"]:
            raise ConfigError(
                f"broker.id={bid} is above reserved.broker.max.id={self.values['reserved.broker.max.id']}; "
                "use a smaller id or raise reserved.broker.max.id"
            )
        if self.values["replica.fetch.wait.max.ms"] > self.values["replica.lag.time.max.ms"]:
            raise ConfigError("replica.fetch.wait.max.ms must not exceed replica.lag.time.max.ms")
