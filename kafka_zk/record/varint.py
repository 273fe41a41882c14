"""Zig-zag varints, as record batch v2 encodes every per-record integer.

Kafka borrows protobuf's base-128 varint: seven bits per byte, least significant group first, the high
bit set on every byte but the last. Signed values are zig-zag mapped first (0, -1, 1, -2, ... become
0, 1, 2, 3, ...) so small negative numbers stay short — a null key (-1) is the single byte ``0x01``.
``varint`` (int32 fields) and ``varlong`` (int64 fields) share one encoding; only the allowed range
differs, which is why these functions take the bit width as an argument where it matters.
"""

from __future__ import annotations

from kafka_zk.common.errors import CorruptRecordError


def zigzag_encode(value: int) -> int:
    """Map a signed integer onto an unsigned one (0→0, -1→1, 1→2, ...)."""
    return (value << 1) ^ (value >> 63) if value >= 0 else ((-value) << 1) - 1


def zigzag_decode(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def encode_varint(value: int) -> bytes:
    """Encode a signed (zig-zag) varint/varlong."""
    v = (value << 1) if value >= 0 else ((-value) << 1) - 1
    if v < 0x80:
        return bytes((v,))
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def write_varint(out: bytearray, value: int) -> None:
    """Append a signed (zig-zag) varint to ``out`` (the builder's hot path: no intermediate bytes)."""
    v = (value << 1) if value >= 0 else ((-value) << 1) - 1
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def size_of_varint(value: int) -> int:
    """Bytes :func:`encode_varint` would produce for ``value``."""
    v = (value << 1) if value >= 0 else ((-value) << 1) - 1
    n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


def decode_varint(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """Decode a signed (zig-zag) varint at ``pos``; returns ``(value, next_pos)``.

    Raises :class:`CorruptRecordError` when the buffer ends inside the varint or it is longer than
    10 bytes (the most a 64-bit value needs).
    """
    try:
        b = buf[pos]
        if b < 0x80:
            return (b >> 1) ^ -(b & 1), pos + 1
        result = b & 0x7F
        shift = 7
        pos += 1
        while True:
            b = buf[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return (result >> 1) ^ -(result & 1), pos
            shift += 7
            if shift > 63:
                raise CorruptRecordError("varint longer than 10 bytes")
    except IndexError:
        raise CorruptRecordError("record data ends inside a varint") from None
