"""kafka_zk.testing as a user's test suite uses it: the pytest plugin's fixtures and the context manager."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

from kafka_zk.testing import kafka_cluster

USER_TESTS = '''
import uuid

import confluent_kafka


def test_round_trip_on_the_session_cluster(kafka_zk_cluster):
    topic = f"user-{uuid.uuid4().hex[:8]}"
    bs = kafka_zk_cluster.bootstrap_servers
    p = confluent_kafka.Producer({"bootstrap.servers": bs, "acks": "all"})
    for i in range(20):
        p.produce(topic, f"v{i}".encode(), key=f"k{i}".encode())
    assert p.flush(30) == 0
    c = confluent_kafka.Consumer({"bootstrap.servers": bs, "group.id": "g-" + topic,
                                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    for _ in range(100):
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m.value())
        if len(got) == 20:
            break
    c.close()
    assert sorted(got) == sorted(f"v{i}".encode() for i in range(20))


def test_factory_cluster_survives_a_broker_kill(kafka_zk_cluster_factory):
    cluster = kafka_zk_cluster_factory(brokers=2)
    assert len(cluster.bootstrap_servers.split(",")) == 2
    cluster.kill(0, "TERM")  # controlled shutdown: its session closes, so the id is free at once
    cluster.start(0)
'''


def test_plugin_fixtures_in_a_users_suite(tmp_path: Path, zk_connect: str) -> None:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    env = {**os.environ, "KAFKA_ZK_CONNECT": zk_connect}
    # -p no:kafka_zk / -p module: the same plugin whether or not the entry point is installed yet.
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:kafka_zk", "-p", "no:cacheprovider",
                          "-p", "kafka_zk.testing.pytest_plugin", str(tmp_path / "test_user.py")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout


def test_the_package_registers_the_plugin_with_pytest() -> None:
    eps = [ep for ep in metadata.entry_points(group="pytest11") if ep.name == "kafka_zk"]
    assert [ep.value for ep in eps] == ["kafka_zk.testing.pytest_plugin"]


def test_context_manager_stops_everything_it_started(zk_connect: str) -> None:
    with kafka_cluster(1, zookeeper_at=zk_connect) as cluster:
        (broker,) = cluster.state.brokers.values()
        pid = broker.pid()
        assert pid is not None and broker.is_running()
    assert not broker.is_running()
