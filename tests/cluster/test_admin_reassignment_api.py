"""KIP-455 reassignments and ElectLeaders through the Kafka protocol: kafka-python's admin client and
``kafka-zk reassign-partitions`` / ``kafka-zk leader-election`` in ``--bootstrap-server`` mode, against
real broker processes.

To watch a reassignment *in flight* (and cancel it) the adding replica's broker is paused (SIGSTOP): it
stays registered — the session timeout is raised to 60 s — but cannot fetch, so it never joins the ISR.
Clients meanwhile bootstrap from the other two brokers only (a paused broker accepts connections but never
answers, which would cost a request timeout).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kafka_zk.admin.cli import main
from tests.helpers import wait_until
from zk_layout import KafkaZkClient

SLOW_SESSION = {"zookeeper.session.timeout.ms": "60000"}


def _assignment(zk: Any, topic: str) -> Any:
    got = zk.get_topic_assignment(topic)
    assert got is not None, f"topic {topic} does not exist"
    return got[0]


def _leader(zk: Any, topic: str, partition: int) -> int:
    got = zk.get_partition_state((topic, partition))
    return -1 if got is None else int(got[0].leader)


def _plan(tmp_path: Path, name: str, moves: dict[tuple[str, int], list[int]]) -> str:
    path = tmp_path / name
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "partitions": [{"topic": t, "partition": p, "replicas": r} for (t, p), r in moves.items()],
            }
        )
    )
    return str(path)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_reassignment_api_start_list_cancel_and_complete(
    cluster_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient

    cluster = cluster_factory(3, SLOW_SESSION)
    zk = KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=15000).start()
    controller = cluster.controller_id()
    mover = next(b for b in range(3) if b != controller)  # the broker we pause must not be the controller
    keep = next(b for b in range(3) if b not in (controller, mover))
    bs = ",".join(f"127.0.0.1:{cluster.broker(b).port}" for b in (controller, keep))
    admin = KafkaAdminClient(bootstrap_servers=bs, request_timeout_ms=30000)
    paused: int | None = None
    try:
        admin.create_topics({"mv": {"assignments": {0: [keep], 1: [controller]}}}, timeout_ms=30000)
        wait_until(lambda: _leader(zk, "mv", 0) == keep and _leader(zk, "mv", 1) == controller, timeout=30)

        cluster.kill(mover, "STOP")
        paused = mover
        tp0 = TopicPartition("mv", 0)
        assert admin.alter_partition_reassignments({tp0: [keep, mover]}) == {tp0: None}
        listed = admin.list_partition_reassignments()
        assert listed == {
            tp0: {"replicas": [keep, mover], "adding_replicas": [mover], "removing_replicas": []}
        }
        a = _assignment(zk, "mv")
        assert a.partitions[0] == (keep, mover) and a.adding_replicas == {0: (mover,)}

        code, out, _ = _cli(capsys, "reassign-partitions", "--bootstrap-server", bs, "--list")
        assert code == 0
        assert out.splitlines() == [
            "Current partition reassignments:",
            f"mv-0: replicas: {keep},{mover}. adding: {mover}. removing: .",
        ]
        plan0 = _plan(tmp_path, "p0.json", {("mv", 0): [keep, mover]})
        code, out, _ = _cli(
            capsys,
            "reassign-partitions",
            "--bootstrap-server",
            bs,
            "--verify",
            "--reassignment-json-file",
            plan0,
        )
        assert code == 0 and "Reassignment of partition mv-0 is still in progress." in out
        plan1 = _plan(tmp_path, "p1.json", {("mv", 1): [mover, keep]})
        code, _, err = _cli(
            capsys,
            "reassign-partitions",
            "--bootstrap-server",
            bs,
            "--execute",
            "--reassignment-json-file",
            plan1,
        )
        assert code == 1 and "existing partition assignment" in err and "--additional" in err

        # Cancel: back to the original replicas, the adding replica is dropped.
        code, out, _ = _cli(
            capsys,
            "reassign-partitions",
            "--bootstrap-server",
            bs,
            "--cancel",
            "--reassignment-json-file",
            plan0,
        )
        assert code == 0 and "Successfully cancelled partition reassignments for: mv-0" in out
        assert admin.list_partition_reassignments() == {}
        a = _assignment(zk, "mv")
        assert a.partitions[0] == (keep,) and a.adding_replicas == {} and a.removing_replicas == {}
        # Cancelling again: nothing in flight.
        assert (
            admin.alter_partition_reassignments({tp0: None})[tp0].errno == 85
        )  # NO_REASSIGNMENT_IN_PROGRESS

        cluster.kill(mover, "CONT")
        paused = None

        # A complete move of mv-1 off the controller, leadership included.
        code, out, err = _cli(
            capsys,
            "reassign-partitions",
            "--bootstrap-server",
            bs,
            "--execute",
            "--reassignment-json-file",
            plan1,
        )
        assert code == 0, err
        assert (
            f'"replicas":[{controller}]' in out
            and "Successfully started partition reassignments for mv-1" in out
        )
        wait_until(
            lambda: (
                _assignment(zk, "mv").partitions[1] == (mover, keep)
                and not _assignment(zk, "mv").adding_replicas
            ),
            timeout=60,
            message="mv-1 did not move",
        )
        wait_until(lambda: _leader(zk, "mv", 1) in (mover, keep), timeout=30)
        code, out, _ = _cli(
            capsys,
            "reassign-partitions",
            "--bootstrap-server",
            bs,
            "--verify",
            "--reassignment-json-file",
            plan1,
        )
        assert code == 0 and "Reassignment of partition mv-1 is complete." in out
        code, out, _ = _cli(
            capsys,
            "reassign-partitions",
            "--bootstrap-server",
            bs,
            "--verify",
            "--reassignment-json-file",
            plan0,
        )
        assert code == 1 and f"replica set is [{keep}] rather than [{keep}, {mover}]" in out

        # Invalid targets get Kafka's per-partition errors; an unknown partition: UNKNOWN_TOPIC_OR_PARTITION.
        bad = admin.alter_partition_reassignments({tp0: [keep, 99], TopicPartition("mv", 7): [keep]})
        assert {tp.partition: e.errno for tp, e in bad.items()} == {0: 39, 7: 3}
    finally:
        if paused is not None:
            cluster.kill(paused, "CONT")
        admin.close()
        zk.close()


@pytest.mark.slow
def test_leader_election_bootstrap_mode(
    cluster_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kafka.admin import KafkaAdminClient

    cluster = cluster_factory(3)
    bs = cluster.bootstrap_servers
    zk = KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=15000).start()
    admin = KafkaAdminClient(bootstrap_servers=bs, request_timeout_ms=30000)
    try:
        admin.create_topics(
            {"pref": {"assignments": {0: [0, 1, 2], 1: [1, 2, 0], 2: [2, 0, 1]}}}, timeout_ms=30000
        )
        wait_until(lambda: [_leader(zk, "pref", p) for p in range(3)] == [0, 1, 2], timeout=30)

        def in_sync() -> bool:
            return all(len(zk.get_partition_state(("pref", p))[0].isr) == 3 for p in range(3))

        wait_until(in_sync, timeout=30)
        victim = next(b for b in range(3) if b != cluster.controller_id())
        cluster.kill(victim, "TERM")
        cluster.start(victim)
        wait_until(in_sync, timeout=60, message="the restarted broker did not catch up")
        assert _leader(zk, "pref", victim) != victim, "leadership does not come back by itself"

        plan = tmp_path / "pref.json"
        plan.write_text(json.dumps({"partitions": [{"topic": "pref", "partition": p} for p in range(3)]}))
        code, out, err = _cli(
            capsys,
            "leader-election",
            "--bootstrap-server",
            bs,
            "--election-type",
            "preferred",
            "--path-to-json-file",
            str(plan),
        )
        assert code == 0, err
        assert f"Successfully completed leader election (PREFERRED) for partitions pref-{victim}" in out
        others = ", ".join(f"pref-{p}" for p in range(3) if p != victim)
        assert f"Valid replica already elected for partitions {others}" in out
        assert [_leader(zk, "pref", p) for p in range(3)] == [0, 1, 2]

        # Unclean elections need ElectLeaders (not possible through ZooKeeper); a led partition needs none.
        code, out, _ = _cli(
            capsys,
            "leader-election",
            "--bootstrap-server",
            bs,
            "--election-type",
            "unclean",
            "--topic",
            "pref",
            "--partition",
            "0",
        )
        assert code == 0 and "Valid replica already elected for partitions pref-0" in out
        code, out, err = _cli(
            capsys,
            "leader-election",
            "--bootstrap-server",
            bs,
            "--election-type",
            "preferred",
            "--topic",
            "nope",
            "--partition",
            "0",
        )
        assert code == 1
        assert "Error completing leader election (PREFERRED) for partition: nope-0" in out
        assert err.strip().count("\n") == 0 and "1 replica(s) could not be elected" in err
    finally:
        admin.close()
        zk.close()


def test_bootstrap_only_flags_are_one_clear_line(capsys: pytest.CaptureFixture[str], zk_chroot: str) -> None:
    code, _, err = _cli(capsys, "reassign-partitions", "--zookeeper", zk_chroot, "--list")
    assert code == 2 and err.count("\n") == 1 and "--list needs --bootstrap-server" in err
    code, _, err = _cli(capsys, "reassign-partitions", "--bootstrap-server", "127.0.0.1:1", "--cancel")
    assert code == 2 and err.count("\n") == 1 and "--cancel needs --reassignment-json-file" in err
    code, _, err = _cli(capsys, "leader-election", "--bootstrap-server", "127.0.0.1:1", "--topic", "t")
    assert code == 2 and err.count("\n") == 1 and "--topic needs --partition" in err
