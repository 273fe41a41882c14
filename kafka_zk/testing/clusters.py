"""The context managers behind :mod:`kafka_zk.testing` (see there)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping

from kafka_zk.launch.cluster import LocalCluster
from kafka_zk.launch.ports import LOCALHOST, free_ports
from kafka_zk.launch.zookeeper import ZooKeeperServer, server_mode

ZOOKEEPER_IMAGE = "zookeeper:3.8"
BROKER_IMAGE = "kafka-zk:latest"

#: Failures noticed in seconds, groups formed at once: what a test wants, not Kafka's production defaults.
TEST_OVERRIDES: Mapping[str, str] = {
    "zookeeper.session.timeout.ms": "6000",
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "5",
    "controlled.shutdown.retry.backoff.ms": "500",
}


class DockerUnavailable(RuntimeError):
    """No Docker engine answers (no SDK, no socket, daemon down); the message says which."""


def docker_client() -> Any:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env()
        client.ping()
        return client
    except Exception as e:  # what fails differs per machine; the reason is in the message
        raise DockerUnavailable(f"no Docker engine reachable ({type(e).__name__}: {e})") from None


@contextlib.contextmanager
def zookeeper(where: str | None = None, directory: str | os.PathLike[str] | None = None) -> Iterator[str]:
    """A ZooKeeper for the duration of the block; yields its connect string (no chroot).

    ``where``: ``"local"``, ``"container"``, a connect string, or None (``KAFKA_ZK_CONNECT`` if set, else
    local). Raises :class:`~kafka_zk.launch.zookeeper.ZooKeeperNotFound` (local, not installed) and
    :class:`DockerUnavailable` (container)."""
    where = where or os.environ.get("KAFKA_ZK_CONNECT") or "local"
    if where == "local":
        with _scratch(directory, "kafka-zk-zookeeper-") as d:
            server = ZooKeeperServer(d)
            server.start()
            try:
                yield server.connect_string
            finally:
                server.stop()
    elif where == "container":
        with _zookeeper_container() as connect:
            yield connect
    else:
        yield where


@contextlib.contextmanager
def _zookeeper_container(timeout_s: float = 60.0) -> Iterator[str]:
    docker_client()
    from testcontainers.core.container import DockerContainer  # type: ignore[import-untyped]

    container = (DockerContainer(ZOOKEEPER_IMAGE).with_exposed_ports(2181)
                 .with_env("ZOO_4LW_COMMANDS_WHITELIST", "*").with_env("ZOO_TICK_TIME", "200"))
    container.start()
    try:
        host, port = container.get_container_host_ip(), int(container.get_exposed_port(2181))
        deadline = time.monotonic() + timeout_s
        while server_mode(port, host) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {ZOOKEEPER_IMAGE} container did not serve within {timeout_s:g}s")
            time.sleep(0.2)
        yield f"{host}:{port}"
    finally:
        container.stop()


@contextlib.contextmanager
def _scratch(directory: str | os.PathLike[str] | None, prefix: str) -> Iterator[str]:
    if directory is not None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        yield str(directory)
        return
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def kafka_cluster(brokers: int = 3, overrides: Mapping[str, str] | None = None, *, zookeeper_at: str | None = None,
                  backend: str = "process", directory: str | os.PathLike[str] | None = None,
                  timeout_s: float = 60.0) -> Iterator[Any]:
    """A cluster of ``brokers`` brokers under a fresh ZooKeeper chroot; everything it started is stopped at
    the end. Yields a :class:`~kafka_zk.launch.cluster.LocalCluster` (``backend="process"``) or a
    :class:`ContainerCluster`; both have ``bootstrap_servers`` and ``zookeeper_connect``."""
    if backend not in ("process", "container"):
        raise ValueError(f"backend must be 'process' or 'container', got {backend!r}")
    settings = {**TEST_OVERRIDES, **(overrides or {})}
    chroot = f"/kafka-zk-{uuid.uuid4().hex[:10]}"
    with zookeeper(zookeeper_at) as zk:
        if backend == "container":
            with ContainerCluster(brokers, zk + chroot, settings) as cc:
                yield cc
            return
        with _scratch(directory, "kafka-zk-cluster-") as d:
            cluster = LocalCluster(d)
            try:
                cluster.up(brokers, zookeeper=zk + chroot, overrides=settings, timeout_s=timeout_s)
                yield cluster
            finally:
                with contextlib.suppress(Exception):  # a cluster that never came up has nothing to stop
                    cluster.down(grace_s=10.0)


class ContainerCluster:
    """Brokers as containers of :data:`BROKER_IMAGE`, each publishing its client port on the same loopback
    port number (so the advertised address works from the host) and reaching ZooKeeper through the host."""

    def __init__(self, brokers: int, zookeeper_connect: str, overrides: Mapping[str, str]) -> None:
        self.brokers = brokers
        self.zookeeper_connect = zookeeper_connect.replace(LOCALHOST, "host.docker.internal")
        self.overrides = dict(overrides)
        self.ports = free_ports(2 * brokers)
        self.containers: list[Any] = []

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{LOCALHOST}:{self.ports[2 * i]}" for i in range(self.brokers))

    def __enter__(self) -> "ContainerCluster":
        docker_client()
        from testcontainers.core.container import DockerContainer  # type: ignore[import-untyped]

        try:
            for i in range(self.brokers):
                port, control = self.ports[2 * i], self.ports[2 * i + 1]
                props = {
                    **self.overrides,
                    "broker.id": str(i),
                    "zookeeper.connect": self.zookeeper_connect,
                    "listeners": f"PLAINTEXT://0.0.0.0:{port},CONTROLLER://0.0.0.0:{control}",
                    "advertised.listeners": f"PLAINTEXT://{LOCALHOST}:{port},CONTROLLER://host.docker.internal:{control}",
                    "log.dirs": "/var/lib/kafka-zk/data",
                }
                args = ["broker", "--config", "/etc/kafka-zk/server.properties"]
                for k, v in props.items():
                    args += ["--override", f"{k}={v}"]
                c = (DockerContainer(BROKER_IMAGE).with_command(args).with_bind_ports(port, port)
                     .with_bind_ports(control, control)
                     .with_kwargs(extra_hosts={"host.docker.internal": "host-gateway"}))
                c.start()
                self.containers.append(c)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for c in self.containers:
            with contextlib.suppress(Exception):
                c.stop()
        self.containers.clear()


def build_broker_image(repo: str | os.PathLike[str]) -> None:
    """``docker build -t kafka-zk:latest REPO`` (raises CalledProcessError with docker's output)."""
    subprocess.run(["docker", "build", "-t", BROKER_IMAGE, str(repo)], check=True, capture_output=True, text=True)
