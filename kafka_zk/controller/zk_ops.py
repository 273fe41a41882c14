"""The controller's ZooKeeper operations: ``zk_layout`` calls through the asyncio bridge, converted to our values.

Every method is a coroutine that runs one synchronous :class:`zk_layout.KafkaZkClient` operation in the
bridge's thread pool (:class:`kafka_zk.zk.bridge.AsyncZk`), so the event loop never blocks on ZooKeeper.
Results are converted into the controller's own values (:class:`LiveBroker`, :class:`LeaderAndIsr`,
:class:`ReplicaAssignment`) so the rest of the package does not depend on ``zk_layout``'s record shapes.

Fencing: every write that takes ``epoch_zk_version`` is a multi-op with a check on ``/controller_epoch``
and raises ``zk_layout.ControllerMovedError`` when another controller has been elected since.

Watches: ``watch_children`` / ``watch_data`` arm ``zk_layout``'s self re-arming watches through the bridge,
which calls ``on_change`` on the event loop. With ``skip_initial`` the deliveries made while arming (the
watch's first read) are dropped: callers arm a watch *before* reading what it covers, so that read already
sees anything those deliveries could report.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Protocol

from zk_layout import KafkaZkClient, PartitionState, TopicAssignment, UpdateStatus, ZnodeDecodeError, paths
from zk_layout import TopicPartition as ZkTopicPartition
from zk_layout.znodes import BrokerRegistration

from kafka_zk.common.logging import get_logger
from kafka_zk.common.topic_ids import new_topic_id
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.context import Endpoint, LeaderAndIsr, LiveBroker, ReplicaAssignment
from kafka_zk.controller.leader_isr_store import WriteResult, WriteStatus
from kafka_zk.zk.bridge import AsyncZk

log = get_logger(__name__)


class Cancellable(Protocol):
    def cancel(self) -> None: ...


def to_live_broker(reg: BrokerRegistration, epoch: int) -> LiveBroker:
    return LiveBroker(
        reg.broker_id,
        tuple(Endpoint(e.listener_name, e.host, e.port, e.security_protocol) for e in reg.endpoints),
        epoch,
        reg.rack,
    )


def to_leader_and_isr(state: PartitionState, zk_version: int) -> LeaderAndIsr:
    return LeaderAndIsr(state.leader, state.leader_epoch, tuple(state.isr), state.controller_epoch, zk_version)


def to_partition_state(li: LeaderAndIsr) -> PartitionState:
    return PartitionState(li.leader, li.leader_epoch, tuple(li.isr), li.controller_epoch)


def to_assignments(ta: TopicAssignment) -> dict[int, ReplicaAssignment]:
    return {
        p: ReplicaAssignment(tuple(r), tuple(ta.adding_replicas.get(p, ())), tuple(ta.removing_replicas.get(p, ())))
        for p, r in ta.partitions.items()
    }


def _write_result(res: Any) -> WriteResult:
    if res.ok:
        return WriteResult(WriteStatus.OK, int(res.new_version))
    if res.status in (UpdateStatus.BAD_VERSION, UpdateStatus.NODE_EXISTS):
        return WriteResult(WriteStatus.CONFLICT, error=res.status.value)
    return WriteResult(WriteStatus.ERROR, error=res.status.value)


def _tolerant(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a zk_layout read; a znode Kafka could not have written is logged (path, field, reason) and reads as
    None, so one bad payload cannot stop the controller from managing everything else."""
    try:
        return fn(*args)
    except ZnodeDecodeError as e:
        log.error("ignoring a malformed znode", path=e.path, field=e.field, reason=e.reason)
        return None


def _parse_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    v = value.strip().lower()
    return True if v == "true" else False if v == "false" else None


class ControllerZk:
    def __init__(self, az: AsyncZk, unclean_leader_election_default: bool = False) -> None:
        self.az = az
        self.client: KafkaZkClient = az.client
        self._call = az.call
        self._unclean_default = unclean_leader_election_default
        self._topic_ids: dict[str, str | None] = {}

    # -- election ------------------------------------------------------------------------------------
    async def get_controller_id(self) -> int | None:
        return await self._call(self.client.get_controller_id)

    async def register_controller_and_increment_epoch(self, broker_id: int) -> tuple[int, int]:
        return await self._call(self.client.register_controller_and_increment_epoch, broker_id)

    async def delete_controller(self, epoch_zk_version: int) -> None:
        await self._call(self.client.delete_controller, epoch_zk_version)

    # -- brokers -------------------------------------------------------------------------------------
    async def get_all_brokers(self) -> dict[int, LiveBroker]:
        """Registered brokers; a registration that cannot be decoded is logged and left out."""

        def run() -> dict[int, Any]:
            try:
                return dict(self.client.get_all_brokers())
            except ZnodeDecodeError:
                out: dict[int, Any] = {}
                for i in self.client.get_broker_ids():
                    got = _tolerant(self.client.get_broker_and_epoch, i)
                    if got is not None:
                        out[i] = got
                return out

        got = await self._call(run)
        return {i: to_live_broker(reg, epoch) for i, (reg, epoch) in got.items()}

    async def get_broker(self, broker_id: int) -> LiveBroker | None:
        got = await self._call(_tolerant, self.client.get_broker_and_epoch, broker_id)
        return None if got is None else to_live_broker(got[0], got[1])

    # -- topics --------------------------------------------------------------------------------------
    async def get_all_topics(self) -> set[str]:
        return set(await self._call(self.client.get_all_topics))

    async def get_topic_assignments(self, topics: Iterable[str]) -> dict[str, dict[int, ReplicaAssignment]]:
        """Assignments of existing topics; a topic znode that cannot be decoded is logged and left out
        (the topic is ignored until someone rewrites it), so one bad znode cannot stop a failover."""
        wanted = list(topics)

        def run() -> dict[str, Any]:
            try:
                return dict(self.client.get_topic_assignments(wanted))
            except ZnodeDecodeError:
                out: dict[str, Any] = {}
                for t in wanted:
                    got = _tolerant(self.client.get_topic_assignment, t)
                    if got is not None:
                        out[t] = got
                return out

        got = await self._call(run)
        out: dict[str, dict[int, ReplicaAssignment]] = {}
        for topic, (ta, _version) in got.items():
            self._topic_ids[topic] = ta.topic_id
            out[topic] = to_assignments(ta)
        return out

    def topic_id(self, topic: str) -> str | None:
        """The topic id last read from the topic's znode (Kafka 2.8, znode v3), or None."""
        return self._topic_ids.get(topic)

    async def set_topic_assignment(
        self, topic: str, assignment: Mapping[int, ReplicaAssignment], epoch_zk_version: int
    ) -> WriteResult:
        ta = TopicAssignment(
            topic,
            {p: a.replicas for p, a in assignment.items()},
            {p: a.adding for p, a in assignment.items() if a.adding},
            {p: a.removing for p, a in assignment.items() if a.removing},
            topic_id=self._topic_ids.get(topic),
        )
        res = await self._call(self.client.set_topic_assignment, ta, -1, epoch_zk_version)
        return _write_result(res)

    async def assign_missing_topic_ids(self, topics: Iterable[str], epoch_zk_version: int) -> list[str]:
        """Kafka 2.8 (IBP 2.8, ``KafkaController.setTopicIds``): give each topic znode without a topic id one
        (rewritten as version 3; fenced, and conditional on its zkVersion so a concurrent CreatePartitions
        wins — the next topic change retries). Returns the topics that have an id now."""
        wanted = [t for t in topics if not self._topic_ids.get(t)]
        if not wanted:
            return []

        def run() -> dict[str, str]:
            written: dict[str, str] = {}
            try:
                current = dict(self.client.get_topic_assignments(wanted))
            except ZnodeDecodeError:
                current = {t: got for t in wanted if (got := _tolerant(self.client.get_topic_assignment, t))}
            for t, (ta, version) in current.items():
                if ta.topic_id:
                    written[t] = ta.topic_id
                    continue
                with_id = TopicAssignment(ta.topic, ta.partitions, ta.adding_replicas, ta.removing_replicas,
                                          new_topic_id())
                if self.client.set_topic_assignment(with_id, version, epoch_zk_version).ok:
                    written[t] = str(with_id.topic_id)
            return written

        written = await self._call(run)
        self._topic_ids.update(written)
        return sorted(written)

    async def delete_topic(self, topic: str, epoch_zk_version: int) -> None:
        """End of topic deletion: the topic znode (with partition states), its config, its deletion marker."""

        def run() -> None:
            self.client.delete_topic_znodes(topic, epoch_zk_version)
            self.client.delete_entity_config(paths.CONFIG_TYPE_TOPICS, topic, epoch_zk_version)
            self.client.delete_topic_deletions([topic], epoch_zk_version)

        await self._call(run)
        self._topic_ids.pop(topic, None)

    async def get_topic_deletions(self) -> set[str]:
        return set(await self._call(self.client.get_topic_deletions))

    async def delete_topic_deletions(self, topics: Iterable[str], epoch_zk_version: int) -> None:
        await self._call(self.client.delete_topic_deletions, list(topics), epoch_zk_version)

    async def unclean_leader_election_enabled(self, topics: Iterable[str]) -> dict[str, bool]:
        def run() -> dict[str, bool]:
            out: dict[str, bool] = {}
            for t in topics:
                override = _parse_bool(self.client.get_entity_config(paths.CONFIG_TYPE_TOPICS, t).get(
                    "unclean.leader.election.enable"))
                out[t] = self._unclean_default if override is None else override
            return out

        return await self._call(run)

    # -- partition state (LeaderIsrStore) ------------------------------------------------------------
    async def get_partition_states(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, LeaderAndIsr | None]:
        """State znodes (None when absent; an undecodable one is logged and reads as absent)."""
        wanted = [TopicPartition(*tp) for tp in tps]

        def run() -> dict[Any, Any]:
            try:
                return dict(self.client.get_partition_states(wanted))
            except ZnodeDecodeError:
                return {ZkTopicPartition(*tp): got for tp in wanted
                        if (got := _tolerant(self.client.get_partition_state, tp)) is not None}

        got = await self._call(run)
        out: dict[TopicPartition, LeaderAndIsr | None] = {}
        for tp in wanted:
            entry = got.get(ZkTopicPartition(tp.topic, tp.partition))
            out[tp] = None if entry is None else to_leader_and_isr(entry[0], entry[1])
        return out

    async def create_partition_states(
        self, states: Mapping[TopicPartition, LeaderAndIsr], epoch_zk_version: int
    ) -> dict[TopicPartition, WriteResult]:
        zk_states = {tp: to_partition_state(li) for tp, li in states.items()}
        got = await self._call(self.client.create_partition_states, zk_states, epoch_zk_version)
        return {TopicPartition(*tp): _write_result(res) for tp, res in got.items()}

    async def update_partition_states(
        self, states: Mapping[TopicPartition, LeaderAndIsr], epoch_zk_version: int
    ) -> dict[TopicPartition, WriteResult]:
        updates = {tp: (to_partition_state(li), li.zk_version) for tp, li in states.items()}
        got = await self._call(self.client.update_leader_and_isr, updates, epoch_zk_version)
        return {TopicPartition(*tp): _write_result(res) for tp, res in got.items()}

    # -- notifications -------------------------------------------------------------------------------
    async def get_isr_change_notifications(self) -> list[str]:
        return await self._call(self.client.get_all_isr_change_notifications)

    async def get_partitions_from_isr_change_notifications(self, seqs: list[str]) -> list[TopicPartition]:
        def run() -> list[Any]:
            try:
                return list(self.client.get_partitions_from_isr_change_notifications(seqs))
            except ZnodeDecodeError:
                return [tp for seq in seqs
                        for tp in (_tolerant(self.client.get_partitions_from_isr_change_notifications, [seq]) or [])]

        return [TopicPartition(*tp) for tp in await self._call(run)]

    async def delete_isr_change_notifications(self, seqs: list[str] | None, epoch_zk_version: int) -> None:
        await self._call(self.client.delete_isr_change_notifications, seqs, epoch_zk_version)

    async def delete_log_dir_event_notifications(self, epoch_zk_version: int) -> None:
        await self._call(self.client.delete_log_dir_event_notifications, None, epoch_zk_version)

    # -- admin requests ------------------------------------------------------------------------------
    async def get_partition_reassignment(self) -> dict[TopicPartition, tuple[int, ...]] | None:
        """``/admin/reassign_partitions`` (None when absent or undecodable — the latter is logged)."""
        got = await self._call(_tolerant, self.client.get_partition_reassignment)
        return None if got is None else {TopicPartition(*tp): tuple(r) for tp, r in got.items()}

    async def set_or_delete_partition_reassignment(
        self, reassignment: Mapping[TopicPartition, tuple[int, ...]], epoch_zk_version: int
    ) -> None:
        await self._call(self.client.set_or_delete_partition_reassignment, dict(reassignment), epoch_zk_version)

    async def get_preferred_replica_election(self) -> frozenset[TopicPartition] | None:
        """``/admin/preferred_replica_election`` (None when absent or undecodable — the latter is logged)."""
        got = await self._call(_tolerant, self.client.get_preferred_replica_election)
        return None if got is None else frozenset(TopicPartition(*tp) for tp in got)

    async def delete_preferred_replica_election(self, epoch_zk_version: int) -> None:
        await self._call(self.client.delete_preferred_replica_election, epoch_zk_version)

    # -- watches -------------------------------------------------------------------------------------
    async def watch_children(self, path: str, on_change: Callable[[], None], skip_initial: bool = True) -> Cancellable:
        arming = [skip_initial]

        def cb(_children: list[str]) -> None:
            if not arming[0]:
                on_change()

        w = await self.az.watch_children(path, cb)
        arming[0] = False
        return w

    async def watch_data(self, path: str, on_change: Callable[[bool], None], skip_initial: bool = True) -> Cancellable:
        """``on_change(exists)`` on the loop after every creation, data change or deletion of ``path``."""
        arming = [skip_initial]

        def cb(_data: bytes | None, stat: Any) -> None:
            if not arming[0]:
                on_change(stat is not None)

        w = await self.az.watch_data(path, cb)
        arming[0] = False
        return w

    @staticmethod
    async def cancel_watch(watch: Cancellable) -> None:
        watch.cancel()
