"""A new coordinator rebuilds its groups from the real on-disk log of ``__consumer_offsets`` (no sockets).

The first coordinator writes through ``ReplicatedOffsetsLog`` into real ``kafka_zk.log.Log`` segments; the
second one loads the same partition through the broker's reader (``group_wiring.read_offsets_partition``)
with a read buffer far smaller than the partition, so loading takes many reads and segment boundaries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator import GROUP_METADATA_TOPIC_NAME
from kafka_zk.coordinator.config import GroupCoordinatorConfig
from kafka_zk.coordinator.log_adapter import ReplicatedOffsetsLog
from kafka_zk.coordinator.testing import CoordinatorHarness
from kafka_zk.log import Log, LogConfig
from kafka_zk.server.group_wiring import offsets_topic_configs, read_offsets_partition
from tests.helpers import run_async

T0 = 1_600_000_000_000
ORDERS = [TopicPartition("orders", p) for p in range(8)]


@dataclass
class _Result:
    error: ErrorCode = ErrorCode.NONE
    error_message: str | None = None


class _LogReplicas:
    """The replica-manager slice the coordinator uses, over real partition logs (leader, acks satisfied)."""

    def __init__(self, root: Path, config: GroupCoordinatorConfig, clock: ManualClock) -> None:
        self.logs: dict[TopicPartition, Log] = {}
        self.root = root
        self.log_config = LogConfig({**offsets_topic_configs(config), "segment.bytes": "2048"})
        self.clock = clock

    def partition(self, tp: TopicPartition) -> SimpleNamespace | None:
        plog = self.logs.get(tp)
        return None if plog is None else SimpleNamespace(log=plog)

    def _log(self, tp: TopicPartition) -> Log:
        if tp not in self.logs:
            self.logs[tp] = Log(os.path.join(self.root, f"{tp.topic}-{tp.partition}"), self.log_config, clock=self.clock,
                                events=None, had_clean_shutdown=True)
        return self.logs[tp]

    async def append_records(self, timeout_ms: int, required_acks: int, entries: dict[TopicPartition, memoryview],
                             internal_topics_allowed: bool = False) -> dict[TopicPartition, _Result]:
        for tp, buf in entries.items():
            plog = self._log(tp)
            plog.append_as_leader(bytearray(buf), leader_epoch=0)
            plog.high_watermark = plog.log_end_offset
        return {tp: _Result() for tp in entries}


@run_async
async def test_a_new_coordinator_loads_groups_and_latest_offsets_from_the_log(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    config = GroupCoordinatorConfig(offsets_topic_num_partitions=1, group_initial_rebalance_delay_ms=0)
    replicas = _LogReplicas(tmp_path, config, clock)
    first = CoordinatorHarness(config, clock=clock, offsets_log=ReplicatedOffsetsLog(replicas, lambda p: [], clock, config))
    await first.start()
    members = await first.stable_group(2, group="live")
    expected: dict[TopicPartition, int] = {}
    for i in range(120):  # ~120 batches over many 2 KiB segments
        tp = ORDERS[i % len(ORDERS)]
        expected[tp] = i * 10
        assert await first.coordinator.commit_offsets("live", 1, members[i % 2], {tp: (i * 10, f"m{i}")}) == {tp: ErrorCode.NONE}
    assert await first.coordinator.commit_offsets("gone", -1, "", {ORDERS[0]: (5, "")}) == {ORDERS[0]: ErrorCode.NONE}
    assert await first.coordinator.delete_groups(["gone"]) == {"gone": ErrorCode.NONE}
    plog = replicas.logs[TopicPartition(GROUP_METADATA_TOPIC_NAME, 0)]
    assert len(plog.segments) > 3  # the load crosses segment boundaries

    loaded = CoordinatorHarness(config, clock=clock,
                                offsets_log=ReplicatedOffsetsLog(replicas, lambda p: read_offsets_partition(replicas, p, 256), clock, config))
    await loaded.start()
    c = loaded.coordinator
    got = c.fetch_offsets("live", None)
    assert {tp: e.offset for tp, e in got.items()} == expected
    assert got[ORDERS[7]].metadata == "m119"
    group = c.manager.get_group("live")
    assert group is not None and group.state.value == "Stable" and group.generation_id == 1
    assert sorted(group.member_ids) == sorted(members)
    assert c.fetch_offsets("gone", [ORDERS[0]])[ORDERS[0]].offset == -1  # tombstoned offsets stay deleted
    assert c.describe_groups(["gone"])[0].state == "Dead"


def test_reading_a_partition_that_is_not_hosted_yields_nothing(tmp_path: Path) -> None:
    replicas = _LogReplicas(tmp_path, GroupCoordinatorConfig(), ManualClock(T0))
    assert list(read_offsets_partition(replicas, 3, 1024)) == []
