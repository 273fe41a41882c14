"""The Kafka-protocol listener: asyncio connections, framing, strict per-connection ordering, zero-copy fetches.

Theory of operation:

* One :class:`KafkaConnection` (an ``asyncio.Protocol``) per client socket. ``data_received`` feeds a
  :class:`~kafka_zk.protocol.framing.FrameDecoder`; complete frames are queued and handled **in arrival
  order** by one worker task per connection, and a writer task sends the responses **in request order**
  (both Python clients close the connection on a correlation-id mismatch). While more than
  ``queued.max.requests`` frames wait, the socket stops reading (backpressure).
* Kafka handles one request per connection at a time. We do too, with one exception that matters for
  acks=all: consecutive **Produce** requests are pipelined — request N+1 is appended while request N waits for
  its followers (up to :data:`MAX_PIPELINED_PRODUCES` at once). Appends still happen in arrival order (each
  produce appends before its first suspension, and asyncio starts tasks in creation order) and responses still
  leave in order; any other request waits until everything before it has been answered, so e.g. an
  OffsetFetch never overtakes the OffsetCommit sent before it. Without this, a client that pipelines small
  acks=all batches (librdkafka does) would wait one replication round trip per request, queueing without bound.
* Bad input never reaches past this module as an exception: a frame above ``socket.request.max.bytes``,
  garbage that cannot carry a header, an unknown API key, an unadvertised version or a body that does not
  decode closes *that* connection (as Kafka's SocketServer does) and is logged at INFO with the peer; an
  ApiVersions request at an unknown version gets the v0 ``UNSUPPORTED_VERSION`` answer clients rely on.
  A handler that raises unexpectedly is logged with its traceback and the connection is closed; the broker
  keeps serving everybody else.
* Responses are encoded as chunks; a ``FileRegion`` chunk (records of a Fetch response) larger than
  :data:`INLINE_REGION_MAX` goes out with ``loop.sendfile`` (``os.sendfile`` under the hood: the record bytes
  never enter Python), smaller ones are read and written inline — one syscall beats two for small fetches.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from kafka_zk.common.logging import get_logger
from kafka_zk.common.regions import FileRegion
from kafka_zk.protocol import (
    FrameDecoder,
    FrameTooLarge,
    ProtocolDecodeError,
    UnsupportedVersionError,
    decode_request_frame,
    encode_response_frame,
    peek_request_header,
)
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages.api_versions import unsupported_version_response

log = get_logger(__name__)

INLINE_REGION_MAX = 64 * 1024
MAX_PIPELINED_PRODUCES = 32


@dataclass(slots=True)
class RequestContext:
    """What a handler knows about the request besides its body."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    client_host: str
    client_port: int
    listener: str
    connection: "KafkaConnection"
    # set by a handler to close the connection after this request (acks=0 produce errors, as Kafka does)
    close_after: bool = False


class Dispatcher:
    """What the network layer needs from the server: the advertised ranges and a way to handle a request."""

    def supported(self, api_key: int) -> tuple[int, int] | None:  # pragma: no cover - interface
        raise NotImplementedError

    async def handle(self, ctx: RequestContext, request: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def refused(self, api_key: int, api_version: int, closed: bool = True) -> None:
        """Told about a request not handled: answered by closing the connection (unknown key, version, or bad
        body), or — ``closed=False`` — an ApiVersions request at an unknown version, answered in v0."""


class KafkaConnection(asyncio.Protocol):
    def __init__(self, dispatcher: Dispatcher, listener: str, max_request_size: int, max_queued: int) -> None:
        self.dispatcher = dispatcher
        self.listener = listener
        self.decoder = FrameDecoder(max_request_size)
        self.max_queued = max_queued
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("?", 0)
        self._queue: deque[memoryview] = deque()
        self._worker: asyncio.Task[None] | None = None
        # (api_key, task returning the response frame chunks or None), in request order
        self._inflight: deque[tuple[int, asyncio.Task[Any]]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._reading_paused = False
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed = False
        self._eof = False
        self.on_close: Callable[["KafkaConnection"], None] | None = None

    # ---- asyncio.Protocol ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer = (str(peer[0]), int(peer[1]))

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            frames = self.decoder.feed(data)
        except FrameTooLarge as e:
            self.close(f"frame too large: {e}")
            return
        if not frames:
            return
        self._queue.extend(frames)
        if len(self._queue) >= self.max_queued and not self._reading_paused and self.transport is not None:
            self.transport.pause_reading()
            self._reading_paused = True
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run())

    def eof_received(self) -> bool:
        """The client half-closed: answer what it sent, then close (keeping the write side open meanwhile)."""
        self._eof = True
        self._maybe_close_after_eof()
        return True

    def _maybe_close_after_eof(self) -> None:
        if self._eof and not self._queue and not self._inflight and self._worker is None:
            self.close("client closed its side", quiet=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._queue.clear()
        self._can_write.set()
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
        for _, task in self._inflight:
            task.cancel()
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        if self.on_close is not None:
            self.on_close(self)

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # ---- processing ----------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while self._queue and not self.closed:
                frame = self._queue.popleft()
                if self._reading_paused and len(self._queue) < self.max_queued // 2 and self.transport is not None:
                    self.transport.resume_reading()
                    self._reading_paused = False
                await self._dispatch(frame)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("request processing failed", peer=f"{self.peer[0]}:{self.peer[1]}")
            self.close("internal error")
        finally:
            self._worker = None
            if self._queue and not self.closed:  # frames arrived while we were finishing
                self._worker = asyncio.get_running_loop().create_task(self._run())
            else:
                self._maybe_close_after_eof()

    async def _dispatch(self, frame: memoryview) -> None:
        """Parse one frame and start its handler, respecting the ordering rules in the module docstring."""
        try:
            api_key, api_version, correlation_id = peek_request_header(frame)
        except ProtocolDecodeError as e:
            self.close(f"unreadable request header: {e}")
            return
        supported = self.dispatcher.supported(api_key)
        if supported is None:
            self.dispatcher.refused(api_key, api_version)
            self.close(f"unknown API key {api_key}")
            return
        lo, hi = supported
        if not lo <= api_version <= hi:
            if api_key == ApiKey.API_VERSIONS:
                self.dispatcher.refused(api_key, api_version, closed=False)
                await self._wait_idle()
                chunks = encode_response_frame(correlation_id, api_key, 0, unsupported_version_response(lo, hi))
                self._enqueue(api_key, _done(chunks))
                return
            self.dispatcher.refused(api_key, api_version)
            self.close(f"unsupported version {api_version} of API key {api_key} (supported {lo}-{hi})")
            return
        try:
            header, request = decode_request_frame(frame)
        except (ProtocolDecodeError, UnsupportedVersionError) as e:
            self.dispatcher.refused(api_key, api_version)
            self.close(f"malformed request (API key {api_key} v{api_version}): {e}")
            return
        ctx = RequestContext(
            api_key, api_version, correlation_id, header.client_id, self.peer[0], self.peer[1], self.listener, self
        )
        pipelined = api_key == ApiKey.PRODUCE and all(k == ApiKey.PRODUCE for k, _ in self._inflight)
        if pipelined:
            while len(self._inflight) >= MAX_PIPELINED_PRODUCES and not self.closed:
                await asyncio.wait([self._inflight[0][1]])
        else:
            await self._wait_idle()
        if self.closed:
            return
        self._enqueue(api_key, asyncio.get_running_loop().create_task(self._execute(ctx, request)))

    async def _execute(self, ctx: RequestContext, request: Any) -> tuple[list[Any] | None, bool]:
        response = await self.dispatcher.handle(ctx, request)
        chunks = None
        if response is not None:
            chunks = encode_response_frame(ctx.correlation_id, ctx.api_key, ctx.api_version, response)
        return chunks, ctx.close_after

    def _enqueue(self, api_key: int, task: "asyncio.Future[Any]") -> None:
        self._inflight.append((api_key, task))  # type: ignore[arg-type]
        self._idle.clear()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_responses())

    async def _wait_idle(self) -> None:
        while self._inflight and not self.closed:
            await self._idle.wait()

    async def _write_responses(self) -> None:
        try:
            while self._inflight and not self.closed:
                _, task = self._inflight[0]
                try:
                    chunks, close_after = await task
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("request handler failed", peer=f"{self.peer[0]}:{self.peer[1]}")
                    self.close("internal error")
                    return
                self._inflight.popleft()
                # Responses that are already complete behind this one go out in the same write: one send()
                # instead of several (on loopback the sender pays for the receiver's TCP processing too).
                while chunks is not None and not close_after and self._inflight and self._inflight[0][1].done():
                    nxt = self._inflight[0][1]
                    if nxt.cancelled() or nxt.exception() is not None:
                        break
                    more, close_after = nxt.result()
                    self._inflight.popleft()
                    if more is not None:
                        chunks = _concat(chunks, more)
                if chunks is not None:
                    await self._write(chunks)
                if close_after:
                    self.close("closed after request, as the protocol requires")
        except asyncio.CancelledError:
            pass
        finally:
            self._writer = None
            if not self._inflight:
                self._idle.set()
                self._maybe_close_after_eof()
            elif not self.closed:
                self._writer = asyncio.get_running_loop().create_task(self._write_responses())

    async def _write(self, chunks: list[Any]) -> None:
        transport = self.transport
        if transport is None or self.closed:
            return
        loop = asyncio.get_running_loop()
        for chunk in chunks:
            if isinstance(chunk, FileRegion):
                if chunk.size <= INLINE_REGION_MAX:
                    transport.write(chunk.read())
                else:
                    await loop.sendfile(transport, chunk.file, chunk.position, chunk.size)
                if self.closed:
                    return
            else:
                transport.write(chunk)
        if not self._can_write.is_set():
            await self._can_write.wait()

    def close(self, reason: str, quiet: bool = False) -> None:
        if self.closed:
            return
        (log.debug if quiet else log.info)(
            "closing connection", peer=f"{self.peer[0]}:{self.peer[1]}", listener=self.listener, reason=reason
        )
        self.closed = True
        self._queue.clear()
        self._idle.set()
        if self.transport is not None:
            self.transport.close()


def _concat(a: list[Any], b: list[Any]) -> list[Any]:
    """Join two chunk lists, merging adjacent bytes so small responses become one buffer."""
    if a and b and not isinstance(a[-1], FileRegion) and not isinstance(b[0], FileRegion):
        return [*a[:-1], a[-1] + b[0], *b[1:]]
    return [*a, *b]


def _done(value: list[Any]) -> "asyncio.Future[Any]":
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    fut.set_result((value, False))
    return fut


class KafkaListener:
    """One listening socket speaking the Kafka protocol."""

    def __init__(self, name: str, host: str, port: int, dispatcher: Dispatcher, max_request_size: int, max_queued: int) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.dispatcher = dispatcher
        self.max_request_size = max_request_size
        self.max_queued = max_queued
        self.server: asyncio.base_events.Server | None = None
        self.connections: set[KafkaConnection] = set()

    def _factory(self) -> KafkaConnection:
        conn = KafkaConnection(self.dispatcher, self.name, self.max_request_size, self.max_queued)
        self.connections.add(conn)
        conn.on_close = self.connections.discard
        return conn

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._factory, self.host or None, self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            conn.close("broker shutting down")
        if self.server is not None:
            await self.server.wait_closed()
