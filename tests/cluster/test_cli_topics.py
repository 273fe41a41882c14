"""``kafka-zk topics`` in both modes (--zookeeper, --bootstrap-server) against a real 3-broker cluster:
Kafka's output format, the placement layout, errors and exit codes."""

from __future__ import annotations

from typing import Any

import pytest

from helpers import unique_name, wait_until
from kafka_zk.admin.cli import main
from kafka_zk.admin.topics import COLLISION_WARNING, PartitionRow, describe_lines, select_topics


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["topics", *argv])
    except SystemExit as e:  # argparse's own errors (a value of the wrong type)
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def modes(cluster: Any) -> dict[str, list[str]]:
    return {"zk": ["--zookeeper", cluster.zookeeper_connect], "bs": ["--bootstrap-server", cluster.bootstrap_servers]}


def described_when_settled(capsys: pytest.CaptureFixture[str], where: list[str], topic: str, partitions: int) -> list[str]:
    """``--describe`` output once every partition has a leader and a full ISR."""
    def settled() -> list[str]:
        code, out, _ = run(capsys, *where, "--describe", "--topic", topic)
        lines = out.splitlines()
        rows = [ln for ln in lines if ln.startswith("\tTopic:")]
        if code != 0 or len(rows) != partitions or any("Leader: none" in ln for ln in rows):
            return []
        if any(ln.split("Replicas: ")[1].split("\t")[0].count(",") != ln.split("Isr: ")[1].count(",") for ln in rows):
            return []
        return lines
    return wait_until(settled, timeout=15, interval=0.1, message=f"{topic} did not settle")


def test_zookeeper_create_places_partition_i_on_broker_i_mod_3(shared_cluster: Any,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    zk, bs = modes(shared_cluster)["zk"], modes(shared_cluster)["bs"]
    topic = unique_name("layout")
    code, out, err = run(capsys, *zk, "--create", "--topic", topic, "--partitions", "6", "--replication-factor", "3",
                         "--config", "retention.ms=3600000")
    assert (code, out, err) == (0, f"Created topic {topic}.\n", "")
    expected = [f"Topic: {topic}\tPartitionCount: 6\tReplicationFactor: 3\tConfigs: retention.ms=3600000"]
    for i in range(6):
        replicas = ",".join(str((i + j) % 3) for j in range(3))
        expected.append(f"\tTopic: {topic}\tPartition: {i}\tLeader: {i % 3}\tReplicas: {replicas}\tIsr: {replicas}")
    assert described_when_settled(capsys, zk, topic, 6) == expected
    assert described_when_settled(capsys, bs, topic, 6) == expected  # the same picture through the protocol


def test_bootstrap_create_then_list_alter_and_delete_in_both_modes(shared_cluster: Any,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    m = modes(shared_cluster)
    topic = unique_name("life")
    assert run(capsys, *m["bs"], "--create", "--topic", topic, "--partitions", "2", "--replication-factor", "2")[:2] \
        == (0, f"Created topic {topic}.\n")
    for where in m.values():
        wait_until(lambda where=where: topic in run(capsys, *where, "--list")[1].splitlines(), timeout=10)
    code, out, _ = run(capsys, *m["zk"], "--alter", "--topic", topic, "--partitions", "3")
    assert code == 0 and out.endswith("Adding partitions succeeded!\n") and out.startswith("WARNING: If partitions")
    code, out, _ = run(capsys, *m["bs"], "--alter", "--topic", topic, "--partitions", "4",
                       "--config", "cleanup.policy=compact")
    assert code == 0 and f"Updated config for topic {topic}." in out
    lines = described_when_settled(capsys, m["zk"], topic, 4)
    assert lines[0] == f"Topic: {topic}\tPartitionCount: 4\tReplicationFactor: 2\tConfigs: cleanup.policy=compact"
    code, out, err = run(capsys, *m["bs"], "--alter", "--topic", topic, "--partitions", "2")
    assert code == 1 and err.count("\n") == 1 and "4 partitions" in err  # partitions only grow
    code, out, _ = run(capsys, *m["zk"], "--delete", "--topic", topic)
    assert code == 0 and out.startswith(f"Topic {topic} is marked for deletion.")
    wait_until(lambda: topic not in run(capsys, *m["bs"], "--list")[1], timeout=15)
    code, _, err = run(capsys, *m["bs"], "--delete", "--topic", topic)
    assert code == 1 and f"topic '{topic}' does not exist" in err
    assert run(capsys, *m["bs"], "--delete", "--topic", topic, "--if-exists")[0] == 0


@pytest.mark.parametrize("mode", ["zk", "bs"])
def test_existing_topics_and_collision_warning(shared_cluster: Any, capsys: pytest.CaptureFixture[str],
                                               mode: str) -> None:
    where = modes(shared_cluster)[mode]
    topic = unique_name("dotted") + ".events"
    create = [*where, "--create", "--topic", topic, "--partitions", "1", "--replication-factor", "1"]
    code, out, _ = run(capsys, *create)
    assert code == 0 and out == f"{COLLISION_WARNING}\nCreated topic {topic}.\n"
    code, out, err = run(capsys, *create)
    assert code == 1 and err == f"kafka-zk topics: error: topic '{topic}' already exists (use --if-not-exists to skip it)\n"
    assert run(capsys, *create, "--if-not-exists")[0] == 0
    twin = topic.replace(".", "_")
    code, _, err = run(capsys, *where, "--create", "--topic", twin, "--partitions", "1", "--replication-factor", "1")
    assert code == 1 and "collides" in err and topic in err
    code, _, err = run(capsys, *where, "--create", "--topic", unique_name("rf"), "--partitions", "1",
                       "--replication-factor", "4")
    assert code == 1 and "replication factor" in err and err.count("\n") == 1


def test_placement_kafka_and_replica_assignment(shared_cluster: Any, capsys: pytest.CaptureFixture[str]) -> None:
    zk = modes(shared_cluster)["zk"]
    spread = unique_name("kafka-rule")
    assert run(capsys, *zk, "--create", "--topic", spread, "--partitions", "6", "--replication-factor", "2",
               "--placement", "kafka")[0] == 0
    rows = [ln for ln in described_when_settled(capsys, zk, spread, 6) if ln.startswith("\t")]
    leaders = [ln.split("Replicas: ")[1].split(",")[0] for ln in rows]
    assert sorted(leaders) == ["0", "0", "1", "1", "2", "2"]  # leaders still spread evenly
    manual = unique_name("manual")
    assert run(capsys, *zk, "--create", "--topic", manual, "--replica-assignment", "2:1,1:0")[0] == 0
    rows = [ln for ln in described_when_settled(capsys, zk, manual, 2) if ln.startswith("\t")]
    assert [ln.split("Replicas: ")[1].split("\t")[0] for ln in rows] == ["2,1", "1,0"]


@pytest.mark.parametrize("argv, fragment", [
    (["--list", "--describe"], "exactly one action"),
    (["--create"], "--create needs --topic"),
    (["--create", "--topic", "bad/name", "--partitions", "1", "--replication-factor", "1"], "illegal character"),
    (["--create", "--topic", "x" * 250, "--partitions", "1", "--replication-factor", "1"], "maximum is 249"),
    (["--create", "--topic", "t", "--partitions", "0", "--replication-factor", "1"], "at least 1"),
    (["--create", "--topic", "t", "--partitions", "1"], "needs --partitions and --replication-factor"),
    (["--create", "--topic", "t", "--partitions", "1", "--replica-assignment", "0:1"], "cannot be used with"),
    (["--create", "--topic", "t", "--replica-assignment", "0:0"], "more than once"),
    (["--create", "--topic", "t", "--partitions", "1", "--replication-factor", "1", "--config", "retention.ms=x"],
     "retention.ms"),
    (["--create", "--topic", "t", "--partitions", "1", "--replication-factor", "1", "--config", "nope=1"],
     "unknown configuration key"),
    (["--create", "--topic", "t", "--partitions", "many"], "whole number"),
    (["--list", "--partitions", "3"], "cannot be used with --list"),
    (["--alter", "--topic", "t"], "--alter needs --partitions"),
    (["--describe", "--if-not-exists"], "cannot be used with --describe"),
])
def test_bad_arguments_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    code, out, err = run(capsys, "--zookeeper", "127.0.0.1:1", *argv)
    assert code == 2 and out == ""
    assert err.startswith("kafka-zk topics: error: ") and err.count("\n") == 1 and fragment in err, err


def test_cluster_choice_and_unreachable_clusters(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_ZK_CONNECT", raising=False)
    code, _, err = run(capsys, "--list")
    assert code == 2 and "--bootstrap-server" in err
    code, _, err = run(capsys, "--list", "--zookeeper", "h:1", "--bootstrap-server", "h:2")
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "--list", "--bootstrap-server", "nohostport")
    assert code == 2 and "HOST:PORT" in err
    code, _, err = run(capsys, "--list", "--bootstrap-server", "127.0.0.1:1", "--timeout", "2")
    assert code == 1 and "no bootstrap server answered" in err and err.count("\n") == 1
    code, _, err = run(capsys, "--list", "--zookeeper", "127.0.0.1:1", "--timeout", "1")
    assert code == 1 and "ZooKeeper" in err and err.count("\n") == 1


def test_describe_format_and_filters() -> None:
    rows = [PartitionRow(1, -1, (2, 0), ()), PartitionRow(0, 1, (1, 2), (1,)), PartitionRow(2, 0, (0, 1), (0, 1))]
    assert describe_lines("t", rows, {"b": "2", "a": "1"}, {0, 1, 2}) == [
        "Topic: t\tPartitionCount: 3\tReplicationFactor: 2\tConfigs: a=1,b=2",
        "\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1",
        "\tTopic: t\tPartition: 1\tLeader: none\tReplicas: 2,0\tIsr: ",
        "\tTopic: t\tPartition: 2\tLeader: 0\tReplicas: 0,1\tIsr: 0,1",
    ]
    assert [ln.split("\t")[2] for ln in describe_lines("t", rows, {}, {0, 2}, under_replicated=True)] == [
        "Partition: 0", "Partition: 1"]
    assert [ln.split("\t")[2] for ln in describe_lines("t", rows, {}, {0, 2}, unavailable=True)] == [
        "Partition: 0", "Partition: 1"]  # leader 1 is not a live broker
    assert select_topics("a.*,c", ["ab", "b", "c", "a.b"]) == ["a.b", "ab", "c"]
    assert select_topics("a.b", ["a.b", "axb", "a.bc"]) == ["a.b", "axb"]  # Kafka's whitelist is a regex
    assert select_topics("[", ["[", "x"]) == ["["]  # not a regex: the name itself
