"""A work tree's own .git/config cannot make repopack run a command.

Built for real: an unpacked repository whose .git/config sets `core.fsmonitor` to a command
that creates a file (git runs it on status, diff and ls-files).  pack, rank, map and review
must not run it.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import git
from helpers import run_cli


def test_core_fsmonitor_in_the_repository_never_runs(make_repo, tmp_path: Path, fake_openai) -> None:
    marker = tmp_path / "PWNED"
    root = make_repo({"app.py": "def main():\n    return 1\n"})
    git(root, "config", "core.fsmonitor", f"touch {marker}; false")
    (root / "app.py").write_text("def main():\n    return 2\n")
    fake_openai.script([json.dumps({"summary": "ok", "findings": []})])

    for args in (["pack", str(root), "-o", "-"], ["pack", str(root), "--diff", "HEAD", "-q", "main", "-o", "-"],
                 ["rank", str(root), "-q", "main"], ["map", str(root)],
                 ["review", "--base", "HEAD", str(root)]):
        result = run_cli(*args, env={"OPENAI_BASE_URL": fake_openai.base_url})
        assert result.returncode == 0, (args, result.stderr)
        assert not marker.exists(), f"repopack {args[0]} ran the repository's core.fsmonitor"
