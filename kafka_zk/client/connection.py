"""One TCP connection to a Kafka broker: handshake, version choice, pipelined requests.

Theory of operation
-------------------
:meth:`KafkaConnection.open` connects and performs the ApiVersions handshake the way librdkafka does: it
sends ApiVersions **v3** (header v2, flexible body with our client software name/version).  A broker that
does not know v3 answers with error 35 UNSUPPORTED_VERSION in the **v0** body layout (the error code is the
first field of every layout, so it is read first and the body decoded as v0 when non-zero); its array, if it
lists ApiVersions, gives the highest version to retry with, otherwise we retry with v0.  The broker's ranges
are kept in :attr:`KafkaConnection.api_versions`; a request without an explicit version uses the highest
version both sides support.

Requests are pipelined: each gets the next correlation id, is written at once, and its future joins a FIFO.
Kafka answers the requests of one connection strictly in order, so one reader task matches every response
frame with the *oldest* outstanding request; a different correlation id means the stream is out of sync and
the connection is closed (as kafka-python and aiokafka do).  Produce with ``acks=0`` gets no response and
never enters the FIFO.  A request that times out stays in the FIFO, so its late response is still consumed
(and dropped) and later responses stay matched.  When the connection ends — EOF, reset, ``close()`` — every
outstanding request fails with :class:`KafkaConnectionError`.

For malformed-input tests, :meth:`send_raw` writes arbitrary bytes and :meth:`recv_raw_frame` returns frames
that arrive while no request is outstanding.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from typing import Any

from kafka_zk import __version__
from kafka_zk.client.errors import (
    CorrelationIdMismatchError,
    IncompatibleBrokerVersion,
    KafkaConnectionError,
    KafkaRequestTimeoutError,
)
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.logging import get_logger
from kafka_zk.protocol.apis import (
    ApiKey,
    api_name,
    declared_versions,
    encode_request_frame,
    expects_response,
    request_message,
    response_header_version,
    response_message,
)
from kafka_zk.protocol.errors import FrameTooLarge, ProtocolError
from kafka_zk.protocol.framing import FrameDecoder
from kafka_zk.protocol.headers import RequestHeader, decode_response_header
from kafka_zk.protocol.messages import ApiVersionsRequest

log = get_logger(__name__)

#: Kafka clients' ``request.timeout.ms`` default.
DEFAULT_REQUEST_TIMEOUT = 30.0
#: Responses (large fetches) may exceed the broker's request limit; this only guards against garbage sizes.
DEFAULT_MAX_RESPONSE_SIZE = 1 << 30
#: The ApiVersions version we try first (librdkafka's choice).
FIRST_API_VERSIONS_VERSION = 3
_READ_SIZE = 256 * 1024


@dataclass(slots=True)
class _Pending:
    correlation_id: int
    api_key: int
    version: int
    future: asyncio.Future[Any]


class KafkaConnection:
    """A connection to one broker.  Create with :meth:`open`; use as ``async with`` to close it."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        client_id: str | None = "kafka-zk",
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        self.client_id = client_id
        self.request_timeout = request_timeout
        #: The broker's advertised ``{api_key: (min_version, max_version)}``; ``None`` until negotiated.
        self.api_versions: dict[int, tuple[int, int]] | None = None
        #: The ApiVersions version the handshake ended with.
        self.api_versions_version: int | None = None
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self._reader = reader
        self._writer = writer
        self._decoder = FrameDecoder(max_response_size)
        self._inflight: deque[_Pending] = deque()
        self._raw_frames: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._next_correlation_id = 1
        self._error: KafkaConnectionError | None = None
        self._closed = asyncio.Event()
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop(), name=f"kafka-conn-{self.peer}")
        self._reader_task.add_done_callback(self._reader_done)

    # --------------------------------------------------------------------------------------------- opening

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        client_id: str | None = "kafka-zk",
        timeout: float = 10.0,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        negotiate: bool = True,
    ) -> KafkaConnection:
        """Connect to ``host:port`` and (unless ``negotiate`` is false) run the ApiVersions handshake.

        ``timeout`` bounds the TCP connect and each handshake round trip.  Raises
        :class:`KafkaConnectionError` if the broker cannot be reached, closes the connection, or answers
        ApiVersions with an error other than UNSUPPORTED_VERSION; :class:`KafkaRequestTimeoutError` if it
        does not answer.
        """
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise KafkaConnectionError(f"cannot connect to {host}:{port}: {exc or type(exc).__name__}") from exc
        conn = cls(reader, writer, client_id=client_id, request_timeout=request_timeout,
                   max_response_size=max_response_size)
        if negotiate:
            try:
                await conn._negotiate(timeout)
            except BaseException:
                await conn.close()
                raise
        return conn

    async def _negotiate(self, timeout: float) -> None:
        lo, hi = declared_versions(ApiKey.API_VERSIONS)
        version = min(FIRST_API_VERSIONS_VERSION, hi)
        body = ApiVersionsRequest(client_software_name="kafka-zk", client_software_version=__version__)
        while True:
            resp = await self.request(ApiKey.API_VERSIONS, body, version=version, timeout=timeout)
            if resp.error_code == ErrorCode.NONE:
                break
            if resp.error_code != ErrorCode.UNSUPPORTED_VERSION or version == lo:
                raise KafkaConnectionError(
                    f"{self.peer} answered ApiVersions v{version} with error "
                    f"{_error_name(resp.error_code)}")
            broker_max = next((k.max_version for k in resp.api_keys if k.api_key == ApiKey.API_VERSIONS), None)
            retry = lo if broker_max is None else max(lo, min(version - 1, broker_max))
            log.debug("ApiVersions downgrade", peer=self.peer, sent=version, retry=retry)
            version = retry
        self.api_versions = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
        self.api_versions_version = version
        log.debug("connected", peer=self.peer, api_versions_version=version, apis=len(self.api_versions))

    # ---------------------------------------------------------------------------------------------- public

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered (timed-out ones included until their response arrives)."""
        return len(self._inflight)

    def pick_version(self, api_key: int) -> int:
        """The highest version in both our declared range and the broker's advertised one.

        Without a handshake (``negotiate=False``) this is our declared maximum.  Raises
        :class:`IncompatibleBrokerVersion` when the broker lacks the API or the ranges do not overlap, and
        :class:`~kafka_zk.protocol.errors.UnsupportedVersionError` for an API we do not declare.
        """
        ours_lo, ours_hi = declared_versions(api_key)
        if self.api_versions is None:
            return ours_hi
        broker = self.api_versions.get(api_key)
        if broker is None:
            raise IncompatibleBrokerVersion(f"{self.peer} does not support {api_name(api_key)}")
        lo, hi = max(ours_lo, broker[0]), min(ours_hi, broker[1])
        if lo > hi:
            raise IncompatibleBrokerVersion(
                f"{api_name(api_key)}: broker supports {broker[0]}-{broker[1]}, we support {ours_lo}-{ours_hi}")
        return hi

    async def request(
        self,
        api_key: int,
        body: Any,
        version: int | None = None,
        timeout: float | None = None,
        *,
        expect_response: bool | None = None,
    ) -> Any:
        """Send ``body`` (an instance of the API's request class) and return the decoded response.

        ``version`` defaults to :meth:`pick_version`; an explicit version only has to be one we declare.
        ``expect_response`` defaults to "unless Produce with acks=0"; without a response the call returns
        ``None`` once the bytes are handed to the socket.  ``timeout`` defaults to the connection's
        ``request_timeout``.

        Raises :class:`KafkaConnectionError` (closed or lost connection), :class:`KafkaRequestTimeoutError`,
        :class:`IncompatibleBrokerVersion`, :class:`~kafka_zk.protocol.errors.ProtocolEncodeError` (nothing
        was sent) or :class:`~kafka_zk.protocol.errors.ProtocolDecodeError` (the response could not be
        decoded; the connection stays usable).
        """
        self._check_open()
        if version is None:
            version = self.pick_version(api_key)
        else:
            request_message(api_key).check_version(version)
        correlation_id = self._take_correlation_id()
        frame = encode_request_frame(RequestHeader(api_key, version, correlation_id, self.client_id), body)
        if expect_response is None:
            expect_response = expects_response(api_key, body)
        future: asyncio.Future[Any] | None = None
        if expect_response:
            future = asyncio.get_running_loop().create_future()
            self._inflight.append(_Pending(correlation_id, api_key, version, future))
        try:
            await self._write(frame)
        except KafkaConnectionError:
            if future is not None and not future.cancelled():
                future.exception()  # already failed by the shutdown; we report it by raising instead
            raise
        if future is None:
            return None
        limit = self.request_timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(asyncio.shield(future), limit)
        except asyncio.TimeoutError:
            raise KafkaRequestTimeoutError(
                f"{api_name(api_key)} v{version} (correlation id {correlation_id}) to {self.peer}: "
                f"no response within {limit}s") from None
        finally:
            if not future.done():  # abandoned (timeout or caller cancelled): nobody will read its outcome
                future.add_done_callback(_discard_outcome)

    async def send_raw(self, data: bytes) -> None:
        """Write ``data`` verbatim (size prefix included or not — the caller decides).  For tests."""
        self._check_open()
        await self._write(data)

    async def recv_raw_frame(self, timeout: float | None = None) -> bytes:
        """The next frame (without size prefix) that arrived while no request was outstanding.

        Raises :class:`KafkaConnectionError` once the connection is closed and no such frame is left, and
        :class:`KafkaRequestTimeoutError` after ``timeout`` seconds.
        """
        try:
            item = await asyncio.wait_for(self._raw_frames.get(), timeout)
        except asyncio.TimeoutError:
            raise KafkaRequestTimeoutError(f"no frame from {self.peer} within {timeout}s") from None
        if item is None:
            self._raw_frames.put_nowait(None)  # keep the end marker for other waiters
            raise self._error or KafkaConnectionError(f"connection to {self.peer} is closed")
        return item

    async def wait_closed(self, timeout: float | None = None) -> None:
        """Wait until the connection has ended (closed by either side).  Raises KafkaRequestTimeoutError."""
        try:
            await asyncio.wait_for(self._closed.wait(), timeout)
        except asyncio.TimeoutError:
            raise KafkaRequestTimeoutError(f"connection to {self.peer} still open after {timeout}s") from None

    async def close(self) -> None:
        """Close the connection; outstanding requests fail with :class:`KafkaConnectionError`.  Idempotent."""
        self._shutdown(KafkaConnectionError(f"connection to {self.peer} was closed"))
        if not self._reader_task.done():
            self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader_task
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    async def __aenter__(self) -> KafkaConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"open, {len(self._inflight)} in flight"
        return f"<KafkaConnection {self.peer} {state}>"

    # ------------------------------------------------------------------------------------------- internals

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise self._error or KafkaConnectionError(f"connection to {self.peer} is closed")

    def _take_correlation_id(self) -> int:
        cid = self._next_correlation_id
        self._next_correlation_id = (cid + 1) & 0x7FFFFFFF
        return cid

    async def _write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            error = KafkaConnectionError(f"write to {self.peer} failed: {exc}")
            self._shutdown(error)
            raise error from exc

    async def _read_loop(self) -> None:
        error: KafkaConnectionError
        try:
            while True:
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    error = KafkaConnectionError(f"{self.peer} closed the connection")
                    break
                try:
                    frames = self._decoder.feed(data)
                except FrameTooLarge as exc:
                    for frame in exc.frames:
                        self._handle_frame(frame)
                    raise
                for frame in frames:
                    self._handle_frame(frame)
        except ProtocolError as exc:
            error = KafkaConnectionError(f"unreadable response stream from {self.peer}: {exc}")
        except (ConnectionError, OSError) as exc:
            error = KafkaConnectionError(f"connection to {self.peer} lost: {exc}")
        except _StreamOutOfSync as exc:
            error = exc.error
        self._shutdown(error)

    def _handle_frame(self, frame: memoryview) -> None:
        if not self._inflight:
            self._raw_frames.put_nowait(bytes(frame))
            return
        pending = self._inflight.popleft()
        header_version = response_header_version(pending.api_key, pending.version)
        correlation_id, offset = decode_response_header(frame, header_version)
        if correlation_id != pending.correlation_id:
            self._inflight.appendleft(pending)  # failed with everything else by the shutdown
            log.warning("correlation id mismatch", peer=self.peer, expected=pending.correlation_id,
                        received=correlation_id)
            raise _StreamOutOfSync(CorrelationIdMismatchError(
                f"{self.peer} answered correlation id {correlation_id}, expected {pending.correlation_id}"))
        if pending.future.done():  # timed out or cancelled: drop the late response
            return
        try:
            response = self._decode_body(pending, frame[offset:])
        except ProtocolError as exc:
            pending.future.set_exception(exc)
        else:
            pending.future.set_result(response)

    @staticmethod
    def _decode_body(pending: _Pending, body: memoryview) -> Any:
        message = response_message(pending.api_key)
        if pending.api_key == ApiKey.API_VERSIONS and bytes(body[:2]) not in (b"", b"\x00\x00"):
            # An ApiVersions error is always sent in the v0 layout (KIP-511), whatever version we asked for.
            return message.decode(0, body, allow_trailing=True)
        return message.decode(pending.version, body)

    def _shutdown(self, error: KafkaConnectionError) -> None:
        if self._closed.is_set():
            return
        self._error = error
        self._closed.set()
        while self._inflight:
            pending = self._inflight.popleft()
            if not pending.future.done():
                pending.future.set_exception(error)
        self._raw_frames.put_nowait(None)
        self._writer.close()
        log.debug("connection closed", peer=self.peer, reason=str(error))

    def _reader_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:  # a bug, not a network condition: make it visible and fail everything
            log.error("connection reader crashed", peer=self.peer, exc_info=exc)
            self._shutdown(KafkaConnectionError(f"connection reader for {self.peer} crashed: {exc!r}"))


def _discard_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class _StreamOutOfSync(Exception):
    def __init__(self, error: KafkaConnectionError) -> None:
        super().__init__(str(error))
        self.error = error


def _error_name(code: int) -> str:
    try:
        return f"{ErrorCode(code).name} ({code})"
    except ValueError:
        return str(code)
