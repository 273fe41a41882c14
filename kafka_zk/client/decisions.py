"""How the client reacts to a broker's error code: the pure "decide" step of build / decide / send.

Kafka's Java client sorts its exceptions into two families, and so do we:

* **retriable** (``RetriableException``): the same request may succeed later — a leader is being elected, a
  replica is catching up, a coordinator is loading. The caller backs off (``retry.backoff.ms``) and retries
  until its deadline (``delivery.timeout.ms`` for produce, the request timeout elsewhere);
* of those, **stale metadata** (``InvalidMetadataException``): the client sent the request to the wrong
  broker or with an outdated view (leader moved, topic just created). It must refresh its metadata before
  retrying, or it would ask the same wrong broker again.

Everything else is permanent for that request and is reported to the caller as a :class:`KafkaError`.

One deliberate difference from the Java client: CORRUPT_MESSAGE is *not* retried. Java retries it because a
network may flip bits; our batches are built and CRC'd by this process and sent over TCP, so a broker that
rejects one has found a bug, and waiting two minutes to report it would hide it.
"""

from __future__ import annotations

import enum

from kafka_zk.common.errors import ErrorCode, KafkaError

#: Errors after which the client must refresh metadata before retrying (Java ``InvalidMetadataException``).
STALE_METADATA: frozenset[int] = frozenset({
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.LEADER_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
    ErrorCode.REPLICA_NOT_AVAILABLE,
    ErrorCode.KAFKA_STORAGE_ERROR,
    ErrorCode.LISTENER_NOT_FOUND,
    ErrorCode.FENCED_LEADER_EPOCH,
    ErrorCode.UNKNOWN_LEADER_EPOCH,
    ErrorCode.NOT_CONTROLLER,
    ErrorCode.NOT_COORDINATOR,
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.UNKNOWN_TOPIC_ID,
})

#: Retriable errors that need no metadata refresh (Java ``RetriableException`` minus the set above).
RETRIABLE_AS_IS: frozenset[int] = frozenset({
    ErrorCode.REQUEST_TIMED_OUT,
    ErrorCode.NETWORK_EXCEPTION,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.NOT_ENOUGH_REPLICAS,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    ErrorCode.CONCURRENT_TRANSACTIONS,
    ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
    ErrorCode.INVALID_FETCH_SESSION_EPOCH,
    ErrorCode.OFFSET_NOT_AVAILABLE,
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
    ErrorCode.UNSTABLE_OFFSET_COMMIT,
    ErrorCode.THROTTLING_QUOTA_EXCEEDED,
})


class Action(enum.Enum):
    DONE = "done"
    RETRY = "retry"  # back off, then send again
    REFRESH_AND_RETRY = "refresh_and_retry"  # refresh metadata, back off, send again
    FAIL = "fail"


def classify(error_code: int) -> Action:
    """What to do about one error code (no deadline involved)."""
    if error_code == ErrorCode.NONE:
        return Action.DONE
    if error_code in STALE_METADATA:
        return Action.REFRESH_AND_RETRY
    if error_code in RETRIABLE_AS_IS:
        return Action.RETRY
    return Action.FAIL


def is_retriable(error_code: int) -> bool:
    return classify(error_code) in (Action.RETRY, Action.REFRESH_AND_RETRY)


def error_name(code: int) -> str:
    """``"NOT_LEADER_OR_FOLLOWER (6)"``, or the bare number for a code Kafka 2.x does not define."""
    try:
        return f"{ErrorCode(code).name} ({code})"
    except ValueError:
        return f"error {code}"


def to_error(code: int, message: str | None = None) -> KafkaError:
    """A :class:`KafkaError` for ``code``; an unknown code becomes UNKNOWN_SERVER_ERROR naming the number."""
    try:
        ec = ErrorCode(code)
    except ValueError:
        return KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, f"unknown error code {code}" + (f": {message}" if message else ""))
    return KafkaError(ec, message)
