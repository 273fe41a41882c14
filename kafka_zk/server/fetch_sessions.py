"""Incremental fetch sessions (KIP-227): the broker remembers what a fetcher asked for last time.

Why: a consumer or follower of 1,000 partitions would otherwise send all 1,000 partitions in every Fetch and
get all 1,000 back, even when two of them have new records. With a session the fetcher sends only the
partitions whose fetch position changed (and ``forgotten_topics_data`` for the ones it drops), and the
broker answers only the partitions with something to say: records, a new high watermark or log start
offset, or an error.

Theory of operation, as Kafka 2.8's ``FetchSession.scala`` (``FetchManager``, ``FetchSessionCache``):

* A request's ``(session_id, session_epoch)`` is its *fetch metadata*. Epoch 0 (INITIAL) or -1 (FINAL) makes
  it a **full** fetch: it lists every partition it wants. A full fetch with a session id first removes that
  session. Epoch 0 asks for a new session: after the read, if the cache has a free slot (or can evict one),
  the broker creates a session with a random positive id and epoch 1 and caches every partition of the
  response; the response carries the id (0 = no session). Epoch -1 never creates one ("sessionless").
* Any other epoch is **incremental**: the session must exist (else FETCH_SESSION_ID_NOT_FOUND, 70) and its
  epoch must equal the request's (else INVALID_FETCH_SESSION_EPOCH, 71); both errors come back as a
  top-level error with no partitions, and the client starts over with a full fetch. The listed partitions
  are added or updated in the session, the forgotten ones removed, the session epoch moves on (wrapping
  from 2^31-1 to 1), and the broker reads *every* cached partition. The response leaves out a partition
  unless it has records, its high watermark or log start offset differs from what the session last sent,
  or it has an error; a partition that is answered moves to the end of the session's order, so a fetch
  size limit rotates over the partitions instead of starving the last ones. A session that loses its last
  partition is closed and the request is answered sessionless.
* Two fetches of one session in flight at once (a client retrying): the second finds the epoch already
  moved on when it answers and gets INVALID_FETCH_SESSION_EPOCH, as in Kafka.
* The cache holds ``max.incremental.fetch.session.cache.slots`` sessions (default 1000). When it is full a
  new session may evict (a) the least recently used one if unused for more than 120 s (Kafka's
  ``MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS``), else (b) the smallest session among the evictable ones if
  the new one is at least as "big": keys compare as ``(privileged, partitions, id)``, sessions of follower
  replicas are privileged, and a session is evictable by a consumer only once older than 120 s, by a
  follower when it is a consumer's or older than 120 s (evictability is decided when a session is used).
* Fetch v0-6 has no session fields: always sessionless.

Sans-I/O: :class:`FetchSessionCache` takes the time as an argument and draws ids from an injectable
``random.Random``; the Fetch handler calls :meth:`FetchSessionCache.new_context` before reading and
:meth:`FetchContext.respond` after.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.replication.replica_manager import FetchRequestPartition, FetchResult

INVALID_SESSION_ID = 0
INITIAL_EPOCH = 0
FINAL_EPOCH = -1
MIN_EVICTION_MS = 120_000  # Kafka's KafkaServer.MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS
FIRST_SESSION_VERSION = 7  # Fetch v7 introduced session_id/session_epoch/forgotten_topics_data
MAX_INT = 2**31 - 1

Results = list[tuple[TopicPartition, FetchResult]]


def next_epoch(epoch: int) -> int:
    """The epoch after ``epoch``: FINAL stays FINAL, 2^31-1 wraps to 1 (0 means "new session")."""
    if epoch < 0:
        return FINAL_EPOCH
    return 1 if epoch == MAX_INT else epoch + 1


@dataclass(slots=True)
class CachedPartition:
    """One partition of a session: what the fetcher last asked for and what we last told it."""

    request: FetchRequestPartition
    high_watermark: int = -1
    log_start_offset: int = -1

    def must_respond(self, r: FetchResult) -> bool:
        """Whether ``r`` goes into an incremental response; remembers what was sent.

        Kafka also always answers a partition with a preferred read replica or a diverging epoch (Fetch
        v11/v12): a FetchResult that gains those must make them count here too."""
        respond = r.size > 0
        if self.high_watermark != r.high_watermark:
            respond = True
            self.high_watermark = r.high_watermark
        if self.log_start_offset != r.log_start_offset:
            respond = True
            self.log_start_offset = r.log_start_offset
        if r.error != ErrorCode.NONE:
            self.high_watermark = -1  # so the partition is answered again once the error clears
            respond = True
        return respond


class FetchSession:
    """A session's partitions in round-robin order (dict insertion order), epoch and bookkeeping."""

    __slots__ = ("id", "privileged", "partitions", "creation_ms", "last_used_ms", "epoch", "cached_size",
                 "evictable_by_all", "evictable_by_privileged")

    def __init__(self, session_id: int, privileged: bool, partitions: dict[TopicPartition, CachedPartition],
                 now_ms: int) -> None:
        self.id = session_id
        self.privileged = privileged
        self.partitions = partitions
        self.creation_ms = now_ms
        self.last_used_ms = now_ms
        self.epoch = next_epoch(INITIAL_EPOCH)
        self.cached_size = len(partitions)
        self.evictable_by_all = False
        self.evictable_by_privileged = False

    def evictable_key(self) -> tuple[bool, int, int]:
        return (self.privileged, self.cached_size, self.id)

    def update(self, changed: Iterable[FetchRequestPartition], forgotten: Iterable[TopicPartition]) -> None:
        for fp in changed:
            cached = self.partitions.get(fp.tp)
            if cached is None:
                self.partitions[fp.tp] = CachedPartition(fp)
            else:
                cached.request = fp
        for tp in forgotten:
            self.partitions.pop(tp, None)


@dataclass(slots=True)
class FetchOutcome:
    """What the Fetch response says: top-level error, session id, and the partitions to include."""

    error: ErrorCode
    session_id: int
    results: Results


class FetchContext:
    """One Fetch request's view of the session: which partitions to read, how to cut down the answer."""

    def __init__(self, cache: "FetchSessionCache", kind: str, partitions: list[FetchRequestPartition],
                 session: FetchSession | None = None, request_epoch: int = FINAL_EPOCH,
                 error: ErrorCode = ErrorCode.NONE, privileged: bool = False, now_ms: int = 0) -> None:
        self._cache = cache
        self.kind = kind  # "sessionless" | "full" | "incremental" | "error"
        self.partitions = partitions
        self.error = error
        self._session = session
        self._request_epoch = request_epoch
        self._privileged = privileged
        self._now_ms = now_ms

    def error_outcome(self) -> FetchOutcome:
        """The response of a session error: the error, no partitions, no session (Kafka's SessionErrorContext)."""
        return FetchOutcome(self.error, INVALID_SESSION_ID, [])

    def respond(self, results: Results) -> FetchOutcome:
        """Turn what was read into the response; creates the session of a full fetch (epoch 0)."""
        if self.error != ErrorCode.NONE:
            return self.error_outcome()
        if self.kind == "sessionless":
            return FetchOutcome(ErrorCode.NONE, INVALID_SESSION_ID, results)
        if self.kind == "full":
            by_tp = {fp.tp: fp for fp in self.partitions}
            new = {tp: CachedPartition(by_tp[tp], r.high_watermark, r.log_start_offset) for tp, r in results}
            session_id = self._cache.maybe_create_session(self._now_ms, self._privileged, new)
            return FetchOutcome(ErrorCode.NONE, session_id, results)
        session = self._session
        assert session is not None
        if session.epoch != next_epoch(self._request_epoch):
            return FetchOutcome(ErrorCode.INVALID_FETCH_SESSION_EPOCH, session.id, [])
        out: Results = []
        for tp, r in results:
            cached = session.partitions.get(tp)
            if cached is None:  # forgotten by a later request while this one waited
                continue
            if cached.must_respond(r):
                out.append((tp, r))
                del session.partitions[tp]  # answered: to the back of the round-robin order
                session.partitions[tp] = cached
        self._cache.stats["partitions_omitted"] += len(results) - len(out)
        return FetchOutcome(ErrorCode.NONE, session.id, out)


class FetchSessionCache:
    """Every fetch session of the broker, bounded by ``max_entries`` (Kafka's ``FetchSessionCache`` and
    ``FetchManager.newContext``). Counters in :attr:`stats` back ``GET /state`` (``fetch_sessions``)."""

    def __init__(self, max_entries: int, eviction_ms: int = MIN_EVICTION_MS, rng: random.Random | None = None
                 ) -> None:
        self.max_entries = max_entries
        self.eviction_ms = eviction_ms
        self._rng = rng or random.Random()
        self.sessions: dict[int, FetchSession] = {}
        self.stats: dict[str, int] = {
            "sessionless_fetches": 0, "full_fetches": 0, "incremental_fetches": 0, "follower_incremental_fetches": 0,
            "session_id_not_found": 0, "invalid_session_epoch": 0,
            "sessions_created": 0, "evictions": 0, "partitions_omitted": 0,
        }

    # ---- FetchManager.newContext ---------------------------------------------------------------------

    def new_context(self, version: int, session_id: int, epoch: int, partitions: list[FetchRequestPartition],
                    forgotten: Sequence[TopicPartition], privileged: bool, now_ms: int) -> FetchContext:
        """The context of one Fetch request (``version`` < 7 has no session fields: sessionless)."""
        st = self.stats
        if version < FIRST_SESSION_VERSION:
            st["sessionless_fetches"] += 1
            return FetchContext(self, "sessionless", partitions)
        if epoch in (INITIAL_EPOCH, FINAL_EPOCH):
            if session_id != INVALID_SESSION_ID:
                self.remove(session_id)
            if epoch == FINAL_EPOCH:
                st["sessionless_fetches"] += 1
                return FetchContext(self, "sessionless", partitions)
            st["full_fetches"] += 1
            return FetchContext(self, "full", partitions, privileged=privileged, now_ms=now_ms)
        session = self.sessions.get(session_id)
        if session is None:
            st["session_id_not_found"] += 1
            return FetchContext(self, "error", [], error=ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
        if session.epoch != epoch:
            st["invalid_session_epoch"] += 1
            return FetchContext(self, "error", [], error=ErrorCode.INVALID_FETCH_SESSION_EPOCH)
        session.update(partitions, forgotten)
        if not session.partitions:
            self.remove(session_id)
            st["sessionless_fetches"] += 1
            return FetchContext(self, "sessionless", partitions)
        self.touch(session, now_ms)
        session.epoch = next_epoch(session.epoch)
        st["incremental_fetches"] += 1
        if session.privileged:
            st["follower_incremental_fetches"] += 1
        to_read = [c.request for c in session.partitions.values()]
        return FetchContext(self, "incremental", to_read, session=session, request_epoch=epoch)

    # ---- the cache -----------------------------------------------------------------------------------

    def total_partitions(self) -> int:
        return sum(s.cached_size for s in self.sessions.values())

    def describe(self) -> dict[str, Any]:
        return {
            "sessions": len(self.sessions),
            "partitions_cached": self.total_partitions(),
            "max_entries": self.max_entries,
            **self.stats,
        }

    def _new_session_id(self) -> int:
        while True:
            sid = self._rng.randint(1, MAX_INT - 1)
            if sid not in self.sessions:
                return sid

    def maybe_create_session(self, now_ms: int, privileged: bool,
                             partitions: dict[TopicPartition, CachedPartition]) -> int:
        """A new session's id, or 0 when the cache is full and nothing may be evicted for it."""
        if len(self.sessions) >= self.max_entries and not self.try_evict(privileged, len(partitions), now_ms):
            return INVALID_SESSION_ID
        session = FetchSession(self._new_session_id(), privileged, partitions, now_ms)
        self.sessions[session.id] = session
        self.touch(session, now_ms)
        self.stats["sessions_created"] += 1
        return session.id

    def try_evict(self, privileged: bool, size: int, now_ms: int) -> bool:
        """Evict one session to make room for a new one of ``size`` partitions, if the rules allow."""
        if not self.sessions:
            return False
        lru = min(self.sessions.values(), key=lambda s: (s.last_used_ms, s.id))
        if now_ms - lru.last_used_ms > self.eviction_ms:
            self._evict(lru)
            return True
        candidates = [s for s in self.sessions.values()
                      if (s.evictable_by_privileged if privileged else s.evictable_by_all)]
        if not candidates:
            return False
        smallest = min(candidates, key=FetchSession.evictable_key)
        if (privileged, size, 0) < smallest.evictable_key():
            return False
        self._evict(smallest)
        return True

    def _evict(self, session: FetchSession) -> None:
        self.remove(session.id)
        self.stats["evictions"] += 1

    def remove(self, session_id: int) -> FetchSession | None:
        return self.sessions.pop(session_id, None)

    def touch(self, session: FetchSession, now_ms: int) -> None:
        """Mark a session used now; re-decide its size and evictability as Kafka's ``touch`` does."""
        session.last_used_ms = now_ms
        session.cached_size = len(session.partitions)
        old = now_ms - session.creation_ms > self.eviction_ms
        session.evictable_by_privileged = (not session.privileged) or old
        session.evictable_by_all = old


def context_for_request(cache: FetchSessionCache, version: int, req: Any, partitions: list[FetchRequestPartition],
                        now_ms: int) -> FetchContext:
    """Read the session fields of a decoded FetchRequest (absent before v7) and open its context."""
    if version < FIRST_SESSION_VERSION:
        return cache.new_context(version, INVALID_SESSION_ID, FINAL_EPOCH, partitions, (), False, now_ms)
    forgotten = [TopicPartition(t.topic, p) for t in req.forgotten_topics_data for p in t.partitions]
    return cache.new_context(version, req.session_id, req.session_epoch, partitions, forgotten,
                             req.replica_id >= 0, now_ms)
