"""KafkaZkClient against a real ZooKeeper: the operations brokers, controllers and tools rely on."""

from __future__ import annotations

import json
import threading
import time

import pytest

from helpers import expire_session
from zk_layout import (
    BrokerIdTakenError,
    BrokerRegistration,
    ControllerMovedError,
    ElectionInProgressError,
    Endpoint,
    KafkaZkClient,
    PartitionState,
    ReassignmentInProgressError,
    SessionState,
    TopicAlreadyMarkedForDeletionError,
    TopicAssignment,
    TopicExistsError,
    TopicNotFoundError,
    TopicPartition,
    UpdateStatus,
    ZnodeDecodeError,
)
from zk_layout.tree import decode_znode
from zk_layout.znodes import (
    ClusterId,
    ConfigChangeNotification,
    ControllerInfo,
    EntityConfig,
    IsrChangeNotification,
    ProducerIdBlock,
)


def broker(broker_id: int, port: int = 9092) -> BrokerRegistration:
    return BrokerRegistration(broker_id, (Endpoint("PLAINTEXT", "127.0.0.1", port),), int(time.time() * 1000))


def test_skeleton_has_kafkas_persistent_paths_with_null_data(zk: KafkaZkClient) -> None:
    zk.create_top_level_paths()
    zk.create_top_level_paths()  # idempotent, as at every broker start
    for p in ["/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes", "/config/topics",
              "/config/clients", "/config/users", "/config/brokers", "/admin/delete_topics", "/isr_change_notification",
              "/latest_producer_id_block", "/log_dir_event_notification"]:
        got = zk.get_data(p)
        assert got is not None, p
        assert got[0] is None, f"{p} should hold null data as Kafka's createRecursive writes it"


def test_chroot_is_created_and_isolates(zk_chroot: str) -> None:
    nested = zk_chroot + "/kafka/one"
    with KafkaZkClient(nested, session_timeout_ms=6000) as zk:
        zk.create_top_level_paths()
        assert zk.kazoo.exists("/brokers/ids")
    with KafkaZkClient(zk_chroot, session_timeout_ms=6000) as outer:
        assert outer.get_children("/kafka/one/brokers") == ["ids", "seqid", "topics"]
        assert outer.exists("/brokers") is None


def test_cluster_id_created_once_and_shared(zk_chroot: str) -> None:
    clients = [KafkaZkClient(zk_chroot, session_timeout_ms=6000).start() for _ in range(3)]
    try:
        results: list[str] = []
        threads = [threading.Thread(target=lambda c=c: results.append(c.get_or_create_cluster_id())) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(results)) == 1
        cluster_id = results[0]
        assert len(cluster_id) == 22 and "=" not in cluster_id
        raw = json.loads(clients[0].kazoo.get("/cluster/id")[0])
        assert raw == {"version": "1", "id": cluster_id}
    finally:
        for c in clients:
            c.close()


def test_generated_broker_ids_start_above_reserved(zk: KafkaZkClient) -> None:
    zk.create_top_level_paths()
    assert [zk.generate_broker_id() for _ in range(3)] == [1001, 1002, 1003]


def test_broker_registration_is_ephemeral_and_returns_czxid(zk_chroot: str) -> None:
    with KafkaZkClient(zk_chroot, session_timeout_ms=6000) as a, KafkaZkClient(zk_chroot, session_timeout_ms=6000) as b:
        epoch = a.register_broker(broker(1))
        assert epoch > 0
        assert a.register_broker(broker(1)) == epoch  # same session retrying: fine, same epoch
        reg, czxid = b.get_all_brokers()[1]
        assert czxid == epoch and reg.endpoints == broker(1).endpoints
        stat = b.kazoo.exists("/brokers/ids/1")
        assert stat.ephemeralOwner == a.session_id
        with pytest.raises(BrokerIdTakenError, match="broker.id 1 is already registered"):
            b.register_broker(broker(1))
        a.close()
        # The session is closed, so ZooKeeper removes the registration at once.
        assert b.get_broker_ids() == []
        assert b.register_broker(broker(1)) > epoch  # a new incarnation gets a larger broker epoch


def test_registration_disappears_on_session_expiry_and_can_be_redone(zk: KafkaZkClient) -> None:
    events: list[SessionState] = []
    zk.add_session_listener(lambda e: events.append(e.state))
    first = zk.register_broker(broker(5))
    expire_session(zk.kazoo)
    assert zk.get_broker(5) is None
    assert SessionState.EXPIRED in events and events[-1] is SessionState.CONNECTED
    assert zk.register_broker(broker(5)) > first


def test_controller_race_has_exactly_one_winner(zk_chroot: str) -> None:
    clients = [KafkaZkClient(zk_chroot, session_timeout_ms=6000).start() for _ in range(4)]
    try:
        outcomes: dict[int, object] = {}
        barrier = threading.Barrier(len(clients))

        def run(i: int, c: KafkaZkClient) -> None:
            barrier.wait()
            try:
                outcomes[i] = c.register_controller_and_increment_epoch(i)
            except ControllerMovedError as e:
                outcomes[i] = e

        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [i for i, o in outcomes.items() if isinstance(o, tuple)]
        assert len(winners) == 1, outcomes
        winner = winners[0]
        won = outcomes[winner]
        assert isinstance(won, tuple)
        epoch, zk_version = won
        assert epoch == 1  # /controller_epoch was created with 0; the first controller runs with 1
        assert clients[0].get_controller_id() == winner
        assert clients[0].get_controller_epoch() == (1, zk_version)
        # The winner's session ends: the next election increments the epoch by exactly one.
        clients[winner].close()
        nxt = (winner + 1) % len(clients)
        new_epoch, new_version = clients[nxt].register_controller_and_increment_epoch(nxt)
        assert (new_epoch, new_version) == (2, zk_version + 1)
        assert ControllerInfo.from_json(clients[nxt].kazoo.get("/controller")[0]).broker_id == nxt
        assert json.loads(clients[nxt].kazoo.get("/controller")[0])["timestamp"].isdigit()  # a string
    finally:
        for c in clients:
            c.close()


def test_deposed_controller_writes_are_fenced(zk_chroot: str) -> None:
    with KafkaZkClient(zk_chroot, session_timeout_ms=6000) as old, KafkaZkClient(zk_chroot, session_timeout_ms=6000) as new:
        tp = TopicPartition("orders", 0)
        old_epoch, old_version = old.register_controller_and_increment_epoch(1)
        old.create_topic_assignment("orders", {0: [1, 2]})
        created = old.create_partition_states({tp: PartitionState(1, 0, (1, 2), old_epoch)}, old_version)
        assert created[tp].ok and created[tp].new_version == 0
        old.delete_controller(old_version)  # old steps down; new wins
        new_epoch, new_version = new.register_controller_and_increment_epoch(2)
        assert new_epoch == old_epoch + 1
        with pytest.raises(ControllerMovedError):
            old.update_leader_and_isr({tp: (PartitionState(2, 1, (2,), old_epoch), 0)}, old_version)
        with pytest.raises(ControllerMovedError):
            old.delete_topic_znodes("orders", old_version)
        assert new.get_partition_state(tp) == (PartitionState(1, 0, (1, 2), old_epoch), 0)  # untouched
        result = new.update_partition_state(tp, PartitionState(2, 1, (2,), new_epoch), 0, new_version)
        assert result.ok and result.new_version == 1


def test_partition_state_update_is_conditional(zk: KafkaZkClient) -> None:
    epoch, ev = zk.register_controller_and_increment_epoch(0)
    tp = TopicPartition("t", 3)
    orphan = zk.create_partition_states({("gone", 0): PartitionState(0, 0, (0,), epoch)}, ev)
    assert orphan[TopicPartition("gone", 0)].status is UpdateStatus.NO_NODE  # no topic znode
    zk.create_topic_assignment("t", {3: [0, 1, 2]})
    assert zk.create_partition_states({tp: PartitionState(0, 0, (0, 1, 2), epoch)}, ev)[tp].ok
    assert zk.kazoo.get("/brokers/topics/t/partitions/3")[0] is None  # parents hold null data, as in Kafka
    again = zk.create_partition_states({tp: PartitionState(0, 0, (0,), epoch)}, ev)[tp]
    assert again.status is UpdateStatus.NODE_EXISTS
    # A leader shrinking its ISR (no controller fence) at the version it knows:
    shrink = zk.update_partition_state(tp, PartitionState(0, 0, (0, 1), epoch), expected_version=0)
    assert shrink.ok and shrink.new_version == 1
    # Someone holding the stale version 0 must not overwrite it:
    stale = zk.update_partition_state(tp, PartitionState(1, 1, (1,), epoch), expected_version=0)
    assert stale.conflict and not stale.ok
    assert zk.get_partition_state(tp) == (PartitionState(0, 0, (0, 1), epoch), 1)
    # Retrying the very write that already succeeded (e.g. after a connection loss) counts as success.
    retry = zk.update_partition_state(tp, PartitionState(0, 0, (0, 1), epoch), expected_version=0)
    assert retry.ok and retry.new_version == 1
    missing = zk.update_partition_state(TopicPartition("t", 9), PartitionState(0, 0, (0,), epoch), 0)
    assert missing.status is UpdateStatus.NO_NODE
    many = zk.update_leader_and_isr({tp: (PartitionState(1, 1, (1,), epoch), 1)}, ev)
    assert many[tp].ok and zk.get_partition_states([tp, ("t", 9)]) == {tp: (PartitionState(1, 1, (1,), epoch), 2)}


def test_topic_assignment_create_read_update(zk: KafkaZkClient) -> None:
    zk.create_top_level_paths()
    assert zk.create_topic_assignment("orders", {0: [1, 2, 3], 1: [2, 3, 1]}) == 0
    with pytest.raises(TopicExistsError, match="'orders' already exists"):
        zk.create_topic_assignment("orders", {0: [1]})
    assignment, version = zk.get_topic_assignment("orders")  # type: ignore[misc]
    assert assignment.partitions == {0: (1, 2, 3), 1: (2, 3, 1)} and version == 0
    assert json.loads(zk.kazoo.get("/brokers/topics/orders")[0]) == {
        "version": 2, "partitions": {"0": [1, 2, 3], "1": [2, 3, 1]}, "adding_replicas": {}, "removing_replicas": {}}
    grown = TopicAssignment("orders", {**assignment.partitions, 2: (3, 1, 2)})
    assert zk.set_topic_assignment(grown, expected_version=0).new_version == 1
    assert zk.set_topic_assignment(TopicAssignment("orders", {0: (9,)}), expected_version=0).conflict
    assert zk.get_all_topics() == ["orders"]
    assert zk.get_topic_assignments(["orders", "nope"])["orders"][0] == grown
    assert zk.get_topic_assignment("nope") is None


def test_topic_deletion_markers(zk: KafkaZkClient) -> None:
    zk.create_top_level_paths()
    with pytest.raises(TopicNotFoundError):
        zk.mark_topic_for_deletion("ghost")
    zk.create_topic_assignment("t", {0: [1]})
    zk.mark_topic_for_deletion("t")
    with pytest.raises(TopicAlreadyMarkedForDeletionError):
        zk.mark_topic_for_deletion("t")
    assert zk.get_topic_deletions() == ["t"] and zk.is_topic_marked_for_deletion("t")
    assert zk.kazoo.get("/admin/delete_topics/t")[0] is None
    _, ev = zk.register_controller_and_increment_epoch(1)
    zk.delete_topic_znodes("t", ev)
    zk.delete_topic_deletions(["t"], ev)
    assert zk.get_all_topics() == [] and zk.get_topic_deletions() == []


def test_reassignment_and_preferred_election_znodes(zk: KafkaZkClient) -> None:
    _, ev = zk.register_controller_and_increment_epoch(1)
    tp0, tp1 = TopicPartition("t", 0), TopicPartition("t", 1)
    zk.create_partition_reassignment({tp0: [4, 5, 6], tp1: [5, 6, 4]})
    with pytest.raises(ReassignmentInProgressError):
        zk.create_partition_reassignment({tp0: [1]})
    assert json.loads(zk.kazoo.get("/admin/reassign_partitions")[0]) == {"version": 1, "partitions": [
        {"topic": "t", "partition": 0, "replicas": [4, 5, 6]}, {"topic": "t", "partition": 1, "replicas": [5, 6, 4]}]}
    zk.set_or_delete_partition_reassignment({tp1: [5, 6, 4]}, ev)  # p0 finished
    assert zk.get_partition_reassignment() == {tp1: (5, 6, 4)}
    zk.set_or_delete_partition_reassignment({}, ev)  # all done: znode removed
    assert zk.get_partition_reassignment() is None

    zk.create_preferred_replica_election([tp0])
    with pytest.raises(ElectionInProgressError):
        zk.create_preferred_replica_election([tp1])
    assert zk.get_preferred_replica_election() == frozenset({tp0})
    zk.delete_preferred_replica_election(ev)
    assert zk.get_preferred_replica_election() is None


def test_isr_change_notifications(zk: KafkaZkClient) -> None:
    zk.create_top_level_paths()
    s1 = zk.propagate_isr_changes([("t", 0), ("t", 1)])
    s2 = zk.propagate_isr_changes([TopicPartition("u", 0), ("t", 1)])
    assert len(s1) == 10 and s1 < s2
    assert zk.get_all_isr_change_notifications() == [s1, s2]
    raw = zk.kazoo.get(f"/isr_change_notification/isr_change_{s1}")[0]
    assert IsrChangeNotification.from_json(raw, "/x").partitions == (("t", 0), ("t", 1))
    assert set(zk.get_partitions_from_isr_change_notifications([s1, s2])) == {("t", 0), ("t", 1), ("u", 0)}
    _, ev = zk.register_controller_and_increment_epoch(0)
    zk.delete_isr_change_notifications([s1], ev)
    assert zk.get_all_isr_change_notifications() == [s2]
    zk.delete_isr_change_notifications(None, ev)
    assert zk.get_all_isr_change_notifications() == []
    seq = zk.propagate_log_dir_event(3)
    assert zk.get_broker_ids_from_log_dir_events([seq]) == [3]
    zk.delete_log_dir_event_notifications(None, ev)
    assert zk.get_all_log_dir_event_notifications() == []


def test_config_entities_with_change_notifications(zk: KafkaZkClient) -> None:
    zk.create_top_level_paths()
    assert zk.get_entity_config("topics", "orders") == {}
    seq = zk.change_entity_config("topics", "orders", {"retention.ms": "1000"})
    assert zk.get_entity_config("topics", "orders") == {"retention.ms": "1000"}
    assert json.loads(zk.kazoo.get("/config/topics/orders")[0]) == {"version": 1, "config": {"retention.ms": "1000"}}
    child = f"config_change_{seq}"
    assert zk.get_config_change_notifications() == [child]
    note, ctime = zk.get_config_change_notification(child)  # type: ignore[misc]
    assert note == ConfigChangeNotification("topics/orders")
    assert abs(ctime - time.time() * 1000) < 60_000
    zk.change_entity_config("brokers", "<default>", {"log.cleaner.threads": "2"})
    zk.set_or_create_entity_config("users", "alice/clients/app", {"producer_byte_rate": "1024"})
    assert zk.get_all_entities_with_config("brokers") == ["<default>"]
    assert zk.get_entity_config("users", "alice/clients/app") == {"producer_byte_rate": "1024"}
    zk.delete_config_change_notification(child)
    assert len(zk.get_config_change_notifications()) == 1
    zk.delete_entity_config("topics", "orders")
    assert zk.get_entity_config("topics", "orders") == {}


def test_producer_id_blocks_are_disjoint_under_contention(zk_chroot: str) -> None:
    clients = [KafkaZkClient(zk_chroot, session_timeout_ms=6000).start() for _ in range(3)]
    try:
        clients[0].create_top_level_paths()
        blocks: list[ProducerIdBlock] = []
        lock = threading.Lock()

        def grab(i: int) -> None:
            for _ in range(4):
                b = clients[i].allocate_producer_id_block(i)
                with lock:
                    blocks.append(b)

        threads = [threading.Thread(target=grab, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        starts = sorted(b.block_start for b in blocks)
        assert starts == [1000 * i for i in range(12)]
        assert all(b.block_end == b.block_start + 999 for b in blocks)
        raw = json.loads(clients[0].kazoo.get("/latest_producer_id_block")[0])
        assert raw["block_start"] == "11000" and raw["block_end"] == "11999"
    finally:
        for c in clients:
            c.close()


def test_old_consumer_offsets(zk: KafkaZkClient) -> None:
    assert zk.get_consumer_offset("g", "t", 0) is None
    zk.set_consumer_offset("g", "t", 0, 41)
    zk.set_consumer_offset("g", "t", 0, 42)
    assert zk.get_consumer_offset("g", "t", 0) == 42
    assert zk.kazoo.get("/consumers/g/offsets/t/0")[0] == b"42"


def test_malformed_znode_raises_with_path_and_field(zk: KafkaZkClient) -> None:
    zk.kazoo.create("/brokers/topics/bad/partitions/0/state", b'{"version":1,"leader":1,"isr":"1,2"}', makepath=True)
    with pytest.raises(ZnodeDecodeError) as info:
        zk.get_partition_state(("bad", 0))
    assert info.value.path == "/brokers/topics/bad/partitions/0/state"
    assert info.value.field in ("leader_epoch", "isr")
    zk.kazoo.create("/brokers/ids/3", b"garbage", makepath=True)
    with pytest.raises(ZnodeDecodeError, match=r"/brokers/ids/3.*not JSON"):
        zk.get_all_brokers()
    zk.kazoo.create("/cluster/id", b'{"version":"1"}', makepath=True)
    with pytest.raises(ZnodeDecodeError, match="field 'id'"):
        zk.get_or_create_cluster_id()


def test_every_record_round_trips_through_zookeeper(zk: KafkaZkClient) -> None:
    """What we write through the client reads back identical, via the client and via the generic decoder."""
    zk.create_top_level_paths()
    cid = zk.get_or_create_cluster_id()
    reg = broker(1)
    zk.register_broker(reg)
    epoch, ev = zk.register_controller_and_increment_epoch(1)
    zk.create_topic_assignment("t", {0: [1]})
    zk.create_partition_states({("t", 0): PartitionState(1, 0, (1,), epoch)}, ev)
    zk.change_entity_config("topics", "t", {"segment.bytes": "1024"})
    zk.propagate_isr_changes([("t", 0)])
    zk.allocate_producer_id_block(1)
    zk.set_consumer_offset("g", "t", 0, 5)
    zk.create_partition_reassignment({("t", 0): [1]})
    zk.create_preferred_replica_election([("t", 0)])
    expected = {
        "/cluster/id": ClusterId(cid),
        "/brokers/ids/1": reg,
        "/brokers/topics/t/partitions/0/state": PartitionState(1, 0, (1,), epoch),
        "/config/topics/t": EntityConfig("topics", "t", {"segment.bytes": "1024"}),
        "/latest_producer_id_block": ProducerIdBlock(1, 0, 999),
    }
    for path, record in expected.items():
        data = zk.kazoo.get(path)[0]
        assert decode_znode(path, data) == record, path
    assert zk.get_controller_id() == 1
    assert zk.get_partition_reassignment() == {("t", 0): (1,)}
    assert zk.get_preferred_replica_election() == {("t", 0)}
    assert zk.get_consumer_offset("g", "t", 0) == 5
    assert zk.get_broker(1) == reg
