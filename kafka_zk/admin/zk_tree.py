"""``kafka-zk zk-tree --zookeeper HOST:PORT[/chroot] [PATH]``: print Kafka's ZooKeeper tree.

One line per znode with its payload exactly as stored (Kafka 2.x JSON), ``[ephemeral]`` and the data
``zkVersion`` when it is not 0; payloads that ``zk_layout`` cannot decode are flagged ``!!``. ``--json``
prints every znode with its decoded record instead. The ``/zookeeper`` subtree is hidden unless ``--all``.
"""

from __future__ import annotations

import argparse
import sys

from kafka_zk.admin.common import NO_ZOOKEEPER, add_zookeeper_argument, quiet_kazoo


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("zk-tree", help="print the ZooKeeper tree with decoded Kafka payloads",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_zookeeper_argument(p)
    p.add_argument("path", nargs="?", default="/", help="subtree to print (default: /)")
    p.add_argument("--json", action="store_true", help="JSON array of znodes with decoded records")
    p.add_argument("--all", action="store_true", help="include ZooKeeper's own /zookeeper subtree")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from zk_layout import KafkaZkClient, ZkLayoutError
    from zk_layout.tree import render_json, render_text, walk

    prog = "kafka-zk zk-tree"
    quiet_kazoo()
    if not args.zookeeper:
        print(f"{prog}: error: {NO_ZOOKEEPER}", file=sys.stderr)
        return 2
    path = args.path if args.path == "/" else "/" + args.path.strip("/")
    try:
        zk = KafkaZkClient(args.zookeeper, session_timeout_ms=6000, connection_timeout_ms=5000, create_chroot=False)
    except ValueError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    try:
        zk.start()
    except ZkLayoutError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    try:
        if zk.exists(path) is None:
            print(f"{prog}: error: no znode {path} on {args.zookeeper}", file=sys.stderr)
            return 1
        nodes = walk(zk, path, include_zookeeper=args.all)
        if args.json:
            print(render_json(nodes))
        else:
            for line in render_text(nodes):
                print(line)
        return 0
    finally:
        zk.close()
