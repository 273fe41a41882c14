"""``kafka-zk cluster up|status|kill|start|down``: a local cluster of real processes (see kafka_zk.launch.cluster)."""

from __future__ import annotations

import argparse
import sys

from kafka_zk.admin.common import quiet_kazoo
from kafka_zk.common.config import ConfigError, parse_kv_args
from kafka_zk.launch.cluster import ClusterError, LocalCluster

DEFAULT_DIR = "./run"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cluster", help="start and control a local cluster (ZooKeeper + broker processes)")
    csub = p.add_subparsers(dest="cluster_command", metavar="ACTION", parser_class=type(p))
    csub.required = True

    up = csub.add_parser("up", help="start ZooKeeper (unless given) and N brokers; wait until a controller is elected")
    up.add_argument("--brokers", type=int, default=3, help="number of brokers (default 3)")
    up.add_argument("--dir", default=DEFAULT_DIR, help=f"cluster directory (default {DEFAULT_DIR})")
    up.add_argument("--zookeeper", default=None, help="use this ZooKeeper (host:port[/chroot]) instead of starting one")
    up.add_argument("--override", action="append", default=[], metavar="K=V", help="broker config override (repeatable)")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the cluster (default 60)")
    up.set_defaults(func=_up)

    st = csub.add_parser("status", help="brokers, pids, ports and which one is the controller")
    st.add_argument("--dir", default=DEFAULT_DIR)
    st.set_defaults(func=_status)

    kill = csub.add_parser("kill", help="send a signal to one broker")
    kill.add_argument("--dir", default=DEFAULT_DIR)
    kill.add_argument("--broker", type=int, required=True)
    kill.add_argument("--signal", default="KILL", choices=("KILL", "TERM", "STOP", "CONT", "INT"))
    kill.set_defaults(func=_kill)

    start = csub.add_parser("start", help="restart a stopped broker with its data")
    start.add_argument("--dir", default=DEFAULT_DIR)
    start.add_argument("--broker", type=int, required=True)
    start.set_defaults(func=_start)

    down = csub.add_parser("down", help="stop every broker and the ZooKeeper this cluster started")
    down.add_argument("--dir", default=DEFAULT_DIR)
    down.set_defaults(func=_down)


def _fail(e: Exception) -> int:
    print(f"kafka-zk cluster: error: {e}", file=sys.stderr)
    return 1


def _up(args: argparse.Namespace) -> int:
    try:
        overrides = parse_kv_args(args.override, "--override")
    except ConfigError as e:
        print(f"kafka-zk cluster up: error: {e}", file=sys.stderr)
        return 2
    try:
        cluster = LocalCluster(args.dir).up(args.brokers, args.zookeeper, overrides, args.timeout)
    except ClusterError as e:
        return _fail(e)
    print(f"bootstrap.servers={cluster.bootstrap_servers}")
    print(f"zookeeper.connect={cluster.zookeeper_connect}")
    for b in cluster:
        if b.dashboard:
            print(f"broker {b.broker_id} dashboard: {b.dashboard}  (metrics: {b.dashboard}metrics)")
    return 0


def _status(args: argparse.Namespace) -> int:
    quiet_kazoo()
    try:
        rows = LocalCluster(args.dir).status()
    except ClusterError as e:
        return _fail(e)
    print(f"{'BROKER':<7}{'PID':<9}{'STATE':<10}{'REGISTERED':<12}{'LISTENER':<22}{'CONTROL':<22}CONTROLLER")
    for r in rows:
        state = "running" if r["running"] else "stopped"
        print(
            f"{r['broker']:<7}{r['pid'] or '-':<9}{state:<10}{'yes' if r['registered'] else 'no':<12}"
            f"{r['listener']:<22}{r['control']:<22}{'*' if r['controller'] else ''}"
        )
    return 0


def _kill(args: argparse.Namespace) -> int:
    try:
        LocalCluster(args.dir).kill(args.broker, args.signal)
    except ClusterError as e:
        return _fail(e)
    return 0


def _start(args: argparse.Namespace) -> int:
    try:
        pid = LocalCluster(args.dir).start(args.broker)
    except ClusterError as e:
        return _fail(e)
    print(f"broker {args.broker} started (pid {pid})")
    return 0


def _down(args: argparse.Namespace) -> int:
    quiet_kazoo()
    try:
        LocalCluster(args.dir).down()
    except ClusterError as e:
        return _fail(e)
    return 0
