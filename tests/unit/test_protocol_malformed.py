"""Malformed bytes never escape as anything but ProtocolDecodeError (a broker must never die on input).

For every declared message and version, valid encodings are truncated at every position and corrupted at
random; decoding either succeeds or raises :class:`ProtocolDecodeError` — never ``IndexError``,
``struct.error``, ``MemoryError`` or a hang.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafka_zk.protocol.apis import API, ApiKey, decode_request_frame
from kafka_zk.protocol.errors import ProtocolDecodeError, UnsupportedVersionError
from kafka_zk.protocol.schema import Message

from kafka_zk.protocol.strategies import message_strategy

CASES = [
    pytest.param(message, version, id=f"{message.name}-v{version}")
    for pair in API.values()
    for message in pair
    for version in message.versions()
]


def _decode_or_protocol_error(message: Message, version: int, data: bytes) -> None:
    try:
        message.decode(version, data)
    except ProtocolDecodeError:
        pass


@pytest.mark.parametrize(("message", "version"), CASES)
def test_truncated_and_corrupted_bodies(message: Message, version: int) -> None:
    @settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(st.data())
    def check(data: Any) -> None:
        obj = data.draw(message_strategy(message, version))
        encoded = message.encode_to_bytes(version, obj)
        for cut in range(len(encoded)):
            # Every strict prefix of a valid body is incomplete: the decoder must say so, cleanly.
            with pytest.raises(ProtocolDecodeError):
                message.decode(version, encoded[:cut])
        if encoded:
            corrupt = bytearray(encoded)
            for _ in range(data.draw(st.integers(1, 4))):
                pos = data.draw(st.integers(0, len(corrupt) - 1))
                corrupt[pos] = data.draw(st.integers(0, 255))
            _decode_or_protocol_error(message, version, bytes(corrupt))

    check()


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=64))
def test_random_request_frames_only_raise_protocol_errors(frame: bytes) -> None:
    # Random headers mostly name unknown keys/versions; with a valid header the body is random.
    for key in list(API)[:: max(1, len(API) // 6)]:
        lo, hi = API[key][0].valid_versions
        header = int(key).to_bytes(2, "big") + hi.to_bytes(2, "big") + b"\x00\x00\x00\x01\xff\xff"
        for candidate in (frame, header + frame):
            try:
                decode_request_frame(candidate)
            except (ProtocolDecodeError, UnsupportedVersionError):
                pass


def test_huge_counts_do_not_allocate() -> None:
    message = API[ApiKey.FETCH][0]
    body = b"\xff\xff\xff\xff" + b"\x00\x00\x01\xf4" + b"\x00\x00\x00\x01" + b"\x7f\xff\xff\xff"
    with pytest.raises(ProtocolDecodeError, match="exceeds the remaining bytes"):
        message.decode(0, body)
