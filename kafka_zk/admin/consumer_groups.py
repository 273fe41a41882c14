"""``kafka-zk consumer-groups --bootstrap-server B ...``: list, describe, reset and delete consumer groups.

Kafka's ``kafka-consumer-groups.sh`` over the Kafka protocol (no ZooKeeper needed):

* ``--list`` asks every broker for the groups it coordinates (ListGroups) and prints the union, one per line.
* ``--describe --group G`` finds G's coordinator (FindCoordinator), asks it for the members and their
  assignments (DescribeGroups) and the committed offsets (OffsetFetch with all partitions), asks the partition
  leaders for their log end offsets (ListOffsets, latest = the high watermark) and prints Kafka's table::

      GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID

  one row per partition that is assigned or has a committed offset, plus one row per member without
  partitions; "-" where there is no value. ``--members`` lists members instead, ``--state`` the group state.
  Assignments are read from the members' ConsumerProtocol bytes, so only ``consumer`` groups show partitions.
* ``--reset-offsets --group G (--all-topics | --topic T[:P,P...]) (--to-earliest | --to-latest |
  --to-offset N | --shift-by N) [--execute]`` computes new offsets — clamped to each partition's
  [log start, log end], as Kafka does — prints them, and with ``--execute`` commits them (OffsetCommit as a
  consumer without group management). Only an inactive group (Empty, or unknown) can be reset.
* ``--delete --group G [--group G2 ...]`` deletes empty groups and their offsets (DeleteGroups).
* ``--delete-offsets --group G --topic T[:P,P...] [--topic ...]`` deletes G's committed offsets of those
  partitions (OffsetDelete, KIP-496; a topic without partitions means all of them) and prints Kafka's
  ``TOPIC PARTITION STATUS`` table. A group with members keeps the offsets of topics it still subscribes to
  (``Error: The consumer group is actively subscribed to the topic.``); a topic that does not exist is listed
  with partition "Not Provided".

Exit codes: 0 done, 1 the cluster refused or could not be reached, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from kafka_zk.admin.common import UsageError

from kafka_zk.client.connection import KafkaConnection
from kafka_zk.client.errors import KafkaConnectionError, KafkaRequestTimeoutError
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import (
    DeleteGroupsRequest,
    DescribeGroupsRequest,
    OffsetDeleteRequest,
    FindCoordinatorRequest,
    ListGroupsRequest,
    ListOffsetsRequest,
    MetadataRequest,
    OffsetCommitRequest,
    OffsetFetchRequest,
)

PROG = "kafka-zk consumer-groups"
MISSING = "-"
EARLIEST, LATEST = -2, -1
RETRIABLE = {ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR}


class CommandError(Exception):
    """The cluster refused or could not be reached: one line, exit code 1."""


# ============================================================================================ pure parts


def decode_consumer_assignment(data: bytes) -> list[TopicPartition]:
    """The partitions in a ConsumerProtocol assignment (version int16, [topic string, [int32]], user data).

    Every version (0–3) starts with that layout. Bytes that do not parse give [] (a non-consumer protocol).
    """
    try:
        (_version, count), pos = struct.unpack_from(">hi", data, 0), 6
        out: list[TopicPartition] = []
        for _ in range(max(count, 0)):
            (n,) = struct.unpack_from(">h", data, pos)
            topic = bytes(data[pos + 2 : pos + 2 + n]).decode()
            pos += 2 + n
            (k,) = struct.unpack_from(">i", data, pos)
            parts = struct.unpack_from(f">{max(k, 0)}i", data, pos + 4)
            pos += 4 + 4 * max(k, 0)
            out.extend(TopicPartition(topic, p) for p in parts)
        return out
    except (struct.error, UnicodeDecodeError):
        return []


@dataclass(frozen=True)
class ResetSpec:
    """What ``--reset-offsets`` moves to: ``kind`` is earliest, latest, offset or shift."""

    kind: str
    value: int = 0


def plan_reset(
    spec: ResetSpec,
    partitions: Iterable[TopicPartition],
    committed: Mapping[TopicPartition, int],
    earliest: Mapping[TopicPartition, int],
    latest: Mapping[TopicPartition, int],
) -> tuple[dict[TopicPartition, int], list[str]]:
    """New offset per partition, clamped to [earliest, latest]; returns (offsets, warnings).

    Raises :class:`CommandError` for ``shift`` on a partition without a committed offset (nothing to shift).
    """
    plan: dict[TopicPartition, int] = {}
    warnings: list[str] = []
    for tp in sorted(partitions):
        lo, hi = earliest[tp], latest[tp]
        if spec.kind == "earliest":
            target = lo
        elif spec.kind == "latest":
            target = hi
        elif spec.kind == "offset":
            target = spec.value
        else:
            current = committed.get(tp, -1)
            if current < 0:
                raise CommandError(f"cannot shift the offset of {tp.topic}-{tp.partition}: the group has no committed offset for it")
            target = current + spec.value
        if target < lo:
            warnings.append(f"New offset ({target}) is lower than earliest offset for {tp.topic}-{tp.partition}. Value will be set to {lo}")
            target = lo
        elif target > hi:
            warnings.append(f"New offset ({target}) is higher than latest offset for {tp.topic}-{tp.partition}. Value will be set to {hi}")
            target = hi
        plan[tp] = target
    return plan, warnings


@dataclass
class MemberInfo:
    member_id: str
    client_id: str
    host: str
    partitions: list[TopicPartition] = field(default_factory=list)


@dataclass
class GroupDescription:
    group_id: str
    state: str
    protocol_type: str
    protocol: str
    coordinator: int
    members: list[MemberInfo]


def offset_rows(
    desc: GroupDescription, committed: Mapping[TopicPartition, int], log_end: Mapping[TopicPartition, int]
) -> list[list[str]]:
    """The rows of ``--describe``: assigned or committed partitions by (topic, partition), then idle members."""
    owner: dict[TopicPartition, MemberInfo] = {}
    for m in desc.members:
        for tp in m.partitions:
            owner[tp] = m
    rows = []
    for tp in sorted(set(owner) | {tp for tp, off in committed.items() if off >= 0}):
        current = committed.get(tp, -1)
        end = log_end.get(tp)
        who = owner.get(tp)
        rows.append([
            desc.group_id, tp.topic, str(tp.partition),
            str(current) if current >= 0 else MISSING,
            str(end) if end is not None and end >= 0 else MISSING,
            str(end - current) if current >= 0 and end is not None and end >= 0 else MISSING,
            who.member_id if who else MISSING, who.host if who else MISSING, who.client_id if who else MISSING,
        ])
    for m in desc.members:
        if not m.partitions:
            rows.append([desc.group_id, MISSING, MISSING, MISSING, MISSING, MISSING, m.member_id, m.host, m.client_id])
    return rows


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by one space (Kafka pads to the widest value; the last is not padded)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [str(c).ljust(widths[i]) if i < len(r) - 1 else str(c) for i, c in enumerate(r)]
        lines.append(" ".join(cells).rstrip())
    return "\n".join(lines)


OFFSETS_HEADER = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]
MEMBERS_HEADER = ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]
STATE_HEADER = ["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"]
RESET_HEADER = ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]


# ============================================================================================ the cluster


def parse_bootstrap(text: str) -> list[tuple[str, int]]:
    """``host:port[,host:port...]``; raises :class:`UsageError`."""
    out = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise UsageError(f"--bootstrap-server: expected HOST:PORT[,HOST:PORT...], got {item!r}")
        out.append((host.strip("[]"), int(port)))
    if not out:
        raise UsageError("--bootstrap-server: expected HOST:PORT[,HOST:PORT...]")
    return out


class GroupAdmin:
    """The requests the command makes, each retried on the coordinator errors until ``timeout_s`` passes."""

    def __init__(self, bootstrap: list[tuple[str, int]], timeout_s: float = 30.0) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s
        self._conns: dict[Any, KafkaConnection] = {}
        self.brokers: dict[int, tuple[str, int]] = {}
        self.leaders: dict[TopicPartition, int] = {}
        self.topics: dict[str, list[int]] = {}

    async def __aenter__(self) -> "GroupAdmin":
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in self._conns.values():
            await conn.close()

    # ---- connections ---------------------------------------------------------------------------------

    async def _connect(self, key: Any, host: str, port: int) -> KafkaConnection:
        conn = self._conns.get(key)
        if conn is None or conn.closed:
            conn = await KafkaConnection.open(host, port, client_id="kafka-zk-consumer-groups", timeout=min(10.0, self.timeout_s),
                                              request_timeout=self.timeout_s)
            self._conns[key] = conn
        return conn

    async def any_broker(self) -> KafkaConnection:
        errors = []
        for host, port in self.bootstrap:
            try:
                return await self._connect(("bootstrap", host, port), host, port)
            except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
                errors.append(str(e))
        raise CommandError(f"no broker reachable at {','.join(f'{h}:{p}' for h, p in self.bootstrap)} ({'; '.join(errors)})")

    async def broker(self, node_id: int) -> KafkaConnection:
        if node_id not in self.brokers:
            await self.refresh_metadata()
        if node_id not in self.brokers:
            raise CommandError(f"broker {node_id} is not in the cluster metadata")
        host, port = self.brokers[node_id]
        try:
            return await self._connect(node_id, host, port)
        except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
            raise CommandError(str(e)) from None

    async def refresh_metadata(self) -> None:
        conn = await self.any_broker()
        resp = await conn.request(ApiKey.METADATA, MetadataRequest(topics=None, allow_auto_topic_creation=False))
        self.brokers = {b.node_id: (b.host, b.port) for b in resp.brokers}
        self.topics = {}
        self.leaders = {}
        for t in resp.topics:
            if t.error_code != 0:
                continue
            self.topics[t.name] = sorted(p.partition_index for p in t.partitions)
            for p in t.partitions:
                self.leaders[TopicPartition(t.name, p.partition_index)] = p.leader_id

    async def _backoff(self, what: str, code: ErrorCode) -> None:
        if time.monotonic() > self._deadline:
            raise CommandError(f"{what}: {code.name} for {self.timeout_s:.0f}s")
        await asyncio.sleep(0.1)

    # ---- group requests ------------------------------------------------------------------------------

    async def coordinator(self, group: str) -> tuple[int, KafkaConnection]:
        while True:
            conn = await self.any_broker()
            resp = await conn.request(ApiKey.FIND_COORDINATOR, FindCoordinatorRequest(key=group, key_type=0))
            code = ErrorCode(resp.error_code)
            if code is ErrorCode.NONE:
                self.brokers[resp.node_id] = (resp.host, resp.port)
                return resp.node_id, await self.broker(resp.node_id)
            if code not in RETRIABLE:
                raise CommandError(f"cannot find the coordinator of group '{group}': {code.name}")
            await self._backoff(f"finding the coordinator of group '{group}'", code)

    async def list_groups(self) -> list[str]:
        await self.refresh_metadata()
        found: set[str] = set()
        for node_id in sorted(self.brokers):
            while True:
                resp = await (await self.broker(node_id)).request(ApiKey.LIST_GROUPS, ListGroupsRequest())
                code = ErrorCode(resp.error_code)
                if code is ErrorCode.NONE:
                    break
                if code not in RETRIABLE:
                    raise CommandError(f"broker {node_id} answered ListGroups with {code.name}")
                await self._backoff(f"listing the groups of broker {node_id}", code)
            found.update(g.group_id for g in resp.groups)
        return sorted(found)

    async def describe(self, group: str) -> GroupDescription:
        while True:
            node_id, conn = await self.coordinator(group)
            resp = await conn.request(ApiKey.DESCRIBE_GROUPS, DescribeGroupsRequest(groups=[group]))
            g = resp.groups[0]
            code = ErrorCode(g.error_code)
            if code is ErrorCode.NONE:
                break
            if code not in RETRIABLE:
                raise CommandError(f"cannot describe group '{group}': {code.name}")
            await self._backoff(f"describing group '{group}'", code)
        consumer = g.protocol_type == "consumer"
        members = [
            MemberInfo(m.member_id, m.client_id, m.client_host, decode_consumer_assignment(bytes(m.member_assignment)) if consumer else [])
            for m in g.members
        ]
        return GroupDescription(group, g.group_state, g.protocol_type, g.protocol_data, node_id, members)

    async def committed(self, group: str) -> dict[TopicPartition, int]:
        while True:
            _, conn = await self.coordinator(group)
            resp = await conn.request(ApiKey.OFFSET_FETCH, OffsetFetchRequest(group_id=group, topics=None), version=max(2, conn.pick_version(ApiKey.OFFSET_FETCH)))
            code = ErrorCode(resp.error_code)
            if code is ErrorCode.NONE:
                break
            if code not in RETRIABLE:
                raise CommandError(f"cannot fetch the offsets of group '{group}': {code.name}")
            await self._backoff(f"fetching the offsets of group '{group}'", code)
        return {TopicPartition(t.name, p.partition_index): p.committed_offset for t in resp.topics for p in t.partitions if p.error_code == 0}

    async def list_offsets(self, tps: Iterable[TopicPartition], timestamp: int) -> dict[TopicPartition, int]:
        """Offsets for ``timestamp`` (-1 latest = high watermark, -2 earliest) from each partition's leader."""
        wanted = sorted(set(tps))
        out: dict[TopicPartition, int] = {}
        for attempt in range(2):
            if attempt or any(tp not in self.leaders for tp in wanted):
                await self.refresh_metadata()
            by_leader: dict[int, list[TopicPartition]] = {}
            for tp in wanted:
                if tp not in out and self.leaders.get(tp, -1) >= 0:
                    by_leader.setdefault(self.leaders[tp], []).append(tp)
            for leader, group in by_leader.items():
                topics: dict[str, list[Any]] = {}
                for tp in group:
                    topics.setdefault(tp.topic, []).append(ListOffsetsRequest.ListOffsetsPartition(partition_index=tp.partition, timestamp=timestamp))
                req = ListOffsetsRequest(replica_id=-1, isolation_level=0,
                                         topics=[ListOffsetsRequest.ListOffsetsTopic(name=t, partitions=ps) for t, ps in topics.items()])
                resp = await (await self.broker(leader)).request(ApiKey.LIST_OFFSETS, req)
                for t in resp.topics:
                    for p in t.partitions:
                        if p.error_code == 0:
                            out[TopicPartition(t.name, p.partition_index)] = p.offset
            if all(tp in out for tp in wanted):
                break
        return out

    async def commit(self, group: str, offsets: Mapping[TopicPartition, int]) -> dict[TopicPartition, ErrorCode]:
        topics: dict[str, list[Any]] = {}
        for tp, off in sorted(offsets.items()):
            topics.setdefault(tp.topic, []).append(
                OffsetCommitRequest.OffsetCommitRequestPartition(partition_index=tp.partition, committed_offset=off, committed_metadata="")
            )
        req = OffsetCommitRequest(group_id=group, generation_id=-1, member_id="", retention_time_ms=-1,
                                  topics=[OffsetCommitRequest.OffsetCommitRequestTopic(name=t, partitions=ps) for t, ps in topics.items()])
        while True:
            _, conn = await self.coordinator(group)
            resp = await conn.request(ApiKey.OFFSET_COMMIT, req)
            result = {TopicPartition(t.name, p.partition_index): ErrorCode(p.error_code) for t in resp.topics for p in t.partitions}
            retry = {c for c in result.values() if c in RETRIABLE}
            if not retry:
                return result
            await self._backoff(f"committing offsets of group '{group}'", next(iter(retry)))

    async def delete(self, groups: list[str]) -> dict[str, ErrorCode]:
        out: dict[str, ErrorCode] = {}
        for group in groups:
            while True:
                _, conn = await self.coordinator(group)
                resp = await conn.request(ApiKey.DELETE_GROUPS, DeleteGroupsRequest(groups_names=[group]))
                code = ErrorCode(resp.results[0].error_code)
                if code not in RETRIABLE:
                    out[group] = code
                    break
                await self._backoff(f"deleting group '{group}'", code)
        return out

    async def delete_offsets(self, group: str, tps: Iterable[TopicPartition]) -> tuple[ErrorCode, dict[TopicPartition, ErrorCode]]:
        topics: dict[str, list[Any]] = {}
        for tp in sorted(tps):
            topics.setdefault(tp.topic, []).append(OffsetDeleteRequest.OffsetDeleteRequestPartition(partition_index=tp.partition))
        req = OffsetDeleteRequest(group_id=group, topics=[
            OffsetDeleteRequest.OffsetDeleteRequestTopic(name=t, partitions=ps) for t, ps in topics.items()])
        while True:
            _, conn = await self.coordinator(group)
            resp = await conn.request(ApiKey.OFFSET_DELETE, req)
            code = ErrorCode(resp.error_code)
            if code not in RETRIABLE:
                return code, {TopicPartition(t.name, p.partition_index): ErrorCode(p.error_code) for t in resp.topics for p in t.partitions}
            await self._backoff(f"deleting offsets of group '{group}'", code)


# ============================================================================================ the command


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("consumer-groups", help="list, describe, reset offsets of and delete consumer groups",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--bootstrap-server", metavar="HOST:PORT[,HOST:PORT]", help="brokers to connect to")
    where.add_argument("--zookeeper", metavar="HOST:PORT[/CHROOT]",
                       help="groups with ZooKeeper-stored (v0) offsets: --list, --describe, --delete")
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="list all consumer groups")
    action.add_argument("--describe", action="store_true", help="describe a group (offsets and lag by default)")
    action.add_argument("--reset-offsets", action="store_true", help="reset the committed offsets of an inactive group")
    action.add_argument("--delete", action="store_true", help="delete empty groups and their offsets")
    action.add_argument("--delete-offsets", action="store_true",
                        help="delete a group's committed offsets of the --topic partitions (KIP-496)")
    p.add_argument("--group", action="append", default=[], metavar="GROUP", help="the group (repeat for --delete)")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--offsets", action="store_true", help="--describe: offsets and lag (the default)")
    view.add_argument("--members", action="store_true", help="--describe: the members")
    view.add_argument("--state", action="store_true", help="--describe: the group state")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--all-topics", action="store_true", help="--reset-offsets: every topic the group has offsets for")
    scope.add_argument("--topic", action="append", metavar="TOPIC[:P,P]", help="--reset-offsets, --delete-offsets: a topic, optionally some partitions")
    to = p.add_mutually_exclusive_group()
    to.add_argument("--to-earliest", action="store_true", help="reset to the log start offset")
    to.add_argument("--to-latest", action="store_true", help="reset to the log end offset")
    to.add_argument("--to-offset", type=int, metavar="N", help="reset to offset N")
    to.add_argument("--shift-by", type=int, metavar="N", help="move the committed offset by N (may be negative)")
    run = p.add_mutually_exclusive_group()
    run.add_argument("--execute", action="store_true", help="--reset-offsets: commit the new offsets")
    run.add_argument("--dry-run", action="store_true", help="--reset-offsets: only show them (the default)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the cluster (default 30)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.zookeeper:
        return _run_zookeeper(args)
    try:
        bootstrap = parse_bootstrap(args.bootstrap_server)
        _check_args(args)
        return asyncio.run(_main(args, bootstrap))
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except CommandError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1


def _run_zookeeper(args: argparse.Namespace) -> int:
    from kafka_zk.admin import zk_groups

    if not (args.list or args.describe or args.delete) or args.members or args.state:
        print(f"{PROG}: error: with --zookeeper only --list, --describe [--offsets] and --delete are "
              f"supported (use --bootstrap-server for the rest)", file=sys.stderr)
        return 2
    if args.delete and not args.group:
        print(f"{PROG}: error: --delete needs --group G", file=sys.stderr)
        return 2
    if args.describe and len(args.group) != 1:
        print(f"{PROG}: error: --describe needs one --group", file=sys.stderr)
        return 2
    return zk_groups.run(args)


def _check_args(args: argparse.Namespace) -> None:
    if (args.describe or args.reset_offsets or args.delete or args.delete_offsets) and not args.group:
        raise UsageError("--group is required with --describe, --reset-offsets, --delete and --delete-offsets")
    if (args.describe or args.reset_offsets or args.delete_offsets) and len(args.group) > 1:
        raise UsageError("give one --group with --describe, --reset-offsets and --delete-offsets")
    if args.delete_offsets:
        if not args.topic:
            raise UsageError("--delete-offsets needs at least one --topic TOPIC[:P,P]")
        if args.execute or args.all_topics or args.to_earliest or args.to_latest or args.to_offset is not None or args.shift_by is not None:
            raise UsageError("--delete-offsets takes only --group and --topic TOPIC[:P,P]")
        for spec in args.topic:
            _parse_topic_spec(spec)
    if args.reset_offsets:
        if not (args.all_topics or args.topic):
            raise UsageError("--reset-offsets needs a scope: --all-topics or --topic TOPIC[:P,P]")
        if not (args.to_earliest or args.to_latest or args.to_offset is not None or args.shift_by is not None):
            raise UsageError("--reset-offsets needs one of --to-earliest, --to-latest, --to-offset N, --shift-by N")
    elif not args.delete_offsets and (args.execute or args.all_topics or args.topic or args.to_earliest or args.to_latest or args.to_offset is not None or args.shift_by is not None):
        raise UsageError("--execute, --all-topics, --topic and --to-*/--shift-by only go with --reset-offsets")
    if (args.members or args.state or args.offsets) and not args.describe:
        raise UsageError("--offsets, --members and --state only go with --describe")


async def _main(args: argparse.Namespace, bootstrap: list[tuple[str, int]]) -> int:
    async with GroupAdmin(bootstrap, args.timeout) as admin:
        if args.list:
            for g in await admin.list_groups():
                print(g)
            return 0
        if args.delete:
            return _report_deletes(await admin.delete(args.group))
        if args.delete_offsets:
            return await _delete_offsets(admin, args)
        if args.describe:
            return await _describe(admin, args)
        return await _reset(admin, args)


async def _describe(admin: GroupAdmin, args: argparse.Namespace) -> int:
    group = args.group[0]
    desc = await admin.describe(group)
    if desc.state == "Dead":
        print(f"Error: Consumer group '{group}' does not exist.", file=sys.stderr)
        return 1
    if desc.state == "Empty":
        print(f"\nConsumer group '{group}' has no active members.", file=sys.stderr)
    elif desc.state in ("PreparingRebalance", "CompletingRebalance"):
        print(f"\nWarning: Consumer group '{group}' is rebalancing.", file=sys.stderr)
    if args.state:
        coordinator = admin.brokers.get(desc.coordinator, ("?", 0))
        row = [group, f"{coordinator[0]}:{coordinator[1]} ({desc.coordinator})", desc.protocol or "", desc.state, str(len(desc.members))]
        print("\n" + render_table(STATE_HEADER, [row]))
        return 0
    if args.members:
        rows = [[group, m.member_id, m.host, m.client_id, str(len(m.partitions))] for m in desc.members]
        print("\n" + render_table(MEMBERS_HEADER, rows))
        return 0
    committed = await admin.committed(group)
    tps = {tp for tp, off in committed.items() if off >= 0} | {tp for m in desc.members for tp in m.partitions}
    log_end = await admin.list_offsets(tps, LATEST) if tps else {}
    print("\n" + render_table(OFFSETS_HEADER, offset_rows(desc, committed, log_end)))
    return 0


def _reset_spec(args: argparse.Namespace) -> ResetSpec:
    if args.to_earliest:
        return ResetSpec("earliest")
    if args.to_latest:
        return ResetSpec("latest")
    if args.to_offset is not None:
        return ResetSpec("offset", args.to_offset)
    return ResetSpec("shift", args.shift_by)


async def _reset(admin: GroupAdmin, args: argparse.Namespace) -> int:
    group = args.group[0]
    desc = await admin.describe(group)
    if desc.state not in ("Empty", "Dead"):
        raise CommandError(f"Assignments can only be reset if the group '{group}' is inactive, but the current state is {desc.state}.")
    committed = await admin.committed(group)
    await admin.refresh_metadata()
    if args.all_topics:
        partitions = {tp for tp, off in committed.items() if off >= 0}
    else:
        partitions = set()
        for spec in args.topic:
            topic, _, parts = spec.partition(":")
            if topic not in admin.topics:
                raise CommandError(f"topic '{topic}' does not exist")
            if parts:
                try:
                    chosen = [int(x) for x in parts.split(",") if x]
                except ValueError:
                    raise UsageError(f"--topic {spec}: partitions must be integers, e.g. {topic}:0,1") from None
                missing = [p for p in chosen if p not in admin.topics[topic]]
                if missing:
                    raise CommandError(f"topic '{topic}' has no partition {missing[0]}")
            else:
                chosen = admin.topics[topic]
            partitions.update(TopicPartition(topic, p) for p in chosen)
    if not partitions:
        raise CommandError(f"nothing to reset: group '{group}' has no committed offsets (name topics with --topic)")
    earliest = await admin.list_offsets(partitions, EARLIEST)
    latest = await admin.list_offsets(partitions, LATEST)
    unknown = sorted(tp for tp in partitions if tp not in earliest or tp not in latest)
    if unknown:
        raise CommandError(f"cannot read the offsets of {unknown[0].topic}-{unknown[0].partition} (no leader?)")
    plan, warnings = plan_reset(_reset_spec(args), partitions, committed, earliest, latest)
    for w in warnings:
        print(f"WARN: {w}", file=sys.stderr)
    if args.execute:
        errors = {tp: code for tp, code in (await admin.commit(group, plan)).items() if code is not ErrorCode.NONE}
        if errors:
            tp, code = next(iter(sorted(errors.items())))
            raise CommandError(f"committing the new offsets failed for {len(errors)} partition(s), e.g. {tp.topic}-{tp.partition}: {code.name}")
    else:
        print("WARN: No action will be performed as the --execute option is missing. "
              "In a future major release, the default behavior of this command will be to prompt the user before executing "
              "the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting "
              "this command and want to keep the current default behavior without prompting.", file=sys.stderr)
    rows = [[group, tp.topic, str(tp.partition), str(off)] for tp, off in sorted(plan.items())]
    print("\n" + render_table(RESET_HEADER, rows))
    return 0


def _parse_topic_spec(spec: str) -> tuple[str, list[int] | None]:
    """``T`` (every partition) or ``T:0,1``; a UsageError names the right form."""
    topic, _, parts = spec.partition(":")
    if not topic:
        raise UsageError(f"--topic {spec}: give a topic name, e.g. orders or orders:0,1")
    if not parts:
        return topic, None
    try:
        return topic, [int(x) for x in parts.split(",") if x]
    except ValueError:
        raise UsageError(f"--topic {spec}: partitions must be integers, e.g. {topic}:0,1") from None


#: Kafka's ``Errors.message()`` of what OffsetDelete answers per partition.
PARTITION_ERROR_MESSAGES = {
    ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC: "The consumer group is actively subscribed to the topic.",
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: "This server does not host this topic-partition.",
}

#: Kafka 2.8 ``ConsumerGroupCommand.deleteOffsets``'s line per top-level error ({g} = the group).
DELETE_OFFSETS_GROUP_ERRORS = {
    ErrorCode.INVALID_GROUP_ID: "'{g}' is not valid.",
    ErrorCode.GROUP_ID_NOT_FOUND: "'{g}' does not exist.",
    ErrorCode.NON_EMPTY_GROUP: "Deleting offsets of a consumer group '{g}' is forbidden if the group is not empty.",
}


def delete_offsets_report(group: str, topics: Sequence[str], error: ErrorCode, results: Mapping[TopicPartition, ErrorCode]) -> str:
    """What ``kafka-consumer-groups.sh --delete-offsets`` prints (a partition -1 is "Not Provided")."""
    lines = []
    if error is ErrorCode.NONE and all(c is ErrorCode.NONE for c in results.values()):
        lines.append(f"Request succeed for deleting offsets with topic {', '.join(topics)} group {group}")
    elif error in DELETE_OFFSETS_GROUP_ERRORS:
        lines.append("\nError: " + DELETE_OFFSETS_GROUP_ERRORS[error].format(g=group))
    elif error is ErrorCode.NONE:
        lines.append("\nError: Encounter some partition level error, see the follow-up details:")
    else:
        lines.append(f"\nError: Encounter some unknown error: {error.name}")
    lines.append("\n%-30s %-15s %-15s" % ("TOPIC", "PARTITION", "STATUS"))
    for tp, code in sorted(results.items(), key=lambda kv: kv[0].topic + str(kv[0].partition)):
        status = "Successful" if code is ErrorCode.NONE else f"Error: {PARTITION_ERROR_MESSAGES.get(code, code.name)}"
        lines.append("%-30s %-15s %-15s" % (tp.topic, tp.partition if tp.partition >= 0 else "Not Provided", status))
    return "\n".join(lines)


async def _delete_offsets(admin: GroupAdmin, args: argparse.Namespace) -> int:
    group = args.group[0]
    await admin.refresh_metadata()
    wanted: set[TopicPartition] = set()
    results: dict[TopicPartition, ErrorCode] = {}
    topics: list[str] = []
    for spec in args.topic:
        topic, parts = _parse_topic_spec(spec)
        topics.append(topic)
        if topic not in admin.topics:
            results[TopicPartition(topic, -1)] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            continue
        wanted.update(TopicPartition(topic, p) for p in (admin.topics[topic] if parts is None else parts))
    error = ErrorCode.NONE
    if wanted or not results:
        error, answered = await admin.delete_offsets(group, wanted)
        results.update(answered)
    if error is not ErrorCode.NONE:
        results = {}
    print(delete_offsets_report(group, topics, error, results))
    return 0 if error is ErrorCode.NONE and all(c is ErrorCode.NONE for c in results.values()) else 1


def _report_deletes(results: Mapping[str, ErrorCode]) -> int:
    failed = {g: c for g, c in results.items() if c is not ErrorCode.NONE}
    ok = [g for g in results if g not in failed]
    if ok:
        print("Deletion of requested consumer groups (" + ", ".join(f"'{g}'" for g in ok) + ") was successful.")
    if failed:
        print("Error: Deletion of some consumer groups failed:", file=sys.stderr)
        for g, code in failed.items():
            print(f"* Group '{g}' could not be deleted due to: {code.name}", file=sys.stderr)
        return 1
    return 0
