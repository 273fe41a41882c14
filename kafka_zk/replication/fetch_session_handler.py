"""The fetcher's side of a fetch session (KIP-227; Kafka's client ``FetchSessionHandler``).

Why: a follower of many partitions would otherwise send and receive every partition in every Fetch. With a
session the first fetch is *full* (epoch 0: "make me a session") and lists everything; if the leader answers
with a session id, later fetches are *incremental*: they carry only the partitions whose fetch position
(fetch offset, log start offset, max bytes, leader epoch) changed, plus ``forgotten_topics_data`` for those
no longer wanted, and the leader answers only partitions with news. A partition missing from an incremental
answer simply had nothing new.

Rules (as the Java client's): epoch 1 follows the full fetch, then +1 per answered fetch; any top-level
error, or a lost connection, ends the session: FETCH_SESSION_ID_NOT_FOUND starts from scratch, the others
send a full fetch naming the old session (epoch 0 with its id), which the leader closes before opening a new
one. A leader that answers a full fetch with session id 0 has no room: keep fetching full. Pure state; the
fetcher does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition

INVALID_SESSION_ID = 0
INITIAL_EPOCH = 0
MAX_INT = 2**31 - 1


@dataclass(frozen=True, slots=True)
class PartitionFetchData:
    """What one partition's entry in a Fetch request says."""

    fetch_offset: int
    log_start_offset: int
    max_bytes: int
    current_leader_epoch: int


@dataclass(frozen=True, slots=True)
class SessionFetch:
    """One Fetch request's session part: metadata, partitions to send, partitions to forget."""

    session_id: int
    epoch: int
    to_send: dict[TopicPartition, PartitionFetchData]
    forgotten: list[TopicPartition]

    @property
    def is_full(self) -> bool:
        return self.epoch in (INITIAL_EPOCH, -1)


class FetchSessionHandler:
    """Tracks the session with one leader. ``build`` before each Fetch, ``handle_response`` after."""

    def __init__(self) -> None:
        self.session_id = INVALID_SESSION_ID
        self.epoch = INITIAL_EPOCH
        self.partitions: dict[TopicPartition, PartitionFetchData] = {}

    def build(self, wanted: dict[TopicPartition, PartitionFetchData]) -> SessionFetch:
        """The request for the partitions ``wanted`` now (in their order)."""
        if self.epoch == INITIAL_EPOCH:
            self.partitions = dict(wanted)
            return SessionFetch(self.session_id, self.epoch, dict(wanted), [])
        to_send = {tp: d for tp, d in wanted.items() if self.partitions.get(tp) != d}
        forgotten = [tp for tp in self.partitions if tp not in wanted]
        self.partitions = dict(wanted)
        return SessionFetch(self.session_id, self.epoch, to_send, forgotten)

    def handle_response(self, sent: SessionFetch, error: int, session_id: int) -> bool:
        """Advance after an answer; False when the answer was a session error (the fetch must be redone)."""
        if error != ErrorCode.NONE:
            if error == ErrorCode.FETCH_SESSION_ID_NOT_FOUND:
                self.session_id = INVALID_SESSION_ID
            self.epoch = INITIAL_EPOCH
            return False
        if session_id == INVALID_SESSION_ID:  # no room for a session, or the leader closed it
            self.session_id, self.epoch = INVALID_SESSION_ID, INITIAL_EPOCH
        elif sent.is_full:
            self.session_id, self.epoch = session_id, 1
        else:
            self.epoch = 1 if self.epoch == MAX_INT else self.epoch + 1
        return True

    def handle_error(self) -> None:
        """The request failed (connection lost, timeout): close the session with the next full fetch."""
        self.epoch = INITIAL_EPOCH
