"""Counts of Kafka-protocol requests per (API key, version): served, and refused by closing the connection.

Why: "does client X work against us?" is answered by which request versions it actually sends and whether
each was served. The counters are served by the control endpoint at ``GET /requests`` (JSON
``{"served": {"3:9": 12, ...}, "refused": {"24:1": 1}}``), so a test or an operator can see what a real client
picked after negotiating ApiVersions, and that nothing it sent made the broker close the connection.
A refused ApiVersions at an unknown version is *answered* (UNSUPPORTED_VERSION in v0) and counted as served
at the version asked for, as the client did get its answer.
"""

from __future__ import annotations

from collections import Counter


class RequestStats:
    """Two counters keyed by ``(api_key, api_version)``; incrementing is a dict update on the hot path."""

    __slots__ = ("served", "refused")

    def __init__(self) -> None:
        self.served: Counter[tuple[int, int]] = Counter()
        self.refused: Counter[tuple[int, int]] = Counter()

    def to_json(self) -> dict[str, dict[str, int]]:
        return {
            "served": {f"{k}:{v}": n for (k, v), n in sorted(self.served.items())},
            "refused": {f"{k}:{v}": n for (k, v), n in sorted(self.refused.items())},
        }
