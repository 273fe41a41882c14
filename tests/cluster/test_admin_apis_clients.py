"""The admin APIs at Kafka 2.8's versions, driven by real clients against real broker processes.

confluent-kafka (librdkafka) and kafka-python 3 (which speaks the newest versions it knows: CreateTopics v7,
DeleteTopics v6, DescribeConfigs v4, IncrementalAlterConfigs v1, ElectLeaders v2, the KIP-455 APIs) are the
oracle; kafka-python pinned to an old ``api_version`` checks the old layouts; a sweep with our own connection
sends every version of every admin API we advertise and checks it is answered in that version's layout.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from kafka_zk.client.connection import KafkaConnection
from kafka_zk.common.topic_ids import topic_id_to_uuid
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import (
    AlterConfigsRequest,
    AlterPartitionReassignmentsRequest,
    CreatePartitionsRequest,
    CreateTopicsRequest,
    DeleteTopicsRequest,
    DescribeConfigsRequest,
    ElectLeadersRequest,
    IncrementalAlterConfigsRequest,
    ListPartitionReassignmentsRequest,
)
from kafka_zk.server.dispatch import supported_api_versions
from tests.helpers import unique_name, wait_until
from zk_layout import KafkaZkClient

TOPIC = 2
BROKER = 4


@pytest.fixture
def zk(shared_cluster: Any) -> Any:
    client = KafkaZkClient(shared_cluster.zookeeper_connect, session_timeout_ms=15000).start()
    try:
        yield client
    finally:
        client.close()


def _overrides(zk: Any, topic: str) -> dict[str, str]:
    return dict(zk.get_entity_config("topics", topic))


def _wait_leaders(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})

    def ready() -> bool:
        md = admin.list_topics(topic, timeout=5).topics[topic]
        return (
            md.error is None
            and len(md.partitions) == partitions
            and all(p.leader >= 0 for p in md.partitions.values())
        )

    wait_until(ready, timeout=30, message=f"{topic} has no leaders")


# ------------------------------------------------------------------------------------------ confluent-kafka


def test_confluent_admin_client_end_to_end(shared_cluster: Any, zk: Any) -> None:
    from confluent_kafka import ElectionType, KafkaException, TopicPartition
    from confluent_kafka.admin import (
        AdminClient,
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        ConfigSource,
        NewPartitions,
        NewTopic,
        ResourceType,
    )

    admin = AdminClient({"bootstrap.servers": shared_cluster.bootstrap_servers})
    t = unique_name("ck")

    # validate_only checks name, configs and placement, and creates nothing.
    admin.create_topics([NewTopic(t, 3, 2, config={"retention.ms": "3600000"})], validate_only=True)[
        t
    ].result(30)
    with pytest.raises(KafkaException) as bad:
        admin.create_topics([NewTopic(t, 3, 2, config={"retention.ms": "soon"})], validate_only=True)[
            t
        ].result(30)
    assert bad.value.args[0].code() == 40  # INVALID_CONFIG
    assert t not in admin.list_topics(timeout=10).topics and not zk.topic_exists(t)

    admin.create_topics(
        [NewTopic(t, 3, 2, config={"retention.ms": "3600000", "cleanup.policy": "compact"})],
        operation_timeout=30,
    )[t].result(30)
    _wait_leaders(shared_cluster.bootstrap_servers, t, 3)
    assert _overrides(zk, t) == {"retention.ms": "3600000", "cleanup.policy": "compact"}

    res = ConfigResource(ResourceType.TOPIC, t)

    def describe() -> Any:  # UNKNOWN_TOPIC_OR_PARTITION until UpdateMetadata reached the broker asked
        try:
            return admin.describe_configs([res])[res].result(30)
        except KafkaException as e:
            assert e.args[0].code() == 3, e
            return None

    described = wait_until(describe, timeout=30)
    assert described["retention.ms"].value == "3600000"
    assert described["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert described["segment.bytes"].is_default and described["segment.bytes"].value == "1073741824"

    # IncrementalAlterConfigs: only the named keys change; a notification tells every broker.
    notes_before = len(zk.get_children("/config/changes") or [])
    inc = ConfigResource(
        ResourceType.TOPIC,
        t,
        incremental_configs=[
            ConfigEntry("segment.bytes", "1048576", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
            ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.APPEND),
        ],
    )
    admin.incremental_alter_configs([inc])[inc].result(30)
    assert _overrides(zk, t) == {"segment.bytes": "1048576", "cleanup.policy": "compact,delete"}
    assert len(zk.get_children("/config/changes") or []) > notes_before
    # validate_only changes nothing; a bad value is refused and changes nothing either.
    probe = ConfigResource(
        ResourceType.TOPIC,
        t,
        incremental_configs=[ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.SET)],
    )
    admin.incremental_alter_configs([probe], validate_only=True)[probe].result(30)
    bad_inc = ConfigResource(
        ResourceType.TOPIC,
        t,
        incremental_configs=[ConfigEntry("retention.ms", "x", incremental_operation=AlterConfigOpType.SET)],
    )
    with pytest.raises(KafkaException) as bad:
        admin.incremental_alter_configs([bad_inc])[bad_inc].result(30)
    assert bad.value.args[0].code() == 42  # INVALID_REQUEST, as Kafka wraps a bad value
    append_int = ConfigResource(
        ResourceType.TOPIC,
        t,
        incremental_configs=[
            ConfigEntry("retention.ms", "5", incremental_operation=AlterConfigOpType.APPEND)
        ],
    )
    with pytest.raises(KafkaException) as bad:
        admin.incremental_alter_configs([append_int])[append_int].result(30)
    assert "append is not allowed" in bad.value.args[0].str()
    assert _overrides(zk, t) == {"segment.bytes": "1048576", "cleanup.policy": "compact,delete"}
    # Broker configs are static here: refused with a reason.
    brk = ConfigResource(
        ResourceType.BROKER,
        "0",
        incremental_configs=[
            ConfigEntry("log.retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    with pytest.raises(KafkaException) as bad:
        admin.incremental_alter_configs([brk])[brk].result(30)
    assert bad.value.args[0].code() == 42 and "dynamically" in bad.value.args[0].str()

    # AlterConfigs replaces the whole set.
    alt = ConfigResource(ResourceType.TOPIC, t, set_config={"retention.ms": "7200000"})
    admin.alter_configs([alt])[alt].result(30)
    assert _overrides(zk, t) == {"retention.ms": "7200000"}

    admin.create_partitions([NewPartitions(t, 5)], operation_timeout=30)[t].result(30)
    _wait_leaders(shared_cluster.bootstrap_servers, t, 5)

    cluster = admin.describe_cluster().result(30)
    assert sorted(n.id for n in cluster.nodes) == [0, 1, 2]
    assert cluster.controller.id == shared_cluster.controller_id()

    elected = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition(t, p) for p in range(5)]).result(30)
    assert len(elected) == 5
    # Fresh partitions are led by their preferred replica already: ELECTION_NOT_NEEDED (84) each.
    assert all(err is not None and err.code() == 84 for err in elected.values()), elected

    admin.delete_topics([t], operation_timeout=30)[t].result(30)
    wait_until(lambda: not zk.topic_exists(t), timeout=30)


# -------------------------------------------------------------------------------------------- kafka-python


def test_kafka_python_newest_versions_topic_ids_configs_and_delete_by_id(
    shared_cluster: Any, zk: Any
) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=shared_cluster.bootstrap_servers, request_timeout_ms=30000)
    try:
        t = unique_name("kp")
        created = admin.create_topics(
            {t: {"num_partitions": 2, "replication_factor": 3, "configs": {"retention.ms": "60000"}}},
            timeout_ms=30000,
        )
        (result,) = created["topics"]
        assert result["error_code"] == 0
        # v5+: the created topic's shape and configuration come back; v7: its id, the one in the znode (v3).
        assert (result["num_partitions"], result["replication_factor"]) == (2, 3)
        assert result["configs"]["retention.ms"]["value"] == "60000"
        assert result["configs"]["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
        assert result["configs"]["segment.bytes"]["config_source"] == "DEFAULT_CONFIG"
        assignment, _ = zk.get_topic_assignment(t)
        assert assignment.version == 3 and assignment.topic_id
        assert uuid.UUID(str(result["topic_id"])) == topic_id_to_uuid(assignment.topic_id)

        # DescribeConfigs v4 with synonyms (from any broker: wait until each knows the topic, as in Kafka a
        # broker answers UNKNOWN_TOPIC_OR_PARTITION until the controller's UpdateMetadata reached it).
        def described() -> Any:
            got = admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t)], include_synonyms=True, config_filter="all"
            )
            return got["topic"][t]

        cfg = wait_until(described, timeout=30)
        assert cfg["retention.ms"]["value"] == "60000"
        assert [s["source"] for s in cfg["retention.ms"]["synonyms"]] == [
            "DYNAMIC_TOPIC_CONFIG",
            "DEFAULT_CONFIG",
        ]
        broker = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")], config_filter="all")
        assert broker["broker"]["1"]["broker.id"]["value"] == "1"

        # IncrementalAlterConfigs (kafka-python picks it on a 2.3+ broker).
        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    t,
                    configs={"cleanup.policy": ("APPEND", "compact"), "retention.ms": ("DELETE", None)},
                )
            ],
            raise_on_unknown=False,
        )
        assert _overrides(zk, t) == {"cleanup.policy": "delete,compact"}

        # Creating the same topic again: TOPIC_ALREADY_EXISTS, and -1/-1/no configs in the v5+ result.
        again = admin.create_topics({t: {"num_partitions": 1, "replication_factor": 1}}, raise_errors=False)
        (dup,) = again["topics"]
        assert dup["error_code"] == 36 and dup["num_partitions"] == -1 and not dup.get("configs")

        # DeleteTopics v6 by topic id; an unknown id is UNKNOWN_TOPIC_ID.
        missing = admin.delete_topics([uuid.uuid4()], raise_errors=False)
        assert [r["error_code"] for r in missing["topics"]] == [100]
        deleted = admin.delete_topics([uuid.UUID(str(result["topic_id"]))], timeout_ms=30000)
        assert [(r["name"], r["error_code"]) for r in deleted["topics"]] == [(t, 0)]
        wait_until(lambda: not zk.topic_exists(t), timeout=30)
    finally:
        admin.close()


@pytest.mark.parametrize("api_version, metadata_version", [((0, 11), 4), ((1, 0), 5), ((2, 1), 7)])
def test_kafka_python_pinned_to_an_old_broker_version(
    shared_cluster: Any, zk: Any, api_version: tuple[int, int], metadata_version: int
) -> None:
    """A client told "the broker is Kafka 0.11 / 1.0 / 2.1" sends that release's versions without asking
    (CreateTopics v2/v3, DescribeConfigs v0/v2, AlterConfigs v0/v1, ...) — and that release's Metadata."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    if supported_api_versions()[ApiKey.METADATA][1] < metadata_version:
        pytest.skip(f"the broker does not serve Metadata v{metadata_version} yet (issue 9, Metadata 0-9)")

    admin = KafkaAdminClient(
        bootstrap_servers=shared_cluster.bootstrap_servers, api_version=api_version, request_timeout_ms=30000
    )
    try:
        t = unique_name("old")
        created = admin.create_topics(
            {t: {"num_partitions": 2, "replication_factor": 2, "configs": {"retention.ms": "90000"}}},
            timeout_ms=30000,
        )
        assert [r["error_code"] for r in created["topics"]] == [0]
        resource = ConfigResource(ConfigResourceType.TOPIC, t)
        got = wait_until(lambda: admin.describe_configs([resource])["topic"][t], timeout=30)
        assert got["retention.ms"]["value"] == "90000"
        # Before 2.3 kafka-python falls back to AlterConfigs, filling in the other overrides itself.
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t, configs={"segment.ms": "100000"})],
            raise_on_unknown=False,
        )
        assert _overrides(zk, t) == {"retention.ms": "90000", "segment.ms": "100000"}
        if api_version >= (1, 0):  # CreatePartitions is new in 1.0
            admin.create_partitions({t: 3}, timeout_ms=30000)
            wait_until(lambda: len(zk.get_topic_assignment(t)[0].partitions) == 3, timeout=30)
        deleted = admin.delete_topics([t], timeout_ms=30000)
        assert [r["error_code"] for r in deleted["topics"]] == [0]
    finally:
        admin.close()


# -------------------------------------------------------------------------------- every advertised version

ADMIN_KEYS = (
    ApiKey.CREATE_TOPICS,
    ApiKey.DELETE_TOPICS,
    ApiKey.DESCRIBE_CONFIGS,
    ApiKey.ALTER_CONFIGS,
    ApiKey.INCREMENTAL_ALTER_CONFIGS,
    ApiKey.CREATE_PARTITIONS,
    ApiKey.ELECT_LEADERS,
    ApiKey.ALTER_PARTITION_REASSIGNMENTS,
    ApiKey.LIST_PARTITION_REASSIGNMENTS,
)

#: Kafka 2.8.2's ranges (``/tmp/kafka-2.8-specs``): we advertise every one of them.
KAFKA_28 = {
    ApiKey.CREATE_TOPICS: (0, 7),
    ApiKey.DELETE_TOPICS: (0, 6),
    ApiKey.DESCRIBE_CONFIGS: (0, 4),
    ApiKey.ALTER_CONFIGS: (0, 2),
    ApiKey.INCREMENTAL_ALTER_CONFIGS: (0, 1),
    ApiKey.CREATE_PARTITIONS: (0, 3),
    ApiKey.ELECT_LEADERS: (0, 2),
    ApiKey.ALTER_PARTITION_REASSIGNMENTS: (0, 0),
    ApiKey.LIST_PARTITION_REASSIGNMENTS: (0, 0),
}


def test_broker_advertises_kafka_28_ranges_for_the_admin_apis() -> None:
    advertised = supported_api_versions()
    assert {k: advertised[k] for k in ADMIN_KEYS} == KAFKA_28


async def _sweep(shared_cluster: Any, zk: Any) -> None:
    controller = shared_cluster.controller_id()
    conn = await KafkaConnection.open("127.0.0.1", shared_cluster.broker(controller).port)
    other = next(b for b in range(3) if b != controller)
    follower = await KafkaConnection.open("127.0.0.1", shared_cluster.broker(other).port)
    try:
        base = unique_name("sweep")
        names = []
        for v in range(8):
            name = f"{base}-{v}"
            req = CreateTopicsRequest(
                timeout_ms=30000,
                validate_only=False,
                topics=[
                    CreateTopicsRequest.CreatableTopic(
                        name=name,
                        num_partitions=1,
                        replication_factor=2,
                        configs=[
                            CreateTopicsRequest.CreatableTopicConfig(name="retention.ms", value="123456")
                        ],
                    )
                ],
            )
            resp = await conn.request(ApiKey.CREATE_TOPICS, req, version=v)
            (r,) = resp.topics
            assert (r.name, r.error_code) == (name, 0), (v, r)
            if v >= 5:
                assert (r.num_partitions, r.replication_factor) == (1, 2)
                assert {c.name: c.value for c in r.configs}["retention.ms"] == "123456"
            assert (r.topic_id != uuid.UUID(int=0)) == (v >= 7)
            names.append(name)
        for v in range(5):
            req = DescribeConfigsRequest(
                include_synonyms=True,
                include_documentation=True,
                resources=[
                    DescribeConfigsRequest.DescribeConfigsResource(
                        resource_type=TOPIC,
                        resource_name=names[0],
                        configuration_keys=["retention.ms", "cleanup.policy"],
                    )
                ],
            )
            resp = await conn.request(ApiKey.DESCRIBE_CONFIGS, req, version=v)
            entries = {c.name: c for c in resp.results[0].configs}
            assert entries["retention.ms"].value == "123456" and set(entries) == {
                "retention.ms",
                "cleanup.policy",
            }
            if v == 0:
                assert entries["cleanup.policy"].is_default
            else:
                assert (
                    entries["retention.ms"].config_source == 1 and len(entries["retention.ms"].synonyms) == 2
                )
            if v >= 3:
                assert entries["cleanup.policy"].config_type == 7 and entries["cleanup.policy"].documentation
        for v in range(3):
            req = AlterConfigsRequest(
                validate_only=False,
                resources=[
                    AlterConfigsRequest.AlterConfigsResource(
                        resource_type=TOPIC,
                        resource_name=names[v],
                        configs=[
                            AlterConfigsRequest.AlterableConfig(name="segment.ms", value=str(100000 + v))
                        ],
                    )
                ],
            )
            resp = await conn.request(ApiKey.ALTER_CONFIGS, req, version=v)
            assert resp.responses[0].error_code == 0
            assert _overrides(zk, names[v]) == {"segment.ms": str(100000 + v)}
        # AlterConfigs errors as Kafka 2.8's: null value and bad value INVALID_REQUEST, unknown key
        # INVALID_CONFIG; none of them changes anything.
        bad = (("segment.ms", None, 42), ("segment.ms", "soon", 42), ("segment.mss", "1", 40))
        for name, value, code in bad:
            req = AlterConfigsRequest(
                validate_only=False,
                resources=[
                    AlterConfigsRequest.AlterConfigsResource(
                        resource_type=TOPIC,
                        resource_name=names[0],
                        configs=[AlterConfigsRequest.AlterableConfig(name=name, value=value)],
                    )
                ],
            )
            resp = await conn.request(ApiKey.ALTER_CONFIGS, req, version=1)
            assert resp.responses[0].error_code == code, (name, value, resp)
            assert resp.responses[0].error_message
        assert _overrides(zk, names[0]) == {"segment.ms": "100000"}
        for v in range(2):
            R = IncrementalAlterConfigsRequest
            req = R(
                validate_only=False,
                resources=[
                    R.AlterConfigsResource(
                        resource_type=TOPIC,
                        resource_name=names[v],
                        configs=[
                            R.AlterableConfig(name="min.insync.replicas", config_operation=0, value="2")
                        ],
                    )
                ],
            )
            resp = await follower.request(
                ApiKey.INCREMENTAL_ALTER_CONFIGS, req, version=v
            )  # any broker takes it
            assert resp.responses[0].error_code == 0
            assert _overrides(zk, names[v])["min.insync.replicas"] == "2"
        for v in range(4):
            req = CreatePartitionsRequest(
                timeout_ms=30000,
                validate_only=False,
                topics=[
                    CreatePartitionsRequest.CreatePartitionsTopic(name=names[v], count=2, assignments=None)
                ],
            )
            resp = await conn.request(ApiKey.CREATE_PARTITIONS, req, version=v)
            assert [(r.name, r.error_code) for r in resp.results] == [(names[v], 0)]
        # A topic named twice: INVALID_REQUEST for each copy, and nothing changes.
        twice = [CreatePartitionsRequest.CreatePartitionsTopic(name=names[0], count=5, assignments=None)] * 2
        req = CreatePartitionsRequest(timeout_ms=30000, validate_only=False, topics=twice)
        resp = await conn.request(ApiKey.CREATE_PARTITIONS, req, version=3)
        assert [(r.name, r.error_code) for r in resp.results] == [(names[0], 42)] * 2
        assert len(zk.get_topic_assignment(names[0])[0].partitions) == 2
        for v in range(3):
            req = ElectLeadersRequest(
                election_type=0,
                timeout_ms=30000,
                topic_partitions=[ElectLeadersRequest.TopicPartitions(topic=names[v], partitions=[0])],
            )
            resp = await conn.request(ApiKey.ELECT_LEADERS, req, version=v)
            assert (
                resp.replica_election_results[0].partition_result[0].error_code == 84
            )  # ELECTION_NOT_NEEDED
            resp = await follower.request(ApiKey.ELECT_LEADERS, req, version=v)
            assert resp.replica_election_results[0].partition_result[0].error_code == 41  # NOT_CONTROLLER
        req = ListPartitionReassignmentsRequest(timeout_ms=30000, topics=None)
        assert (await conn.request(ApiKey.LIST_PARTITION_REASSIGNMENTS, req, version=0)).error_code == 0
        assert (await follower.request(ApiKey.LIST_PARTITION_REASSIGNMENTS, req, version=0)).error_code == 41
        alter = AlterPartitionReassignmentsRequest(
            timeout_ms=30000,
            topics=[
                AlterPartitionReassignmentsRequest.ReassignableTopic(
                    name=names[0],
                    partitions=[
                        AlterPartitionReassignmentsRequest.ReassignablePartition(
                            partition_index=0, replicas=None
                        )
                    ],
                )
            ],
        )
        resp = await follower.request(ApiKey.ALTER_PARTITION_REASSIGNMENTS, alter, version=0)
        assert resp.error_code == 41 and resp.responses == []
        resp = await conn.request(ApiKey.ALTER_PARTITION_REASSIGNMENTS, alter, version=0)
        codes = [(p.partition_index, p.error_code) for t in resp.responses for p in t.partitions]
        assert resp.error_code == 0 and codes == [(0, 85)]  # NO_REASSIGNMENT_IN_PROGRESS
        for v in range(7):
            if v >= 6:
                topics = [DeleteTopicsRequest.DeleteTopicState(name=names[v])]
                req = DeleteTopicsRequest(timeout_ms=30000, topics=topics)
            else:
                req = DeleteTopicsRequest(timeout_ms=30000, topic_names=[names[v]])
            resp = await conn.request(ApiKey.DELETE_TOPICS, req, version=v)
            assert [(r.name, r.error_code) for r in resp.responses] == [(names[v], 0)], (v, resp)
        # v6 by id: the id of the v7-created topic.
        (a, _) = zk.get_topic_assignment(names[7])
        req = DeleteTopicsRequest(
            timeout_ms=30000,
            topics=[DeleteTopicsRequest.DeleteTopicState(name=None, topic_id=topic_id_to_uuid(a.topic_id))],
        )
        resp = await conn.request(ApiKey.DELETE_TOPICS, req, version=6)
        assert [(r.name, r.error_code) for r in resp.responses] == [(names[7], 0)]
    finally:
        await conn.close()
        await follower.close()


def test_every_advertised_admin_version_is_answered_in_its_layout(shared_cluster: Any, zk: Any) -> None:
    asyncio.run(_sweep(shared_cluster, zk))


def test_controller_gives_topics_written_without_an_id_one(shared_cluster: Any, zk: Any) -> None:
    """Kafka 2.8's controller assigns a topic id to a topic znode written without one (a pre-2.8 tool,
    ``kafka-zk topics --zookeeper``); DeleteTopics v6 can then name it by that id."""
    from kafka.admin import KafkaAdminClient

    t = unique_name("noid")
    zk.create_topic_assignment(t, {0: [0, 1]})
    wait_until(
        lambda: zk.get_topic_assignment(t)[0].topic_id is not None,
        timeout=30,
        message="the controller gave the topic no id",
    )
    assignment, _ = zk.get_topic_assignment(t)
    assert assignment.version == 3 and assignment.partitions == {0: (0, 1)}
    admin = KafkaAdminClient(bootstrap_servers=shared_cluster.bootstrap_servers, request_timeout_ms=30000)
    try:
        _wait_leaders(shared_cluster.bootstrap_servers, t, 1)
        deleted = admin.delete_topics([topic_id_to_uuid(assignment.topic_id)], timeout_ms=30000)
        assert [(r["name"], r["error_code"]) for r in deleted["topics"]] == [(t, 0)]
    finally:
        admin.close()
