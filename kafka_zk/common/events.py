"""Observable events: controller decisions, leadership changes, ISR changes, each replica's LEO/HW.

Why a bus and not just logs: the study labs and the live dashboard need to *watch* the cluster work
(which broker won the election, when the HW moved, why the ISR shrank). Components call
``bus.emit(kind, **fields)``; the bus keeps a bounded ring of recent events (served over HTTP by the
broker's control endpoint at ``/events``) and calls subscribers synchronously. Emitting is cheap and
never raises into the caller.

Event kinds are dotted names, declared once in :mod:`kafka_zk.common.event_kinds` and documented in
``docs/events.md``.
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


class CoalescingEmitter:
    """At most one event per (key, kind) per ``interval_ms``; what arrives in between is coalesced and the
    latest value is emitted when the interval ends, so a watcher always sees the final value.

    Used for per-replica progress (LEO, HW), which can change thousands of times a second: without coalescing
    it would flush controller decisions out of the bus's ring. Needs a running asyncio loop for the trailing
    emit; without one it emits every call.
    """

    def __init__(self, bus: EventBus, interval_ms: int = 100) -> None:
        self.bus = bus
        self.interval_ms = interval_ms
        self._last: dict[tuple[Any, str], int] = {}
        self._pending: dict[tuple[Any, str], dict[str, Any]] = {}

    def emit(self, key: Any, kind: str, **fields: Any) -> None:
        import asyncio

        slot = (key, kind)
        now = self.bus._clock.monotonic_ms()
        last = self._last.get(slot)
        if last is None or now - last >= self.interval_ms:
            self._last[slot] = now
            self._pending.pop(slot, None)
            self.bus.emit(kind, **fields)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.bus.emit(kind, **fields)
            return
        if slot not in self._pending:
            loop.call_later((self.interval_ms - (now - last)) / 1000, self._flush, slot)
        self._pending[slot] = fields

    def _flush(self, slot: tuple[Any, str]) -> None:
        fields = self._pending.pop(slot, None)
        if fields is not None:
            self._last[slot] = self.bus._clock.monotonic_ms()
            self.bus.emit(slot[1], **fields)
