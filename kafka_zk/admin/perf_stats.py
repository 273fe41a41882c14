"""The arithmetic and the lines of Kafka's performance tools, without I/O (``perf_test`` drives them).

* :class:`ProducerStats` is ``ProducerPerformance.Stats``: every completion adds its latency to the totals
  and to a 5-second window; when a completion arrives after the window is 5 s old the window is printed
  (``N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency.``) and restarted. At the
  end :meth:`ProducerStats.total_line` prints the run with the 50th/95th/99th/99.9th latency percentiles,
  taken as Kafka takes them: from a sample of at most 500,000 latencies (every ``n // 500000``-th record),
  sorted, at index ``int(p * size)``.
* :class:`ThroughputThrottler` is Kafka's ``ThroughputThrottler``: while the average rate since the start is
  above the target it accumulates ``1/target`` seconds of "sleep deficit" per record and sleeps once the
  deficit reaches 2 ms, so the rate converges on the target without a sleep per record. ``-1`` disables it.
* :func:`consumer_header` / :func:`consumer_total_line` / :func:`consumer_progress_line` are
  ConsumerPerformance's CSV header and rows (``--show-detailed-stats`` gives the periodic rows).

Times are milliseconds from an injectable ``now_ms`` so the tests can drive a clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

MAX_LATENCY_SAMPLES = 500_000
REPORTING_INTERVAL_MS = 5000
MIN_SLEEP_NS = 2_000_000
NS_PER_SEC = 1_000_000_000
MB = 1024.0 * 1024.0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class ProducerStats:
    num_records: int
    reporting_interval_ms: int = REPORTING_INTERVAL_MS
    now_ms: Callable[[], int] = _now_ms
    start: int = 0
    window_start: int = 0
    count: int = 0
    bytes: int = 0
    total_latency: int = 0
    max_latency: int = 0
    window_count: int = 0
    window_bytes: int = 0
    window_total_latency: int = 0
    window_max_latency: int = 0
    latencies: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start = self.window_start = self.now_ms()
        self.sampling = max(1, self.num_records // max(1, min(self.num_records, MAX_LATENCY_SAMPLES)))

    def record(self, iteration: int, latency_ms: int, size: int, now: int) -> str | None:
        """One completion; returns the window line when the window is due (the caller prints it)."""
        self.count += 1
        self.bytes += size
        self.total_latency += latency_ms
        self.max_latency = max(self.max_latency, latency_ms)
        self.window_count += 1
        self.window_bytes += size
        self.window_total_latency += latency_ms
        self.window_max_latency = max(self.window_max_latency, latency_ms)
        if iteration % self.sampling == 0:
            self.latencies.append(latency_ms)
        if now - self.window_start >= self.reporting_interval_ms:
            line = self.window_line()
            self.new_window()
            return line
        return None

    def window_line(self) -> str:
        elapsed = max(self.now_ms() - self.window_start, 1)
        return (f"{self.window_count} records sent, {1000.0 * self.window_count / elapsed:.1f} records/sec "
                f"({1000.0 * self.window_bytes / elapsed / MB:.2f} MB/sec), "
                f"{self.window_total_latency / max(self.window_count, 1):.1f} ms avg latency, "
                f"{float(self.window_max_latency):.1f} ms max latency.")

    def new_window(self) -> None:
        self.window_start = self.now_ms()
        self.window_count = self.window_bytes = self.window_total_latency = self.window_max_latency = 0

    def progress_line(self, sent: int) -> str:
        """The one-line live view for a terminal (not one of Kafka's lines)."""
        elapsed = max(self.now_ms() - self.start, 1)
        return (f"{sent}/{self.num_records} sent, {self.count} acknowledged, "
                f"{1000.0 * self.count / elapsed:.1f} records/sec, "
                f"{self.total_latency / max(self.count, 1):.1f} ms avg latency")

    def total_line(self) -> str:
        elapsed = max(self.now_ms() - self.start, 1)
        p50, p95, p99, p999 = percentiles(self.latencies, 0.5, 0.95, 0.99, 0.999)
        return (f"{self.count} records sent, {1000.0 * self.count / elapsed:f} records/sec "
                f"({1000.0 * self.bytes / elapsed / MB:.2f} MB/sec), "
                f"{self.total_latency / max(self.count, 1):.2f} ms avg latency, "
                f"{float(self.max_latency):.2f} ms max latency, {p50} ms 50th, {p95} ms 95th, "
                f"{p99} ms 99th, {p999} ms 99.9th.")


def percentiles(latencies: list[int], *ps: float) -> list[int]:
    """Kafka's rule: sort, then the value at index ``int(p * size)`` (0 for an empty sample)."""
    ordered = sorted(latencies)
    if not ordered:
        return [0 for _ in ps]
    return [ordered[min(int(p * len(ordered)), len(ordered) - 1)] for p in ps]


class ThroughputThrottler:
    """Kafka's ThroughputThrottler: :meth:`should_throttle`, then ``await asyncio.sleep(throttle())``."""

    def __init__(self, target_per_sec: int, start_ms: int) -> None:
        self.target = target_per_sec
        self.start_ms = start_ms
        self.sleep_time_ns = NS_PER_SEC // target_per_sec if target_per_sec > 0 else 0
        self.sleep_deficit_ns = 0

    def should_throttle(self, amount_so_far: int, send_start_ms: int) -> bool:
        if self.target < 0:
            return False
        elapsed_s = (send_start_ms - self.start_ms) / 1000.0
        return elapsed_s > 0 and amount_so_far / elapsed_s > self.target

    def throttle(self) -> float:
        """Seconds to sleep now (0 until 2 ms of deficit accumulated); the deficit is then paid off.

        A target of 0 means "send nothing more": an hour, and the caller checks again.
        """
        if self.target == 0:
            return 3600.0
        self.sleep_deficit_ns += self.sleep_time_ns
        if self.sleep_deficit_ns < MIN_SLEEP_NS:
            return 0.0
        seconds = self.sleep_deficit_ns / NS_PER_SEC
        self.sleep_deficit_ns = 0
        return seconds


def format_date(ms: int) -> str:
    """Kafka's default ``--date-format`` ``yyyy-MM-dd HH:mm:ss:SSS``, in local time."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000)) + f":{ms % 1000:03d}"


def consumer_header(detailed: bool) -> str:
    first = "time, threadId" if detailed else "start.time, end.time"
    return (f"{first}, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
            f"fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")


def consumer_total_line(start_ms: int, end_ms: int, total_bytes: int, messages: int, join_ms: int) -> str:
    elapsed_s = max(end_ms - start_ms, 1) / 1000.0
    fetch_ms = (end_ms - start_ms) - join_ms
    mb = total_bytes / MB
    fetch_s = fetch_ms / 1000.0
    fetch_mb_s = mb / fetch_s if fetch_s > 0 else 0.0
    fetch_msg_s = messages / fetch_s if fetch_s > 0 else 0.0
    return (f"{format_date(start_ms)}, {format_date(end_ms)}, {mb:.4f}, {mb / elapsed_s:.4f}, {messages}, "
            f"{messages / elapsed_s:.4f}, {join_ms}, {fetch_ms}, {fetch_mb_s:.4f}, {fetch_msg_s:.4f}")


def consumer_progress_line(bytes_read: int, last_bytes: int, messages: int, last_messages: int,
                           start_ms: int, end_ms: int, join_ms: int) -> str:
    elapsed = max(end_ms - start_ms, 1)
    interval_mb = (bytes_read - last_bytes) / MB
    fetch_ms = end_ms - start_ms - join_ms
    fetch_mb_s = 1000.0 * interval_mb / fetch_ms if fetch_ms > 0 else 0.0
    fetch_msg_s = 1000.0 * (messages - last_messages) / fetch_ms if fetch_ms > 0 else 0.0
    return (f"{format_date(end_ms)}, 0, {bytes_read / MB:.4f}, {1000.0 * interval_mb / elapsed:.4f}, "
            f"{messages}, "
            f"{(messages - last_messages) / elapsed * 1000.0:.4f}, {join_ms}, {fetch_ms}, {fetch_mb_s:.4f}, "
            f"{fetch_msg_s:.4f}")
