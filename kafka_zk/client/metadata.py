"""The client's view of the cluster: bootstrap, one pooled connection per broker, topic metadata, and where
to send what (partition leaders, the controller, a group's coordinator).

Theory of operation
-------------------
``bootstrap.servers`` is only a list of doors: :meth:`MetadataClient.bootstrap` tries each address in order
until one answers a Metadata request, and from then on the client knows brokers by **node id** with the
host/port that broker advertises (exactly what the real clients do; a bootstrap address that is not an
advertised listener is never used again). The bootstrap connection is kept when it turns out to be one of the
advertised brokers.

:meth:`MetadataClient.connection` keeps one :class:`KafkaConnection` per node and reopens it when it has been
closed (the broker went away, or a response stream broke). Requests pipeline on it, so the producer, admin
calls and fetches to one broker share a socket; a caller that long-polls (the consumer's Fetch) owns a
separate :class:`MetadataClient`.

Metadata is refreshed on demand, never on a timer: callers ask again when an error says their view is stale
(:mod:`kafka_zk.client.decisions`). A refresh for some topics merges them into what is known; a refresh for
all topics replaces the topic map. A broker answers Metadata from its own cache, which the controller updates
asynchronously, so right after a topic is created or a leader moves, one broker may still say
``LEADER_NOT_AVAILABLE``: :meth:`MetadataClient.wait_for_topic` polls until every partition has a leader.

``controller_id`` comes from Metadata v1+ (the broker reports it); the coordinator of a group comes from
FindCoordinator and is cached until a NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE tells us to forget it.

Errors: :class:`~kafka_zk.client.errors.KafkaConnectionError` when no bootstrap server (or the node asked for)
can be reached, :class:`~kafka_zk.common.errors.KafkaError` for an error code the broker answered, and
:class:`ValueError` for a malformed ``bootstrap.servers``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from kafka_zk.client.connection import DEFAULT_REQUEST_TIMEOUT, KafkaConnection
from kafka_zk.client.decisions import Action, classify, error_name, to_error
from kafka_zk.client.errors import KafkaConnectionError, KafkaRequestTimeoutError
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tasks import spawn
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import FindCoordinatorRequest, MetadataRequest

log = get_logger(__name__)


# ------------------------------------------------------------------------------------------------ values


@dataclass(frozen=True, slots=True)
class BrokerNode:
    node_id: int
    host: str
    port: int
    rack: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class PartitionMetadata:
    topic: str
    partition: int
    leader: int  # -1: none
    leader_epoch: int  # -1: the broker did not say (Metadata < v7)
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    offline_replicas: tuple[int, ...] = ()
    error_code: int = 0

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class TopicMetadata:
    name: str
    error_code: int
    is_internal: bool
    partitions: Mapping[int, PartitionMetadata] = field(default_factory=dict)

    @property
    def replication_factor(self) -> int:
        return len(self.partitions[min(self.partitions)].replicas) if self.partitions else 0

    def available_partitions(self) -> list[int]:
        """Partitions that currently have a leader."""
        return sorted(p for p, m in self.partitions.items() if m.leader >= 0)


@dataclass(frozen=True, slots=True)
class ClusterMetadata:
    cluster_id: str | None
    controller_id: int  # -1: unknown
    brokers: Mapping[int, BrokerNode]
    topics: Mapping[str, TopicMetadata]

    def leader(self, tp: TopicPartition) -> int:
        """The partition's leader, or -1 when unknown (topic or partition not known, or no leader)."""
        t = self.topics.get(tp.topic)
        p = t.partitions.get(tp.partition) if t is not None else None
        return -1 if p is None else p.leader


EMPTY = ClusterMetadata(None, -1, {}, {})


def parse_bootstrap_servers(value: str | Sequence[str]) -> list[tuple[str, int]]:
    """``"h1:9092,h2:9092"`` (or a list of ``host:port``) → ``[(host, port), ...]``.

    Raises :class:`ValueError` naming the bad entry (what is wrong and what is expected).
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[tuple[str, int]] = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        host = host.strip("[]")  # [::1]:9092
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bad bootstrap server {item!r}: expected HOST:PORT (e.g. 127.0.0.1:9092)")
        out.append((host, int(port)))
    if not out:
        raise ValueError("no bootstrap servers given: expected HOST:PORT[,HOST:PORT...]")
    return out


def cluster_metadata_from_response(resp: Any) -> ClusterMetadata:
    """Decode a MetadataResponse into :class:`ClusterMetadata` (pure)."""
    brokers = {b.node_id: BrokerNode(b.node_id, b.host, b.port, b.rack) for b in resp.brokers}
    topics: dict[str, TopicMetadata] = {}
    for t in resp.topics:
        parts = {
            p.partition_index: PartitionMetadata(
                t.name, p.partition_index, p.leader_id, p.leader_epoch, tuple(p.replica_nodes), tuple(p.isr_nodes),
                tuple(p.offline_replicas), p.error_code,
            )
            for p in t.partitions
        }
        topics[t.name] = TopicMetadata(t.name, t.error_code, bool(t.is_internal), parts)
    return ClusterMetadata(resp.cluster_id, resp.controller_id, brokers, topics)


def merge(old: ClusterMetadata, new: ClusterMetadata, all_topics: bool) -> ClusterMetadata:
    """``new`` wins; topics ``new`` does not mention are kept unless it listed all topics."""
    topics = dict(new.topics) if all_topics else {**old.topics, **new.topics}
    return ClusterMetadata(new.cluster_id, new.controller_id, new.brokers, topics)


# ------------------------------------------------------------------------------------------------ client


class MetadataClient:
    """Broker connections and cluster metadata, shared by the admin client, producer and consumer."""

    def __init__(
        self,
        bootstrap_servers: str | Sequence[str],
        *,
        client_id: str = "kafka-zk",
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        connect_timeout: float = 10.0,
        retry_backoff: float = 0.1,
    ) -> None:
        self.bootstrap_servers = parse_bootstrap_servers(bootstrap_servers)
        self.client_id = client_id
        self.request_timeout = request_timeout
        self.connect_timeout = connect_timeout
        self.retry_backoff = retry_backoff
        self.metadata: ClusterMetadata = EMPTY
        self._connections: dict[int, KafkaConnection] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._bootstrap_conn: KafkaConnection | None = None
        self._coordinators: dict[str, int] = {}
        self._refresh_lock = asyncio.Lock()
        self._closed = False

    # ---------------------------------------------------------------------------------------- connections

    async def bootstrap(self) -> ClusterMetadata:
        """Connect to the first bootstrap server that answers and learn the brokers (no topics).

        Raises :class:`KafkaConnectionError` listing every address tried when none answers.
        """
        failures: list[str] = []
        for host, port in self.bootstrap_servers:
            try:
                conn = await KafkaConnection.open(host, port, self.client_id, self.connect_timeout,
                                                  request_timeout=self.request_timeout)
            except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
                failures.append(str(e))
                continue
            try:
                resp = await conn.request(ApiKey.METADATA, MetadataRequest(topics=[], allow_auto_topic_creation=False),
                                          version=self._metadata_version(conn))
            except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
                failures.append(f"{host}:{port}: {e}")
                await conn.close()
                continue
            md = cluster_metadata_from_response(resp)
            self.metadata = merge(self.metadata, md, all_topics=False)
            node = next((b for b in md.brokers.values() if (b.host, b.port) == (host, port)), None)
            if node is not None and node.node_id not in self._connections:
                self._connections[node.node_id] = conn
            else:
                self._bootstrap_conn = conn
            log.debug("bootstrapped", via=f"{host}:{port}", brokers=sorted(md.brokers), controller=md.controller_id)
            return self.metadata
        raise KafkaConnectionError("no bootstrap server answered: " + "; ".join(failures))

    @staticmethod
    def _metadata_version(conn: KafkaConnection) -> int:
        # v0's empty topic list means "all topics"; every broker we talk to has v1+, but stay correct anyway.
        return max(1, conn.pick_version(ApiKey.METADATA))

    async def connection(self, node_id: int) -> KafkaConnection:
        """The open connection to broker ``node_id`` (opened, or reopened, on demand).

        Raises :class:`KafkaConnectionError` if the node is unknown or cannot be reached.
        """
        self._check_open()
        conn = self._connections.get(node_id)
        if conn is not None and not conn.closed:
            return conn
        lock = self._locks.setdefault(node_id, asyncio.Lock())
        async with lock:
            conn = self._connections.get(node_id)
            if conn is not None and not conn.closed:
                return conn
            node = self.metadata.brokers.get(node_id)
            if node is None:
                raise KafkaConnectionError(f"broker {node_id} is not in the cluster metadata "
                                           f"(known: {sorted(self.metadata.brokers)})")
            conn = await KafkaConnection.open(node.host, node.port, self.client_id, self.connect_timeout,
                                              request_timeout=self.request_timeout)
            self._connections[node_id] = conn
            return conn

    async def any_connection(self) -> KafkaConnection:
        """A connection to some live broker: an open one if there is one, else the first that answers."""
        self._check_open()
        for conn in (*self._connections.values(), self._bootstrap_conn):
            if conn is not None and not conn.closed:
                return conn
        for node_id in sorted(self.metadata.brokers):
            try:
                return await self.connection(node_id)
            except KafkaConnectionError as e:
                log.debug("broker unreachable", node_id=node_id, error=str(e))
        await self.bootstrap()  # every known broker is gone: start over from bootstrap.servers
        return await self.any_connection()

    async def request(self, node_id: int, api_key: int, body: Any, version: int | None = None,
                      timeout: float | None = None) -> Any:
        """Send one request to broker ``node_id`` (see :meth:`KafkaConnection.request` for what it raises)."""
        conn = await self.connection(node_id)
        return await conn.request(api_key, body, version=version, timeout=timeout)

    # ------------------------------------------------------------------------------------------- metadata

    async def refresh(self, topics: Iterable[str] | None = None, allow_auto_create: bool = False) -> ClusterMetadata:
        """Ask one broker for metadata of ``topics`` (``None`` = every topic) and merge it in.

        A broker that cannot be reached is skipped for the next one; raises :class:`KafkaConnectionError`
        when none answers.
        """
        names = None if topics is None else sorted(set(topics))
        async with self._refresh_lock:
            last: Exception | None = None
            for _attempt in range(max(2, len(self.metadata.brokers) + 1)):
                conn = await self.any_connection()
                req = MetadataRequest(
                    topics=None if names is None else [MetadataRequest.MetadataRequestTopic(name=n) for n in names],
                    allow_auto_topic_creation=allow_auto_create,
                )
                try:
                    resp = await conn.request(ApiKey.METADATA, req, version=self._metadata_version(conn))
                except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
                    last = e
                    await conn.close()
                    continue
                self.metadata = merge(self.metadata, cluster_metadata_from_response(resp), all_topics=names is None)
                self._forget_departed_brokers()
                return self.metadata
            raise KafkaConnectionError(f"metadata refresh failed: {last}")

    def _forget_departed_brokers(self) -> None:
        for node_id in [n for n in self._connections if n not in self.metadata.brokers]:
            conn = self._connections.pop(node_id)
            spawn(conn.close(), name=f"close-conn-{node_id}")

    async def wait_for_topic(self, topic: str, timeout: float = 30.0, allow_auto_create: bool = False,
                             min_partitions: int = 1, require_leaders: bool = True) -> TopicMetadata:
        """Refresh until ``topic`` exists with at least ``min_partitions`` partitions (each with a leader, unless
        ``require_leaders`` is false).

        Raises :class:`KafkaError` UNKNOWN_TOPIC_OR_PARTITION when the topic does not exist (and is not being
        auto-created), another non-retriable topic error as it comes, or REQUEST_TIMED_OUT naming what was
        still missing after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            propagating = False
            md = await self.refresh([topic], allow_auto_create=allow_auto_create)
            t = md.topics.get(topic)
            code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION if t is None else t.error_code
            if code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION and not allow_auto_create:
                if not await self._known_to_any_broker(topic):
                    raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic '{topic}' does not exist")
                code = ErrorCode.LEADER_NOT_AVAILABLE  # created, still on its way to the broker we asked
                propagating = True
            if code != ErrorCode.NONE and classify(code) == Action.FAIL:
                raise to_error(code, f"topic '{topic}': {error_name(code)}")
            if t is not None and code == ErrorCode.NONE and len(t.partitions) >= min_partitions and (
                    not require_leaders or all(p.leader >= 0 for p in t.partitions.values())):
                return t
            if time.monotonic() > deadline:
                if propagating:
                    missing = "some brokers know it, the one asked does not yet"
                elif t is None or not t.partitions:
                    missing = f"metadata says {error_name(code)}"
                elif len(t.partitions) < min_partitions:
                    missing = f"{len(t.partitions)} of {min_partitions} partitions known"
                else:
                    missing = f"partitions without a leader: {[p for p, m in sorted(t.partitions.items()) if m.leader < 0]}"
                raise KafkaError(ErrorCode.REQUEST_TIMED_OUT, f"topic '{topic}' not ready after {timeout:g}s ({missing})")
            await asyncio.sleep(self.retry_backoff)

    async def _known_to_any_broker(self, topic: str) -> bool:
        """Does any broker's Metadata answer list ``topic``?

        A new topic reaches the brokers' metadata caches one UpdateMetadata at a time, so a broker may still
        call a topic unknown that another one (the one that answered CreateTopics) already serves; librdkafka
        waits ``topic.metadata.propagation.max.ms`` for this. Asking each broker once tells a topic on its way
        from one that does not exist, without a wait. The answers are not merged: a lagging broker's view
        must not replace a fresher one."""
        req = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)],
                              allow_auto_topic_creation=False)
        for node_id in sorted(self.metadata.brokers):
            try:
                conn = await self.connection(node_id)
                resp = await conn.request(ApiKey.METADATA, req, version=self._metadata_version(conn))
            except (KafkaConnectionError, KafkaRequestTimeoutError):
                continue
            t = cluster_metadata_from_response(resp).topics.get(topic)
            if t is not None and t.error_code != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
                return True
        return False

    async def leader_for(self, tp: TopicPartition, refresh_if_unknown: bool = True) -> int:
        """The leader of ``tp`` (refreshing once if unknown); -1 when there is none."""
        leader = self.metadata.leader(tp)
        if leader < 0 and refresh_if_unknown:
            await self.refresh([tp.topic])
            leader = self.metadata.leader(tp)
        return leader

    async def controller_id(self, refresh: bool = False) -> int:
        """The active controller's broker id. Raises KafkaError NOT_CONTROLLER when no broker knows one."""
        if refresh or self.metadata.controller_id < 0:
            await self.refresh([])
        cid = self.metadata.controller_id
        if cid < 0 or cid not in self.metadata.brokers:
            raise KafkaError(ErrorCode.NOT_CONTROLLER, "the cluster has no active controller right now")
        return cid

    async def coordinator_id(self, group_id: str, refresh: bool = False, timeout: float | None = None) -> int:
        """The broker coordinating ``group_id`` (FindCoordinator, retried while the coordinator loads)."""
        if not refresh and group_id in self._coordinators:
            return self._coordinators[group_id]
        deadline = time.monotonic() + (self.request_timeout if timeout is None else timeout)
        while True:
            conn = await self.any_connection()
            resp = await conn.request(ApiKey.FIND_COORDINATOR, FindCoordinatorRequest(key=group_id, key_type=0))
            if resp.error_code == ErrorCode.NONE:
                if resp.node_id not in self.metadata.brokers:
                    await self.refresh([])
                self._coordinators[group_id] = resp.node_id
                return int(resp.node_id)
            if classify(resp.error_code) == Action.FAIL or time.monotonic() > deadline:
                raise to_error(resp.error_code, f"FindCoordinator for group '{group_id}': "
                               f"{getattr(resp, 'error_message', None) or error_name(resp.error_code)}")
            await asyncio.sleep(self.retry_backoff)

    def forget_coordinator(self, group_id: str) -> None:
        self._coordinators.pop(group_id, None)

    # ------------------------------------------------------------------------------------------- shutdown

    def _check_open(self) -> None:
        if self._closed:
            raise KafkaConnectionError("the client is closed")

    async def close(self) -> None:
        """Close every connection. Idempotent."""
        self._closed = True
        conns = list(self._connections.values())
        if self._bootstrap_conn is not None:
            conns.append(self._bootstrap_conn)
        self._connections.clear()
        self._bootstrap_conn = None
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
