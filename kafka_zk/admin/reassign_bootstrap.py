"""``kafka-zk reassign-partitions --bootstrap-server HOST:PORT ...``: Kafka 2.4+'s tool, over the protocol.

Instead of writing ``/admin/reassign_partitions``, the tool talks to the controller with KIP-455's
AlterPartitionReassignments / ListPartitionReassignments (:class:`kafka_zk.client.admin.AdminClient`):

* ``--execute`` prints the current assignment (for a rollback), refuses when one of the partitions is
  already moving unless ``--additional`` is given (as Kafka does), then starts the reassignment.
* ``--verify`` reports each partition as completed, still in progress, or not where the file says.
* ``--cancel`` cancels the reassignments of the partitions in the file (they return to their original
  replicas); ``--list`` shows every reassignment in flight.
* ``--generate`` proposes a placement from the topics' metadata, as in ZooKeeper mode.

Output lines follow Kafka 2.8's ``ReassignPartitionsCommand``. Exit codes: 0 done/started, 1 the cluster
refused (a partition failed, unknown topic, cluster unreachable), 2 bad arguments or files.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from kafka_zk.admin.common import UsageError
from kafka_zk.common.errors import KafkaError
from kafka_zk.common.tp import TopicPartition

PROG = "kafka-zk reassign-partitions"


class _Refused(Exception):
    pass


def run(
    args: argparse.Namespace, target: dict[tuple[str, int], list[int]], topics: list[str], brokers: list[int]
) -> int:
    """Run one bootstrap-mode action (arguments already validated); returns the exit code."""
    from kafka_zk.client.errors import (
        IncompatibleBrokerVersion,
        KafkaConnectionError,
        KafkaRequestTimeoutError,
    )

    try:
        return asyncio.run(_run(args, target, topics, brokers))
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except (_Refused, KafkaConnectionError, KafkaRequestTimeoutError, IncompatibleBrokerVersion) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except KafkaError as e:
        print(f"{PROG}: error: {e.message or e.code.name}", file=sys.stderr)
        return 1


async def _run(
    args: argparse.Namespace, target: dict[tuple[str, int], list[int]], topics: list[str], brokers: list[int]
) -> int:
    from kafka_zk.client.admin import AdminClient

    try:
        admin = AdminClient(args.bootstrap_server, request_timeout_ms=int(args.timeout * 1000))
    except ValueError as e:
        raise UsageError(f"--bootstrap-server: {e}") from None
    try:
        await admin.start()
        if args.generate:
            return await _generate(admin, topics, brokers, args.placement)
        if args.list:
            return await _list(admin)
        if args.execute:
            return await _execute(admin, target, args.additional)
        if args.cancel:
            return await _cancel(admin, target)
        return await _verify(admin, target)
    finally:
        await admin.close()


async def _current(admin: Any, topics: list[str]) -> dict[tuple[str, int], list[int]]:
    described = await admin.describe_topics(topics)
    missing = sorted(t for t, md in described.items() if md.error_code != 0)
    if missing:
        raise _Refused(f"topic(s) {', '.join(missing)} do not exist")
    return {(t, p): list(pm.replicas) for t, md in described.items() for p, pm in md.partitions.items()}


async def _generate(admin: Any, topics: list[str], brokers: list[int], placement: str) -> int:
    from kafka_zk.admin.reassign_partitions import format_assignment
    from kafka_zk.controller.placement import assign_replicas

    current = await _current(admin, topics)
    _, _, live = await admin.describe_cluster()
    unknown = sorted(set(brokers) - set(live))
    if unknown:
        raise _Refused(f"broker(s) {', '.join(map(str, unknown))} in --broker-list are not in the cluster")
    proposed: dict[tuple[str, int], list[int]] = {}
    for topic in topics:
        parts = sorted(p for t, p in current if t == topic)
        try:
            placed = assign_replicas(brokers, len(parts), len(current[(topic, parts[0])]), mode=placement)
        except KafkaError as e:
            raise _Refused(f"topic {topic}: {e.message}") from None
        proposed.update({(topic, p): placed[i] for i, p in enumerate(parts)})
    print("Current partition replica assignment")
    print(format_assignment(current))
    print()
    print("Proposed partition reassignment configuration")
    print(format_assignment(proposed))
    return 0


def _names(tps: Any) -> str:
    return ",".join(f"{t}-{p}" for t, p in sorted(tps))


async def _execute(admin: Any, target: dict[tuple[str, int], list[int]], additional: bool) -> int:
    from kafka_zk.admin.reassign_partitions import format_assignment

    current = await _current(admin, sorted({t for t, _ in target}))
    missing = sorted(f"{t}-{p}" for t, p in target if (t, p) not in current)
    if missing:
        raise _Refused(f"partition(s) {', '.join(missing)} do not exist")
    if not additional and await admin.list_partition_reassignments():
        raise _Refused(
            "Cannot execute because there is an existing partition assignment. Use --additional to "
            "override this and create a new partition assignment in addition to the existing one."
        )
    print("Current partition replica assignment")
    print()
    print(format_assignment({tp: current[tp] for tp in target}))
    print()
    print("Save this to use as the --reassignment-json-file option during rollback")
    results = await admin.alter_partition_reassignments(
        {TopicPartition(t, p): r for (t, p), r in target.items()}
    )
    failed = {tp: e for tp, e in results.items() if e is not None}
    if failed:
        for tp, e in sorted(failed.items()):
            print(
                f"{PROG}: error: partition {tp.topic}-{tp.partition}: {e.message or e.code.name}",
                file=sys.stderr,
            )
        return 1
    print(f"Successfully started partition reassignments for {_names(target)}")
    return 0


async def _cancel(admin: Any, target: dict[tuple[str, int], list[int]]) -> int:
    results = await admin.alter_partition_reassignments({TopicPartition(t, p): None for t, p in target})
    done = sorted((tp.topic, tp.partition) for tp, e in results.items() if e is None)
    not_moving = sorted(
        (tp.topic, tp.partition)
        for tp, e in results.items()
        if e is not None and e.code.name == "NO_REASSIGNMENT_IN_PROGRESS"
    )
    failed = {
        tp: e for tp, e in results.items() if e is not None and (tp.topic, tp.partition) not in not_moving
    }
    if done:
        print(f"Successfully cancelled partition reassignments for: {_names(done)}")
    if not_moving:
        print(
            f"None of the specified partition reassignments are active: {_names(not_moving)}"
            if not done
            else f"No active reassignment of: {_names(not_moving)}"
        )
    for tp, e in sorted(failed.items()):
        print(
            f"{PROG}: error: partition {tp.topic}-{tp.partition}: {e.message or e.code.name}", file=sys.stderr
        )
    return 1 if failed else 0


async def _list(admin: Any) -> int:
    ongoing = await admin.list_partition_reassignments()
    if not ongoing:
        print("No partition reassignments found.")
        return 0
    print("Current partition reassignments:")
    for tp, r in sorted(ongoing.items()):
        print(
            f"{tp.topic}-{tp.partition}: replicas: {','.join(map(str, r.replicas))}. "
            f"adding: {','.join(map(str, r.adding_replicas))}. "
            f"removing: {','.join(map(str, r.removing_replicas))}."
        )
    return 0


async def _verify(admin: Any, target: dict[tuple[str, int], list[int]]) -> int:
    ongoing = await admin.list_partition_reassignments([TopicPartition(t, p) for t, p in target])
    current = await _current(admin, sorted({t for t, _ in target}))
    print("Status of partition reassignment:")
    failed = False
    for (topic, p), replicas in sorted(target.items()):
        if TopicPartition(topic, p) in ongoing:
            print(f"Reassignment of partition {topic}-{p} is still in progress.")
        elif current.get((topic, p)) == replicas:
            print(f"Reassignment of partition {topic}-{p} is complete.")
        else:
            failed = True
            print(
                f"There is no active reassignment of partition {topic}-{p}, but replica set is "
                f"{current.get((topic, p), [])} rather than {replicas}."
            )
    return 1 if failed else 0
