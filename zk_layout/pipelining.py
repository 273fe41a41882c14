"""Make kazoo's connection thread pipeline requests the way Kafka's ``ZooKeeperClient`` does.

Kafka 2.x sends a controller's thousands of reads and writes asynchronously: all requests go out before the
first answer is awaited, so 10,000 partition states cost a few socket writes and ZooKeeper's own time.
kazoo's connection loop pipelines too, but pays per request: for every request it creates and closes an
epoll selector twice (once to wait for work, once before writing), makes one ``send`` and one wake-up
``recv`` — under the GIL, while the caller's thread keeps queueing. Profiling the controller
(``tools/bench_controller.py --py-spy``) showed that per-request overhead as the largest cost of a
failover and of a new controller's initialisation.

:func:`speed_up` changes two things on one ``KazooClient``, nothing in what is sent:

* its handler's ``select`` uses one ``poll`` call instead of an epoll selector built and torn down per call
  (``poll`` also works for descriptors above 1024, unlike ``select.select``);
* the connection sends every request queued at that moment in one socket write (up to
  :data:`MAX_REQUESTS_PER_WRITE`), in queue order with consecutive xids — the same bytes ZooKeeper would
  have received one request at a time.

Authentication packets and kazoo's test hooks (session expiry / connection drop sentinels) still go
through kazoo's own one-at-a-time path.
"""

from __future__ import annotations

import itertools
import select
from typing import Any, Callable

from kazoo.protocol.connection import _CONNECTION_DROP, _SESSION_EXPIRED  # type: ignore[attr-defined]
from kazoo.protocol.serialization import Auth, int_struct

#: Requests sent in one socket write at most (a bound on the bytes held before writing).
MAX_REQUESTS_PER_WRITE = 1024

_READ = select.POLLIN | select.POLLPRI
_WRITE = select.POLLOUT
_ERR = select.POLLERR | select.POLLHUP | select.POLLNVAL


def poll_select(rlist: list[Any], wlist: list[Any], xlist: list[Any],
                timeout: float | None = None) -> tuple[list[Any], list[Any], list[Any]]:
    """``select.select``'s contract (objects with ``fileno()`` or ints) on one ``poll`` system call."""
    p = select.poll()
    by_fd: dict[int, Any] = {}
    masks: dict[int, int] = {}
    for objs, mask in ((rlist, _READ), (wlist, _WRITE), (xlist, select.POLLPRI)):
        for obj in objs:
            fd = obj if isinstance(obj, int) else obj.fileno()
            by_fd[fd] = obj
            masks[fd] = masks.get(fd, 0) | mask
    for fd, mask in masks.items():
        p.register(fd, mask)
    ms = None if timeout is None else max(0, int(timeout * 1000))
    r: list[Any] = []
    w: list[Any] = []
    x: list[Any] = []
    for fd, ev in p.poll(ms):
        obj = by_fd[fd]
        if ev & (_READ | _ERR) and obj in rlist:
            r.append(obj)
        if ev & (_WRITE | _ERR) and obj in wlist:
            w.append(obj)
        if ev & select.POLLPRI and obj in xlist:
            x.append(obj)
    return r, w, x


def _batched_send_request(conn: Any, one_at_a_time: Callable[[float, float], None]) -> Callable[[float, float], None]:
    """A replacement for ``ConnectionHandler._send_request`` that writes every queued request at once."""

    def send_request(read_timeout: float, connect_timeout: float) -> None:
        client = conn.client
        queue = client._queue
        if not queue:
            one_at_a_time(read_timeout, connect_timeout)  # kazoo drains a stray wake-up byte there
            return
        first = queue[0][0]
        if first is _SESSION_EXPIRED or first is _CONNECTION_DROP or first.type == Auth.type:
            one_at_a_time(read_timeout, connect_timeout)
            return
        buf = bytearray()
        batch: list[tuple[Any, Any, int]] = []
        xid = conn._xid
        for request, async_object in list(itertools.islice(queue, MAX_REQUESTS_PER_WRITE)):
            if request is _SESSION_EXPIRED or request is _CONNECTION_DROP or request.type == Auth.type:
                break
            xid = (xid % 2147483647) + 1
            body = bytearray(int_struct.pack(xid))
            if request.type:
                body.extend(int_struct.pack(request.type))
            body += request.serialize()
            buf += int_struct.pack(len(body))
            buf += body
            batch.append((request, async_object, xid))
        conn._write(bytes(buf), connect_timeout)
        conn._xid = xid
        for entry in batch:
            queue.popleft()
            client._pending.append(entry)
        # One wake-up byte per queued request; the bytes of requests queued a moment ago may not have
        # arrived yet — a later byte then finds an empty queue, which kazoo's own path handles.
        try:
            conn._read_sock.recv(len(batch))
        except OSError:
            pass

    return send_request


def speed_up(kazoo_client: Any) -> None:
    """Install the pipelining changes above on ``kazoo_client`` (before ``start()``)."""
    kazoo_client.handler.select = poll_select
    conn = kazoo_client._connection
    conn._send_request = _batched_send_request(conn, conn._send_request)
