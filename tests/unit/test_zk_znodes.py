"""Znode payload codecs: Kafka 2.x samples decode to the right values, we write Kafka's exact JSON types,
every record round-trips, and malformed payloads name the path and the field. Pure: no ZooKeeper."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zk_layout import paths
from zk_layout.errors import ZnodeDecodeError
from zk_layout.tree import decode_znode
from zk_layout.znodes import (
    BrokerRegistration,
    ClusterId,
    ConfigChangeNotification,
    ConsumerOffset,
    ControllerEpoch,
    ControllerInfo,
    Endpoint,
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
)

# --- samples as Kafka 2.x writes them (reference zk-layout.md §1) ---------------------------------------


def test_broker_v4_sample_decodes() -> None:
    raw = (b'{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://kafka1:9092"],'
           b'"jmx_port":-1,"host":"kafka1","timestamp":"1617043200000","port":9092,"version":4}')
    reg = BrokerRegistration.from_json(raw, "/brokers/ids/1")
    assert reg.broker_id == 1
    assert reg.version == 4
    assert reg.endpoints == (Endpoint("PLAINTEXT", "kafka1", 9092, "PLAINTEXT"),)
    assert (reg.host, reg.port, reg.jmx_port, reg.timestamp_ms, reg.rack) == ("kafka1", 9092, -1, 1617043200000, None)


def test_broker_v1_v2_v3_v5_samples_decode() -> None:
    v1 = BrokerRegistration.from_json(
        b'{"version":1,"host":"kafka1","port":9092,"jmx_port":-1,"timestamp":"1617043200000"}', "/brokers/ids/7")
    assert v1.endpoints == (Endpoint("PLAINTEXT", "kafka1", 9092, "PLAINTEXT"),)
    v2 = BrokerRegistration.from_json(
        b'{"version":2,"host":"h","port":9092,"jmx_port":-1,"timestamp":"1","endpoints":["PLAINTEXT://h:9092","SSL://h:9093"]}',
        "/brokers/ids/2")
    assert [e.security_protocol for e in v2.endpoints] == ["PLAINTEXT", "SSL"]
    v3 = BrokerRegistration.from_json(
        b'{"version":3,"host":"h","port":9092,"jmx_port":9999,"timestamp":"1","endpoints":["PLAINTEXT://h:9092"],"rack":"r1"}',
        "/brokers/ids/3")
    assert (v3.rack, v3.jmx_port) == ("r1", 9999)
    v5 = BrokerRegistration.from_json(
        b'{"features":{"f":{"min_version":1,"max_version":3}},"listener_security_protocol_map":{"INTERNAL":"SASL_SSL",'
        b'"CONTROLLER":"PLAINTEXT"},"endpoints":["INTERNAL://[::1]:9094","CONTROLLER://h:9095"],"jmx_port":-1,'
        b'"host":"h","timestamp":"5","port":9095,"version":5}',
        "/brokers/ids/4")
    assert v5.features == {"f": (1, 3)}
    assert v5.endpoint("INTERNAL") == Endpoint("INTERNAL", "::1", 9094, "SASL_SSL")
    assert v5.plaintext_endpoint == Endpoint("CONTROLLER", "h", 9095, "PLAINTEXT")


def test_broker_written_with_kafka_types() -> None:
    reg = BrokerRegistration(
        3,
        (Endpoint("SSL", "h", 9093, "SSL"), Endpoint("PLAINTEXT", "h", 9092, "PLAINTEXT")),
        1617043200000,
        rack="r1",
    )
    obj = json.loads(reg.to_json())
    assert obj == {
        "listener_security_protocol_map": {"SSL": "SSL", "PLAINTEXT": "PLAINTEXT"},
        "endpoints": ["SSL://h:9093", "PLAINTEXT://h:9092"],
        "jmx_port": -1,
        "host": "h",  # host/port of the PLAINTEXT endpoint, for old clients
        "timestamp": "1617043200000",  # a string
        "port": 9092,
        "version": 4,
        "rack": "r1",
    }
    assert b" " not in reg.to_json()  # compact, as Jackson writes it
    no_plaintext = BrokerRegistration(3, (Endpoint("SSL", "h", 9093, "SSL"),), 1, version=5)
    obj5 = json.loads(no_plaintext.to_json())
    assert (obj5["host"], obj5["port"], obj5["features"], obj5["version"]) == (None, -1, {}, 5)


def test_topic_assignment_samples() -> None:
    v1 = TopicAssignment.from_json(b'{"version":1,"partitions":{"0":[1,2,3],"1":[2,3,1]}}', "/brokers/topics/orders")
    assert (v1.topic, v1.version, dict(v1.partitions)) == ("orders", 1, {0: (1, 2, 3), 1: (2, 3, 1)})
    assert v1.adding_replicas == {} and v1.removing_replicas == {}
    mid = TopicAssignment.from_json(
        b'{"version":2,"partitions":{"0":[4,5,6,1,2,3]},"adding_replicas":{"0":[4,5,6]},"removing_replicas":{"0":[1,2,3]}}',
        "/brokers/topics/orders")
    assert (mid.replicas(0), mid.adding_replicas[0], mid.removing_replicas[0]) == ((4, 5, 6, 1, 2, 3), (4, 5, 6), (1, 2, 3))
    v3 = TopicAssignment.from_json(
        b'{"version":3,"partitions":{"0":[1]},"adding_replicas":{},"removing_replicas":{},"topic_id":"q8Zc1cNJQ7mDXzGv3y8F2A"}',
        "/brokers/topics/t")
    assert v3.topic_id == "q8Zc1cNJQ7mDXzGv3y8F2A"
    assert json.loads(v3.to_json())["version"] == 3  # the id is kept


def test_topic_assignment_written_as_v2_with_string_keys() -> None:
    data = TopicAssignment("t", {10: (1, 2), 2: (2, 1)}).to_json()
    assert data == b'{"version":2,"partitions":{"2":[2,1],"10":[1,2]},"adding_replicas":{},"removing_replicas":{}}'


def test_partition_state_sample() -> None:
    raw = b'{"controller_epoch":7,"leader":1,"version":1,"leader_epoch":3,"isr":[1,3]}'
    state = PartitionState.from_json(raw, "/brokers/topics/orders/partitions/0/state")
    assert state == PartitionState(leader=1, leader_epoch=3, isr=(1, 3), controller_epoch=7)
    assert state.to_json() == raw


def test_controller_and_epoch_samples() -> None:
    info = ControllerInfo.from_json(b'{"version":1,"brokerid":2,"timestamp":"1617043200123"}')
    assert (info.broker_id, info.timestamp_ms) == (2, 1617043200123)
    assert json.loads(ControllerInfo(2, 5).to_json()) == {"version": 1, "brokerid": 2, "timestamp": "5"}
    assert ControllerEpoch.from_json(b"7").epoch == 7
    assert ControllerEpoch(8).to_json() == b"8"


def test_cluster_id_producer_block_feature_samples() -> None:
    assert ClusterId.from_json(b'{"version":"1","id":"Rk4vX0QyT8a2c3VzZ2xpZw"}').id == "Rk4vX0QyT8a2c3VzZ2xpZw"
    assert json.loads(ClusterId("abc").to_json()) == {"version": "1", "id": "abc"}  # version is a string
    block = ProducerIdBlock.from_json(b'{"version":1,"broker":1,"block_start":"0","block_end":"999"}')
    assert block == ProducerIdBlock(1, 0, 999)
    assert json.loads(block.next_block(2).to_json()) == {"version": 1, "broker": 2, "block_start": "1000", "block_end": "1999"}
    feature = FeatureInfo.from_json(b'{"version":1,"status":1,"features":{"x":{"min_version_level":1,"max_version_level":2}}}')
    assert feature == FeatureInfo(1, {"x": (1, 2)})


def test_config_samples() -> None:
    cfg = EntityConfig.from_json(b'{"version":1,"config":{"retention.ms":"86400000","min.insync.replicas":"2"}}',
                                 "/config/topics/orders")
    assert (cfg.entity_type, cfg.entity_name, dict(cfg.config)) == (
        "topics", "orders", {"retention.ms": "86400000", "min.insync.replicas": "2"})
    user_client = EntityConfig.from_json(b'{"version":1,"config":{}}', "/config/users/alice/clients/app")
    assert (user_client.entity_type, user_client.entity_name) == ("users", "alice/clients/app")
    v2 = ConfigChangeNotification.from_json(b'{"version":2,"entity_path":"topics/orders"}', "/config/changes/config_change_0000000001")
    v1 = ConfigChangeNotification.from_json(b'{"version":1,"entity_type":"topics","entity_name":"orders"}', "/c")
    v0 = ConfigChangeNotification.from_json(b'"orders"', "/c")
    assert v2 == v1 == v0 == ConfigChangeNotification("topics/orders")
    assert (v2.entity_type, v2.entity_name) == ("topics", "orders")
    assert ConfigChangeNotification("brokers/<default>").to_json() == b'{"version":2,"entity_path":"brokers/<default>"}'
    with pytest.raises(ValueError, match="must be a string"):
        EntityConfig("topics", "t", {"retention.ms": 5}).to_json()  # type: ignore[dict-item]


def test_notification_and_admin_samples() -> None:
    isr = IsrChangeNotification.from_json(
        b'{"version":1,"partitions":[{"topic":"orders","partition":0},{"topic":"orders","partition":3}]}', "/x")
    assert isr.partitions == (TopicPartition("orders", 0), TopicPartition("orders", 3))
    assert LogDirEventNotification.from_json(b'{"version":1,"broker":2,"event":1}', "/x") == LogDirEventNotification(2, 1)
    reassign = ReassignPartitions.from_json(b'{"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[4,5,6]}]}')
    assert reassign.partitions == {TopicPartition("orders", 0): (4, 5, 6)}
    election = PreferredReplicaElection.from_json(b'{"version":1,"partitions":[{"topic":"orders","partition":0}]}')
    assert election.partitions == frozenset({TopicPartition("orders", 0)})
    assert ConsumerOffset.from_json(b"12345", "/consumers/g/offsets/t/0").offset == 12345


# --- round trips ----------------------------------------------------------------------------------------

ids = st.integers(min_value=0, max_value=2**31 - 1)
small_ids = st.integers(min_value=0, max_value=1000)
replica_lists = st.lists(small_ids, min_size=1, max_size=5).map(tuple)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=20).filter(
    lambda s: s not in (".", ".."))
listener_names = st.sampled_from(["PLAINTEXT", "SSL", "INTERNAL", "CONTROLLER", "EXTERNAL"])
protocols = st.sampled_from(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
hosts = st.sampled_from(["127.0.0.1", "kafka-1.example.com", "::1", "localhost"])


@given(leader=st.integers(-1, 1000), epoch=ids, isr=replica_lists, cepoch=ids)
def test_partition_state_round_trip(leader: int, epoch: int, isr: tuple[int, ...], cepoch: int) -> None:
    s = PartitionState(leader, epoch, isr, cepoch)
    assert PartitionState.from_json(s.to_json(), "/p") == s


@given(st.dictionaries(st.integers(0, 500), replica_lists, min_size=1, max_size=20), st.booleans(),
       st.one_of(st.none(), st.just("q8Zc1cNJQ7mDXzGv3y8F2A")))
def test_topic_assignment_round_trip(parts: dict[int, tuple[int, ...]], reassigning: bool, topic_id: str | None) -> None:
    first = min(parts)
    adding = {first: parts[first]} if reassigning else {}
    a = TopicAssignment("t", dict(sorted(parts.items())), adding, adding, topic_id, version=3 if topic_id else 2)
    assert TopicAssignment.from_json(a.to_json(), "/brokers/topics/t") == a


@given(broker_id=ids,
       eps=st.lists(st.tuples(listener_names, hosts, st.integers(1, 65535), protocols), min_size=1, max_size=3,
                    unique_by=lambda e: e[0]),
       ts=st.integers(0, 2**45), rack=st.one_of(st.none(), names), version=st.sampled_from([4, 5]))
def test_broker_registration_round_trip(broker_id: int, eps: list[tuple[str, str, int, str]], ts: int,
                                        rack: str | None, version: int) -> None:
    reg = BrokerRegistration(broker_id, tuple(Endpoint(*e) for e in eps), ts, rack=rack, version=version,
                             features={"f": (0, 1)} if version == 5 else {})
    assert BrokerRegistration.from_json(reg.to_json(), paths.broker_id_path(broker_id)) == reg


def test_every_record_round_trips() -> None:
    tp = TopicPartition("orders", 1)
    cases: list[tuple[Any, str]] = [
        (ControllerInfo(1, 1617043200123), paths.CONTROLLER),
        (ControllerEpoch(9), paths.CONTROLLER_EPOCH),
        (ClusterId("Rk4vX0QyT8a2c3VzZ2xpZw"), paths.CLUSTER_ID),
        (ProducerIdBlock(3, 2000, 2999), paths.LATEST_PRODUCER_ID_BLOCK),
        (FeatureInfo(1, {"metadata.version": (1, 3)}), paths.FEATURE),
        (EntityConfig("topics", "orders", {"cleanup.policy": "compact"}), paths.config_entity_path("topics", "orders")),
        (ConfigChangeNotification("clients/app"), paths.config_change_path("0000000004")),
        (IsrChangeNotification((tp,)), paths.isr_change_path("0000000001")),
        (LogDirEventNotification(2), paths.log_dir_event_path("0000000000")),
        (ReassignPartitions({tp: (1, 2)}), paths.REASSIGN_PARTITIONS),
        (PreferredReplicaElection(frozenset({tp})), paths.PREFERRED_REPLICA_ELECTION),
        (ConsumerOffset(77), paths.consumer_offset_path("g", "orders", 1)),
        (PartitionState(1, 2, (1, 2), 3), paths.partition_state_path("orders", 1)),
        (TopicAssignment("orders", {0: (1, 2)}), paths.topic_path("orders")),
        (BrokerRegistration(5, (Endpoint("PLAINTEXT", "h", 1),), 1), paths.broker_id_path(5)),
    ]
    for record, path in cases:
        assert decode_znode(path, record.to_json()) == record, path


# --- malformed payloads -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("path", "data", "field", "reason"),
    [
        ("/brokers/topics/t/partitions/0/state", b'{"version":1,"leader":"1","leader_epoch":0,"isr":[1],"controller_epoch":1}',
         "leader", "expected an integer, got a string"),
        ("/brokers/topics/t/partitions/0/state", b'{"version":1,"leader":1,"leader_epoch":0,"isr":[1,"x"],"controller_epoch":1}',
         "isr[1]", "expected an integer"),
        ("/brokers/topics/t/partitions/0/state", b'{"version":1,"leader":1,"isr":[1],"controller_epoch":1}',
         "leader_epoch", "required field is missing"),
        ("/brokers/topics/t/partitions/0/state", b'{"version":9,"leader":1}', "version", "unsupported version 9"),
        ("/brokers/topics/t/partitions/0/state", b"{not json", "", "not JSON"),
        ("/brokers/topics/t/partitions/0/state", b"\xff\xfe", "", "not UTF-8"),
        ("/brokers/topics/t/partitions/0/state", b"", "", "no payload"),
        ("/brokers/topics/t", b'{"version":2,"partitions":{"x":[1]}}', "partitions.x", "decimal strings"),
        ("/brokers/topics/t", b'{"version":2,"partitions":[1]}', "partitions", "expected a JSON object"),
        ("/brokers/ids/1", b'{"version":4,"endpoints":["nonsense"],"listener_security_protocol_map":{}}',
         "endpoints[0]", "not a listener endpoint"),
        ("/brokers/ids/1", b'{"version":4,"endpoints":["FOO://h:1"],"listener_security_protocol_map":{}}',
         "endpoints[0]", "no security protocol"),
        ("/config/topics/t", b'{"version":1,"config":{"retention.ms":86400000}}', "config.retention.ms", "expected a string"),
        ("/controller", b'{"version":1,"timestamp":"1"}', "brokerid", "required field is missing"),
        ("/controller_epoch", b"seven", "", "decimal number"),
        ("/cluster/id", b'{"version":"1","id":5}', "id", "expected a string"),
        ("/isr_change_notification/isr_change_0000000001", b'{"version":1,"partitions":[{"topic":"t"}]}',
         "partitions[0].partition", "required field is missing"),
        ("/latest_producer_id_block", b'{"version":1,"broker":1,"block_start":"zero","block_end":"999"}',
         "block_start", "decimal string"),
    ],
)
def test_malformed_payload_names_path_and_field(path: str, data: bytes, field: str, reason: str) -> None:
    with pytest.raises(ZnodeDecodeError) as info:
        decode_znode(path, data)
    err = info.value
    assert (err.path, err.field) == (path, field)
    assert reason in err.reason
    assert path in str(err) and (field in str(err))


def test_identity_comes_from_the_path() -> None:
    with pytest.raises(ZnodeDecodeError, match="not a /brokers/ids/<id> path"):
        BrokerRegistration.from_json(b'{"version":1,"host":"h","port":1}', "/brokers/ids/x")


def test_paths_refuse_names_that_escape() -> None:
    assert paths.partition_state_path("orders", 3) == "/brokers/topics/orders/partitions/3/state"
    assert paths.config_entity_path("users", "alice/clients/app") == "/config/users/alice/clients/app"
    for bad in ("", ".", "..", "a/b"):
        with pytest.raises(ValueError):
            paths.topic_path(bad)
    with pytest.raises(ValueError):
        paths.config_entity_path("users", "alice/../x")
    with pytest.raises(ValueError):
        paths.partition_path("t", -1)
    assert paths.sequence_number("isr_change_0000000012", paths.ISR_CHANGE_PREFIX) == "0000000012"
