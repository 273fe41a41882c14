"""``KafkaZkClient``: the operations Kafka 2.x brokers, controllers and tools perform on ZooKeeper.

Method names follow Kafka's ``KafkaZkClient.scala`` / ``AdminZkClient.scala`` in snake_case, and so do the
semantics (see ``docs/zk-layout.md`` and the reference ``zk-layout.md`` §1.18, §2.2, §2.9):

* every *controller* write takes ``controller_epoch_zk_version`` and is fenced by a multi-op check on
  ``/controller_epoch`` (raises :class:`ControllerMovedError` when stale);
* partition-state writes are conditional on the znode's zkVersion and return an :class:`UpdateResult`
  (``ok``/``new_version`` or ``conflict``) instead of overwriting;
* a broker registers with the "checked ephemeral" pattern and gets its czxid back as broker epoch;
* creates of things that must be unique (topics, deletion markers, admin requests, the cluster id) fail
  cleanly with a named error when the znode exists.

Synchronous (kazoo's sync API) and safe to call from any thread. asyncio code goes through
``kafka_zk.zk.bridge.AsyncZk``.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Callable, Iterable, Mapping, Sequence

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from zk_layout import paths
from zk_layout.connection import (
    MATCH_ANY_VERSION,
    Op,
    SessionEvent,
    SessionState,
    UpdateResult,
    UpdateStatus,
    ZkConnection,
    ZkConnectionError,
    first_error,
)
from zk_layout.errors import (
    BrokerIdTakenError,
    ConsumerIdTakenError,
    ControllerMovedError,
    ElectionInProgressError,
    ReassignmentInProgressError,
    TopicAlreadyMarkedForDeletionError,
    TopicExistsError,
    TopicNotFoundError,
    ZkLayoutError,
)
from zk_layout.watches import ChildrenCallback, ChildrenWatch, DataCallback, DataWatch
from zk_layout.znodes import (
    PRODUCER_ID_BLOCK_SIZE,
    BrokerRegistration,
    ClusterId,
    ConfigChangeNotification,
    ControllerEpoch,
    ControllerInfo,
    EntityConfig,
    FeatureInfo,
    IsrChangeNotification,
    LogDirEventNotification,
    PartitionState,
    PreferredReplicaElection,
    ProducerIdBlock,
    ReassignPartitions,
    TopicAssignment,
    TopicPartition,
    ConsumerOffset,
    ConsumerPartitionOwner,
    ConsumerRegistration,
)

__all__ = [
    "KafkaZkClient",
    "UpdateResult",
    "UpdateStatus",
    "SessionEvent",
    "SessionState",
    "ZkConnectionError",
    "generate_cluster_id",
]

# ``reserved.broker.max.id`` default: generated broker ids start above it.
RESERVED_BROKER_MAX_ID = 1000
_MAX_PRODUCER_ID = 2**63 - 1

TP = TopicPartition | tuple[str, int]
# "Does this payload hold what we meant to write?" (Kafka's optional checker for conditional updates)
Same = Callable[[bytes], bool]


def generate_cluster_id() -> str:
    """A random UUID as 22 characters of URL-safe base64 without padding (``CoreUtils.generateUuidAsBase64``)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _tp(tp: TP) -> TopicPartition:
    return TopicPartition(tp[0], tp[1])


def _same_partition_state(path: str, state: PartitionState) -> Same:
    return lambda data: PartitionState.from_json(data, path) == state


def _same_producer_id_block(block: ProducerIdBlock) -> Same:
    return lambda data: ProducerIdBlock.from_json(data) == block


class KafkaZkClient(ZkConnection):
    """Kafka 2.x's view of ZooKeeper. ``KafkaZkClient("127.0.0.1:2181/kafka").start()``; ``close()`` when done
    (or use it as a context manager). ``.kazoo`` is the underlying ``KazooClient``."""

    # ------------------------------------------------------------------------------------------------
    # Skeleton, cluster id

    def create_top_level_paths(self) -> None:
        """The persistent znodes every broker makes sure exist at startup (``ZkData.PersistentZkPaths``)."""
        for p in paths.PERSISTENT_PATHS:
            self.ensure_path(p)

    def get_cluster_id(self) -> str | None:
        got = self.get_data(paths.CLUSTER_ID)
        return None if got is None else ClusterId.from_json(got[0], paths.CLUSTER_ID).id

    def get_or_create_cluster_id(self, proposed: str | None = None) -> str:
        """The cluster id; the first caller creates it (``proposed`` or a fresh one), racing callers all
        get the winner's id."""
        existing = self.get_cluster_id()
        if existing is not None:
            return existing
        try:
            self.create(paths.CLUSTER_ID, ClusterId(proposed or generate_cluster_id()).to_json(), make_parents=True)
        except NodeExistsError:
            pass
        cluster_id = self.get_cluster_id()
        if cluster_id is None:  # pragma: no cover - deleted right after creation
            raise ZkLayoutError(f"{paths.CLUSTER_ID} vanished right after it was created")
        return cluster_id

    # ------------------------------------------------------------------------------------------------
    # Brokers

    def generate_broker_id(self, reserved_broker_max_id: int = RESERVED_BROKER_MAX_ID) -> int:
        """Bump ``/brokers/seqid`` unconditionally; its new zkVersion + ``reserved.broker.max.id`` is the id
        (the first generated id is 1001)."""
        while True:
            try:
                stat = self.retry(self.kazoo.set, paths.BROKER_SEQID, b"", MATCH_ANY_VERSION)
                return int(stat.version) + reserved_broker_max_id
            except NoNodeError:
                self.ensure_path(paths.BROKER_SEQID)

    def register_broker(self, registration: BrokerRegistration) -> int:
        """Create the ephemeral ``/brokers/ids/<id>``; returns its czxid, the broker epoch (KIP-380).

        Checked-ephemeral: one multi-op creates the znode (null data) and sets the data at version 0. If the
        znode exists and belongs to this session (a retry after connection loss), that is success. If it
        belongs to another session, raises :class:`BrokerIdTakenError`.
        """
        path = paths.broker_id_path(registration.broker_id)
        self.ensure_path(paths.BROKER_IDS)
        data = registration.to_json()
        results = self.retry(lambda: self.multi([Op.create(path, None, ephemeral=True), Op.set(path, data, 0)]))
        err = first_error(results)
        if err is None:
            return int(results[1].czxid)
        if not isinstance(err, NodeExistsError):
            raise err
        got = self.get_data(path)
        if got is None:  # it went away meanwhile (its session just expired): try again
            return self.register_broker(registration)
        stat = got[1]
        if stat.ephemeralOwner == self.session_id:
            return int(stat.czxid)
        raise BrokerIdTakenError(registration.broker_id, path, stat.ephemeralOwner)

    def update_broker_info(self, registration: BrokerRegistration) -> None:
        """Rewrite this broker's registration (dynamic listener update); unconditional, as in Kafka."""
        self.retry(self.kazoo.set, paths.broker_id_path(registration.broker_id), registration.to_json(), -1)

    def get_broker_and_epoch(self, broker_id: int) -> tuple[BrokerRegistration, int] | None:
        path = paths.broker_id_path(broker_id)
        got = self.get_data(path)
        if got is None:
            return None
        return BrokerRegistration.from_json(got[0], path), int(got[1].czxid)

    def get_broker(self, broker_id: int) -> BrokerRegistration | None:
        got = self.get_broker_and_epoch(broker_id)
        return None if got is None else got[0]

    def get_broker_ids(self) -> list[int]:
        """Registered (live) broker ids, sorted."""
        children = self.get_children(paths.BROKER_IDS) or []
        return sorted(int(c) for c in children if c.isdigit())

    def get_all_brokers(self) -> dict[int, tuple[BrokerRegistration, int]]:
        """Every registered broker with its epoch (czxid), read pipelined."""
        ids = self.get_broker_ids()
        got = self.get_many(paths.broker_id_path(i) for i in ids)
        out: dict[int, tuple[BrokerRegistration, int]] = {}
        for i in ids:
            path = paths.broker_id_path(i)
            entry = got.get(path)
            if entry is not None:  # gone between listing and reading: not live any more
                out[i] = (BrokerRegistration.from_json(entry[0], path), int(entry[1].czxid))
        return out

    # ------------------------------------------------------------------------------------------------
    # Controller election

    def get_controller(self) -> ControllerInfo | None:
        got = self.get_data(paths.CONTROLLER)
        return None if got is None else ControllerInfo.from_json(got[0], paths.CONTROLLER)

    def get_controller_id(self) -> int | None:
        info = self.get_controller()
        return None if info is None else info.broker_id

    def get_controller_epoch(self) -> tuple[int, int] | None:
        """``(epoch, zk_version)`` of ``/controller_epoch``, or None when no controller was ever elected."""
        got = self.get_data(paths.CONTROLLER_EPOCH)
        if got is None:
            return None
        return ControllerEpoch.from_json(got[0], paths.CONTROLLER_EPOCH).epoch, int(got[1].version)

    def register_controller_and_increment_epoch(self, broker_id: int) -> tuple[int, int]:
        """Try to become controller (Kafka 2.1+): returns ``(new_epoch, epoch_zk_version)``.

        Creates ``/controller_epoch`` with 0 when missing, then in one multi-op creates the ephemeral
        ``/controller`` and sets the epoch to E+1 at the zkVersion read. Raises :class:`ControllerMovedError`
        when another broker won (or the epoch moved under us).
        """
        current = self.get_controller_epoch()
        if current is None:
            try:
                self.create(paths.CONTROLLER_EPOCH, ControllerEpoch(0).to_json())
            except NodeExistsError:
                pass
            current = self.get_controller_epoch()
            assert current is not None
        epoch, zk_version = current
        new_epoch = epoch + 1
        info = ControllerInfo(broker_id, _now_ms()).to_json()
        ops = [
            Op.create(paths.CONTROLLER, info, ephemeral=True),
            Op.set(paths.CONTROLLER_EPOCH, ControllerEpoch(new_epoch).to_json(), zk_version),
        ]
        results = self.retry(lambda: self.multi(ops))
        err = first_error(results)
        if err is None:
            return new_epoch, int(results[1].version)
        if not isinstance(err, (NodeExistsError, BadVersionError)):
            raise err
        # Maybe our own earlier attempt went through before a connection loss.
        holder = self.get_controller_id()
        now = self.get_controller_epoch()
        if holder == broker_id and now is not None and now[0] == new_epoch:
            return now
        raise ControllerMovedError(
            f"broker {broker_id} did not become controller: /controller is held by broker {holder}"
            + (f" at controller epoch {now[0]}" if now else "")
        )

    def delete_controller(self, controller_epoch_zk_version: int) -> None:
        """Delete ``/controller`` to force a re-election (Kafka's ``triggerControllerMove``); fenced."""
        err = first_error(self.multi([Op.delete(paths.CONTROLLER)], controller_epoch_zk_version))
        if err is not None and not isinstance(err, NoNodeError):
            raise err

    # ------------------------------------------------------------------------------------------------
    # Topics and their assignments

    def get_all_topics(self) -> list[str]:
        return self.get_children(paths.BROKER_TOPICS) or []

    def topic_exists(self, topic: str) -> bool:
        return self.exists(paths.topic_path(topic)) is not None

    def create_topic_assignment(self, topic: str, partitions: Mapping[int, Sequence[int]],
                                topic_id: str | None = None) -> int:
        """Create ``/brokers/topics/<t>`` (create-only); returns its zkVersion (0). Raises
        :class:`TopicExistsError`. Validating names and assignments is the caller's job."""
        assignment = TopicAssignment(topic, {int(p): tuple(r) for p, r in partitions.items()}, topic_id=topic_id)
        try:
            self.create(paths.topic_path(topic), assignment.to_json(), make_parents=True)
        except NodeExistsError:
            raise TopicExistsError(topic) from None
        return 0

    def get_topic_assignment(self, topic: str) -> tuple[TopicAssignment, int] | None:
        """``(assignment, zk_version)`` or None when the topic does not exist."""
        path = paths.topic_path(topic)
        got = self.get_data(path)
        return None if got is None else (TopicAssignment.from_json(got[0], path), int(got[1].version))

    def get_topic_assignments(self, topics: Iterable[str]) -> dict[str, tuple[TopicAssignment, int]]:
        """Pipelined :meth:`get_topic_assignment`; topics that do not exist are left out."""
        by_path = {paths.topic_path(t): t for t in topics}
        out: dict[str, tuple[TopicAssignment, int]] = {}
        for path, entry in self.get_many(by_path).items():
            if entry is not None:
                out[by_path[path]] = (TopicAssignment.from_json(entry[0], path), int(entry[1].version))
        return out

    def set_topic_assignment(self, assignment: TopicAssignment, expected_version: int = MATCH_ANY_VERSION,
                             controller_epoch_zk_version: int | None = None) -> UpdateResult:
        """Rewrite ``/brokers/topics/<t>`` (added partitions, reassignment progress, topic id).
        Conditional on ``expected_version`` (-1 = any); fenced when a controller epoch version is given."""
        path = paths.topic_path(assignment.topic)
        return self._conditional_set(path, assignment.to_json(), expected_version, controller_epoch_zk_version,
                                     same=lambda d: TopicAssignment.from_json(d, path) == assignment)

    def delete_topic_znodes(self, topic: str, controller_epoch_zk_version: int) -> None:
        """Remove ``/brokers/topics/<t>`` and its partition state znodes (end of topic deletion); fenced."""
        self.delete_recursive(paths.topic_path(topic), controller_epoch_zk_version)

    # -- topic deletion markers ----------------------------------------------------------------------

    def mark_topic_for_deletion(self, topic: str) -> None:
        """Create ``/admin/delete_topics/<t>`` (what kafka-topics --delete and DeleteTopics do). Raises
        :class:`TopicNotFoundError` or :class:`TopicAlreadyMarkedForDeletionError`."""
        if not self.topic_exists(topic):
            raise TopicNotFoundError(topic)
        try:
            self.create(paths.delete_topic_path(topic), None, make_parents=True)
        except NodeExistsError:
            raise TopicAlreadyMarkedForDeletionError(topic) from None

    def get_topic_deletions(self) -> list[str]:
        return self.get_children(paths.DELETE_TOPICS) or []

    def is_topic_marked_for_deletion(self, topic: str) -> bool:
        return self.exists(paths.delete_topic_path(topic)) is not None

    def delete_topic_deletions(self, topics: Iterable[str], controller_epoch_zk_version: int) -> None:
        """Remove deletion markers (done, or topic unknown); fenced."""
        batches = [[Op.delete(paths.delete_topic_path(t))] for t in topics]
        self._run_tolerating_no_node(batches, controller_epoch_zk_version)

    # ------------------------------------------------------------------------------------------------
    # Partition state (leader and ISR)

    def get_partition_state(self, tp: TP) -> tuple[PartitionState, int] | None:
        """``(state, zk_version)`` of ``/brokers/topics/<t>/partitions/<p>/state``, or None."""
        path = paths.partition_state_path(tp[0], tp[1])
        got = self.get_data(path)
        return None if got is None else (PartitionState.from_json(got[0], path), int(got[1].version))

    def get_partition_states(self, tps: Iterable[TP]) -> dict[TopicPartition, tuple[PartitionState, int]]:
        """Pipelined :meth:`get_partition_state`; partitions without a state znode are left out."""
        by_path = {paths.partition_state_path(tp[0], tp[1]): _tp(tp) for tp in tps}
        out: dict[TopicPartition, tuple[PartitionState, int]] = {}
        for path, entry in self.get_many(by_path).items():
            if entry is not None:
                out[by_path[path]] = (PartitionState.from_json(entry[0], path), int(entry[1].version))
        return out

    def create_partition_states(self, states: Mapping[TP, PartitionState],
                                controller_epoch_zk_version: int) -> dict[TopicPartition, UpdateResult]:
        """Create the state znodes of new partitions (and their ``partitions``/``<p>`` parents, null data).
        Per partition: ``ok`` with version 0, NODE_EXISTS, or NO_NODE when the topic znode is missing. Fenced."""
        tps = [_tp(tp) for tp in states]
        parents = [[Op.create(paths.topic_partitions_path(t), None)] for t in sorted({tp.topic for tp in tps})]
        parents += [[Op.create(paths.partition_path(tp.topic, tp.partition), None)] for tp in tps]
        for results in self.multi_each([b[0] for b in parents], controller_epoch_zk_version):
            err = first_error(results)
            # NODEEXISTS: fine. NONODE (the topic znode is gone): reported per partition below.
            if err is not None and not isinstance(err, (NodeExistsError, NoNodeError)):
                raise err
        creates = [Op.create(paths.partition_state_path(tp.topic, tp.partition), states[tp].to_json()) for tp in tps]
        out: dict[TopicPartition, UpdateResult] = {}
        for tp, results in zip(tps, self.multi_each(creates, controller_epoch_zk_version)):
            err = first_error(results)
            out[tp] = UpdateResult.done(0) if err is None else UpdateResult.from_error(err)
        return out

    def update_partition_state(self, tp: TP, state: PartitionState, expected_version: int,
                               controller_epoch_zk_version: int | None = None) -> UpdateResult:
        """Conditionally rewrite one partition's leader/ISR (a leader changing its ISR passes no controller
        epoch version; the controller does). Never overwrites a newer version: ``conflict`` instead."""
        return self.update_leader_and_isr({tp: (state, expected_version)}, controller_epoch_zk_version)[_tp(tp)]

    def update_leader_and_isr(self, updates: Mapping[TP, tuple[PartitionState, int]],
                              controller_epoch_zk_version: int | None = None) -> dict[TopicPartition, UpdateResult]:
        """Kafka's ``updateLeaderAndIsr``: pipelined conditional writes, one result per partition.
        ``conflict`` means re-read and decide again; raises ControllerMovedError when fenced."""
        tps = [_tp(tp) for tp in updates]
        items = [(tp, paths.partition_state_path(tp.topic, tp.partition), updates[tp][0], updates[tp][1])
                 for tp in tps]
        sets = [Op.set(path, state.to_json(), version) for _, path, state, version in items]
        out: dict[TopicPartition, UpdateResult] = {}
        for (tp, path, state, _), results in zip(items, self.multi_each(sets, controller_epoch_zk_version)):
            err = first_error(results)
            if err is None:
                out[tp] = UpdateResult.done(int(results[0].version))
            elif isinstance(err, BadVersionError):
                out[tp] = self._same_data_result(path, _same_partition_state(path, state))
            else:
                out[tp] = UpdateResult.from_error(err)
        return out

    # ------------------------------------------------------------------------------------------------
    # Reassignment and preferred election requests (ZooKeeper-submitted)

    def create_partition_reassignment(self, reassignment: Mapping[TP, Sequence[int]]) -> None:
        """Create ``/admin/reassign_partitions``; raises :class:`ReassignmentInProgressError` if one exists."""
        znode = ReassignPartitions({_tp(tp): tuple(r) for tp, r in reassignment.items()})
        try:
            self.create(paths.REASSIGN_PARTITIONS, znode.to_json(), make_parents=True)
        except NodeExistsError:
            raise ReassignmentInProgressError(f"{paths.REASSIGN_PARTITIONS} exists: a reassignment is in progress") from None

    def get_partition_reassignment(self) -> dict[TopicPartition, tuple[int, ...]] | None:
        got = self.get_data(paths.REASSIGN_PARTITIONS)
        return None if got is None else dict(ReassignPartitions.from_json(got[0]).partitions)

    def set_or_delete_partition_reassignment(self, reassignment: Mapping[TP, Sequence[int]],
                                             controller_epoch_zk_version: int) -> None:
        """Rewrite the remaining reassignment, or delete the znode when nothing is left; fenced."""
        if not reassignment:
            self.delete_partition_reassignment(controller_epoch_zk_version)
            return
        data = ReassignPartitions({_tp(tp): tuple(r) for tp, r in reassignment.items()}).to_json()
        err = first_error(self.multi([Op.set(paths.REASSIGN_PARTITIONS, data)], controller_epoch_zk_version))
        if isinstance(err, NoNodeError):
            err = first_error(self.multi([Op.create(paths.REASSIGN_PARTITIONS, data)], controller_epoch_zk_version))
        if err is not None:
            raise err

    def delete_partition_reassignment(self, controller_epoch_zk_version: int) -> None:
        self._run_tolerating_no_node([[Op.delete(paths.REASSIGN_PARTITIONS)]], controller_epoch_zk_version)

    def create_preferred_replica_election(self, partitions: Iterable[TP]) -> None:
        """Create ``/admin/preferred_replica_election``; raises :class:`ElectionInProgressError` if pending."""
        znode = PreferredReplicaElection(frozenset(_tp(tp) for tp in partitions))
        try:
            self.create(paths.PREFERRED_REPLICA_ELECTION, znode.to_json(), make_parents=True)
        except NodeExistsError:
            raise ElectionInProgressError(
                f"{paths.PREFERRED_REPLICA_ELECTION} exists: a preferred replica election is pending") from None

    def get_preferred_replica_election(self) -> frozenset[TopicPartition] | None:
        got = self.get_data(paths.PREFERRED_REPLICA_ELECTION)
        return None if got is None else PreferredReplicaElection.from_json(got[0]).partitions

    def delete_preferred_replica_election(self, controller_epoch_zk_version: int) -> None:
        self._run_tolerating_no_node([[Op.delete(paths.PREFERRED_REPLICA_ELECTION)]], controller_epoch_zk_version)

    # ------------------------------------------------------------------------------------------------
    # ISR-change and log-dir-event notifications (persistent sequential)

    def propagate_isr_changes(self, partitions: Iterable[TP]) -> str:
        """Create one ``/isr_change_notification/isr_change_<seq>`` listing ``partitions``; returns ``<seq>``."""
        data = IsrChangeNotification(tuple(_tp(tp) for tp in partitions)).to_json()
        created = self.create(paths.isr_change_prefix_path(), data, sequence=True, make_parents=True)
        return paths.sequence_number(created.rsplit("/", 1)[1], paths.ISR_CHANGE_PREFIX)

    def get_all_isr_change_notifications(self) -> list[str]:
        """Sequence numbers of pending ISR-change notifications, oldest first."""
        children = self.get_children(paths.ISR_CHANGE_NOTIFICATION) or []
        return [paths.sequence_number(c, paths.ISR_CHANGE_PREFIX) for c in children
                if c.startswith(paths.ISR_CHANGE_PREFIX)]

    def get_partitions_from_isr_change_notifications(self, sequence_numbers: Iterable[str]) -> list[TopicPartition]:
        """Partitions named by these notifications (already deleted ones are skipped), de-duplicated."""
        got = self.get_many(paths.isr_change_path(s) for s in sequence_numbers)
        seen: dict[TopicPartition, None] = {}
        for path, entry in got.items():
            if entry is not None:
                for tp in IsrChangeNotification.from_json(entry[0], path).partitions:
                    seen[tp] = None
        return list(seen)

    def delete_isr_change_notifications(self, sequence_numbers: Iterable[str] | None,
                                        controller_epoch_zk_version: int) -> None:
        """Delete processed notifications (all of them when ``sequence_numbers`` is None); fenced."""
        seqs = self.get_all_isr_change_notifications() if sequence_numbers is None else list(sequence_numbers)
        self._run_tolerating_no_node([[Op.delete(paths.isr_change_path(s))] for s in seqs],
                                     controller_epoch_zk_version)

    def propagate_log_dir_event(self, broker_id: int) -> str:
        data = LogDirEventNotification(broker_id).to_json()
        created = self.create(paths.log_dir_event_prefix_path(), data, sequence=True, make_parents=True)
        return paths.sequence_number(created.rsplit("/", 1)[1], paths.LOG_DIR_EVENT_PREFIX)

    def get_all_log_dir_event_notifications(self) -> list[str]:
        children = self.get_children(paths.LOG_DIR_EVENT_NOTIFICATION) or []
        return [paths.sequence_number(c, paths.LOG_DIR_EVENT_PREFIX) for c in children
                if c.startswith(paths.LOG_DIR_EVENT_PREFIX)]

    def get_broker_ids_from_log_dir_events(self, sequence_numbers: Iterable[str]) -> list[int]:
        got = self.get_many(paths.log_dir_event_path(s) for s in sequence_numbers)
        return sorted({LogDirEventNotification.from_json(e[0], p).broker_id for p, e in got.items() if e is not None})

    def delete_log_dir_event_notifications(self, sequence_numbers: Iterable[str] | None,
                                           controller_epoch_zk_version: int) -> None:
        seqs = self.get_all_log_dir_event_notifications() if sequence_numbers is None else list(sequence_numbers)
        self._run_tolerating_no_node([[Op.delete(paths.log_dir_event_path(s))] for s in seqs],
                                     controller_epoch_zk_version)

    # ------------------------------------------------------------------------------------------------
    # Config entities and change notifications

    def get_entity_config(self, entity_type: str, entity_name: str) -> dict[str, str]:
        """``/config/<type>/<name>`` as a dict of strings; ``{}`` when there is none."""
        path = paths.config_entity_path(entity_type, entity_name)
        got = self.get_data(path)
        return {} if got is None or not got[0] else dict(EntityConfig.from_json(got[0], path).config)

    def get_all_entities_with_config(self, entity_type: str) -> list[str]:
        return self.get_children(paths.config_type_path(entity_type)) or []

    def set_or_create_entity_config(self, entity_type: str, entity_name: str, config: Mapping[str, str]) -> None:
        """Write the entity's config (last writer wins); no notification (see :meth:`change_entity_config`)."""
        path = paths.config_entity_path(entity_type, entity_name)
        self.set_or_create(path, EntityConfig(entity_type, entity_name, dict(config)).to_json())

    def create_config_change_notification(self, entity_path: str) -> str:
        """Create ``/config/changes/config_change_<seq>`` (v2 payload) for ``<type>/<name>``; returns ``<seq>``."""
        data = ConfigChangeNotification(entity_path).to_json()
        created = self.create(paths.config_change_prefix_path(), data, sequence=True, make_parents=True)
        return paths.sequence_number(created.rsplit("/", 1)[1], paths.CONFIG_CHANGE_PREFIX)

    def change_entity_config(self, entity_type: str, entity_name: str, config: Mapping[str, str]) -> str:
        """What ``kafka-configs --alter`` does: write the config, then notify every broker. Returns ``<seq>``."""
        self.set_or_create_entity_config(entity_type, entity_name, config)
        return self.create_config_change_notification(f"{entity_type}/{entity_name}")

    def get_config_change_notifications(self) -> list[str]:
        """Child names under ``/config/changes`` (``config_change_<seq>``), oldest first."""
        return [c for c in (self.get_children(paths.CONFIG_CHANGES) or []) if c.startswith(paths.CONFIG_CHANGE_PREFIX)]

    def get_config_change_notification(self, child: str) -> tuple[ConfigChangeNotification, int] | None:
        """``(notification, ctime_ms)`` — brokers purge notifications older than 15 minutes by ctime."""
        path = paths.join(paths.CONFIG_CHANGES, child)
        got = self.get_data(path)
        return None if got is None else (ConfigChangeNotification.from_json(got[0], path), int(got[1].ctime))

    def delete_config_change_notification(self, child: str) -> None:
        try:
            self.retry(self.kazoo.delete, paths.join(paths.CONFIG_CHANGES, child))
        except NoNodeError:
            pass

    def delete_entity_config(self, entity_type: str, entity_name: str,
                             controller_epoch_zk_version: int | None = None) -> None:
        """Remove ``/config/<type>/<name>`` (a deleted topic's config); fenced when a version is given."""
        self.delete_recursive(paths.config_entity_path(entity_type, entity_name), controller_epoch_zk_version)

    # ------------------------------------------------------------------------------------------------
    # Producer id blocks, features, old-consumer offsets

    def allocate_producer_id_block(self, broker_id: int, block_size: int = PRODUCER_ID_BLOCK_SIZE) -> ProducerIdBlock:
        """Claim the next block of producer ids in ``/latest_producer_id_block`` (read, propose next block,
        conditional write at the read version, retry on conflict)."""
        while True:
            got = self.get_data(paths.LATEST_PRODUCER_ID_BLOCK)
            if got is None:
                self.ensure_path(paths.LATEST_PRODUCER_ID_BLOCK)
                continue
            data, stat = got
            if data:
                block = ProducerIdBlock.from_json(data).next_block(broker_id, block_size)
            else:
                block = ProducerIdBlock.first_block(broker_id, block_size)
            if block.block_end > _MAX_PRODUCER_ID:
                raise ZkLayoutError("producer ids exhausted: the next block would exceed 2^63-1")
            res = self._conditional_set(paths.LATEST_PRODUCER_ID_BLOCK, block.to_json(), int(stat.version), None,
                                        same=_same_producer_id_block(block))
            if res.ok:
                return block

    def get_feature(self) -> tuple[FeatureInfo, int] | None:
        got = self.get_data(paths.FEATURE)
        return None if got is None or not got[0] else (FeatureInfo.from_json(got[0]), int(got[1].version))

    def set_or_create_feature(self, feature: FeatureInfo) -> int:
        return int(self.set_or_create(paths.FEATURE, feature.to_json()).version)

    def get_consumer_offset(self, group: str, topic: str, partition: int) -> int | None:
        """Old ZooKeeper consumer's committed offset, or None when none was committed."""
        path = paths.consumer_offset_path(group, topic, partition)
        got = self.get_data(path)
        return None if got is None else ConsumerOffset.from_json(got[0], path).offset

    def set_consumer_offset(self, group: str, topic: str, partition: int, offset: int) -> None:
        """Commit an old-consumer offset (``setOrCreateConsumerOffset``)."""
        self.set_or_create(paths.consumer_offset_path(group, topic, partition), ConsumerOffset(offset).to_json())

    def get_consumer_offsets(self, group: str, tps: Iterable[TP]) -> dict[TopicPartition, int | None]:
        """Pipelined :meth:`get_consumer_offset` (what a 0.8 consumer reads for its new partitions)."""
        by_path = {paths.consumer_offset_path(group, tp[0], tp[1]): _tp(tp) for tp in tps}
        out: dict[TopicPartition, int | None] = {}
        for path, entry in self.get_many(by_path).items():
            out[by_path[path]] = None if entry is None else ConsumerOffset.from_json(entry[0], path).offset
        return out

    # ------------------------------------------------------------------------------------------------
    # The 0.8 high-level consumer's group: /consumers/<group>/ids and /owners (ZookeeperConsumerConnector)

    def register_consumer(self, group: str, consumer_id: str, registration: ConsumerRegistration,
                          backoff_ms: int = 1000, wait_ms: int | None = None) -> None:
        """Create the ephemeral ``/consumers/<group>/ids/<consumer id>`` (Kafka's
        ``createEphemeralPathExpectConflictHandleZKBug``): a znode left by an older session with this id
        (not expired yet) is waited for, retrying every ``backoff_ms``, up to ``wait_ms`` (default: twice
        the session timeout), then :class:`ConsumerIdTakenError`. One held by our own session (a create
        retried after a connection loss) is success."""
        path = paths.consumer_id_path(group, consumer_id)
        data = registration.to_json()
        deadline = time.monotonic() + (wait_ms if wait_ms is not None else 2 * self.session_timeout_ms) / 1000
        while True:
            try:
                self.create(path, data, ephemeral=True, make_parents=True)
                return
            except NodeExistsError:
                pass
            got = self.get_data(path)
            if got is None:
                continue  # gone meanwhile: create again at once
            owner = int(got[1].ephemeralOwner)
            if owner == self.session_id:
                if got[0] != data:
                    self.retry(self.kazoo.set, path, data, MATCH_ANY_VERSION)
                return
            if time.monotonic() >= deadline:
                raise ConsumerIdTakenError(group, consumer_id, owner)
            time.sleep(backoff_ms / 1000)

    def get_consumers_in_group(self, group: str) -> list[str]:
        """Registered consumer ids of ``group``, sorted (``ZkUtils.getConsumersInGroup``)."""
        return self.get_children(paths.consumer_ids_path(group)) or []

    def get_consumer_registrations(self, group: str) -> dict[str, ConsumerRegistration]:
        """Every registered consumer of ``group`` with its registration, read pipelined; consumers that
        left between listing and reading are left out."""
        ids = self.get_consumers_in_group(group)
        by_path = {paths.consumer_id_path(group, c): c for c in ids}
        out: dict[str, ConsumerRegistration] = {}
        for path, entry in self.get_many(by_path).items():
            if entry is not None:
                out[by_path[path]] = ConsumerRegistration.from_json(entry[0], path)
        return dict(sorted(out.items()))

    def get_partitions_for_topics(self, topics: Iterable[str]) -> dict[str, list[int]]:
        """Sorted partition ids of each topic from ``/brokers/topics/<t>``; missing topics are left out."""
        return {t: sorted(a.partitions) for t, (a, _v) in self.get_topic_assignments(topics).items()}

    def claim_partition_owner(self, group: str, topic: str, partition: int, thread_id: str) -> bool:
        """Create the ephemeral ``/consumers/<group>/owners/<topic>/<partition>`` holding ``thread_id``
        (Kafka's ``createEphemeralPathExpectConflict``). False when another thread owns it (the caller
        backs off and rebalances again); True when created, or when it already holds ``thread_id`` (our
        own create, retried after a connection loss)."""
        path = paths.consumer_owner_path(group, topic, partition)
        data = ConsumerPartitionOwner(thread_id).to_json()
        try:
            self.create(path, data, ephemeral=True, make_parents=True)
            return True
        except NodeExistsError:
            got = self.get_data(path)
            return got is not None and got[0] == data

    def release_partition_owner(self, group: str, topic: str, partition: int) -> None:
        """Delete the owner znode (``deletePartitionOwnershipFromZK``); a missing one is fine."""
        try:
            self.retry(self.kazoo.delete, paths.consumer_owner_path(group, topic, partition))
        except NoNodeError:
            pass

    def get_partition_owners(self, group: str, topic: str) -> dict[int, str]:
        """``{partition: owning thread id}`` for the partitions of ``topic`` that some consumer owns."""
        base = paths.consumer_owners_path(group, topic)
        parts = [c for c in (self.get_children(base) or []) if c.isdigit()]
        got = self.get_many(paths.join(base, p) for p in parts)
        out: dict[int, str] = {}
        for p in parts:
            entry = got.get(paths.join(base, p))
            if entry is not None and entry[0]:
                out[int(p)] = ConsumerPartitionOwner.from_json(entry[0], paths.join(base, p)).thread_id
        return dict(sorted(out.items()))

    # ------------------------------------------------------------------------------------------------
    # Watches

    def watch_children(self, path: str, callback: ChildrenCallback) -> ChildrenWatch:
        """Call ``callback(children)`` now and on every change, re-arming itself; ``.cancel()`` to stop."""
        return ChildrenWatch(self.kazoo, path, callback)

    def watch_data(self, path: str, callback: DataCallback) -> DataWatch:
        """Call ``callback(data, stat)`` now and on every change/creation/deletion (``None, None`` = absent)."""
        return DataWatch(self.kazoo, path, callback)

    # ------------------------------------------------------------------------------------------------
    # helpers

    def _conditional_set(self, path: str, data: bytes, expected_version: int,
                         controller_epoch_zk_version: int | None, same: Same) -> UpdateResult:
        results = self.multi([Op.set(path, data, expected_version)], controller_epoch_zk_version)
        err = first_error(results)
        if err is None:
            return UpdateResult.done(int(results[0].version))
        if isinstance(err, BadVersionError):
            return self._same_data_result(path, same)
        return UpdateResult.from_error(err)

    def _same_data_result(self, path: str, same: Same) -> UpdateResult:
        """BADVERSION checker: if the znode already holds what we meant to write (our earlier attempt went
        through before a connection loss), that is success at the current version."""
        got = self.get_data(path)
        if got is None:
            return UpdateResult(UpdateStatus.NO_NODE)
        try:
            if got[0] and same(got[0]):
                return UpdateResult.done(int(got[1].version))
        except ZkLayoutError:
            pass
        return UpdateResult(UpdateStatus.BAD_VERSION)

    def _run_tolerating_no_node(self, batches: Sequence[Sequence[tuple]], controller_epoch_zk_version: int | None) -> None:
        for results in self.multi_many(batches, controller_epoch_zk_version):
            err = first_error(results)
            if err is not None and not isinstance(err, NoNodeError):
                raise err

