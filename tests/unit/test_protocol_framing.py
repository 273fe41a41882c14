"""FrameDecoder: frames come out whole however the stream is split; bad sizes are refused up front."""

from __future__ import annotations

import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_zk.common.regions import FileRegion
from kafka_zk.protocol.errors import FrameTooLarge
from kafka_zk.protocol.framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder, frame
from kafka_zk.protocol.primitives import chunks_to_bytes


def framed(payloads: list[bytes]) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in payloads)


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.binary(max_size=300), max_size=8), st.data())
def test_any_split_of_the_stream_yields_the_same_frames(payloads: list[bytes], data: st.DataObject) -> None:
    stream = framed(payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = FrameDecoder()
    out: list[memoryview] = []
    last = 0
    for cut in cuts + [len(stream)]:
        out += decoder.feed(stream[last:cut])
        last = cut
    assert [bytes(f) for f in out] == payloads
    assert decoder.pending == 0


def test_byte_by_byte_and_frames_stay_valid_after_more_input() -> None:
    decoder = FrameDecoder()
    stream = framed([b"hello", b"", b"world" * 100])
    frames: list[memoryview] = []
    for i in range(len(stream)):
        frames += decoder.feed(stream[i:i + 1])
        if i == 1:
            assert decoder.pending == 2  # half a size prefix
        if i == 6:
            assert decoder.pending == 3  # three bytes of "hello"
    first = frames[0]
    decoder.feed(framed([b"more"]))
    assert bytes(first) == b"hello"
    assert [bytes(f) for f in frames] == [b"hello", b"", b"world" * 100]


def test_frame_above_max_size_is_refused_before_reading_it() -> None:
    decoder = FrameDecoder(max_size=1024)
    assert decoder.feed(framed([b"x" * 1024])) == [memoryview(b"x" * 1024)]
    with pytest.raises(FrameTooLarge) as info:
        decoder.feed((1025).to_bytes(4, "big"))
    assert info.value.size == 1025 and "larger than the maximum of 1024" in str(info.value)


def test_frames_before_a_bad_size_are_handed_over_with_the_error() -> None:
    with pytest.raises(FrameTooLarge) as info:
        FrameDecoder(max_size=100).feed(framed([b"ok", b"fine"]) + (101).to_bytes(4, "big"))
    assert [bytes(f) for f in info.value.frames] == [b"ok", b"fine"]


def test_negative_size_is_refused() -> None:
    with pytest.raises(FrameTooLarge, match="negative"):
        FrameDecoder().feed(b"\xff\xff\xff\xfe")


def test_default_max_is_kafkas_socket_request_max_bytes() -> None:
    assert DEFAULT_MAX_FRAME_SIZE == 104857600
    decoder = FrameDecoder()
    # A TLS ClientHello sent to a plaintext port reads as a ~369 MB frame.
    with pytest.raises(FrameTooLarge):
        decoder.feed(bytes.fromhex("16030100"))


def test_frame_helper_prefixes_the_total_size_including_regions() -> None:
    with tempfile.TemporaryFile() as f:
        f.write(b"abcdefgh")
        f.flush()
        chunks = frame([b"head", FileRegion(f, 2, 4), b"tail"])
        assert isinstance(chunks[0], bytes) and chunks[0][:4] == (12).to_bytes(4, "big")
        assert chunks_to_bytes(chunks) == (12).to_bytes(4, "big") + b"headcdeftail"
        only_region = frame([FileRegion(f, 0, 3)])
        assert chunks_to_bytes(only_region) == b"\x00\x00\x00\x03abc"
