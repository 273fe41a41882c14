"""``kafka-zk producer-perf-test`` / ``kafka-zk consumer-perf-test``: Kafka's performance tools, same flags,
same lines (the arithmetic is in :mod:`kafka_zk.admin.perf_stats`), on our own client.

``producer-perf-test --topic T --num-records N (--record-size S | --payload-file F) --throughput R
(--producer-props k=v ... | --producer.config FILE)`` sends N records of S random capital letters (no key,
so the partitioner spreads them), at most R records/sec (``-1`` = as fast as possible), measuring each
record's latency from just before ``send()`` to its acknowledgement. It prints Kafka's window line every
5 s and the total line at the end. On a terminal a live progress line is redrawn in place between them
(a pipe or file gets only Kafka's lines, so scripts that parse them keep working).

``consumer-perf-test --bootstrap-server B --topic T --messages N`` reads N records from every partition of
T as a member of group ``--group G`` (default ``perf-consumer-NNNNN``, as Kafka's), from G's committed
offsets or else the earliest (``--from-latest``: the end), and prints ConsumerPerformance's CSV header and
row. ``rebalance.time.ms`` is the time from start to the group's first assignment, as Kafka measures it.
It stops early after ``--timeout`` ms without a record and says so, as Kafka does.

Exit codes: 0 done; 1 the cluster refused or records failed; 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from typing import Any, TextIO

from kafka_zk.admin.client_props import CONSUMER_KEYS, PRODUCER_KEYS, client_kwargs, read_properties_file
from kafka_zk.admin.console import ToolError, client_errors, describe_error, error
from kafka_zk.admin.message_format import PropertyError, parse_assignments
from kafka_zk.admin.perf_stats import (
    ProducerStats,
    ThroughputThrottler,
    consumer_header,
    consumer_progress_line,
    consumer_total_line,
)

PRODUCER_PERF = "kafka-zk producer-perf-test"
CONSUMER_PERF = "kafka-zk consumer-perf-test"
PROGRESS_INTERVAL_S = 0.5


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class LiveLine:
    """A status line redrawn in place on a terminal; a no-op when the stream is not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self._shown = False

    def show(self, text: str) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._shown = True

    def println(self, text: str) -> None:
        """Print a permanent line (Kafka's), clearing the live line first."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = False
        self.stream.write(text + "\n")
        self.stream.flush()


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("producer-perf-test", help="measure produce throughput and latency "
                              "(kafka-producer-perf-test)", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--topic", required=True)
    p.add_argument("--num-records", type=int, required=True, metavar="N")
    p.add_argument("--record-size", type=int, metavar="BYTES")
    p.add_argument("--payload-file", metavar="FILE",
                   help="UTF-8 text; records are its pieces, picked at random")
    p.add_argument("--payload-delimiter", default="\\n", metavar="DELIM",
                   help="splits --payload-file (default \\n)")
    p.add_argument("--throughput", type=int, required=True, metavar="RECORDS_PER_SEC", help="-1: no limit")
    p.add_argument("--producer-props", nargs="+", default=[], metavar="K=V",
                   help="e.g. acks=1 bootstrap.servers=B")
    p.add_argument("--producer.config", dest="producer_config", metavar="FILE")
    p.set_defaults(func=run_producer_perf)

    c = subparsers.add_parser("consumer-perf-test",
                              help="measure consume throughput (kafka-consumer-perf-test)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("--bootstrap-server", metavar="HOST:PORT[,...]")
    c.add_argument("--broker-list", metavar="HOST:PORT[,...]",
                   help="deprecated spelling of --bootstrap-server")
    c.add_argument("--topic", required=True)
    c.add_argument("--messages", type=int, required=True, metavar="N", help="records to read")
    c.add_argument("--group", help="the consumer group to join (default perf-consumer-NNNNN)")
    c.add_argument("--fetch-size", type=int, default=1024 * 1024, metavar="BYTES",
                   help="max.partition.fetch.bytes")
    c.add_argument("--from-latest", action="store_true",
                   help="start at the end where there is no committed offset")
    c.add_argument("--consumer.config", dest="consumer_config", metavar="FILE")
    c.add_argument("--show-detailed-stats", action="store_true", help="a row per --reporting-interval")
    c.add_argument("--reporting-interval", type=int, default=5000, metavar="MS")
    c.add_argument("--hide-header", action="store_true")
    c.add_argument("--timeout", type=int, default=10000, metavar="MS",
                   help="max time between records (10000)")
    c.add_argument("--threads", type=int, help="deprecated and ignored (as in Kafka)")
    c.add_argument("--num-fetch-threads", type=int, help="deprecated and ignored (as in Kafka)")
    c.set_defaults(func=run_consumer_perf)


# ============================================================================================ producer


def _payloads(args: argparse.Namespace) -> list[bytes]:
    if (args.record_size is None) == (args.payload_file is None):
        raise PropertyError("give exactly one of --record-size or --payload-file")
    if args.record_size is not None:
        if args.record_size < 0:
            raise PropertyError(f"--record-size must be >= 0, got {args.record_size}")
        rng = random.Random(0)
        return [bytes(rng.randrange(26) + 65 for _ in range(args.record_size))]
    print(f"Reading payloads from: {os.path.abspath(args.payload_file)}")
    try:
        with open(args.payload_file, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise PropertyError(f"--payload-file {args.payload_file}: {e.strerror}") from None
    delimiter = "\n" if args.payload_delimiter == "\\n" else args.payload_delimiter
    pieces = [p.encode("utf-8") for p in text.split(delimiter) if p]
    if not pieces:
        raise PropertyError(f"--payload-file {args.payload_file} is empty (expected text split by the "
                            f"delimiter)")
    print(f"Number of messages read: {len(pieces)}")
    return pieces


def producer_settings(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """``(bootstrap, Producer kwargs)`` from --producer.config and --producer-props. Raises PropertyError."""
    if not args.producer_props and not args.producer_config:
        raise PropertyError("Either --producer-props or --producer.config must be specified "
                            "(for example --producer-props bootstrap.servers=127.0.0.1:9092 acks=1)")
    props = read_properties_file(args.producer_config, "--producer.config") if args.producer_config else {}
    props.update(parse_assignments(args.producer_props, "--producer-props"))
    kwargs = client_kwargs(props, PRODUCER_KEYS, "--producer-props")
    bootstrap = kwargs.pop("bootstrap_servers", None)
    if not bootstrap:
        raise PropertyError("bootstrap.servers is missing (add --producer-props bootstrap.servers=HOST:PORT)")
    kwargs.setdefault("client_id", "producer-performance")
    return bootstrap, kwargs


def run_producer_perf(args: argparse.Namespace) -> int:
    try:
        if args.num_records < 1:
            raise PropertyError(f"--num-records must be at least 1, got {args.num_records}")
        payloads = _payloads(args)
        bootstrap, kwargs = producer_settings(args)
    except PropertyError as e:
        return error(PRODUCER_PERF, str(e), 2)
    try:
        failed = asyncio.run(producer_perf(bootstrap, kwargs, args.topic, args.num_records, payloads,
                                           args.throughput, LiveLine(sys.stdout)))
    except ValueError as e:
        return error(PRODUCER_PERF, str(e), 2)
    except ToolError as e:
        return error(PRODUCER_PERF, str(e), 1)
    except KeyboardInterrupt:
        return 130
    return 1 if failed else 0


async def producer_perf(bootstrap: str, kwargs: dict[str, Any], topic: str, num_records: int,
                        payloads: list[bytes], throughput: int, out: LiveLine) -> int:
    """Run the test; prints the lines and returns how many records failed."""
    from kafka_zk.client.producer import Producer

    producer = Producer(bootstrap, **kwargs)
    rng = random.Random(0)
    failures: dict[str, int] = {}
    sent = 0
    try:
        await producer.start()
        await producer.partitions_for(topic)  # metadata first (Kafka's test waits for it on the first send)
        stats = ProducerStats(num_records)
        throttler = ThroughputThrottler(throughput, stats.start)
        last_progress = time.monotonic()

        def completion(iteration: int, start_ms: int, size: int) -> Any:
            def done(fut: asyncio.Future[Any]) -> None:
                now = _now_ms()
                if fut.cancelled() or fut.exception() is not None:
                    exc = None if fut.cancelled() else fut.exception()
                    text = "cancelled" if exc is None else describe_error(exc)
                    if text not in failures:
                        print(f"{PRODUCER_PERF}: error: {text}", file=sys.stderr)
                    failures[text] = failures.get(text, 0) + 1
                line = stats.record(iteration, now - start_ms, size, now)
                if line is not None:
                    out.println(line)
            return done

        for i in range(num_records):
            payload = payloads[0] if len(payloads) == 1 else payloads[rng.randrange(len(payloads))]
            send_start = _now_ms()
            fut = await producer.send(topic, payload)
            fut.add_done_callback(completion(i, send_start, len(payload)))
            sent += 1
            if throttler.should_throttle(i, send_start):
                pause = throttler.throttle()
                if pause > 0:
                    await asyncio.sleep(pause)
            if out.enabled and time.monotonic() - last_progress >= PROGRESS_INTERVAL_S:
                last_progress = time.monotonic()
                out.show(stats.progress_line(sent))
            elif i % 512 == 511:
                await asyncio.sleep(0)  # let completions run even when sends never block
        await producer.flush()
    except client_errors() as e:
        raise ToolError(describe_error(e)) from None
    finally:
        await producer.close(timeout=10)
    out.println(stats.total_line())
    return sum(failures.values())


# ============================================================================================ consumer


def run_consumer_perf(args: argparse.Namespace) -> int:
    bootstrap = args.bootstrap_server or args.broker_list
    try:
        if not bootstrap:
            raise PropertyError("--bootstrap-server is required (for example --bootstrap-server "
                                "127.0.0.1:9092)")
        if args.messages < 1:
            raise PropertyError(f"--messages must be at least 1, got {args.messages}")
        if args.reporting_interval <= 0:
            raise PropertyError("Reporting interval must be greater than 0.")
        props = read_properties_file(args.consumer_config,
                                     "--consumer.config") if args.consumer_config else {}
        kwargs = client_kwargs(props, CONSUMER_KEYS, "--consumer.config")
    except PropertyError as e:
        return error(CONSUMER_PERF, str(e), 2)
    kwargs.pop("bootstrap_servers", None)
    group = args.group or kwargs.pop("group_id", None) or f"perf-consumer-{random.randrange(100000)}"
    kwargs.pop("group_id", None)
    kwargs.setdefault("client_id", "consumer-performance")
    kwargs.setdefault("auto_offset_reset", "latest" if args.from_latest else "earliest")
    kwargs.setdefault("max_partition_fetch_bytes", args.fetch_size)
    if args.threads is not None or args.num_fetch_threads is not None:
        print("WARNING: option [threads] and [num-fetch-threads] have been deprecated and will be ignored "
              "by the test")
    if not args.hide_header:
        print(consumer_header(args.show_detailed_stats), flush=True)
    try:
        asyncio.run(consumer_perf(bootstrap, group, kwargs, args))
    except ValueError as e:
        return error(CONSUMER_PERF, str(e), 2)
    except ToolError as e:
        return error(CONSUMER_PERF, str(e), 1)
    except KeyboardInterrupt:
        return 130
    return 0


async def consumer_perf(bootstrap: str, group: str, kwargs: dict[str, Any],
                        args: argparse.Namespace) -> None:
    from kafka_zk.client.consumer import Consumer

    consumer = Consumer(bootstrap, group_id=group, **kwargs)
    live = LiveLine(sys.stdout)
    messages = bytes_read = last_messages = last_bytes = 0
    try:
        start_ms = _now_ms()
        await consumer.start()
        await consumer.partitions_for_topic(args.topic)  # an unknown topic is an error, not a silent wait
        consumer.subscribe([args.topic])
        joined = False
        join_ms = round_join_ms = 0
        last_consumed = now = _now_ms()
        last_report = start_ms  # as Kafka: the first interval includes the join (then subtracted as such)
        last_progress = time.monotonic()
        while messages < args.messages and now - last_consumed <= args.timeout:
            records = await consumer.poll(timeout_ms=100, max_records=args.messages - messages)
            now = _now_ms()
            if not joined and consumer.assignment():
                joined, join_ms = True, now - start_ms  # the join happened inside this poll
                round_join_ms = join_ms
            if records:
                last_consumed = now
            for r in records:
                messages += 1
                bytes_read += len(r.key or b"") + len(r.value or b"")
            if records and now - last_report >= args.reporting_interval:
                if args.show_detailed_stats:
                    live.println(consumer_progress_line(bytes_read, last_bytes, messages, last_messages,
                                                        last_report, now, round_join_ms))
                round_join_ms = 0
                last_report, last_messages, last_bytes = now, messages, bytes_read
            if live.enabled and time.monotonic() - last_progress >= PROGRESS_INTERVAL_S:
                last_progress = time.monotonic()
                live.show(f"{messages}/{args.messages} records, {bytes_read / 1048576:.2f} MB, "
                          f"{1000.0 * messages / max(now - start_ms, 1):.1f} records/sec")
        end_ms = _now_ms()
    except client_errors() as e:
        raise ToolError(describe_error(e)) from None
    finally:
        await consumer.close()
    if messages < args.messages:
        live.println(f"WARNING: Exiting before consuming the expected number of messages: timeout "
                     f"({args.timeout} ms) exceeded. You can use the --timeout option to increase the "
                     f"timeout.")
    if not args.show_detailed_stats:
        live.println(consumer_total_line(start_ms, end_ms, bytes_read, messages, join_ms))
