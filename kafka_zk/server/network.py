"""The Kafka-protocol listener: asyncio connections, framing, strict per-connection ordering, zero-copy fetches.

Theory of operation:

* One :class:`KafkaConnection` (an ``asyncio.Protocol``) per client socket. ``data_received`` feeds a
  :class:`~kafka_zk.protocol.framing.FrameDecoder`; complete frames are queued and handled **one at a time,
  in arrival order**, by a single worker task per connection — so responses leave in request order (Kafka's
  "one request in flight per connection" rule; both Python clients close the connection on a correlation-id
  mismatch). While more than ``queued.max.requests`` frames wait, the socket stops reading (backpressure).
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
from dataclasses import dataclass, field
from typing import Any, Callable

from kafka_zk.common.errors import ErrorCode
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
from kafka_zk.protocol.apis import ApiKey, response_message

log = get_logger(__name__)

INLINE_REGION_MAX = 64 * 1024
WRITE_HIGH_WATER = 4 * 1024 * 1024


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
    extra: dict[str, Any] = field(default_factory=dict)


class Dispatcher:
    """What the network layer needs from the server: the advertised ranges and a way to handle a request."""

    def supported(self, api_key: int) -> tuple[int, int] | None:  # pragma: no cover - interface
        raise NotImplementedError

    async def handle(self, ctx: RequestContext, request: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


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
        self._reading_paused = False
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed = False
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

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._queue.clear()
        self._can_write.set()
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
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
                await self._handle(frame)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("request processing failed", peer=f"{self.peer[0]}:{self.peer[1]}")
            self.close("internal error")
        finally:
            self._worker = None
            if self._queue and not self.closed:  # frames arrived while we were finishing
                self._worker = asyncio.get_running_loop().create_task(self._run())

    async def _handle(self, frame: memoryview) -> None:
        try:
            api_key, api_version, correlation_id = peek_request_header(frame)
        except ProtocolDecodeError as e:
            self.close(f"unreadable request header: {e}")
            return
        supported = self.dispatcher.supported(api_key)
        if supported is None:
            self.close(f"unknown API key {api_key}")
            return
        lo, hi = supported
        if not lo <= api_version <= hi:
            if api_key == ApiKey.API_VERSIONS:
                await self._write(encode_response_frame(correlation_id, api_key, 0, _unsupported_api_versions(lo, hi)))
                return
            self.close(f"unsupported version {api_version} of API key {api_key} (supported {lo}-{hi})")
            return
        try:
            header, request = decode_request_frame(frame)
        except (ProtocolDecodeError, UnsupportedVersionError) as e:
            self.close(f"malformed request (API key {api_key} v{api_version}): {e}")
            return
        ctx = RequestContext(
            api_key,
            api_version,
            correlation_id,
            header.client_id,
            self.peer[0],
            self.peer[1],
            self.listener,
            self,
        )
        response = await self.dispatcher.handle(ctx, request)
        if response is not None and not self.closed:
            await self._write(encode_response_frame(correlation_id, api_key, api_version, response))
        if ctx.close_after:
            self.close("closed after request, as the protocol requires")

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

    def close(self, reason: str) -> None:
        if self.closed:
            return
        log.info("closing connection", peer=f"{self.peer[0]}:{self.peer[1]}", listener=self.listener, reason=reason)
        self.closed = True
        self._queue.clear()
        if self.transport is not None:
            self.transport.close()


def _unsupported_api_versions(lo: int, hi: int) -> Any:
    """The v0 answer to an ApiVersions request we cannot parse (KIP-511): error 35 and our own range."""
    resp_cls = response_message(ApiKey.API_VERSIONS).cls
    entry = resp_cls.ApiVersion(api_key=int(ApiKey.API_VERSIONS), min_version=lo, max_version=hi)
    return resp_cls(error_code=int(ErrorCode.UNSUPPORTED_VERSION), api_keys=[entry])


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
