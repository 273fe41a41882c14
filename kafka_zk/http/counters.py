"""Counters of what the broker's components report as events: ISR shrinks/expands, leader elections.

Why from events: the leader emits ``isr.shrink`` / ``isr.expand`` exactly when it has written a new ISR to
ZooKeeper, and the controller emits ``partition.leader_elected`` / ``election.unclean`` when it has written
an election's result, i.e. where Kafka marks IsrShrinksPerSec, IsrExpandsPerSec, LeaderElectionRateAndTimeMs
and UncleanLeaderElectionsPerSec. Counting the bus keeps those components free of metric code, and what is
counted is what happened, not a guess. The bus calls subscribers synchronously, so no event is missed.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.events import Event, EventBus

COUNTED = frozenset({kinds.ISR_SHRINK, kinds.ISR_EXPAND, kinds.PARTITION_LEADER_ELECTED, kinds.ELECTION_UNCLEAN})


class EventCounters:
    """Monotonic counts per event kind, from the moment of :meth:`attach` (the broker attaches before it
    starts, so the counts cover the process's lifetime, as a JMX meter does)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._detach: Callable[[], None] | None = None

    def attach(self, bus: EventBus) -> None:
        self._detach = bus.subscribe(self._on_event)

    def detach(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None

    def _on_event(self, ev: Event) -> None:
        if ev.kind in COUNTED:
            self.counts[ev.kind] += 1

    def __getitem__(self, kind: str) -> int:
        return self.counts[kind]
