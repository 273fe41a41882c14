"""``GroupMember``: a consumer's membership of a broker-coordinated group (JoinGroup / SyncGroup /
Heartbeat / LeaveGroup), the I/O half of Kafka's ``ConsumerCoordinator``.

Theory of operation
-------------------
The member finds the group's coordinator (FindCoordinator) and talks to it over a **connection of its
own**: the consumer's fetch connections carry long-polls (``fetch.max.wait.ms``) that would delay
heartbeats queued behind them, and a JoinGroup parked by the coordinator for a whole rebalance would in turn
stall fetches.

``join()`` runs one rebalance (the eager protocol of Kafka 2.x):

1. JoinGroup with our member id (empty the first time), ``session.timeout.ms``, ``max.poll.interval.ms`` as
   the rebalance timeout and one protocol per configured assignor, each carrying our ConsumerProtocol
   subscription. The coordinator holds the response until every member has rejoined. MEMBER_ID_REQUIRED
   (JoinGroup v4+, KIP-394) hands us an id to rejoin with at once; UNKNOWN_MEMBER_ID drops our id.
2. The leader (the member whose id the response names) decodes every member's subscription, asks the
   metadata for the partition counts of all their topics and runs the chosen assignor
   (:mod:`kafka_zk.client.assignors`); SyncGroup carries its result. Followers send SyncGroup empty.
3. Every member's SyncGroup response holds its own assignment bytes.

REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION on SyncGroup mean another rebalance started meanwhile: start
again. Coordinator errors (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, a lost connection) forget the
coordinator and start again after ``retry.backoff.ms``.

Between rebalances a **heartbeat task** sends Heartbeat every ``heartbeat.interval.ms``; an answer of
REBALANCE_IN_PROGRESS (another member joined or left), ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID (we were
evicted) sets :attr:`GroupMember.rejoin_needed`, which the consumer's next ``poll()`` acts on. As Java's
heartbeat thread, it also enforces ``max.poll.interval.ms``: a member whose application stopped polling
leaves the group so its partitions go to members that make progress.

Which versions: every request goes through :meth:`KafkaConnection.request`, which uses the highest version
both we and the broker advertise (ApiVersions), so nothing here names a maximum; the version-dependent
fields are filled for all of them (LeaveGroup v3's member batch, JoinGroup v1's rebalance timeout).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Mapping, Sequence

from kafka_zk.client.assignors import Assignor
from kafka_zk.client.connection import KafkaConnection
from kafka_zk.client.consumer_protocol import (
    PROTOCOL_TYPE,
    ConsumerProtocolError,
    Subscription,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
)
from kafka_zk.client.consumer_protocol import Assignment as AssignmentBytes
from kafka_zk.client.decisions import error_name, to_error
from kafka_zk.client.errors import KafkaConnectionError, KafkaRequestTimeoutError
from kafka_zk.client.metadata import MetadataClient
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tasks import spawn
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest

log = get_logger(__name__)

#: Errors meaning "the coordinator moved or is not ready": find it again.
COORDINATOR_ERRORS = frozenset({ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE})
#: Errors meaning "our membership is stale": rejoin.
REJOIN_ERRORS = frozenset({ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION,
                           ErrorCode.UNKNOWN_MEMBER_ID})
_TRANSIENT = (KafkaConnectionError, KafkaRequestTimeoutError, OSError)


class CommitFailedError(KafkaError):
    """Java ``CommitFailedException``: the group rebalanced (or evicted us) since these positions were
    assigned, so the commit was refused; the partitions may already be another member's."""


def heartbeat_decision(error_code: int) -> str:
    """What a Heartbeat answer means: ``"ok"``, ``"rejoin"``, ``"reset"`` (rejoin with a new member id),
    ``"coordinator"`` (find it again) or ``"fatal"`` (pure)."""
    if error_code == ErrorCode.NONE:
        return "ok"
    if error_code in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID):
        return "reset"
    if error_code in (ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION):
        return "rejoin"
    if error_code in COORDINATOR_ERRORS or error_code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
        return "coordinator"
    return "fatal"


def leader_assign(assignor: Assignor, members: Mapping[str, bytes], partitions_per_topic: Mapping[str, int]
                  ) -> dict[str, bytes]:
    """The leader's step (pure): members' subscription bytes -> each member's assignment bytes."""
    subs: dict[str, Subscription] = {}
    for member_id, metadata in members.items():
        try:
            subs[member_id] = decode_subscription(metadata)
        except (ConsumerProtocolError, UnicodeDecodeError) as e:
            log.warning("unreadable subscription; the member gets nothing", member_id=member_id, error=str(e))
            subs[member_id] = Subscription(())
    result = assignor.assign(partitions_per_topic, subs)
    return {m: encode_assignment(AssignmentBytes(tuple(result.get(m, ())))) for m in members}


class GroupMember:
    """Membership of ``group_id``; see the module docstring. Times are milliseconds."""

    def __init__(
        self,
        cluster: MetadataClient,
        group_id: str,
        assignors: Sequence[Assignor],
        *,
        session_timeout_ms: int = 10000,
        rebalance_timeout_ms: int = 300000,
        heartbeat_interval_ms: int = 3000,
        retry_backoff_ms: int = 100,
        request_timeout_ms: int = 30000,
        group_instance_id: str | None = None,
    ) -> None:
        self.cluster = cluster
        self.group_id = group_id
        self.assignors = list(assignors)
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.retry_backoff_ms = retry_backoff_ms
        self.request_timeout_ms = request_timeout_ms
        self.group_instance_id = group_instance_id
        self.member_id = ""
        self.generation = -1
        self.protocol: str | None = None
        self.leader_id: str | None = None
        self.rejoin_needed = True
        self.joined = False
        self.last_poll = time.monotonic()
        self.rebalances = 0
        self._conn: KafkaConnection | None = None
        self._conn_node = -1
        self._conn_lock = asyncio.Lock()
        self._heartbeat: asyncio.Task[None] | None = None
        self._closed = False

    # ----------------------------------------------------------------------------------- coordinator

    @property
    def is_leader(self) -> bool:
        return self.joined and self.leader_id == self.member_id

    async def connection(self) -> KafkaConnection:
        """The dedicated connection to the coordinator (found and opened on demand)."""
        conn = self._conn
        if conn is not None and not conn.closed:
            return conn
        async with self._conn_lock:
            if self._conn is not None and not self._conn.closed:
                return self._conn
            node_id = await self.cluster.coordinator_id(self.group_id)
            node = self.cluster.metadata.brokers.get(node_id)
            if node is None:
                await self.cluster.refresh([])
                node = self.cluster.metadata.brokers.get(node_id)
            if node is None:
                self.cluster.forget_coordinator(self.group_id)
                raise KafkaConnectionError(f"coordinator {node_id} of group '{self.group_id}' is not in the metadata")
            self._conn = await KafkaConnection.open(node.host, node.port, self.cluster.client_id,
                                                    self.cluster.connect_timeout,
                                                    request_timeout=self.request_timeout_ms / 1000)
            self._conn_node = node_id
            return self._conn

    def coordinator_lost(self) -> None:
        """Forget the coordinator (its connection too): the next request looks it up again."""
        self.cluster.forget_coordinator(self.group_id)
        conn, self._conn = self._conn, None
        if conn is not None:
            spawn(conn.close(), name="close-coordinator-conn")

    async def request(self, api_key: int, body: Any, timeout_ms: int | None = None) -> Any:
        conn = await self.connection()
        timeout = (timeout_ms if timeout_ms is not None else self.request_timeout_ms) / 1000
        try:
            return await conn.request(api_key, body, timeout=timeout)
        except _TRANSIENT:
            self.coordinator_lost()
            raise

    # ------------------------------------------------------------------------------------------- join

    async def join(self, topics: Sequence[str], owned: Sequence[TopicPartition],
                   partition_counts: Callable[[set[str]], Awaitable[dict[str, int]]]) -> list[TopicPartition]:
        """Run rebalances until one completes; return our assignment. ``partition_counts`` gives the leader
        the partition count of each topic the group subscribes to."""
        self.stop_heartbeat()
        self.joined = False
        while True:
            if self._closed:
                raise KafkaConnectionError("the consumer is closed")
            try:
                result = await self._join_once(list(topics), list(owned), partition_counts)
            except _TRANSIENT as e:
                log.debug("rebalance interrupted", group=self.group_id, error=str(e))
                await asyncio.sleep(self.retry_backoff_ms / 1000)
                continue
            if result is not None:
                self.joined = True
                self.rejoin_needed = False
                self.rebalances += 1
                self.last_poll = time.monotonic()
                self._heartbeat = spawn(self._run_heartbeat(), name=f"heartbeat-{self.group_id}")
                return result
            await asyncio.sleep(self.retry_backoff_ms / 1000)

    async def _join_once(self, topics: list[str], owned: list[TopicPartition],
                         partition_counts: Callable[[set[str]], Awaitable[dict[str, int]]]
                         ) -> list[TopicPartition] | None:
        protocols = [JoinGroupRequest.JoinGroupRequestProtocol(name=a.name, metadata=encode_subscription(
            Subscription(tuple(topics), a.user_data(topics, owned, self.generation)))) for a in self.assignors]
        req = JoinGroupRequest(group_id=self.group_id, session_timeout_ms=self.session_timeout_ms,
                               rebalance_timeout_ms=self.rebalance_timeout_ms, member_id=self.member_id,
                               group_instance_id=self.group_instance_id, protocol_type=PROTOCOL_TYPE,
                               protocols=protocols)
        resp = await self.request(ApiKey.JOIN_GROUP, req, self.rebalance_timeout_ms + 5000)
        code = resp.error_code
        if code == ErrorCode.MEMBER_ID_REQUIRED:
            self.member_id = resp.member_id
            return None
        if code == ErrorCode.UNKNOWN_MEMBER_ID:
            self.member_id = ""
            return None
        if code in COORDINATOR_ERRORS:
            self.coordinator_lost()
            return None
        if code in (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.REBALANCE_IN_PROGRESS):
            return None
        if code != ErrorCode.NONE:
            raise to_error(code, f"JoinGroup '{self.group_id}': {error_name(code)}")
        self.member_id, self.generation = resp.member_id, resp.generation_id
        self.protocol, self.leader_id = resp.protocol_name, resp.leader
        assignments: list[Any] = []
        if resp.leader == resp.member_id:
            assignor = next((a for a in self.assignors if a.name == resp.protocol_name), None)
            if assignor is None:
                raise KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
                                 f"the group chose assignor {resp.protocol_name!r}, which this member lacks")
            members = {m.member_id: m.metadata for m in resp.members}
            wanted: set[str] = set()
            for data in members.values():
                try:
                    wanted.update(decode_subscription(data).topics)
                except (ConsumerProtocolError, UnicodeDecodeError):
                    pass
            counts = await partition_counts(wanted)
            out = leader_assign(assignor, members, counts)
            assignments = [SyncGroupRequest.SyncGroupRequestAssignment(member_id=m, assignment=a)
                           for m, a in out.items()]
            log.debug("leader assigned", group=self.group_id, generation=self.generation, members=len(members),
                      protocol=resp.protocol_name)
        # SyncGroup v5 (KIP-559) must name the protocol type and the chosen assignor, or the coordinator
        # answers INCONSISTENT_GROUP_PROTOCOL, as Kafka 2.8's does.
        sync = SyncGroupRequest(group_id=self.group_id, generation_id=self.generation, member_id=self.member_id,
                                group_instance_id=self.group_instance_id, protocol_type=PROTOCOL_TYPE,
                                protocol_name=resp.protocol_name, assignments=assignments)
        sresp = await self.request(ApiKey.SYNC_GROUP, sync, self.rebalance_timeout_ms + 5000)
        code = sresp.error_code
        if code == ErrorCode.UNKNOWN_MEMBER_ID:
            self.member_id = ""
            return None
        if code in COORDINATOR_ERRORS:
            self.coordinator_lost()
            return None
        if code in (ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION,
                    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS):
            return None
        if code != ErrorCode.NONE:
            raise to_error(code, f"SyncGroup '{self.group_id}': {error_name(code)}")
        try:
            return list(decode_assignment(sresp.assignment).partitions)
        except (ConsumerProtocolError, UnicodeDecodeError) as e:
            raise KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, f"unreadable assignment: {e}") from None

    # -------------------------------------------------------------------------------------- heartbeat

    async def _run_heartbeat(self) -> None:
        interval = self.heartbeat_interval_ms / 1000
        while self.joined and not self.rejoin_needed:
            await asyncio.sleep(interval)
            if time.monotonic() - self.last_poll > self.rebalance_timeout_ms / 1000:
                log.warning("poll() not called within max.poll.interval.ms; leaving the group",
                            group=self.group_id, member_id=self.member_id)
                await self._send_leave()
                self.rejoin_needed = True
                return
            try:
                resp = await self.request(ApiKey.HEARTBEAT, HeartbeatRequest(
                    group_id=self.group_id, generation_id=self.generation, member_id=self.member_id,
                    group_instance_id=self.group_instance_id), min(self.request_timeout_ms, self.session_timeout_ms))
            except _TRANSIENT as e:
                log.debug("heartbeat failed", group=self.group_id, error=str(e))
                continue
            decision = heartbeat_decision(resp.error_code)
            if decision == "ok":
                continue
            log.debug("heartbeat says", group=self.group_id, error=error_name(resp.error_code))
            if decision == "coordinator":
                self.coordinator_lost()
                continue
            if decision == "reset":
                self.member_id, self.generation = "", -1
            self.rejoin_needed = True
            return

    def stop_heartbeat(self) -> None:
        if self._heartbeat is not None and not self._heartbeat.done() and self._heartbeat is not asyncio.current_task():
            self._heartbeat.cancel()
        self._heartbeat = None

    # ------------------------------------------------------------------------------------------ leave

    async def _send_leave(self) -> None:
        if not self.member_id:
            return
        req = LeaveGroupRequest(group_id=self.group_id, member_id=self.member_id, members=[
            LeaveGroupRequest.MemberIdentity(member_id=self.member_id, group_instance_id=self.group_instance_id)])
        try:
            await self.request(ApiKey.LEAVE_GROUP, req, min(self.request_timeout_ms, 5000))
        except (*_TRANSIENT, KafkaError) as e:
            log.debug("LeaveGroup failed (the session timeout will evict us)", group=self.group_id, error=str(e))
        self.member_id, self.generation, self.joined = "", -1, False

    async def leave(self) -> None:
        """Leave the group now (its members rebalance without waiting for our session to expire)."""
        self.stop_heartbeat()
        if self.joined or self.member_id:
            await self._send_leave()
        self.rejoin_needed = True

    async def close(self) -> None:
        self._closed = True
        self.stop_heartbeat()
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
