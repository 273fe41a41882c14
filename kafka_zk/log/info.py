"""Results of log appends and reads, handed to the replication and server layers."""

from __future__ import annotations

from dataclasses import dataclass

from kafka_zk.common.regions import FileRegion


@dataclass(slots=True)
class LogAppendInfo:
    """What an append did (Kafka's ``LogAppendInfo``).

    ``duplicate`` means an idempotent producer retried a batch the log already holds: nothing was written
    and the offsets are the original ones. ``log_append_time`` is -1 unless the topic uses LogAppendTime.
    """

    first_offset: int
    last_offset: int
    max_timestamp: int
    offset_of_max_timestamp: int
    log_append_time: int
    log_start_offset: int
    num_records: int
    valid_bytes: int
    duplicate: bool = False
    num_batches: int = 0
    leader_epoch: int = -1

    @property
    def next_offset(self) -> int:
        return self.last_offset + 1


@dataclass(frozen=True, slots=True)
class FetchDataInfo:
    """A read: ``records`` is a :class:`FileRegion` of the segment (send it with ``sendfile``), the bytes
    themselves when they are the segment's last few small batches (held in memory), or ``b""``.

    ``first_entry_incomplete`` is True when ``min_one_message`` was False and the first batch is larger than
    ``max_bytes`` — the region then holds only its first ``max_bytes`` bytes (Kafka's fetch path replaces
    such a result with an empty one for Fetch v3+). The offsets describe the log at the time of the read.
    """

    fetch_offset: int
    records: FileRegion | bytes
    first_entry_incomplete: bool
    log_start_offset: int
    log_end_offset: int
    high_watermark: int

    @property
    def size(self) -> int:
        return len(self.records)

    def records_bytes(self) -> bytes:
        """The records as bytes (copies a file region)."""
        r = self.records
        return r.read() if isinstance(r, FileRegion) else bytes(r)
