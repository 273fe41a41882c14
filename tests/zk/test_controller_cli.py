"""``kafka-zk leader-election`` and ``kafka-zk reassign-partitions`` (ZooKeeper mode) against a running controller."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from helpers import async_wait_until, run_async
from kafka_zk.admin.cli import main
from kafka_zk.admin.reassign_partitions import UsageError, parse_reassignment
from kafka_zk.common.tp import TopicPartition
from test_controller_cluster import cluster, state, wait_state
from test_controller_leadership import _move_leader_away
from zk_layout import KafkaZkClient


async def cli(*argv: str) -> int:
    """Run the CLI in a thread: it blocks on ZooKeeper while the controller runs on this loop."""
    return await asyncio.get_running_loop().run_in_executor(None, main, list(argv))


def test_bad_arguments_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], zk_chroot: str) -> None:
    assert main(["leader-election", "--zookeeper", zk_chroot, "--topic", "t"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--topic needs --partition" in err
    assert main(["leader-election", "--zookeeper", zk_chroot, "--election-type", "unclean",
                 "--all-topic-partitions"]) == 2
    assert "only runs preferred" in capsys.readouterr().err
    assert main(["reassign-partitions", "--zookeeper", zk_chroot, "--execute"]) == 2
    assert "needs --reassignment-json-file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "obj, fragment",
    [
        ({"partitions": []}, "expected"),
        ({"partitions": [{"topic": "t", "partition": 0, "replicas": [1, 1]}]}, "more than once"),
        ({"partitions": [{"topic": "t", "partition": -1, "replicas": [1]}]}, "partition"),
        ({"partitions": [{"topic": "t", "partition": 0, "replicas": [1]}] * 2}, "t-0 more than once"),
        ({"partitions": [{"topic": "t", "partition": 0, "replicas": [1], "log_dirs": ["/d"]}]}, "log_dirs"),
    ],
)
def test_reassignment_json_validation(obj: object, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_reassignment(obj, "f.json")


@run_async
async def test_leader_election_moves_leader_to_preferred(zk: KafkaZkClient, zk_chroot: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    tp = TopicPartition("t", 0)
    async with cluster(zk_chroot) as (node, brokers):
        zk.create_topic_assignment("t", {0: [1, 2]})
        await wait_state(zk, tp, (1, 0, [1, 2]))
        await _move_leader_away(zk, brokers, tp)
        await async_wait_until(lambda: node.controller.context.leadership[tp].isr == (2, 1))  # type: ignore[union-attr]
        capsys.readouterr()
        assert await cli("leader-election", "--zookeeper", zk_chroot, "--preferred", "--topic", "t",
                         "--partition", "0", "--wait") == 0
        out = capsys.readouterr().out
        assert "Successfully started preferred replica election for partitions t-0" in out
        assert "Leader of t-0 is its preferred replica 1" in out
        assert (state(zk, tp) or (0,))[0] == 1


@run_async
async def test_reassign_generate_execute_verify(zk: KafkaZkClient, zk_chroot: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    tp = TopicPartition("r", 0)
    async with cluster(zk_chroot) as (_node, brokers):
        zk.create_topic_assignment("r", {0: [0, 1], 1: [1, 0]})
        await wait_state(zk, tp, (0, 0, [0, 1]))
        topics = tmp_path / "topics.json"
        topics.write_text(json.dumps({"topics": [{"topic": "r"}], "version": 1}))
        capsys.readouterr()
        assert await cli("reassign-partitions", "--zookeeper", zk_chroot, "--generate",
                         "--topics-to-move-json-file", str(topics), "--broker-list", "1,2") == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == "Current partition replica assignment"
        proposed = json.loads(lines[lines.index("Proposed partition reassignment configuration") + 1])
        assert [(p["partition"], p["replicas"]) for p in proposed["partitions"]] == [(0, [1, 2]), (1, [2, 1])]

        plan = tmp_path / "plan.json"
        plan.write_text(json.dumps({"version": 1, "partitions": [proposed["partitions"][0]]}))
        assert await cli("reassign-partitions", "--zookeeper", zk_chroot, "--execute",
                         "--reassignment-json-file", str(plan)) == 0
        out = capsys.readouterr().out
        assert '"replicas":[0,1]' in out and "Successfully started reassignment of partitions." in out
        await async_wait_until(lambda: (s := brokers[2].leader_and_isr_states().get(tp)) is not None and s.is_new)
        assert await cli("reassign-partitions", "--zookeeper", zk_chroot, "--verify",
                         "--reassignment-json-file", str(plan)) == 0
        assert "Reassignment of partition r-0 is still in progress" in capsys.readouterr().out
        assert await cli("reassign-partitions", "--zookeeper", zk_chroot, "--execute",
                         "--reassignment-json-file", str(plan)) == 1
        assert "already running" in capsys.readouterr().err

        await brokers[0].leader_set_isr(tp, [0, 1, 2])
        await async_wait_until(lambda: zk.get_partition_reassignment() is None)
        assert await cli("reassign-partitions", "--zookeeper", zk_chroot, "--verify",
                         "--reassignment-json-file", str(plan)) == 0
        assert "Reassignment of partition r-0 completed successfully" in capsys.readouterr().out

        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"version": 1, "partitions": [{"topic": "r", "partition": 1, "replicas": [9]}]}))
        assert await cli("reassign-partitions", "--zookeeper", zk_chroot, "--execute",
                         "--reassignment-json-file", str(bad)) == 1
        assert "not registered: 9" in capsys.readouterr().err


def test_election_json_parsing() -> None:
    from kafka_zk.admin.leader_election import UsageError as ElectionUsageError, parse_partitions_json

    assert parse_partitions_json('{"partitions": [{"topic": "a", "partition": 1}]}', "f") == [("a", 1)]
    with pytest.raises(ElectionUsageError, match="more than once: a-1"):
        parse_partitions_json('{"partitions": [{"topic": "a", "partition": 1}, {"topic": "a", "partition": 1}]}', "f")
    with pytest.raises(ElectionUsageError, match="not JSON"):
        parse_partitions_json("{", "f")
