"""``kafka-zk produce`` / ``consume``: the short spellings of ``console-producer`` / ``console-consumer``.

They run the same code (:mod:`kafka_zk.admin.console`) with the short flags they always had, mapped to
Kafka's: ``--key-separator SEP`` = ``--property parse.key=true --property key.separator=SEP`` (producer) or
the separator for ``--print-key`` (consumer, default TAB); ``--acks`` = ``--producer-property acks=``;
``--compression-type``, ``--linger-ms`` (default 5); ``--timeout`` seconds for metadata and deliveries.
``produce --partition P`` sends every record to P; ``consume --group G --partition P`` is allowed (Kafka's
console consumer refuses that pair). See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import sys

from kafka_zk.admin.console import ConsumeOptions, ProduceOptions, consume, error, produce
from kafka_zk.admin.message_format import LineReader, MessageFormatter

PRODUCE = "kafka-zk produce"
CONSUME = "kafka-zk consume"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("produce", help="send stdin lines as records (short form of console-producer)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT[,...]")
    p.add_argument("--topic", required=True)
    p.add_argument("--key-separator", metavar="SEP", help="lines are KEY<SEP>VALUE (split at the first SEP)")
    p.add_argument("--partition", type=int, help="send every record to this partition")
    p.add_argument("--acks", default="1", choices=("0", "1", "-1", "all"), help="acks (default 1)")
    p.add_argument("--compression-type", default="none", choices=("none", "gzip", "snappy", "lz4", "zstd"))
    p.add_argument("--linger-ms", type=int, default=5, help="batching delay in ms (default 5)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to wait for metadata and deliveries (default 30)")
    p.set_defaults(func=run_produce)

    c = subparsers.add_parser("consume", help="print a topic's records (short form of console-consumer)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT[,...]")
    c.add_argument("--topic", required=True)
    c.add_argument("--from-beginning", action="store_true",
                   help="start at the earliest offset (default: the end)")
    c.add_argument("--partition", type=int, help="read only this partition")
    c.add_argument("--offset", type=int, help="start at this offset (with --partition)")
    c.add_argument("--max-messages", type=int, help="exit after this many records")
    c.add_argument("--timeout-ms", type=int, help="exit when no record arrives for this long")
    c.add_argument("--group", help="start from, and commit to, this group's offsets")
    c.add_argument("--print-key", action="store_true", help="print KEY<SEP>VALUE")
    c.add_argument("--key-separator", default="\t", metavar="SEP",
                   help="separator for --print-key (default TAB)")
    c.set_defaults(func=run_consume)


def run_produce(args: argparse.Namespace) -> int:
    if args.key_separator == "":
        return error(PRODUCE, "--key-separator must not be empty", 2)
    if args.partition is not None and args.partition < 0:
        return error(PRODUCE, f"--partition must be >= 0, got {args.partition}", 2)
    reader = LineReader(args.key_separator is not None, (args.key_separator or "\t").encode("utf-8"))
    timeout_ms = int(args.timeout * 1000)
    producer = {"client_id": "kafka-zk-console-producer", "acks": args.acks,
                "compression_type": args.compression_type, "linger_ms": args.linger_ms,
                "max_block_ms": timeout_ms, "delivery_timeout_ms": max(timeout_ms, 1000)}
    opts = ProduceOptions(args.bootstrap_server, args.topic, reader, producer, partition=args.partition,
                          timeout_s=args.timeout, prog=PRODUCE)
    return produce(opts, sys.stdin.buffer)


def run_consume(args: argparse.Namespace) -> int:
    if args.offset is not None and args.partition is None:
        return error(CONSUME, "--offset needs --partition", 2)
    if args.offset is not None and args.from_beginning:
        return error(CONSUME, "give either --offset or --from-beginning, not both", 2)
    if args.offset is not None and args.offset < 0:
        return error(CONSUME, f"--offset must be >= 0, got {args.offset}", 2)
    if args.max_messages is not None and args.max_messages < 1:
        return error(CONSUME, f"--max-messages must be at least 1, got {args.max_messages}", 2)
    if args.partition is not None and args.partition < 0:
        return error(CONSUME, f"--partition must be >= 0, got {args.partition}", 2)
    formatter = MessageFormatter(print_key=args.print_key, key_separator=args.key_separator.encode("utf-8"))
    opts = ConsumeOptions(args.bootstrap_server, args.topic, formatter,
                          {"client_id": "kafka-zk-console-consumer"},
                          args.partition, args.offset, args.from_beginning, args.group, args.max_messages,
                          args.timeout_ms, prog=CONSUME)
    return consume(opts)
