"""Size-prefixed framing: every Kafka request and response is ``int32 size`` followed by ``size`` bytes.

:class:`FrameDecoder` is the sans-I/O reader: feed it whatever the socket delivered and it returns the
complete frames, keeping a partial one for the next call.  The size is checked before any memory is
reserved for the frame (a 100 MiB ``socket.request.max.bytes`` cap is Kafka's defence against a client — or
a TLS handshake sent to a plaintext port — announcing a 1 GiB "frame"); a bad size raises
:class:`FrameTooLarge` and the connection must be closed, since the stream can no longer be parsed.

Each returned frame is a writable ``memoryview`` over its own ``bytearray``, filled in place as data arrives (a 1 MiB produce
request is copied once, not re-joined on every read), so it stays valid however long the caller keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence

from kafka_zk.common.regions import FileRegion
from kafka_zk.protocol.errors import FrameTooLarge
from kafka_zk.protocol.primitives import INT32, Chunk

#: Kafka's ``socket.request.max.bytes`` default (100 MiB).
DEFAULT_MAX_FRAME_SIZE = 100 * 1024 * 1024


class FrameDecoder:
    """Splits a byte stream into frames (without their size prefix).

    ``max_size`` bounds the size prefix; a larger or negative one raises :class:`FrameTooLarge` from
    :meth:`feed` (carrying the frames completed before it in ``exc.frames``), after which the stream cannot be
    parsed any further: close the connection.
    """

    __slots__ = ("max_size", "_size_buf", "_frame", "_filled")

    def __init__(self, max_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.max_size = max_size
        self._size_buf = bytearray()
        self._frame: bytearray | None = None
        self._filled = 0

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a complete frame."""
        return len(self._size_buf) + (self._filled if self._frame is not None else 0)

    def feed(self, data: bytes | bytearray | memoryview) -> list[memoryview]:
        """Consume ``data``; return the frames it completed (possibly none).  Raises FrameTooLarge."""
        frames: list[memoryview] = []
        mv = data if isinstance(data, memoryview) else memoryview(data)
        end = len(mv)
        pos = 0
        while pos < end:
            frame = self._frame
            if frame is None:
                if not self._size_buf and end - pos >= 4:
                    (size,) = INT32.unpack_from(mv, pos)
                    pos += 4
                else:
                    take = min(4 - len(self._size_buf), end - pos)
                    self._size_buf += mv[pos:pos + take]
                    pos += take
                    if len(self._size_buf) < 4:
                        break
                    (size,) = INT32.unpack(self._size_buf)
                    self._size_buf.clear()
                if size < 0 or size > self.max_size:
                    raise FrameTooLarge(size, self.max_size, frames)
                if end - pos >= size:
                    # Whole frame available: copy it out in one go, into a *writable* buffer: the log stamps
                    # base offsets and leader epochs into produced batches in place.
                    frames.append(memoryview(bytearray(mv[pos:pos + size])))
                    pos += size
                    continue
                frame = self._frame = bytearray(size)
                self._filled = 0
            take = min(len(frame) - self._filled, end - pos)
            frame[self._filled:self._filled + take] = mv[pos:pos + take]
            self._filled += take
            pos += take
            if self._filled == len(frame):
                frames.append(memoryview(frame))
                self._frame = None
        return frames


def frame(chunks: Sequence[Chunk]) -> list[Chunk]:
    """Prefix ``chunks`` with their total size (coalesced into the first ``bytes`` chunk)."""
    total = sum(len(c) for c in chunks)
    prefix = INT32.pack(total)
    if chunks and not isinstance(chunks[0], FileRegion):
        return [prefix + chunks[0], *chunks[1:]]
    return [prefix, *chunks]
