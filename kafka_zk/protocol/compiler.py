"""Compile a (message, version) declaration into one encoder and one decoder function.

Why generated code: the broker decodes every Produce request and encodes every Fetch response; walking the
declaration field by field at run time would cost a dictionary lookup, a version test and a type dispatch
per field.  Instead, on the first use of a version we emit straight-line Python for it (as
``collections.namedtuple`` and ``dataclasses`` do), ``exec`` it once and cache the functions on the
:class:`~kafka_zk.protocol.schema.Message`:

* consecutive fixed-width fields are packed/unpacked with one precompiled ``struct.Struct``;
* fields absent at the version cost nothing on the wire and one slot assignment on decode;
* ``RECORDS`` decode to a ``memoryview`` slice (no copy); a ``FileRegion`` value flushes the byte buffer
  into the chunk list and is appended as its own chunk, so the server can ``sendfile`` it;
* the flexible/non-flexible choice (compact lengths, tagged-field sections) is made at compile time.

Error handling stays off the hot path: generated code lets ``struct.error``/``IndexError``/... escape and the
top-level wrapper turns them into :class:`ProtocolDecodeError` (with message name and version), or — for
encoding — re-walks the object with :func:`diagnose` to name the offending field in a
:class:`ProtocolEncodeError`.  Lengths and counts are checked against the remaining bytes before anything is
allocated, so a hostile count cannot exhaust memory.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from typing import Any

from kafka_zk.common.regions import FileRegion
from kafka_zk.protocol.errors import ProtocolDecodeError, ProtocolEncodeError
from kafka_zk.protocol.primitives import (
    Chunk,
    decode_uvarint,
    decode_varint,
    decode_varlong,
    encode_uvarint,
    encode_varint,
    encode_varlong,
)
from kafka_zk.protocol.schema import (
    BYTES,
    RECORDS,
    STRING,
    UUID,
    VARINT,
    VARLONG,
    Array,
    Field,
    Message,
    Primitive,
    Struct,
    Type,
    format_range,
)

MAX_STRING_BYTES = 0x7FFF

_DECODE_ERRORS = (struct.error, IndexError, UnicodeDecodeError, ValueError, OverflowError, TypeError)
_ENCODE_ERRORS = (struct.error, TypeError, AttributeError, ValueError, OverflowError, IndexError, UnicodeEncodeError)


def _write_tags(buf: bytearray, tags: list[tuple[int, bytes]]) -> None:
    """Write a tagged-field section: count, then (tag, size, payload) sorted by tag."""
    tags.sort(key=lambda t: t[0])
    buf += encode_uvarint(len(tags))
    last = -1
    for tag, payload in tags:
        if tag == last:
            raise ProtocolEncodeError(f"tag {tag} appears twice")
        last = tag
        buf += encode_uvarint(tag)
        buf += encode_uvarint(len(payload))
        buf += payload


def _fail(path: str, problem: str) -> ProtocolDecodeError:
    return ProtocolDecodeError(f"{path}: {problem}")


def _uvarint(buf: memoryview, pos: int) -> tuple[int, int]:
    return decode_uvarint(buf, pos)


_BASE_NAMESPACE: dict[str, Any] = {
    "_new": object.__new__,
    "_struct": struct,
    "_unpack_from": struct.unpack_from,
    "_pack": struct.pack,
    "_FileRegion": FileRegion,
    "_UUID": uuid.UUID,
    "_memoryview": memoryview,
    "_uvarint": _uvarint,
    "_enc_uvarint": encode_uvarint,
    "_varint": decode_varint,
    "_varlong": decode_varlong,
    "_enc_varint": encode_varint,
    "_enc_varlong": encode_varlong,
    "_write_tags": _write_tags,
    "_fail": _fail,
    "_EncodeError": ProtocolEncodeError,
    "_MAXS": MAX_STRING_BYTES,
}


class _Source:
    """Accumulates generated lines, constants and unique local names for one compilation."""

    def __init__(self, message: Message, version: int) -> None:
        self.message = message
        self.version = version
        self.flexible = message.is_flexible(version)
        self.lines: list[str] = []
        self.ns: dict[str, Any] = dict(_BASE_NAMESPACE)
        self._consts: dict[tuple[str, Any], str] = {}
        self._counter = 0
        self.done: set[str] = set()

    def var(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}{self._counter}"

    def const(self, kind: str, key: Any, value: Any) -> str:
        name = self._consts.get((kind, key))
        if name is None:
            name = self._consts[(kind, key)] = self.var(f"_{kind}")
            self.ns[name] = value
        return name

    def packer(self, fmt: str) -> str:
        return self.const("P", fmt, struct.Struct(">" + fmt).pack)

    def unpacker(self, fmt: str) -> str:
        return self.const("U", fmt, struct.Struct(">" + fmt).unpack_from)

    def build(self, entry: str) -> Callable[..., Any]:
        source = "\n".join(self.lines) + "\n"
        code = compile(source, f"<{self.message.name} v{self.version}>", "exec")
        exec(code, self.ns)
        fn: Callable[..., Any] = self.ns[entry]
        return fn


def _present_fields(struct_decl: Struct, version: int) -> list[Field]:
    return [f for f in struct_decl.fields if f.present(version)]


def _positional_groups(fields: list[Field], version: int, flexible: bool) -> list[list[Field] | Field]:
    """Split the positional (untagged) fields into runs of fixed-width primitives and single others."""
    out: list[list[Field] | Field] = []
    run: list[Field] = []
    for f in fields:
        if flexible and f.tagged_at(version):
            continue
        if isinstance(f.type, Primitive):
            run.append(f)
            continue
        if run:
            out.append(run)
            run = []
        out.append(f)
    if run:
        out.append(run)
    return out


# ------------------------------------------------------------------------------------------------ encoder


def compile_encoder(message: Message, version: int) -> Callable[[Any, bytearray, list[Chunk]], None]:
    """Return ``encode(obj, buf, chunks)`` for ``message`` at ``version`` (see module docstring)."""
    src = _Source(message, version)
    top = _emit_struct_encoder(src, message.struct)
    src.lines += [
        "def encode(o, buf, chunks):",
        "    try:",
        f"        {top}(o, buf, chunks)",
        "    except _EncodeError:",
        "        raise",
        "    except _ENCODE_ERRORS as exc:",
        "        raise _diagnosed(o, exc) from exc",
    ]
    src.ns["_ENCODE_ERRORS"] = _ENCODE_ERRORS
    src.ns["_diagnosed"] = lambda obj, exc: _diagnosed_error(message, version, obj, exc)
    return src.build("encode")


def _emit_struct_encoder(src: _Source, decl: Struct) -> str:
    fname = f"e_{decl.name}"
    if fname in src.done:
        return fname
    src.done.add(fname)
    v = src.version
    fields = _present_fields(decl, v)
    body: list[str] = []
    for group in _positional_groups(fields, v, src.flexible):
        if isinstance(group, list):
            fmt = "".join(f.type.fmt for f in group)  # type: ignore[attr-defined]
            args = ", ".join(f"o.{f.name}" for f in group)
            body.append(f"    buf += {src.packer(fmt)}({args})")
        else:
            body += _emit_encode_value(
                src, group.type, f"o.{group.name}", group.nullable_at(v), "buf", "chunks", "    "
            )
    if src.flexible:
        body += _emit_tag_section_encoder(src, decl, fields)
    if not body:
        body.append("    pass")
    src.lines += [f"def {fname}(o, buf, chunks):"] + body + [""]
    return fname


def _emit_tag_section_encoder(src: _Source, decl: Struct, fields: list[Field]) -> list[str]:
    v = src.version
    tagged = [f for f in fields if f.tagged_at(v)]
    if not tagged:
        return ["    if o._unknown_tags:", "        _write_tags(buf, list(o._unknown_tags))", "    else:",
                "        buf.append(0)"]
    lines = ["    tags = list(o._unknown_tags)"]
    for f in tagged:
        val = src.var("t")
        lines.append(f"    {val} = o.{f.name}")
        default = f.default_value()
        if default is None:
            cond = f"{val} is not None"
        elif isinstance(f.type, Array) and not f.has_default:
            cond = f"{val}"
        else:
            cond = f"{val} != {src.const('D', ('tag', decl.name, f.name), default)}"
        tb, tc = src.var("tb"), src.var("tc")
        lines += [f"    if {cond}:", f"        {tb} = bytearray()", f"        {tc} = []"]
        lines += _emit_encode_value(src, f.type, val, f.nullable_at(v), tb, tc, "        ")
        lines += [
            f"        if {tc}:",
            f"            raise _EncodeError('a file region cannot be sent in tagged field {decl.name}.{f.name}')",
            f"        tags.append(({f.tag}, bytes({tb})))",
        ]
    lines += ["    if tags:", "        _write_tags(buf, tags)", "    else:", "        buf.append(0)"]
    return lines


def _emit_length(src: _Source, n: str, buf: str, ind: str, wide: bool) -> list[str]:
    """Length/count prefix: compact (uvarint n+1) in flexible versions, else int16 (strings) or int32."""
    if src.flexible:
        return [f"{ind}if {n} < 127:", f"{ind}    {buf}.append({n} + 1)", f"{ind}else:",
                f"{ind}    {buf} += _enc_uvarint({n} + 1)"]
    return [f"{ind}{buf} += {src.packer('i' if wide else 'h')}({n})"]


def _null_marker(src: _Source, wide: bool) -> str:
    if src.flexible:
        return "b'\\x00'"
    return "b'\\xff\\xff\\xff\\xff'" if wide else "b'\\xff\\xff'"


def _emit_encode_value(
    src: _Source, t: Type, expr: str, nullable: bool, buf: str, chunks: str, ind: str
) -> list[str]:
    """Lines that append the encoding of ``expr`` (of type ``t``) to ``buf``."""
    if isinstance(t, Primitive):
        return [f"{ind}{buf} += {src.packer(t.fmt)}({expr})"]
    if isinstance(t, Struct):
        return [f"{ind}{_emit_struct_encoder(src, t)}({expr}, {buf}, {chunks})"]
    x = src.var("x")
    lines = [f"{ind}{x} = {expr}"]
    inner = ind
    if nullable:
        wide = t is not STRING
        lines += [f"{ind}if {x} is None:", f"{ind}    {buf} += {_null_marker(src, wide)}", f"{ind}else:"]
        inner = ind + "    "
    if t is STRING:
        b, n = src.var("b"), src.var("n")
        lines += [f"{inner}{b} = {x}.encode('utf-8')", f"{inner}{n} = len({b})",
                  f"{inner}if {n} > _MAXS:",
                  f"{inner}    raise ValueError(f'string of {{{n}}} bytes is longer than 32767')"]
        lines += _emit_length(src, n, buf, inner, wide=False)
        lines.append(f"{inner}{buf} += {b}")
    elif t is BYTES:
        n = src.var("n")
        lines.append(f"{inner}{n} = {x}.nbytes if {x}.__class__ is _memoryview else len({x})")
        lines += _emit_length(src, n, buf, inner, wide=True)
        lines.append(f"{inner}{buf} += {x}")
    elif t is RECORDS:
        n = src.var("n")
        lines += [f"{inner}if {x}.__class__ is _FileRegion:"]
        lines += _emit_length(src, f"{x}.size", buf, inner + "    ", wide=True)
        lines += [f"{inner}    {chunks}.append(bytes({buf}))", f"{inner}    {buf}.clear()",
                  f"{inner}    {chunks}.append({x})", f"{inner}else:",
                  f"{inner}    {n} = {x}.nbytes if {x}.__class__ is _memoryview else len({x})"]
        lines += _emit_length(src, n, buf, inner + "    ", wide=True)
        lines.append(f"{inner}    {buf} += {x}")
    elif t is UUID:
        lines.append(f"{inner}{buf} += {x}.bytes")
    elif t is VARINT:
        lines.append(f"{inner}{buf} += _enc_varint({x})")
    elif t is VARLONG:
        lines.append(f"{inner}{buf} += _enc_varlong({x})")
    elif isinstance(t, Array):
        n = src.var("n")
        lines.append(f"{inner}{n} = len({x})")
        lines += _emit_length(src, n, buf, inner, wide=True)
        el = t.element
        if isinstance(el, Primitive):
            lines.append(f"{inner}{buf} += _pack('>%d{el.fmt}' % {n}, *{x})")
        else:
            e = src.var("e")
            lines.append(f"{inner}for {e} in {x}:")
            lines += _emit_encode_value(src, el, e, False, buf, chunks, inner + "    ")
    else:  # pragma: no cover - declarations only use the types above
        raise TypeError(f"cannot encode type {t!r}")
    return lines


# ------------------------------------------------------------------------------------------------ decoder


def compile_decoder(message: Message, version: int) -> Callable[[memoryview, int], tuple[Any, int]]:
    """Return ``decode(buf, pos) -> (obj, end)`` for ``message`` at ``version``; ``buf`` is a byte memoryview."""
    src = _Source(message, version)
    top = _emit_struct_decoder(src, message.struct)
    prefix = f"{message.name} v{version}"
    src.ns["_DecodeError"] = ProtocolDecodeError
    src.ns["_DECODE_ERRORS"] = _DECODE_ERRORS
    src.lines += [
        "def decode(buf, pos):",
        "    try:",
        f"        return {top}(buf, pos)",
        "    except _DecodeError as exc:",
        f"        raise _DecodeError({prefix!r} + ': ' + str(exc)) from None",
        "    except _DECODE_ERRORS as exc:",
        f"        raise _DecodeError({prefix!r} + ': truncated or malformed body (' + type(exc).__name__ + ': ' "
        "+ str(exc) + ')') from exc",
    ]
    return src.build("decode")


def _default_expr(src: _Source, decl: Struct, f: Field) -> str:
    if isinstance(f.type, Array) and not f.has_default:
        return "[]"
    if isinstance(f.type, Struct) and not f.has_default:
        return f"{src.const('C', f.type.name, f.type.cls)}()"
    return src.const("D", (decl.name, f.name), f.default_value())


def _emit_struct_decoder(src: _Source, decl: Struct) -> str:
    fname = f"d_{decl.name}"
    if fname in src.done:
        return fname
    src.done.add(fname)
    v = src.version
    cls = src.const("C", decl.name, decl.cls)
    body = [f"    o = _new({cls})", "    L = len(buf)"]
    fields = _present_fields(decl, v)
    for f in decl.fields:
        if not f.present(v) or (src.flexible and f.tagged_at(v)):
            body.append(f"    o.{f.name} = {_default_expr(src, decl, f)}")
    for group in _positional_groups(fields, v, src.flexible):
        if isinstance(group, list):
            fmt = "".join(f.type.fmt for f in group)  # type: ignore[attr-defined]
            targets = ", ".join(f"o.{f.name}" for f in group)
            size = struct.calcsize(">" + fmt)
            body.append(f"    {targets}, = {src.unpacker(fmt)}(buf, pos)")
            body.append(f"    pos += {size}")
        else:
            body += _emit_decode_value(
                src, group.type, f"o.{group.name}", group.nullable_at(v), f"{decl.name}.{group.name}",
                "buf", "pos", "L", "    ",
            )
    if src.flexible:
        body += _emit_tag_section_decoder(src, decl, fields)
    else:
        body.append("    o._unknown_tags = ()")
    body.append("    return o, pos")
    src.lines += [f"def {fname}(buf, pos):"] + body + [""]
    return fname


def _emit_tag_section_decoder(src: _Source, decl: Struct, fields: list[Field]) -> list[str]:
    v = src.version
    tagged = [f for f in fields if f.tagged_at(v)]
    lines = _emit_read_uvarint("nt", "buf", "pos", "    ")
    lines += [
        "    if nt > L - pos:",
        f"        raise _fail({decl.name!r}, 'tagged field count exceeds the remaining bytes')",
        "    unknown = None",
        "    for _ in range(nt):",
    ]
    lines += _emit_read_uvarint("tag", "buf", "pos", "        ")
    lines += _emit_read_uvarint("size", "buf", "pos", "        ")
    lines += [
        "        end = pos + size",
        "        if end > L:",
        f"            raise _fail({decl.name!r}, 'tagged field runs past the end of the buffer')",
    ]
    kw = "if"
    for f in tagged:
        lines += [f"        {kw} tag == {f.tag}:", "            sub = buf[pos:end]", "            SL = size",
                  "            p = 0"]
        lines += _emit_decode_value(src, f.type, f"o.{f.name}", f.nullable_at(v), f"{decl.name}.{f.name}",
                                    "sub", "p", "SL", "            ")
        lines += ["            if p != size:",
                  f"                raise _fail('{decl.name}.{f.name}', 'tagged field size does not match')"]
        kw = "elif"
    if tagged:
        lines.append("        else:")
        ind = "            "
    else:
        ind = "        "
    lines += [f"{ind}if unknown is None:", f"{ind}    unknown = []",
              f"{ind}unknown.append((tag, bytes(buf[pos:end])))"]
    lines += ["        pos = end", "    o._unknown_tags = unknown if unknown else ()"]
    return lines


def _emit_read_uvarint(target: str, buf: str, pos: str, ind: str) -> list[str]:
    return [f"{ind}{target} = {buf}[{pos}]", f"{ind}if {target} < 128:", f"{ind}    {pos} += 1",
            f"{ind}else:", f"{ind}    {target}, {pos} = _uvarint({buf}, {pos})"]


def _emit_read_length(src: _Source, n: str, buf: str, pos: str, ind: str, wide: bool) -> list[str]:
    """Read a length/count into ``n``; -1 means null in both encodings."""
    if src.flexible:
        return _emit_read_uvarint(n, buf, pos, ind) + [f"{ind}{n} -= 1"]
    fmt, size = ("i", 4) if wide else ("h", 2)
    return [f"{ind}{n}, = {src.unpacker(fmt)}({buf}, {pos})", f"{ind}{pos} += {size}"]


def _emit_decode_value(
    src: _Source, t: Type, target: str, nullable: bool, path: str, buf: str, pos: str, blen: str, ind: str
) -> list[str]:
    """Lines that decode one value of type ``t`` at ``buf[pos]`` into ``target`` and advance ``pos``."""
    if isinstance(t, Primitive):
        return [f"{ind}{target}, = {src.unpacker(t.fmt)}({buf}, {pos})", f"{ind}{pos} += {t.size}"]
    if isinstance(t, Struct):
        return [f"{ind}{target}, {pos} = {_emit_struct_decoder(src, t)}({buf}, {pos})"]
    if t is UUID:
        e = src.var("e")
        return [f"{ind}{e} = {pos} + 16", f"{ind}if {e} > {blen}:",
                f"{ind}    raise _fail({path!r}, 'uuid runs past the end of the buffer')",
                f"{ind}{target} = _UUID(bytes=bytes({buf}[{pos}:{e}]))", f"{ind}{pos} = {e}"]
    if t is VARINT:
        return [f"{ind}{target}, {pos} = _varint({buf}, {pos})"]
    if t is VARLONG:
        return [f"{ind}{target}, {pos} = _varlong({buf}, {pos})"]
    n = src.var("n")
    wide = t is not STRING
    lines = _emit_read_length(src, n, buf, pos, ind, wide)
    lines.append(f"{ind}if {n} < 0:")
    if nullable:
        lines += [f"{ind}    if {n} != -1:", f"{ind}        raise _fail({path!r}, f'invalid length {{{n}}}')",
                  f"{ind}    {target} = None"]
    else:
        lines.append(f"{ind}    raise _fail({path!r}, f'null or negative length {{{n}}} in a non-nullable field')")
    lines.append(f"{ind}else:")
    inner = ind + "    "
    if isinstance(t, Array):
        el = t.element
        min_size = el.size if isinstance(el, Primitive) else 1
        lines += [f"{inner}if {n} * {min_size} > {blen} - {pos}:",
                  f"{inner}    raise _fail({path!r}, f'array of {{{n}}} elements exceeds the remaining bytes')"]
        if isinstance(el, Primitive):
            lines += [f"{inner}{target} = list(_unpack_from('>%d{el.fmt}' % {n}, {buf}, {pos}))",
                      f"{inner}{pos} += {n} * {el.size}"]
        else:
            lst, e = src.var("l"), src.var("e")
            lines += [f"{inner}{lst} = []", f"{inner}for _ in range({n}):"]
            lines += _emit_decode_value(src, el, e, False, path + "[]", buf, pos, blen, inner + "    ")
            lines += [f"{inner}    {lst}.append({e})", f"{inner}{target} = {lst}"]
        return lines
    e = src.var("e")
    if t is STRING:
        lines += [f"{inner}if {n} > _MAXS:", f"{inner}    raise _fail({path!r}, f'string length {{{n}}} above 32767')"]
    lines += [f"{inner}{e} = {pos} + {n}", f"{inner}if {e} > {blen}:",
              f"{inner}    raise _fail({path!r}, f'length {{{n}}} runs past the end of the buffer')"]
    if t is STRING:
        lines.append(f"{inner}{target} = str({buf}[{pos}:{e}], 'utf-8')")
    elif t is BYTES:
        lines.append(f"{inner}{target} = bytes({buf}[{pos}:{e}])")
    elif t is RECORDS:
        lines.append(f"{inner}{target} = {buf}[{pos}:{e}]")
    else:  # pragma: no cover
        raise TypeError(f"cannot decode type {t!r}")
    lines.append(f"{inner}{pos} = {e}")
    return lines


# ---------------------------------------------------------------------------------------------- diagnose


def _diagnosed_error(message: Message, version: int, obj: Any, exc: BaseException) -> ProtocolEncodeError:
    found = diagnose(message, version, obj)
    if found is not None:
        path, problem = found
        return ProtocolEncodeError(f"{problem} (encoding {message.name} v{version})", path)
    return ProtocolEncodeError(f"cannot encode {message.name} v{version}: {type(exc).__name__}: {exc}")


def diagnose(message: Message, version: int, obj: Any) -> tuple[str, str] | None:
    """Find the first field of ``obj`` that cannot be encoded at ``version``: ``(path, problem)`` or ``None``.

    Slow and thorough; only called after the compiled encoder failed, to produce a useful error message.
    """
    return _check_struct(message.struct, obj, message.name, version, message.is_flexible(version))


def _check_struct(decl: Struct, obj: Any, path: str, version: int, flexible: bool) -> tuple[str, str] | None:
    if not isinstance(obj, decl.cls):
        return path, f"expected a {decl.name}, got {type(obj).__name__}"
    for f in decl.fields:
        if not f.present(version):
            continue
        value = getattr(obj, f.name)
        found = _check_value(f.type, value, f.nullable_at(version), f"{path}.{f.name}", version, flexible)
        if found:
            return found
    return None


def _check_value(
    t: Type, value: Any, nullable: bool, path: str, version: int, flexible: bool
) -> tuple[str, str] | None:
    if value is None:
        if nullable:
            return None
        return path, f"null is not allowed at version {version}"
    if isinstance(t, Primitive):
        if t.name == "bool":
            return None if isinstance(value, (bool, int)) else (path, f"expected a bool, got {type(value).__name__}")
        if t.name == "float64":
            return None if isinstance(value, (int, float)) else (path, f"expected a float, got {type(value).__name__}")
        if not isinstance(value, int):
            return path, f"expected an integer, got {type(value).__name__}"
        if not t.lo <= value <= t.hi:
            return path, f"{value} is out of range for {t.name}"
        return None
    if t in (VARINT, VARLONG):
        if not isinstance(value, int):
            return path, f"expected an integer, got {type(value).__name__}"
        bits = 31 if t is VARINT else 63
        return None if -(1 << bits) <= value < 1 << bits else (path, f"{value} is out of range for {t.name}")
    if t is STRING:
        if not isinstance(value, str):
            return path, f"expected a str, got {type(value).__name__}"
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError as exc:
            return path, f"not encodable as UTF-8 ({exc.reason})"
        return None if size <= MAX_STRING_BYTES else (path, f"string of {size} bytes is longer than 32767")
    if t is BYTES:
        ok = isinstance(value, (bytes, bytearray, memoryview))
        return None if ok else (path, f"expected bytes, got {type(value).__name__}")
    if t is RECORDS:
        ok = isinstance(value, (bytes, bytearray, memoryview, FileRegion))
        return None if ok else (path, f"expected bytes, memoryview or FileRegion, got {type(value).__name__}")
    if t is UUID:
        return None if isinstance(value, uuid.UUID) else (path, f"expected a uuid.UUID, got {type(value).__name__}")
    if isinstance(t, Array):
        if not isinstance(value, (list, tuple)):
            return path, f"expected a list, got {type(value).__name__}"
        for i, item in enumerate(value):
            found = _check_value(t.element, item, False, f"{path}[{i}]", version, flexible)
            if found:
                return found
        return None
    if isinstance(t, Struct):
        return _check_struct(t, value, path, version, flexible)
    return None


__all__ = ["compile_decoder", "compile_encoder", "diagnose", "format_range"]
