"""Every (API, version) the broker advertises, built from Kafka's JSON message spec and checked byte for byte.

For each advertised version of each API, requests and responses alike, this test reads Kafka's spec
(``../shared/reference/kafka-message-specs/<Name>.json``; ``KAFKA_ZK_REFERENCE`` may point elsewhere;
skipped when absent) and builds a value for *every* field the spec has at that version — tagged fields set
to non-default values so they are written, nullable fields once null and once not. An independent
encoder/decoder driven only by the spec (below, ~100 lines, knowing nothing of our declarations) writes the
expected bytes; our declarations must produce exactly those bytes, and decoding them — with ours and with the
spec codec — must give back every value.

It iterates over whatever ``kafka_zk.server.dispatch`` advertises, so an API or version added to the dispatch
table is covered without touching this file. The golden frames captured from real clients
(``reference/golden``) are decoded with the spec codec too and must agree with our decoder field by field.
"""

from __future__ import annotations

import json
import os
import random
import re
import struct
import uuid
from pathlib import Path
from typing import Any

import pytest

from kafka_zk.protocol.apis import API, decode_request_frame
from kafka_zk.protocol.headers import RequestHeader
from kafka_zk.protocol.schema import Array, Field, Message, Struct
from kafka_zk.server.dispatch import supported_api_versions

REFERENCE = Path(
    os.environ.get("KAFKA_ZK_REFERENCE", Path(__file__).resolve().parents[3] / "shared" / "reference")
)
SPEC_DIR = REFERENCE / "kafka-message-specs"
GOLDEN_DIR = REFERENCE / "golden"

pytestmark = pytest.mark.skipif(
    not SPEC_DIR.is_dir(), reason=f"Kafka's message specs not present at {SPEC_DIR}"
)

#: (message, our field name) -> Kafka's snake_case name, where we keep the Kafka 2.x name on purpose.
RENAMED = {("OffsetCommitRequest", "generation_id"): "generation_id_or_member_epoch"}


# ------------------------------------------------------------------------------------------- the spec side


def snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def parse_versions(text: str | None) -> tuple[int, int] | None:
    if text is None or text == "none":
        return None
    if text.endswith("+"):
        return int(text[:-1]), 1 << 15
    lo, _, hi = text.partition("-")
    return int(lo), int(hi or lo)


def within(versions: tuple[int, int] | None, v: int) -> bool:
    return versions is not None and versions[0] <= v <= versions[1]


class Spec:
    """One message spec: fields resolved (common structs inlined), versions parsed."""

    def __init__(self, name: str) -> None:
        text = re.sub(r"^\s*//.*$", "", (SPEC_DIR / f"{name}.json").read_text(), flags=re.M)
        raw = json.loads(text)
        self.name = name
        self.common = {c["name"]: c["fields"] for c in raw.get("commonStructs", [])}
        self.fields = raw["fields"]
        self.flexible = parse_versions(raw["flexibleVersions"])

    def children(self, field: dict[str, Any]) -> list[dict[str, Any]] | None:
        t = field["type"]
        element = t[2:] if t.startswith("[]") else t
        if "fields" in field:
            return field["fields"]  # type: ignore[no-any-return]
        return self.common.get(element)


def spec_default(field: dict[str, Any]) -> Any:
    t, raw = field["type"], field.get("default")
    if t.startswith("[]") or (t[0].isupper()):
        return None if raw == "null" else "empty"
    if raw is None:
        return {
            "bool": False,
            "string": "",
            "bytes": b"",
            "records": None,
            "uuid": uuid.UUID(int=0),
            "float64": 0.0,
        }.get(t, 0)
    if raw == "null":
        return None
    if t == "bool":
        return raw == "true"
    if t in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
        return raw if isinstance(raw, int) else int(raw, 0)
    return raw


INTS = {"int8": "b", "int16": "h", "int32": "i", "int64": "q", "uint16": "H", "uint32": "I"}


def make_value(spec: Spec, field: dict[str, Any], v: int, rng: random.Random, nulls: bool) -> Any:
    """A value for ``field`` at ``v``: scalars never equal to their default (so tagged ones are written),
    arrays of two elements — or, when ``nulls``, null where the field may be null and empty arrays."""
    if nulls and within(parse_versions(field.get("nullableVersions")), v):
        return None
    t = field["type"]
    if t.startswith("[]"):
        element = {k: x for k, x in field.items() if k not in ("nullableVersions", "taggedVersions", "tag")}
        element["type"] = t[2:]
        return [] if nulls else [make_value(spec, element, v, rng, nulls) for _ in range(2)]
    children = spec.children(field)
    if children is not None:
        return {
            snake(f["name"]): make_value(spec, f, v, rng, nulls)
            for f in children
            if within(parse_versions(f["versions"]), v)
        }
    default = spec_default(field)
    for _ in range(20):
        value = _scalar(t, rng)
        if value != default:
            return value
    raise AssertionError(f"could not pick a non-default value for {field['name']}")


def _scalar(t: str, rng: random.Random) -> Any:
    if t in INTS:
        size = struct.calcsize(INTS[t]) * 8
        lo, hi = (0, (1 << size) - 1) if t.startswith("u") else (-(1 << (size - 1)), (1 << (size - 1)) - 1)
        return rng.choice(
            [lo, hi, rng.randint(lo, hi), rng.randint(-1, 100) if lo < 0 else rng.randint(0, 100)]
        )
    if t == "bool":
        return rng.random() < 0.5
    if t == "float64":
        return rng.uniform(-1e9, 1e9)
    if t == "string":
        return "".join(rng.choice("abcxyz-._ü€0123") for _ in range(rng.randint(1, 12)))
    if t in ("bytes", "records"):
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
    if t == "uuid":
        return uuid.UUID(int=rng.getrandbits(128))
    raise AssertionError(f"unknown spec type {t}")


class SpecCodec:
    """Kafka's wire format from the spec alone: classic and flexible (KIP-482) encodings, tagged fields."""

    def __init__(self, spec: Spec, v: int) -> None:
        self.spec, self.v = spec, v
        self.flex = within(spec.flexible, v)

    # -- encoding
    def uvarint(self, n: int) -> bytes:
        out = bytearray()
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        return bytes(out + bytes([n]))

    def length(self, n: int | None, classic: str) -> bytes:
        if self.flex:
            return self.uvarint(0 if n is None else n + 1)
        return struct.pack(">" + classic, -1 if n is None else n)

    def encode_struct(self, fields: list[dict[str, Any]], value: dict[str, Any]) -> bytes:
        out, tagged = bytearray(), []
        for f in fields:
            if not within(parse_versions(f["versions"]), self.v):
                continue
            val = value[snake(f["name"])]
            if self.flex and within(parse_versions(f.get("taggedVersions")), self.v):
                default = spec_default(f)
                if not (val == default or (default == "empty" and val == [])):
                    tagged.append((f["tag"], self.encode_value(f, val)))
                continue
            out += self.encode_value(f, val)
        if self.flex:
            out += self.uvarint(len(tagged))
            for tag, payload in sorted(tagged):
                out += self.uvarint(tag) + self.uvarint(len(payload)) + payload
        return bytes(out)

    def encode_value(self, f: dict[str, Any], val: Any) -> bytes:
        t = f["type"]
        if t.startswith("[]"):
            element = dict(f, type=t[2:])
            body = b"".join(self.encode_value(element, x) for x in (val or []))
            return self.length(None if val is None else len(val), "i") + body
        children = self.spec.children(f)
        if children is not None:
            return self.encode_struct(children, val)
        if t in INTS:
            return struct.pack(">" + INTS[t], val)
        if t == "bool":
            return b"\x01" if val else b"\x00"
        if t == "float64":
            return struct.pack(">d", val)
        if t == "uuid":
            return val.bytes  # type: ignore[no-any-return]
        if t == "string":
            data = None if val is None else val.encode()
            return self.length(None if data is None else len(data), "h") + (data or b"")
        if t in ("bytes", "records"):
            return self.length(None if val is None else len(val), "i") + (
                bytes(val) if val is not None else b""
            )
        raise AssertionError(t)

    # -- decoding
    def decode(self, data: bytes) -> dict[str, Any]:
        value, end = self.decode_struct(self.spec.fields, memoryview(data), 0)
        assert end == len(data), f"{len(data) - end} trailing bytes"
        return value

    def read_uvarint(self, buf: memoryview, pos: int) -> tuple[int, int]:
        n = shift = 0
        while True:
            b = buf[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return n, pos

    def read_length(self, buf: memoryview, pos: int, classic: str) -> tuple[int | None, int]:
        if self.flex:
            n, pos = self.read_uvarint(buf, pos)
            return (None if n == 0 else n - 1), pos
        size = struct.calcsize(classic)
        n = struct.unpack_from(">" + classic, buf, pos)[0]
        return (None if n < 0 else n), pos + size

    def decode_struct(
        self, fields: list[dict[str, Any]], buf: memoryview, pos: int
    ) -> tuple[dict[str, Any], int]:
        value: dict[str, Any] = {}
        tags: dict[int, dict[str, Any]] = {}
        for f in fields:
            if not within(parse_versions(f["versions"]), self.v):
                continue
            if self.flex and within(parse_versions(f.get("taggedVersions")), self.v):
                tags[f["tag"]] = f
                default = spec_default(f)
                value[snake(f["name"])] = [] if default == "empty" else default
                continue
            value[snake(f["name"])], pos = self.decode_value(f, buf, pos)
        if self.flex:
            count, pos = self.read_uvarint(buf, pos)
            for _ in range(count):
                tag, pos = self.read_uvarint(buf, pos)
                size, pos = self.read_uvarint(buf, pos)
                if tag in tags:
                    value[snake(tags[tag]["name"])], end = self.decode_value(tags[tag], buf, pos)
                    assert end == pos + size
                pos += size
        return value, pos

    def decode_value(self, f: dict[str, Any], buf: memoryview, pos: int) -> tuple[Any, int]:
        t = f["type"]
        if t.startswith("[]"):
            n, pos = self.read_length(buf, pos, "i")
            if n is None:
                return None, pos
            element, items = dict(f, type=t[2:]), []
            for _ in range(n):
                item, pos = self.decode_value(element, buf, pos)
                items.append(item)
            return items, pos
        children = self.spec.children(f)
        if children is not None:
            return self.decode_struct(children, buf, pos)
        if t in INTS:
            return struct.unpack_from(">" + INTS[t], buf, pos)[0], pos + struct.calcsize(INTS[t])
        if t == "bool":
            return buf[pos] != 0, pos + 1
        if t == "float64":
            return struct.unpack_from(">d", buf, pos)[0], pos + 8
        if t == "uuid":
            return uuid.UUID(bytes=bytes(buf[pos : pos + 16])), pos + 16
        n, pos = self.read_length(buf, pos, "h" if t == "string" else "i")
        if n is None:
            return None, pos
        data = bytes(buf[pos : pos + n])
        return (data.decode() if t == "string" else data), pos + n


# ------------------------------------------------------------------------------------------- our side


def to_ours(message: Message, decl: Struct, value: dict[str, Any], v: int) -> Any:
    """Our struct object holding ``value`` (a spec-side dict)."""
    kwargs = {}
    for f in decl.fields:
        if f.present(v):
            name = RENAMED.get((message.name, f.name), f.name)
            assert name in value, (
                f"{message.name} v{v} {decl.name}.{f.name}: declared by us, not in Kafka's spec"
            )
            kwargs[f.name] = _to_ours_value(message, f, value[name], v)
    return decl.cls(**kwargs)


def _to_ours_value(message: Message, f: Field, val: Any, v: int) -> Any:
    t = f.type.element if isinstance(f.type, Array) else f.type
    if not isinstance(t, Struct) or val is None:
        return val
    if isinstance(f.type, Array):
        return [to_ours(message, t, x, v) for x in val]
    return to_ours(message, t, val, v)


def from_ours(message: Message, decl: Struct, obj: Any, v: int) -> dict[str, Any]:
    out = {}
    for f in decl.fields:
        if not f.present(v):
            continue
        val = getattr(obj, f.name)
        t = f.type.element if isinstance(f.type, Array) else f.type
        if isinstance(t, Struct) and val is not None:
            val = (
                [from_ours(message, t, x, v) for x in val]
                if isinstance(f.type, Array)
                else from_ours(message, t, val, v)
            )
        elif isinstance(val, (memoryview, bytearray)):
            val = bytes(val)
        elif isinstance(val, list):
            val = [bytes(x) if isinstance(x, (memoryview, bytearray)) else x for x in val]
        out[RENAMED.get((message.name, f.name), f.name)] = val
    return out


def advertised_cases() -> list[Any]:
    cases = []
    for key, (lo, hi) in sorted(supported_api_versions().items()):
        for message in API[key]:  # type: ignore[index]
            for v in range(lo, hi + 1):
                for variant in ("full", "nulls"):
                    cases.append(pytest.param(message, v, variant, id=f"{message.name}-v{v}-{variant}"))
    return cases


@pytest.mark.parametrize(("message", "version", "variant"), advertised_cases())
def test_advertised_version_matches_kafkas_spec_byte_for_byte(
    message: Message, version: int, variant: str
) -> None:
    spec = Spec(message.name)
    rng = random.Random(f"{message.name}/{version}/{variant}")
    value = {
        snake(f["name"]): make_value(spec, f, version, rng, variant == "nulls")
        for f in spec.fields
        if within(parse_versions(f["versions"]), version)
    }
    codec = SpecCodec(spec, version)
    expected = codec.encode_struct(spec.fields, value)
    assert codec.decode(expected) == value  # the reference codec agrees with itself
    ours = message.encode_to_bytes(version, to_ours(message, message.struct, value, version))
    assert ours == expected, f"{message.name} v{version}: our bytes differ from the spec's"
    assert from_ours(message, message.struct, message.decode(version, expected), version) == value


def test_the_advertised_set_is_not_empty_and_includes_api_versions() -> None:
    assert 18 in supported_api_versions()
    assert len(advertised_cases()) > 100


def golden_cases() -> list[Any]:
    cases = []
    for index in sorted(GOLDEN_DIR.glob("*/index.json")) if GOLDEN_DIR.is_dir() else []:
        for entry in json.loads(index.read_text()):
            cases.append(
                pytest.param(index.parent / entry["file"], id=f"{index.parent.name}/{entry['file']}")
            )
    return cases


@pytest.mark.parametrize(
    "path", golden_cases() or [pytest.param(None, marks=pytest.mark.skip("no golden frames"))]
)
def test_golden_frame_decodes_the_same_with_the_spec_codec(path: Path) -> None:
    data = path.read_bytes()
    header, body = decode_request_frame(data)
    message = API[header.api_key][0]  # type: ignore[index]
    # the header's length: re-encode it at the version this request uses
    from kafka_zk.protocol.apis import request_header_version

    head = RequestHeader(header.api_key, header.api_version, header.correlation_id, header.client_id)
    header_bytes = head.encode(request_header_version(header.api_key, header.api_version))
    assert data.startswith(header_bytes)
    spec_value = SpecCodec(Spec(message.name), header.api_version).decode(data[len(header_bytes) :])
    assert from_ours(message, message.struct, body, header.api_version) == spec_value
    lo, hi = supported_api_versions()[header.api_key]
    if header.api_key == 18 and header.api_version > hi:
        return  # kafka-python tries ApiVersions v4 first; the v0 UNSUPPORTED_VERSION answer makes it use v3
    assert lo <= header.api_version <= hi, "a version a real client sent is no longer advertised"
