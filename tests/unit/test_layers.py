"""The package layering of docs/architecture.md §2 holds (import-linter contracts in setup.cfg):
layers import only downwards, zk_layout imports nothing from kafka_zk, kafka_zk reaches kazoo only
through zk_layout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "lint-imports not found: pip install -e '.[test]' installs import-linter"
    r = subprocess.run([exe, "--config", str(ROOT / "setup.cfg"), "--no-cache"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_zk_layout_imports_without_kafka_zk() -> None:
    code = "import sys, zk_layout, zk_layout.tree; assert not any(m.startswith('kafka_zk') for m in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
