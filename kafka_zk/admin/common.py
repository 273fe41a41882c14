"""What several ``kafka-zk`` subcommands share: the one-line usage error and the ``--zookeeper`` option."""

from __future__ import annotations

import argparse
import logging
import os

NO_ZOOKEEPER = "no ZooKeeper given (use --zookeeper HOST:PORT[/chroot] or set KAFKA_ZK_CONNECT)"


class UsageError(Exception):
    """A bad argument or input file: printed as one line, exit code 2."""


def add_zookeeper_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--zookeeper", default=os.environ.get("KAFKA_ZK_CONNECT"), metavar="HOST:PORT[/CHROOT]",
                        help="ZooKeeper connect string (default: $KAFKA_ZK_CONNECT)")


def require_zookeeper(args: argparse.Namespace) -> str:
    """The ``--zookeeper`` value; UsageError when neither it nor KAFKA_ZK_CONNECT is given."""
    if not args.zookeeper:
        raise UsageError(NO_ZOOKEEPER)
    return str(args.zookeeper)


def quiet_kazoo() -> None:
    """A one-shot tool reports a connection failure itself, in one line; kazoo's per-retry warnings are noise."""
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("kazoo").setLevel(logging.CRITICAL)
