"""Leader election strategies, as pure functions (Kafka's ``Election`` / ``PartitionLeaderElectionAlgorithms``).

Each strategy looks at one partition — its assignment (replica order = preference order), current ISR and
the set of brokers that count as live — and either returns an :class:`Election` (new leader, new ISR, and
who must receive the LeaderAndIsr) or ``None`` when no acceptable leader exists. Nothing here reads
ZooKeeper or the clock; the partition state machine feeds these functions and writes the outcome with a
conditional update.

"Live" is decided by the caller: registered, not shutting down (except where the strategy says otherwise)
and, in Kafka, not on an offline log dir. Candidates are always tried in **assignment order**.

| strategy | leader | new ISR | LeaderAndIsr recipients |
|---|---|---|---|
| offline | first live ISR member; else (unclean allowed) first live replica | live ISR members if the leader was in ISR, else ``[leader]`` | live replicas |
| reassign | first live ISR member of the *target* replicas | unchanged | target replicas |
| preferred | the first replica, only if live and in ISR | unchanged | all replicas |
| controlled shutdown | first live ISR member not shutting down | ISR minus shutting-down brokers | live-or-shutting-down replicas |
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import AbstractSet, Sequence


class ElectionStrategy(enum.Enum):
    OFFLINE = "offline"
    REASSIGN = "reassign"
    PREFERRED = "preferred"
    CONTROLLED_SHUTDOWN = "controlled_shutdown"


@dataclass(frozen=True, slots=True)
class Election:
    leader: int
    isr: tuple[int, ...]
    recipients: tuple[int, ...]
    unclean: bool = False  # leader came from outside the ISR: committed data may be lost


def offline_leader(
    assignment: Sequence[int], isr: Sequence[int], live: AbstractSet[int], unclean_allowed: bool
) -> Election | None:
    """Leader for a partition whose leader is gone (or that must be (re)brought online)."""
    live_replicas = tuple(r for r in assignment if r in live)
    leader = next((r for r in live_replicas if r in isr), None)
    unclean = False
    if leader is None:
        if not unclean_allowed or not live_replicas:
            return None
        leader, unclean = live_replicas[0], True
    new_isr = tuple(r for r in isr if r in live) if leader in isr else (leader,)
    return Election(leader, new_isr, live_replicas, unclean)


def reassign_leader(target_replicas: Sequence[int], isr: Sequence[int], live: AbstractSet[int]) -> Election | None:
    """Leader during a reassignment when the current leader is not a target replica (or is dead)."""
    leader = next((r for r in target_replicas if r in live and r in isr), None)
    if leader is None:
        return None
    return Election(leader, tuple(isr), tuple(target_replicas))


def preferred_leader(assignment: Sequence[int], isr: Sequence[int], live: AbstractSet[int]) -> Election | None:
    """Move leadership to the preferred (first) replica; only if it is live and in sync."""
    if not assignment:
        return None
    preferred = assignment[0]
    if preferred not in live or preferred not in isr:
        return None
    return Election(preferred, tuple(isr), tuple(assignment))


def controlled_shutdown_leader(
    assignment: Sequence[int],
    isr: Sequence[int],
    live_or_shutting_down: AbstractSet[int],
    shutting_down: AbstractSet[int],
) -> Election | None:
    """Move leadership off brokers that are shutting down; they also leave the ISR."""
    live_replicas = tuple(r for r in assignment if r in live_or_shutting_down)
    leader = next((r for r in live_replicas if r in isr and r not in shutting_down), None)
    if leader is None:
        return None
    new_isr = tuple(r for r in isr if r not in shutting_down)
    return Election(leader, new_isr, live_replicas)
