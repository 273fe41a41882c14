"""docs/zk-layout.md's payload reference is generated from the codec and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_decodable_znode_has_an_example_and_the_page_is_current() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_zk_layout.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
