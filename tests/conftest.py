"""Shared fixtures: a real ZooKeeper for the whole session, a fresh chroot per test.

Where the ZooKeeper comes from:

* ``KAFKA_ZK_CONNECT=host:port[,...][/base]`` — an external ensemble you run yourself (wins over the rest);
* ``--zk=local`` (default) — a standalone server from this machine's ZooKeeper (Debian ``zookeeper``
  package or ``ZOOKEEPER_HOME``), started in a temporary directory and stopped at the end of the session;
* ``--zk=container`` — testcontainers' official ``zookeeper`` image; skipped with a reason when no Docker
  engine is reachable.

Fixtures: ``zk_connect`` (session) → ``"127.0.0.1:PORT"``; ``zk_chroot`` → ``"127.0.0.1:PORT/test-<id>"``, a
chroot created for the test and deleted after it, so tests never see each other's znodes; ``zk`` → a started
``zk_layout.KafkaZkClient`` on that chroot (6 s session), closed after the test.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from kazoo.exceptions import NotEmptyError

# Tests import their helpers as ``from helpers import ...`` (tests/ is on sys.path under pytest's default
# rootdir-based import mode) or ``from tests.helpers import ...``; make both work.
_TESTS = Path(__file__).resolve().parent
for p in (str(_TESTS), str(_TESTS.parent)):
    if p not in sys.path:
        sys.path.insert(0, p)

from zk_layout import KafkaZkClient


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--zk",
        choices=("local", "container"),
        default="local",
        help="where the test ZooKeeper comes from: 'local' (Debian package / ZOOKEEPER_HOME, default) or "
        "'container' (testcontainers' zookeeper image). KAFKA_ZK_CONNECT=host:port overrides both.",
    )


def _local_zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from kafka_zk.launch.zookeeper import ZooKeeperNotFound, ZooKeeperServer

    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper"))
    try:
        server.start()
    except ZooKeeperNotFound as e:
        pytest.fail(f"the test suite needs a real ZooKeeper: {e} (or set KAFKA_ZK_CONNECT, or use --zk=container)",
                    pytrace=False)
    try:
        yield server.connect_string
    finally:
        server.stop()


def _container_zookeeper() -> Iterator[str]:
    from kafka_zk.testing.clusters import DockerUnavailable, zookeeper

    try:
        with zookeeper("container") as connect:
            yield connect
    except DockerUnavailable as e:
        pytest.skip(f"--zk=container: {e}")


@pytest.fixture(scope="session")
def zk_connect(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Connect string of the session's real ZooKeeper (no chroot, unless KAFKA_ZK_CONNECT has one)."""
    external = os.environ.get("KAFKA_ZK_CONNECT")
    if external:
        yield external.rstrip("/")
    elif request.config.getoption("--zk") == "container":
        yield from _container_zookeeper()
    else:
        yield from _local_zookeeper(tmp_path_factory)


@pytest.fixture(scope="session")
def _zk_admin(zk_connect: str) -> Iterator[KafkaZkClient]:
    client = KafkaZkClient(zk_connect, session_timeout_ms=30000).start(timeout_s=30)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def zk_chroot(zk_connect: str, _zk_admin: KafkaZkClient) -> Iterator[str]:
    """``<zk_connect>/test-<id>``: a chroot of this test's own, removed after the test."""
    name = f"/test-{uuid.uuid4().hex[:12]}"
    _zk_admin.ensure_path(name)
    try:
        yield f"{zk_connect}{name}"
    finally:
        for _ in range(20):  # a client the test forgot to close may still be writing
            try:
                _zk_admin.delete_recursive(name)
                break
            except NotEmptyError:
                time.sleep(0.05)


@pytest.fixture
def zk(zk_chroot: str) -> Iterator[KafkaZkClient]:
    """A started ``KafkaZkClient`` on this test's chroot (6 s session timeout)."""
    client = KafkaZkClient(zk_chroot, session_timeout_ms=6000).start()
    try:
        yield client
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------------------
# Clusters of real broker processes (kafka_zk.launch.cluster.LocalCluster) under the session's ZooKeeper.

#: Overrides every test cluster gets: quicker failure detection and group start than Kafka's production
#: defaults (a 6 s ZooKeeper session is Kafka 2.0-2.4's default), fewer offsets-topic partitions.
#: The initial rebalance delay stays above zero, as in Kafka (3 s): with none, the first member forms a
#: generation alone before its metadata knows the topic and must rejoin at once, which provokes a
#: kafka-python 3.0 client race (see docs/consumer-groups.md, "Known client issues").
TEST_CLUSTER_OVERRIDES = {
    "zookeeper.session.timeout.ms": "6000",
    "group.initial.rebalance.delay.ms": "1000",
    "offsets.topic.num.partitions": "5",
    "controlled.shutdown.retry.backoff.ms": "500",
    "auto.leader.rebalance.enable": "false",
}


@pytest.fixture
def cluster_factory(zk_connect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """``make(brokers=3, overrides=None) -> LocalCluster``: start a cluster of real broker processes in a fresh
    ZooKeeper chroot; every cluster made is stopped (SIGTERM, then SIGKILL) when the test ends."""
    from kafka_zk.launch.cluster import LocalCluster

    made: list[LocalCluster] = []

    def make(brokers: int = 3, overrides: dict[str, str] | None = None, timeout_s: float = 60.0) -> LocalCluster:
        directory = tmp_path_factory.mktemp("cluster")
        chroot = f"/cluster-{uuid.uuid4().hex[:10]}"
        cluster = LocalCluster(directory)
        made.append(cluster)
        cluster.up(brokers, zookeeper=zk_connect + chroot, overrides={**TEST_CLUSTER_OVERRIDES, **(overrides or {})},
                   timeout_s=timeout_s)
        return cluster

    try:
        yield make
    finally:
        for c in made:
            try:
                c.down(grace_s=15)
            except Exception as e:  # a cluster that never came up has nothing to stop
                print(f"cluster teardown: {e}", file=sys.stderr)


@pytest.fixture(scope="module")
def shared_cluster(zk_connect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One 3-broker cluster shared by the tests of a module (they must use distinct topic/group names and
    must not kill brokers)."""
    from kafka_zk.launch.cluster import LocalCluster

    cluster = LocalCluster(tmp_path_factory.mktemp("shared-cluster"))
    try:
        cluster.up(3, zookeeper=f"{zk_connect}/shared-{uuid.uuid4().hex[:10]}", overrides=TEST_CLUSTER_OVERRIDES)
        yield cluster
    finally:
        cluster.down(grace_s=15)
