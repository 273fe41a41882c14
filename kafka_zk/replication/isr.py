"""The leader's replication rules, as pure functions: follower progress, ISR shrink/expand, high watermark.

Theory of operation (Kafka 2.1–2.6 ``Partition``/``Replica``, the last design where the leader itself writes
the ISR to ZooKeeper):

* **Follower progress.** Each fetch from follower *r* at time *t* with fetch offset *F* (= *r*'s log end
  offset) while the leader's LEO is *L*: if ``F >= L`` then *r* is caught up *now*; else if *F* reached the
  leader's LEO as it was at *r*'s previous fetch, *r* was caught up at that previous fetch's time. So
  "caught up" means "reached the leader's end at some fetch", and a follower trailing a steady stream of
  small appends still counts as caught up.
* **Shrink.** An ISR member other than the leader is out of sync when its LEO differs from the leader's
  **and** it has not been caught up for more than ``replica.lag.time.max.ms`` (the "LEO equal ⇒ in sync"
  exemption is KAFKA-7152, 2.1+). The check runs every half of that setting.
* **Expand.** A follower not in the ISR joins when its LEO is at least the high watermark **and** at least
  the start offset of the leader's current leader epoch (KAFKA-7128, 2.1+: a follower that has not yet
  replicated anything from this leader's epoch may still hold a divergent tail).
* **High watermark** = the minimum LEO over the leader and every follower that is in the ISR *or* was caught
  up within the lag time (so a rejoining follower is not left behind forever). It never moves backwards.

Everything here is a function of values passed in; the :mod:`kafka_zk.replication.partition` module applies
the results (ZooKeeper write, then cache update) and is tested with real logs and a real ZooKeeper.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class FollowerProgress:
    """What the leader knows about one follower replica, updated on every fetch that follower sends."""

    broker_id: int
    log_end_offset: int = -1  # unknown until its first fetch
    last_caught_up_ms: int = 0
    last_fetch_leader_leo: int = -1
    last_fetch_ms: int = 0

    def update(self, fetch_offset: int, leader_leo: int, now_ms: int) -> None:
        if fetch_offset >= leader_leo:
            self.last_caught_up_ms = max(self.last_caught_up_ms, now_ms)
        elif fetch_offset >= self.last_fetch_leader_leo:
            self.last_caught_up_ms = max(self.last_caught_up_ms, self.last_fetch_ms)
        self.log_end_offset = fetch_offset
        self.last_fetch_leader_leo = leader_leo
        self.last_fetch_ms = now_ms

    def reset(self, now_ms: int, in_isr: bool) -> None:
        """On becoming leader: ISR members start "caught up now", others "never" (Kafka ``makeLeader``)."""
        self.log_end_offset = -1
        self.last_fetch_leader_leo = -1
        self.last_fetch_ms = 0
        self.last_caught_up_ms = now_ms if in_isr else 0


def out_of_sync_replicas(
    leader_id: int,
    leader_leo: int,
    isr: tuple[int, ...],
    followers: dict[int, FollowerProgress],
    now_ms: int,
    max_lag_ms: int,
) -> list[int]:
    """ISR members (other than the leader) that should be removed."""
    out: list[int] = []
    for r in isr:
        if r == leader_id:
            continue
        f = followers.get(r)
        if f is None:
            out.append(r)
            continue
        if f.log_end_offset != leader_leo and now_ms - f.last_caught_up_ms > max_lag_ms:
            out.append(r)
    return out


def can_join_isr(
    follower: FollowerProgress,
    isr: tuple[int, ...],
    replicas: tuple[int, ...],
    high_watermark: int,
    leader_epoch_start_offset: int,
) -> bool:
    """Whether a follower outside the ISR has caught up enough to be added."""
    return (
        follower.broker_id not in isr
        and follower.broker_id in replicas
        and follower.log_end_offset >= high_watermark
        and follower.log_end_offset >= leader_epoch_start_offset
    )


def high_watermark_candidate(
    leader_id: int,
    leader_leo: int,
    isr: tuple[int, ...],
    followers: dict[int, FollowerProgress],
    now_ms: int,
    max_lag_ms: int,
) -> int:
    """Minimum LEO over the leader and followers that are in the ISR or caught up within the lag time.

    The caller only ever moves the HW forward (``max(old, candidate)``).
    """
    hw = leader_leo
    for r, f in followers.items():
        if r != leader_id and (r in isr or now_ms - f.last_caught_up_ms <= max_lag_ms):
            hw = min(hw, f.log_end_offset)  # -1 (not heard from yet) holds the HW where it is
    if any(r != leader_id and r not in followers for r in isr):
        hw = min(hw, -1)
    return hw
