"""``docs/protocol-coverage.md`` is what ``tools/gen_protocol_coverage.py`` derives from the broker's dispatch table
today: adding or re-versioning a handler without regenerating the page fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "protocol-coverage.md"


def test_protocol_coverage_page_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_protocol_coverage", ROOT / "tools" / "gen_protocol_coverage.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    ranges = tool.supported_ranges()
    assert PAGE.exists(), "docs/protocol-coverage.md is missing: run python tools/gen_protocol_coverage.py -o docs/protocol-coverage.md"
    assert PAGE.read_text() == tool.render(ranges), (
        "docs/protocol-coverage.md is stale: run python tools/gen_protocol_coverage.py -o docs/protocol-coverage.md")
