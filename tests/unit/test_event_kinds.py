"""Event kinds are constants of ``kafka_zk.common.event_kinds``: every emitter uses one (so ``grep`` finds
every place a kind is emitted), every constant is emitted somewhere, and ``docs/events.md`` documents
exactly these kinds."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from kafka_zk.common import event_kinds

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kafka_zk"


def _emit_calls() -> list[tuple[str, ast.Call]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("emit", "_emit")
            ):
                out.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return out


def test_no_emitter_spells_a_kind_itself() -> None:
    spelled = [
        where
        for where, call in _emit_calls()
        for arg in call.args[:2]
        if isinstance(arg, ast.JoinedStr) or (isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    ]
    assert spelled == [], "emit kinds from kafka_zk.common.event_kinds, not string literals"


def test_every_kind_is_emitted_somewhere() -> None:
    source = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py") if p.name != "event_kinds.py")
    names = {name for name, value in vars(event_kinds).items() if name.isupper() and isinstance(value, str)}
    assert sorted(n for n in names if f"kinds.{n}" not in source) == []


def test_docs_list_exactly_the_kinds() -> None:
    documented: set[str] = set()
    for line in (ROOT / "docs" / "events.md").read_text().splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            documented.update(re.findall(r"`([a-z_]+\.[a-z_]+)`", first_cell))
    assert documented == set(event_kinds.ALL)
