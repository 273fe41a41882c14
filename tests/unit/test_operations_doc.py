"""docs/operations.md's configuration reference is generated from the config definitions and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_reference_is_current() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_config_doc.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
