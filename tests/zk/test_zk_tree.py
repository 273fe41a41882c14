"""`kafka-zk zookeeper init` + `kafka-zk zk-tree`: the skeleton a Kafka 2.x broker creates, printed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from zk_layout import KafkaZkClient, PartitionState


def kafka_zk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kafka_zk", *args], capture_output=True, text=True, timeout=60,
                          env=os.environ.copy())


SKELETON = """\
/
|-- admin
|   `-- delete_topics
|-- brokers
|   |-- ids
|   |-- seqid
|   `-- topics
|-- cluster
|   `-- id  {"version":"1","id":"CLUSTER_ID"}
|-- config
|   |-- brokers
|   |-- changes
|   |-- clients
|   |-- topics
|   `-- users
|-- consumers
|-- isr_change_notification
|-- latest_producer_id_block
`-- log_dir_event_notification
"""


def test_init_then_zk_tree_shows_kafkas_skeleton(zk_chroot: str) -> None:
    init = kafka_zk("zookeeper", "init", "--zookeeper", zk_chroot)
    assert init.returncode == 0, init.stderr
    m = re.fullmatch(r"cluster\.id=([A-Za-z0-9_-]{22})\n", init.stdout)
    assert m, init.stdout
    tree = kafka_zk("zk-tree", "--zookeeper", zk_chroot)
    assert tree.returncode == 0, tree.stderr
    assert tree.stdout == SKELETON.replace("CLUSTER_ID", m.group(1))
    assert tree.stderr == ""


def test_zk_tree_decodes_and_flags_payloads(zk_chroot: str) -> None:
    with KafkaZkClient(zk_chroot, session_timeout_ms=6000) as zk:
        zk.create_top_level_paths()
        epoch, ev = zk.register_controller_and_increment_epoch(1)
        zk.create_topic_assignment("orders", {0: [1, 2], 10: [2, 1]})
        zk.create_partition_states({("orders", 0): PartitionState(1, 0, (1, 2), epoch)}, ev)
        zk.kazoo.create("/brokers/topics/orders/partitions/10/state", b'{"version":1,"leader":"x"}', makepath=True)
        out = kafka_zk("zk-tree", "--zookeeper", zk_chroot, "/brokers/topics")
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[0] == "/brokers/topics"
        assert lines[1].startswith("`-- orders  {\"version\":2,")
        # partitions in numeric order (0 before 10), each state with its payload; the bad one flagged
        assert lines[3] == "        |-- 0"
        assert lines[4] == '        |   `-- state  {"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}'
        assert lines[5] == "        `-- 10"
        assert lines[6].startswith('            `-- state  {"version":1,"leader":"x"}  !! malformed znode '
                                   "/brokers/topics/orders/partitions/10/state: field 'leader'")
        top = kafka_zk("zk-tree", "--zookeeper", zk_chroot).stdout
        assert "|-- controller [ephemeral]  {\"version\":1,\"brokerid\":1,\"timestamp\":\"" in top
        assert "|-- controller_epoch [zkVersion=1]  1" in top

        as_json = json.loads(kafka_zk("zk-tree", "--zookeeper", zk_chroot, "--json", "/brokers/topics/orders").stdout)
        by_path = {e["path"]: e for e in as_json}
        state = by_path["/brokers/topics/orders/partitions/0/state"]
        assert state["type"] == "PartitionState"
        assert state["decoded"] == {"leader": 1, "leader_epoch": 0, "isr": [1, 2], "controller_epoch": 1, "version": 1}
        assert "field 'leader'" in by_path["/brokers/topics/orders/partitions/10/state"]["error"]
        assert by_path["/brokers/topics/orders"]["decoded"]["partitions"] == {"0": [1, 2], "10": [2, 1]}


def test_zk_tree_errors_are_one_line(zk_chroot: str) -> None:
    missing = kafka_zk("zk-tree", "--zookeeper", zk_chroot, "/no/such")
    assert missing.returncode == 1 and missing.stderr.strip().count("\n") == 0 and "no znode /no/such" in missing.stderr
    no_chroot = kafka_zk("zk-tree", "--zookeeper", zk_chroot + "/absent")
    assert no_chroot.returncode == 1 and "does not exist" in no_chroot.stderr
    bad = kafka_zk("zk-tree", "--zookeeper", "")
    assert bad.returncode == 2
