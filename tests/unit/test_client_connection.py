"""KafkaConnection against a tiny in-process broker that speaks our codec over loopback TCP.

This tests our client's handshake, framing, pipelining and failure handling; the real-broker and
real-client interop tests live with the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest

from kafka_zk.client.connection import KafkaConnection
from kafka_zk.client.errors import (
    CorrelationIdMismatchError,
    IncompatibleBrokerVersion,
    KafkaConnectionError,
    KafkaRequestTimeoutError,
)
from kafka_zk.protocol.apis import ApiKey, decode_request_frame, encode_response_frame, encode_to_bytes
from kafka_zk.protocol.errors import ProtocolDecodeError, ProtocolEncodeError
from kafka_zk.protocol.framing import FrameDecoder
from kafka_zk.protocol.headers import RequestHeader, peek_request_header
from kafka_zk.protocol.messages import (
    ApiVersionsResponse,
    MetadataRequest,
    MetadataResponse,
    ProduceRequest,
    ProduceResponse,
)
from kafka_zk.protocol.messages.api_versions import unsupported_version_response

Handler = Callable[[RequestHeader, Any], Awaitable[Any]]
DEFAULT_RANGES = {18: (0, 3), 0: (3, 8), 3: (0, 4)}


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 20))


class LoopbackBroker:
    """Answers requests in order, one at a time per connection, like a Kafka broker.

    ``ranges`` is what ApiVersions advertises; ``handlers[api_key]`` builds the response body (or returns
    ``None`` to send nothing).  Every received header is recorded in ``seen``.
    """

    def __init__(self, ranges: dict[int, tuple[int, int]] | None = None) -> None:
        self.ranges = dict(DEFAULT_RANGES if ranges is None else ranges)
        self.handlers: dict[int, Handler] = {}
        self.seen: list[RequestHeader] = []
        self.raw_hook: Callable[[memoryview, asyncio.StreamWriter], Awaitable[bool]] | None = None
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> LoopbackBroker:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.close()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def connect(self, **kwargs: Any) -> KafkaConnection:
        return await KafkaConnection.open("127.0.0.1", self.port, **kwargs)

    async def drop_connections(self) -> None:
        for w in self._writers:
            w.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        decoder = FrameDecoder()
        try:
            while data := await reader.read(65536):
                for frame in decoder.feed(data):
                    if self.raw_hook is not None and await self.raw_hook(frame, writer):
                        continue
                    await self._answer(frame, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _answer(self, frame: memoryview, writer: asyncio.StreamWriter) -> None:
        api_key, version, correlation_id = peek_request_header(frame)
        if api_key == ApiKey.API_VERSIONS and version > self.ranges[18][1]:
            self.seen.append(RequestHeader(api_key, version, correlation_id))
            lo, hi = self.ranges[18]
            writer.write(encode_to_bytes(encode_response_frame(correlation_id, 18, 0,
                                                              unsupported_version_response(lo, hi))))
            return
        header, body = decode_request_frame(frame)
        self.seen.append(header)
        if api_key == ApiKey.API_VERSIONS:
            resp = ApiVersionsResponse(api_keys=[
                ApiVersionsResponse.ApiVersion(api_key=k, min_version=lo, max_version=hi)
                for k, (lo, hi) in sorted(self.ranges.items())])
        else:
            resp = await self.handlers[api_key](header, body)
        if resp is not None:
            writer.write(encode_to_bytes(encode_response_frame(correlation_id, api_key, version, resp)))


async def metadata_echo(header: RequestHeader, body: Any) -> Any:
    """Names one broker per requested topic, so a response shows which request it answers."""
    names = [t.name for t in body.topics or []]
    return MetadataResponse(brokers=[
        MetadataResponse.MetadataResponseBroker(node_id=i, host=n, port=header.correlation_id)
        for i, n in enumerate(names)])


def metadata_for(*topics: str) -> Any:
    return MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=t) for t in topics])


# --------------------------------------------------------------------------------------------- handshake


def test_open_negotiates_api_versions_v3_and_picks_versions() -> None:
    async def scenario() -> None:
        async with LoopbackBroker({18: (0, 3), 3: (0, 12), 0: (3, 8)}) as broker:
            broker.handlers[3] = metadata_echo
            async with await broker.connect(client_id="tester") as conn:
                assert conn.api_versions_version == 3
                assert conn.api_versions == {0: (3, 8), 3: (0, 12), 18: (0, 3)}
                assert conn.pick_version(ApiKey.METADATA) == 11  # our declared max is below the broker's
                assert conn.pick_version(ApiKey.PRODUCE) == 8
                resp = await conn.request(ApiKey.METADATA, metadata_for("a"))
                assert [b.host for b in resp.brokers] == ["a"]
            first, second = broker.seen
            assert (first.api_key, first.api_version, first.client_id) == (18, 3, "tester")
            assert (second.api_key, second.api_version) == (3, 11)

    run(scenario())


@pytest.mark.parametrize(("advertised", "expected_versions"), [
    ((0, 2), [3, 2]),  # error 35 lists ApiVersions 0-2: retry with 2
    ((0, 0), [3, 0]),
])
def test_api_versions_downgrade_on_unsupported_version(
    advertised: tuple[int, int], expected_versions: list[int]
) -> None:
    async def scenario() -> None:
        async with LoopbackBroker({18: advertised, 3: (0, 4)}) as broker:
            async with await broker.connect() as conn:
                assert conn.api_versions_version == expected_versions[-1]
                assert conn.api_versions == {18: advertised, 3: (0, 4)}
            assert [h.api_version for h in broker.seen] == expected_versions

    run(scenario())


def test_api_versions_error_without_ranges_falls_back_to_v0() -> None:
    async def scenario() -> None:
        async with LoopbackBroker({18: (0, 1), 3: (0, 4)}) as broker:
            async def answer_empty(frame: memoryview, writer: asyncio.StreamWriter) -> bool:
                api_key, version, cid = peek_request_header(frame)
                if api_key == 18 and version > 0:
                    broker.seen.append(RequestHeader(api_key, version, cid))
                    writer.write(encode_to_bytes(encode_response_frame(cid, 18, 0, ApiVersionsResponse(error_code=35))))
                    return True
                return False

            broker.raw_hook = answer_empty
            async with await broker.connect() as conn:
                assert conn.api_versions_version == 0
            assert [h.api_version for h in broker.seen] == [3, 0]

    run(scenario())


def test_open_fails_clearly_when_nobody_listens_or_the_broker_hangs_up() -> None:
    async def scenario() -> None:
        async with LoopbackBroker() as broker:
            port = broker.port

            async def hang_up(frame: memoryview, writer: asyncio.StreamWriter) -> bool:
                writer.close()
                return True

            broker.raw_hook = hang_up
            with pytest.raises(KafkaConnectionError, match="closed the connection"):
                await broker.connect(timeout=5)
        with pytest.raises(KafkaConnectionError, match="cannot connect"):
            await KafkaConnection.open("127.0.0.1", port, timeout=5)

    run(scenario())


def test_incompatible_or_unadvertised_api_is_refused_before_sending() -> None:
    async def scenario() -> None:
        async with LoopbackBroker({18: (0, 3), 0: (10, 11)}) as broker:
            async with await broker.connect() as conn:
                with pytest.raises(IncompatibleBrokerVersion, match="Produce"):
                    await conn.request(ApiKey.PRODUCE, ProduceRequest())
                with pytest.raises(IncompatibleBrokerVersion, match="Metadata"):
                    await conn.request(ApiKey.METADATA, metadata_for())
            assert len(broker.seen) == 1  # only the handshake

    run(scenario())


# -------------------------------------------------------------------------------------------- pipelining


def test_pipelined_requests_are_matched_in_order() -> None:
    async def scenario() -> None:
        async with LoopbackBroker() as broker:
            async def slow_first(header: RequestHeader, body: Any) -> Any:
                if body.topics[0].name == "slow":
                    await asyncio.sleep(0.05)
                return await metadata_echo(header, body)

            broker.handlers[3] = slow_first
            async with await broker.connect() as conn:
                names = ["slow", "b", "c", "d"]
                results = await asyncio.gather(*(conn.request(ApiKey.METADATA, metadata_for(n)) for n in names))
                assert [r.brokers[0].host for r in results] == names
                # all four were on the wire before the first answer: correlation ids are consecutive
                assert [h.correlation_id for h in broker.seen[1:]] == [2, 3, 4, 5]
                assert conn.in_flight == 0

    run(scenario())


def test_produce_acks_zero_expects_no_response() -> None:
    async def scenario() -> None:
        async with LoopbackBroker() as broker:
            produced: list[int] = []

            async def produce(header: RequestHeader, body: Any) -> Any:
                produced.append(body.acks)
                if body.acks == 0:
                    return None
                return ProduceResponse(responses=[ProduceResponse.TopicProduceResponse(name="t")])

            broker.handlers[0] = produce
            broker.handlers[3] = metadata_echo
            async with await broker.connect() as conn:
                assert await conn.request(ApiKey.PRODUCE, ProduceRequest(acks=0, timeout_ms=1)) is None
                assert conn.in_flight == 0
                resp = await conn.request(ApiKey.PRODUCE, ProduceRequest(acks=1, timeout_ms=1))
                assert resp.responses[0].name == "t"
                assert (await conn.request(ApiKey.METADATA, metadata_for("x"))).brokers[0].host == "x"
            assert produced == [0, 1]

    run(scenario())


# ---------------------------------------------------------------------------------------------- failures


def test_disconnect_fails_every_in_flight_request_and_later_ones() -> None:
    async def scenario() -> None:
        async with LoopbackBroker() as broker:
            async def never(header: RequestHeader, body: Any) -> Any:
                await broker.drop_connections()
                return None

            broker.handlers[3] = never
            conn = await broker.connect()
            results = await asyncio.gather(*(conn.request(ApiKey.METADATA, metadata_for(str(i))) for i in range(3)),
                                           return_exceptions=True)
            assert all(isinstance(r, KafkaConnectionError) for r in results), results
            assert conn.closed
            with pytest.raises(KafkaConnectionError):
                await conn.request(ApiKey.METADATA, metadata_for("late"))
            await conn.close()

    run(scenario())


def test_correlation_id_mismatch_closes_the_connection() -> None:
    async def scenario() -> None:
        async with LoopbackBroker() as broker:
            async def wrong_id(frame: memoryview, writer: asyncio.StreamWriter) -> bool:
                api_key, version, cid = peek_request_header(frame)
                if api_key != ApiKey.METADATA:
                    return False
                writer.write(encode_to_bytes(encode_response_frame(cid + 100, 3, version, MetadataResponse())))
                return True

            broker.raw_hook = wrong_id
            async with await broker.connect() as conn:
                with pytest.raises(CorrelationIdMismatchError, match="expected 2"):
                    await conn.request(ApiKey.METADATA, metadata_for("a"))
                assert conn.closed

    run(scenario())


def test_timeout_keeps_the_connection_usable_and_drops_the_late_answer() -> None:
    async def scenario() -> None:
        async with LoopbackBroker() as broker:
            async def slow(header: RequestHeader, body: Any) -> Any:
                if body.topics[0].name == "slow":
                    await asyncio.sleep(0.2)
                return await metadata_echo(header, body)

            broker.handlers[3] = slow
            async with await broker.connect() as conn:
                with pytest.raises(KafkaRequestTimeoutError, match="no response within 0.05s"):
                    await conn.request(ApiKey.METADATA, metadata_for("slow"), timeout=0.05)
                assert conn.in_flight == 1
                resp = await conn.request(ApiKey.METADATA, metadata_for("next"))
                assert resp.brokers[0].host == "next"
                assert not conn.closed and conn.in_flight == 0

    run(scenario())


def test_unencodable_request_sends_nothing_and_bad_response_fails_only_its_request() -> None:
    async def scenario() -> None:
        async with LoopbackBroker() as broker:
            async def garbage_for_x(frame: memoryview, writer: asyncio.StreamWriter) -> bool:
                api_key, version, cid = peek_request_header(frame)
                _, body = decode_request_frame(frame)
                if api_key == ApiKey.METADATA and body.topics[0].name == "x":
                    writer.write((7).to_bytes(4, "big") + cid.to_bytes(4, "big") + b"\x00\x00\x00")
                    return True
                return False

            broker.raw_hook = garbage_for_x
            broker.handlers[3] = metadata_echo
            async with await broker.connect() as conn:
                with pytest.raises(ProtocolEncodeError, match="MetadataRequest.topics"):
                    await conn.request(ApiKey.METADATA, MetadataRequest(topics=["not a struct"]))
                with pytest.raises(ProtocolDecodeError, match="MetadataResponse v4"):
                    await conn.request(ApiKey.METADATA, metadata_for("x"))
                assert (await conn.request(ApiKey.METADATA, metadata_for("y"))).brokers[0].host == "y"
            assert len(broker.seen) == 2  # handshake and "y" (the hook took "x"; the bad one never left)

    run(scenario())


def test_raw_frames_for_malformed_input_tests() -> None:
    async def scenario() -> None:
        async with LoopbackBroker() as broker:
            async def echo_or_close(frame: memoryview, writer: asyncio.StreamWriter) -> bool:
                if bytes(frame[:4]) == b"ECHO":
                    writer.write(len(frame).to_bytes(4, "big") + bytes(frame))
                    return True
                if bytes(frame[:4]) == b"QUIT":
                    writer.close()
                    return True
                return False

            broker.raw_hook = echo_or_close
            async with await broker.connect() as conn:
                await conn.send_raw(b"\x00\x00\x00\x06ECHO!!")
                assert await conn.recv_raw_frame(timeout=5) == b"ECHO!!"
                with pytest.raises(KafkaRequestTimeoutError):
                    await conn.recv_raw_frame(timeout=0.05)
                await conn.send_raw(b"\x00\x00\x00\x04QUIT")
                await conn.wait_closed(timeout=5)
                with pytest.raises(KafkaConnectionError, match="closed the connection"):
                    await conn.recv_raw_frame(timeout=5)

    run(scenario())


def test_oversized_response_frame_closes_the_connection() -> None:
    async def scenario() -> None:
        async with LoopbackBroker() as broker:
            async def huge(frame: memoryview, writer: asyncio.StreamWriter) -> bool:
                if peek_request_header(frame)[0] == ApiKey.METADATA:
                    writer.write((1 << 20).to_bytes(4, "big"))
                    return True
                return False

            broker.raw_hook = huge
            async with await broker.connect(max_response_size=1024) as conn:
                with pytest.raises(KafkaConnectionError, match="larger than the maximum of 1024"):
                    await conn.request(ApiKey.METADATA, metadata_for("a"))

    run(scenario())


def test_close_is_idempotent_and_fails_pending_requests() -> None:
    async def scenario() -> None:
        async with LoopbackBroker() as broker:
            async def never(header: RequestHeader, body: Any) -> Any:
                await asyncio.sleep(10)

            broker.handlers[3] = never
            conn = await broker.connect()
            pending = asyncio.ensure_future(conn.request(ApiKey.METADATA, metadata_for("a")))
            await asyncio.sleep(0.02)
            await conn.close()
            await conn.close()
            with pytest.raises(KafkaConnectionError, match="was closed"):
                await pending

    run(scenario())
