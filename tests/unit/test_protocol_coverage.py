"""tools/gen_protocol_coverage.py: ranges from the dispatch table when it exists, declared ones otherwise."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_protocol_coverage.py"


def load_tool() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("gen_protocol_coverage", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_uses_the_dispatch_table_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("kafka_zk.server.dispatch")
    fake.supported_api_versions = lambda: {18: (0, 3), 0: (3, 8), 1: (4, 10)}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kafka_zk.server.dispatch", fake)
    tool = load_tool()
    ranges, source = tool.supported_ranges()
    assert source == "dispatch" and ranges[1] == (4, 10)
    page = tool.render(ranges, source)
    assert "| 1 | Fetch | 4-10 | 0-12 | 12+ | v1 | v0 |" in page
    assert "| 18 | ApiVersions | 0-3 | 0-4 | 3+ | v2 | v0 |" in page
    assert "| 3 | Metadata | — | 0-8 |" in page  # declared but not advertised
    assert "3 APIs advertised" in page


def test_falls_back_to_declared_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kafka_zk.server.dispatch", None)  # import fails like a missing module
    tool = load_tool()
    ranges, source = tool.supported_ranges()
    assert source == "declared" and ranges[0] == (0, 8)
    assert "does not exist yet" in tool.render(ranges, source)


def test_check_mode_detects_stale_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = load_tool()
    page = tmp_path / "coverage.md"
    assert tool.main(["-o", str(page)]) == 0
    assert tool.main(["--check", str(page)]) == 0
    page.write_text(page.read_text() + "edited\n")
    assert tool.main(["--check", str(page)]) == 1
