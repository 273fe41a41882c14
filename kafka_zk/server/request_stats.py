"""Counts of Kafka-protocol requests per (API key, version): served, and refused by closing the connection.

Why: "does client X work against us?" is answered by which request versions it actually sends and whether
each was served. The counters are served by the control endpoint at ``GET /requests`` as JSON::

    {"served": {"3:9": 12, ...}, "refused": {"24:1": 1}, "downgraded": {"18:4": 2},
     "by_client": {"rdkafka": {"3:9": 4, ...}, ...}}

so a test or an operator can see what a real client picked after negotiating ApiVersions (``by_client`` is
keyed by the request header's client id), and that nothing it sent made the broker close the connection.
``refused`` counts requests answered by closing the connection; ``downgraded`` the ApiVersions requests at
a version above ours, which are answered (UNSUPPORTED_VERSION in the v0 layout, how clients downgrade).
At most :data:`MAX_CLIENT_IDS` client ids are kept apart; later ones count under ``"(other)"``, so a
client id per connection cannot grow the broker's memory.
"""

from __future__ import annotations

from collections import Counter, deque

MAX_CLIENT_IDS = 256
OTHER = "(other)"
#: handling times kept per API key for the ``totaltimems`` quantiles (Kafka's histograms are biased to the
#: last few minutes as well; a fixed window keeps memory bounded)
TIME_WINDOW = 1024


class RequestStats:
    """Counters keyed by ``(api_key, api_version)``; counting is a dict update or two on the hot path."""

    __slots__ = ("served", "refused", "downgraded", "by_client", "time_count", "time_sum_ms", "recent_ms")

    def __init__(self) -> None:
        self.served: Counter[tuple[int, int]] = Counter()
        self.refused: Counter[tuple[int, int]] = Counter()
        self.downgraded: Counter[tuple[int, int]] = Counter()
        self.by_client: dict[str, Counter[tuple[int, int]]] = {}
        # per API key: how many requests were timed, their total and the last TIME_WINDOW times (ms)
        self.time_count: Counter[int] = Counter()
        self.time_sum_ms: dict[int, float] = {}
        self.recent_ms: dict[int, deque[float]] = {}

    def record_time(self, api_key: int, ms: float) -> None:
        """A request of ``api_key`` took ``ms`` from decoding to its response being ready (Kafka's
        TotalTimeMs, without the socket send time)."""
        self.time_count[api_key] += 1
        self.time_sum_ms[api_key] = self.time_sum_ms.get(api_key, 0.0) + ms
        window = self.recent_ms.get(api_key)
        if window is None:
            window = self.recent_ms[api_key] = deque(maxlen=TIME_WINDOW)
        window.append(ms)

    def quantiles(self, api_key: int, qs: tuple[float, ...]) -> list[float]:
        """Quantiles of the recent times of ``api_key`` (nearest rank); zeros before any request."""
        times = sorted(self.recent_ms.get(api_key, ()))
        if not times:
            return [0.0 for _ in qs]
        return [times[min(len(times) - 1, int(q * len(times)))] for q in qs]

    def count_served(self, api_key: int, api_version: int, client_id: str | None) -> None:
        key = (api_key, api_version)
        self.served[key] += 1
        name = client_id or ""
        per_client = self.by_client.get(name)
        if per_client is None:
            if len(self.by_client) >= MAX_CLIENT_IDS:
                name = OTHER
            per_client = self.by_client.setdefault(name, Counter())
        per_client[key] += 1

    def to_json(self) -> dict[str, object]:
        def flat(counter: Counter[tuple[int, int]]) -> dict[str, int]:
            return {f"{k}:{v}": n for (k, v), n in sorted(counter.items())}

        return {
            "served": flat(self.served),
            "refused": flat(self.refused),
            "downgraded": flat(self.downgraded),
            "by_client": {name: flat(c) for name, c in sorted(self.by_client.items())},
        }
