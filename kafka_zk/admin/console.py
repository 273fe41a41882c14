"""``kafka-zk console-producer`` / ``kafka-zk console-consumer``: Kafka's console tools, with Kafka's flags.

One implementation serves these commands and the older ``kafka-zk produce`` / ``consume`` spellings
(:mod:`kafka_zk.admin.produce_consume` maps their flags onto :class:`ProduceOptions` /
:class:`ConsumeOptions`).

Producer: each line of stdin becomes one record (:class:`~kafka_zk.admin.message_format.LineReader`:
``--property parse.key=true --property key.separator=:``). Keyed records go to ``murmur2(key) mod
partitions`` like every Kafka client. Client settings come from ``--producer.config FILE`` then
``--producer-property k=v`` (which wins), as in Kafka; the named flags (``--request-required-acks``,
``--compression-codec``, ``--timeout`` = linger.ms, ``--sync``) are applied first. A line that cannot be
parsed stops the input with an error after every earlier line has been delivered. At EOF the producer
flushes; exit 0 if every record was acknowledged, 1 otherwise.

Consumer: reads every partition of the topic, or ``--partition P`` from ``--offset N|earliest|latest``
(default latest), from the end or with ``--from-beginning`` from the start. With ``--group G`` it starts
from G's committed offsets where there are some and commits its position after each batch it prints; it
joins G as a member (subscribe), so several console consumers of one group share the partitions, as in
Kafka. ``--group`` with ``--partition`` is refused, as Kafka refuses it. Records are printed by Kafka's
DefaultMessageFormatter rules (``--property print.key=true ...``). It stops after ``--max-messages N`` or ``--timeout-ms`` without a record, and
prints ``Processed a total of N messages`` on stderr, as Kafka does.

Exit codes: 0 done; 1 the cluster refused, could not be reached, or the topic does not exist; 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator

from kafka_zk.admin.client_props import CONSUMER_KEYS, PRODUCER_KEYS, client_kwargs, read_properties_file
from kafka_zk.admin.message_format import (
    LineError,
    LineReader,
    MessageFormatter,
    PropertyError,
    parse_assignments,
    strip_eol,
)
from kafka_zk.common.errors import KafkaError

PRODUCER = "kafka-zk console-producer"
CONSUMER = "kafka-zk console-consumer"


class ToolError(Exception):
    """The cluster refused or could not be reached: one line on stderr, exit code 1."""


@dataclass
class ProduceOptions:
    bootstrap: str
    topic: str
    reader: LineReader = field(default_factory=LineReader)
    producer: dict[str, Any] = field(default_factory=dict)
    partition: int | None = None
    sync: bool = False
    timeout_s: float = 30.0
    prog: str = PRODUCER
    prompt: bool = False  # Kafka prints ">" before each line when it runs on a terminal


@dataclass
class ConsumeOptions:
    bootstrap: str
    topic: str
    formatter: MessageFormatter = field(default_factory=MessageFormatter)
    consumer: dict[str, Any] = field(default_factory=dict)
    partition: int | None = None
    offset: int | str | None = None  # N, "earliest", "latest"; None = by --from-beginning
    from_beginning: bool = False
    group: str | None = None
    max_messages: int | None = None
    timeout_ms: int | None = None
    prog: str = CONSUMER


def error(prog: str, message: str, code: int) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def describe_error(e: BaseException) -> str:
    if isinstance(e, KafkaError):
        return e.message or e.code.name
    return str(e) or type(e).__name__


def client_errors() -> tuple[type[BaseException], ...]:
    from kafka_zk.client.errors import (IncompatibleBrokerVersion, KafkaConnectionError,
                                        KafkaRequestTimeoutError)
    return KafkaConnectionError, KafkaRequestTimeoutError, IncompatibleBrokerVersion, KafkaError


# ============================================================================================ parsers


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("console-producer", help="send stdin lines as records (kafka-console-producer)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap-server", metavar="HOST:PORT[,...]")
    p.add_argument("--broker-list", metavar="HOST:PORT[,...]",
                   help="deprecated spelling of --bootstrap-server")
    p.add_argument("--topic", required=True)
    p.add_argument("--property", action="append", default=[], metavar="K=V",
                   help="line reader: parse.key, key.separator, ignore.error")
    p.add_argument("--producer-property", action="append", default=[], metavar="K=V",
                   help="producer setting, e.g. acks=all (wins over --producer.config)")
    p.add_argument("--producer.config", dest="producer_config", metavar="FILE",
                   help="producer .properties file")
    p.add_argument("--request-required-acks", default="1", metavar="ACKS",
                   help="acks: 0, 1, -1/all (default 1)")
    p.add_argument("--compression-codec", nargs="?", const="gzip", metavar="CODEC",
                   help="none, gzip (when given alone), snappy, lz4, zstd")
    p.add_argument("--timeout", type=int, default=1000, metavar="MS",
                   help="linger.ms (default 1000, as Kafka)")
    p.add_argument("--request-timeout-ms", type=int, default=30000, metavar="MS",
                   help="default 30000 (Kafka's console tool: 1500, too short for a loaded Python broker, "
                        "whose slow acks would be resent)")
    p.add_argument("--max-block-ms", type=int, default=60000, metavar="MS")
    p.add_argument("--sync", action="store_true",
                   help="wait for each record's acknowledgement before the next")
    p.set_defaults(func=run_console_producer)

    c = subparsers.add_parser("console-consumer", help="print a topic's records (kafka-console-consumer)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT[,...]")
    c.add_argument("--topic", required=True)
    c.add_argument("--from-beginning", action="store_true",
                   help="start at the earliest offset (default: the end)")
    c.add_argument("--partition", type=int, help="read only this partition")
    c.add_argument("--offset",
                   help="with --partition: a non-negative offset, earliest or latest (default latest)")
    c.add_argument("--group", help="start from, and commit to, this group's offsets")
    c.add_argument("--max-messages", type=int, help="exit after this many records")
    c.add_argument("--timeout-ms", type=int, help="exit when no record arrives for this long")
    c.add_argument("--property", action="append", default=[], metavar="K=V",
                   help="formatter: print.key, print.timestamp, print.partition, print.offset, "
                        "print.headers, "
                        "print.value, key.separator, line.separator, headers.separator, null.literal")
    c.add_argument("--consumer-property", action="append", default=[], metavar="K=V",
                   help="consumer setting, e.g. fetch.max.wait.ms=100 (wins over --consumer.config)")
    c.add_argument("--consumer.config", dest="consumer_config", metavar="FILE",
                   help="consumer .properties file")
    c.add_argument("--isolation-level", choices=("read_uncommitted", "read_committed"),
                   help="isolation.level (default read_uncommitted)")
    c.set_defaults(func=run_console_consumer)


def _client_props(file: str | None, file_option: str, items: list[str], option: str) -> dict[str, str]:
    props = read_properties_file(file, file_option) if file else {}
    props.update(parse_assignments(items, option))
    return props


def producer_options(args: argparse.Namespace) -> ProduceOptions:
    """Options of ``console-producer`` from its arguments. Raises :class:`PropertyError`."""
    bootstrap = args.bootstrap_server or args.broker_list
    if not bootstrap:
        raise PropertyError("--bootstrap-server is required (for example --bootstrap-server 127.0.0.1:9092)")
    props = {"acks": args.request_required_acks, "linger.ms": str(args.timeout),
             "request.timeout.ms": str(args.request_timeout_ms), "max.block.ms": str(args.max_block_ms)}
    if args.compression_codec is not None:
        props["compression.type"] = args.compression_codec
    if args.sync:
        props["linger.ms"] = "0"
    props.update(_client_props(args.producer_config, "--producer.config", args.producer_property,
                               "--producer-property"))
    kwargs = client_kwargs(props, PRODUCER_KEYS, "--producer-property")
    bootstrap = kwargs.pop("bootstrap_servers", bootstrap)
    kwargs.setdefault("client_id", "console-producer")
    # deliveries must be able to outlive one request timeout (Kafka requires delivery >= linger + request)
    kwargs.setdefault("delivery_timeout_ms", max(30000, kwargs["request_timeout_ms"] + kwargs["linger_ms"]))
    reader = LineReader.from_properties(parse_assignments(args.property, "--property"))
    return ProduceOptions(bootstrap, args.topic, reader, kwargs, sync=args.sync,
                          timeout_s=max(kwargs["delivery_timeout_ms"], kwargs["max_block_ms"]) / 1000)


def consumer_options(args: argparse.Namespace) -> ConsumeOptions:
    """Options of ``console-consumer`` from its arguments, checked as Kafka checks them."""
    offset: int | str | None = None
    if args.partition is not None:
        if args.partition < 0:
            raise PropertyError(f"--partition must be >= 0, got {args.partition}")
        if args.from_beginning and args.offset is not None:
            raise PropertyError("Options from-beginning and offset cannot be specified together.")
    elif args.offset is not None:
        raise PropertyError("The partition is required when offset is specified (add --partition P).")
    if args.offset is not None:
        offset = parse_offset(args.offset)
    if args.max_messages is not None and args.max_messages < 1:
        raise PropertyError(f"--max-messages must be at least 1, got {args.max_messages}")
    props = {} if args.isolation_level is None else {"isolation.level": args.isolation_level}
    props.update(_client_props(args.consumer_config, "--consumer.config", args.consumer_property,
                               "--consumer-property"))
    kwargs = client_kwargs(props, CONSUMER_KEYS, "--consumer-property")
    group = args.group
    if group is not None and kwargs.get("group_id", group) != group:
        raise PropertyError(f"The group ids provided in different places (directly using '--group', via "
                            f"'--consumer-property', or via '--consumer.config') do not match: "
                            f"'{group}', '{kwargs['group_id']}'")
    group = group or kwargs.pop("group_id", None)
    kwargs.pop("group_id", None)
    if group is not None and args.partition is not None:
        raise PropertyError("Options group and partition cannot be specified together.")
    bootstrap = kwargs.pop("bootstrap_servers", args.bootstrap_server)
    kwargs.setdefault("client_id", "console-consumer")
    formatter = MessageFormatter.from_properties(parse_assignments(args.property, "--property"))
    return ConsumeOptions(bootstrap, args.topic, formatter, kwargs, args.partition, offset,
                          args.from_beginning,
                          group, args.max_messages, args.timeout_ms)


def parse_offset(text: str) -> int | str:
    lowered = text.strip().lower()
    if lowered in ("earliest", "latest"):
        return lowered
    try:
        value = int(lowered)
    except ValueError:
        value = -1
    if value < 0:
        raise PropertyError(f"The provided offset value '{text}' is incorrect. Valid values are 'earliest', "
                            f"'latest', or a non-negative long.")
    return value


# ============================================================================================ producer


def run_console_producer(args: argparse.Namespace) -> int:
    try:
        opts = producer_options(args)
    except (PropertyError, ValueError) as e:
        return error(PRODUCER, str(e), 2)
    opts.prompt = sys.stdin.isatty() and sys.stdout.isatty()
    return produce(opts, sys.stdin.buffer)


def produce(opts: ProduceOptions, stdin: BinaryIO) -> int:
    """Send stdin's lines; the exit code."""
    try:
        sent, failed, interrupted = asyncio.run(produce_lines(opts, stdin))
    except ValueError as e:
        return error(opts.prog, str(e), 2)
    except ToolError as e:
        return error(opts.prog, str(e), 1)
    if failed:
        return error(opts.prog, f"{failed} of {sent} records were not delivered (see above)", 1)
    return 130 if interrupted else 0


def start_line_reader(stdin: BinaryIO) -> asyncio.Queue[bytes | None]:
    """Lines of ``stdin`` (``None`` at EOF) from a daemon thread, so the event loop never blocks on stdin.

    The thread reads the file descriptor with ``os.read``, not the buffered reader: a daemon thread blocked
    inside ``BufferedReader.readline`` holds its lock, and the interpreter aborts at exit (after Ctrl-C on a
    terminal) when it finds that lock taken.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=10000)

    def put(item: bytes | None) -> None:
        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    def chunks() -> Iterator[bytes]:
        try:
            fd = stdin.fileno()
        except (OSError, ValueError, AttributeError):  # not a real file (tests pass BytesIO)
            yield from iter(lambda: stdin.read(65536), b"")
            return
        yield from iter(lambda: os.read(fd, 65536), b"")

    def read() -> None:
        try:
            pending = b""
            for chunk in chunks():
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    put(line + b"\n")
            if pending:
                put(pending)
            put(None)
        except (RuntimeError, OSError, ValueError):  # the loop is gone (we are exiting) or stdin was closed
            return

    threading.Thread(target=read, name="stdin-reader", daemon=True).start()
    return queue


async def produce_lines(opts: ProduceOptions, stdin: BinaryIO) -> tuple[int, int, bool]:
    """Send every line of ``stdin``; returns ``(records sent, records that failed, interrupted)``.

    Ctrl-C (the task is cancelled) stops reading; what was read is still flushed before returning.
    """
    from kafka_zk.client.producer import FutureRecordMetadata, Producer

    producer = Producer(opts.bootstrap, **opts.producer)
    futures: list[FutureRecordMetadata] = []
    line_error: LineError | None = None
    interrupted = False
    try:
        await producer.start()
        lines = start_line_reader(stdin)
        number = 0
        try:
            while True:
                if opts.prompt:
                    sys.stdout.write(">")
                    sys.stdout.flush()
                if (raw := await lines.get()) is None:
                    break
                number += 1
                try:
                    key, value = opts.reader.parse(strip_eol(raw), number)
                except LineError as e:
                    line_error = e
                    break
                fut = await producer.send(opts.topic, value, key, partition=opts.partition)
                futures.append(fut)
                if opts.sync:  # wait for the delivery; its error is reported with the others below
                    await asyncio.gather(fut, return_exceptions=True)
        except asyncio.CancelledError:
            interrupted = True
        await producer.flush(opts.timeout_s + 5)
    except client_errors() as e:
        raise ToolError(describe_error(e)) from None
    finally:
        await producer.close(timeout=5)
    failed = 0
    reported: set[str] = set()
    for f in futures:
        exc = f.exception() if f.done() and not f.cancelled() else None
        if exc is not None or not f.done():
            failed += 1
            msg = describe_error(exc) if exc is not None else "not delivered"
            if msg not in reported:
                reported.add(msg)
                print(f"{opts.prog}: error: {msg}", file=sys.stderr)
    if line_error is not None:
        raise ToolError(f"{line_error}; the {len(futures) - failed} records before it were delivered")
    return len(futures), failed, interrupted


# ============================================================================================ consumer


def run_console_consumer(args: argparse.Namespace) -> int:
    try:
        opts = consumer_options(args)
    except (PropertyError, ValueError) as e:
        return error(CONSUMER, str(e), 2)
    return consume(opts)


def consume(opts: ConsumeOptions) -> int:
    """Print records to stdout; the exit code."""
    counter = [0]
    code = 0
    try:
        asyncio.run(consume_records(opts, sys.stdout.buffer, counter))
    except ValueError as e:
        code = error(opts.prog, str(e), 2)
    except ToolError as e:
        code = error(opts.prog, str(e), 1)
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `| head`: the reader is gone; not an error
        sys.stderr.close()
        return 0
    print(f"Processed a total of {counter[0]} messages", file=sys.stderr)
    return code


async def consume_records(opts: ConsumeOptions, out: BinaryIO, counter: list[int]) -> None:
    """Print records until ``max_messages`` or ``timeout_ms``; ``counter[0]`` counts them."""
    from kafka_zk.client.consumer import Consumer
    from kafka_zk.common.tp import TopicPartition

    reset = "earliest" if opts.from_beginning or opts.offset == "earliest" else "latest"
    consumer = Consumer(opts.bootstrap, group_id=opts.group, auto_offset_reset=reset, **opts.consumer)
    fmt = opts.formatter
    try:
        await consumer.start()
        partitions = await consumer.partitions_for_topic(opts.topic)
        if opts.group is not None and opts.partition is None:
            # Kafka's console consumer: --group joins the group, which hands out the partitions; a
            # partition without a committed offset starts where --from-beginning says (auto.offset.reset).
            consumer.subscribe([opts.topic])
        else:
            if opts.partition is not None:
                if opts.partition not in partitions:
                    raise ToolError(f"topic '{opts.topic}' has partitions 0..{len(partitions) - 1}, "
                                    f"not {opts.partition}")
                partitions = [opts.partition]
            tps = [TopicPartition(opts.topic, p) for p in partitions]
            consumer.assign(tps)
            if isinstance(opts.offset, int):
                consumer.seek(tps[0], opts.offset)
            elif opts.offset == "earliest":
                await consumer.seek_to_beginning(*tps)
            elif opts.offset == "latest":
                await consumer.seek_to_end(*tps)
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        while opts.max_messages is None or counter[0] < opts.max_messages:
            left = None if opts.max_messages is None else opts.max_messages - counter[0]
            records = await consumer.poll(timeout_ms=500, max_records=left)
            if not records:
                if opts.timeout_ms is not None and (loop.time() - idle_since) * 1000 >= opts.timeout_ms:
                    break
                continue
            idle_since = loop.time()
            chunk = bytearray()
            for r in records:
                chunk += fmt.format(r.partition, r.offset, r.timestamp, r.timestamp_type, r.key, r.value,
                                    r.headers)
            out.write(chunk)
            out.flush()
            counter[0] += len(records)
            if opts.group is not None:
                await consumer.commit()
    except client_errors() as e:
        raise ToolError(describe_error(e)) from None
    finally:
        await consumer.close()
