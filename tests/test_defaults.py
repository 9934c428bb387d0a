"""Defaults a careful user would pick: a moderate budget (or the measured effective context) instead
of the whole window, said out loud, and a cost preflight that asks on a terminal and refuses without one."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest
from conftest import git
from helpers import SCRIPT, run_cli
from support.fake_openai import FakeOpenAI

from repopack.model.effective import Measurement, store_measurement

QUESTION = "Where is the invoice total computed?"


def module_text(i: int) -> str:
    funcs = "".join(
        f'''

def handler_{i}_{j}(request_{j}: dict[str, int], limit_{j}: int = {j}) -> int:
    """Handle request kind {j} of module {i}: sum the fields below the limit."""
    total_{j} = 0
    for key_{j}, value_{j} in sorted(request_{j}.items()):
        if value_{j} < limit_{j} and not key_{j}.startswith("_"):
            total_{j} += value_{j} * {i + j}
    return total_{j}
''' for j in range(14))
    return f'"""Module {i} of the generated service."""\n\nfrom __future__ import annotations\n{funcs}'


@pytest.fixture(scope="module")
def big_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~100 files, well over 64k tokens: a default budget of the whole window would send it all."""
    root = tmp_path_factory.mktemp("big") / "service"
    (root / "service").mkdir(parents=True)
    for i in range(100):
        (root / "service" / f"mod_{i:03}.py").write_text(module_text(i), encoding="utf-8")
    (root / "service" / "billing.py").write_text(
        "def invoice_total(items):\n    return sum(i.price for i in items)\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "generated")
    return root


def dry_run_lines(stdout: str) -> dict[str, str]:
    return {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in stdout.splitlines() if ": " in line}


def test_without_a_budget_or_a_measurement_ask_packs_at_most_64k_and_says_why(big_repo: Path) -> None:
    result = run_cli("ask", str(big_repo), QUESTION, "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["budget"] == 64_000
    assert record["budget_note"] == ("the default, as gpt-4.1's effective context is not measured: "
                                     "`repopack eval needle` measures it, --budget overrides it")
    assert 60_000 < record["estimated_input_tokens"] <= 64_000 + 1_000  # + system prompt and question
    assert any(f["mode"] != "full" for f in record["files"])  # the rest is left out, not sent


def test_a_measured_effective_context_is_the_default(big_repo: Path) -> None:
    store_measurement(Measurement("gpt-4.1", 16_000, 8_000, 128_000, 0.9, "2026-01-01T00:00:00Z"))
    result = run_cli("ask", str(big_repo), QUESTION, "--dry-run")
    assert result.returncode == 0, result.stderr
    budget = dry_run_lines(result.stdout)["Budget"]
    tokens = int(budget.split(" ", 1)[0].replace(",", ""))
    assert 15_000 < tokens < 16_000  # the measured size minus the system prompt and question
    assert budget.endswith("(the measured effective context of gpt-4.1 (16k, `repopack eval needle`); "
                           "--budget overrides it)")


def test_above_the_default_cost_limit_a_pipe_is_refused_with_the_flag_to_raise_it(
        big_repo: Path, fake_openai: FakeOpenAI) -> None:
    result = run_cli("ask", str(big_repo), QUESTION, "--budget", "120k",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 11
    assert fake_openai.requests == []
    last = result.stderr.splitlines()[-1]
    assert last.startswith("repopack: error: estimated cost $0.")
    assert " is above the default limit of $0.25; lower --budget, or raise the limit with --max-cost 0." in last
    assert last.endswith(" (or max_cost in the user config)")
    cost = float(last.split("$", 1)[1].split(" ", 1)[0])
    flag = float(last.split("--max-cost ", 1)[1].split(" ", 1)[0])
    assert 0.25 < cost <= flag < cost + 0.01
    raised = run_cli("ask", str(big_repo), QUESTION, "--budget", "120k", "--max-cost", str(flag),
                     env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert raised.returncode == 0, raised.stderr
    assert len(fake_openai.chat_requests) == 1


def test_max_cost_below_the_estimate_refuses_without_a_terminal(fixture_repo, fake_openai: FakeOpenAI) -> None:
    result = run_cli("ask", str(fixture_repo("pyapp")), QUESTION, "--max-cost", "0.01",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 11
    assert result.stderr.splitlines()[-1].endswith(" is above --max-cost $0.0100; lower --budget or raise --max-cost")
    assert fake_openai.requests == []


def test_review_checks_the_cost_too(make_repo, fake_openai: FakeOpenAI) -> None:
    root = make_repo({"flags.py": "def on(v):\n    return v == 'yes'\n"})
    git(root, "switch", "-q", "-c", "feature")
    (root / "flags.py").write_text("def on(v):\n    return v.lower() == 'yes'\n", encoding="utf-8")
    result = run_cli("review", "--base", "main", str(root), "--max-cost", "0.001",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 11, result.stderr
    assert "is above --max-cost $0.0010" in result.stderr
    assert fake_openai.requests == []


def ask_on_a_terminal(root: Path, fake: FakeOpenAI, answer: str) -> tuple[int, str]:
    """Run the real script with stdin and stderr on a pseudo-terminal; answer its question."""
    master, slave = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "OPENAI_BASE_URL": fake.base_url}
    proc = subprocess.Popen([str(SCRIPT), "ask", str(root), QUESTION, "--max-cost", "0.01"], stdin=slave,
                            stdout=subprocess.PIPE, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while b"Send anyway?" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                seen += os.read(master, 4096)
        os.write(master, answer.encode() + b"\n")
        proc.wait(timeout=60)
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.stdout is not None
    proc.stdout.close()
    return proc.returncode, seen.decode("utf-8", "replace")


def test_on_a_terminal_a_costly_call_is_asked_about(fixture_repo, fake_openai: FakeOpenAI) -> None:
    root = fixture_repo("pyapp")
    fake_openai.script(["billing.py:15"])
    code, screen = ask_on_a_terminal(root, fake_openai, "y")
    assert code == 0, screen
    assert "is above the limit of $0.01 (max_cost). Send anyway? [y/N]" in screen
    assert len(fake_openai.chat_requests) == 1
    fake_openai.reset()
    code, screen = ask_on_a_terminal(root, fake_openai, "n")
    assert code == 11, screen
    assert fake_openai.requests == []


def test_review_reads_the_change_and_its_neighbourhood_not_the_whole_repository(make_repo,
                                                                                fake_openai: FakeOpenAI) -> None:
    root = make_repo({
        "pkg/__init__.py": "",
        "pkg/mathutil.py": "def scale(value, factor):\n    return value * factor\n",
        "pkg/report.py": "from pkg.mathutil import scale\n\n\ndef render(n):\n    return f'total: {scale(n, 2)}'\n",
        "pkg/unrelated.py": "def greet(name):\n    return 'hello ' + name\n",
        ".github/ISSUE_TEMPLATE/bug-report.md": "---\nname: Bug report\n---\nDescribe the bug.\n",
        ".github/workflows/ci.yml": "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n",
        "README.md": "# widgets\n",
    })
    git(root, "switch", "-q", "-c", "feature")
    (root / "pkg/mathutil.py").write_text("def scale(value, factor):\n    return value * abs(factor)\n",
                                          encoding="utf-8")
    fake_openai.script([json.dumps({"summary": "ok", "findings": []})])
    result = run_cli("review", "--base", "main", str(root), "--output", "json",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 0, result.stderr
    assert "note: a budget of 64,000 tokens: the default, as gpt-4.1's effective context is not measured" in (
        result.stderr)
    read = {f["path"] for f in json.loads(result.stdout)["context"]["files"]}
    assert {"pkg/mathutil.py", "pkg/report.py"} <= read
    assert not read & {".github/ISSUE_TEMPLATE/bug-report.md", ".github/workflows/ci.yml", "pkg/unrelated.py"}
    [request] = fake_openai.chat_requests
    assert "Describe the bug." not in request.prompt_text and "runs-on" not in request.prompt_text
