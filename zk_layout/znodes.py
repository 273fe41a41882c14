"""Typed records for every znode payload Kafka 2.x writes, with its exact JSON (Kafka's ``ZkData.scala``).

Theory of operation
-------------------
Each record is a frozen dataclass with ``to_json() -> bytes`` (what we write) and
``from_json(data, path) -> record`` (what we accept). Writing follows Kafka 2.x byte-for-byte in field
names, ``version`` numbers and *value types*, because real Kafka tooling must be able to read our tree:

* compact JSON (Jackson writes no spaces), keys as Kafka orders them (readers must not care);
* the traps: ``/controller`` ``timestamp`` and ``/brokers/ids/<id>`` ``timestamp`` are **strings** of
  milliseconds; ``/cluster/id`` ``version`` is the **string** ``"1"``; partition ids are **string** keys in
  ``/brokers/topics/<t>``; producer-id ``block_start``/``block_end`` are **strings**; config values are
  strings; ``/controller_epoch`` and old-consumer offsets are bare decimal text, not JSON.

Reading is as lenient as Kafka's own decoders (older versions are accepted: broker registrations v1-v5,
topic assignments v1-v3, config-change notifications v1/v2 and the 0.8 bare-string form) and strict
about everything else: a payload that is not JSON, lacks a required field or has a field of the wrong
type raises :class:`~zk_layout.errors.ZnodeDecodeError` naming the path and the field. Identity that
Kafka keeps in the *path* (broker id, topic, partition, config entity) is parsed from ``path``.

ZooKeeper metadata (zkVersion, czxid) is not part of a record; the client returns it beside the record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

from zk_layout import paths
from zk_layout.errors import ZnodeDecodeError

__all__ = [
    "TopicPartition",
    "Endpoint",
    "BrokerRegistration",
    "TopicAssignment",
    "PartitionState",
    "ControllerInfo",
    "ControllerEpoch",
    "ClusterId",
    "ProducerIdBlock",
    "EntityConfig",
    "ConfigChangeNotification",
    "IsrChangeNotification",
    "LogDirEventNotification",
    "ReassignPartitions",
    "PreferredReplicaElection",
    "ConsumerOffset",
    "ConsumerRegistration",
    "ConsumerPartitionOwner",
    "FeatureInfo",
    "SECURITY_PROTOCOLS",
    "NO_LEADER",
    "PRODUCER_ID_BLOCK_SIZE",
]

# Leader id written when a partition has no leader (LeaderAndIsr.NoLeader).
NO_LEADER = -1
# ProducerIdManager.PidBlockSize.
PRODUCER_ID_BLOCK_SIZE = 1000
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


class TopicPartition(NamedTuple):
    """Same shape as ``kafka_zk.common.tp.TopicPartition`` (tuples compare equal), kept here because
    ``zk_layout`` imports nothing from ``kafka_zk``."""

    topic: str
    partition: int


# ---------------------------------------------------------------------------------------------------
# JSON helpers: every failure names the path and the field.


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _loads(data: bytes | None, path: str) -> Any:
    if data is None or len(data) == 0:
        raise ZnodeDecodeError(path, "", "no payload (expected JSON)")
    try:
        return json.loads(bytes(data).decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ZnodeDecodeError(path, "", f"payload is not UTF-8 ({e.reason} at byte {e.start})") from None
    except ValueError as e:
        raise ZnodeDecodeError(path, "", f"payload is not JSON ({e})") from None


def _obj(value: Any, path: str, fld: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ZnodeDecodeError(path, fld, f"expected a JSON object, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


_MISSING = object()


def _field(obj: dict[str, Any], name: str, path: str, prefix: str = "") -> Any:
    value = obj.get(name, _MISSING)
    if value is _MISSING:
        raise ZnodeDecodeError(path, prefix + name, "required field is missing")
    return value


def _int(value: Any, path: str, fld: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ZnodeDecodeError(path, fld, f"expected an integer, got {_kind(value)}")
    return value


def _str(value: Any, path: str, fld: str) -> str:
    if not isinstance(value, str):
        raise ZnodeDecodeError(path, fld, f"expected a string, got {_kind(value)}")
    return value


def _int_or_numeric_str(value: Any, path: str, fld: str) -> int:
    """Kafka writes some numbers as strings (timestamps, producer-id blocks); accept both on read."""
    if isinstance(value, str):
        if re.fullmatch(r"-?[0-9]+", value):
            return int(value)
        raise ZnodeDecodeError(path, fld, f"expected a decimal string, got {value!r}")
    return _int(value, path, fld)


def _int_list(value: Any, path: str, fld: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise ZnodeDecodeError(path, fld, f"expected an array of integers, got {_kind(value)}")
    return tuple(_int(v, path, f"{fld}[{i}]") for i, v in enumerate(value))


def _version(obj: dict[str, Any], path: str, supported: Iterable[int]) -> int:
    v = _int(_field(obj, "version", path), path, "version")
    allowed = tuple(supported)
    if v not in allowed:
        raise ZnodeDecodeError(path, "version", f"unsupported version {v} (expected one of {list(allowed)})")
    return v


def _partition_map(value: Any, path: str, fld: str) -> dict[int, tuple[int, ...]]:
    obj = _obj(value, path, fld)
    out: dict[int, tuple[int, ...]] = {}
    for key, replicas in obj.items():
        if not re.fullmatch(r"[0-9]+", key):
            raise ZnodeDecodeError(path, f"{fld}.{key}", "partition keys must be decimal strings")
        out[int(key)] = _int_list(replicas, path, f"{fld}.{key}")
    return dict(sorted(out.items()))


def _partition_list(value: Any, path: str, fld: str = "partitions") -> list[tuple[TopicPartition, dict[str, Any]]]:
    if not isinstance(value, list):
        raise ZnodeDecodeError(path, fld, f"expected an array, got {_kind(value)}")
    out = []
    for i, item in enumerate(value):
        o = _obj(item, path, f"{fld}[{i}]")
        topic = _str(_field(o, "topic", path, f"{fld}[{i}]."), path, f"{fld}[{i}].topic")
        part = _int(_field(o, "partition", path, f"{fld}[{i}]."), path, f"{fld}[{i}].partition")
        out.append((TopicPartition(topic, part), o))
    return out


def _path_parts(path: str, pattern: str, what: str) -> re.Match[str]:
    m = re.fullmatch(pattern, path)
    if m is None:
        raise ZnodeDecodeError(path, "", f"not a {what} path")
    return m


def _tp_json(tps: Iterable[TopicPartition]) -> list[dict[str, Any]]:
    return [{"topic": tp[0], "partition": tp[1]} for tp in tps]


# ---------------------------------------------------------------------------------------------------
# /brokers/ids/<id>

_ENDPOINT_RE = re.compile(r"^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One advertised listener: ``<LISTENER_NAME>://host:port`` plus its security protocol."""

    listener_name: str
    host: str
    port: int
    security_protocol: str = "PLAINTEXT"

    @property
    def connection_string(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.listener_name}://{host}:{self.port}"

    @classmethod
    def parse(cls, connection_string: str, protocol_map: Mapping[str, str] | None = None) -> "Endpoint":
        """Parse ``NAME://host:port``; the protocol comes from ``protocol_map`` or, as Kafka does for
        registrations before v4, from the listener name itself. Raises ValueError."""
        m = _ENDPOINT_RE.match(connection_string)
        if m is None:
            raise ValueError(f"not a listener endpoint: {connection_string!r} (expected NAME://host:port)")
        name, host, port = m.group(1), m.group(2), int(m.group(3))
        if protocol_map is not None and name in protocol_map:
            protocol = protocol_map[name]
        elif name.upper() in SECURITY_PROTOCOLS:
            protocol = name.upper()
        else:
            raise ValueError(f"no security protocol known for listener {name!r}")
        return cls(name, host, port, protocol)


@dataclass(frozen=True, slots=True)
class BrokerRegistration:
    """``/brokers/ids/<id>`` (ephemeral). Written as v4 (Kafka 2.0-2.6) or v5 (2.7+, adds ``features``).

    ``host``/``port`` in the JSON are those of the first PLAINTEXT endpoint (``null``/-1 when there is none),
    as Kafka writes them for old clients. ``timestamp_ms`` is written as a string.
    """

    broker_id: int
    endpoints: tuple[Endpoint, ...]
    timestamp_ms: int
    jmx_port: int = -1
    rack: str | None = None
    version: int = 4
    # v5 only: supported feature name -> (min_version, max_version); Kafka 2.7/2.8 register {}.
    features: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    WRITE_VERSIONS = (4, 5)

    @property
    def plaintext_endpoint(self) -> Endpoint | None:
        return next((e for e in self.endpoints if e.security_protocol == "PLAINTEXT"), None)

    @property
    def host(self) -> str | None:
        ep = self.plaintext_endpoint
        return ep.host if ep else None

    @property
    def port(self) -> int:
        ep = self.plaintext_endpoint
        return ep.port if ep else -1

    def endpoint(self, listener_name: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.listener_name == listener_name), None)

    def to_json(self) -> bytes:
        if self.version not in self.WRITE_VERSIONS:
            raise ValueError(f"broker registration version {self.version} cannot be written (use 4 or 5)")
        obj: dict[str, Any] = {
            "listener_security_protocol_map": {e.listener_name: e.security_protocol for e in self.endpoints},
            "endpoints": [e.connection_string for e in self.endpoints],
            "jmx_port": self.jmx_port,
            "host": self.host,
            "timestamp": str(self.timestamp_ms),
            "port": self.port,
            "version": self.version,
        }
        if self.rack is not None:
            obj["rack"] = self.rack
        if self.version >= 5:
            obj["features"] = {
                name: {"min_version": lo, "max_version": hi} for name, (lo, hi) in sorted(self.features.items())
            }
        return _dumps(obj)

    @classmethod
    def from_json(cls, data: bytes | None, path: str) -> "BrokerRegistration":
        broker_id = int(_path_parts(path, r"/brokers/ids/([0-9]+)", "/brokers/ids/<id>").group(1))
        obj = _obj(_loads(data, path), path)
        version = _version(obj, path, range(1, 6))
        jmx_port = _int(obj.get("jmx_port", -1), path, "jmx_port")
        ts_raw = obj.get("timestamp")
        timestamp = _int_or_numeric_str(ts_raw, path, "timestamp") if ts_raw is not None else -1
        rack = obj.get("rack")
        if rack is not None:
            rack = _str(rack, path, "rack")
        if version == 1:
            host = obj.get("host")
            host = "" if host is None else _str(host, path, "host")
            port = _int(_field(obj, "port", path), path, "port")
            endpoints: tuple[Endpoint, ...] = (Endpoint("PLAINTEXT", host, port, "PLAINTEXT"),)
        else:
            protocol_map: dict[str, str] | None = None
            if "listener_security_protocol_map" in obj:
                raw_map = _obj(obj["listener_security_protocol_map"], path, "listener_security_protocol_map")
                protocol_map = {
                    k: _str(v, path, f"listener_security_protocol_map.{k}") for k, v in raw_map.items()
                }
            raw_eps = _field(obj, "endpoints", path)
            if not isinstance(raw_eps, list):
                raise ZnodeDecodeError(path, "endpoints", f"expected an array of strings, got {_kind(raw_eps)}")
            eps = []
            for i, s in enumerate(raw_eps):
                try:
                    eps.append(Endpoint.parse(_str(s, path, f"endpoints[{i}]"), protocol_map))
                except ValueError as e:
                    raise ZnodeDecodeError(path, f"endpoints[{i}]", str(e)) from None
            endpoints = tuple(eps)
        features: dict[str, tuple[int, int]] = {}
        if version >= 5 and obj.get("features") is not None:
            for name, rng in _obj(obj["features"], path, "features").items():
                r = _obj(rng, path, f"features.{name}")
                lo = _int(_field(r, "min_version", path, f"features.{name}."), path, f"features.{name}.min_version")
                hi = _int(_field(r, "max_version", path, f"features.{name}."), path, f"features.{name}.max_version")
                features[name] = (lo, hi)
        return cls(broker_id, endpoints, timestamp, jmx_port, rack, version, features)


# ---------------------------------------------------------------------------------------------------
# /brokers/topics/<t>


@dataclass(frozen=True, slots=True)
class TopicAssignment:
    """``/brokers/topics/<t>``: partition → ordered replica list (first = preferred leader).

    Written as v2 (Kafka 2.4-2.7: ``adding_replicas``/``removing_replicas`` always present, possibly empty),
    or v3 when a ``topic_id`` is set (Kafka 2.8). Reads v1-v3; missing adding/removing maps read as empty.
    ``version`` records what was read; ``to_json`` always writes 2 or 3.
    """

    topic: str
    partitions: Mapping[int, tuple[int, ...]]
    adding_replicas: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    removing_replicas: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    topic_id: str | None = None
    version: int = 2

    def replicas(self, partition: int) -> tuple[int, ...]:
        return tuple(self.partitions[partition])

    def topic_partitions(self) -> list[TopicPartition]:
        return [TopicPartition(self.topic, p) for p in sorted(self.partitions)]

    def to_json(self) -> bytes:
        def m(d: Mapping[int, Sequence[int]]) -> dict[str, list[int]]:
            return {str(p): [int(r) for r in d[p]] for p in sorted(d)}

        obj: dict[str, Any] = {
            "version": 3 if self.topic_id else 2,
            "partitions": m(self.partitions),
            "adding_replicas": m(self.adding_replicas),
            "removing_replicas": m(self.removing_replicas),
        }
        if self.topic_id:
            obj["topic_id"] = self.topic_id
        return _dumps(obj)

    @classmethod
    def from_json(cls, data: bytes | None, path: str) -> "TopicAssignment":
        topic = _path_parts(path, r"/brokers/topics/([^/]+)", "/brokers/topics/<topic>").group(1)
        obj = _obj(_loads(data, path), path)
        version = _version(obj, path, (1, 2, 3))
        partitions = _partition_map(_field(obj, "partitions", path), path, "partitions")
        adding = _partition_map(obj.get("adding_replicas") or {}, path, "adding_replicas")
        removing = _partition_map(obj.get("removing_replicas") or {}, path, "removing_replicas")
        topic_id = obj.get("topic_id")
        if topic_id is not None:
            topic_id = _str(topic_id, path, "topic_id")
        return cls(topic, partitions, adding, removing, topic_id, version)


# ---------------------------------------------------------------------------------------------------
# /brokers/topics/<t>/partitions/<p>/state


@dataclass(frozen=True, slots=True)
class PartitionState:
    """Leader and ISR of one partition (``LeaderIsrAndControllerEpoch``), JSON v1 since 0.8.

    ``leader`` is -1 when there is none; ``controller_epoch`` is the epoch of the controller that made the
    leadership decision (a leader rewriting its ISR keeps it).
    """

    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    controller_epoch: int
    version: int = 1

    def to_json(self) -> bytes:
        return _dumps(
            {
                "controller_epoch": self.controller_epoch,
                "leader": self.leader,
                "version": 1,
                "leader_epoch": self.leader_epoch,
                "isr": [int(r) for r in self.isr],
            }
        )

    @classmethod
    def from_json(cls, data: bytes | None, path: str) -> "PartitionState":
        obj = _obj(_loads(data, path), path)
        version = _version(obj, path, (1,))
        return cls(
            leader=_int(_field(obj, "leader", path), path, "leader"),
            leader_epoch=_int(_field(obj, "leader_epoch", path), path, "leader_epoch"),
            isr=_int_list(_field(obj, "isr", path), path, "isr"),
            controller_epoch=_int(_field(obj, "controller_epoch", path), path, "controller_epoch"),
            version=version,
        )


# ---------------------------------------------------------------------------------------------------
# /controller, /controller_epoch


@dataclass(frozen=True, slots=True)
class ControllerInfo:
    """``/controller`` (ephemeral): ``{"version":1,"brokerid":2,"timestamp":"1617043200123"}``."""

    broker_id: int
    timestamp_ms: int

    def to_json(self) -> bytes:
        return _dumps({"version": 1, "brokerid": self.broker_id, "timestamp": str(self.timestamp_ms)})

    @classmethod
    def from_json(cls, data: bytes | None, path: str = paths.CONTROLLER) -> "ControllerInfo":
        # Kafka's decoder reads only "brokerid"; so do we (a missing timestamp reads as -1).
        obj = _obj(_loads(data, path), path)
        broker_id = _int(_field(obj, "brokerid", path), path, "brokerid")
        ts = obj.get("timestamp")
        return cls(broker_id, _int_or_numeric_str(ts, path, "timestamp") if ts is not None else -1)


@dataclass(frozen=True, slots=True)
class ControllerEpoch:
    """``/controller_epoch``: the epoch as bare decimal text (not JSON). Its zkVersion is the fence."""

    epoch: int

    def to_json(self) -> bytes:
        return str(self.epoch).encode("ascii")

    @classmethod
    def from_json(cls, data: bytes | None, path: str = paths.CONTROLLER_EPOCH) -> "ControllerEpoch":
        return cls(_decimal_text(data, path))


def _decimal_text(data: bytes | None, path: str) -> int:
    text = (data or b"").decode("ascii", errors="replace").strip()
    if not re.fullmatch(r"-?[0-9]+", text):
        raise ZnodeDecodeError(path, "", f"expected a decimal number as text, got {text[:40]!r}")
    return int(text)


# ---------------------------------------------------------------------------------------------------
# /cluster/id, /latest_producer_id_block, /feature


@dataclass(frozen=True, slots=True)
class ClusterId:
    """``/cluster/id``: ``{"version":"1","id":"<22-char url-safe base64 uuid>"}`` — version is a string."""

    id: str

    def to_json(self) -> bytes:
        return _dumps({"version": "1", "id": self.id})

    @classmethod
    def from_json(cls, data: bytes | None, path: str = paths.CLUSTER_ID) -> "ClusterId":
        obj = _obj(_loads(data, path), path)
        return cls(_str(_field(obj, "id", path), path, "id"))


@dataclass(frozen=True, slots=True)
class ProducerIdBlock:
    """``/latest_producer_id_block``: the last block of producer ids handed out (both ends inclusive),
    start/end written as strings. Blocks are :data:`PRODUCER_ID_BLOCK_SIZE` ids long."""

    broker_id: int
    block_start: int
    block_end: int

    def to_json(self) -> bytes:
        return _dumps(
            {
                "version": 1,
                "broker": self.broker_id,
                "block_start": str(self.block_start),
                "block_end": str(self.block_end),
            }
        )

    def next_block(self, broker_id: int, size: int = PRODUCER_ID_BLOCK_SIZE) -> "ProducerIdBlock":
        return ProducerIdBlock(broker_id, self.block_end + 1, self.block_end + size)

    @classmethod
    def first_block(cls, broker_id: int, size: int = PRODUCER_ID_BLOCK_SIZE) -> "ProducerIdBlock":
        return cls(broker_id, 0, size - 1)

    @classmethod
    def from_json(cls, data: bytes | None, path: str = paths.LATEST_PRODUCER_ID_BLOCK) -> "ProducerIdBlock":
        obj = _obj(_loads(data, path), path)
        _version(obj, path, (1,))
        return cls(
            _int(_field(obj, "broker", path), path, "broker"),
            _int_or_numeric_str(_field(obj, "block_start", path), path, "block_start"),
            _int_or_numeric_str(_field(obj, "block_end", path), path, "block_end"),
        )


@dataclass(frozen=True, slots=True)
class FeatureInfo:
    """``/feature`` (Kafka 2.7+): ``{"version":1,"status":1,"features":{}}``; status 1 = enabled.
    Finalized features: name → (min_version_level, max_version_level)."""

    status: int = 1
    features: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        feats = {n: {"min_version_level": lo, "max_version_level": hi} for n, (lo, hi) in sorted(self.features.items())}
        return _dumps({"version": 1, "status": self.status, "features": feats})

    @classmethod
    def from_json(cls, data: bytes | None, path: str = paths.FEATURE) -> "FeatureInfo":
        obj = _obj(_loads(data, path), path)
        _version(obj, path, (1,))
        status = _int(_field(obj, "status", path), path, "status")
        feats: dict[str, tuple[int, int]] = {}
        for name, rng in _obj(obj.get("features") or {}, path, "features").items():
            r = _obj(rng, path, f"features.{name}")
            feats[name] = (
                _int(_field(r, "min_version_level", path, f"features.{name}."), path, f"features.{name}.min_version_level"),
                _int(_field(r, "max_version_level", path, f"features.{name}."), path, f"features.{name}.max_version_level"),
            )
        return cls(status, feats)


# ---------------------------------------------------------------------------------------------------
# /config/<type>/<name>, /config/changes/config_change_<seq>


@dataclass(frozen=True, slots=True)
class EntityConfig:
    """``/config/<type>/<name>``: ``{"version":1,"config":{"retention.ms":"86400000"}}`` (values are strings)."""

    entity_type: str
    entity_name: str
    config: Mapping[str, str]

    def to_json(self) -> bytes:
        for k, v in self.config.items():
            if not isinstance(v, str):
                raise ValueError(f"config value of {k!r} must be a string (Kafka stores strings), got {v!r}")
        return _dumps({"version": 1, "config": dict(self.config)})

    @classmethod
    def from_json(cls, data: bytes | None, path: str) -> "EntityConfig":
        m = _path_parts(path, r"/config/([^/]+)/(.+)", "/config/<type>/<name>")
        obj = _obj(_loads(data, path), path)
        _version(obj, path, (1,))
        raw = _obj(_field(obj, "config", path), path, "config")
        config = {k: _str(v, path, f"config.{k}") for k, v in raw.items()}
        return cls(m.group(1), m.group(2), config)


@dataclass(frozen=True, slots=True)
class ConfigChangeNotification:
    """``/config/changes/config_change_<seq>``: v2 ``{"version":2,"entity_path":"topics/orders"}``.

    Reads v1 ``{"version":1,"entity_type":"topics","entity_name":"orders"}`` and the 0.8 form, a bare JSON
    string holding a topic name. The notification only says *what* changed; readers re-read the entity.
    """

    entity_path: str

    @property
    def entity_type(self) -> str:
        return self.entity_path.split("/", 1)[0]

    @property
    def entity_name(self) -> str:
        return self.entity_path.split("/", 1)[1] if "/" in self.entity_path else ""

    def to_json(self) -> bytes:
        return _dumps({"version": 2, "entity_path": self.entity_path})

    @classmethod
    def from_json(cls, data: bytes | None, path: str) -> "ConfigChangeNotification":
        raw = _loads(data, path)
        if isinstance(raw, str):  # 0.8.x: the topic name, JSON-encoded
            return cls(f"{paths.CONFIG_TYPE_TOPICS}/{raw}")
        obj = _obj(raw, path)
        version = _version(obj, path, (1, 2))
        if version == 1:
            etype = _str(_field(obj, "entity_type", path), path, "entity_type")
            ename = _str(_field(obj, "entity_name", path), path, "entity_name")
            return cls(f"{etype}/{ename}")
        entity_path = _str(_field(obj, "entity_path", path), path, "entity_path")
        if "/" not in entity_path:
            raise ZnodeDecodeError(path, "entity_path", f"expected <type>/<name>, got {entity_path!r}")
        return cls(entity_path)


# ---------------------------------------------------------------------------------------------------
# Notifications and admin requests


@dataclass(frozen=True, slots=True)
class IsrChangeNotification:
    """``/isr_change_notification/isr_change_<seq>``: partitions whose ISR a leader changed in ZooKeeper."""

    partitions: tuple[TopicPartition, ...]

    def to_json(self) -> bytes:
        return _dumps({"version": 1, "partitions": _tp_json(self.partitions)})

    @classmethod
    def from_json(cls, data: bytes | None, path: str) -> "IsrChangeNotification":
        obj = _obj(_loads(data, path), path)
        _version(obj, path, (1,))
        return cls(tuple(tp for tp, _ in _partition_list(_field(obj, "partitions", path), path)))


@dataclass(frozen=True, slots=True)
class LogDirEventNotification:
    """``/log_dir_event_notification/log_dir_event_<seq>``: ``{"version":1,"broker":2,"event":1}``
    (event 1 = a log directory failed)."""

    broker_id: int
    event: int = 1

    def to_json(self) -> bytes:
        return _dumps({"version": 1, "broker": self.broker_id, "event": self.event})

    @classmethod
    def from_json(cls, data: bytes | None, path: str) -> "LogDirEventNotification":
        obj = _obj(_loads(data, path), path)
        _version(obj, path, (1,))
        return cls(
            _int(_field(obj, "broker", path), path, "broker"),
            _int(_field(obj, "event", path), path, "event"),
        )


@dataclass(frozen=True, slots=True)
class ReassignPartitions:
    """``/admin/reassign_partitions``: target replica lists, JSON v1 (same shape since 0.8.2)."""

    partitions: Mapping[TopicPartition, tuple[int, ...]]

    def to_json(self) -> bytes:
        items = [
            {"topic": tp[0], "partition": tp[1], "replicas": [int(r) for r in reps]}
            for tp, reps in sorted(self.partitions.items())
        ]
        return _dumps({"version": 1, "partitions": items})

    @classmethod
    def from_json(cls, data: bytes | None, path: str = paths.REASSIGN_PARTITIONS) -> "ReassignPartitions":
        obj = _obj(_loads(data, path), path)
        _version(obj, path, (1,))
        out: dict[TopicPartition, tuple[int, ...]] = {}
        for i, (tp, o) in enumerate(_partition_list(_field(obj, "partitions", path), path)):
            out[tp] = _int_list(_field(o, "replicas", path, f"partitions[{i}]."), path, f"partitions[{i}].replicas")
        return cls(out)


@dataclass(frozen=True, slots=True)
class PreferredReplicaElection:
    """``/admin/preferred_replica_election``: partitions whose preferred replica should lead, JSON v1."""

    partitions: frozenset[TopicPartition]

    def to_json(self) -> bytes:
        return _dumps({"version": 1, "partitions": _tp_json(sorted(self.partitions))})

    @classmethod
    def from_json(cls, data: bytes | None, path: str = paths.PREFERRED_REPLICA_ELECTION) -> "PreferredReplicaElection":
        obj = _obj(_loads(data, path), path)
        _version(obj, path, (1,))
        return cls(frozenset(tp for tp, _ in _partition_list(_field(obj, "partitions", path), path)))


@dataclass(frozen=True, slots=True)
class ConsumerOffset:
    """``/consumers/<group>/offsets/<topic>/<partition>`` (old ZooKeeper consumer): bare decimal text."""

    offset: int

    def to_json(self) -> bytes:
        return str(self.offset).encode("ascii")

    @classmethod
    def from_json(cls, data: bytes | None, path: str) -> "ConsumerOffset":
        return cls(_decimal_text(data, path))


#: ``TopicCount.pattern`` values of a 0.8 consumer registration: a topic→stream-count map, or one regex.
CONSUMER_PATTERNS = ("static", "white_list", "black_list")


@dataclass(frozen=True, slots=True)
class ConsumerRegistration:
    """``/consumers/<group>/ids/<consumer id>`` (ephemeral): a Kafka 0.8 high-level consumer's registration.

    ``{"version":1,"subscription":{"orders":2},"pattern":"static","timestamp":"1796000000000"}`` as
    ``ZookeeperConsumerConnector.registerConsumerInZK`` writes it: ``subscription`` maps each topic to its
    stream (thread) count — for ``white_list``/``black_list`` its one key is the topic regex — and the
    ``timestamp`` is a **string** of milliseconds. Every member reads every other member's registration
    on each rebalance, so this is what the range assignment is computed from.
    """

    subscription: Mapping[str, int]
    pattern: str = "static"
    timestamp: int = -1

    def to_json(self) -> bytes:
        return _dumps({"version": 1, "subscription": dict(self.subscription), "pattern": self.pattern,
                       "timestamp": str(self.timestamp)})

    @classmethod
    def from_json(cls, data: bytes | None, path: str) -> "ConsumerRegistration":
        obj = _obj(_loads(data, path), path)
        _version(obj, path, (1,))
        sub = _obj(_field(obj, "subscription", path), path, "subscription")
        subscription = {str(t): _int(n, path, f"subscription.{t}") for t, n in sub.items()}
        pattern = _str(_field(obj, "pattern", path), path, "pattern")
        if pattern not in CONSUMER_PATTERNS:
            raise ZnodeDecodeError(path, "pattern", f"expected one of {list(CONSUMER_PATTERNS)}, got {pattern!r}")
        ts = obj.get("timestamp")
        return cls(subscription, pattern, _int_or_numeric_str(ts, path, "timestamp") if ts is not None else -1)


@dataclass(frozen=True, slots=True)
class ConsumerPartitionOwner:
    """``/consumers/<group>/owners/<topic>/<partition>`` (ephemeral): the consumer *thread* id owning the
    partition, as plain UTF-8 text (``<consumer id>-<thread number>``), not JSON."""

    thread_id: str

    @property
    def consumer_id(self) -> str:
        """The owning consumer's id: the thread id without its ``-<n>`` suffix."""
        head, sep, tail = self.thread_id.rpartition("-")
        return head if sep and tail.isdigit() else self.thread_id

    def to_json(self) -> bytes:
        return self.thread_id.encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | None, path: str) -> "ConsumerPartitionOwner":
        if not data:
            raise ZnodeDecodeError(path, "", "no payload (expected the owning consumer thread id)")
        try:
            return cls(bytes(data).decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ZnodeDecodeError(path, "", f"payload is not UTF-8 ({e.reason} at byte {e.start})") from None
