"""Errors raised by ``zk_layout``.

Every error a caller can act on has its own class, named for the Kafka exception it stands for
(``ControllerMovedException`` → :class:`ControllerMovedError`, ``TopicExistsException`` →
:class:`TopicExistsError`, ...). All derive from :class:`ZkLayoutError`, so a tool can catch one thing.
kazoo's own exceptions (connection loss, session expiry, retry deadline) pass through unchanged: they are
about the connection, not about the tree. They are re-exported here under kazoo's names so that callers in
``kafka_zk`` can catch them without importing kazoo (an import-linter contract keeps kazoo inside
``zk_layout``).
"""

from __future__ import annotations

from kazoo.exceptions import (  # noqa: F401  (re-exported)
    BadVersionError,
    ConnectionClosedError,
    ConnectionLoss,
    KazooException,
    NodeExistsError,
    NoNodeError,
    SessionExpiredError,
)
from kazoo.retry import RetryFailedError  # noqa: F401  (re-exported)


class ZkLayoutError(Exception):
    """Base class of every error ``zk_layout`` raises on purpose."""


class ZnodeDecodeError(ZkLayoutError):
    """A znode holds a payload that is not what Kafka 2.x writes there.

    ``path`` is the znode, ``field`` the JSON field at fault (``""`` when the whole payload is unreadable),
    ``reason`` says what was expected.
    """

    def __init__(self, path: str, field: str, reason: str) -> None:
        where = f"{path}: field '{field}'" if field else path
        super().__init__(f"malformed znode {where}: {reason}")
        self.path = path
        self.field = field
        self.reason = reason


class BrokerIdTakenError(ZkLayoutError):
    """``/brokers/ids/<id>`` is held by another live ZooKeeper session (another broker with this id)."""

    def __init__(self, broker_id: int, path: str, owner_session: int | None = None) -> None:
        owner = f" (owner session 0x{owner_session:x})" if owner_session else ""
        super().__init__(
            f"broker.id {broker_id} is already registered at {path}{owner}: another live broker uses this id; "
            f"stop it or give this broker a different broker.id"
        )
        self.broker_id = broker_id
        self.path = path
        self.owner_session = owner_session


class ControllerMovedError(ZkLayoutError):
    """A controller write was fenced: ``/controller_epoch`` changed (another controller took over), or
    this broker lost the controller election race. The caller must resign."""


class TopicExistsError(ZkLayoutError):
    def __init__(self, topic: str) -> None:
        super().__init__(f"topic '{topic}' already exists")
        self.topic = topic


class TopicNotFoundError(ZkLayoutError):
    def __init__(self, topic: str) -> None:
        super().__init__(f"topic '{topic}' does not exist")
        self.topic = topic


class TopicAlreadyMarkedForDeletionError(ZkLayoutError):
    def __init__(self, topic: str) -> None:
        super().__init__(f"topic '{topic}' is already marked for deletion")
        self.topic = topic


class ReassignmentInProgressError(ZkLayoutError):
    """``/admin/reassign_partitions`` already exists: a ZooKeeper-submitted reassignment is running."""


class ElectionInProgressError(ZkLayoutError):
    """``/admin/preferred_replica_election`` already exists: a preferred election is pending."""


class ChrootMissingError(ZkLayoutError):
    """The chroot in the connect string does not exist and the client was told not to create it."""


class ConsumerIdTakenError(ZkLayoutError):
    """``/consumers/<group>/ids/<id>`` stayed held by another ZooKeeper session (two consumers configured
    with the same ``consumer.id``, or an old session that did not expire in time)."""

    def __init__(self, group: str, consumer_id: str, owner_session: int | None = None) -> None:
        owner = f" by session 0x{owner_session:x}" if owner_session else ""
        super().__init__(f"consumer id {consumer_id!r} of group {group!r} is registered{owner}; "
                         f"give each consumer its own consumer.id (or none, to generate one)")
        self.group = group
        self.consumer_id = consumer_id
        self.owner_session = owner_session
