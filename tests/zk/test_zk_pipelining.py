"""Pipelined ZooKeeper traffic (``zk_layout.pipelining``): thousands of requests queued at once come back
complete and in order, from several threads at a time, each conditional write with its own outcome."""

from __future__ import annotations

import threading

import pytest

from zk_layout import KafkaZkClient
from zk_layout.connection import Op, first_error
from zk_layout.errors import ControllerMovedError
from zk_layout.pipelining import MAX_REQUESTS_PER_WRITE


def test_get_many_reads_thousands_of_znodes_each_with_its_own_data(zk: KafkaZkClient) -> None:
    n = 3 * MAX_REQUESTS_PER_WRITE + 7
    zk.ensure_path("/bulk")
    results = zk.multi_many([[Op.create(f"/bulk/n{i}", b"%d" % i)] for i in range(n)])
    assert all(first_error(r) is None for r in results)
    got = zk.get_many([f"/bulk/n{i}" for i in range(n)] + ["/bulk/missing"])
    assert got.pop("/bulk/missing") is None
    assert {p: e[0] for p, e in got.items() if e is not None} == {f"/bulk/n{i}": b"%d" % i for i in range(n)}


def test_concurrent_pipelines_from_several_threads_do_not_mix_answers(zk: KafkaZkClient) -> None:
    zk.ensure_path("/mix")
    zk.multi_many([[Op.create(f"/mix/t{t}-{i}", f"{t}:{i}".encode())] for t in range(4) for i in range(500)])
    failures: list[str] = []

    def reader(t: int) -> None:
        got = zk.get_many([f"/mix/t{t}-{i}" for i in range(500)])
        for i in range(500):
            entry = got[f"/mix/t{t}-{i}"]
            if entry is None or entry[0] != f"{t}:{i}".encode():
                failures.append(f"t{t}-{i}: {entry}")

    threads = [threading.Thread(target=reader, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert failures == []


def test_conditional_writes_pipelined_report_each_conflict(zk: KafkaZkClient) -> None:
    zk.ensure_path("/cond")
    zk.multi_many([[Op.create(f"/cond/c{i}", b"0")] for i in range(200)])
    # odd znodes at version 0 succeed, even ones at a wrong version fail
    results = zk.multi_many([[Op.set(f"/cond/c{i}", b"1", 0 if i % 2 else 5)] for i in range(200)])
    assert [first_error(r) is None for r in results] == [bool(i % 2) for i in range(200)]


def test_grouped_multi_gives_every_op_its_own_outcome_even_when_a_group_fails(zk: KafkaZkClient) -> None:
    zk.ensure_path("/grp")
    zk.multi_each([Op.create(f"/grp/g{i}", b"0") for i in range(250)], group=100)
    # one bad version in the middle group: that group is rerun op by op, the others stay grouped
    ops = [Op.set(f"/grp/g{i}", b"1", 7 if i == 150 else 0) for i in range(250)]
    results = zk.multi_each(ops, group=100)
    assert len(results) == 250
    assert [first_error(r) is None for r in results] == [i != 150 for i in range(250)]
    assert zk.get_data("/grp/g149")[0] == b"1" and zk.get_data("/grp/g150")[0] == b"0"  # type: ignore[index]


def test_grouped_fenced_writes_refused_after_the_epoch_moved(zk: KafkaZkClient) -> None:
    _epoch, version = zk.register_controller_and_increment_epoch(1)
    zk.ensure_path("/fenced")
    zk.multi_each([Op.create(f"/fenced/f{i}", b"0") for i in range(150)], version)
    with pytest.raises(ControllerMovedError):
        zk.multi_each([Op.set(f"/fenced/f{i}", b"1") for i in range(150)], version + 1)
    assert zk.get_data("/fenced/f0")[0] == b"0"  # type: ignore[index]
