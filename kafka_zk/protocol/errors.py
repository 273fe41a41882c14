"""Exceptions raised by the sans-I/O protocol layer.

Everything the codecs raise for bad input derives from :class:`ProtocolError`, so the network layer needs one
``except`` clause to turn any malformed frame into "answer with an error or close the connection" — never
into a dead broker.  Low-level failures (``struct.error``, ``IndexError``, ``UnicodeDecodeError``) are
caught inside the codecs and re-raised as :class:`ProtocolDecodeError` with the message name and version.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class of every error raised by :mod:`kafka_zk.protocol`."""


class ProtocolDecodeError(ProtocolError):
    """A frame, header or body could not be decoded (truncated, trailing bytes, bad length, bad UTF-8)."""


class ProtocolEncodeError(ProtocolError):
    """An object could not be encoded at the requested version (wrong type, out of range, null not allowed).

    ``path`` names the offending field, e.g. ``"ProduceResponse.responses[0].partition_responses[1].index"``,
    when it could be determined.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class UnsupportedVersionError(ProtocolError):
    """An API key we do not declare, or a version outside the declared range of that API."""

    def __init__(self, api_key: int, version: int | None, message: str) -> None:
        super().__init__(message)
        self.api_key = api_key
        self.version = version


class FrameTooLarge(ProtocolError):
    """A frame's size prefix is negative or above the configured maximum (``socket.request.max.bytes``).

    ``frames`` holds the complete frames that preceded the bad size in the same input, so a server can
    still answer them before it closes the connection.
    """

    def __init__(self, size: int, max_size: int, frames: list[memoryview] | None = None) -> None:
        what = "negative" if size < 0 else f"larger than the maximum of {max_size} bytes"
        super().__init__(f"frame size {size} is {what}")
        self.size = size
        self.max_size = max_size
        self.frames: list[memoryview] = frames or []
