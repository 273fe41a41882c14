"""Controller → broker (and broker → controller) control-plane messages.

These carry the same fields as Kafka 2.x's LeaderAndIsr v4, UpdateMetadata v6, StopReplica v3 and
ControlledShutdown v3 (snake_case of the JSON specs), but travel as msgpack over HTTP (aiohttp) to the
broker's control-plane listener instead of Kafka's binary protocol — the one deliberate wire difference
from Kafka, documented in ``docs/differences.md``. Every request carries the controller epoch (brokers
reject stale ones with STALE_CONTROLLER_EPOCH) and the receiving broker's epoch (its registration czxid;
STALE_BROKER_EPOCH when it is older than the broker's own).

Wire form: ``msgpack([kind, {field: value}])``; nested dataclasses become maps. ``decode_control`` rebuilds
the dataclasses and rejects unknown kinds or missing fields with :class:`ValueError`.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import msgpack

# HTTP routes on the control-plane listener, one per request kind.
CONTROL_PATH_PREFIX = "/control/"


@dataclass
class LeaderAndIsrPartitionState:
    topic: str
    partition: int
    controller_epoch: int
    leader: int
    leader_epoch: int
    isr: list[int]
    zk_version: int
    replicas: list[int]
    adding_replicas: list[int] = field(default_factory=list)
    removing_replicas: list[int] = field(default_factory=list)
    is_new: bool = False


@dataclass
class LiveLeader:
    broker_id: int
    host: str
    port: int


@dataclass
class LeaderAndIsrRequest:
    KIND: ClassVar[str] = "leader_and_isr"
    controller_id: int
    controller_epoch: int
    broker_epoch: int
    partition_states: list[LeaderAndIsrPartitionState]
    live_leaders: list[LiveLeader]


@dataclass
class PartitionError:
    topic: str
    partition: int
    error_code: int


@dataclass
class LeaderAndIsrResponse:
    KIND: ClassVar[str] = "leader_and_isr_response"
    error_code: int
    partition_errors: list[PartitionError]


@dataclass
class UpdateMetadataPartitionState:
    """Leader -2 / leader_epoch -2 means "topic being deleted": brokers drop the partition from their cache."""

    topic: str
    partition: int
    controller_epoch: int
    leader: int
    leader_epoch: int
    isr: list[int]
    zk_version: int
    replicas: list[int]
    offline_replicas: list[int] = field(default_factory=list)
    # Kafka 2.8's topic id (KIP-516) as stored in /brokers/topics/<t>, base64 like Kafka's Uuid.toString()
    topic_id: str | None = None


@dataclass
class BrokerEndpoint:
    host: str
    port: int
    listener: str
    security_protocol: str = "PLAINTEXT"


@dataclass
class UpdateMetadataBroker:
    id: int
    endpoints: list[BrokerEndpoint]
    rack: str | None = None


@dataclass
class UpdateMetadataRequest:
    KIND: ClassVar[str] = "update_metadata"
    controller_id: int
    controller_epoch: int
    broker_epoch: int
    partition_states: list[UpdateMetadataPartitionState]
    live_brokers: list[UpdateMetadataBroker]


@dataclass
class UpdateMetadataResponse:
    KIND: ClassVar[str] = "update_metadata_response"
    error_code: int


@dataclass
class StopReplicaPartitionState:
    topic: str
    partition: int
    leader_epoch: int  # -2: topic queued for deletion; -1: unknown
    delete_partition: bool


@dataclass
class StopReplicaRequest:
    KIND: ClassVar[str] = "stop_replica"
    controller_id: int
    controller_epoch: int
    broker_epoch: int
    partition_states: list[StopReplicaPartitionState]


@dataclass
class StopReplicaResponse:
    KIND: ClassVar[str] = "stop_replica_response"
    error_code: int
    partition_errors: list[PartitionError]


@dataclass
class ControlledShutdownRequest:
    """Sent by a broker to the active controller when it is asked to stop (SIGTERM)."""

    KIND: ClassVar[str] = "controlled_shutdown"
    broker_id: int
    broker_epoch: int


@dataclass
class TopicPartitionRef:
    topic: str
    partition: int


@dataclass
class ControlledShutdownResponse:
    KIND: ClassVar[str] = "controlled_shutdown_response"
    error_code: int
    remaining_partitions: list[TopicPartitionRef]


CONTROL_MESSAGES: dict[str, type] = {
    cls.KIND: cls
    for cls in (
        LeaderAndIsrRequest,
        LeaderAndIsrResponse,
        UpdateMetadataRequest,
        UpdateMetadataResponse,
        StopReplicaRequest,
        StopReplicaResponse,
        ControlledShutdownRequest,
        ControlledShutdownResponse,
    )
}


# Per-class codecs, built once: controllers send LeaderAndIsr/UpdateMetadata for thousands of partitions on
# failover, so field lookups and type-hint resolution must not happen per message.
_ENCODERS: dict[type, Callable[[Any], Any]] = {}
_DECODERS: dict[type, Callable[[Any], Any]] = {}


def _identity(v: Any) -> Any:
    return v


def _encoder(cls: type) -> Callable[[Any], Any]:
    enc = _ENCODERS.get(cls)
    if enc is None:
        hints = typing.get_type_hints(cls)
        parts = [(f.name, _value_encoder(hints[f.name])) for f in dataclasses.fields(cls)]

        def enc(obj: Any) -> Any:
            return {name: conv(getattr(obj, name)) for name, conv in parts}

        _ENCODERS[cls] = enc
    return enc


def _value_encoder(hint: Any) -> Callable[[Any], Any]:
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        if dataclasses.is_dataclass(item):
            item_enc = _encoder(item)  # type: ignore[arg-type]
            return lambda v: [item_enc(x) for x in v]
        return list
    if dataclasses.is_dataclass(hint):
        return _encoder(hint)  # type: ignore[arg-type]
    return _identity


def _decoder(cls: type) -> Callable[[Any], Any]:
    dec = _DECODERS.get(cls)
    if dec is None:
        hints = typing.get_type_hints(cls)
        parts = []
        for f in dataclasses.fields(cls):
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            parts.append((f.name, required, _value_decoder(hints[f.name], f"{cls.__name__}.{f.name}")))

        def dec(data: Any) -> Any:
            if not isinstance(data, dict):
                raise ValueError(f"{cls.__name__}: expected a map, got {type(data).__name__}")
            kwargs = {}
            for name, required, conv in parts:
                if name in data:
                    kwargs[name] = conv(data[name])
                elif required:
                    raise ValueError(f"{cls.__name__}: missing field {name!r}")
            return cls(**kwargs)

        _DECODERS[cls] = dec
    return dec


def _value_decoder(hint: Any, where: str) -> Callable[[Any], Any]:
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        item_dec = _decoder(item) if dataclasses.is_dataclass(item) else _identity  # type: ignore[arg-type]

        def dec_list(v: Any) -> Any:
            if not isinstance(v, list):
                raise ValueError(f"{where}: expected a list")
            return [item_dec(x) for x in v]

        return dec_list
    if dataclasses.is_dataclass(hint):
        return _decoder(hint)  # type: ignore[arg-type]
    return _identity


def encode_control(msg: Any) -> bytes:
    return msgpack.packb([msg.KIND, _encoder(type(msg))(msg)], use_bin_type=True)


def decode_control(data: bytes, expect: type | None = None) -> Any:
    """Decode a control message; ``expect`` checks its kind. Raises ValueError on anything malformed."""
    try:
        kind, body = msgpack.unpackb(data, raw=False)
    except Exception as e:
        raise ValueError(f"malformed control message: {e}") from None
    cls = CONTROL_MESSAGES.get(kind)
    if cls is None:
        raise ValueError(f"unknown control message kind {kind!r}")
    if expect is not None and cls is not expect:
        raise ValueError(f"expected {expect.KIND}, got {kind}")  # type: ignore[attr-defined]
    return _decoder(cls)(body)
