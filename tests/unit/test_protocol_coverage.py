"""tools/gen_protocol_coverage.py: ranges from the dispatch table, next to Kafka 2.8's, gaps with reasons."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

from kafka_zk.protocol.kafka_versions import KAFKA_2_8, NOT_SERVED

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_protocol_coverage.py"


def load_tool() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("gen_protocol_coverage", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_uses_the_dispatch_table(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("kafka_zk.server.dispatch")
    fake.supported_api_versions = lambda: {18: (0, 3), 0: (3, 8), 1: (4, 10)}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kafka_zk.server.dispatch", fake)
    tool = load_tool()
    ranges = tool.supported_ranges()
    assert ranges[1] == (4, 10)
    page = tool.render(ranges)
    assert "| 1 | Fetch | 4-10 | 0-12 | 0-3, 11-12 | not implemented yet | 0-12 | 12+ | v1 | v0 |" in page
    assert "| 18 | ApiVersions | 0-3 | 0-3 | — |  | 0-4 | 3+ | v2 | v0 |" in page
    assert "| 3 | Metadata | — | 0-11 | all | not implemented yet |" in page  # declared but not advertised
    assert f"| 26 | EndTxn | — | 0-3 | all | {NOT_SERVED[26]} |" in page
    assert "3 APIs advertised" in page


def test_gap_lists_missing_versions_and_reasons() -> None:
    tool = load_tool()
    assert tool.gap((0, 11), (0, 11), 3) == ("—", "")
    assert tool.gap((2, 4), (0, 7), 11) == ("0-1, 5-7", "not implemented yet")
    assert tool.gap(None, (0, 3), 24) == ("all", NOT_SERVED[24])
    assert tool.gap((0, 0), None, 99) == ("—", "not in Kafka 2.8")


def test_every_row_short_of_kafka_2_8_gives_a_reason() -> None:
    tool = load_tool()
    page = tool.render(tool.supported_ranges())
    rows = [line.split(" | ") for line in page.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert {int(r[0][2:]) for r in rows} >= set(KAFKA_2_8)
    for r in rows:
        missing, reason = r[4], r[5]
        assert (missing == "—") == (reason == ""), r


def test_kafka_2_8_table_matches_the_2_8_specs_when_present() -> None:
    spec_dir = Path("/tmp/kafka-2.8-specs")
    if not spec_dir.is_dir():
        pytest.skip("Kafka 2.8.2 message specs not extracted at /tmp/kafka-2.8-specs")
    import json
    import re

    found = {}
    for path in spec_dir.glob("*Request.json"):
        try:
            spec = json.loads(re.sub(r"^\s*//.*$", "", path.read_text(), flags=re.M))
        except ValueError:
            continue
        if "zkBroker" in spec.get("listeners", []):
            lo, _, hi = spec["validVersions"].partition("-")
            found[spec["apiKey"]] = (int(lo), int(hi or lo))
    assert found == KAFKA_2_8


def test_check_mode_detects_stale_pages(tmp_path: Path) -> None:
    tool = load_tool()
    page = tmp_path / "coverage.md"
    assert tool.main(["-o", str(page)]) == 0
    assert tool.main(["--check", str(page)]) == 0
    page.write_text(page.read_text() + "edited\n")
    assert tool.main(["--check", str(page)]) == 1


def test_nothing_is_advertised_beyond_kafka_2_8() -> None:
    """A version newer than Kafka 2.8's would make clients use 3.x features (topic-id fetches, KRaft fields)."""
    from kafka_zk.server.dispatch import supported_api_versions

    for key, (lo, hi) in supported_api_versions().items():
        assert key in KAFKA_2_8, f"API key {key} is not in Kafka 2.8"
        k_lo, k_hi = KAFKA_2_8[key]
        assert k_lo <= lo <= hi <= k_hi, f"API key {key}: advertised {lo}-{hi}, Kafka 2.8 has {k_lo}-{k_hi}"
