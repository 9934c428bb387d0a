"""The style checks run with the tests: ruff over everything, mypy over the core library and the TUI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", "repopack", "tui", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_the_core_and_tui(tmp_path: Path) -> None:
    result = run("mypy", "repopack", "tui", "--cache-dir", str(tmp_path / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr
