"""`repopack pack --timings`: one line per stage on stderr, nothing on stdout."""

from __future__ import annotations

import os
import re
import time

from helpers import run_cli

TIMING = re.compile(r"^timing: (\S+) +(\d+\.\d{3}) s$")
STAGES = ["list", "walk", "redact", "index", "snapshot", "rank", "fit", "other", "output", "total"]


def timings(stderr: str) -> dict[str, float]:
    rows = [TIMING.match(line) for line in stderr.splitlines() if line.startswith("timing:")]
    assert all(rows), stderr
    return {m.group(1): float(m.group(2)) for m in rows if m}


def test_question_pack_prints_each_stage_once(make_repo, tmp_path) -> None:
    root = make_repo({"app.py": "def total(items):\n    return sum(items)\n", "README.md": "# demo\n"})
    out = tmp_path / "out.xml"
    result = run_cli("pack", ".", "--budget", "2k", "-q", "where is the total computed?", "--timings", "-o", str(out),
                     cwd=root)
    assert result.returncode == 0, result.stderr
    lines = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("timing:")]
    assert lines == STAGES
    seen = timings(result.stderr)
    assert seen["total"] >= max(v for k, v in seen.items() if k != "total")
    assert "timing" not in out.read_text(encoding="utf-8")


def test_stdout_pack_keeps_timings_off_stdout(make_repo) -> None:
    root = make_repo({"app.py": "X = 1\n"})
    result = run_cli("pack", ".", "--timings", "-o", "-", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "timing:" not in result.stdout and "timing: total" in result.stderr
    assert "snapshot" not in timings(result.stderr)  # a whole-repo pack ranks nothing


def test_a_reused_pack_says_so(make_repo, tmp_path) -> None:
    root = make_repo({"app.py": "X = 1\n"})
    past = time.time() - 60
    os.utime(root / "app.py", (past, past))  # not racy: the stored pack may be reused
    out = tmp_path / "out.xml"
    assert run_cli("pack", ".", "-o", str(out), cwd=root).returncode == 0
    result = run_cli("pack", ".", "--timings", "-o", str(out), cwd=root)
    assert list(timings(result.stderr)) == ["reused", "output", "total"]


def test_no_timings_without_the_flag(make_repo) -> None:
    root = make_repo({"app.py": "X = 1\n"})
    result = run_cli("pack", ".", "-o", "-", cwd=root)
    assert result.returncode == 0 and "timing:" not in result.stderr
