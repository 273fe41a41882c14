"""Compression codecs for record batches, keyed by the codec id in bits 0–2 of the batch attributes.

A compressed v2 batch keeps its 61-byte header plain and compresses only the records section, as one
blob. The codecs and the exact framings Kafka's clients use:

* **gzip (1)** — a gzip stream (Java's ``GZIPOutputStream``). Always available (stdlib ``zlib``).
* **snappy (2)** — two framings exist in the wild. The Java client and kafka-python/aiokafka write
  snappy-java's *xerial* framing: a 16-byte header (``0x82 'SNAPPY' 0x00``, int32 version, int32
  compat) followed by blocks of ``int32 length + raw snappy``; librdkafka writes *raw* snappy. We decode
  both (detected by the magic) and encode xerial, like the Java client.
* **lz4 (3)** — the standard LZ4 frame format with independent 64 KiB blocks, no block checksums and no
  content size: what Kafka's ``KafkaLZ4BlockOutputStream`` writes for magic 1+ (magic 0's broken header
  checksum does not concern v2 batches).
* **zstd (4)** — a zstd frame (content size optional; some writers stream without it, so decoding uses a
  streaming reader across frames).

snappy, lz4 and zstd need their optional packages (``python-snappy``, ``lz4``, ``zstandard``); a codec
whose package is missing is absent from :data:`CODECS` and :func:`get_codec` raises
``KafkaError(UNSUPPORTED_COMPRESSION_TYPE)``. A broker that stores batches verbatim never decompresses;
reading records (compaction, timestamp lookups, tests) does.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import Callable

from kafka_zk.common.errors import CorruptRecordError, ErrorCode, KafkaError

Buffer = bytes | bytearray | memoryview


class CompressionType(IntEnum):
    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4

    @property
    def config_name(self) -> str:
        """The name used by ``compression.type`` (``none`` is spelled ``uncompressed`` there)."""
        return "uncompressed" if self is CompressionType.NONE else self.name.lower()

    @classmethod
    def from_name(cls, name: str) -> "CompressionType":
        """Parse ``gzip``/``snappy``/``lz4``/``zstd``/``none``/``uncompressed`` (case-insensitive)."""
        n = name.strip().lower()
        if n in ("none", "uncompressed"):
            return cls.NONE
        try:
            return cls[n.upper()]
        except KeyError:
            raise ValueError(f"unknown compression type {name!r}: expected none, gzip, snappy, lz4 or zstd") from None


@dataclass(frozen=True)
class Codec:
    type: CompressionType
    compress: Callable[[Buffer], bytes]
    decompress: Callable[[Buffer], bytes]


# ----------------------------------------------------------------------------------------------- gzip


def _gzip_compress(data: Buffer) -> bytes:
    # mtime=0: identical input gives identical bytes (reproducible batches, stable CRCs in tests).
    return gzip.compress(bytes(data), compresslevel=6, mtime=0)


def _gzip_decompress(data: Buffer) -> bytes:
    # A gzip stream may hold several members; decompressobj walks them all.
    out = []
    buf = bytes(data)
    while buf:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(d.decompress(buf))
        if not d.eof:
            raise ValueError("truncated gzip stream")
        buf = d.unused_data
    return b"".join(out)


CODECS: dict[CompressionType, Codec] = {
    CompressionType.GZIP: Codec(CompressionType.GZIP, _gzip_compress, _gzip_decompress),
}

# --------------------------------------------------------------------------------------------- snappy

XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK = 32 * 1024  # snappy-java's default block size

try:
    import snappy as _snappy  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - depends on the environment
    _snappy = None

if _snappy is not None:
    _snappy_mod = _snappy

    def _snappy_compress(data: Buffer) -> bytes:
        raw = bytes(data)
        parts = [_XERIAL_HEADER]
        for i in range(0, len(raw), _XERIAL_BLOCK):
            block = _snappy_mod.compress(raw[i : i + _XERIAL_BLOCK])
            parts.append(struct.pack(">i", len(block)))
            parts.append(block)
        return b"".join(parts)

    def _snappy_decompress(data: Buffer) -> bytes:
        raw = bytes(data)
        if not raw.startswith(XERIAL_MAGIC) or len(raw) < 16:
            return bytes(_snappy_mod.decompress(raw))
        # The xerial version/compat words are not checked: some writers put them little-endian.
        out = []
        pos = 16
        while pos < len(raw):
            if pos + 4 > len(raw):
                raise ValueError("truncated xerial snappy block length")
            (n,) = struct.unpack_from(">i", raw, pos)
            pos += 4
            if n < 0 or pos + n > len(raw):
                raise ValueError("truncated xerial snappy block")
            out.append(_snappy_mod.decompress(raw[pos : pos + n]))
            pos += n
        return b"".join(out)

    CODECS[CompressionType.SNAPPY] = Codec(CompressionType.SNAPPY, _snappy_compress, _snappy_decompress)

# ------------------------------------------------------------------------------------------------ lz4

try:
    import lz4.frame as _lz4f  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover
    _lz4f = None

if _lz4f is not None:
    _lz4_mod = _lz4f

    def _lz4_compress(data: Buffer) -> bytes:
        return bytes(
            _lz4_mod.compress(
                bytes(data),
                block_size=_lz4_mod.BLOCKSIZE_MAX64KB,
                block_linked=False,
                content_checksum=False,
                block_checksum=False,
                store_size=False,
            )
        )

    def _lz4_decompress(data: Buffer) -> bytes:
        return bytes(_lz4_mod.decompress(bytes(data)))

    CODECS[CompressionType.LZ4] = Codec(CompressionType.LZ4, _lz4_compress, _lz4_decompress)

# ----------------------------------------------------------------------------------------------- zstd

try:
    import zstandard as _zstd
except ImportError:  # pragma: no cover
    _zstd = None  # type: ignore[assignment]

if _zstd is not None:
    _zstd_mod = _zstd
    _ZSTD_LEVEL = 3  # zstd's own default, as Kafka's

    def _zstd_compress(data: Buffer) -> bytes:
        return bytes(_zstd_mod.ZstdCompressor(level=_ZSTD_LEVEL).compress(bytes(data)))

    def _zstd_decompress(data: Buffer) -> bytes:
        with _zstd_mod.ZstdDecompressor().stream_reader(io.BytesIO(bytes(data)), read_across_frames=True) as r:
            return bytes(r.read())

    CODECS[CompressionType.ZSTD] = Codec(CompressionType.ZSTD, _zstd_compress, _zstd_decompress)


def available_codecs() -> list[CompressionType]:
    """Codecs usable in this process (NONE included)."""
    return [CompressionType.NONE, *sorted(CODECS)]


def get_codec(ctype: int) -> Codec:
    """The codec for a compression id; raises ``KafkaError(UNSUPPORTED_COMPRESSION_TYPE)`` when its package
    is not installed or the id is not a Kafka codec."""
    try:
        ct = CompressionType(ctype)
    except ValueError:
        raise KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, f"unknown compression codec id {ctype}") from None
    codec = CODECS.get(ct)
    if codec is None:
        raise KafkaError(
            ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
            f"{ct.config_name} compression is not available: install its Python package",
        )
    return codec


def compress(ctype: int, data: Buffer) -> bytes:
    if ctype == CompressionType.NONE:
        return bytes(data)
    return get_codec(ctype).compress(data)


def decompress(ctype: int, data: Buffer) -> bytes:
    """Decompress a records section; malformed input raises :class:`CorruptRecordError`."""
    if ctype == CompressionType.NONE:
        return bytes(data)
    codec = get_codec(ctype)
    try:
        return codec.decompress(data)
    except KafkaError:
        raise
    except Exception as e:  # each library raises its own error types
        raise CorruptRecordError(f"cannot decompress {codec.type.config_name} records: {e}") from None
