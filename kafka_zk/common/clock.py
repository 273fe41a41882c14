"""An injectable clock so timing rules (ISR lag, session timeouts, retention) are testable without sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def time_ms(self) -> int:
        """Wall-clock milliseconds since the epoch (timestamps, retention)."""

    def monotonic_ms(self) -> int:
        """Monotonic milliseconds (timeouts, lag)."""


class SystemClock:
    def time_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when a test says so."""

    def __init__(self, start_ms: int = 1_600_000_000_000) -> None:
        self._now = start_ms

    def time_ms(self) -> int:
        return self._now

    def monotonic_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        self._now += ms


SYSTEM_CLOCK: Clock = SystemClock()
