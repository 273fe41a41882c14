#!/usr/bin/env python3
"""Controller scale with a real ZooKeeper and real broker processes: the three figures of issue 13.

One ZooKeeper, three brokers (``zookeeper.session.timeout.ms=6000``, auto leader rebalance off):

1. **topic creation** — CreateTopics (confluent-kafka's AdminClient) of one topic with ``--partitions``
   (1,000) partitions, RF 2, every partition led by one broker (the *victim*, never the controller).
   Timed from the request to the controller's ``topic.created`` event (new-partition state changes written
   to ZooKeeper and LeaderAndIsr/UpdateMetadata handed to the control channel), and to every partition
   having a leader in a client's metadata. Target < 1 s.
2. **failover of the victim's leaders** — once every ISR is full, SIGKILL the victim; its ZooKeeper session
   expires after the session timeout and its ``/brokers/ids/<id>`` goes away. Timed from this process
   seeing that deletion (a watch on ``/brokers/ids``) to the controller's ``broker.failure_handled`` event
   (every leader re-elected in ZooKeeper and sent). Target < 0.5 s for 1,000 leaders (Kafka: ~5 ms per
   partition). The victim is restarted afterwards.
3. **new controller initialising ``--init-partitions`` (10,000) partitions** — more topics (RF 1, not on
   the victim) up to that many partitions, then ``/controller`` is deleted (what ``triggerControllerMove``
   does). Timed from the deletion to the new controller's ``controller.failover_done`` event, and that
   event's own ``duration_ms`` (from winning the election). Target < 2 s.

Events are read from the controller's control listener (``GET /events``), with the wall clock both there
and here (same machine). Usage::

    python tools/bench_controller.py [--partitions 1000] [--init-partitions 10000] [--skip failover,init]

``--py-spy DIR`` samples the controller's broker with py-spy during each figure and leaves collapsed stacks
(``DIR/<figure>.txt``, flamegraph input) there. Numbers depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from typing import Any, Callable, Iterator

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from confluent_kafka.admin import AdminClient, NewTopic

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.waiting import WaitTimeout, wait_until
from kafka_zk.launch.cluster import LocalCluster
from kafka_zk.launch.zookeeper import ZooKeeperServer
from zk_layout import KafkaZkClient, paths

OVERRIDES = {
    "zookeeper.session.timeout.ms": "6000",
    "auto.leader.rebalance.enable": "false",
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "1",
    "kafka_zk.events.capacity": "100000",
}
TOPIC_CHUNK = 1000  # filler topics for the initialisation figure have this many partitions each


def events(cluster: LocalCluster, broker_id: int, kind: str, since: int = 0) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{cluster.broker(broker_id).control_port}/events?kind={kind}&since={since}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        got: list[dict[str, Any]] = json.loads(resp.read())
    return got


def last_seq(cluster: LocalCluster, broker_id: int) -> int:
    got = events(cluster, broker_id, "", 0)
    return int(got[-1]["seq"]) if got else 0


def wait_for(cond: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.05) -> Any:
    try:
        return wait_until(cond, timeout_s, what, interval_s)
    except WaitTimeout as e:
        raise SystemExit(str(e)) from None


def wait_event(cluster: LocalCluster, kind: str, timeout_s: float, since_by_broker: dict[int, int],
               match: Callable[[dict[str, Any]], bool] = lambda e: True) -> dict[str, Any]:
    """The first event of ``kind`` after ``since_by_broker`` on any running broker."""

    def find() -> dict[str, Any] | None:
        for bid, since in since_by_broker.items():
            if not cluster.broker(bid).is_running():
                continue
            try:
                for e in events(cluster, bid, kind, since):
                    if e["kind"] == kind and match(e):
                        return e
            except OSError:
                continue
        return None

    return wait_for(find, timeout_s, f"event {kind}", 0.1)  # type: ignore[no-any-return]


PY_SPY_DIR: str | None = None


@contextlib.contextmanager
def sampled(cluster: LocalCluster, broker_id: int, figure: str) -> Iterator[None]:
    """py-spy on ``broker_id`` for the duration of the block (when ``--py-spy`` is given)."""
    pid = cluster.broker(broker_id).pid()
    if PY_SPY_DIR is None or pid is None:
        yield
        return
    exe = os.path.join(os.path.dirname(sys.executable), "py-spy")
    out = os.path.join(PY_SPY_DIR, f"{figure}.txt")
    proc = subprocess.Popen([exe, "record", "-p", str(pid), "-r", "250", "-f", "raw", "-o", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


def controller(cluster: LocalCluster) -> int:
    got: list[int] = wait_for(lambda: [i for i in [cluster.controller_id()] if i is not None], 60, "a controller")
    return got[0]


def create(admin: AdminClient, topic: str, assignment: list[list[int]]) -> None:
    admin.create_topics([NewTopic(topic, len(assignment), -1, replica_assignment=assignment)], request_timeout=120)[topic].result(180)


def leaders_known(admin: AdminClient, topic: str, n: int, isr: int = 1) -> bool:
    md = admin.list_topics(topic, timeout=30).topics.get(topic)
    if md is None or md.error is not None or len(md.partitions) < n:
        return False
    return all(p.leader >= 0 and len(p.isrs) >= isr for p in md.partitions.values())


def bench_create(cluster: LocalCluster, admin: AdminClient, topic: str, n: int, victim: int, other: int) -> None:
    ctl = controller(cluster)
    since = {b.broker_id: last_seq(cluster, b.broker_id) for b in cluster}
    with sampled(cluster, ctl, "create"):
        t0 = time.time()
        create(admin, topic, [[victim, other]] * n)
        t_acked = time.time()
        e = wait_event(cluster, kinds.TOPIC_CREATED, 120, {ctl: since[ctl]}, lambda e: e.get("topic") == topic)
    wait_for(lambda: leaders_known(admin, topic, n), 300, f"leaders of {topic}", 0.02)
    t_meta = time.time()
    ms = e["time_ms"] - t0 * 1000
    print(f"create {n:,}-partition topic (RF 2)       : controller done {ms:8.1f} ms   "
          f"CreateTopics answered {1000 * (t_acked - t0):8.1f} ms   all leaders in metadata "
          f"{1000 * (t_meta - t0):8.1f} ms   target < 1000 ms {'MET' if ms < 1000 else 'MISSED'}")


def bench_failover(cluster: LocalCluster, zk: KafkaZkClient, admin: AdminClient, topic: str, n: int,
                   victim: int) -> None:
    wait_for(lambda: leaders_known(admin, topic, n, isr=2), 600, f"full ISRs of {topic}", 0.5)
    ctl = controller(cluster)
    since = {ctl: last_seq(cluster, ctl)}
    gone = threading.Event()
    seen_at: list[float] = []

    def on_children(children: list[str]) -> None:
        if str(victim) not in children and not gone.is_set():
            seen_at.append(time.time())
            gone.set()

    watch = zk.watch_children(paths.BROKER_IDS, on_children)
    with sampled(cluster, ctl, "failover"):
        try:
            pid = cluster.broker(victim).pid()
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            if not gone.wait(60):
                raise SystemExit(f"broker {victim}'s registration did not go away within 60 s")
        finally:
            watch.cancel()
        e = wait_event(cluster, kinds.BROKER_FAILURE_HANDLED, 120, since, lambda e: victim in e.get("brokers", []))
    ms = e["time_ms"] - seen_at[0] * 1000
    wait_for(lambda: leaders_known(admin, topic, n), 300, f"new leaders of {topic}", 0.02)
    t_meta = time.time()
    print(f"failover of {e['leaders_elected']:,} leaders (session expiry)  : controller done {ms:8.1f} ms   "
          f"(its own timing {e['duration_ms']:8.1f} ms)   new leaders in metadata "
          f"{1000 * (t_meta - seen_at[0]):8.1f} ms   target < 500 ms {'MET' if ms < 500 else 'MISSED'}")
    cluster.start(victim)
    cluster.wait_until_ready(120)


def bench_init(cluster: LocalCluster, zk: KafkaZkClient, admin: AdminClient, have: int, total: int,
               hosts: list[int]) -> None:
    i = 0
    while have < total:
        n = min(TOPIC_CHUNK, total - have)
        topic = f"filler-{i}"
        create(admin, topic, [[hosts[(have + p) % len(hosts)]] for p in range(n)])
        wait_for(lambda t=topic, n=n: leaders_known(admin, t, n), 600, f"leaders of {topic}", 0.2)  # type: ignore[misc]
        have += n
        i += 1
    time.sleep(2)  # let LeaderAndIsr responses and metadata settle
    since = {b.broker_id: last_seq(cluster, b.broker_id) for b in cluster}
    with contextlib.ExitStack() as stack:
        for b in cluster:  # which broker wins the election is not known in advance
            stack.enter_context(sampled(cluster, b.broker_id, f"init-broker-{b.broker_id}"))
        t0 = time.time()
        zk.delete_recursive(paths.CONTROLLER)
        e = wait_event(cluster, kinds.CONTROLLER_FAILOVER_DONE, 300, since)
    ms = e["time_ms"] - t0 * 1000
    print(f"new controller initialising {e['partitions']:,} partitions: done {ms:8.1f} ms after /controller "
          f"deletion   (its own timing {e['duration_ms']:8.1f} ms, broker {e['controller']})   "
          f"target < 2000 ms {'MET' if e['duration_ms'] < 2000 else 'MISSED'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--partitions", type=int, default=1000, help="partitions of the created/failed-over topic")
    ap.add_argument("--init-partitions", type=int, default=10_000, help="partitions the new controller loads")
    ap.add_argument("--py-spy", default=None, metavar="DIR", help="sample the controller with py-spy into DIR")
    ap.add_argument("--skip", default="", help="comma list of figures to skip: create,failover,init")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    global PY_SPY_DIR
    if args.py_spy:
        PY_SPY_DIR = os.path.abspath(args.py_spy)
        os.makedirs(PY_SPY_DIR, exist_ok=True)
    root = tempfile.mkdtemp(prefix="kz-bench-ctl-")
    zk_server = ZooKeeperServer(os.path.join(root, "zookeeper")).start()
    cluster = LocalCluster(os.path.join(root, "cluster"))
    chroot = f"{zk_server.connect_string}/bench-{uuid.uuid4().hex[:8]}"
    try:
        cluster.up(3, zookeeper=chroot, overrides=OVERRIDES, timeout_s=120)
        zk = KafkaZkClient(chroot).start()
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})
        ctl = controller(cluster)
        victim, other = [b.broker_id for b in cluster if b.broker_id != ctl][:2]
        print(f"3 brokers, controller {ctl}, victim {victim}; {args.partitions:,} partitions; "
              f"init {args.init_partitions:,} partitions")
        topic = "bench-1000"
        bench_create(cluster, admin, topic, args.partitions, victim, other)
        if "failover" not in skip:
            bench_failover(cluster, zk, admin, topic, args.partitions, victim)
        if "init" not in skip:
            hosts = [b.broker_id for b in cluster if b.broker_id != victim]
            bench_init(cluster, zk, admin, args.partitions, args.init_partitions, hosts)
        zk.close()
    finally:
        cluster.down()
        zk_server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
