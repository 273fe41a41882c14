"""Varints and zig-zag: the encodings of compact lengths, tags and record fields."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafka_zk.protocol.errors import ProtocolDecodeError
from kafka_zk.protocol.primitives import (
    decode_uvarint,
    decode_varint,
    decode_varlong,
    encode_uvarint,
    encode_varint,
    encode_varlong,
    zigzag_decode,
    zigzag_encode,
)


@given(st.integers(0, (1 << 32) - 1))
def test_uvarint_roundtrip(n: int) -> None:
    data = encode_uvarint(n)
    assert decode_uvarint(data + b"\xff", 0) == (n, len(data))


@given(st.integers(-(1 << 31), (1 << 31) - 1))
def test_varint_roundtrip(n: int) -> None:
    data = encode_varint(n)
    assert len(data) <= 5 and decode_varint(data, 0) == (n, len(data))


@given(st.integers(-(1 << 63), (1 << 63) - 1))
def test_varlong_roundtrip(n: int) -> None:
    data = encode_varlong(n)
    assert len(data) <= 10 and decode_varlong(data, 0) == (n, len(data))


def test_known_encodings() -> None:
    assert encode_uvarint(0) == b"\x00" and encode_uvarint(127) == b"\x7f" and encode_uvarint(300) == b"\xac\x02"
    assert [zigzag_encode(n) for n in (0, -1, 1, -2, 2)] == [0, 1, 2, 3, 4]
    assert zigzag_decode(3) == -2
    assert encode_varint(-1) == b"\x01" and encode_varint(-(1 << 31)) == b"\xff\xff\xff\xff\x0f"


def test_bad_varints() -> None:
    with pytest.raises(ProtocolDecodeError, match="ends inside"):
        decode_uvarint(b"\x80\x80", 0)
    with pytest.raises(ProtocolDecodeError, match="longer than 5"):
        decode_uvarint(b"\x80\x80\x80\x80\x80\x01", 0)
    with pytest.raises(ProtocolDecodeError, match="int32"):
        decode_varint(b"\xff\xff\xff\xff\x7f", 0)
    with pytest.raises(ValueError):
        encode_varint(1 << 31)
    with pytest.raises(ValueError):
        encode_uvarint(-1)
