"""``kafka-zk consumer-groups --zookeeper Z --list | --describe --group G``: groups whose offsets live in
ZooKeeper (the v0 store: ``/consumers/<group>/offsets/<topic>/<partition>``), as Kafka 0.9-1.x's
ConsumerGroupCommand showed them with ``--zookeeper``, and as CMAK (Kafka Manager) showed their lag.

* ``--list``: every child of ``/consumers``, one per line.
* ``--delete --group G [--group G2]``: removes ``/consumers/<group>`` unless consumers are registered under
  ``/consumers/<group>/ids`` (Kafka's ``Deleted all consumer group information for group 'G' in
  zookeeper.`` / ``Delete for group 'G' failed because its consumers are still active.``).
* ``--describe``: the old tool's table (on stderr first, Kafka's note that only ZooKeeper-based consumers
  are shown)::

      TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID

  one row per partition of every topic the group has offsets or owners for. CURRENT-OFFSET is the znode's
  value; LOG-END-OFFSET is the partition's live end (the high watermark: what a consumer can reach), asked
  of the brokers registered in the same ZooKeeper over the Kafka protocol; LAG is their difference;
  CONSUMER-ID is the owner in ``/consumers/<group>/owners/<topic>/<partition>`` without its thread suffix
  (``-`` when no live consumer owns it — the usual case now, since no current client registers there).

Everything ZooKeeper-side goes through ``zk_layout``. Exit codes: 0 done, 1 ZooKeeper or the brokers could
not be reached or the group does not exist, 2 bad arguments.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

MISSING = "-"
NOTE = ("Note: This will only show information about consumers that use ZooKeeper "
        "(not those using the Java consumer API).")


class GroupError(Exception):
    """One line, exit code 1."""


@dataclass(frozen=True)
class Row:
    topic: str
    partition: int
    offset: int | None
    log_end_offset: int | None
    owner: str | None

    @property
    def lag(self) -> int | None:
        if self.offset is None or self.log_end_offset is None:
            return None
        return max(self.log_end_offset - self.offset, 0)


def _cell(v: object | None) -> str:
    return MISSING if v is None else str(v)


def render(rows: Sequence[Row]) -> str:
    """Kafka 1.x's ``--zookeeper --describe`` table: TOPIC and CONSUMER-ID at least 15 wide, grown to fit."""
    topic_w = max([15] + [len(r.topic) for r in rows])
    owner_w = max([15] + [len(_cell(r.owner)) for r in rows])

    def line(cells: Sequence[str]) -> str:
        t, p, o, e, lag, c = cells
        return f"{t:<{topic_w}} {p:<10} {o:<15} {e:<15} {lag:<15} {c:<{owner_w}} ".rstrip()

    out = ["", line(("TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID"))]
    for r in rows:
        out.append(line((r.topic, str(r.partition), _cell(r.offset), _cell(r.log_end_offset), _cell(r.lag),
                         _cell(r.owner))))
    return "\n".join(out)


def owner_consumer_id(data: bytes | None) -> str | None:
    """``<consumer-id>-<thread>`` as the old consumer wrote it → ``<consumer-id>``."""
    if not data:
        return None
    text = data.decode("utf-8", "replace").strip()
    return text[: text.rfind("-")] if "-" in text else text


def collect(zk: Any, group: str) -> tuple[list[tuple[str, int]], dict[tuple[str, int], int | None],
                                          dict[tuple[str, int], str | None]]:
    """The group's partitions, their committed offsets and owners, from ZooKeeper."""
    from zk_layout import paths

    base = paths.consumer_group_path(group)
    with_offsets = zk.get_children(f"{base}/offsets") or []
    topics = sorted(set(with_offsets) | set(zk.get_children(f"{base}/owners") or []))
    assignments = zk.get_topic_assignments(topics)
    tps: list[tuple[str, int]] = []
    for topic in topics:
        got = assignments.get(topic)
        partitions = sorted(got[0].partitions) if got else sorted(
            int(p) for p in (zk.get_children(paths.consumer_offsets_path(group, topic)) or []) if p.isdigit())
        tps.extend((topic, p) for p in partitions)
    offsets = {tp: zk.get_consumer_offset(group, tp[0], tp[1]) for tp in tps}
    owners: dict[tuple[str, int], str | None] = {}
    for topic, p in tps:
        got_owner = zk.get_data(f"{base}/owners/{topic}/{p}")
        owners[(topic, p)] = owner_consumer_id(got_owner[0]) if got_owner else None
    return tps, offsets, owners


def bootstrap_from_registrations(zk: Any) -> str:
    brokers = zk.get_all_brokers()
    endpoints = []
    for _bid, (reg, _epoch) in sorted(brokers.items()):
        ep = reg.plaintext_endpoint() if callable(getattr(reg, "plaintext_endpoint", None)) else None
        ep = ep or (reg.endpoints[0] if reg.endpoints else None)
        if ep is not None:
            endpoints.append(f"{ep.host}:{ep.port}")
    return ",".join(endpoints)


async def log_end_offsets(bootstrap: str, tps: Sequence[tuple[str, int]],
                          timeout_s: float) -> dict[tuple[str, int], int]:
    from kafka_zk.client.consumer import Consumer
    from kafka_zk.common.tp import TopicPartition

    async with Consumer(bootstrap, client_id="kafka-zk-consumer-groups",
                        request_timeout_ms=int(timeout_s * 1000)) as consumer:
        ends = await consumer.end_offsets([TopicPartition(t, p) for t, p in tps])
    return {(tp.topic, tp.partition): off for tp, off in ends.items()}


def rows_for(tps: Sequence[tuple[str, int]], offsets: Mapping[tuple[str, int], int | None],
             ends: Mapping[tuple[str, int], int], owners: Mapping[tuple[str, int], str | None]) -> list[Row]:
    return [Row(t, p, offsets.get((t, p)), ends.get((t, p)), owners.get((t, p))) for t, p in tps]


def delete_groups(zk: Any, groups: Sequence[str]) -> int:
    """Kafka 1.x's ``--zookeeper --delete``: one line per group; exit 1 if any could not be deleted."""
    from zk_layout import paths

    failed = False
    for group in groups:
        base = paths.consumer_group_path(group)
        if zk.exists(base) is None:
            print(f"Error: Delete for group '{group}' failed because group does not exist.")
            failed = True
        elif zk.get_children(f"{base}/ids"):
            print(f"Error: Delete for group '{group}' failed because its consumers are still active.")
            failed = True
        else:
            zk.delete_recursive(base)
            print(f"Deleted all consumer group information for group '{group}' in zookeeper.")
    return 1 if failed else 0


def run(args: Any) -> int:
    from kafka_zk.admin.common import quiet_kazoo
    from zk_layout import KafkaZkClient, ZkLayoutError, paths

    quiet_kazoo()
    try:
        zk = KafkaZkClient(args.zookeeper, session_timeout_ms=10000,
                           connection_timeout_ms=int(args.timeout * 1000),
                           create_chroot=False)
    except ValueError as e:
        print(f"kafka-zk consumer-groups: error: --zookeeper: {e}", file=sys.stderr)
        return 2
    try:
        zk.start()
        if args.list:
            for g in sorted(zk.get_children(paths.CONSUMERS) or []):
                print(g)
            return 0
        if args.delete:
            return delete_groups(zk, args.group)
        group = args.group[0]
        print(NOTE, file=sys.stderr)
        if zk.exists(paths.consumer_group_path(group)) is None:
            print(f"Error: The consumer group '{group}' does not exist.")
            return 1
        tps, offsets, owners = collect(zk, group)
        ends: dict[tuple[str, int], int] = {}
        live = [tp for tp in tps if zk.topic_exists(tp[0])]  # a deleted topic's offsets have no end: "-"
        if live:
            bootstrap = bootstrap_from_registrations(zk)
            if not bootstrap:
                raise GroupError("no broker is registered in this ZooKeeper, so log end offsets are unknown")
            ends = asyncio.run(log_end_offsets(bootstrap, live, args.timeout))
        print(render(rows_for(tps, offsets, ends, owners)))
        return 0
    except ZkLayoutError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    except GroupError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # kazoo's and the client's connection errors, one line
        name = type(e).__module__
        if name.startswith("kazoo") or name.startswith("kafka_zk.client") or isinstance(e, (OSError,
                                                                                            TimeoutError)):
            print(f"Error: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        raise
    finally:
        zk.close()
