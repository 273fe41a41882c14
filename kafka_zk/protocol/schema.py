"""Message schemas declared as data: types, fields with version ranges, structs and messages.

Theory of operation
-------------------
A Kafka message (one request or response body of one API) is a tree of *structs*.  Every field carries the
range of message versions in which it exists; a field outside its range is simply not on the wire.  From a
*flexible* version on (KIP-482) the same declaration is written differently:

=================  ============================================  ==============================================
type               non-flexible version                          flexible version
=================  ============================================  ==============================================
string             int16 length, -1 = null, UTF-8                unsigned varint (length + 1), 0 = null
bytes / records    int32 length, -1 = null                       unsigned varint (length + 1), 0 = null
array              int32 count, -1 = null                        unsigned varint (count + 1), 0 = null
struct             its fields in order                           its fields, then a tagged-field section
=================  ============================================  ==============================================

Fixed-width integers, booleans (one byte, non-zero = true), float64 and uuid (16 bytes) look the same in both.
A *tagged field* exists only in flexible versions: it is left out of the positional layout and written in the
struct's tagged-field section (count, then per field: tag, size, payload — all unsigned varints except the
payload), and only when its value differs from its default.  Tags a decoder does not know are kept verbatim
(``_unknown_tags``) so a decode/encode round trip is byte-exact.

Declarations here are pure data.  :mod:`kafka_zk.protocol.structs` turns each struct into one ``__slots__``
class (per struct name, not per version); :mod:`kafka_zk.protocol.compiler` turns a (message, version) into
an encoder and a decoder function on first use, so the hot path does no per-field interpretation.

Version ranges are ``(first, last)`` tuples; ``last`` is ``None`` for "and every later version".
"""

from __future__ import annotations

import keyword
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Optional

from kafka_zk.protocol.errors import ProtocolDecodeError, UnsupportedVersionError
from kafka_zk.protocol.primitives import INT32 as _INT32
from kafka_zk.protocol.primitives import Chunk

if TYPE_CHECKING:
    from kafka_zk.protocol.structs import StructObject

VersionRange = tuple[int, Optional[int]]
ALL_VERSIONS: VersionRange = (0, None)
#: Short alias for declarations: "every version".
ALL = ALL_VERSIONS
ZERO_UUID = uuid.UUID(int=0)


def in_range(version: int, versions: VersionRange | None) -> bool:
    """Whether ``version`` lies in ``versions`` (``None`` = the empty range)."""
    if versions is None:
        return False
    first, last = versions
    return version >= first and (last is None or version <= last)


def format_range(versions: VersionRange | None) -> str:
    if versions is None:
        return "none"
    first, last = versions
    if last is None:
        return f"{first}+"
    return f"{first}" if first == last else f"{first}-{last}"


# --------------------------------------------------------------------------------------------------- types


class Type:
    """A wire type.  ``name`` is the type's name in Kafka's message specs (``int32``, ``[]int32``, ...)."""

    name: str = "?"

    def default(self) -> Any:
        """The value of a field of this type when the message or version does not set it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class Primitive(Type):
    """A fixed-width type that ``struct`` can pack (``fmt`` is its ``struct`` format character)."""

    def __init__(self, name: str, fmt: str, size: int, default: Any, lo: float, hi: float) -> None:
        self.name = name
        self.fmt = fmt
        self.size = size
        self._default = default
        self.lo = lo
        self.hi = hi

    def default(self) -> Any:
        return self._default


class _Variable(Type):
    """A type without a fixed width (strings, bytes, records, varints, uuid)."""

    def __init__(self, name: str, default: Any) -> None:
        self.name = name
        self._default = default

    def default(self) -> Any:
        return self._default


INT8 = Primitive("int8", "b", 1, 0, -(1 << 7), (1 << 7) - 1)
INT16 = Primitive("int16", "h", 2, 0, -(1 << 15), (1 << 15) - 1)
INT32 = Primitive("int32", "i", 4, 0, -(1 << 31), (1 << 31) - 1)
INT64 = Primitive("int64", "q", 8, 0, -(1 << 63), (1 << 63) - 1)
UINT16 = Primitive("uint16", "H", 2, 0, 0, (1 << 16) - 1)
UINT32 = Primitive("uint32", "I", 4, 0, 0, (1 << 32) - 1)
FLOAT64 = Primitive("float64", "d", 8, 0.0, float("-inf"), float("inf"))
BOOL = Primitive("bool", "?", 1, False, 0, 1)
VARINT = _Variable("varint", 0)
VARLONG = _Variable("varlong", 0)
UUID = _Variable("uuid", ZERO_UUID)
STRING = _Variable("string", "")
BYTES = _Variable("bytes", b"")
#: A record-batch payload.  Decodes to a zero-copy ``memoryview`` slice of the frame (or ``None``); encodes
#: ``bytes``, ``memoryview``, ``None`` or a ``FileRegion`` (sent with ``sendfile`` by the server).
RECORDS = _Variable("records", None)


class Array(Type):
    """A (possibly compact) array of ``element``; decodes to a ``list``."""

    def __init__(self, element: Type) -> None:
        if isinstance(element, Array):
            raise TypeError("arrays of arrays do not occur in Kafka messages and are not supported")
        self.element = element
        self.name = f"[]{element.name}"

    def default(self) -> Any:
        return []


class Field:
    """One field of a struct.

    ``versions``: the message versions in which the field exists.  ``nullable``: the versions in which it may
    be null (``None`` on the wire).  ``tag``: set for a tagged field (flexible versions only; written only when
    the value differs from the default).  ``default``: value used when the field is absent or not given;
    omitted, it is the type's default (0, ``""``, ``b""``, ``[]``, a fresh struct, ``None`` for records).
    """

    __slots__ = ("name", "type", "versions", "nullable", "tag", "tagged_versions", "_default", "has_default")

    def __init__(
        self,
        name: str,
        type: Type,
        versions: VersionRange = ALL_VERSIONS,
        *,
        nullable: VersionRange | None = None,
        tag: int | None = None,
        tagged_versions: VersionRange | None = None,
        default: Any = ...,
    ) -> None:
        if not name.isidentifier() or name.startswith("_") or keyword.iskeyword(name) or name == "self":
            raise ValueError(f"field name {name!r} is not usable as a public attribute and keyword argument")
        self.name = name
        self.type = type
        self.versions = versions
        self.nullable = nullable
        self.tag = tag
        self.tagged_versions = (tagged_versions or versions) if tag is not None else None
        self.has_default = default is not ...
        self._default = default
        if isinstance(type, Struct) and nullable is not None:
            raise TypeError(f"{name}: nullable struct fields are not supported")
        if isinstance(default, (list, dict, set, bytearray)):
            raise TypeError(f"{name}: give mutable defaults through the type, not as a shared object")

    def present(self, version: int) -> bool:
        return in_range(version, self.versions)

    def nullable_at(self, version: int) -> bool:
        return in_range(version, self.nullable)

    def tagged_at(self, version: int) -> bool:
        return in_range(version, self.tagged_versions)

    def default_factory(self) -> Callable[[], Any]:
        """A zero-argument callable producing this field's default (fresh for lists and structs)."""
        if self.has_default:
            value = self._default
            return lambda: value
        if isinstance(self.type, Array):
            return list
        if isinstance(self.type, Struct):
            struct = self.type
            return lambda: struct.cls()
        value = self.type.default()
        return lambda: value

    def default_value(self) -> Any:
        return self.default_factory()()

    def __repr__(self) -> str:
        extra = f", nullable={format_range(self.nullable)}" if self.nullable else ""
        if self.tag is not None:
            extra += f", tag={self.tag}"
        return f"Field({self.name!r}, {self.type.name}, {format_range(self.versions)}{extra})"


class Struct(Type):
    """A named group of fields.  Used as a field type directly or as an array element.

    The same ``Struct`` object may be referenced from several places of one message (Kafka's "common
    structs"); it maps to one class.  Two different declarations with one name in a message are an error.
    """

    def __init__(self, name: str, fields: Sequence[Field]) -> None:
        if not name.isidentifier() or not name[0].isupper():
            raise ValueError(f"struct name {name!r} must be a CamelCase identifier")
        self.name = name
        self.fields: tuple[Field, ...] = tuple(fields)
        seen: set[str] = set()
        for f in self.fields:
            if f.name in seen:
                raise ValueError(f"{name}: duplicate field {f.name!r}")
            seen.add(f.name)
        self._cls: type[StructObject] | None = None

    @property
    def cls(self) -> type[StructObject]:
        """The generated ``__slots__`` class for this struct (created on first access)."""
        if self._cls is None:
            from kafka_zk.protocol.structs import make_struct_class

            self._cls = make_struct_class(self)
        return self._cls

    def default(self) -> Any:
        return self.cls()

    def walk(self) -> Iterator[Struct]:
        """This struct and every struct below it, each once, depth first."""
        seen: set[int] = set()
        stack: list[Struct] = [self]
        while stack:
            s = stack.pop()
            if id(s) in seen:
                continue
            seen.add(id(s))
            yield s
            for f in reversed(s.fields):
                t = f.type.element if isinstance(f.type, Array) else f.type
                if isinstance(t, Struct):
                    stack.append(t)


class Message:
    """One request or response body of one API, at every version we declare.

    ``kind`` ("request"/"response") follows from the name's suffix.  ``valid_versions``: the versions we can
    encode and decode.  ``flexible_versions``: from which version on the KIP-482 encoding applies (``None``
    if never, within our range).  The top-level struct has the
    message's own name; its class is :attr:`cls`, and every nested struct class is reachable as an attribute
    of it (``FetchResponse.PartitionData``).
    """

    def __init__(
        self,
        name: str,
        api_key: int,
        valid_versions: tuple[int, int],
        flexible_versions: VersionRange | None,
        fields: Sequence[Field],
        *,
        kind: str | None = None,
    ) -> None:
        if kind is None:
            kind = "request" if name.endswith("Request") else "response" if name.endswith("Response") else ""
        if kind not in ("request", "response"):
            raise ValueError(f"{name}: name must end in Request/Response, or pass kind='request'/'response'")
        self.name = name
        self.api_key = api_key
        self.kind = kind
        self.valid_versions = valid_versions
        self.flexible_versions = flexible_versions
        self.struct = Struct(name, fields)
        self._check_names()
        self.cls = self.struct.cls
        for s in self.struct.walk():
            if s is not self.struct:
                setattr(self.cls, s.name, s.cls)
        self._encoders: dict[int, Callable[[Any, bytearray, list[Chunk]], None]] = {}
        self._decoders: dict[int, Callable[[memoryview, int], tuple[Any, int]]] = {}

    def _check_names(self) -> None:
        by_name: dict[str, Struct] = {}
        for s in self.struct.walk():
            other = by_name.setdefault(s.name, s)
            if other is not s:
                raise ValueError(f"{self.name}: two different structs named {s.name!r}")
            for f in s.fields:
                if f.tag is not None and self.flexible_versions is None:
                    raise ValueError(f"{self.name}.{f.name}: tagged field in a message without flexible versions")

    def versions(self) -> range:
        return range(self.valid_versions[0], self.valid_versions[1] + 1)

    def is_flexible(self, version: int) -> bool:
        return in_range(version, self.flexible_versions)

    def check_version(self, version: int) -> None:
        lo, hi = self.valid_versions
        if not lo <= version <= hi:
            raise UnsupportedVersionError(
                self.api_key, version, f"{self.name} version {version} is outside the declared range {lo}-{hi}"
            )

    # ------------------------------------------------------------------ codecs

    def encoder(self, version: int) -> Callable[[Any, bytearray, list[Chunk]], None]:
        """The compiled encoder ``fn(obj, buf, chunks)``: appends to ``buf``, flushing it to ``chunks`` before
        each file region.  Raises :class:`UnsupportedVersionError` outside :attr:`valid_versions`."""
        fn = self._encoders.get(version)
        if fn is None:
            self.check_version(version)
            from kafka_zk.protocol.compiler import compile_encoder

            fn = self._encoders[version] = compile_encoder(self, version)
        return fn

    def decoder(self, version: int) -> Callable[[memoryview, int], tuple[Any, int]]:
        """The compiled decoder ``fn(buf, pos) -> (obj, end_pos)``.  Raises :class:`UnsupportedVersionError`."""
        fn = self._decoders.get(version)
        if fn is None:
            self.check_version(version)
            from kafka_zk.protocol.compiler import compile_decoder

            fn = self._decoders[version] = compile_decoder(self, version)
        return fn

    def encode(self, version: int, obj: Any, prefix: bytes = b"", *, sized: bool = False) -> list[Chunk]:
        """Encode ``obj`` (an instance of :attr:`cls`) at ``version`` into chunks, after ``prefix``.

        Adjacent bytes are coalesced: the result alternates ``bytes`` and ``FileRegion``.  With ``sized`` the
        chunks start with the int32 size of everything that follows (a complete frame when ``prefix`` is the
        header).  Raises :class:`~kafka_zk.protocol.errors.ProtocolEncodeError` naming the bad field.
        """
        buf = bytearray(b"\x00\x00\x00\x00" + prefix if sized else prefix)
        chunks: list[Chunk] = []
        self.encoder(version)(obj, buf, chunks)
        if not chunks:
            if sized:
                buf[0:4] = _INT32.pack(len(buf) - 4)
            return [bytes(buf)]
        if buf:
            chunks.append(bytes(buf))
        if sized:
            first = chunks[0]
            assert isinstance(first, bytes)
            chunks[0] = _INT32.pack(sum(len(c) for c in chunks) - 4) + first[4:]
        return chunks

    def encode_to_bytes(self, version: int, obj: Any) -> bytes:
        """Encode and read any file regions: one ``bytes`` (tests, our client)."""
        from kafka_zk.protocol.primitives import chunks_to_bytes

        return chunks_to_bytes(self.encode(version, obj))

    def decode(self, version: int, body: bytes | bytearray | memoryview, *, allow_trailing: bool = False) -> Any:
        """Decode a whole body.  ``RECORDS`` fields become slices of ``body`` (keep it alive and unchanged).

        Raises :class:`ProtocolDecodeError` on malformed input, including trailing bytes unless
        ``allow_trailing``, and :class:`UnsupportedVersionError` for a version outside the declared range.
        """
        fn = self.decoder(version)
        buf = body if isinstance(body, memoryview) else memoryview(body)
        if buf.format != "B" or buf.ndim != 1:
            buf = buf.cast("B")
        obj, end = fn(buf, 0)
        if end != len(buf) and not allow_trailing:
            raise ProtocolDecodeError(f"{self.name} v{version}: {len(buf) - end} unexpected trailing bytes")
        return obj

    def __repr__(self) -> str:
        return f"<Message {self.name} key={self.api_key} versions={format_range(self.valid_versions)}>"
