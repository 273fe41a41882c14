"""Topic-partition identifiers."""

from __future__ import annotations

from typing import NamedTuple


class TopicPartition(NamedTuple):
    topic: str
    partition: int

    def __str__(self) -> str:  # Kafka prints ``orders-3``; directories use the same name
        return f"{self.topic}-{self.partition}"

    @classmethod
    def parse(cls, name: str) -> "TopicPartition":
        """Parse ``<topic>-<partition>`` (the log directory name); topic names may contain dashes."""
        topic, sep, part = name.rpartition("-")
        if not sep or not topic or not part.isdigit():
            raise ValueError(f"not a topic-partition name: {name!r} (expected <topic>-<partition>)")
        return cls(topic, int(part))
