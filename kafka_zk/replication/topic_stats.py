"""Per-topic traffic counters, Kafka's ``BrokerTopicStats``: messages in, bytes in, bytes out.

Why here: Kafka marks MessagesIn/BytesIn where the leader appends (``ReplicaManager.appendToLocalLog``) and
BytesOut where a consumer fetch response is built (``KafkaApis``, follower fetches are not counted), so the
counters live with the replica manager and are bumped exactly there. The HTTP admin's ``/metrics`` reads them
as ``kafka_server_brokertopicmetrics_*_total``. Counting is a dict update; nothing is ever reset.
"""

from __future__ import annotations

from collections import Counter


class BrokerTopicStats:
    """Monotonic counters keyed by topic name (a deleted topic keeps its counts, as a JMX counter would
    until restart)."""

    __slots__ = ("messages_in", "bytes_in", "bytes_out")

    def __init__(self) -> None:
        self.messages_in: Counter[str] = Counter()
        self.bytes_in: Counter[str] = Counter()
        self.bytes_out: Counter[str] = Counter()

    def record_append(self, topic: str, messages: int, size: int) -> None:
        self.messages_in[topic] += messages
        self.bytes_in[topic] += size

    def record_fetch_out(self, topic: str, size: int) -> None:
        if size:
            self.bytes_out[topic] += size
