"""``kafka-zk consumer-groups``: the parts that need no cluster — assignment decoding (against aiokafka's own
encoder), the reset plan, the describe rows, and argument errors (one line, exit code 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from kafka_zk.admin.consumer_groups import (
    OFFSETS_HEADER,
    CommandError,
    GroupDescription,
    MemberInfo,
    ResetSpec,
    decode_consumer_assignment,
    offset_rows,
    plan_reset,
    render_table,
)
from kafka_zk.common.tp import TopicPartition

T = [TopicPartition("t", p) for p in range(4)]


def test_assignments_written_by_a_real_client_decode() -> None:
    data = ConsumerProtocolMemberAssignment(0, [("t", [0, 2]), ("other", [5])], b"user-data").encode()
    assert decode_consumer_assignment(data) == [T[0], T[2], TopicPartition("other", 5)]
    assert decode_consumer_assignment(b"") == []
    assert decode_consumer_assignment(b"\x00\x00\x00\x00\x00\x01\x00\x09tru") == []  # truncated: not a consumer assignment


def test_reset_plan_clamps_to_the_log_and_shifts_from_the_committed_offset() -> None:
    earliest = {tp: 10 for tp in T}
    latest = {tp: 100 for tp in T}
    committed = {T[0]: 50, T[1]: 95, T[2]: 12}
    plan, warnings = plan_reset(ResetSpec("shift", 10), T[:3], committed, earliest, latest)
    assert plan == {T[0]: 60, T[1]: 100, T[2]: 22}
    assert warnings == ["New offset (105) is higher than latest offset for t-1. Value will be set to 100"]
    assert plan_reset(ResetSpec("shift", -20), [T[2]], committed, earliest, latest)[0] == {T[2]: 10}
    assert plan_reset(ResetSpec("offset", 5), T[:2], committed, earliest, latest)[0] == {T[0]: 10, T[1]: 10}
    assert plan_reset(ResetSpec("earliest"), [T[3]], {}, earliest, latest)[0] == {T[3]: 10}
    assert plan_reset(ResetSpec("latest"), [T[3]], {}, earliest, latest)[0] == {T[3]: 100}
    with pytest.raises(CommandError, match="no committed offset"):
        plan_reset(ResetSpec("shift", 1), [T[3]], committed, earliest, latest)


def test_describe_rows_show_lag_owner_and_idle_members() -> None:
    busy = MemberInfo("m-1", "client-a", "/127.0.0.1", [T[1], T[0]])
    idle = MemberInfo("m-2", "client-b", "/10.0.0.2", [])
    desc = GroupDescription("g", "Stable", "consumer", "range", 0, [busy, idle])
    rows = offset_rows(desc, {T[0]: 7, T[2]: 3, T[3]: -1}, {T[0]: 10, T[1]: 4, T[2]: 3})
    assert rows == [
        ["g", "t", "0", "7", "10", "3", "m-1", "/127.0.0.1", "client-a"],
        ["g", "t", "1", "-", "4", "-", "m-1", "/127.0.0.1", "client-a"],  # assigned, nothing committed yet
        ["g", "t", "2", "3", "3", "0", "-", "-", "-"],  # committed, owned by nobody
        ["g", "-", "-", "-", "-", "-", "m-2", "/10.0.0.2", "client-b"],
    ]
    table = render_table(OFFSETS_HEADER, rows).splitlines()
    assert table[0].split() == OFFSETS_HEADER
    assert table[1].split() == rows[0]
    assert table[1].index(" 7 ") + 1 == table[0].index("CURRENT-OFFSET")  # columns line up


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--list"], "--bootstrap-server"),
        (["--bootstrap-server", "b:9092", "--describe"], "--group is required"),
        (["--bootstrap-server", "nonsense", "--list"], "expected HOST:PORT"),
        (["--bootstrap-server", "b:9092", "--reset-offsets", "--group", "g", "--to-earliest"], "needs a scope"),
        (["--bootstrap-server", "b:9092", "--reset-offsets", "--group", "g", "--all-topics"], "--to-earliest"),
        (["--bootstrap-server", "b:9092", "--list", "--execute"], "only go with --reset-offsets"),
        (["--bootstrap-server", "b:9092", "--list", "--describe"], "not allowed with"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(argv: list[str], message: str) -> None:
    r = subprocess.run([sys.executable, "-m", "kafka_zk", "consumer-groups", *argv], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_an_unreachable_cluster_is_exit_1() -> None:
    from kafka_zk.launch.ports import free_port

    r = subprocess.run([sys.executable, "-m", "kafka_zk", "consumer-groups", "--bootstrap-server", f"127.0.0.1:{free_port()}",
                        "--list", "--timeout", "2"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("Error: no broker reachable"), r.stderr
