"""Controlled shutdown, preferred leader election and broker startup errors, with real processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import wait_until
from kafka_zk.client.connection import KafkaConnection
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages.elect_leaders import ElectLeadersRequest
from zk_layout import KafkaZkClient

from test_cluster_interop import create_topic
from test_replication_faults import states, wait_fully_replicated


@pytest.mark.slow
def test_sigterm_moves_leadership_off_the_broker_before_it_exits(cluster_factory: Any) -> None:
    cluster = cluster_factory(3, {"zookeeper.session.timeout.ms": "30000"})
    create_topic(cluster.bootstrap_servers, "cs", partitions=6, rf=3)
    zk = KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=15000).start()
    try:
        wait_fully_replicated(zk, "cs", 6, 3)
        before = states(zk, "cs", 6)
        victim = 1
        led = [p for p, s in enumerate(before) if s.leader == victim]
        assert led, "the modulo placement gives broker 1 two leaders"
        t0 = time.monotonic()
        cluster.kill(victim, "TERM")  # returns once the process exited
        took = time.monotonic() - t0
        after = states(zk, "cs", 6)
        # A crash would leave ZooKeeper unchanged until the 30 s session expired; a controlled shutdown moves
        # leadership and takes the broker out of every ISR before the process exits.
        assert took < 20
        for p, s in enumerate(after):
            assert s.leader not in (-1, victim), f"partition {p} still led by {s.leader}"
            assert victim not in s.isr
        for p in led:
            assert after[p].leader_epoch > before[p].leader_epoch
        log = Path(cluster.broker(victim).log_path).read_text()
        assert "controlled shutdown succeeded" in log
    finally:
        zk.close()


async def _elect_preferred(bootstrap: str, controller_port: int, topic: str, partitions: int) -> Any:
    conn = await KafkaConnection.open("127.0.0.1", controller_port)
    try:
        req = ElectLeadersRequest(election_type=0, timeout_ms=30000, topic_partitions=[
            ElectLeadersRequest.TopicPartitions(topic=topic, partitions=list(range(partitions)))])
        return await conn.request(ApiKey.ELECT_LEADERS, req, version=1)
    finally:
        await conn.close()


@pytest.mark.slow
def test_preferred_election_through_elect_leaders_and_the_zookeeper_cli(cluster_factory: Any) -> None:
    cluster = cluster_factory(3)
    create_topic(cluster.bootstrap_servers, "pref", partitions=3, rf=3)
    create_topic(cluster.bootstrap_servers, "pref-zk", partitions=3, rf=3)
    zk = KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=15000).start()
    try:
        for topic in ("pref", "pref-zk"):
            wait_fully_replicated(zk, topic, 3, 3)
        controller = cluster.controller_id()
        victim = next(b for b in range(3) if b != controller)
        cluster.kill(victim, "TERM")
        cluster.start(victim)
        for topic in ("pref", "pref-zk"):
            wait_fully_replicated(zk, topic, 3, 3)
            assert all(s.leader != victim for s in states(zk, topic, 3)), "leadership does not come back by itself"

        resp = asyncio.run(_elect_preferred(cluster.bootstrap_servers, cluster.broker(controller).port, "pref", 3))
        assert resp.error_code == 0
        codes = {r.partition_id: r.error_code for t in resp.replica_election_results for r in t.partition_result}
        assert codes[victim] == 0  # partition `victim` prefers broker `victim` (modulo placement)
        assert all(c in (0, 84) for c in codes.values())  # 84 = ELECTION_NOT_NEEDED
        assert [s.leader for s in states(zk, "pref", 3)] == [0, 1, 2]

        out = subprocess.run(
            [sys.executable, "-m", "kafka_zk", "leader-election", "--zookeeper", cluster.zookeeper_connect,
             "--preferred", "--all-topic-partitions", "--wait"],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        wait_until(lambda: [s.leader for s in states(zk, "pref-zk", 3)] == [0, 1, 2], timeout=30)
    finally:
        zk.close()


def _broker(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kafka_zk", "broker", *args], capture_output=True, text=True, timeout=timeout)


def test_unknown_config_key_is_one_clear_line(tmp_path: Path, zk_chroot: str) -> None:
    cfg = tmp_path / "server.properties"
    cfg.write_text(f"broker.id=0\nzookeeper.connect={zk_chroot}\nlog.retention.hour=1\n")
    out = _broker(["--config", str(cfg)])
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "log.retention.hour" in lines[0] and "did you mean 'log.retention.hours'" in lines[0]


def test_invalid_value_and_missing_zookeeper_are_clear(tmp_path: Path) -> None:
    cfg = tmp_path / "server.properties"
    cfg.write_text("broker.id=zero\nzookeeper.connect=127.0.0.1:1\n")
    out = _broker(["--config", str(cfg)])
    assert out.returncode == 2 and "broker.id" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    cfg.write_text("broker.id=0\n")
    out = _broker(["--config", str(cfg)])
    assert out.returncode == 2 and "zookeeper.connect" in out.stderr


@pytest.mark.slow
def test_taken_broker_id_is_refused(cluster_factory: Any, tmp_path: Path) -> None:
    cluster = cluster_factory(1)
    cfg = tmp_path / "server.properties"
    cfg.write_text(f"broker.id=0\nzookeeper.connect={cluster.zookeeper_connect}\n"
                   f"listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs={tmp_path / 'data'}\n")
    out = _broker(["--config", str(cfg)])
    assert out.returncode == 1
    assert "broker.id" in out.stderr and "already" in out.stderr
    assert cluster.broker(0).is_running()


def test_generated_broker_id_comes_from_seqid_and_survives_restarts(zk_chroot: str, tmp_path: Path) -> None:
    """broker.id unset: the first id is reserved.broker.max.id + the /brokers/seqid version (1001), recorded
    in meta.properties so a restart keeps it (Kafka's getOrGenerateBrokerId)."""
    from kafka_zk.launch.ports import free_ports

    port, control = free_ports(2)
    cfg = tmp_path / "server.properties"
    cfg.write_text(f"zookeeper.connect={zk_chroot}\nlog.dirs={tmp_path / 'data'}\n"
                   f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{control}\n")
    zk = KafkaZkClient(zk_chroot, session_timeout_ms=10000).start()
    try:
        for _ in range(2):
            proc = subprocess.Popen([sys.executable, "-m", "kafka_zk", "broker", "--config", str(cfg)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                wait_until(lambda: zk.get_broker_ids() == [1001], timeout=30, message="no broker 1001 registered")
            finally:
                proc.terminate()
                proc.wait(timeout=60)
            wait_until(lambda: zk.get_broker_ids() == [], timeout=30)
        assert "broker.id=1001" in (tmp_path / "data" / "meta.properties").read_text()
    finally:
        zk.close()
