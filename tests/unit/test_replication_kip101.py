"""KIP-101's two scenarios, replayed deterministically on real logs with the fetcher's truncation rule.

Each step is what a broker does: the leader appends with its leader epoch (``append_as_leader``), a follower
copies the leader's batches unchanged (``append_as_follower``), a "crash" closes a log without flushing or
checkpointing and reopens it (recovery), a new leader records its epoch in the leader-epoch cache, and a
follower that starts following asks the leader where its latest epoch ends (OffsetForLeaderEpoch, answered
from the leader's cache) and truncates with :func:`kafka_zk.replication.fetcher.truncation_offset` — the same
function the real fetcher runs. Each test also shows that the pre-0.11 rule (truncate to the high watermark)
loses or diverges in the same situation, so the tests would fail on it.
"""

from __future__ import annotations

from pathlib import Path

from kafka_zk.log.config import LogConfig
from kafka_zk.log.log import Log
from kafka_zk.record.batch import iter_batches
from kafka_zk.record.builder import build_batch
from kafka_zk.replication.fetcher import truncation_offset


def open_log(root: Path, name: str) -> Log:
    return Log(str(root / name / "t-0"), LogConfig())


def crash_and_reopen(lg: Log) -> Log:
    d, cfg, hw = lg.dir, lg.config, lg.high_watermark
    lg.close_without_flush()
    reopened = Log(d, cfg, had_clean_shutdown=False)
    reopened.high_watermark = hw  # as if restored from replication-offset-checkpoint
    return reopened


def produce(leader: Log, epoch: int, value: bytes) -> None:
    leader.append_as_leader(memoryview(bytearray(build_batch([(1000, None, value)]))), epoch)


def replicate(leader: Log, follower: Log) -> None:
    """One fetch: copy everything after the follower's log end offset, unchanged."""
    data = leader.read(follower.log_end_offset, 1 << 20).records
    raw = data.read() if hasattr(data, "read") else bytes(data)
    if raw:
        follower.append_as_follower(memoryview(raw))


def values(lg: Log) -> list[bytes]:
    out = []
    for off in range(lg.log_start_offset, lg.log_end_offset):
        rec = lg.read(off, 1 << 20).records
        raw = rec.read() if hasattr(rec, "read") else bytes(rec)
        batch = next(iter_batches(memoryview(raw)))
        out.extend(bytes(r.value) for r in batch.records() if r.offset == off)
    return out


def become_follower_and_truncate(follower: Log, leader: Log) -> None:
    """The follower side of KIP-101/279: ask the leader about our latest epoch, truncate, repeat if needed."""
    while True:
        asked = follower.leader_epoch_cache.latest_epoch
        leader_epoch, leader_end = leader.leader_epoch_cache.end_offset_for(asked)
        offset, done = truncation_offset(
            leader_epoch, leader_end, follower.leader_epoch_cache.end_offset_for,
            follower.log_end_offset, follower.high_watermark,
        )
        if offset < follower.log_end_offset:
            follower.truncate_to(offset)
        if done:
            return


def become_leader(lg: Log, epoch: int) -> None:
    lg.leader_epoch_cache.assign(epoch, lg.log_end_offset)


def test_scenario_1_follower_restart_then_leader_loss_keeps_committed_record(tmp_path: Path) -> None:
    a, b = open_log(tmp_path, "a"), open_log(tmp_path, "b")
    become_leader(a, 0)
    produce(a, 0, b"m1")
    replicate(a, b)
    produce(a, 0, b"m2")
    replicate(a, b)  # B has m1, m2; A's HW moves to 2 (m2 committed, acked with acks=all) ...
    a.high_watermark = 2
    b.high_watermark = 1  # ... but B learns that only on its next fetch, which never comes
    assert b.log_end_offset == 2

    # The pre-0.11 rule would truncate B to its HW on restart and lose the committed m2:
    assert min(b.high_watermark, b.log_end_offset) == 1

    b = crash_and_reopen(b)
    become_follower_and_truncate(b, a)  # B restarts and follows A again
    assert values(b) == [b"m1", b"m2"]

    # A dies; B is elected (epoch 1); A comes back and follows B.
    a = crash_and_reopen(a)
    become_leader(b, 1)
    become_follower_and_truncate(a, b)
    produce(b, 1, b"m3")
    replicate(b, a)
    assert values(a) == values(b) == [b"m1", b"m2", b"m3"]


def test_scenario_2_divergent_tails_after_double_failure_converge(tmp_path: Path) -> None:
    a, b = open_log(tmp_path, "a"), open_log(tmp_path, "b")
    become_leader(a, 0)
    produce(a, 0, b"m1")
    replicate(a, b)
    a.high_watermark = b.high_watermark = 1
    produce(a, 0, b"m2")  # only on A, not committed
    a.high_watermark = 2  # A believes m2 is committed (e.g. min.insync.replicas=1), B never saw it

    # Both crash; B comes back first and is elected with epoch 1; it takes m3 at offset 1.
    a, b = crash_and_reopen(a), crash_and_reopen(b)
    become_leader(b, 1)
    produce(b, 1, b"m3")

    # The pre-0.11 rule (truncate to the HW, 2) would keep A's m2 at offset 1 while B has m3 there:
    assert min(a.high_watermark, a.log_end_offset) == 2

    become_follower_and_truncate(a, b)  # B answers: epoch 0 ends at offset 1 → A drops m2
    replicate(b, a)
    assert values(a) == values(b) == [b"m1", b"m3"]
    assert a.leader_epoch_cache.entries == b.leader_epoch_cache.entries == [(0, 0), (1, 1)]


def test_follower_ahead_with_several_unknown_epochs_truncates_iteratively(tmp_path: Path) -> None:
    """KIP-279: the follower's latest epoch is unknown to the new leader; it walks back epoch by epoch."""
    a, b = open_log(tmp_path, "a"), open_log(tmp_path, "b")
    become_leader(a, 0)
    produce(a, 0, b"e0")
    replicate(a, b)
    # A stays leader through epochs 1 and 2 (e.g. ISR changes bumped by the controller) without B hearing.
    become_leader(a, 1)
    produce(a, 1, b"a-e1")
    become_leader(a, 2)
    produce(a, 2, b"a-e2")
    # Meanwhile B (partitioned away) was briefly leader with epoch 3 (unclean), writing its own tail.
    become_leader(b, 3)
    produce(b, 3, b"b-e3")
    produce(b, 3, b"b-e3'")
    # A is elected again with epoch 4 and B follows it.
    become_leader(a, 4)
    become_follower_and_truncate(b, a)
    replicate(a, b)
    assert values(b) == values(a) == [b"e0", b"a-e1", b"a-e2"]
