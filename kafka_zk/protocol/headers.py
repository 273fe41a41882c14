"""Request and response headers.

Theory of operation
-------------------
A frame is ``int32 size`` + header + body.  Which header a message uses follows from whether the API's
version is flexible (:func:`kafka_zk.protocol.apis.request_header_version`):

=========  ===================================================================================================
request    v1: int16 api_key, int16 api_version, int32 correlation_id, nullable string client_id (int16 length)
           v2: v1 + a tagged-field section.  ``client_id`` **keeps its int16 length** in v2 — it is not a
           compact string (librdkafka, Kafka's ``RequestHeader.json``: client id has no flexible versions).
           v0: no client_id (only ControlledShutdown v0, which nobody sends any more).
response   v0: int32 correlation_id.  v1: v0 + a tagged-field section.
           ApiVersions responses always use v0, whatever the body version (clients parse them before they
           know whether the broker speaks flexible versions).
=========  ===================================================================================================

The first 8 bytes (key, version, correlation id) have the same layout in every request header version;
:func:`peek_request_header` reads only those, which is all a broker may look at before it knows that it
understands the request (an ApiVersions request at an unknown version is answered from them alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka_zk.protocol.errors import ProtocolDecodeError
from kafka_zk.protocol.primitives import INT16, INT32, decode_uvarint, encode_uvarint

_PEEK = __import__("struct").Struct(">hhi")


def peek_request_header(frame: bytes | bytearray | memoryview) -> tuple[int, int, int]:
    """``(api_key, api_version, correlation_id)`` from the first 8 bytes; raises :class:`ProtocolDecodeError`."""
    if len(frame) < 8:
        raise ProtocolDecodeError(f"request of {len(frame)} bytes is too short for a header")
    api_key, api_version, correlation_id = _PEEK.unpack_from(frame, 0)
    return api_key, api_version, correlation_id


def _read_tags(buf: bytes | bytearray | memoryview, pos: int) -> tuple[tuple[tuple[int, bytes], ...], int]:
    count, pos = decode_uvarint(buf, pos)
    tags: list[tuple[int, bytes]] = []
    for _ in range(count):
        tag, pos = decode_uvarint(buf, pos)
        size, pos = decode_uvarint(buf, pos)
        if pos + size > len(buf):
            raise ProtocolDecodeError("header tagged field runs past the end of the frame")
        tags.append((tag, bytes(buf[pos:pos + size])))
        pos += size
    return tuple(tags), pos


def _write_tags(tags: tuple[tuple[int, bytes], ...]) -> bytes:
    out = bytearray(encode_uvarint(len(tags)))
    for tag, payload in sorted(tags):
        out += encode_uvarint(tag)
        out += encode_uvarint(len(payload))
        out += payload
    return bytes(out)


@dataclass(slots=True)
class RequestHeader:
    """A decoded request header.  ``unknown_tags`` keeps header tagged fields (none are defined today)."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None = None
    unknown_tags: tuple[tuple[int, bytes], ...] = field(default=())

    @classmethod
    def decode(
        cls, frame: bytes | bytearray | memoryview, header_version: int | None = None
    ) -> tuple[RequestHeader, int]:
        """Decode the header at the start of ``frame``; return it and its length (where the body starts).

        ``header_version`` defaults to the one our declarations imply for the frame's api key and version
        (v1 for an api key we do not declare).  Raises :class:`ProtocolDecodeError` on a truncated header or
        bad client id.
        """
        api_key, api_version, correlation_id = peek_request_header(frame)
        if header_version is None:
            from kafka_zk.protocol.apis import request_header_version

            header_version = request_header_version(api_key, api_version)
        pos = 8
        client_id: str | None = None
        tags: tuple[tuple[int, bytes], ...] = ()
        if header_version >= 1:
            if len(frame) < pos + 2:
                raise ProtocolDecodeError("request header ends before the client id")
            (n,) = INT16.unpack_from(frame, pos)
            pos += 2
            if n >= 0:
                if pos + n > len(frame):
                    raise ProtocolDecodeError("client id runs past the end of the frame")
                try:
                    client_id = str(frame[pos:pos + n], "utf-8")
                except UnicodeDecodeError as exc:
                    raise ProtocolDecodeError(f"client id is not UTF-8: {exc}") from None
                pos += n
            elif n != -1:
                raise ProtocolDecodeError(f"invalid client id length {n}")
        if header_version >= 2:
            tags, pos = _read_tags(frame, pos)
        return cls(api_key, api_version, correlation_id, client_id, tags), pos

    def encode(self, header_version: int | None = None) -> bytes:
        """Encode at ``header_version`` (default: implied by the api key and version)."""
        if header_version is None:
            from kafka_zk.protocol.apis import request_header_version

            header_version = request_header_version(self.api_key, self.api_version)
        out = bytearray(_PEEK.pack(self.api_key, self.api_version, self.correlation_id))
        if header_version >= 1:
            if self.client_id is None:
                out += b"\xff\xff"
            else:
                raw = self.client_id.encode("utf-8")
                out += INT16.pack(len(raw))
                out += raw
        if header_version >= 2:
            out += _write_tags(self.unknown_tags)
        return bytes(out)


def encode_response_header(correlation_id: int, header_version: int) -> bytes:
    """Response header v0 (correlation id) or v1 (plus an empty tagged-field section)."""
    if header_version == 0:
        return INT32.pack(correlation_id)
    return INT32.pack(correlation_id) + b"\x00"


def decode_response_header(frame: bytes | bytearray | memoryview, header_version: int) -> tuple[int, int]:
    """``(correlation_id, header_length)``; header tagged fields are skipped.  Raises ProtocolDecodeError."""
    if len(frame) < 4:
        raise ProtocolDecodeError(f"response of {len(frame)} bytes is too short for a header")
    (correlation_id,) = INT32.unpack_from(frame, 0)
    pos = 4
    if header_version >= 1:
        _, pos = _read_tags(frame, pos)
    return correlation_id, pos
