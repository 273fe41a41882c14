"""``kafka-zk topics``: Kafka's ``kafka-topics.sh`` — create, list, describe, delete and alter topics.

Two ways to reach the cluster, as in Kafka 2.x:

* ``--zookeeper HOST:PORT[/chroot]`` writes and reads ZooKeeper directly, like the broker's own admin path
  (``kafka_zk.server.admin_zk.TopicAdmin``: validation, replica placement, ``/config/topics/<t>`` then
  ``/brokers/topics/<t>``); the controller notices the new znodes and elects leaders. ``--describe`` reads the
  assignment and each partition's state znode (leader, ISR). Placement: ``--placement modulo`` (the default,
  like the broker's ``replica.placement.strategy``: partition i's replica j on broker (i+j) mod n) or
  ``kafka`` (Kafka's randomised rack-unaware rule).
* ``--bootstrap-server HOST:PORT`` goes through the Kafka protocol (:class:`kafka_zk.client.admin.AdminClient`:
  CreateTopics / DeleteTopics / CreatePartitions at the controller, Metadata, Describe/AlterConfigs); the
  broker places replicas with its own ``replica.placement.strategy``.

Output follows Kafka's tool: ``Created topic T.``; ``--describe`` prints
``Topic: T<TAB>PartitionCount: P<TAB>ReplicationFactor: R<TAB>Configs: k=v,...`` and one line per partition
``<TAB>Topic: T<TAB>Partition: 0<TAB>Leader: 1<TAB>Replicas: 1,2,0<TAB>Isr: 1,2,0`` (``Leader: none`` without
one); a name containing '.' or '_' prints Kafka's metric-name collision WARNING. ``--topic`` is a name or,
except for ``--create``, Kafka's topic whitelist: a regular expression (``,`` means "or") matched against the
whole name.

Exit codes: 0 done; 1 the operation failed (topic exists, does not exist, cluster unreachable, the broker
refused); 2 bad arguments (one line on stderr: what is wrong and what would be right).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from kafka_zk.admin.common import UsageError

from kafka_zk.common.config import ConfigError, parse_kv_args
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.topic_names import has_collision_chars, is_internal, validate_topic_name

PROG = "kafka-zk topics"
COLLISION_WARNING = ("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') "
                     "could collide. To avoid issues it is best to use either, but not both.")
PARTITIONS_WARNING = ("WARNING: If partitions are increased for a topic that has a key, the partition logic or "
                      "ordering of the messages will be affected")
ACTIONS = ("create", "list", "describe", "delete", "alter")


class OperationError(Exception):
    """The cluster refused or could not be reached: one line, exit code 1."""


# ------------------------------------------------------------------------------------------------ parser


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("topics", help="create, list, describe, delete and alter topics (kafka-topics.sh)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_argument_group("cluster (exactly one)")
    where.add_argument("--zookeeper", metavar="HOST:PORT[/CHROOT]",
                       help="ZooKeeper connect string (default: $KAFKA_ZK_CONNECT unless --bootstrap-server)")
    where.add_argument("--bootstrap-server", metavar="HOST:PORT[,...]", help="brokers to talk to (Kafka protocol)")
    act = p.add_argument_group("action (exactly one)")
    for name in ACTIONS:
        act.add_argument(f"--{name}", action="store_true", help=_ACTION_HELP[name])
    p.add_argument("--topic", help="topic name; a regular expression (',' = or) except with --create")
    p.add_argument("--partitions", type=_int_arg("--partitions"), help="partition count (create; alter: new total)")
    p.add_argument("--replication-factor", type=_int_arg("--replication-factor"), help="replicas per partition (create)")
    p.add_argument("--replica-assignment", metavar="B:B,B:B",
                   help="explicit placement: partition i's broker ids in list i, preferred leader first")
    p.add_argument("--config", action="append", default=[], metavar="K=V", help="topic config override (repeatable)")
    p.add_argument("--delete-config", action="append", default=[], metavar="K", help="remove an override (alter)")
    p.add_argument("--if-not-exists", action="store_true", help="create: do nothing if the topic exists")
    p.add_argument("--if-exists", action="store_true", help="alter/delete/describe: do nothing if no topic matches")
    p.add_argument("--placement", choices=("modulo", "kafka"), default=None,
                   help="ZooKeeper mode: replica placement rule (default modulo)")
    p.add_argument("--under-replicated-partitions", action="store_true", help="describe: only partitions with ISR < replicas")
    p.add_argument("--unavailable-partitions", action="store_true", help="describe: only partitions without a live leader")
    p.add_argument("--exclude-internal", action="store_true", help="list/describe: leave out internal topics")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the cluster (default 30)")
    p.set_defaults(func=run)


_ACTION_HELP = {
    "create": "create a topic",
    "list": "list topic names",
    "describe": "partition count, replication factor, configs, and each partition's leader/replicas/ISR",
    "delete": "delete topics (the controller deletes them asynchronously)",
    "alter": "add partitions (--partitions N) and/or change configs (--config / --delete-config)",
}


def _int_arg(flag: str) -> Any:
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes a whole number, got {text!r}") from None
    return parse


# ------------------------------------------------------------------------------------------- validation


@dataclass
class Request:
    """The checked arguments."""

    action: str
    zookeeper: str | None
    bootstrap: str | None
    topic: str | None
    partitions: int | None
    replication_factor: int | None
    assignment: dict[int, list[int]] | None
    configs: dict[str, str]
    delete_configs: list[str]
    args: argparse.Namespace


def check_args(args: argparse.Namespace) -> Request:
    """Validate the combination of arguments (no I/O). Raises :class:`UsageError`."""
    actions = [a for a in ACTIONS if getattr(args, a)]
    if len(actions) != 1:
        raise UsageError("give exactly one action: --create, --list, --describe, --delete or --alter"
                         + (f" (got {', '.join('--' + a for a in actions)})" if actions else ""))
    action = actions[0]
    zookeeper = args.zookeeper
    if args.zookeeper and args.bootstrap_server:
        raise UsageError("give either --zookeeper or --bootstrap-server, not both")
    if not args.zookeeper and not args.bootstrap_server:
        zookeeper = os.environ.get("KAFKA_ZK_CONNECT")
        if not zookeeper:
            raise UsageError("no cluster given: use --bootstrap-server HOST:PORT or --zookeeper HOST:PORT[/chroot]")
    if args.placement and not zookeeper:
        raise UsageError("--placement only applies with --zookeeper (the broker places replicas in bootstrap mode)")
    if action in ("create", "alter", "delete") and not args.topic:
        raise UsageError(f"--{action} needs --topic")
    for flag, allowed in (("partitions", ("create", "alter")), ("replication_factor", ("create",)),
                          ("replica_assignment", ("create", "alter")), ("config", ("create", "alter")),
                          ("delete_config", ("alter",)), ("if_not_exists", ("create",)),
                          ("if_exists", ("alter", "delete", "describe")),
                          ("under_replicated_partitions", ("describe",)), ("unavailable_partitions", ("describe",)),
                          ("exclude_internal", ("list", "describe")), ("placement", ("create", "alter"))):
        value = getattr(args, flag)
        if value not in (None, False, []) and action not in allowed:
            raise UsageError(f"--{flag.replace('_', '-')} cannot be used with --{action} "
                             f"(only with {', '.join('--' + a for a in allowed)})")
    if args.partitions is not None and args.partitions < 1:
        raise UsageError(f"--partitions must be at least 1, got {args.partitions}")
    if args.replication_factor is not None and args.replication_factor < 1:
        raise UsageError(f"--replication-factor must be at least 1, got {args.replication_factor}")
    assignment = None
    if args.replica_assignment is not None:
        if action == "create" and (args.partitions is not None or args.replication_factor is not None):
            raise UsageError("--replica-assignment cannot be used with --partitions/--replication-factor "
                             "(the assignment says both)")
        if action == "alter" and args.partitions is None:
            raise UsageError("--replica-assignment with --alter needs --partitions (the new total)")
        from kafka_zk.controller.placement import parse_replica_assignment

        try:
            assignment = parse_replica_assignment(args.replica_assignment)
        except KafkaError as e:
            raise UsageError(f"--replica-assignment: {e.message}") from None
    try:
        configs = parse_kv_args(args.config, "--config")
    except ConfigError as e:
        raise UsageError(str(e)) from None
    delete_configs = [k.strip() for k in args.delete_config]
    if action == "create":
        try:
            validate_topic_name(args.topic)
        except KafkaError as e:
            raise UsageError(f"invalid topic name: {e.message}") from None
        if zookeeper and assignment is None and (args.partitions is None or args.replication_factor is None):
            raise UsageError("--create with --zookeeper needs --partitions and --replication-factor "
                             "(or --replica-assignment)")
        if configs:
            _validate_configs(configs)
    if action == "alter":
        if args.partitions is None and not configs and not delete_configs:
            raise UsageError("--alter needs --partitions N and/or --config K=V / --delete-config K")
        if configs:
            _validate_configs(configs)
        unknown = [k for k in delete_configs if not _is_topic_config_key(k)]
        if unknown:
            raise UsageError(f"--delete-config: unknown topic config key(s) {', '.join(unknown)}")
    return Request(action, zookeeper, args.bootstrap_server, args.topic, args.partitions, args.replication_factor,
                   assignment, configs, delete_configs, args)


def _validate_configs(configs: dict[str, str]) -> None:
    from kafka_zk.server.admin_zk import validate_topic_config

    try:
        validate_topic_config(configs)
    except KafkaError as e:
        raise UsageError(f"--config: {e.message}") from None


def _is_topic_config_key(key: str) -> bool:
    from kafka_zk.log.config import LogConfig

    try:
        LogConfig({key: ""})
    except ConfigError as e:
        return "unknown" not in str(e)
    return True


def topic_filter(spec: str) -> re.Pattern[str] | None:
    """Kafka's whitelist: ``,`` separates alternatives; surrounding quotes are dropped. ``None`` if ``spec`` is
    not a valid regular expression (it is then matched as a plain name)."""
    pattern = spec.strip().strip("\"'").replace(",", "|")
    try:
        return re.compile(pattern)
    except re.error:
        return None


def select_topics(spec: str | None, names: Iterable[str]) -> list[str]:
    """The names ``spec`` selects (all when ``None``), sorted. An exact name always selects itself."""
    all_names = sorted(set(names))
    if spec is None:
        return all_names
    rx = topic_filter(spec)
    return [n for n in all_names if n == spec or (rx is not None and rx.fullmatch(n) is not None)]


# ------------------------------------------------------------------------------------------- formatting


@dataclass(frozen=True)
class PartitionRow:
    partition: int
    leader: int  # -1: none
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


def describe_lines(topic: str, rows: Sequence[PartitionRow], configs: dict[str, str], live_brokers: set[int],
                   under_replicated: bool = False, unavailable: bool = False,
                   marked_for_deletion: bool = False) -> list[str]:
    """Kafka's ``--describe`` output for one topic (pure). With a partition filter the header is left out and
    only matching partitions are listed, as Kafka does."""
    rows = sorted(rows, key=lambda r: r.partition)
    lines: list[str] = []
    if not under_replicated and not unavailable:
        rf = len(rows[0].replicas) if rows else 0
        header = (f"Topic: {topic}\tPartitionCount: {len(rows)}\tReplicationFactor: {rf}\t"
                  f"Configs: {','.join(f'{k}={v}' for k, v in sorted(configs.items()))}")
        if marked_for_deletion:
            header += "\tMarkedForDeletion: true"
        lines.append(header)
    for r in rows:
        no_leader = r.leader < 0 or r.leader not in live_brokers
        if under_replicated and not len(r.isr) < len(r.replicas):
            continue
        if unavailable and not no_leader:
            continue
        leader = "none" if r.leader < 0 else str(r.leader)
        lines.append(f"\tTopic: {topic}\tPartition: {r.partition}\tLeader: {leader}\t"
                     f"Replicas: {','.join(map(str, r.replicas))}\tIsr: {','.join(map(str, r.isr))}")
    return lines


# ------------------------------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    try:
        req = check_args(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    try:
        if req.zookeeper:
            run_zookeeper(req)
        else:
            asyncio.run(run_bootstrap(req))
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OperationError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0


def _selected(req: Request, names: Iterable[str], internal: Callable[[str], bool] = is_internal) -> list[str]:
    """The topics an action works on; OperationError when ``--topic`` matches nothing (unless --if-exists)."""
    chosen = select_topics(req.topic, names)
    if req.args.exclude_internal:
        chosen = [n for n in chosen if not internal(n)]
    if req.topic is not None and not chosen and not req.args.if_exists and req.action != "list":
        raise OperationError(f"topic '{req.topic}' does not exist (see --list, or use --if-exists)")
    return chosen


def _new_partition_assignment(req: Request, existing: int) -> list[list[int]] | None:
    """``--replica-assignment`` with ``--alter``: Kafka 2.x lists every partition and drops the first
    ``existing`` lists; a list of only the new partitions is accepted too."""
    if req.assignment is None:
        return None
    lists = [req.assignment[p] for p in sorted(req.assignment)]
    total = req.partitions or 0
    if len(lists) == total:
        return lists[existing:]
    if len(lists) == total - existing:
        return lists
    raise UsageError(f"--replica-assignment lists {len(lists)} partitions; with --partitions {total} and "
                     f"{existing} existing give all {total} or only the {total - existing} new ones")


def _merged_configs(current: dict[str, str], req: Request) -> dict[str, str]:
    merged = {**current, **req.configs}
    for k in req.delete_configs:
        merged.pop(k, None)
    return merged


def _print_created(topic: str) -> None:
    print(f"Created topic {topic}.")


def _warn_collision(topic: str) -> None:
    if has_collision_chars(topic):
        print(COLLISION_WARNING)


# ----------------------------------------------------------------------------------------- ZooKeeper mode


def run_zookeeper(req: Request) -> None:
    """Carry out ``req`` against ZooKeeper. Raises OperationError / UsageError."""
    from kafka_zk.admin.common import quiet_kazoo
    from kafka_zk.server.admin_zk import TopicAdmin
    from zk_layout import KafkaZkClient, ZkLayoutError

    quiet_kazoo()
    assert req.zookeeper is not None
    try:
        zk = KafkaZkClient(req.zookeeper, session_timeout_ms=10000,
                           connection_timeout_ms=int(req.args.timeout * 1000), create_chroot=False)
    except ValueError as e:
        raise UsageError(f"--zookeeper: {e}") from None
    try:
        zk.start()
        admin = TopicAdmin(zk, placement_mode=req.args.placement or "modulo")
        {"create": _zk_create, "list": _zk_list, "describe": _zk_describe, "delete": _zk_delete,
         "alter": _zk_alter}[req.action](req, zk, admin)
    except ZkLayoutError as e:
        raise OperationError(str(e)) from None
    except KafkaError as e:
        raise OperationError(kafka_error_text(e)) from None
    finally:
        zk.close()


def _zk_create(req: Request, zk: Any, admin: Any) -> None:
    assert req.topic is not None
    if req.args.if_not_exists and zk.topic_exists(req.topic):
        return
    if not zk.get_broker_ids():
        raise OperationError(f"no brokers are registered under {req.zookeeper} (is the chroot right? "
                             "kafka-zk cluster up prints zookeeper.connect=HOST:PORT/kafka)")
    _warn_collision(req.topic)
    try:
        admin.create_topic(req.topic, req.partitions or 0, req.replication_factor or 0, req.configs, req.assignment)
    except KafkaError as e:
        if e.code == ErrorCode.TOPIC_ALREADY_EXISTS:
            raise OperationError(f"topic '{req.topic}' already exists (use --if-not-exists to skip it)") from None
        raise
    _print_created(req.topic)


def _zk_list(req: Request, zk: Any, admin: Any) -> None:
    deleting = set(zk.get_topic_deletions())
    for name in _selected(req, zk.get_all_topics()):
        print(f"{name} - marked for deletion" if name in deleting else name)


def _zk_describe(req: Request, zk: Any, admin: Any) -> None:
    names = _selected(req, zk.get_all_topics())
    live = set(zk.get_broker_ids())
    deleting = set(zk.get_topic_deletions())
    assignments = zk.get_topic_assignments(names)
    for name in names:
        got = assignments.get(name)
        if got is None:
            continue  # deleted meanwhile
        ta = got[0]
        states = zk.get_partition_states([(name, p) for p in ta.partitions])
        rows = []
        for p, replicas in ta.partitions.items():
            st = states.get((name, p))
            leader, isr = (st[0].leader, st[0].isr) if st is not None else (-1, ())
            rows.append(PartitionRow(p, leader, tuple(replicas), tuple(isr)))
        configs = zk.get_entity_config("topics", name)
        for line in describe_lines(name, rows, configs, live, req.args.under_replicated_partitions,
                                   req.args.unavailable_partitions, name in deleting):
            print(line)


def _zk_delete(req: Request, zk: Any, admin: Any) -> None:
    deleting = set(zk.get_topic_deletions())
    for name in _selected(req, zk.get_all_topics()):
        if is_internal(name):
            raise OperationError(f"topic '{name}' is an internal topic and cannot be deleted")
        if name in deleting:
            print(f"Topic {name} is already marked for deletion.")
            continue
        admin.delete_topic(name)
        print(f"Topic {name} is marked for deletion.")
        print("Note: This will have no impact if delete.topic.enable is not set to true.")


def _zk_alter(req: Request, zk: Any, admin: Any) -> None:
    for name in _selected(req, zk.get_all_topics()):
        if req.configs or req.delete_configs:
            admin.alter_topic_config(name, _merged_configs(zk.get_entity_config("topics", name), req))
            print(f"Updated config for topic {name}.")
        if req.partitions is not None:
            if is_internal(name):
                raise OperationError(f"the number of partitions of internal topic '{name}' cannot be changed")
            got = zk.get_topic_assignment(name)
            existing = 0 if got is None else len(got[0].partitions)
            print(PARTITIONS_WARNING)
            admin.create_partitions(name, req.partitions, _new_partition_assignment(req, existing))
            print("Adding partitions succeeded!")


# ----------------------------------------------------------------------------------------- bootstrap mode


async def run_bootstrap(req: Request) -> None:
    """Carry out ``req`` through the Kafka protocol. Raises OperationError / UsageError."""
    from kafka_zk.client.admin import AdminClient
    from kafka_zk.client.errors import IncompatibleBrokerVersion, KafkaConnectionError, KafkaRequestTimeoutError

    assert req.bootstrap is not None
    try:
        admin = AdminClient(req.bootstrap, request_timeout_ms=int(req.args.timeout * 1000))
    except ValueError as e:
        raise UsageError(f"--bootstrap-server: {e}") from None
    try:
        await admin.start()
        await {"create": _bs_create, "list": _bs_list, "describe": _bs_describe, "delete": _bs_delete,
               "alter": _bs_alter}[req.action](req, admin)
    except (KafkaConnectionError, KafkaRequestTimeoutError, IncompatibleBrokerVersion) as e:
        raise OperationError(str(e)) from None
    except KafkaError as e:
        raise OperationError(kafka_error_text(e)) from None
    finally:
        await admin.close()


def _timeout_ms(req: Request) -> int:
    return int(req.args.timeout * 1000)


async def _bs_create(req: Request, admin: Any) -> None:
    from kafka_zk.client.admin import NewTopic

    assert req.topic is not None
    _warn_collision(req.topic)
    topic = NewTopic(req.topic, req.partitions or -1, req.replication_factor or -1, req.assignment, req.configs)
    err = (await admin.create_topics([topic], timeout_ms=_timeout_ms(req)))[req.topic]
    if err is not None and err.code == ErrorCode.TOPIC_ALREADY_EXISTS:
        if req.args.if_not_exists:
            return
        raise OperationError(f"topic '{req.topic}' already exists (use --if-not-exists to skip it)")
    if err is not None and err.code != ErrorCode.REQUEST_TIMED_OUT:
        raise err
    _print_created(req.topic)
    if err is not None:
        print(f"WARNING: leaders of {req.topic} were not all elected within {req.args.timeout:g}s", file=sys.stderr)


async def _bs_topics(admin: Any) -> dict[str, bool]:
    """Every topic name → is_internal."""
    md = await admin.cluster.refresh(None)
    return {n: t.is_internal for n, t in md.topics.items()}


async def _bs_list(req: Request, admin: Any) -> None:
    topics = await _bs_topics(admin)
    for name in _selected(req, topics, lambda n: topics[n]):
        print(name)


async def _bs_describe(req: Request, admin: Any) -> None:
    topics = await _bs_topics(admin)
    names = _selected(req, topics, lambda n: topics[n])
    described = await admin.describe_topics(names)
    live = set(admin.cluster.metadata.brokers)
    for name in names:
        tmd = described[name]
        if tmd.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
            continue  # deleted meanwhile
        rows = [PartitionRow(p.partition, p.leader, p.replicas, p.isr) for p in tmd.partitions.values()]
        try:
            configs = await admin.topic_config_overrides(name)
        except KafkaError as e:
            if e.code != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
                raise
            configs = {}
        for line in describe_lines(name, rows, configs, live, req.args.under_replicated_partitions,
                                   req.args.unavailable_partitions):
            print(line)


async def _bs_delete(req: Request, admin: Any) -> None:
    topics = await _bs_topics(admin)
    names = _selected(req, topics, lambda n: topics[n])
    internal = [n for n in names if topics[n] or is_internal(n)]
    if internal:
        raise OperationError(f"topic '{internal[0]}' is an internal topic and cannot be deleted")
    if not names:
        return
    results = await admin.delete_topics(names, timeout_ms=_timeout_ms(req))
    for name in names:
        err = results.get(name)
        if err is not None and err.code != ErrorCode.REQUEST_TIMED_OUT:
            raise OperationError(f"cannot delete topic '{name}': {kafka_error_text(err)}")
        print(f"Topic {name} is marked for deletion.")


async def _bs_alter(req: Request, admin: Any) -> None:
    from kafka_zk.client.admin import RESOURCE_TOPIC

    topics = await _bs_topics(admin)
    names = _selected(req, topics, lambda n: topics[n])
    for name in names:
        if req.configs or req.delete_configs:
            merged = _merged_configs(await admin.topic_config_overrides(name), req)
            err = (await admin.alter_configs({(RESOURCE_TOPIC, name): merged}))[(RESOURCE_TOPIC, name)]
            if err is not None:
                raise OperationError(f"cannot alter configs of '{name}': {kafka_error_text(err)}")
            print(f"Updated config for topic {name}.")
        if req.partitions is not None:
            if topics[name] or is_internal(name):
                raise OperationError(f"the number of partitions of internal topic '{name}' cannot be changed")
            existing = len((await admin.describe_topics([name]))[name].partitions)
            new = _new_partition_assignment(req, existing)
            print(PARTITIONS_WARNING)
            err = (await admin.create_partitions({name: req.partitions}, None if new is None else {name: new},
                                                 timeout_ms=_timeout_ms(req)))[name]
            if err is not None and err.code != ErrorCode.REQUEST_TIMED_OUT:
                raise OperationError(f"cannot add partitions to '{name}': {kafka_error_text(err)}")
            print("Adding partitions succeeded!")


def kafka_error_text(e: KafkaError) -> str:
    """One line for a broker/admin error: its message, or the code's name."""
    return e.message or e.code.name
