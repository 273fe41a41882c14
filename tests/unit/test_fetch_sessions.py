"""Fetch sessions (KIP-227) as Kafka 2.8's FetchManager/FetchSessionCache: creation, incremental requests and
responses, the session errors, close, and eviction — the cache alone, no sockets."""

from __future__ import annotations

import random

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.replication.replica_manager import FetchRequestPartition, FetchResult
from kafka_zk.server.fetch_sessions import (
    INVALID_SESSION_ID,
    MAX_INT,
    FetchSessionCache,
    next_epoch,
)

T = "t"


def tp(i: int) -> TopicPartition:
    return TopicPartition(T, i)


def req(i: int, offset: int = 0) -> FetchRequestPartition:
    return FetchRequestPartition(tp(i), offset, -1, 1 << 20)


def res(hw: int = 0, records: bytes = b"", error: ErrorCode = ErrorCode.NONE, lso: int = 0) -> FetchResult:
    return FetchResult(error, hw, hw, lso, records)


def cache(slots: int = 1000) -> FetchSessionCache:
    return FetchSessionCache(slots, rng=random.Random(7))


def open_session(c: FetchSessionCache, n: int, now: int = 0, privileged: bool = False) -> int:
    parts = [req(i) for i in range(n)]
    ctx = c.new_context(12, 0, 0, parts, [], privileged, now)
    out = ctx.respond([(p.tp, res()) for p in parts])
    return out.session_id


def test_full_fetch_with_epoch_zero_creates_a_session_and_lists_everything() -> None:
    c = cache()
    parts = [req(0), req(1)]
    ctx = c.new_context(7, 0, 0, parts, [], False, 0)
    assert ctx.partitions == parts
    out = ctx.respond([(p.tp, res()) for p in parts])
    assert out.error == ErrorCode.NONE and out.session_id > 0
    assert [t for t, _ in out.results] == [tp(0), tp(1)]
    assert c.sessions[out.session_id].epoch == 1


def test_old_versions_and_final_epoch_are_sessionless() -> None:
    c = cache()
    for version, epoch in ((6, 0), (11, -1)):
        ctx = c.new_context(version, 0, epoch, [req(0)], [], False, 0)
        assert ctx.respond([(tp(0), res())]).session_id == INVALID_SESSION_ID
    assert not c.sessions


def test_incremental_fetch_reads_the_whole_session_and_answers_only_changes() -> None:
    c = cache()
    sid = open_session(c, 3)
    # epoch 1: only partition 1 moved on; the broker reads all three
    ctx = c.new_context(12, sid, 1, [req(1, offset=5)], [], False, 1)
    assert [p.tp for p in ctx.partitions] == [tp(0), tp(1), tp(2)]
    assert ctx.partitions[1].fetch_offset == 5
    out = ctx.respond([(tp(0), res()), (tp(1), res(hw=9, records=b"x")), (tp(2), res())])
    assert out.session_id == sid and [t for t, _ in out.results] == [tp(1)]
    # answered partitions rotate to the end of the session order
    ctx = c.new_context(12, sid, 2, [], [], False, 2)
    assert [p.tp for p in ctx.partitions] == [tp(0), tp(2), tp(1)]
    # a changed log start offset and an error are answered; an unchanged HW is not
    out = ctx.respond([(tp(0), res(lso=3)), (tp(2), res(error=ErrorCode.NOT_LEADER_OR_FOLLOWER)),
                       (tp(1), res(hw=9))])
    assert [t for t, _ in out.results] == [tp(0), tp(2)]
    assert c.stats["incremental_fetches"] == 2


def test_partition_with_error_is_answered_again_once_it_recovers() -> None:
    c = cache()
    sid = open_session(c, 1)
    c.new_context(12, sid, 1, [], [], False, 0).respond([(tp(0), res(error=ErrorCode.NOT_LEADER_OR_FOLLOWER))])
    out = c.new_context(12, sid, 2, [], [], False, 0).respond([(tp(0), res())])
    assert [t for t, _ in out.results] == [tp(0)]


def test_forgotten_partitions_leave_the_session_and_an_empty_session_closes() -> None:
    c = cache()
    sid = open_session(c, 2)
    ctx = c.new_context(12, sid, 1, [], [tp(0)], False, 0)
    assert [p.tp for p in ctx.partitions] == [tp(1)]
    ctx.respond([(tp(1), res())])
    ctx = c.new_context(12, sid, 2, [], [tp(1)], False, 0)
    assert ctx.kind == "sessionless" and sid not in c.sessions


def test_unknown_session_and_wrong_epoch_are_errors_without_partitions() -> None:
    c = cache()
    ctx = c.new_context(12, 12345, 1, [req(0)], [], False, 0)
    assert ctx.error == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    assert ctx.respond([]).results == [] and ctx.respond([]).session_id == 0
    sid = open_session(c, 1)
    ctx = c.new_context(12, sid, 5, [req(0)], [], False, 0)
    assert ctx.error == ErrorCode.INVALID_FETCH_SESSION_EPOCH
    assert c.sessions[sid].epoch == 1  # the session is left as it was


def test_two_requests_of_one_epoch_in_flight_the_later_answer_fails() -> None:
    c = cache()
    sid = open_session(c, 1)
    first = c.new_context(12, sid, 1, [], [], False, 0)
    second = c.new_context(12, sid, 2, [], [], False, 0)
    assert second.respond([(tp(0), res())]).error == ErrorCode.NONE
    assert first.respond([(tp(0), res())]).error == ErrorCode.INVALID_FETCH_SESSION_EPOCH


def test_final_epoch_closes_the_session_and_a_new_full_fetch_replaces_it() -> None:
    c = cache()
    sid = open_session(c, 1)
    c.new_context(12, sid, -1, [req(0)], [], False, 0).respond([(tp(0), res())])
    assert sid not in c.sessions
    sid = open_session(c, 1)
    ctx = c.new_context(12, sid, 0, [req(0)], [], False, 0)
    assert sid not in c.sessions
    assert ctx.respond([(tp(0), res())]).session_id not in (0, sid)


def test_epoch_wraps_to_one() -> None:
    assert next_epoch(MAX_INT) == 1 and next_epoch(-1) == -1 and next_epoch(0) == 1


def test_full_cache_creates_no_session_for_a_young_consumer_session() -> None:
    c = cache(slots=1)
    first = open_session(c, 5, now=0)
    assert open_session(c, 10, now=1000) == INVALID_SESSION_ID
    assert list(c.sessions) == [first]


def test_stale_session_is_evicted() -> None:
    c = cache(slots=1)
    first = open_session(c, 5, now=0)
    second = open_session(c, 1, now=120_001)
    assert second and list(c.sessions) == [second] and c.stats["evictions"] == 1
    assert first not in c.sessions


def test_follower_evicts_a_young_consumer_session_but_not_the_reverse() -> None:
    c = cache(slots=1)
    consumer = open_session(c, 50, now=0)
    follower = open_session(c, 1, now=10, privileged=True)
    assert follower and consumer not in c.sessions
    assert open_session(c, 100, now=20) == INVALID_SESSION_ID


def test_bigger_session_evicts_an_old_smaller_one_in_use() -> None:
    c = cache(slots=2)
    small = open_session(c, 2, now=0)
    big = open_session(c, 20, now=0)
    # both keep fetching (never stale), and are older than the eviction time when touched
    for now in (60_000, 121_000):
        for sid in (small, big):
            s = c.sessions[sid]
            c.new_context(12, sid, s.epoch, [], [], False, now).respond([(tp(0), res())])
    assert open_session(c, 1, now=122_000) == INVALID_SESSION_ID  # smaller than both: no eviction
    newcomer = open_session(c, 10, now=122_000)
    assert newcomer and small not in c.sessions and big in c.sessions


def test_zero_slots_disables_sessions() -> None:
    assert open_session(cache(slots=0), 3) == INVALID_SESSION_ID


def test_describe_counts_sessions_and_partitions() -> None:
    c = cache()
    open_session(c, 3)
    d = c.describe()
    assert d["sessions"] == 1 and d["partitions_cached"] == 3 and d["full_fetches"] == 1
