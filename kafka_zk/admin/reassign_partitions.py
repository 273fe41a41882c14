"""``kafka-zk reassign-partitions --zookeeper HOST:PORT[/chroot] --generate | --execute | --verify``.

Kafka's ``kafka-reassign-partitions.sh`` in ZooKeeper mode, with Kafka's JSON files:

* ``--generate --topics-to-move-json-file F --broker-list 1,2,3`` prints the current assignment of the
  topics in F (``{"topics": [{"topic": "t"}], "version": 1}``) and a proposal that places them on the given
  brokers (same partition count and replication factor; ``--placement modulo`` (default) or ``kafka``
  — see ``kafka_zk.controller.placement``). Nothing is changed.
* ``--execute --reassignment-json-file F`` (``{"version": 1, "partitions": [{"topic": "t", "partition": 0,
  "replicas": [1, 2]}]}``) prints the current assignment (keep it for a rollback) and writes
  ``/admin/reassign_partitions``; the controller adds the new replicas, waits until they are in the ISR,
  moves leadership if needed and removes the old ones.
* ``--verify --reassignment-json-file F`` reports each partition as completed, still in progress or failed.

``--bootstrap-server HOST:PORT`` instead of ``--zookeeper`` is Kafka 2.4+'s mode: the same actions through
the controller's AlterPartitionReassignments / ListPartitionReassignments APIs, plus ``--cancel``, ``--list``
and ``--additional`` (see ``kafka_zk.admin.reassign_bootstrap``).

Exit codes: 0 done/started (``--verify``: nothing failed), 1 the cluster refused (a reassignment is
already running, unknown topic, a failed partition, ZooKeeper unreachable), 2 bad arguments or files.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Mapping, Sequence

from kafka_zk.admin.common import UsageError, add_zookeeper_argument, require_zookeeper

PROG = "kafka-zk reassign-partitions"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("reassign-partitions", help="move partition replicas between brokers",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_zookeeper_argument(p)
    p.add_argument("--bootstrap-server", metavar="HOST:PORT[,...]",
                   help="talk to the controller through the Kafka protocol (KIP-455) instead of ZooKeeper")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--generate", action="store_true", help="propose an assignment (changes nothing)")
    mode.add_argument("--execute", action="store_true", help="start the reassignment in F")
    mode.add_argument("--verify", action="store_true", help="report the state of the reassignment in F")
    mode.add_argument("--cancel", action="store_true",
                      help="--bootstrap-server: cancel the reassignments in F")
    mode.add_argument("--list", action="store_true", help="--bootstrap-server: list reassignments in flight")
    p.add_argument("--additional", action="store_true",
                   help="--bootstrap-server --execute: start even though other reassignments are in flight")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="--bootstrap-server: request timeout in seconds (default 30)")
    p.add_argument("--topics-to-move-json-file", metavar="F", help="--generate: topics to move")
    p.add_argument("--broker-list", metavar="1,2,3", help="--generate: brokers to place the topics on")
    p.add_argument("--placement", choices=("modulo", "kafka"), default="modulo",
                   help="--generate: placement rule (default modulo; kafka = AdminUtils' randomized rule)")
    p.add_argument("--reassignment-json-file", metavar="F", help="--execute/--verify: the target assignment")
    p.set_defaults(func=_run)


# -- JSON files (pure) -------------------------------------------------------------------------------

def _load(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise UsageError(f"{path} is not JSON ({e})") from None


def parse_topics_to_move(obj: Any, source: str) -> list[str]:
    items = obj.get("topics") if isinstance(obj, dict) else None
    if not isinstance(items, list) or not items:
        raise UsageError(f'{source}: expected {{"topics": [{{"topic": "t"}}], "version": 1}}')
    topics: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("topic"), str) or not item["topic"]:
            raise UsageError(f'{source}: topics[{i}] must be {{"topic": <name>}}')
        if item["topic"] not in topics:
            topics.append(item["topic"])
    return topics


def parse_reassignment(obj: Any, source: str) -> dict[tuple[str, int], list[int]]:
    """Kafka's reassignment JSON → ``{(topic, partition): replicas}``. Raises :class:`UsageError`."""
    items = obj.get("partitions") if isinstance(obj, dict) else None
    if not isinstance(items, list) or not items:
        raise UsageError(f'{source}: expected {{"version": 1, "partitions": [{{"topic": "t", "partition": 0, '
                         f'"replicas": [1, 2]}}]}}')
    out: dict[tuple[str, int], list[int]] = {}
    for i, item in enumerate(items):
        where = f"{source}: partitions[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("topic"), str):
            raise UsageError(f"{where} needs a \"topic\" name")
        part, replicas = item.get("partition"), item.get("replicas")
        if not isinstance(part, int) or isinstance(part, bool) or part < 0:
            raise UsageError(f"{where} needs a \"partition\" number >= 0")
        if (not isinstance(replicas, list) or not replicas
                or any(not isinstance(r, int) or isinstance(r, bool) or r < 0 for r in replicas)):
            raise UsageError(f"{where} needs \"replicas\": a non-empty list of broker ids >= 0")
        if len(set(replicas)) != len(replicas):
            raise UsageError(f"{where}: replica list {replicas} names a broker more than once")
        log_dirs = item.get("log_dirs")
        if log_dirs is not None and (not isinstance(log_dirs, list) or any(d != "any" for d in log_dirs)):
            raise UsageError(f"{where}: only \"any\" is supported in log_dirs")
        key = (item["topic"], part)
        if key in out:
            raise UsageError(f"{source} lists partition {key[0]}-{key[1]} more than once")
        out[key] = list(replicas)
    return out


def format_assignment(assignment: Mapping[tuple[str, int], Sequence[int]]) -> str:
    """Kafka 2.x's JSON shape (with ``log_dirs`` of "any"), one line, sorted."""
    items = [{"topic": t, "partition": p, "replicas": list(r), "log_dirs": ["any"] * len(r)}
             for (t, p), r in sorted(assignment.items())]
    return json.dumps({"version": 1, "partitions": items}, separators=(",", ":"))


def parse_broker_list(text: str) -> list[int]:
    try:
        ids = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"invalid --broker-list {text!r}: expected broker ids like 1,2,3") from None
    if not ids or any(i < 0 for i in ids) or len(set(ids)) != len(ids):
        raise UsageError(f"invalid --broker-list {text!r}: expected distinct broker ids >= 0 like 1,2,3")
    return ids


# -- running -----------------------------------------------------------------------------------------

def _run(args: argparse.Namespace) -> int:
    from kafka_zk.admin.common import quiet_kazoo
    from zk_layout import KafkaZkClient, ZkLayoutError

    quiet_kazoo()
    try:
        if not args.bootstrap_server:
            require_zookeeper(args)
            for flag in ("cancel", "list", "additional"):
                if getattr(args, flag):
                    raise UsageError(f"--{flag} needs --bootstrap-server (Kafka 2.4+'s reassignment API)")
        topics: list[str] = []
        brokers: list[int] = []
        if args.list:
            target: dict[tuple[str, int], list[int]] = {}
        elif args.generate:
            if not args.topics_to_move_json_file or not args.broker_list:
                raise UsageError("--generate needs --topics-to-move-json-file and --broker-list")
            topics = parse_topics_to_move(_load(args.topics_to_move_json_file), args.topics_to_move_json_file)
            brokers = parse_broker_list(args.broker_list)
            target = {}
        else:
            action = next(a for a in ("execute", "verify", "cancel") if getattr(args, a))
            if not args.reassignment_json_file:
                raise UsageError(f"--{action} needs --reassignment-json-file")
            target = parse_reassignment(_load(args.reassignment_json_file), args.reassignment_json_file)
        if args.bootstrap_server:
            from kafka_zk.admin import reassign_bootstrap

            return reassign_bootstrap.run(args, target, topics, brokers)
        zk = KafkaZkClient(args.zookeeper, session_timeout_ms=6000, connection_timeout_ms=5000, create_chroot=False)
    except (UsageError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    try:
        zk.start()
        if args.generate:
            return _generate(zk, topics, brokers, args.placement)
        if args.execute:
            return _execute(zk, target)
        return _verify(zk, target)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except ZkLayoutError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    finally:
        zk.close()


def _current(zk: Any, topics: Sequence[str]) -> dict[tuple[str, int], list[int]]:
    got = zk.get_topic_assignments(topics)
    missing = sorted(set(topics) - set(got))
    if missing:
        raise _Refused(f"topic(s) {', '.join(missing)} do not exist")
    return {(t, p): list(r) for t, (ta, _v) in got.items() for p, r in ta.partitions.items()}


class _Refused(Exception):
    pass


def _generate(zk: Any, topics: list[str], brokers: list[int], placement: str) -> int:
    from kafka_zk.common.errors import KafkaError
    from kafka_zk.controller.placement import assign_replicas

    try:
        current = _current(zk, topics)
    except _Refused as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    unknown = sorted(set(brokers) - set(zk.get_broker_ids()))
    if unknown:
        print(f"{PROG}: error: broker(s) {', '.join(map(str, unknown))} in --broker-list are not registered",
              file=sys.stderr)
        return 1
    proposed: dict[tuple[str, int], list[int]] = {}
    for topic in topics:
        parts = sorted(p for t, p in current if t == topic)
        rf = len(current[(topic, parts[0])])
        try:
            placed = assign_replicas(brokers, len(parts), rf, mode=placement)
        except KafkaError as e:
            print(f"{PROG}: error: topic {topic}: {e.message}", file=sys.stderr)
            return 1
        proposed.update({(topic, p): placed[i] for i, p in enumerate(parts)})
    print("Current partition replica assignment")
    print(format_assignment(current))
    print()
    print("Proposed partition reassignment configuration")
    print(format_assignment(proposed))
    return 0


def _execute(zk: Any, target: dict[tuple[str, int], list[int]]) -> int:
    from zk_layout import ReassignmentInProgressError

    try:
        current = _current(zk, sorted({t for t, _ in target}))
    except _Refused as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    missing = sorted(f"{t}-{p}" for t, p in target if (t, p) not in current)
    if missing:
        print(f"{PROG}: error: partition(s) {', '.join(missing)} do not exist", file=sys.stderr)
        return 1
    unknown = sorted({r for rs in target.values() for r in rs} - set(zk.get_broker_ids()))
    if unknown:
        print(f"{PROG}: error: the proposed assignment names brokers that are not registered: "
              f"{', '.join(map(str, unknown))}", file=sys.stderr)
        return 1
    if zk.get_partition_reassignment() is not None:
        print(f"{PROG}: error: a reassignment is already running; wait for it (--verify) and try again",
              file=sys.stderr)
        return 1
    print("Current partition replica assignment")
    print()
    print(format_assignment({tp: current[tp] for tp in target}))
    print()
    print("Save this to use as the --reassignment-json-file option during rollback")
    try:
        zk.create_partition_reassignment(target)
    except ReassignmentInProgressError:
        print(f"{PROG}: error: a reassignment is already running; wait for it (--verify) and try again",
              file=sys.stderr)
        return 1
    print("Successfully started reassignment of partitions.")
    return 0


def _verify(zk: Any, target: dict[tuple[str, int], list[int]]) -> int:
    in_flight = zk.get_partition_reassignment() or {}
    got = zk.get_topic_assignments(sorted({t for t, _ in target}))
    print("Status of partition reassignment:")
    failed = False
    for (topic, p), replicas in sorted(target.items()):
        if (topic, p) in in_flight:
            print(f"Reassignment of partition {topic}-{p} is still in progress")
            continue
        entry = got.get(topic)
        now = list(entry[0].partitions.get(p, ())) if entry else []
        if now == replicas:
            print(f"Reassignment of partition {topic}-{p} completed successfully")
        else:
            failed = True
            print(f"Reassignment of partition {topic}-{p} failed (replicas are {now}, not {replicas})")
    return 1 if failed else 0
