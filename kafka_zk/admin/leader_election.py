"""``kafka-zk leader-election --zookeeper HOST:PORT[/chroot] --preferred ...``: move leadership to preferred replicas.

ZooKeeper mode, like Kafka's ``kafka-preferred-replica-election.sh --zookeeper`` (and ``kafka-leader-election.sh
--election-type PREFERRED``): the tool writes ``/admin/preferred_replica_election`` listing the partitions;
the active controller elects each partition's first replica as leader when it is alive and in the ISR,
then deletes the znode. Partitions come from ``--topic``/``--partition``, ``--path-to-json-file``
(``{"partitions": [{"topic": "t", "partition": 0}]}``) or ``--all-topic-partitions``. ``--wait`` waits
for the controller to finish and reports every partition's leader.

``--bootstrap-server HOST:PORT`` instead is Kafka 2.4+'s mode: ElectLeaders to the controller, preferred
or unclean (``--election-type``), answered per partition (see ``kafka_zk.admin.leader_election_bootstrap``).

Exit codes: 0 started (or, with --wait, done), 1 the cluster refused (an election is already pending,
ZooKeeper unreachable, controller did not finish in time), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from kafka_zk.admin.common import UsageError, add_zookeeper_argument, require_zookeeper

PROG = "kafka-zk leader-election"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("leader-election", help="elect preferred (or unclean) leaders",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_zookeeper_argument(p)
    p.add_argument("--bootstrap-server", metavar="HOST:PORT[,...]",
                   help="send ElectLeaders to the controller (Kafka protocol) instead of writing ZooKeeper")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--preferred", action="store_const", const="preferred", dest="election_type",
                      help="elect the preferred (first) replica (the default)")
    kind.add_argument("--election-type", type=str.lower, choices=("preferred", "unclean"), dest="election_type")
    p.add_argument("--topic", help="one topic (with --partition)")
    p.add_argument("--partition", type=int, help="one partition of --topic")
    p.add_argument("--path-to-json-file", metavar="FILE", help='{"partitions": [{"topic": "t", "partition": 0}]}')
    p.add_argument("--all-topic-partitions", action="store_true", help="every partition of every topic")
    p.add_argument("--wait", action="store_true", help="wait for the controller and report leaders")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds --wait (or the ElectLeaders request) waits (default 30)")
    p.set_defaults(func=_run, election_type=None)


def parse_partitions_json(text: str, source: str) -> list[tuple[str, int]]:
    """Kafka's election JSON; raises :class:`UsageError` on malformed input or duplicates."""
    try:
        obj: Any = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{source} is not JSON ({e})") from None
    items = obj.get("partitions") if isinstance(obj, dict) else None
    if not isinstance(items, list) or not items:
        raise UsageError(f'{source}: expected {{"partitions": [{{"topic": "t", "partition": 0}}, ...]}}')
    out: list[tuple[str, int]] = []
    for i, item in enumerate(items):
        if (not isinstance(item, dict) or not isinstance(item.get("topic"), str)
                or not isinstance(item.get("partition"), int) or isinstance(item.get("partition"), bool)
                or item["partition"] < 0):
            raise UsageError(f"{source}: partitions[{i}] must be {{\"topic\": <name>, \"partition\": <int >= 0>}}")
        out.append((item["topic"], item["partition"]))
    dupes = sorted({f"{t}-{p}" for t, p in out if out.count((t, p)) > 1})
    if dupes:
        raise UsageError(f"{source} lists partitions more than once: {', '.join(dupes)}")
    return out


def _select(args: argparse.Namespace) -> str:
    given = [n for n, v in (("--topic", args.topic), ("--path-to-json-file", args.path_to_json_file),
                            ("--all-topic-partitions", args.all_topic_partitions)) if v]
    if len(given) != 1:
        raise UsageError("give exactly one of --topic (with --partition), --path-to-json-file, --all-topic-partitions")
    if args.partition is not None and not args.topic:
        raise UsageError("--partition needs --topic")
    if args.topic and args.partition is None:
        raise UsageError("--topic needs --partition (or use --path-to-json-file / --all-topic-partitions)")
    return given[0]


def _run(args: argparse.Namespace) -> int:
    from kafka_zk.admin.common import quiet_kazoo
    from zk_layout import ElectionInProgressError, KafkaZkClient, ZkLayoutError

    quiet_kazoo()
    try:
        if not args.bootstrap_server:
            require_zookeeper(args)
            if (args.election_type or "preferred") != "preferred":
                raise UsageError("ZooKeeper mode only runs preferred elections; for unclean elections use "
                                 "--bootstrap-server HOST:PORT (ElectLeaders)")
        how = _select(args)
        wanted: list[tuple[str, int]] | None = None
        if how == "--topic":
            if args.partition < 0:
                raise UsageError(f"--partition must be >= 0, got {args.partition}")
            wanted = [(args.topic, args.partition)]
        elif how == "--path-to-json-file":
            try:
                with open(args.path_to_json_file, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                raise UsageError(f"cannot read {args.path_to_json_file}: {e.strerror}") from None
            wanted = parse_partitions_json(text, args.path_to_json_file)
        if args.bootstrap_server:
            from kafka_zk.admin import leader_election_bootstrap

            return leader_election_bootstrap.run(
                args.bootstrap_server, args.election_type or "preferred", wanted, args.timeout)
        zk = KafkaZkClient(args.zookeeper, session_timeout_ms=6000, connection_timeout_ms=5000, create_chroot=False)
    except (UsageError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    try:
        zk.start()
        if wanted is None:
            wanted = [(t, p) for t, (ta, _v) in sorted(zk.get_topic_assignments(zk.get_all_topics()).items())
                      for p in sorted(ta.partitions)]
            if not wanted:
                print(f"{PROG}: error: the cluster has no topics", file=sys.stderr)
                return 1
        try:
            zk.create_preferred_replica_election(wanted)
        except ElectionInProgressError:
            pending = zk.get_preferred_replica_election() or frozenset()
            print(f"{PROG}: error: a preferred replica election is already pending for "
                  f"{', '.join(sorted(f'{t}-{p}' for t, p in pending)) or 'some partitions'}; try again later",
                  file=sys.stderr)
            return 1
        print(f"Successfully started preferred replica election for partitions "
              f"{', '.join(f'{t}-{p}' for t, p in wanted)}")
        return _wait_and_report(zk, wanted, args.timeout) if args.wait else 0
    except ZkLayoutError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    finally:
        zk.close()


def _wait_and_report(zk: Any, wanted: list[tuple[str, int]], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while zk.get_preferred_replica_election() is not None:
        if time.monotonic() > deadline:
            print(f"{PROG}: error: the controller did not process the election within {timeout:g}s "
                  "(is a controller running?)", file=sys.stderr)
            return 1
        time.sleep(0.05)
    assignments = {t: ta for t, (ta, _v) in zk.get_topic_assignments({t for t, _ in wanted}).items()}
    for topic, p in wanted:
        ta = assignments.get(topic)
        got = zk.get_partition_state((topic, p))
        if ta is None or p not in ta.partitions or got is None:
            print(f"Partition {topic}-{p} does not exist")
            continue
        preferred, leader = ta.partitions[p][0], got[0].leader
        if leader == preferred:
            print(f"Leader of {topic}-{p} is its preferred replica {preferred}")
        else:
            print(f"Preferred replica {preferred} of {topic}-{p} is not leader (leader {leader}, isr "
                  f"{list(got[0].isr)}): it must be alive and in the ISR")
    return 0
