"""Our message declarations agree with Kafka's own JSON message specs at every version we declare.

For each declared API, version and direction: the same fields in the same order (Kafka's CamelCase names
mapped to snake_case), the same types, nullability, tags, flexible versions and defaults — except for the
few deliberate differences listed below.  Skipped when ``../shared/reference`` is not present.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kafka_zk.protocol.apis import API
from kafka_zk.protocol.schema import Array, Field, Message, Primitive, Struct

SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "kafka-message-specs"

pytestmark = pytest.mark.skipif(not SPEC_DIR.is_dir(), reason="../shared/reference/kafka-message-specs not present")

#: (message, our field name) -> Kafka's snake_case name, where we keep the Kafka 2.x name on purpose.
RENAMED = {("OffsetCommitRequest", "generation_id"): "generation_id_or_member_epoch"}

#: (message, struct, field) -> our default, where it deliberately differs from the spec's.
DEFAULT_DEVIATIONS: dict[tuple[str, str, str], Any] = {
    ("FetchResponse", "PartitionData", "records"): b"",  # an empty record set, never null (protocol.md P4)
    ("ListOffsetsRequest", "ListOffsetsRequest", "replica_id"): -1,  # what consumers send
}


def snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def test_snake_case_mapping() -> None:
    assert snake("IsrNodes") == "isr_nodes"
    assert snake("timeoutMs") == "timeout_ms"
    assert snake("ZkMigrationReady") == "zk_migration_ready"
    assert snake("GroupsNames") == "groups_names"


def load_spec(name: str) -> dict[str, Any]:
    text = (SPEC_DIR / f"{name}.json").read_text()
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    return json.loads(text)  # type: ignore[no-any-return]


def parse_versions(text: str | None) -> tuple[int, int | None] | None:
    if text is None or text == "none":
        return None
    if text.endswith("+"):
        return int(text[:-1]), None
    if "-" in text:
        lo, hi = text.split("-")
        return int(lo), int(hi)
    return int(text), int(text)


def contains(versions: tuple[int, int | None] | None, v: int) -> bool:
    if versions is None:
        return False
    lo, hi = versions
    return v >= lo and (hi is None or v <= hi)


PRIMITIVE_DEFAULTS: dict[str, Any] = {
    "int8": 0, "int16": 0, "int32": 0, "int64": 0, "uint16": 0, "float64": 0.0, "bool": False, "string": "",
    "bytes": b"", "records": None,
}


def spec_default(field: dict[str, Any]) -> Any:
    t = field["type"]
    raw = field.get("default")
    if raw is None:
        return PRIMITIVE_DEFAULTS.get(t)
    if raw == "null":
        return None
    if t == "bool":
        return raw == "true"
    if t in ("int8", "int16", "int32", "int64", "uint16"):
        return raw if isinstance(raw, int) else int(raw, 0)
    return raw


def spec_struct_fields(field: dict[str, Any], common: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
    t = field["type"]
    element = t[2:] if t.startswith("[]") else t
    if "fields" in field:
        return field["fields"]  # type: ignore[no-any-return]
    return common.get(element)


def our_type_name(t: Any) -> str:
    return t.name  # type: ignore[no-any-return]


def compare_struct(
    message: Message, ours: Struct, spec_fields: list[dict[str, Any]], v: int, flexible: bool,
    common: dict[str, list[dict[str, Any]]], problems: list[str],
) -> None:
    where = f"{message.name} v{v} {ours.name}"
    spec_present = [f for f in spec_fields if contains(parse_versions(f["versions"]), v)]
    our_present = [f for f in ours.fields if f.present(v)]
    spec_names = [snake(f["name"]) for f in spec_present]
    our_names = [RENAMED.get((message.name, f.name), f.name) for f in our_present]
    if spec_names != our_names:
        problems.append(f"{where}: fields {our_names} != spec {spec_names}")
        return
    for sf, of in zip(spec_present, our_present):
        compare_field(message, ours, sf, of, v, flexible, common, problems)


def compare_field(
    message: Message, parent: Struct, sf: dict[str, Any], of: Field, v: int, flexible: bool,
    common: dict[str, list[dict[str, Any]]], problems: list[str],
) -> None:
    where = f"{message.name} v{v} {parent.name}.{of.name}"
    if our_type_name(of.type) != sf["type"]:
        problems.append(f"{where}: type {our_type_name(of.type)} != spec {sf['type']}")
        return
    if of.nullable_at(v) != contains(parse_versions(sf.get("nullableVersions")), v):
        problems.append(f"{where}: nullable {of.nullable_at(v)} differs from spec")
    spec_tagged = flexible and contains(parse_versions(sf.get("taggedVersions")), v)
    our_tagged = flexible and of.tagged_at(v)
    if spec_tagged != our_tagged or (spec_tagged and sf.get("tag") != of.tag):
        ours, theirs = of.tag if our_tagged else None, sf.get("tag") if spec_tagged else None
        problems.append(f"{where}: tag {ours} != spec {theirs}")
    if isinstance(of.type, Primitive) or our_type_name(of.type) in PRIMITIVE_DEFAULTS:
        expected = DEFAULT_DEVIATIONS.get((message.name, parent.name, of.name), spec_default(sf))
        actual = of.default_value()
        if actual != expected or type(actual) is not type(expected):
            problems.append(f"{where}: default {actual!r} != {expected!r}")
    nested = of.type.element if isinstance(of.type, Array) else of.type
    if isinstance(nested, Struct):
        fields = spec_struct_fields(sf, common)
        if fields is None:
            problems.append(f"{where}: spec has no fields for {sf['type']}")
        else:
            compare_struct(message, nested, fields, v, flexible, common, problems)


MESSAGES = [msg for pair in API.values() for msg in pair]


@pytest.mark.parametrize("message", MESSAGES, ids=[m.name for m in MESSAGES])
def test_declaration_matches_kafka_spec(message: Message) -> None:
    spec = load_spec(message.name)
    assert spec["apiKey"] == message.api_key
    assert spec["type"] == message.kind
    lo, hi = message.valid_versions
    spec_valid = parse_versions(spec["validVersions"])
    assert contains(spec_valid, lo) and contains(spec_valid, hi), f"declared {lo}-{hi} outside spec {spec_valid}"
    spec_flexible = parse_versions(spec["flexibleVersions"])
    common = {c["name"]: c["fields"] for c in spec.get("commonStructs", [])}
    problems: list[str] = []
    for v in message.versions():
        assert message.is_flexible(v) == contains(spec_flexible, v), f"v{v} flexibility differs"
        compare_struct(message, message.struct, spec["fields"], v, message.is_flexible(v), common, problems)
    assert not problems, "\n".join(problems)


def test_every_requested_api_is_declared_at_least_over_its_required_range() -> None:
    required = {0: (3, 8), 1: (4, 10), 2: (1, 2), 3: (0, 4), 8: (0, 3), 9: (0, 3), 10: (0, 1), 11: (0, 2),
                12: (0, 1), 13: (0, 1), 14: (0, 1), 15: (0, 1), 16: (0, 1), 18: (0, 3), 19: (0, 4), 20: (0, 1),
                22: (0, 1), 23: (0, 3), 32: (0, 1), 33: (0, 1), 37: (0, 1), 42: (0, 1), 43: (0, 1)}
    for key, (lo, hi) in required.items():
        req, _ = API[key]  # type: ignore[index]
        assert req.valid_versions[0] <= lo and req.valid_versions[1] >= hi, key
