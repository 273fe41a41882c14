"""Self re-arming ZooKeeper watches.

ZooKeeper watches are one-shot: a watch fires once, and whoever wants the next change must read again with
a new watch. Kafka's ``KafkaZkClient`` re-registers by re-reading; these helpers do the same:

* :class:`ChildrenWatch` calls ``callback(children: list[str])`` now and after every change of the
  children of ``path``. When the node is deleted it reports ``[]`` and keeps an existence watch, so it
  resumes when the node is created again (kazoo's own ``ChildrenWatch`` stops at deletion).
* :class:`DataWatch` calls ``callback(data: bytes | None, stat: ZnodeStat | None)`` now and after every
  data change, creation and deletion of ``path`` (``None, None`` while the node does not exist).

Between a watch firing and the re-read, several changes may happen; the callback always gets the
*current* state, never a history (as in Kafka, handlers re-read and compare).

Threading: callbacks run on kazoo's callback thread (or a thread kazoo spawns after reconnecting). They
must not block for long; to get onto an asyncio loop use ``kafka_zk.zk.bridge.AsyncZk``. Callbacks of one
watch never run concurrently. An exception in a callback is logged and the watch stays armed.

Sessions: on a reconnect within the same session ZooKeeper keeps watches, but a change may have been missed
while disconnected, and after a session expiry all watches are gone; in both cases the watch re-reads once
connected and calls back if the value differs from the last one delivered.

``cancel()`` stops callbacks at once (the server-side watch fires once more, unseen).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionClosedError, NoNodeError, SessionExpiredError
from kazoo.protocol.states import EventType, KazooState, WatchedEvent, ZnodeStat

log = logging.getLogger("zk_layout.watches")

ChildrenCallback = Callable[[list[str]], Any]
DataCallback = Callable[[bytes | None, ZnodeStat | None], Any]

_UNSET: Any = object()


class _Watch:
    def __init__(self, kazoo: KazooClient, path: str) -> None:
        self._kazoo = kazoo
        self.path = path
        self._lock = threading.RLock()
        self._cancelled = False
        self._established = False
        self._last: Any = _UNSET

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop calling back; idempotent."""
        with self._lock:
            self._cancelled = True
        self._kazoo.remove_listener(self._session_listener)

    def _start(self) -> None:
        self._kazoo.add_listener(self._session_listener)
        self._refresh()

    def _on_event(self, event: WatchedEvent) -> None:
        if event.type != EventType.NONE:
            self._refresh()

    def _session_listener(self, state: str) -> None:
        # Called on kazoo's connection thread: never do ZooKeeper I/O here, spawn instead.
        if state in (KazooState.LOST, KazooState.SUSPENDED):
            self._established = False
        elif state == KazooState.CONNECTED and not self._established and not self._cancelled:
            self._kazoo.handler.spawn(self._refresh)

    def _refresh(self) -> None:
        with self._lock:
            if self._cancelled:
                return
            try:
                value = self._read()
            except (ConnectionClosedError, SessionExpiredError):
                return  # re-armed by the session listener once connected again
            except Exception:
                if self._kazoo.connected:
                    log.exception("zk watch read failed path=%s", self.path)
                return
            self._established = True
            if value == self._last:
                return
            self._last = value
            try:
                self._deliver(value)
            except Exception:
                log.exception("zk watch callback failed path=%s", self.path)

    def _read(self) -> Any:
        raise NotImplementedError

    def _deliver(self, value: Any) -> None:
        raise NotImplementedError


class ChildrenWatch(_Watch):
    """Watch the children of ``path``; see the module docstring."""

    def __init__(self, kazoo: KazooClient, path: str, callback: ChildrenCallback) -> None:
        super().__init__(kazoo, path)
        self._callback = callback
        self._start()

    def _read(self) -> list[str]:
        while True:
            try:
                return sorted(self._kazoo.retry(self._kazoo.get_children, self.path, watch=self._on_event))
            except NoNodeError:
                # Gone: wait for it to come back. If it was re-created in between, read again.
                if self._kazoo.retry(self._kazoo.exists, self.path, watch=self._on_event) is None:
                    return []

    def _deliver(self, value: list[str]) -> None:
        self._callback(list(value))


class DataWatch(_Watch):
    """Watch the data of ``path``, including its creation and deletion; see the module docstring."""

    def __init__(self, kazoo: KazooClient, path: str, callback: DataCallback) -> None:
        super().__init__(kazoo, path)
        self._callback = callback
        self._start()

    def _read(self) -> tuple[bytes | None, ZnodeStat | None]:
        while True:
            try:
                data, stat = self._kazoo.retry(self._kazoo.get, self.path, watch=self._on_event)
                return data, stat
            except NoNodeError:
                if self._kazoo.retry(self._kazoo.exists, self.path, watch=self._on_event) is None:
                    return None, None

    def _deliver(self, value: tuple[bytes | None, ZnodeStat | None]) -> None:
        self._callback(value[0], value[1])
