"""``kafka-zk produce`` / ``kafka-zk consume``: Kafka's console producer and consumer, on our own client.

``produce`` sends each line of stdin as one record (the line without its end-of-line; bytes as they are).
With ``--key-separator SEP`` a line is ``KEY<SEP>VALUE`` split at the first SEP, and keyed records go to
``murmur2(key) mod partitions`` like every Kafka client's default partitioner. A line without the separator
stops the input with an error — after every earlier line has been delivered, so nothing sent is lost. At EOF
the producer flushes and exits 0 if every record was acknowledged (per ``--acks``), 1 otherwise.

``consume`` prints record values, one per line (``null`` for a null value; ``--print-key`` prefixes the key
and ``--key-separator``). It reads every partition of the topic (or ``--partition P``) from the end, or from
the start with ``--from-beginning``, or from ``--offset N`` (needs ``--partition``). With ``--group G`` it
starts from the group's committed offsets where there are some and commits its position after each batch it
prints (simple-consumer commits: no group membership, so do not share G with running group members). It
stops after ``--max-messages N`` records or ``--timeout-ms`` without a record, and prints
``Processed a total of N messages`` on stderr, as Kafka's tool does.

Exit codes: 0 done; 1 the cluster refused, could not be reached, or the topic does not exist; 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
from typing import Any, BinaryIO, Iterator

from kafka_zk.common.errors import KafkaError

PRODUCE = "kafka-zk produce"
CONSUME = "kafka-zk consume"


class InputError(Exception):
    """A line of stdin cannot be turned into a record (exit code 1, earlier records delivered)."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("produce", help="send stdin lines as records (kafka-console-producer)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT[,...]")
    p.add_argument("--topic", required=True)
    p.add_argument("--key-separator", metavar="SEP", help="lines are KEY<SEP>VALUE (split at the first SEP)")
    p.add_argument("--partition", type=int, help="send every record to this partition")
    p.add_argument("--acks", default="1", choices=("0", "1", "-1", "all"), help="acks (default 1)")
    p.add_argument("--compression-type", default="none", choices=("none", "gzip", "snappy", "lz4", "zstd"))
    p.add_argument("--linger-ms", type=int, default=5, help="batching delay in ms (default 5)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for metadata and deliveries (default 30)")
    p.set_defaults(func=run_produce)

    c = subparsers.add_parser("consume", help="print a topic's records (kafka-console-consumer)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT[,...]")
    c.add_argument("--topic", required=True)
    c.add_argument("--from-beginning", action="store_true", help="start at the earliest offset (default: the end)")
    c.add_argument("--partition", type=int, help="read only this partition")
    c.add_argument("--offset", type=int, help="start at this offset (with --partition)")
    c.add_argument("--max-messages", type=int, help="exit after this many records")
    c.add_argument("--timeout-ms", type=int, help="exit when no record arrives for this long")
    c.add_argument("--group", help="start from, and commit to, this group's offsets")
    c.add_argument("--print-key", action="store_true", help="print KEY<SEP>VALUE")
    c.add_argument("--key-separator", default="\t", metavar="SEP", help="separator for --print-key (default TAB)")
    c.set_defaults(func=run_consume)


def _error(prog: str, message: str, code: int) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


# --------------------------------------------------------------------------------------------- produce


def split_line(line: bytes, separator: bytes | None, number: int) -> tuple[bytes | None, bytes]:
    """``(key, value)`` of one stdin line (end-of-line already removed). Raises :class:`InputError`."""
    if separator is None:
        return None, line
    key, sep, value = line.partition(separator)
    if not sep:
        shown = line[:60].decode("utf-8", "replace")
        raise InputError(f"line {number} has no key separator {separator.decode()!r}: {shown!r} "
                         f"(expected KEY{separator.decode()}VALUE)")
    return key, value


def _strip_eol(line: bytes) -> bytes:
    if line.endswith(b"\n"):
        line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
    return line


def run_produce(args: argparse.Namespace) -> int:
    if args.key_separator == "":
        return _error(PRODUCE, "--key-separator must not be empty", 2)
    if args.partition is not None and args.partition < 0:
        return _error(PRODUCE, f"--partition must be >= 0, got {args.partition}", 2)
    try:
        sent, failed, interrupted = asyncio.run(produce_lines(args, sys.stdin.buffer))
    except ValueError as e:
        return _error(PRODUCE, str(e), 2)
    except _Failed as e:
        return _error(PRODUCE, str(e), 1)
    if failed:
        return _error(PRODUCE, f"{failed} of {sent} records were not delivered (see above)", 1)
    return 130 if interrupted else 0


class _Failed(Exception):
    pass


def _start_line_reader(stdin: BinaryIO) -> asyncio.Queue[bytes | None]:
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


async def produce_lines(args: argparse.Namespace, stdin: BinaryIO) -> tuple[int, int, bool]:
    """Send every line of ``stdin``; returns ``(records sent, records that failed, interrupted)``.

    Ctrl-C (the task is cancelled) stops reading; what was read is still flushed before returning.
    """
    from kafka_zk.client.errors import IncompatibleBrokerVersion, KafkaConnectionError, KafkaRequestTimeoutError
    from kafka_zk.client.producer import Producer

    separator = None if args.key_separator is None else args.key_separator.encode("utf-8")
    producer = Producer(args.bootstrap_server, client_id="kafka-zk-console-producer", acks=args.acks,
                        compression_type=args.compression_type, linger_ms=args.linger_ms,
                        max_block_ms=int(args.timeout * 1000),
                        delivery_timeout_ms=max(int(args.timeout * 1000), 1000))
    futures: list[asyncio.Future[Any]] = []
    input_error: InputError | None = None
    interrupted = False
    try:
        await producer.start()
        lines = _start_line_reader(stdin)
        number = 0
        try:
            while (raw := await lines.get()) is not None:
                number += 1
                try:
                    key, value = split_line(_strip_eol(raw), separator, number)
                except InputError as e:
                    input_error = e
                    break
                futures.append(await producer.send(args.topic, value, key, partition=args.partition))
        except asyncio.CancelledError:
            interrupted = True
        await producer.flush(args.timeout + 5)
    except (KafkaConnectionError, KafkaRequestTimeoutError, IncompatibleBrokerVersion, KafkaError) as e:
        raise _Failed(_text(e)) from None
    finally:
        await producer.close(timeout=5)
    failed = 0
    reported: set[str] = set()
    for f in futures:
        exc = f.exception() if f.done() and not f.cancelled() else None
        if exc is not None or not f.done():
            failed += 1
            msg = _text(exc) if exc is not None else "not delivered"
            if msg not in reported:
                reported.add(msg)
                print(f"{PRODUCE}: error: {msg}", file=sys.stderr)
    if input_error is not None:
        raise _Failed(f"{input_error}; the {len(futures) - failed} records before it were delivered")
    return len(futures), failed, interrupted


def _text(e: BaseException) -> str:
    if isinstance(e, KafkaError):
        return e.message or e.code.name
    return str(e) or type(e).__name__


# --------------------------------------------------------------------------------------------- consume


def run_consume(args: argparse.Namespace) -> int:
    if args.offset is not None and args.partition is None:
        return _error(CONSUME, "--offset needs --partition", 2)
    if args.offset is not None and args.from_beginning:
        return _error(CONSUME, "give either --offset or --from-beginning, not both", 2)
    if args.offset is not None and args.offset < 0:
        return _error(CONSUME, f"--offset must be >= 0, got {args.offset}", 2)
    if args.max_messages is not None and args.max_messages < 1:
        return _error(CONSUME, f"--max-messages must be at least 1, got {args.max_messages}", 2)
    if args.partition is not None and args.partition < 0:
        return _error(CONSUME, f"--partition must be >= 0, got {args.partition}", 2)
    counter = [0]
    code = 0
    try:
        asyncio.run(consume_records(args, sys.stdout.buffer, counter))
    except ValueError as e:
        code = _error(CONSUME, str(e), 2)
    except _Failed as e:
        code = _error(CONSUME, str(e), 1)
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `| head`: the reader is gone; not an error
        sys.stderr.close()
        return 0
    print(f"Processed a total of {counter[0]} messages", file=sys.stderr)
    return code


async def consume_records(args: argparse.Namespace, out: BinaryIO, counter: list[int]) -> None:
    """Print records until ``--max-messages`` or ``--timeout-ms``; ``counter[0]`` counts them."""
    from kafka_zk.client.consumer import Consumer
    from kafka_zk.client.errors import IncompatibleBrokerVersion, KafkaConnectionError, KafkaRequestTimeoutError
    from kafka_zk.common.tp import TopicPartition

    consumer = Consumer(args.bootstrap_server, group_id=args.group, client_id="kafka-zk-console-consumer",
                        auto_offset_reset="earliest" if args.from_beginning else "latest")
    sep = args.key_separator.encode("utf-8")
    try:
        await consumer.start()
        partitions = await consumer.partitions_for_topic(args.topic)
        if args.partition is not None:
            if args.partition not in partitions:
                raise _Failed(f"topic '{args.topic}' has partitions 0..{len(partitions) - 1}, not {args.partition}")
            partitions = [args.partition]
        consumer.assign([TopicPartition(args.topic, p) for p in partitions])
        if args.offset is not None:
            consumer.seek(TopicPartition(args.topic, args.partition), args.offset)
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        while args.max_messages is None or counter[0] < args.max_messages:
            left = None if args.max_messages is None else args.max_messages - counter[0]
            records = await consumer.poll(timeout_ms=500, max_records=left)
            if not records:
                if args.timeout_ms is not None and (loop.time() - idle_since) * 1000 >= args.timeout_ms:
                    break
                continue
            idle_since = loop.time()
            chunk = bytearray()
            for r in records:
                if args.print_key:
                    chunk += (b"null" if r.key is None else r.key) + sep
                chunk += (b"null" if r.value is None else r.value) + b"\n"
            out.write(chunk)
            out.flush()
            counter[0] += len(records)
            if args.group is not None:
                await consumer.commit()
    except (KafkaConnectionError, KafkaRequestTimeoutError, IncompatibleBrokerVersion, KafkaError) as e:
        raise _Failed(_text(e)) from None
    finally:
        await consumer.close()
