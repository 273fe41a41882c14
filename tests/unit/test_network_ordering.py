"""``server/network.py``'s ordering rules, without sockets: a ``KafkaConnection`` fed request frames through
``data_received``, writing to a recording transport, in front of a dispatcher whose handlers finish only when
the test says so.

* consecutive Produce requests are pipelined (all started at once) but answered in request order;
* any other request starts only after everything before it was answered, and a Produce behind it waits too;
* a client that half-closes gets every answer it asked for, then the connection closes.
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
