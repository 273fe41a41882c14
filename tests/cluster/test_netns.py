"""Brokers on separate hosts: each broker in its own network namespace with its own address, a 3-server
ZooKeeper ensemble on the "host", clients from the host. Cutting one broker's link must look to the
controller exactly like a crash: its session expires, it is deregistered, its leaderships move, it leaves
every ISR, and writes with acks=all keep working. With the link back it re-registers and catches up.

Needs root and network namespaces (``ip netns``, veth, a bridge); skips with the reason otherwise. Every
address used lives inside namespaces and a bridge this test creates (and removes)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from kafka_zk.launch.cluster import brokers_see_cluster
from kafka_zk.launch.zookeeper import ZooKeeperEnsemble
from tests.helpers import wait_until
from zk_layout import KafkaZkClient
from zk_layout.znodes import TopicPartition as ZkTp

BROKERS = 3


def _ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + ["ip", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def _netns_unavailable() -> str | None:
    if shutil.which("ip") is None:
        return "the 'ip' command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"kzp{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


pytestmark = pytest.mark.skipif(bool(_netns_unavailable()), reason=_netns_unavailable() or "")


class Hosts:
    """A bridge on the host (``.1``) and one namespace per broker (``.11``, ``.12``, ...), each joined by a
    veth pair whose host end can be taken down to cut that broker off."""

    def __init__(self, count: int) -> None:
        tag = uuid.uuid4().hex[:5]
        self.subnet = f"10.213.{random.randrange(1, 250)}"
        self.bridge = f"kzbr{tag}"
        self.namespaces = [f"kz{tag}b{i}" for i in range(count)]
        self.host_ends = [f"kzv{tag}b{i}" for i in range(count)]

    @property
    def host_address(self) -> str:
        return f"{self.subnet}.1"

    def address(self, i: int) -> str:
        return f"{self.subnet}.{11 + i}"

    def create(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.host_address}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, (ns, end) in enumerate(zip(self.namespaces, self.host_ends)):
            subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
            _ip("link", "add", end, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("link", "set", end, "master", self.bridge)
            _ip("link", "set", end, "up")
            _ip("link", "set", "lo", "up", ns=ns)
            _ip("addr", "add", f"{self.address(i)}/24", "dev", "eth0", ns=ns)
            _ip("link", "set", "eth0", "up", ns=ns)
            _ip("route", "add", "default", "via", self.host_address, ns=ns)

    def cut(self, i: int) -> None:
        _ip("link", "set", self.host_ends[i], "down")

    def restore(self, i: int) -> None:
        _ip("link", "set", self.host_ends[i], "up")

    def destroy(self) -> None:
        for ns, end in zip(self.namespaces, self.host_ends):
            _ip("link", "del", end, check=False)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        _ip("link", "del", self.bridge, check=False)


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    h = Hosts(BROKERS)
    try:
        h.create()
        yield h
    finally:
        h.destroy()


def _start_broker(hosts: Hosts, i: int, zk_connect: str, root: Path) -> subprocess.Popen[bytes]:
    d = root / f"broker-{i}"
    (d / "data").mkdir(parents=True, exist_ok=True)
    addr = hosts.address(i)
    props = {
        "broker.id": str(i),
        "zookeeper.connect": zk_connect,
        "zookeeper.session.timeout.ms": "6000",
        "listeners": f"PLAINTEXT://{addr}:9092,CONTROLLER://{addr}:9093",
        "log.dirs": str(d / "data"),
        "offsets.topic.num.partitions": "3",
        "replica.lag.time.max.ms": "5000",
        "auto.leader.rebalance.enable": "false",
    }
    (d / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    log = open(d / "broker.log", "ab")
    try:
        return subprocess.Popen(["ip", "netns", "exec", hosts.namespaces[i], sys.executable, "-m", "kafka_zk",
                                 "broker", "--config", str(d / "server.properties")],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    finally:
        log.close()


def test_a_broker_cut_off_is_failed_over_like_a_crash_and_rejoins(hosts: Hosts, tmp_path: Path) -> None:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    ensemble = ZooKeeperEnsemble(tmp_path / "zookeeper", size=3, client_address=hosts.host_address)
    ensemble.start()
    procs: list[subprocess.Popen[bytes]] = []
    clients: list[Any] = []
    zk = None
    try:
        connect = ensemble.connect_string + "/kafka"
        zk = KafkaZkClient(connect, session_timeout_ms=10000).start(timeout_s=30)
        procs = [_start_broker(hosts, i, connect, tmp_path) for i in range(BROKERS)]
        wait_until(lambda: sorted(zk.get_broker_ids()) == list(range(BROKERS)) and zk.get_controller_id() is not None,
                   timeout=60, message="every broker registered and a controller elected")
        wait_until(lambda: all(brokers_see_cluster([(hosts.address(i), 9092) for i in range(BROKERS)],
                                                   set(range(BROKERS)))),
                   timeout=30, message="every broker's metadata names the whole cluster and its controller")
        bootstrap = ",".join(f"{hosts.address(i)}:9092" for i in range(BROKERS))
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("spread", 3, 3)])["spread"].result(30)
        del admin  # (librdkafka clients are destroyed with their last reference)
        tps = [ZkTp("spread", p) for p in range(3)]
        wait_until(lambda: len(zk.get_partition_states(tps)) == 3, timeout=30)

        controller = zk.get_controller_id()
        victim = next(b for b in range(BROKERS) if b != controller)
        led_by_victim = [tp for tp, (st, _) in zk.get_partition_states(tps).items() if st.leader == victim]
        assert led_by_victim, "modulo placement gives every broker a partition to lead"

        acked: list[tuple[int, int]] = []
        errors: list[object] = []

        def produce(n: int, start: int) -> None:
            # A fresh client each time: this test is about the controller, not about how fast a client
            # that was talking to the cut-off broker gives up on it.
            producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                 "socket.connection.setup.timeout.ms": 3000})
            clients.append(producer)

            def delivered(err: object, msg: object) -> None:
                if err is not None:
                    errors.append(err)
                else:
                    acked.append((msg.partition(), msg.offset()))  # type: ignore[attr-defined]
            for i in range(start, start + n):
                producer.produce("spread", f"v{i}".encode(), key=f"k{i}".encode(), on_delivery=delivered)
            assert producer.flush(60) == 0 and not errors, errors

        produce(30, 0)

        cut_at = time.monotonic()
        hosts.cut(victim)
        wait_until(lambda: victim not in zk.get_broker_ids(), timeout=30,
                   message=f"broker {victim} deregistered after its session expired")
        detected = time.monotonic() - cut_at

        def failed_over() -> bool:
            states = zk.get_partition_states(tps)
            return all(st.leader != victim and victim not in st.isr for st, _ in states.values())
        wait_until(failed_over, timeout=30, message=f"leaderships and ISR membership moved off broker {victim}")
        assert 4 <= detected <= 20, f"the controller reacted to the cut after {detected:.1f}s (session 6 s)"
        assert zk.get_controller_id() == controller, "cutting a non-controller does not move the controller"
        for tp in led_by_victim:
            st, _ = zk.get_partition_states([tp])[tp]
            assert st.leader_epoch >= 1, "a new leader was elected, with a higher leader epoch"

        produce(30, 30)  # acks=all with the two remaining replicas in sync

        hosts.restore(victim)
        wait_until(lambda: victim in zk.get_broker_ids(), timeout=45, message=f"broker {victim} registered again")
        wait_until(lambda: all(victim in st.isr for st, _ in zk.get_partition_states(tps).values()), timeout=45,
                   message=f"broker {victim} back in every ISR")

        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}",
                             "auto.offset.reset": "earliest"})
        clients.append(consumer)
        consumer.subscribe(["spread"])
        seen: set[tuple[int, int]] = set()
        deadline = time.monotonic() + 60
        while len(seen) < len(acked) and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is not None and m.error() is None:
                seen.add((m.partition(), m.offset()))
        assert set(acked) <= seen, f"{len(set(acked) - seen)} acknowledged records missing"
    finally:
        # Every client stops before the namespaces go: nothing may keep sending to their addresses.
        for c in clients:
            if hasattr(c, "purge"):
                c.purge()
                c.flush(0)
            else:
                c.close()
        clients.clear()
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=30)
        if zk is not None:
            zk.close()
        ensemble.stop()
