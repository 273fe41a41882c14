"""``kafka-zk delete-records --bootstrap-server HOST:PORT --offset-json-file F``: Kafka's
``kafka-delete-records.sh`` (``DeleteRecordsCommand``).

The file is Kafka's: ``{"partitions": [{"topic": "foo", "partition": 1, "offset": 1}], "version": 1}``
(offset -1 = up to the high watermark). Each partition's DeleteRecords goes to its leader; the output lines
are Kafka 2.8's, one per partition: ``partition: foo-1<TAB>low_watermark: 1`` or ``...<TAB>error: ...``.
Exit code 1 when any partition failed (Kafka's tool exits 0; a script wants to know).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from kafka_zk.admin.common import UsageError
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition

PROG = "kafka-zk delete-records"
FORMAT = '{"partitions": [{"topic": "foo", "partition": 1, "offset": 1}], "version": 1}'


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("delete-records", help="delete records of partitions below given offsets",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT[,...]")
    p.add_argument("--offset-json-file", required=True, metavar="FILE", help=FORMAT)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds each request may wait (default 30)")
    p.set_defaults(func=_run)


def parse_offset_json(text: str, source: str) -> list[tuple[TopicPartition, int]]:
    """Kafka's offset JSON (version 1); raises :class:`UsageError` on malformed input or duplicates."""
    try:
        obj: Any = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{source} is not JSON ({e}); expected {FORMAT}") from None
    if not isinstance(obj, dict):
        raise UsageError(f"{source}: expected {FORMAT}")
    if obj.get("version", 1) != 1:
        raise UsageError(f"{source}: version {obj.get('version')!r} is not supported; use 1")
    items = obj.get("partitions")
    if not isinstance(items, list):
        raise UsageError(f"{source}: missing partitions field; expected {FORMAT}")
    out: list[tuple[TopicPartition, int]] = []
    for i, item in enumerate(items):
        ok = isinstance(item, dict) and isinstance(item.get("topic"), str)
        ok = ok and all(isinstance(item.get(k), int) and not isinstance(item.get(k), bool)
                        for k in ("partition", "offset"))
        if not ok:
            raise UsageError(f"{source}: partitions[{i}] needs a string topic and integer partition and offset")
        out.append((TopicPartition(item["topic"], item["partition"]), item["offset"]))
    seen: set[TopicPartition] = set()
    dups: set[str] = set()
    for tp, _ in out:
        if tp in seen:
            dups.add(f"{tp.topic}-{tp.partition}")
        seen.add(tp)
    if dups:
        raise UsageError(f"{source} contains duplicate topic partitions: {','.join(sorted(dups))}")
    return out


def _run(args: argparse.Namespace) -> int:
    from kafka_zk.client.errors import IncompatibleBrokerVersion, KafkaConnectionError, KafkaRequestTimeoutError

    try:
        with open(args.offset_json_file, encoding="utf-8") as f:
            wanted = parse_offset_json(f.read(), args.offset_json_file)
    except OSError as e:
        print(f"{PROG}: error: --offset-json-file: {e.strerror}: {args.offset_json_file}", file=sys.stderr)
        return 2
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    print("Executing records delete operation")
    try:
        results = asyncio.run(delete_records(args.bootstrap_server, wanted, args.timeout))
    except ValueError as e:
        print(f"{PROG}: error: --bootstrap-server: {e}", file=sys.stderr)
        return 2
    except (KafkaConnectionError, KafkaRequestTimeoutError, IncompatibleBrokerVersion) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    print("Records delete operation completed:")
    failed = 0
    for tp, _ in wanted:
        code, low = results[tp]
        if code == ErrorCode.NONE:
            print(f"partition: {tp.topic}-{tp.partition}\tlow_watermark: {low}")
        else:
            failed += 1
            print(f"partition: {tp.topic}-{tp.partition}\terror: {code.name}")
    return 1 if failed else 0


async def delete_records(bootstrap: str, wanted: list[tuple[TopicPartition, int]], timeout_s: float
                         ) -> dict[TopicPartition, tuple[ErrorCode, int]]:
    """DeleteRecords at each partition's leader: ``{tp: (error, low_watermark)}``."""
    from kafka_zk.client.admin import AdminClient
    from kafka_zk.protocol.apis import ApiKey
    from kafka_zk.protocol.messages.delete_records import DeleteRecordsRequest

    results: dict[TopicPartition, tuple[ErrorCode, int]] = {}
    admin = AdminClient(bootstrap, client_id="kafka-zk-delete-records", request_timeout_ms=int(timeout_s * 1000))
    try:
        await admin.start()
        cluster = admin.cluster
        await cluster.refresh(sorted({tp.topic for tp, _ in wanted}))
        by_leader: dict[int, list[tuple[TopicPartition, int]]] = {}
        for tp, offset in wanted:
            leader = await cluster.leader_for(tp, refresh_if_unknown=False)
            if leader < 0:
                known = tp.topic in cluster.metadata.topics
                results[tp] = (ErrorCode.LEADER_NOT_AVAILABLE if known else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1)
            else:
                by_leader.setdefault(leader, []).append((tp, offset))

        async def one(node: int, parts: list[tuple[TopicPartition, int]]) -> None:
            topics: dict[str, list[Any]] = {}
            for tp, offset in parts:
                topics.setdefault(tp.topic, []).append(
                    DeleteRecordsRequest.DeleteRecordsPartition(partition_index=tp.partition, offset=offset))
            req = DeleteRecordsRequest(
                topics=[DeleteRecordsRequest.DeleteRecordsTopic(name=t, partitions=ps) for t, ps in topics.items()],
                timeout_ms=int(timeout_s * 1000),
            )
            resp = await cluster.request(node, ApiKey.DELETE_RECORDS, req, timeout=timeout_s + 5)
            for t in resp.topics:
                for p in t.partitions:
                    results[TopicPartition(t.name, p.partition_index)] = (ErrorCode(p.error_code), p.low_watermark)

        await asyncio.gather(*(one(n, ps) for n, ps in by_leader.items()))
    finally:
        await admin.close()
    for tp, _ in wanted:
        results.setdefault(tp, (ErrorCode.UNKNOWN_SERVER_ERROR, -1))
    return results
