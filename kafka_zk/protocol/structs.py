"""Classes for decoded messages: one ``__slots__`` class per struct name, shared by all versions.

A struct class has one slot per field that exists in *any* version, plus ``_unknown_tags`` (tagged fields
the decoder did not know, kept as ``(tag, bytes)`` pairs so re-encoding is byte-exact).  The constructor
takes keyword arguments only; a field that is not given gets its declared default, so a handler builds a
response without caring which fields the negotiated version carries::

    resp = ProduceResponse(responses=[ProduceResponse.TopicProduceResponse(name="t", partition_responses=[])])

Lists and nested structs get a fresh default per instance.  The constructor is generated code (like
``collections.namedtuple``), so it costs no more than a hand-written one.  Decoders bypass it and set the
slots directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kafka_zk.protocol.schema import Struct

_MISSING: Any = object()


class _StructMeta(type):
    if TYPE_CHECKING:
        # Nested struct classes are attached to the message class at runtime (``FetchResponse.PartitionData``).
        def __getattr__(cls, name: str) -> Any: ...


class StructObject(metaclass=_StructMeta):
    """Base class of generated struct classes: equality by value, a readable ``repr``, ``to_dict()``."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _decl: Struct

    if TYPE_CHECKING:
        _unknown_tags: Any

        def __init__(self, **fields: Any) -> None: ...

        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        for name in self._fields:
            if getattr(self, name) != getattr(other, name):
                return False
        return list(self._unknown_tags) == list(other._unknown_tags)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={_short(getattr(self, name))}" for name in self._fields)
        return f"{type(self).__name__}({parts})"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (dicts, lists, scalars; bytes-like values as ``bytes``) for logging and JSON tools."""
        return {name: _plain(getattr(self, name)) for name in self._fields}


def _short(value: Any) -> str:
    if isinstance(value, memoryview):
        return f"<{value.nbytes} bytes>"
    if isinstance(value, (bytes, bytearray)) and len(value) > 32:
        return f"<{len(value)} bytes>"
    return repr(value)


def _plain(value: Any) -> Any:
    if isinstance(value, StructObject):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (memoryview, bytearray)):
        return bytes(value)
    return value


def make_struct_class(decl: Struct) -> type[StructObject]:
    """Generate the class for ``decl`` (its name, slots, keyword constructor with defaults)."""
    names = tuple(f.name for f in decl.fields)
    namespace: dict[str, Any] = {"_MISSING": _MISSING}
    params: list[str] = []
    body: list[str] = []
    for i, f in enumerate(decl.fields):
        factory = f.default_factory()
        if f.has_default or not _is_mutable_default(f):
            namespace[f"_d{i}"] = factory()
            params.append(f"{f.name}=_d{i}")
            body.append(f"    self.{f.name} = {f.name}")
        else:
            namespace[f"_f{i}"] = factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    self.{f.name} = _f{i}() if {f.name} is _MISSING else {f.name}")
    body.append("    self._unknown_tags = ()")
    signature = "self, *, " + ", ".join(params) if params else "self"
    source = f"def __init__({signature}):\n" + "\n".join(body) + "\n"
    exec(compile(source, f"<struct {decl.name}>", "exec"), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{decl.name}.__init__"
    cls = type(
        decl.name,
        (StructObject,),
        {"__slots__": names + ("_unknown_tags",), "__init__": init, "_fields": names, "_decl": decl,
         "__module__": "kafka_zk.protocol.messages"},
    )
    return cls


def _is_mutable_default(field: Any) -> bool:
    from kafka_zk.protocol.schema import Array, Struct

    return isinstance(field.type, (Array, Struct))
