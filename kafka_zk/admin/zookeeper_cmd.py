"""``kafka-zk zookeeper start|stop|status|init``: a real ZooKeeper for development and tests.

``start`` prints one machine-readable line, ``zookeeper.connect=127.0.0.1:PORT[,...]``, and leaves the
server(s) running under ``--dir``; ``stop --dir`` stops what ``start`` started there (by its pid files);
``init`` creates the persistent znodes a Kafka 2.x broker creates at startup, and the cluster id.
"""

from __future__ import annotations

import argparse
import sys

from kafka_zk.launch import zookeeper as zk_launch

DEFAULT_DIR = "run/zookeeper"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("zookeeper", help="start/stop a real ZooKeeper (standalone or ensemble of 3)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="zk_command", metavar="ACTION", parser_class=type(p))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    start = sub.add_parser("start", help="start ZooKeeper under --dir and print zookeeper.connect=...")
    start.add_argument("--dir", default=DEFAULT_DIR, help=f"data, logs and pid files (default: {DEFAULT_DIR})")
    start.add_argument("--port", type=int, default=None, help="client port (ensemble: first of N consecutive); default: a free port")
    start.add_argument("--ensemble", type=int, default=1, choices=(1, 3), help="number of servers (1 or 3)")
    start.add_argument("--timeout", type=float, default=60.0, help="seconds to wait until it serves (default 60)")
    start.set_defaults(func=_start)

    stop = sub.add_parser("stop", help="stop the ZooKeeper started under --dir")
    stop.add_argument("--dir", default=DEFAULT_DIR, help=f"the directory given to start (default: {DEFAULT_DIR})")
    stop.set_defaults(func=_stop)

    status = sub.add_parser("status", help="print the connect string and each server's mode")
    status.add_argument("--dir", default=DEFAULT_DIR, help=f"the directory given to start (default: {DEFAULT_DIR})")
    status.set_defaults(func=_status)

    init = sub.add_parser("init", help="create Kafka's persistent znodes and the cluster id (as a broker does at startup)")
    init.add_argument("--zookeeper", required=True, metavar="HOST:PORT[/CHROOT]", help="ZooKeeper connect string")
    init.set_defaults(func=_init)


def _start(args: argparse.Namespace) -> int:
    if args.port is not None and not 0 < args.port < 65536:
        print(f"kafka-zk zookeeper start: error: --port {args.port} is not a TCP port (1-65535)", file=sys.stderr)
        return 2
    try:
        connect = zk_launch.start_zookeeper(args.dir, port=args.port, ensemble=args.ensemble,
                                            start_timeout_s=args.timeout)
    except zk_launch.ZooKeeperNotFound as e:
        print(f"kafka-zk zookeeper start: error: {e}", file=sys.stderr)
        return 1
    except zk_launch.ZooKeeperStartError as e:
        print(f"kafka-zk zookeeper start: error: {e}", file=sys.stderr)
        return 1
    print(f"zookeeper.connect={connect}", flush=True)
    return 0


def _stop(args: argparse.Namespace) -> int:
    n = zk_launch.stop_zookeeper(args.dir)
    print(f"stopped {n} ZooKeeper server(s) under {args.dir}" if n else f"no ZooKeeper running under {args.dir}")
    return 0


def _status(args: argparse.Namespace) -> int:
    connect = zk_launch.read_connect_string(args.dir)
    if connect is None:
        print(f"no ZooKeeper running under {args.dir}")
        return 1
    print(f"zookeeper.connect={connect}")
    for hostport in connect.split(","):
        port = int(hostport.rsplit(":", 1)[1])
        print(f"{hostport} mode={zk_launch.server_mode(port) or 'not serving'}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from kafka_zk.admin.common import quiet_kazoo
    from zk_layout import KafkaZkClient, ZkLayoutError

    quiet_kazoo()
    try:
        with KafkaZkClient(args.zookeeper, session_timeout_ms=6000, connection_timeout_ms=5000) as zk:
            zk.create_top_level_paths()
            cluster_id = zk.get_or_create_cluster_id()
    except ValueError as e:
        print(f"kafka-zk zookeeper init: error: {e}", file=sys.stderr)
        return 2
    except ZkLayoutError as e:
        print(f"kafka-zk zookeeper init: error: {e}", file=sys.stderr)
        return 1
    print(f"cluster.id={cluster_id}")
    return 0
