"""Kafka's replication promise, tested with real processes and a real ZooKeeper.

With ``acks=all``, ``min.insync.replicas=2`` and unclean leader election off, every acknowledged record survives
kill -9 of the partition leader, kill -9 of the controller, and a leader or controller paused (SIGSTOP) past its
ZooKeeper session timeout: at the end each acknowledged record is at the offset it was acknowledged with, and the
three replicas' logs are identical up to the high watermark.

With unclean leader election on and the ISR shrunk to the leader, Kafka documents that acknowledged records can
be lost; the second test builds that situation deliberately and asserts the loss happens.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import wait_until
from kafka_zk.log.checkpoints import HIGH_WATERMARK_CHECKPOINT, OffsetCheckpointFile
from kafka_zk.record.batch import iter_batches
from zk_layout import KafkaZkClient

from test_cluster_interop import create_topic

SESSION_MS = 6000
OVERRIDES = {
    "zookeeper.session.timeout.ms": str(SESSION_MS),
    "replica.lag.time.max.ms": "3000",
    "min.insync.replicas": "2",
    "unclean.leader.election.enable": "false",
}
TOPIC = "acked"
PARTITIONS = 2


class NumberedProducer:
    """Sends ``"<n>"`` values with acks=all and idempotence from a background thread; records what was acked."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        from confluent_kafka import Producer

        self.topic, self.partitions = topic, partitions
        self.acked: dict[bytes, tuple[int, int]] = {}  # value -> (partition, offset)
        self.failed = 0
        self._producer = Producer({
            "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
            "message.timeout.ms": 180000, "linger.ms": 2, "retry.backoff.ms": 100,
        })
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.sent = 0

    def _report(self, err: Any, msg: Any) -> None:
        if err is None:
            self.acked[msg.value()] = (msg.partition(), msg.offset())
        else:
            self.failed += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            for _ in range(20):
                try:
                    self._producer.produce(self.topic, b"%d" % self.sent, partition=self.sent % self.partitions,
                                           on_delivery=self._report)
                    self.sent += 1
                except BufferError:
                    break
            self._producer.poll(0.01)

    def start(self) -> "NumberedProducer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        assert self._producer.flush(180) == 0, "records still in flight after 180 s"


def states(zk: KafkaZkClient, topic: str, partitions: int) -> list[Any]:
    return [zk.get_partition_state((topic, p))[0] for p in range(partitions)]  # type: ignore[index]


def wait_fully_replicated(zk: KafkaZkClient, topic: str, partitions: int, rf: int, timeout: float = 90) -> None:
    wait_until(lambda: all(s.leader >= 0 and len(s.isr) == rf for s in states(zk, topic, partitions)),
               timeout=timeout, message="partitions did not get back to a full ISR")


def read_replica_log(data_dir: str, topic: str, partition: int) -> dict[int, bytes]:
    """offset -> value of every record in one broker's copy of a partition (read from its segment files)."""
    out: dict[int, bytes] = {}
    pdir = Path(data_dir) / f"{topic}-{partition}"
    for seg in sorted(pdir.glob("*.log")):
        for batch in iter_batches(memoryview(seg.read_bytes())):
            for r in batch.records():
                out[r.offset] = bytes(r.value) if r.value is not None else b""
    return out


def high_watermark(data_dir: str, topic: str, partition: int) -> int:
    hws = OffsetCheckpointFile(os.path.join(data_dir, HIGH_WATERMARK_CHECKPOINT)).read()
    return hws.get((topic, partition), 0)  # type: ignore[call-overload]


@pytest.mark.slow
def test_acked_writes_survive_leader_and_controller_failures(cluster_factory: Any) -> None:
    cluster = cluster_factory(3, OVERRIDES)
    create_topic(cluster.bootstrap_servers, TOPIC, partitions=PARTITIONS, rf=3)
    zk = KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=15000).start()
    producer = NumberedProducer(cluster.bootstrap_servers, TOPIC, PARTITIONS).start()
    try:
        faults = [("leader", "KILL"), ("controller", "KILL"), ("leader", "STOP"), ("controller", "STOP")]
        for target, how in faults:
            time.sleep(1.5)  # let records flow under the current leadership
            victim = cluster.controller_id() if target == "controller" else states(zk, TOPIC, PARTITIONS)[0].leader
            assert victim is not None and victim >= 0
            acked_before = len(producer.acked)
            if how == "KILL":
                cluster.kill(victim, "KILL")
                time.sleep(SESSION_MS / 1000 + 2)
                cluster.start(victim)
            else:
                cluster.kill(victim, "STOP")
                time.sleep(SESSION_MS / 1000 + 3)  # past the session timeout: ZooKeeper expires it
                cluster.kill(victim, "CONT")
            wait_fully_replicated(zk, TOPIC, PARTITIONS, 3)
            wait_until(lambda before=acked_before: len(producer.acked) > before + 100, timeout=60,
                       message=f"producer made no progress after {target} {how}")
    finally:
        producer.stop()
        zk.close()
    assert producer.failed == 0
    assert len(producer.acked) > 1000

    # Every broker shuts down cleanly (checkpointing its high watermarks), then we read the logs from disk.
    cluster.down()
    for p in range(PARTITIONS):
        replicas = [read_replica_log(b.data_dir, TOPIC, p) for b in cluster]
        # The leader's HW; followers learn it one fetch later, so theirs may trail it.
        hw = max(high_watermark(b.data_dir, TOPIC, p) for b in cluster)
        for value, (partition, offset) in producer.acked.items():
            if partition == p:
                assert offset < hw, f"acked offset {offset} above the high watermark {hw}"
                for r in replicas:
                    assert r.get(offset) == value, f"acked {value!r} at offset {offset} of partition {p}, found {r.get(offset)!r}"
        for offset in range(hw):
            assert len({r.get(offset) for r in replicas}) == 1, f"replicas diverge at offset {offset} of partition {p}"


@pytest.mark.slow
def test_unclean_election_can_lose_acked_writes(cluster_factory: Any) -> None:
    """Kafka's documented trade-off: with unclean election on, an out-of-sync replica may become leader."""
    overrides = {**OVERRIDES, "min.insync.replicas": "1", "unclean.leader.election.enable": "true"}
    cluster = cluster_factory(2, overrides)
    create_topic(cluster.bootstrap_servers, "unclean", partitions=1, rf=2)
    zk = KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=15000).start()
    try:
        from test_cluster_faults import produce_acked

        produce_acked(cluster.bootstrap_servers, "unclean", [b"replicated-%d" % i for i in range(50)])
        leader = states(zk, "unclean", 1)[0].leader
        follower = 1 - leader
        wait_fully_replicated(zk, "unclean", 1, 2)
        cluster.kill(follower, "STOP")  # the follower stops fetching: the leader shrinks the ISR to itself
        wait_until(lambda: states(zk, "unclean", 1)[0].isr == (leader,), timeout=30, message="ISR did not shrink")
        lonely = produce_acked(cluster.bootstrap_servers, "unclean", [b"leader-only-%d" % i for i in range(50)])
        assert lonely, "records acknowledged by the leader alone"
        cluster.kill(leader, "KILL")
        cluster.kill(follower, "CONT")  # its session expired while paused; it re-registers and is the only live replica
        wait_until(lambda: states(zk, "unclean", 1)[0].leader == follower, timeout=60,
                   message="the out-of-sync replica was not elected (unclean election)")
        cluster.start(leader)  # the old leader comes back as a follower and truncates its divergent tail
        wait_fully_replicated(zk, "unclean", 1, 2)
    finally:
        zk.close()
    cluster.down()
    logs = [read_replica_log(b.data_dir, "unclean", 0) for b in cluster]
    assert logs[0] == logs[1], "after the old leader rejoined, both replicas hold the same log"
    survivors = set(logs[0].values())
    assert not any(b"leader-only-%d" % i in survivors for i in range(50)), "the leader-only acked records are lost"
    assert all(b"replicated-%d" % i in survivors for i in range(50))
    # and the loss was announced loudly
    log_text = "".join(Path(b.log_path).read_text(errors="replace") for b in cluster)
    assert "unclean" in log_text.lower()


def _describe_isr(cluster: Any, topic: str) -> dict[int, list[int]]:
    """Partition -> ISR, as ``kafka-zk topics --describe`` prints it (Kafka's format)."""
    import re
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "kafka_zk", "topics", "--zookeeper", cluster.zookeeper_connect, "--describe", "--topic", topic],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    rows = re.findall(r"Partition: (\d+)\tLeader: (-?\d+)\tReplicas: ([\d,]+)\tIsr: ([\d,]*)", out)
    assert rows, out
    return {int(p): [int(x) for x in isr.split(",") if x] for p, _, _, isr in rows}


@pytest.mark.slow
def test_isr_shrinks_and_expands_in_describe_when_a_follower_pauses(cluster_factory: Any) -> None:
    cluster = cluster_factory(3, {"replica.lag.time.max.ms": "2000", "zookeeper.session.timeout.ms": "30000"})
    create_topic(cluster.bootstrap_servers, "isr", partitions=3, rf=3)
    from test_cluster_faults import produce_acked

    assert all(sorted(isr) == [0, 1, 2] for isr in _describe_isr(cluster, "isr").values())
    follower = 2  # follows partitions 0 and 1, leads partition 2 (modulo placement)
    cluster.kill(follower, "STOP")
    try:
        # keep the leaders busy so the paused follower falls behind (an idle follower at the leader's end stays in)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            produce_acked(cluster.bootstrap_servers, "isr", [b"x"] * 20, partition=0)
            produce_acked(cluster.bootstrap_servers, "isr", [b"x"] * 20, partition=1)
            isr = _describe_isr(cluster, "isr")
            if follower not in isr[0] and follower not in isr[1]:
                break
            time.sleep(0.3)
        assert follower not in isr[0] and follower not in isr[1], f"ISR did not shrink: {isr}"
    finally:
        cluster.kill(follower, "CONT")
    wait_until(lambda: all(sorted(i) == [0, 1, 2] for i in _describe_isr(cluster, "isr").values()), timeout=60,
               message="the resumed follower did not rejoin the ISR")
