"""The ``kafka-zk`` command line.

Each subcommand lives in its own module under ``kafka_zk.admin`` and exposes
``register(subparsers) -> None``, which adds its parser and sets ``func`` (``args -> int`` exit code).
A bad argument is one line on stderr (what is wrong, what would be right) and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from kafka_zk import __version__
from kafka_zk.common.config import ConfigError
from kafka_zk.common.logging import configure

# Subcommand modules, in the order `kafka-zk --help` lists them.
SUBCOMMAND_MODULES = (
    "cluster_cmd",
    "broker_cmd",
    "topics",
    "consumer_groups",
    "console",
    "produce_consume",
    "perf_test",
    "leader_election",
    "reassign_partitions",
    "zookeeper_cmd",
    "zk_tree",
    "lab_cmd",
    "dump_log",
    "configs",
    "delete_records",
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``kafka-zk topics: error: ...`` and exit 2, no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kafka-zk", description="A ZooKeeper-era Kafka cluster in Python.")
    parser.add_argument("--version", action="version", version=f"kafka-zk {__version__}")
    parser.add_argument("--log-level", default=None, help="log level (default: WARNING for tools, INFO for brokers)")
    parser.add_argument("--log-format", default="logfmt", choices=("logfmt", "json"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"kafka_zk.admin.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    configure(args.log_level or getattr(args, "default_log_level", "WARNING"), args.log_format)
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(f"kafka-zk {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
