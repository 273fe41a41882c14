"""``kafka-zk leader-election --bootstrap-server HOST:PORT ...``: Kafka 2.4+'s ``kafka-leader-election.sh``.

The tool sends ElectLeaders (KIP-460) to the controller, which runs the election and answers per partition;
unlike ZooKeeper mode it can also run *unclean* elections (``--election-type unclean``: a live replica
outside the ISR may become leader of a partition that has none).  ``--all-topic-partitions`` sends a null
partition list (the controller takes every partition).  Output lines follow Kafka 2.8's
``LeaderElectionCommand``: elected partitions, partitions whose valid leader is already elected
(ELECTION_NOT_NEEDED), and one error line per partition that failed — then exit code 1.
"""

from __future__ import annotations

import asyncio
import sys

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.tp import TopicPartition

PROG = "kafka-zk leader-election"


def run(bootstrap: str, election_type: str, wanted: list[tuple[str, int]] | None, timeout_s: float) -> int:
    from kafka_zk.client.errors import (
        IncompatibleBrokerVersion,
        KafkaConnectionError,
        KafkaRequestTimeoutError,
    )

    try:
        return asyncio.run(_run(bootstrap, election_type, wanted, timeout_s))
    except ValueError as e:
        print(f"{PROG}: error: --bootstrap-server: {e}", file=sys.stderr)
        return 2
    except (KafkaConnectionError, KafkaRequestTimeoutError, IncompatibleBrokerVersion) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except KafkaError as e:
        print(f"{PROG}: error: {e.message or e.code.name}", file=sys.stderr)
        return 1


async def _run(
    bootstrap: str, election_type: str, wanted: list[tuple[str, int]] | None, timeout_s: float
) -> int:
    from kafka_zk.client.admin import AdminClient

    admin = AdminClient(bootstrap, request_timeout_ms=int(timeout_s * 1000))
    try:
        await admin.start()
        tps = None if wanted is None else [TopicPartition(t, p) for t, p in wanted]
        results = await admin.elect_leaders(tps, election_type, timeout_ms=int(timeout_s * 1000))
    finally:
        await admin.close()
    kind = election_type.upper()
    elected = sorted(tp for tp, e in results.items() if e is None)
    not_needed = sorted(
        tp for tp, e in results.items() if e is not None and e.code is ErrorCode.ELECTION_NOT_NEEDED
    )
    failed = {
        tp: e for tp, e in results.items() if e is not None and e.code is not ErrorCode.ELECTION_NOT_NEEDED
    }
    if elected:
        print(
            f"Successfully completed leader election ({kind}) for partitions "
            f"{', '.join(f'{tp.topic}-{tp.partition}' for tp in elected)}"
        )
    if not_needed:
        print(
            "Valid replica already elected for partitions "
            + ", ".join(f"{tp.topic}-{tp.partition}" for tp in not_needed)
        )
    if not results:
        print("No partitions to elect a leader for")
    for tp, e in sorted(failed.items()):
        print(
            f"Error completing leader election ({kind}) for partition: {tp.topic}-{tp.partition}: "
            f"{e.message or e.code.name}"
        )
    if failed:
        print(f"{PROG}: error: {len(failed)} replica(s) could not be elected", file=sys.stderr)
        return 1
    return 0
