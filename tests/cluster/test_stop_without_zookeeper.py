"""A broker whose ZooKeeper is gone still stops on SIGTERM.

A controlled shutdown starts by reading ``/controller``; with ZooKeeper unreachable that read waits for a
reconnect that may never come. Each attempt is bounded by ``controller.socket.timeout.ms``, after
``controlled.shutdown.max.retries`` the broker stops uncleanly (as Kafka's does once its retries are used
up), and a second SIGTERM gives up the controlled shutdown at once (``kafka-zk broker``'s documented
"second signal stops at once"). Each test runs its own ZooKeeper, since it kills it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from kafka_zk.launch.cluster import ClusterError, LocalCluster
from kafka_zk.launch.zookeeper import ZooKeeperServer
from tests.helpers import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def zookeeper(tmp_path: Path) -> Iterator[ZooKeeperServer]:
    with ZooKeeperServer(tmp_path / "zk") as zk:
        yield zk


def one_broker(zk: ZooKeeperServer, root: Path, overrides: dict[str, str]) -> LocalCluster:
    return LocalCluster(str(root / "cluster")).up(1, zookeeper=f"{zk.connect_string}/stop", overrides=overrides)


def log_of(cluster: LocalCluster) -> str:
    return Path(cluster.broker(0).log_path).read_text(errors="replace")


def sigterm_and_wait_for_exit(cluster: LocalCluster, timeout_s: float) -> None:
    try:
        cluster.kill(0, "TERM", timeout_s=timeout_s)
    except ClusterError as e:
        raise AssertionError(f"{e}; end of its log:\n{cluster.log_tail(0, 40)}") from None


def test_sigterm_gives_up_the_controlled_shutdown_after_its_bounded_retries(zookeeper: ZooKeeperServer,
                                                                           tmp_path: Path) -> None:
    cluster = one_broker(zookeeper, tmp_path, {"controller.socket.timeout.ms": "1500",
                                               "controlled.shutdown.max.retries": "2",
                                               "controlled.shutdown.retry.backoff.ms": "100"})
    try:
        zookeeper.kill(0)
        t0 = time.monotonic()
        sigterm_and_wait_for_exit(cluster, timeout_s=30)
        took = time.monotonic() - t0
        text = log_of(cluster)
        assert text.count("controlled shutdown request timed out") == 2, text[-3000:]
        assert "proceeding with unclean shutdown" in text and "broker stopped" in text, text[-3000:]
        assert took < 2 * 1.5 + 0.1 + 15, took  # two bounded attempts, then the rest of the stop
    finally:
        cluster.down(grace_s=5)


def test_a_second_sigterm_stops_at_once(zookeeper: ZooKeeperServer, tmp_path: Path) -> None:
    cluster = one_broker(zookeeper, tmp_path, {})  # Kafka's defaults: 3 attempts of up to 30 s each
    try:
        zookeeper.kill(0)
        cluster.kill(0, "TERM", wait=False)
        wait_until(lambda: "stopping broker" in log_of(cluster), timeout=10)
        time.sleep(0.5)
        assert cluster.broker(0).is_running()  # still trying to reach the controller
        sigterm_and_wait_for_exit(cluster, timeout_s=20)
        text = log_of(cluster)
        assert "giving up the controlled shutdown" in text and "broker stopped" in text, text[-3000:]
    finally:
        cluster.down(grace_s=5)
