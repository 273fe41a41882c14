"""The lab narration: ordering, the replica table, decoded znodes."""

from __future__ import annotations

import io
import threading

import pytest

from kafka_zk.labs.narration import Narrator, describe_znode, replica_table
from zk_layout.znodes import PartitionState


def test_lines_are_stamped_in_order_and_printed() -> None:
    ticks = iter([10.0, 10.5, 12.25])
    out = io.StringIO()
    n = Narrator(out, clock=lambda: next(ticks))
    n.say("step", "kill broker 1")
    n.say("znode", "/controller (deleted)")
    assert out.getvalue().splitlines() == ["[  +0.500s] step   kill broker 1", "[  +2.250s] znode  /controller (deleted)"]
    assert [ln.kind for ln in n.of_kind("znode")] == ["znode"]


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="expected one of step"):
        Narrator(None).say("shout", "x")


def test_concurrent_speakers_lose_no_line() -> None:
    n = Narrator(None)
    threads = [threading.Thread(target=lambda: [n.say("event", "e") for _ in range(200)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(n.lines) == 800


def test_replica_table_marks_out_of_sync_unknown_and_leader_view() -> None:
    text = replica_table("orders", 0, 1, 3, [1, 2], {0: 8, 1: 10, 2: -1}, 8, from_leader={0})
    assert text == "orders-0 leader 1 (epoch 3) ISR [1,2] | LEO b0=8~* b1=10 b2=? | HW 8"


def test_describe_znode_shows_fields_without_noise() -> None:
    state = PartitionState(leader=2, leader_epoch=4, isr=(2, 0), controller_epoch=7)
    assert describe_znode("/p/state", state) == "/p/state = {leader=2, leader_epoch=4, isr=[2,0], controller_epoch=7}"
    assert describe_znode("/controller", None) == "/controller (deleted)"
