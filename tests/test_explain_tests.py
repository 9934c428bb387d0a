"""`repopack explain-tests`: real pytest runs in real repos, the fake model over HTTP, and pre-commit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git
from helpers import run_cli

from repopack.chat.testfail import deduplicate, read_junit, traceback_frames

CALC = '''"""Small arithmetic."""


def add(a: int, b: int) -> int:
    return a - b


def double(x: int) -> int:
    return add(x, x)
'''
TEST_CALC = '''from calc import add


def test_add():
    assert add(2, 3) == 5


def test_zero():
    assert add(0, 0) == 0
'''
PYPROJECT = '[tool.pytest.ini_options]\npythonpath = ["."]\n'
EXPLANATION = ("The bug is in calc.py:5: add() subtracts instead of adding; the test is right.\n\n"
               "```diff\n--- a/calc.py\n+++ b/calc.py\n@@ -4,2 +4,2 @@\n def add(a: int, b: int) -> int:\n"
               "-    return a - b\n+    return a + b\n```\n")
VENV_BIN = str(Path(sys.executable).parent)
PROJECT = Path(__file__).resolve().parent.parent


def with_venv_path(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The dev venv first on PATH, as for a user with an activated virtualenv: `pytest` resolves there."""
    return {"PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""), **(extra or {})}


@pytest.fixture
def failing_repo(make_repo) -> Path:
    return make_repo({"calc.py": CALC, "tests/test_calc.py": TEST_CALC, "pyproject.toml": PYPROJECT,
                      ".gitignore": ".pytest_cache/\n__pycache__/\n"})


def test_explains_a_failing_test_with_the_model(failing_repo, fake_openai) -> None:
    fake_openai.script([EXPLANATION])
    before = git(failing_repo, "status", "--porcelain", "--untracked-files=all")

    result = run_cli("explain-tests", str(failing_repo),
                     env=with_venv_path({"OPENAI_BASE_URL": fake_openai.base_url, "REPOPACK_MODEL": "fake-model"}))

    assert result.returncode == 1, result.stderr  # pytest's status: the hook blocks the commit
    assert result.stdout == ("1 test failed:\n"
                             "  tests/test_calc.py::test_add: assert -1 == 5\n"
                             "\n"
                             "── 1/1 tests/test_calc.py::test_add ────────\n"
                             + EXPLANATION + "\n")
    [request] = fake_openai.chat_requests
    prompt = request.prompt_text
    assert "def test_add():" in prompt and "5│     assert add(2, 3) == 5" in prompt  # the failing test
    assert "def add(a: int, b: int) -> int:" in prompt and "5│     return a - b" in prompt  # the code under test
    assert "### tests/test_calc.py::test_add (tests/test_calc.py:4)" in prompt
    assert "E       assert -1 == 5" in prompt
    assert git(failing_repo, "status", "--porcelain", "--untracked-files=all") == before  # nothing modified


def test_without_a_model_prints_failures_and_writes_the_prompt(failing_repo, tmp_path) -> None:
    out = tmp_path / "ctx"

    result = run_cli("explain-tests", str(failing_repo), "--context-dir", str(out), env=with_venv_path())

    assert result.returncode == 1
    prompt_file = out / "1-test_add.md"
    assert result.stdout.splitlines() == [
        "1 test failed:",
        "  tests/test_calc.py::test_add: assert -1 == 5",
        "",
        "── 1/1 tests/test_calc.py::test_add ────────",
        f"Packed context and question ({_tokens(result.stdout)} tokens): {prompt_file}",
        "",
        "No explanation from a model: no model endpoint configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for "
        "a non-OpenAI host), pass --api-key/--base-url, or set base_url in the user config (config.toml)",
        f"The packed prompts are in {out}; paste one into any chat model.",
    ]
    text = prompt_file.read_text(encoding="utf-8")
    assert '<file path="calc.py"' in text and "def test_add():" in text and "E       assert -1 == 5" in text


def _tokens(stdout: str) -> str:
    line = next(ln for ln in stdout.splitlines() if ln.startswith("Packed context"))
    return line.split("(", 1)[1].split(" ", 1)[0]


def test_no_block_and_passing_runs(failing_repo, fake_openai) -> None:
    env = with_venv_path({"OPENAI_BASE_URL": fake_openai.base_url})
    fake_openai.script([EXPLANATION])
    report_only = run_cli("explain-tests", str(failing_repo), "--no-block", env=env)
    assert report_only.returncode == 0 and EXPLANATION in report_only.stdout

    (failing_repo / "calc.py").write_text(CALC.replace("a - b", "a + b"), encoding="utf-8")
    fake_openai.reset()
    passing = run_cli("explain-tests", str(failing_repo), env=env)
    assert (passing.returncode, passing.stdout) == (0, "All tests passed.\n")
    assert fake_openai.chat_requests == []


def test_same_cause_is_explained_once_and_max_limits(make_repo, fake_openai) -> None:
    tests = "from calc import add\n\n" + "".join(f"def test_{i}():\n    assert add({i}, 1) == {i + 1}\n\n"
                                                 for i in range(4))
    calc = "def add(a, b):\n    raise ValueError('not implemented')\n"
    root = make_repo({"calc.py": calc, "tests/test_many.py": tests, "tests/test_other.py":
                      "def test_other():\n    assert {}['missing']\n", "pyproject.toml": PYPROJECT})
    fake_openai.script(["cause"])

    result = run_cli("explain-tests", str(root), "--max", "1", "--cmd", f"{sys.executable} -m pytest -q",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})

    assert result.returncode == 1
    assert "5 tests failed:" in result.stdout
    assert "── 1/1 tests/test_many.py::test_0 (and 3 more failing the same way)" not in result.stdout
    assert "── 1/1 tests/test_many.py::test_0 ────────" in result.stdout
    assert "(1 more distinct failure not explained; raise --max)" in result.stdout
    [request] = fake_openai.chat_requests
    assert "tests/test_many.py::test_0 (and 3 more failing the same way)" in request.prompt_text
    assert "calc.py:2: ValueError" in request.prompt_text


def test_reads_an_existing_junit_report(make_repo, tmp_path) -> None:
    root = make_repo({"app/core.py": "def load():\n    return open('x')\n", "tests/test_core.py": "x = 1\n"})
    report = tmp_path / "report.xml"
    report.write_text(f'''<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3" failures="2" errors="1">
<testcase classname="tests.test_core" name="test_load" time="0.01">
<failure message="FileNotFoundError: x">Traceback (most recent call last):
  File "{root}/tests/test_core.py", line 1, in test_load
  File "/usr/lib/python3.11/site-packages/lib.py", line 9, in helper
  File "app/core.py", line 2, in load
FileNotFoundError: x</failure></testcase>
<testcase classname="tests.test_core" name="test_load_again" time="0.01">
<failure message="FileNotFoundError: x">tests/test_core.py:1: in test_load_again
app/core.py:2: FileNotFoundError</failure></testcase>
<testcase classname="tests.test_core" name="test_setup" time="0.01">
<error message="fixture 'db' not found">file {root}/tests/test_core.py, line 1</error></testcase>
<testcase classname="tests.test_core" name="test_fine" time="0.01"/>
</testsuite></testsuites>
''', encoding="utf-8")

    failures = read_junit(report, root)

    assert [(f.name, f.kind, f.message, f.file, f.frames) for f in failures] == [
        ("tests/test_core.py::test_load", "failure", "FileNotFoundError: x", "tests/test_core.py",
         (("tests/test_core.py", 1), ("app/core.py", 2))),
        ("tests/test_core.py::test_load_again", "failure", "FileNotFoundError: x", "tests/test_core.py",
         (("tests/test_core.py", 1), ("app/core.py", 2))),
        ("tests/test_core.py::test_setup", "error", "fixture 'db' not found", "tests/test_core.py", ()),
    ]
    distinct = deduplicate(failures, 3)
    assert [(f.name, f.duplicates) for f in distinct] == [("tests/test_core.py::test_load", 1),
                                                          ("tests/test_core.py::test_setup", 0)]

    result = run_cli("explain-tests", str(root), "--junit", str(report), "--context-dir", str(tmp_path / "ctx"))
    assert result.returncode == 1
    assert result.stdout.startswith("3 tests failed:\n  tests/test_core.py::test_load: FileNotFoundError: x\n")
    assert sorted(p.name for p in (tmp_path / "ctx").iterdir()) == ["1-test_load.md", "2-test_setup.md"]


def test_traceback_frames_keep_repository_files_only(tmp_path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/mod.py").write_text("x\n" * 20)
    text = ("pkg/mod.py:12: in run\n    helper()\n/usr/lib/python3/json/decoder.py:355: JSONDecodeError\n"
            f'  File "{tmp_path}/pkg/mod.py", line 3, in helper\n  File "pkg/missing.py", line 1, in x\n'
            "pkg/mod.py:12: in run\n")
    assert traceback_frames(text, tmp_path) == (("pkg/mod.py", 12), ("pkg/mod.py", 3))


def test_timeout_and_usage_errors(make_repo, tmp_path) -> None:
    root = make_repo({"a.py": "x = 1\n"})
    slow = run_cli("explain-tests", str(root), "--cmd", f"{sys.executable} -c 'import time; time.sleep(30)'",
                   "--junit", str(tmp_path / "never.xml"), "--timeout", "1")
    assert slow.returncode == 124
    assert slow.stdout == "The tests did not finish within 1 s and were stopped.\n"

    other = run_cli("explain-tests", str(root), "--cmd", "make test")
    assert other.returncode == 2
    assert "--cmd is not pytest" in other.stderr and "--junit FILE" in other.stderr

    missing = run_cli("explain-tests", str(root), "--cmd", "no-such-test-runner --junitxml=x", "--junit", "x.xml")
    assert missing.returncode == 2 and "cannot run 'no-such-test-runner': not found" in missing.stderr


def _hook_repo(tmp_path: Path) -> Path:
    """This project's working tree as a committed git repo: what pre-commit installs the hook from."""
    listed = subprocess.run(["git", "-C", str(PROJECT), "ls-files", "-co", "--exclude-standard", "-z"],
                            capture_output=True, text=True, check=True).stdout.split("\0")
    keep = ("repopack/", "prompts/", "tui/", "pyproject.toml", "README.md", ".pre-commit-hooks.yaml")
    hook_repo = tmp_path / "hook-src"
    for rel in filter(None, listed):
        if rel.startswith(keep) and (PROJECT / rel).is_file():
            (hook_repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / rel, hook_repo / rel)
    git(hook_repo, "init", "-q", "-b", "main")
    git(hook_repo, "add", "-A")
    git(hook_repo, "commit", "-q", "-m", "hook source")
    return hook_repo


@pytest.mark.slow
def test_pre_commit_try_repo_blocks_and_explains(failing_repo, fake_openai, tmp_path) -> None:
    """A real pre-commit run: it builds the hook's own virtualenv by pip-installing repopack (~1 minute)."""
    pre_commit = Path(VENV_BIN) / "pre-commit"
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed (it is in the test extras)")
    hook_repo = _hook_repo(tmp_path)
    fake_openai.script([EXPLANATION])
    env = {**os.environ, **with_venv_path({"OPENAI_BASE_URL": fake_openai.base_url, "REPOPACK_MODEL": "fake-model",
                                           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
                                           "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"})}

    result = subprocess.run([str(pre_commit), "try-repo", str(hook_repo), "repopack-explain-tests", "--all-files",
                             "--verbose", "--color", "never"], cwd=failing_repo, env=env, capture_output=True,
                            text=True, timeout=900)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "explain failing tests (repopack)" in result.stdout and "Failed" in result.stdout
    assert "- exit code: 1" in result.stdout
    assert "tests/test_calc.py::test_add: assert -1 == 5" in result.stdout
    assert "The bug is in calc.py:5: add() subtracts instead of adding" in result.stdout
    [request] = fake_openai.chat_requests
    assert "def add(a: int, b: int) -> int:" in request.prompt_text and "def test_add():" in request.prompt_text
    assert git(failing_repo, "diff") == ""  # the hook changed nothing
