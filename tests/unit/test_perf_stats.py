"""ProducerPerformance / ConsumerPerformance arithmetic and lines, driven by a fake clock."""

from __future__ import annotations

import re

from kafka_zk.admin.perf_stats import (
    ProducerStats,
    ThroughputThrottler,
    consumer_header,
    consumer_progress_line,
    consumer_total_line,
    percentiles,
)


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def test_total_line_has_kafkas_shape_and_numbers() -> None:
    clock = Clock()
    stats = ProducerStats(1000, now_ms=clock)
    for i in range(1000):
        clock.ms += 1
        assert stats.record(i, latency_ms=i % 100, size=1024, now=clock.ms) is None or i >= 999
    line = stats.total_line()
    # 1000 records in 1000 ms of 1 KiB: 1000 records/sec, 0.98 MB/sec; latencies 0..99 evenly
    assert line == ("1000 records sent, 1000.000000 records/sec (0.98 MB/sec), 49.50 ms avg latency, "
                    "99.00 ms max latency, 50 ms 50th, 95 ms 95th, 99 ms 99th, 99 ms 99.9th.")


def test_window_line_every_reporting_interval() -> None:
    clock = Clock()
    stats = ProducerStats(100, reporting_interval_ms=5000, now_ms=clock)
    lines = []
    for i in range(100):
        clock.ms += 100
        got = stats.record(i, 10, 100, clock.ms)
        if got:
            lines.append(got)
    assert len(lines) == 2  # after 5 s and 10 s
    assert lines[0] == ("50 records sent, 10.0 records/sec (0.00 MB/sec), 10.0 ms avg latency, "
                        "10.0 ms max latency.")
    assert stats.count == 100 and stats.window_count == 0


def test_latency_sampling_caps_at_500000() -> None:
    stats = ProducerStats(1_500_000, now_ms=Clock())
    assert stats.sampling == 3


def test_percentiles_index_rule() -> None:
    assert percentiles([5, 1, 3, 2, 4], 0.5, 0.95, 0.999) == [3, 5, 5]
    assert percentiles([], 0.5) == [0]


def test_throttler_converges_on_the_target_rate() -> None:
    """Simulated sends at no cost: the sleeps the throttler asks for make 1000 records take ~1 s at 1000/s."""
    now_ns = 0
    t = ThroughputThrottler(1000, start_ms=0)
    for i in range(5000):
        if t.should_throttle(i, now_ns // 1_000_000):
            now_ns += int(t.throttle() * 1e9)
        now_ns += 10_000  # 10 µs per send
    rate = 5000 / (now_ns / 1e9)
    assert 950 < rate < 1050
    assert not ThroughputThrottler(-1, 0).should_throttle(10**9, 1)


def test_throttler_sleeps_only_past_the_minimum_deficit() -> None:
    t = ThroughputThrottler(100_000, 0)  # 10 µs per record: 200 records before a 2 ms sleep
    pauses = [t.throttle() for _ in range(200)]
    assert pauses[:199] == [0.0] * 199 and abs(pauses[199] - 0.002) < 1e-9


def test_consumer_csv() -> None:
    assert consumer_header(False) == ("start.time, end.time, data.consumed.in.MB, MB.sec, "
                                      "data.consumed.in.nMsg, "
                                      "nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, "
                                      "fetch.nMsg.sec")
    row = consumer_total_line(0, 2000, 2 * 1024 * 1024, 1000, 500).split(", ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}", row[0])
    assert row[2:] == ["2.0000", "1.0000", "1000", "500.0000", "500", "1500", "1.3333", "666.6667"]


def test_consumer_detailed_row() -> None:
    """One ``--show-detailed-stats`` row: totals so far, rates over the interval (fetch time = interval
    minus the time spent joining)."""
    row = consumer_progress_line(3 * 1048576, 1048576, 3000, 1000, 10_000, 12_000, 1000).split(", ")
    assert row[1:] == ["0", "3.0000", "1.0000", "3000", "1000.0000", "1000", "1000", "2.0000", "2000.0000"]
    assert consumer_header(True).startswith("time, threadId, data.consumed.in.MB, MB.sec")
