"""Observable events: controller decisions, leadership changes, ISR changes, each replica's LEO/HW.

Why a bus and not just logs: the study labs and the live dashboard need to *watch* the cluster work
(which broker won the election, when the HW moved, why the ISR shrank). Components call
``bus.emit(kind, **fields)``; the bus keeps a bounded ring of recent events (served over HTTP by the
broker's control endpoint at ``/events``) and calls subscribers synchronously. Emitting is cheap and
never raises into the caller.

Event kinds are dotted names; the ones in use are listed in ``docs/events.md``.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from kafka_zk.common.clock import SYSTEM_CLOCK, Clock
from kafka_zk.common.logging import get_logger

log = get_logger("kafka_zk.events")


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    time_ms: int
    kind: str
    broker_id: int | None
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "time_ms": self.time_ms, "kind": self.kind, "broker_id": self.broker_id, **self.fields}


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self, broker_id: int | None = None, clock: Clock = SYSTEM_CLOCK, capacity: int = 10_000) -> None:
        self.broker_id = broker_id
        self._clock = clock
        self._ring: deque[Event] = deque(maxlen=capacity)
        self._seq = itertools.count(1)
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def emit(self, kind: str, **fields: Any) -> Event:
        with self._lock:
            ev = Event(next(self._seq), self._clock.time_ms(), kind, self.broker_id, fields)
            self._ring.append(ev)
            subs = list(self._subscribers)
        log.debug(kind, **fields)
        for sub in subs:
            try:
                sub(ev)
            except Exception:  # a broken subscriber must not break the component that emitted
                log.exception("event subscriber failed", kind=kind)
        return ev

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def recent(self, since_seq: int = 0, kind_prefix: str = "") -> list[Event]:
        with self._lock:
            return [e for e in self._ring if e.seq > since_seq and e.kind.startswith(kind_prefix)]
