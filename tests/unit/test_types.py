"""The package type-checks (STYLE: types from the first line, mypy clean)."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_finds_no_errors(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "kafka_zk", "zk_layout"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


STRICT_PACKAGES = ("kafka_zk.replication", "kafka_zk.controller", "kafka_zk.server.handlers")
STRICT_FLAGS = ("disallow_untyped_defs", "disallow_any_generics", "warn_return_any", "warn_unused_ignores",
                "no_implicit_reexport", "strict_equality")


def test_the_typed_seams_stay_strict() -> None:
    """The strict mypy section for replication and controller is still there (kazoo's warning: strict mode
    switched off module by module), and replication carries no ``type: ignore``."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    strict = [s for s in cfg.sections() if s.startswith("mypy-")]
    for pkg in STRICT_PACKAGES:
        section = next((s for s in strict if f"{pkg}.*" in s[len("mypy-"):].split(",")), None)
        assert section is not None, f"setup.cfg has no strict [mypy-{pkg}.*] section"
        for flag in STRICT_FLAGS:
            assert cfg.getboolean(section, flag, fallback=False), f"[{section}] lacks {flag} = True"
    ignores = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "kafka_zk" / "replication").glob("*.py"))
               for n, line in enumerate(p.read_text().splitlines(), 1) if "type: ignore" in line]
    assert ignores == []
