"""The ZooKeeper connection under :class:`~zk_layout.client.KafkaZkClient`: sessions, retries, fenced multi-ops.

Connect strings are ZooKeeper's: ``host:port[,host:port...][/chroot]``. As Kafka does, a missing chroot is
created (with null data) before the client starts using it; kazoo applies the chroot on the client side,
so every path in ``zk_layout`` is written as if the chroot were ``/``.

Retries. Reads and idempotent writes are retried on connection loss until ``retry_deadline_ms``
(Kafka retries until reconnected). Writes that may have been applied before the connection dropped are
made safe by checking afterwards (Kafka's ``conditionalUpdatePath`` checker): a conditional write that
comes back BADVERSION counts as done when the znode already holds exactly what we wrote.

Fencing. A controller passes the zkVersion of ``/controller_epoch`` it got when elected; each of its
writes is a ZooKeeper multi-op ``[check(/controller_epoch, version), op...]``. If another controller has
since bumped the epoch, the check fails, nothing is written and :class:`ControllerMovedError` is raised.

Sessions (kazoo's behaviour, which brokers must know): kazoo reports SUSPENDED when the connection drops
(the session may still be alive; ephemeral znodes and watches survive a reconnect within the session
timeout); when the server says the session expired, kazoo reports LOST, then **opens a new session by
itself** and reports CONNECTED. Ephemeral znodes of the old session are gone by then, so a broker must
re-register (``register_broker``) and re-run the controller election. :meth:`add_session_listener`
translates this into :class:`SessionEvent` s: ``connected`` (with ``new_session=True`` on the first
connection and after every expiry), ``suspended``, ``expired`` and ``lost`` (the client was closed).
Listeners run on kazoo's connection thread and must not block or call ZooKeeper.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Self, Sequence

from kazoo.client import KazooClient, _prefix_root
from kazoo.exceptions import (
    BadVersionError,
    KazooException,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.serialization import Create
from kazoo.protocol.states import KazooState, ZnodeStat
from kazoo.retry import KazooRetry

from zk_layout import paths
from zk_layout.errors import ChrootMissingError, ControllerMovedError, ZkLayoutError
from zk_layout.pipelining import speed_up

log = logging.getLogger("zk_layout.client")

# ZkVersion constants (Kafka's ``ZkVersion``): match any version / version unknown.
MATCH_ANY_VERSION = -1
UNKNOWN_VERSION = -2


class ZkConnectionError(ZkLayoutError):
    """ZooKeeper could not be reached within the connection timeout."""


class SessionState(str, enum.Enum):
    CONNECTED = "connected"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class SessionEvent:
    state: SessionState
    session_id: int | None
    # True on the first connection and on the first connection after an expiry (ephemerals are gone).
    new_session: bool = False


SessionListener = Callable[[SessionEvent], Any]


class UpdateStatus(enum.Enum):
    OK = "ok"
    BAD_VERSION = "bad_version"  # the znode changed since it was read: re-read and decide again
    NO_NODE = "no_node"
    NODE_EXISTS = "node_exists"


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """Outcome of a conditional create/update; never an exception for the expected conflicts."""

    status: UpdateStatus
    new_version: int = UNKNOWN_VERSION

    @property
    def ok(self) -> bool:
        return self.status is UpdateStatus.OK

    @property
    def conflict(self) -> bool:
        return self.status is UpdateStatus.BAD_VERSION

    @classmethod
    def done(cls, version: int) -> "UpdateResult":
        return cls(UpdateStatus.OK, version)

    @classmethod
    def from_error(cls, exc: BaseException) -> "UpdateResult":
        if isinstance(exc, BadVersionError):
            return cls(UpdateStatus.BAD_VERSION)
        if isinstance(exc, NoNodeError):
            return cls(UpdateStatus.NO_NODE)
        if isinstance(exc, NodeExistsError):
            return cls(UpdateStatus.NODE_EXISTS)
        raise exc


def split_connect(connect: str) -> tuple[str, str]:
    """``"h1:2181,h2:2181/kafka"`` → ``("h1:2181,h2:2181", "/kafka")`` (chroot ``""`` when absent)."""
    connect = connect.strip()
    if not connect:
        raise ValueError("empty ZooKeeper connect string (expected host:port[,host:port...][/chroot])")
    slash = connect.find("/")
    if slash < 0:
        return connect, ""
    hosts, chroot = connect[:slash], connect[slash:].rstrip("/")
    if not hosts:
        raise ValueError(f"ZooKeeper connect string {connect!r} names no host (expected host:port[/chroot])")
    if chroot and any(p in ("", ".", "..") for p in chroot[1:].split("/")):
        raise ValueError(f"invalid chroot {chroot!r} in ZooKeeper connect string {connect!r}")
    return hosts, chroot


class Op:
    """Operations of a multi-op (a tiny, typed front for kazoo's transaction request)."""

    @staticmethod
    def create(path: str, data: bytes | None, ephemeral: bool = False, sequence: bool = False) -> tuple[Any, ...]:
        return ("create", path, data, ephemeral, sequence)

    @staticmethod
    def set(path: str, data: bytes, version: int = MATCH_ANY_VERSION) -> tuple[Any, ...]:
        return ("set", path, data, version)

    @staticmethod
    def delete(path: str, version: int = MATCH_ANY_VERSION) -> tuple[Any, ...]:
        return ("delete", path, version)

    @staticmethod
    def check(path: str, version: int) -> tuple[Any, ...]:
        return ("check", path, version)


def first_error(results: Sequence[Any]) -> BaseException | None:
    """The exception that failed a multi-op (the others are 'rolled back' markers), or None."""
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, (RolledBackError, RuntimeInconsistency)):
            return r
    return None


#: Ops per multi-op in :meth:`ZkConnection.multi_each` (a few KB of partition states: far below jute.maxbuffer).
MULTI_GROUP = 100


class ZkConnection:
    """Session handling and the generic znode operations :class:`KafkaZkClient` is built from."""

    def __init__(
        self,
        connect: str,
        session_timeout_ms: int = 18000,
        connection_timeout_ms: int | None = None,
        *,
        create_chroot: bool = True,
        retry_deadline_ms: int | None = None,
        read_only: bool = False,
    ) -> None:
        self.connect = connect
        self.hosts, self.chroot = split_connect(connect)
        self.session_timeout_ms = session_timeout_ms
        self.connection_timeout_ms = connection_timeout_ms or session_timeout_ms
        self.create_chroot = create_chroot
        deadline_s = (retry_deadline_ms or max(2 * session_timeout_ms, 30000)) / 1000.0
        # The chroot is applied after the chroot znode exists (see start()); hosts only here.
        self.kazoo = KazooClient(
            hosts=self.hosts,
            timeout=session_timeout_ms / 1000.0,
            connection_retry=KazooRetry(max_tries=-1, delay=0.05, max_delay=1.0),
            command_retry=KazooRetry(max_tries=-1, delay=0.02, backoff=2, max_delay=1.0, deadline=deadline_s),
            read_only=read_only,
        )
        speed_up(self.kazoo)  # send queued requests in one write, as Kafka's ZooKeeperClient pipelines
        self._listeners: list[SessionListener] = []
        self._listeners_lock = threading.Lock()
        self._last_session_id: int | None = None
        self._closing = False
        self._started = False
        self.kazoo.add_listener(self._on_kazoo_state)

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self, timeout_s: float | None = None) -> Self:
        """Connect (creating the chroot when missing, unless ``create_chroot=False``). Raises
        :class:`ZkConnectionError` when no server answers in time, :class:`ChrootMissingError`."""
        if self._started:
            return self
        timeout = timeout_s if timeout_s is not None else self.connection_timeout_ms / 1000.0
        try:
            self.kazoo.start(timeout=timeout)
        except KazooTimeoutError:
            raise ZkConnectionError(
                f"could not connect to ZooKeeper at {self.hosts} within {timeout:g}s "
                f"(is it running? start one with: kafka-zk zookeeper start)"
            ) from None
        try:
            if self.chroot:
                if self.create_chroot:
                    self.ensure_path(self.chroot)
                elif self.retry(self.kazoo.exists, self.chroot) is None:
                    raise ChrootMissingError(f"chroot {self.chroot} does not exist on ZooKeeper {self.hosts}")
                # kazoo prefixes the chroot on the client side for every request issued from now on.
                self.kazoo.chroot = self.chroot
        except BaseException:
            self._closing = True
            self._shutdown_kazoo()
            raise
        self._started = True
        return self

    def close(self) -> None:
        """Close the session (its ephemeral znodes disappear at once); idempotent."""
        self._closing = True
        self._shutdown_kazoo()

    def _shutdown_kazoo(self) -> None:
        try:
            self.kazoo.stop()
        finally:
            self.kazoo.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return bool(self.kazoo.connected)

    @property
    def session_id(self) -> int | None:
        cid = self.kazoo.client_id
        return cid[0] if cid else None

    # -- sessions -------------------------------------------------------------------------------------

    def add_session_listener(self, listener: SessionListener) -> None:
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_session_listener(self, listener: SessionListener) -> None:
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _on_kazoo_state(self, state: str) -> None:
        if state == KazooState.CONNECTED:
            sid = self.session_id
            new = sid != self._last_session_id
            self._last_session_id = sid
            event = SessionEvent(SessionState.CONNECTED, sid, new)
        elif state == KazooState.SUSPENDED:
            event = SessionEvent(SessionState.SUSPENDED, self._last_session_id)
        else:
            kind = SessionState.LOST if self._closing else SessionState.EXPIRED
            event = SessionEvent(kind, self._last_session_id)
            if kind is SessionState.EXPIRED:
                log.warning("zookeeper session expired session_id=0x%x", self._last_session_id or 0)
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("zookeeper session listener failed state=%s", event.state.value)

    # -- generic operations ----------------------------------------------------------------------------

    def retry(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a kazoo call, retrying on connection loss until the retry deadline."""
        return self.kazoo.retry(fn, *args, **kwargs)

    def exists(self, path: str) -> ZnodeStat | None:
        return self.retry(self.kazoo.exists, path)

    def get_data(self, path: str) -> tuple[bytes | None, ZnodeStat] | None:
        """``(data, stat)``, or None when the znode does not exist. ``data`` is None for null data."""
        try:
            data, stat = self.retry(self.kazoo.get, path)
        except NoNodeError:
            return None
        return data, stat

    def get_children(self, path: str) -> list[str] | None:
        """Sorted child names, or None when the znode does not exist."""
        try:
            return sorted(self.retry(self.kazoo.get_children, path))
        except NoNodeError:
            return None

    def get_many(self, znode_paths: Iterable[str]) -> dict[str, tuple[bytes | None, ZnodeStat] | None]:
        """Read many znodes pipelined (Kafka sends up to 10 in flight; kazoo pipelines all)."""
        pending = [(p, self.kazoo.get_async(p)) for p in znode_paths]
        out: dict[str, tuple[bytes | None, ZnodeStat] | None] = {}
        for p, res in pending:
            try:
                data, stat = res.get()
                out[p] = (data, stat)
            except NoNodeError:
                out[p] = None
            except KazooException:
                out[p] = self.get_data(p)  # connection trouble: fall back to a retried read
        return out

    def ensure_path(self, path: str, data: bytes | None = None) -> None:
        """Create ``path`` and missing parents (null data), tolerating 'already exists' (Kafka's
        ``makeSurePersistentPathExists``). Only the last znode gets ``data``."""
        if path in ("", "/") or self.exists(path) is not None:
            return
        parent = paths.parent(path)
        if parent != "/":
            self.ensure_path(parent)
        try:
            self.retry(self.kazoo.create, path, data)
        except NodeExistsError:
            pass

    def create(self, path: str, data: bytes | None, *, ephemeral: bool = False, sequence: bool = False,
               make_parents: bool = False) -> str:
        """Create one znode; raises kazoo's NodeExistsError / NoNodeError. Returns the created path
        (with the sequence suffix for sequential nodes)."""
        if make_parents:
            self.ensure_path(paths.parent(path))
        return str(self.retry(self.kazoo.create, path, data, ephemeral=ephemeral, sequence=sequence))

    def set_or_create(self, path: str, data: bytes) -> ZnodeStat:
        """Set data (any version); create the znode and its parents when missing (last writer wins)."""
        while True:
            try:
                return self.retry(self.kazoo.set, path, data, MATCH_ANY_VERSION)
            except NoNodeError:
                pass
            try:
                self.create(path, data, make_parents=True)
                stat = self.exists(path)
                if stat is not None:
                    return stat
            except NodeExistsError:
                continue

    def delete_recursive(self, path: str, controller_epoch_zk_version: int | None = None) -> None:
        """Delete ``path`` and everything under it, children first; a missing znode is fine. With a
        ``controller_epoch_zk_version`` every delete is fenced (raises ControllerMovedError)."""
        while True:
            children = self.get_children(path)
            if children is None:
                return
            for child in children:
                self.delete_recursive(paths.join(path, child), controller_epoch_zk_version)
            try:
                if controller_epoch_zk_version is None:
                    self.retry(self.kazoo.delete, path)
                else:
                    err = first_error(self.multi([Op.delete(path)], controller_epoch_zk_version))
                    if err is not None and not isinstance(err, NoNodeError):
                        raise err
                return
            except NoNodeError:
                return
            except NotEmptyError:
                continue  # a child appeared meanwhile; go again

    # -- multi-ops -------------------------------------------------------------------------------------

    def _transaction(self, ops: Sequence[tuple[Any, ...]], controller_epoch_zk_version: int | None) -> Any:
        txn = self.kazoo.transaction()
        if controller_epoch_zk_version is not None:
            txn.check(paths.CONTROLLER_EPOCH, controller_epoch_zk_version)
        for op in ops:
            kind = op[0]
            if kind == "create":
                _, path, data, ephemeral, sequence = op
                flags = (1 if ephemeral else 0) | (2 if sequence else 0)
                # kazoo's transaction refuses null data; Kafka creates container znodes with null data,
                # and real Kafka readers tell null from empty. Add the Create request directly.
                txn._add(Create(_prefix_root(self.kazoo.chroot, path), data, self.kazoo.default_acl or
                                _open_acl(), flags), None)
            elif kind == "set":
                txn.set_data(op[1], op[2], version=op[3])
            elif kind == "delete":
                txn.delete(op[1], version=op[2])
            elif kind == "check":
                txn.check(op[1], op[2])
            else:  # pragma: no cover - programming error
                raise ValueError(f"unknown multi-op {kind!r}")
        return txn

    def multi(self, ops: Sequence[tuple[Any, ...]], controller_epoch_zk_version: int | None = None) -> list[Any]:
        """Run ``ops`` atomically; returns kazoo's per-op results (an exception instance for the op that
        failed). With ``controller_epoch_zk_version``, a failed fence raises :class:`ControllerMovedError`
        and the returned list has no entry for the check."""
        return self.multi_many([ops], controller_epoch_zk_version)[0]

    def multi_many(self, batches: Sequence[Sequence[tuple[Any, ...]]],
                   controller_epoch_zk_version: int | None = None) -> list[list[Any]]:
        """Several independent multi-ops, pipelined (Kafka pipelines controller writes the same way)."""
        pending = [self._transaction(ops, controller_epoch_zk_version).commit_async() for ops in batches]
        out: list[list[Any]] = []
        for ops, res in zip(batches, pending):
            try:
                results = list(res.get())
            except KazooException:
                # Connection trouble: run this one again (conditional ops detect a first success).
                results = list(self.retry(
                    lambda ops=ops: self._transaction(ops, controller_epoch_zk_version).commit()))
            if controller_epoch_zk_version is not None:
                fence = results[0]
                if isinstance(fence, (BadVersionError, NoNodeError)):
                    raise ControllerMovedError(
                        f"controller epoch zkVersion {controller_epoch_zk_version} is stale: "
                        f"another controller has been elected (write to {_op_paths(ops)} refused)"
                    )
                results = results[1:]
            out.append(results)
        return out

    def multi_each(self, ops: Sequence[tuple[Any, ...]], controller_epoch_zk_version: int | None = None,
                   group: int = 0) -> list[list[Any]]:
        """Each op as if it ran as its own (fenced) multi-op — ``multi_many([[op] for op in ops])`` — but
        sent ``group`` ops per multi-op (:data:`MULTI_GROUP` when 0): one ZooKeeper transaction instead of
        ``group``, which is what a failover's thousand partition-state writes cost. A multi-op is atomic, so
        a group where any op fails (a conflict, an existing znode) is run again one op per multi-op, and
        every op still gets its own outcome."""
        size = group or MULTI_GROUP
        groups = [list(ops[i:i + size]) for i in range(0, len(ops), size)]
        out: list[list[Any]] = []
        for chunk, results in zip(groups, self.multi_many(groups, controller_epoch_zk_version)):
            if first_error(results) is None:
                out.extend([r] for r in results)
            else:
                out.extend(self.multi_many([[op] for op in chunk], controller_epoch_zk_version))
        return out


def _open_acl() -> list[Any]:
    from kazoo.security import OPEN_ACL_UNSAFE

    return list(OPEN_ACL_UNSAFE)


def _op_paths(ops: Sequence[tuple[Any, ...]]) -> str:
    return ", ".join(str(op[1]) for op in ops)
