"""The follower's side of a fetch session (Kafka's FetchSessionHandler): full fetch first, then only changed
partitions and forgotten ones; session errors and lost connections fall back to a full fetch."""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.replication.fetch_session_handler import FetchSessionHandler, PartitionFetchData


def tp(i: int) -> TopicPartition:
    return TopicPartition("t", i)


def d(offset: int) -> PartitionFetchData:
    return PartitionFetchData(offset, 0, 1 << 20, 3)


def test_full_then_incremental_with_changes_and_forgotten() -> None:
    h = FetchSessionHandler()
    first = h.build({tp(0): d(0), tp(1): d(0)})
    assert (first.session_id, first.epoch, list(first.to_send)) == (0, 0, [tp(0), tp(1)])
    assert h.handle_response(first, 0, 77)
    second = h.build({tp(0): d(5), tp(1): d(0), tp(2): d(0)})
    assert (second.session_id, second.epoch, list(second.to_send)) == (77, 1, [tp(0), tp(2)])
    assert h.handle_response(second, 0, 77)
    third = h.build({tp(0): d(5)})
    assert (third.epoch, third.to_send, third.forgotten) == (2, {}, [tp(1), tp(2)])


def test_session_errors_and_lost_connections_fall_back_to_full_fetches() -> None:
    h = FetchSessionHandler()
    h.handle_response(h.build({tp(0): d(0)}), 0, 77)
    sent = h.build({tp(0): d(0)})
    assert not h.handle_response(sent, ErrorCode.INVALID_FETCH_SESSION_EPOCH, 0)
    again = h.build({tp(0): d(0)})
    assert (again.session_id, again.epoch, list(again.to_send)) == (77, 0, [tp(0)])  # closes 77, opens anew
    h.handle_response(again, 0, 78)
    assert not h.handle_response(h.build({tp(0): d(0)}), ErrorCode.FETCH_SESSION_ID_NOT_FOUND, 0)
    assert (h.build({tp(0): d(0)}).session_id, h.epoch) == (0, 0)
    h.handle_response(h.build({tp(0): d(0)}), 0, 79)
    h.handle_error()
    assert h.build({tp(0): d(1)}).is_full


def test_no_session_granted_keeps_full_fetches() -> None:
    h = FetchSessionHandler()
    for _ in range(3):
        sent = h.build({tp(0): d(0)})
        assert sent.is_full and sent.session_id == 0
        assert h.handle_response(sent, 0, 0)
