"""Hypothesis strategies that generate valid objects for any declared message at any version.

For tests and fuzzers (ours and other packages': e.g. random but well-formed requests against a handler).
Requires ``hypothesis`` (a test dependency); nothing in the runtime imports this module.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from kafka_zk.protocol.schema import (
    BYTES,
    RECORDS,
    STRING,
    UUID,
    VARINT,
    VARLONG,
    Array,
    Message,
    Primitive,
    Struct,
    Type,
)

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


def value_strategy(t: Type, nullable: bool, version: int) -> st.SearchStrategy[Any]:
    """Values of type ``t`` (``None`` included when ``nullable``); small sizes keep examples fast."""
    base: st.SearchStrategy[Any]
    if isinstance(t, Primitive):
        if t.name == "bool":
            base = st.booleans()
        elif t.name == "float64":
            base = st.floats(allow_nan=False)
        else:
            base = st.integers(int(t.lo), int(t.hi))
    elif t is STRING:
        base = TEXT
    elif t is BYTES:
        base = st.binary(max_size=16)
    elif t is RECORDS:
        base = st.binary(max_size=40)
    elif t is UUID:
        base = st.uuids()
    elif t is VARINT:
        base = st.integers(-(1 << 31), (1 << 31) - 1)
    elif t is VARLONG:
        base = st.integers(-(1 << 63), (1 << 63) - 1)
    elif isinstance(t, Array):
        base = st.lists(value_strategy(t.element, False, version), max_size=3)
    elif isinstance(t, Struct):
        base = struct_strategy(t, version)
    else:  # pragma: no cover - every declared type is handled above
        raise TypeError(f"no strategy for {t!r}")
    return st.one_of(st.none(), base) if nullable else base


def struct_strategy(decl: Struct, version: int) -> st.SearchStrategy[Any]:
    """Instances of ``decl``'s class with every field present at ``version`` generated."""
    fields = {
        f.name: value_strategy(f.type, f.nullable_at(version), version) for f in decl.fields if f.present(version)
    }
    return st.builds(decl.cls, **fields)


def message_strategy(message: Message, version: int) -> st.SearchStrategy[Any]:
    """Objects of ``message`` that encode at ``version``."""
    return struct_strategy(message.struct, version)
