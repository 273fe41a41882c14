"""``server/network.py``'s ordering rules, without sockets: a ``KafkaConnection`` fed request frames through
``data_received``, writing to a recording transport, in front of a dispatcher whose handlers finish only when
the test says so.

* consecutive Produce requests are pipelined (all started at once) but answered in request order;
* any other request starts only after everything before it was answered, and a Produce behind it waits too;
* a client that half-closes gets every answer it asked for, then the connection closes.
* an unknown API key or version closes the connection (counted as refused); ApiVersions at an unknown
  version is answered in v0 with UNSUPPORTED_VERSION, in its turn;
* a request that sets ``close_after`` closes the connection once everything before it is answered;
* reading pauses while ``queued.max.requests`` frames wait and resumes below half of that;
* at most ``MAX_PIPELINED_PRODUCES`` produces run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any, AsyncIterator

from kafka_zk.protocol import ApiKey, RequestHeader, encode_request_frame
from kafka_zk.protocol.messages.metadata import MetadataRequest, MetadataResponse
from kafka_zk.protocol.messages.produce import ProduceRequest, ProduceResponse
from kafka_zk.server.network import Dispatcher, KafkaConnection, RequestContext
from tests.helpers import run_async

PRODUCE_V, METADATA_V = 7, 8


class RecordingTransport(asyncio.Transport):
    """Collects what the connection writes; closing it reports ``connection_lost`` as asyncio would."""

    def __init__(self, protocol: KafkaConnection) -> None:
        super().__init__()
        self.protocol = protocol
        self.written = bytearray()
        self.closed = False
        self.reading = True

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "write after close"
        self.written += data

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def correlation_ids(self) -> list[int]:
        """The correlation ids of the complete response frames written so far, in write order."""
        out, pos, buf = [], 0, bytes(self.written)
        while pos + 8 <= len(buf):
            size, cid = struct.unpack_from(">ii", buf, pos)
            out.append(cid)
            pos += 4 + size
        return out


class GatedDispatcher(Dispatcher):
    """Each request's handler starts (recorded in ``started``) and then waits for ``release(cid)``."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self._gates: dict[int, asyncio.Event] = {}

    def supported(self, api_key: int) -> tuple[int, int] | None:
        return {ApiKey.PRODUCE: (0, PRODUCE_V), ApiKey.METADATA: (0, METADATA_V)}.get(ApiKey(api_key))

    def gate(self, cid: int) -> asyncio.Event:
        return self._gates.setdefault(cid, asyncio.Event())

    def release(self, *cids: int) -> None:
        for cid in cids:
            self.gate(cid).set()

    async def handle(self, ctx: RequestContext, request: Any) -> Any:
        self.started.append(ctx.correlation_id)
        await self.gate(ctx.correlation_id).wait()
        return ProduceResponse() if ctx.api_key == ApiKey.PRODUCE else MetadataResponse()


def produce(cid: int) -> bytes:
    return encode_request_frame(RequestHeader(ApiKey.PRODUCE, PRODUCE_V, cid, "t"), ProduceRequest(acks=-1))


def metadata(cid: int) -> bytes:
    return encode_request_frame(
        RequestHeader(ApiKey.METADATA, METADATA_V, cid, "t"), MetadataRequest(topics=[])
    )


@contextlib.asynccontextmanager
async def connect() -> AsyncIterator[tuple[KafkaConnection, RecordingTransport, GatedDispatcher]]:
    """A connection in front of a gated dispatcher; closed (its tasks ended) when the test is done."""
    dispatcher = GatedDispatcher()
    conn = KafkaConnection(dispatcher, "PLAINTEXT", 1 << 20, 500)
    transport = RecordingTransport(conn)
    conn.connection_made(transport)
    try:
        yield conn, transport, dispatcher
    finally:
        conn.close("test over", quiet=True)
        await settle()


async def settle() -> None:
    for _ in range(20):  # let every ready task run
        await asyncio.sleep(0)


@run_async
async def test_pipelined_produces_start_together_and_answer_in_request_order() -> None:
    async with connect() as (conn, transport, d):
        conn.data_received(produce(1) + produce(2) + produce(3))
        await settle()
        assert d.started == [1, 2, 3]  # all appending at once: acks=all does not serialise on replication
        d.release(3, 2)
        await settle()
        assert transport.correlation_ids() == []  # 2 and 3 are done, but 1 must be answered first
        d.release(1)
        await settle()
        assert transport.correlation_ids() == [1, 2, 3]
        assert not transport.closed


@run_async
async def test_other_requests_wait_for_everything_before_them() -> None:
    async with connect() as (conn, transport, d):
        conn.data_received(produce(1) + produce(2) + metadata(3) + produce(4) + metadata(5) + metadata(6))
        await settle()
        assert d.started == [1, 2]  # the metadata request does not overtake the produces before it
        d.release(2)
        await settle()
        assert d.started == [1, 2]
        d.release(1)
        await settle()
        assert d.started == [1, 2, 3] and transport.correlation_ids() == [1, 2]
        d.release(3)
        await settle()
        assert d.started == [1, 2, 3, 4]  # a produce behind a metadata request is not pipelined with it
        d.release(4)
        await settle()
        assert d.started == [1, 2, 3, 4, 5]  # strictly one at a time for everything but produce
        d.release(5, 6)
        await settle()
        assert d.started == [1, 2, 3, 4, 5, 6]
        assert transport.correlation_ids() == [1, 2, 3, 4, 5, 6]


@run_async
async def test_half_closed_client_gets_its_answers_then_the_connection_closes() -> None:
    async with connect() as (conn, transport, d):
        conn.data_received(produce(1) + metadata(2))
        conn.eof_received()
        await settle()
        assert not transport.closed  # answers are owed
        d.release(1)
        await settle()
        assert not transport.closed and transport.correlation_ids() == [1]
        d.release(2)
        await settle()
        assert transport.correlation_ids() == [1, 2]
        assert transport.closed and conn.closed


@run_async
async def test_half_close_with_nothing_pending_closes_at_once() -> None:
    async with connect() as (conn, transport, _):
        assert conn.eof_received() is True  # keep the write side open until we decide
        await settle()
        assert transport.closed and transport.written == b""


# ---- refusals, close-after, backpressure and the pipelining cap -----------------------------------------


class StrictDispatcher(GatedDispatcher):
    """Also serves ApiVersions 0-3, records refusals, and lets a request ask to close the connection after
    it (``close_after`` correlation ids answer nothing, as an acks=0 produce that failed)."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals: list[tuple[int, int, bool]] = []
        self.close_after: set[int] = set()

    def supported(self, api_key: int) -> tuple[int, int] | None:
        if api_key == ApiKey.API_VERSIONS:
            return (0, 3)
        return super().supported(api_key)

    def refused(self, api_key: int, api_version: int, closed: bool = True) -> None:
        self.refusals.append((api_key, api_version, closed))

    async def handle(self, ctx: RequestContext, request: Any) -> Any:
        response = await super().handle(ctx, request)
        if ctx.correlation_id in self.close_after:
            ctx.close_after = True
            return None
        return response


def raw_frame(api_key: int, version: int, cid: int, body: bytes = b"") -> bytes:
    """A frame we cannot encode with our declarations (an unknown key or version): header v1 and ``body``."""
    client = b"t"
    payload = struct.pack(">hhih", api_key, version, cid, len(client)) + client + body
    return struct.pack(">i", len(payload)) + payload


@contextlib.asynccontextmanager
async def connect_strict(
    max_queued: int = 500,
) -> AsyncIterator[tuple[KafkaConnection, RecordingTransport, StrictDispatcher]]:
    dispatcher = StrictDispatcher()
    conn = KafkaConnection(dispatcher, "PLAINTEXT", 1 << 20, max_queued)
    transport = RecordingTransport(conn)
    conn.connection_made(transport)
    try:
        yield conn, transport, dispatcher
    finally:
        conn.close("test over", quiet=True)
        await settle()


@run_async
async def test_an_unknown_api_key_or_version_closes_the_connection_and_is_counted() -> None:
    async with connect_strict() as (conn, transport, d):
        conn.data_received(raw_frame(ApiKey.END_TXN, 0, 1))
        await settle()
        assert transport.closed and transport.written == b"" and d.started == []
        assert d.refusals == [(ApiKey.END_TXN, 0, True)]
    async with connect_strict() as (conn, transport, d):
        conn.data_received(raw_frame(ApiKey.METADATA, METADATA_V + 1, 1))
        await settle()
        assert transport.closed and d.started == []
        assert d.refusals == [(ApiKey.METADATA, METADATA_V + 1, True)]


@run_async
async def test_api_versions_at_an_unknown_version_is_answered_in_v0_after_what_came_before() -> None:
    from kafka_zk.protocol.apis import decode_response

    async with connect_strict() as (conn, transport, d):
        conn.data_received(metadata(1) + raw_frame(ApiKey.API_VERSIONS, 9, 2) + metadata(3))
        await settle()
        assert transport.correlation_ids() == []  # the downgraded answer does not overtake request 1
        d.release(1)
        await settle()
        assert transport.correlation_ids() == [1, 2]
        assert d.refusals == [(ApiKey.API_VERSIONS, 9, False)]
        buf = bytes(transport.written)
        first = struct.unpack_from(">i", buf)[0]
        size = struct.unpack_from(">i", buf, 4 + first)[0]
        body = buf[4 + first + 4 + 4 : 4 + first + 4 + size]  # size, correlation id (header v0), body
        resp = decode_response(ApiKey.API_VERSIONS, 0, body)
        assert resp.error_code == 35  # UNSUPPORTED_VERSION, with the range the client should use
        ranges = [(k.api_key, k.min_version, k.max_version) for k in resp.api_keys]
        assert ranges == [(ApiKey.API_VERSIONS, 0, 3)]
        d.release(3)
        await settle()
        assert transport.correlation_ids() == [1, 2, 3] and not transport.closed


@run_async
async def test_close_after_answers_what_came_before_then_closes() -> None:
    async with connect_strict() as (conn, transport, d):
        d.close_after.add(2)
        conn.data_received(produce(1) + produce(2) + metadata(3))
        await settle()
        d.release(2)
        await settle()
        assert not transport.closed  # request 1 is still owed its answer
        d.release(1)
        await settle()
        assert transport.correlation_ids() == [1]  # 2 answers nothing, 3 never runs
        assert transport.closed and d.started == [1, 2]


@run_async
async def test_reading_pauses_while_max_queued_frames_wait_and_resumes_below_half() -> None:
    async with connect_strict(max_queued=4) as (conn, transport, d):
        conn.data_received(b"".join(metadata(cid) for cid in range(1, 6)))
        await settle()
        assert not transport.reading  # 5 frames arrived with max 4 queued: the socket stops reading
        d.release(1)
        await settle()
        assert not transport.reading  # 2 is running, 3 taken to wait for it, 2 frames left: not below half
        d.release(2)
        await settle()
        assert transport.reading  # taking frame 4 left 1 queued, below half of 4: reading again
        d.release(3, 4, 5)
        await settle()
        assert transport.correlation_ids() == [1, 2, 3, 4, 5]


@run_async
async def test_at_most_max_pipelined_produces_run_at_once() -> None:
    from kafka_zk.server.network import MAX_PIPELINED_PRODUCES

    n = MAX_PIPELINED_PRODUCES
    async with connect_strict() as (conn, transport, d):
        conn.data_received(b"".join(produce(cid) for cid in range(1, n + 3)))
        await settle()
        assert d.started == list(range(1, n + 1))
        d.release(1)
        await settle()
        assert d.started == list(range(1, n + 2))  # one finished, one more starts
        d.release(*range(2, n + 3))
        await settle()
        assert transport.correlation_ids() == list(range(1, n + 3))
