"""Replica placement: which brokers host each partition of a new topic (or of added partitions).

Pure functions, shared by the broker's CreateTopics/CreatePartitions handlers, auto topic creation and the
CLI. The controller itself never places replicas: it only acts on what ``/brokers/topics/<t>`` says.

Two rules, over the live broker ids **sorted ascending** (``n`` of them); the first replica of each list
is the partition's preferred leader.

``mode="modulo"`` (the default, the rule users asked for): partition ``i``'s replica ``j`` goes to
``brokers[(i + s + j) mod n]`` with ``s = fixed_start_index`` when given, else 0. Brokers ``[0, 1, 2]``,
6 partitions, RF 3 give ``[0,1,2] [1,2,0] [2,0,1] [0,1,2] [1,2,0] [2,0,1]``: predictable, leaders evenly
spread, and the follower order repeats every ``n`` partitions.

``mode="kafka"``: Kafka 2.x's rack-unaware ``AdminUtils.assignReplicasToBrokers``. It differs in three ways:

1. the first leader index ``s`` is **random** in ``[0, n)`` (unless ``fixed_start_index`` is given), so the
   leaders of many small topics do not all start on the lowest broker id;
2. the gap between the leader and its first follower is ``1 + (shift mod (n-1))`` where ``shift`` is a
   second, independent random draw (``fixed_start_index`` fixes it too);
3. ``shift`` grows by one every time the partition id reaches a multiple of ``n``, so each round of ``n``
   partitions uses a different follower order (with RF < n different follower *sets*). Followers sit at
   distinct offsets ``1 + ((shift + j) mod (n-1))`` from the leader, so no broker repeats in a list.

With ``fixed_start_index=0`` the two rules agree on the first ``n`` partitions; later rounds differ
(``kafka`` gives ``[0,2,1] [1,0,2] [2,1,0]`` for partitions 3–5 of the example above), which changes who
becomes leader when a preferred leader fails. Rack-aware placement is not implemented.

Errors are :class:`KafkaError` with Kafka's codes: ``INVALID_PARTITIONS`` (fewer than one partition),
``INVALID_REPLICATION_FACTOR`` (RF < 1 or more than the live brokers), ``INVALID_REPLICA_ASSIGNMENT``
(a bad explicit ``--replica-assignment``).
"""

from __future__ import annotations

import random
from typing import Iterable, Mapping, Sequence

from kafka_zk.common.errors import ErrorCode, KafkaError

PLACEMENT_MODES: tuple[str, ...] = ("modulo", "kafka")


def assign_replicas(
    brokers: Iterable[int],
    partitions: int,
    rf: int,
    start_partition: int = 0,
    mode: str = "modulo",
    fixed_start_index: int = -1,
    rng: random.Random | None = None,
) -> dict[int, list[int]]:
    """Place ``partitions`` partitions (ids ``start_partition`` …) with ``rf`` replicas on ``brokers``.

    Returns ``{partition_id: [broker ids, preferred leader first]}``. Raises :class:`KafkaError`
    (INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR) and :class:`ValueError` for an unknown ``mode``.
    """
    ids = sorted(set(brokers))
    n = len(ids)
    if partitions < 1:
        raise KafkaError(ErrorCode.INVALID_PARTITIONS, f"number of partitions must be at least 1, got {partitions}")
    if rf < 1:
        raise KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, f"replication factor must be at least 1, got {rf}")
    if rf > n:
        raise KafkaError(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            f"replication factor {rf} is larger than the number of available brokers ({n}"
            + (f": {', '.join(map(str, ids))})" if ids else ")"),
        )
    first_partition = max(0, start_partition)
    if mode == "modulo":
        start = fixed_start_index if fixed_start_index >= 0 else 0
        return {
            p: [ids[(p + start + j) % n] for j in range(rf)]
            for p in range(first_partition, first_partition + partitions)
        }
    if mode == "kafka":
        rnd = rng or random.Random()
        start = fixed_start_index if fixed_start_index >= 0 else rnd.randrange(n)
        shift = fixed_start_index if fixed_start_index >= 0 else rnd.randrange(n)
        out: dict[int, list[int]] = {}
        for p in range(first_partition, first_partition + partitions):
            if p > 0 and p % n == 0:
                shift += 1
            first = (p + start) % n
            replicas = [ids[first]]
            for j in range(rf - 1):
                replicas.append(ids[(first + 1 + (shift + j) % (n - 1)) % n])
            out[p] = replicas
        return out
    raise ValueError(f"unknown placement mode {mode!r}: expected one of {', '.join(PLACEMENT_MODES)}")


def assign_additional_partitions(
    brokers: Iterable[int],
    existing: Mapping[int, Sequence[int]],
    new_total: int,
    mode: str = "modulo",
    rng: random.Random | None = None,
) -> dict[int, list[int]]:
    """Place the partitions ``len(existing) … new_total-1`` of an existing topic (CreatePartitions).

    As Kafka does, the new partitions keep the existing replication factor and continue the rule from
    the broker that leads partition 0. Raises :class:`KafkaError` INVALID_PARTITIONS when ``new_total``
    does not grow the topic, INVALID_REPLICATION_FACTOR when too few brokers are live.
    """
    count = len(existing)
    if count == 0:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "topic has no partitions to extend")
    if new_total <= count:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS,
            f"topic currently has {count} partitions, {new_total} would not increase the partition count",
        )
    ids = sorted(set(brokers))
    first_leader = existing[min(existing)][0]
    start_index = next((i for i, b in enumerate(ids) if b >= first_leader), 0)
    rf = len(existing[min(existing)])
    return assign_replicas(ids, new_total - count, rf, start_partition=count, mode=mode,
                           fixed_start_index=start_index, rng=rng)


def parse_replica_assignment(text: str) -> dict[int, list[int]]:
    """Parse kafka-topics' ``--replica-assignment`` (``"0:1:2,1:2:0"``: partition i's brokers in list i).

    Raises :class:`KafkaError` INVALID_REPLICA_ASSIGNMENT with the offending piece on malformed input.
    """
    out: dict[int, list[int]] = {}
    for p, part in enumerate(text.split(",")):
        part = part.strip()
        try:
            replicas = [int(x) for x in part.split(":")]
        except ValueError:
            raise KafkaError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"invalid replica list {part!r} for partition {p}: expected broker ids separated by ':' "
                "(e.g. 0:1:2,1:2:0)",
            ) from None
        out[p] = replicas
    validate_replica_assignment(out)
    return out


def validate_replica_assignment(
    assignment: Mapping[int, Sequence[int]],
    brokers: Iterable[int] | None = None,
    start_partition: int = 0,
    replication_factor: int | None = None,
) -> None:
    """Check an explicit assignment the way Kafka's AdminZkClient does.

    Partition ids must be consecutive from ``start_partition``; every list non-empty, without duplicates
    or negative ids, all of the same length (``replication_factor`` when given); when ``brokers`` is
    given, every id must be one of them. Raises :class:`KafkaError` INVALID_REPLICA_ASSIGNMENT.
    """

    def bad(msg: str) -> KafkaError:
        return KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, msg)

    if not assignment:
        raise bad("replica assignment is empty: give at least one partition")
    expected = list(range(start_partition, start_partition + len(assignment)))
    if sorted(assignment) != expected:
        raise bad(
            f"partitions {sorted(assignment)} are not consecutive from {start_partition}: "
            f"expected {expected[0]}..{expected[-1]}"
        )
    sizes = {len(r) for r in assignment.values()}
    for p in expected:
        replicas = list(assignment[p])
        if not replicas:
            raise bad(f"partition {p} has no replicas")
        if len(set(replicas)) != len(replicas):
            raise bad(f"partition {p} lists a broker more than once: {replicas}")
        if any(r < 0 for r in replicas):
            raise bad(f"partition {p} has a negative broker id: {replicas}")
    if len(sizes) > 1:
        raise bad(f"all partitions must have the same number of replicas, got sizes {sorted(sizes)}")
    if replication_factor is not None and sizes != {replication_factor}:
        raise bad(f"partitions have {sizes.pop()} replicas but the topic's replication factor is {replication_factor}")
    if brokers is not None:
        known = set(brokers)
        unknown = sorted({r for rs in assignment.values() for r in rs} - known)
        if unknown:
            raise bad(
                f"unknown broker(s) {', '.join(map(str, unknown))} in replica assignment; "
                f"live brokers are {', '.join(map(str, sorted(known))) or 'none'}"
            )
