"""The OffsetsLog adapter: coordinator records as real v2 record batches, and back."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kafka_zk.common.clock import ManualClock
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator import offsets_codec as codec
from kafka_zk.coordinator.log_adapter import ReplicatedOffsetsLog, decode_batches, encode_batch
from kafka_zk.coordinator.testing import CoordinatorHarness, async_test
from kafka_zk.record.batch import RecordBatchView, iter_batches
from kafka_zk.record.builder import RecordBatchBuilder

T0 = TopicPartition("orders", 0)


def test_records_travel_as_one_valid_batch_with_create_time() -> None:
    records = [(b"k1", b"v1"), (b"k2", None)]
    batch = encode_batch(records, 1_600_000_000_000)
    view = RecordBatchView(memoryview(batch))
    view.validate()
    assert [(r.key, r.value, r.timestamp) for r in view.records()] == [(b"k1", b"v1", 1_600_000_000_000), (b"k2", None, 1_600_000_000_000)]
    assert list(decode_batches(batch + encode_batch([(b"k3", b"v3")], 1))) == records + [(b"k3", b"v3")]


def test_control_batches_are_skipped() -> None:
    marker = RecordBatchBuilder(is_control=True, is_transactional=True, producer_id=7, producer_epoch=0)
    marker.append(1, b"\x00\x00\x00\x01", b"\x00\x00\x00\x00\x00\x00")
    data = encode_batch([(b"k", b"v")], 1) + marker.build()
    assert len(list(iter_batches(data))) == 2
    assert list(decode_batches(data)) == [(b"k", b"v")]


@dataclass
class _Result:
    error: ErrorCode = ErrorCode.NONE
    error_message: str | None = None


class _Partitions:
    """Stands in for the replica manager: keeps each partition's appended batches (our own port's double)."""

    def __init__(self) -> None:
        self.batches: dict[TopicPartition, list[bytes]] = {}
        self.fail: ErrorCode | None = None
        self.calls: list[tuple[int, int, bool]] = []

    async def append_records(
        self, timeout_ms: int, required_acks: int, entries: dict[TopicPartition, memoryview], internal_topics_allowed: bool = False
    ) -> dict[TopicPartition, _Result]:
        self.calls.append((timeout_ms, required_acks, internal_topics_allowed))
        if self.fail is not None:
            return {tp: _Result(self.fail, "injected") for tp in entries}
        for tp, buf in entries.items():
            self.batches.setdefault(tp, []).append(bytes(buf))
        return {tp: _Result() for tp in entries}

    def read(self, partition: int) -> list[bytes]:
        return self.batches.get(TopicPartition("__consumer_offsets", partition), [])


@async_test
async def test_coordinator_state_survives_a_move_through_real_batches() -> None:
    rm = _Partitions()
    clock = ManualClock()
    h = CoordinatorHarness(clock=clock, offsets_log=ReplicatedOffsetsLog(rm, rm.read, clock))
    await h.start()
    members = await h.stable_group(2)
    assert await h.coordinator.commit_offsets("g", 1, members[0], {T0: (77, "meta")}) == {T0: ErrorCode.NONE}
    assert set(rm.calls) == {(5000, -1, True)}  # offsets.commit.timeout.ms, acks=all, internal topic allowed

    p = h.coordinator.partition_for("g")
    batches = rm.read(p)
    keys = [codec.decode_key(k) for buf in batches for k, _ in decode_batches(buf)]
    assert codec.GroupMetadataKey("g") in keys and codec.OffsetCommitKey("g", "orders", 0) in keys

    new = CoordinatorHarness(clock=clock, offsets_log=ReplicatedOffsetsLog(rm, rm.read, clock))
    await new.start()
    assert new.coordinator.fetch_offsets("g", [T0])[T0] == (77, "meta", ErrorCode.NONE, -1)
    assert new.state().value == "Stable"

    rm.fail = ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert await new.coordinator.commit_offsets("g", 1, members[0], {T0: (78, "")}) == {T0: ErrorCode.NOT_COORDINATOR}


@async_test
async def test_append_errors_surface_as_kafka_errors() -> None:
    rm = _Partitions()
    rm.fail = ErrorCode.NOT_ENOUGH_REPLICAS
    adapter = ReplicatedOffsetsLog(rm, rm.read, ManualClock())
    with pytest.raises(KafkaError) as info:
        await adapter.append(3, [(b"k", b"v")])
    assert info.value.code is ErrorCode.NOT_ENOUGH_REPLICAS
