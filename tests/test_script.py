"""End to end through the installed console script, in a child process (most CLI tests run in process)."""

from __future__ import annotations

import subprocess
import sys

from helpers import run_script

import repopack


def test_version_and_help_from_the_script() -> None:
    out = run_script("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"repopack, version {repopack.__version__}"
    helped = run_script("--help")
    assert helped.returncode == 0
    for command in ("pack", "rank", "map", "ask", "chat", "review", "explain-tests", "undo"):
        assert command in helped.stdout


def test_pack_to_stdout_and_error_exit_codes(make_repo, tmp_path) -> None:
    root = make_repo({"app.py": "def main():\n    return 1\n"})
    out = run_script("pack", ".", "-o", "-", cwd=root)
    assert out.returncode == 0
    assert '<file path="app.py"' in out.stdout and "def main():" in out.stdout
    missing = run_script("pack", str(tmp_path / "nope"))
    assert missing.returncode == 4
    assert missing.stderr.count("\n") == 1 and missing.stderr.startswith("repopack: error: ")


def test_python_dash_m_runs_the_same_cli(make_repo) -> None:
    root = make_repo({"app.py": "x = 1\n"})
    out = subprocess.run([sys.executable, "-m", "repopack", "rank", ".", "-q", "x"], cwd=root, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ["app.py"]
