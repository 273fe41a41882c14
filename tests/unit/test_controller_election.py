"""Election strategies (pure) and the state machines' transition tables, without sockets or ZooKeeper."""

from __future__ import annotations

import pytest

from kafka_zk.controller import partition_state_machine as psm
from kafka_zk.controller import replica_state_machine as rsm
from kafka_zk.controller.context import LeaderAndIsr, PartitionStatus, ReplicaStatus
from kafka_zk.controller.election import (
    controlled_shutdown_leader,
    offline_leader,
    preferred_leader,
    reassign_leader,
)

# -- offline ---------------------------------------------------------------------------------------


def test_offline_picks_first_live_isr_member_in_assignment_order() -> None:
    e = offline_leader([1, 2, 3], isr=[3, 2], live={2, 3}, unclean_allowed=False)
    assert e is not None
    assert (e.leader, e.isr, e.recipients, e.unclean) == (2, (3, 2), (2, 3), False)


def test_offline_new_isr_drops_dead_members() -> None:
    e = offline_leader([1, 2, 3], isr=[1, 2, 3], live={2, 3}, unclean_allowed=False)
    assert e is not None and e.leader == 2 and e.isr == (2, 3)


def test_offline_without_live_isr_fails_unless_unclean_allowed() -> None:
    assert offline_leader([1, 2, 3], isr=[1], live={2, 3}, unclean_allowed=False) is None
    e = offline_leader([1, 2, 3], isr=[1], live={3, 2}, unclean_allowed=True)
    assert e is not None
    assert (e.leader, e.isr, e.unclean) == (2, (2,), True)


def test_offline_nothing_live_fails_even_unclean() -> None:
    assert offline_leader([1, 2], isr=[1, 2], live=set(), unclean_allowed=True) is None


def test_offline_last_isr_member_returns_as_leader() -> None:
    # leader -1, ISR [1] kept by the ISR-of-one rule; broker 1 comes back.
    e = offline_leader([2, 1], isr=[1], live={1, 2}, unclean_allowed=False)
    assert e is not None and (e.leader, e.isr) == (1, (1,))


# -- other strategies --------------------------------------------------------------------------------


def test_reassign_picks_from_targets_only_and_keeps_isr() -> None:
    e = reassign_leader([4, 5], isr=[1, 5, 4], live={1, 4, 5})
    assert e is not None and (e.leader, e.isr, e.recipients) == (4, (1, 5, 4), (4, 5))
    assert reassign_leader([4, 5], isr=[1], live={1, 4, 5}) is None


def test_preferred_only_when_preferred_is_live_and_in_sync() -> None:
    e = preferred_leader([2, 1, 3], isr=[1, 3, 2], live={1, 2, 3})
    assert e is not None and (e.leader, e.isr, e.recipients) == (2, (1, 3, 2), (2, 1, 3))
    assert preferred_leader([2, 1, 3], isr=[1, 3], live={1, 2, 3}) is None
    assert preferred_leader([2, 1, 3], isr=[1, 3, 2], live={1, 3}) is None


def test_controlled_shutdown_moves_off_and_shrinks_isr() -> None:
    e = controlled_shutdown_leader([1, 2, 3], isr=[1, 2, 3], live_or_shutting_down={1, 2, 3}, shutting_down={1})
    assert e is not None and (e.leader, e.isr, e.recipients) == (2, (2, 3), (1, 2, 3))
    assert controlled_shutdown_leader([1, 2], isr=[1], live_or_shutting_down={1, 2}, shutting_down={1}) is None


# -- transition tables (Kafka's validPreviousStates) -------------------------------------------------

P = PartitionStatus
R = ReplicaStatus


@pytest.mark.parametrize(
    "current, target, ok",
    [
        (P.NonExistentPartition, P.NewPartition, True),
        (P.NewPartition, P.OnlinePartition, True),
        (P.OfflinePartition, P.OnlinePartition, True),
        (P.OnlinePartition, P.OnlinePartition, True),
        (P.OnlinePartition, P.OfflinePartition, True),
        (P.OfflinePartition, P.NonExistentPartition, True),
        (P.OnlinePartition, P.NonExistentPartition, False),
        (P.NonExistentPartition, P.OnlinePartition, False),
        (P.OnlinePartition, P.NewPartition, False),
    ],
)
def test_partition_transitions(current: PartitionStatus, target: PartitionStatus, ok: bool) -> None:
    assert psm.is_valid_transition(current, target) is ok


def test_partition_table_is_kafkas() -> None:
    legal = {(c, t) for t, cs in psm.VALID_PREVIOUS_STATES.items() for c in cs}
    assert len(legal) == 8


@pytest.mark.parametrize(
    "current, target, ok",
    [
        (R.NonExistentReplica, R.NewReplica, True),
        (R.NewReplica, R.OnlineReplica, True),
        (R.ReplicaDeletionIneligible, R.OnlineReplica, True),
        (R.OnlineReplica, R.OfflineReplica, True),
        (R.OfflineReplica, R.ReplicaDeletionStarted, True),
        (R.ReplicaDeletionStarted, R.ReplicaDeletionSuccessful, True),
        (R.ReplicaDeletionStarted, R.ReplicaDeletionIneligible, True),
        (R.ReplicaDeletionSuccessful, R.NonExistentReplica, True),
        (R.OnlineReplica, R.ReplicaDeletionStarted, False),
        (R.OnlineReplica, R.NonExistentReplica, False),
        (R.ReplicaDeletionSuccessful, R.OnlineReplica, False),
        (R.NonExistentReplica, R.OnlineReplica, False),
    ],
)
def test_replica_transitions(current: ReplicaStatus, target: ReplicaStatus, ok: bool) -> None:
    assert rsm.is_valid_transition(current, target) is ok


# -- removing a replica from the ISR -------------------------------------------------------------------


def test_remove_follower_from_isr_bumps_epoch_keeps_leader() -> None:
    li = LeaderAndIsr(leader=1, leader_epoch=4, isr=(1, 2, 3), controller_epoch=2, zk_version=7)
    new = rsm.remove_replica_from_isr(li, 2, controller_epoch=3)
    assert new == LeaderAndIsr(1, 5, (1, 3), 3, 7)  # zk_version 7 = expected version of the write


def test_remove_leader_from_isr_leaves_no_leader() -> None:
    li = LeaderAndIsr(1, 4, (1, 2), 2, 7)
    new = rsm.remove_replica_from_isr(li, 1, 3)
    assert new is not None and (new.leader, new.isr) == (-1, (2,))


def test_last_isr_member_stays_in_isr() -> None:
    li = LeaderAndIsr(1, 4, (1,), 2, 7)
    new = rsm.remove_replica_from_isr(li, 1, 3)
    assert new is not None and (new.leader, new.leader_epoch, new.isr) == (-1, 5, (1,))


def test_replica_not_in_isr_needs_no_write() -> None:
    assert rsm.remove_replica_from_isr(LeaderAndIsr(1, 4, (1,), 2, 7), 3, 3) is None


# -- decisions on a context ------------------------------------------------------------------------------

from kafka_zk.common.tp import TopicPartition  # noqa: E402
from kafka_zk.controller.context import ControllerContext, LiveBroker, ReplicaAssignment  # noqa: E402
from kafka_zk.controller.election import ElectionStrategy  # noqa: E402
from kafka_zk.controller.reassignment import is_reassignment_complete, validate_target  # noqa: E402

TP = TopicPartition("t", 0)


def _ctx(live: tuple[int, ...], replicas: tuple[int, ...]) -> ControllerContext:
    ctx = ControllerContext(epoch=3)
    for b in live:
        ctx.add_live_broker(LiveBroker(b, (), 10 + b))
    ctx.set_assignment(TP, ReplicaAssignment(replicas))
    return ctx


def test_initial_leader_and_isr_uses_live_replicas_in_assignment_order() -> None:
    assert psm.initial_leader_and_isr(_ctx((1, 3), (2, 3, 1)), TP) == LeaderAndIsr(3, 0, (3, 1), 3, 0)
    assert psm.initial_leader_and_isr(_ctx((1,), (2, 3)), TP) is None


def test_shutting_down_brokers_are_not_live_for_elections() -> None:
    ctx = _ctx((1, 2), (1, 2))
    ctx.shutting_down.add(1)
    current = LeaderAndIsr(1, 5, (1, 2), 3, 9)
    e = psm.decide_election(ctx, TP, current, ElectionStrategy.CONTROLLED_SHUTDOWN, False)
    assert e is not None and (e.leader, e.isr, e.recipients) == (2, (2,), (1, 2))
    e = psm.decide_election(ctx, TP, current, ElectionStrategy.OFFLINE, False)
    assert e is not None and e.leader == 2
    assert psm.decide_election(ctx, TP, current, ElectionStrategy.PREFERRED, False) is None


def test_reassignment_shape_validation_and_completion() -> None:
    ra = ReplicaAssignment.for_reassignment(ReplicaAssignment((1, 2, 3)), [4, 5, 6])
    assert ra == ReplicaAssignment((4, 5, 6, 1, 2, 3), (4, 5, 6), (1, 2, 3))
    assert ra.target_replicas == (4, 5, 6) and ra.origin_replicas == (1, 2, 3)
    # Changing the target mid-flight keeps the original replicas as origin.
    again = ReplicaAssignment.for_reassignment(ra, [1, 4])
    assert again == ReplicaAssignment((1, 4, 2, 3), (4,), (2, 3))
    assert not is_reassignment_complete(ra, [1, 2, 3, 4, 5])
    assert is_reassignment_complete(ra, [6, 5, 4, 1])
    ctx = _ctx((1, 2, 3), (1, 2))
    assert validate_target(ctx, TP, [2, 3]) is None
    assert "not live" in (validate_target(ctx, TP, [2, 9]) or "")
    assert "more than once" in (validate_target(ctx, TP, [2, 2]) or "")
    assert "empty" in (validate_target(ctx, TP, []) or "")
