"""The broker's per-version request counters (GET /requests): what real-client tests and operators read."""

from __future__ import annotations

from kafka_zk.server.request_stats import MAX_CLIENT_IDS, OTHER, RequestStats


def test_counts_per_version_and_client() -> None:
    stats = RequestStats()
    stats.count_served(3, 9, "rdkafka")
    stats.count_served(3, 9, "rdkafka")
    stats.count_served(0, 8, None)
    stats.refused[(26, 0)] += 1
    stats.downgraded[(18, 4)] += 1
    assert stats.to_json() == {
        "served": {"0:8": 1, "3:9": 2},
        "refused": {"26:0": 1},
        "downgraded": {"18:4": 1},
        "by_client": {"": {"0:8": 1}, "rdkafka": {"3:9": 2}},
    }


def test_client_ids_beyond_the_cap_share_one_bucket() -> None:
    stats = RequestStats()
    for i in range(MAX_CLIENT_IDS + 50):
        stats.count_served(1, 10, f"client-{i}")
    assert len(stats.by_client) == MAX_CLIENT_IDS + 1
    assert stats.by_client[OTHER][(1, 10)] == 50
    stats.count_served(1, 10, "client-0")  # a known id keeps its own counter
    assert stats.by_client["client-0"][(1, 10)] == 2
    assert stats.served[(1, 10)] == MAX_CLIENT_IDS + 51
