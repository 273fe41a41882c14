"""Wire primitives of the Kafka protocol: fixed-width integers, varints and the chunk type.

All fixed-width integers are big-endian two's complement.  Two variable-length encodings exist:

* **unsigned varint** (KIP-482 flexible versions): base-128, least significant group first, high bit set on
  every byte except the last.  Used for compact lengths (``length + 1``, 0 meaning null), tag numbers and
  tag sizes.  At most 5 bytes for a 32-bit value.
* **signed varint / varlong** (record batch v2 records, and our ``VARINT``/``VARLONG`` schema types): the
  zig-zag mapping ``(n << 1) ^ (n >> 63)`` turns small negatives into small unsigned numbers, which are then
  written as an unsigned varint (at most 5 bytes for varint, 10 for varlong).

Encoders produce *chunks*: ``bytes`` or a :class:`~kafka_zk.common.regions.FileRegion` (a slice of a log
segment that the server can hand to ``sendfile``).  :func:`chunks_to_bytes` materialises them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Union

from kafka_zk.common.regions import FileRegion
from kafka_zk.protocol.errors import ProtocolDecodeError

Chunk = Union[bytes, FileRegion]

INT8 = struct.Struct(">b")
INT16 = struct.Struct(">h")
INT32 = struct.Struct(">i")
INT64 = struct.Struct(">q")
UINT16 = struct.Struct(">H")
UINT32 = struct.Struct(">I")
FLOAT64 = struct.Struct(">d")

_MAX_UVARINT32_BYTES = 5
_MAX_UVARINT64_BYTES = 10


def encode_uvarint(value: int) -> bytes:
    """Unsigned varint of ``0 <= value < 2**64``.  Raises ``ValueError`` outside that range."""
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"unsigned varint out of range: {value}")
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_uvarint(
    buf: bytes | bytearray | memoryview, pos: int, max_bytes: int = _MAX_UVARINT32_BYTES
) -> tuple[int, int]:
    """Read an unsigned varint at ``pos``; return ``(value, new_pos)``.

    Raises :class:`ProtocolDecodeError` if the buffer ends inside the varint or it is longer than ``max_bytes``
    (5 for 32-bit quantities such as lengths and tags, 10 for 64-bit ones).
    """
    result = 0
    shift = 0
    end = len(buf)
    for _ in range(max_bytes):
        if pos >= end:
            raise ProtocolDecodeError("buffer ends inside a varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
    raise ProtocolDecodeError(f"varint longer than {max_bytes} bytes")


def zigzag_encode(value: int) -> int:
    """Map a signed 64-bit integer to an unsigned one (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...)."""
    return (value << 1) ^ (value >> 63)


def zigzag_decode(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def encode_varint(value: int) -> bytes:
    """Zig-zag varint of a signed 32-bit integer.  Raises ``ValueError`` outside int32."""
    if not -(1 << 31) <= value < 1 << 31:
        raise ValueError(f"varint out of int32 range: {value}")
    return encode_uvarint(((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def decode_varint(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    raw, pos = decode_uvarint(buf, pos, _MAX_UVARINT32_BYTES)
    if raw >= 1 << 32:
        raise ProtocolDecodeError("varint out of int32 range")
    return zigzag_decode(raw), pos


def encode_varlong(value: int) -> bytes:
    """Zig-zag varlong of a signed 64-bit integer.  Raises ``ValueError`` outside int64."""
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError(f"varlong out of int64 range: {value}")
    return encode_uvarint(zigzag_encode(value) & 0xFFFFFFFFFFFFFFFF)


def decode_varlong(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    raw, pos = decode_uvarint(buf, pos, _MAX_UVARINT64_BYTES)
    if raw >= 1 << 64:
        raise ProtocolDecodeError("varlong out of int64 range")
    return zigzag_decode(raw), pos


def chunks_to_bytes(chunks: Iterable[Chunk]) -> bytes:
    """Join chunks into one ``bytes``, reading file regions (tests, our client, the non-sendfile path)."""
    return b"".join(c.read() if isinstance(c, FileRegion) else c for c in chunks)
