"""`repopack ask` and `repopack undo` through the installed console script against the fake
OpenAI server over real HTTP (tests/support/fake_openai.py); the SDK is never mocked."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import SCRIPT, run_cli
from support.fake_openai import FakeOpenAI

QUESTION = "Where is compute_invoice_total defined?"
REPLY = "compute_invoice_total is defined in pyapp/billing.py:15."
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SETTINGS_PY = (f'"""Deployment settings."""\nAWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\n'
               f'AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"\n')
NO_ENDPOINT = ("repopack: error: no model endpoint configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a "
               "non-OpenAI host), pass --api-key/--base-url, or set base_url in the user config (config.toml)\n")

BILLING_EDIT = '''--- a/pyapp/billing.py
+++ b/pyapp/billing.py
@@ -1,3 +1,3 @@
-"""Invoice arithmetic."""
+"""Invoice arithmetic: totals with tax."""
 
 from __future__ import annotations
'''
OUTSIDE_EDIT = '''--- a/../outside.txt
+++ b/../outside.txt
@@ -1 +1 @@
-keep me
+overwritten
'''


@pytest.fixture
def pyapp(fixture_repo) -> Path:
    return fixture_repo("pyapp")


def ask(root: Path, fake: FakeOpenAI, *args: str, env: dict[str, str] | None = None,
        question: str = QUESTION) -> subprocess.CompletedProcess[str]:
    return run_cli("ask", str(root), question, *args, env={"OPENAI_BASE_URL": fake.base_url, **(env or {})})


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def ask_in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fake_openai: FakeOpenAI):
    """`repopack ask …` through the console script's own entry point, in this process.

    Same argument parsing, error mapping and exit codes as the script, without paying
    ~1 s of interpreter start-up and imports per call; the must-show checks above and
    Ctrl-C use the real script.
    """
    from repopack.cli import main

    def _run(*args: str, stdin: str | None = None, endpoint: bool = True) -> Ran:
        monkeypatch.setenv("NO_COLOR", "1")
        if endpoint:
            monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
        else:
            monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            main(["ask", *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return _run


def fence(*diffs: str) -> str:
    return "Here is the change.\n\n```diff\n" + "".join(diffs) + "```\n"


def gpt41_cost(input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * 2.0 + output_tokens * 8.0) / 1_000_000


def test_answer_is_streamed_and_the_request_holds_the_defining_file(pyapp: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script([REPLY], chunk_size=5)
    result = ask(pyapp, fake_openai)
    assert result.returncode == 0, result.stderr
    assert result.stdout == REPLY + "\n"
    (request,) = fake_openai.chat_requests
    assert request.body["stream"] is True
    assert request.body["model"] == "gpt-4.1"
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
    assert (pyapp / "pyapp/billing.py").read_text(encoding="utf-8") in request.prompt_text
    assert request.prompt_text.rstrip().endswith("Answer concisely and cite the files and lines you rely on. "
                                                 "If the answer needs code changes, include them as unified "
                                                 "diffs as described.")
    input_tokens, output_tokens = len(request.prompt_text) // 4, len(REPLY) // 4
    assert result.stderr.endswith(
        f"Tokens: {input_tokens:,} in, {output_tokens:,} out; estimated cost "
        f"${gpt41_cost(input_tokens, output_tokens):.4f} (gpt-4.1 list price)\n")
    assert "Sending 9 files (9 full)" in result.stderr


def test_planted_aws_key_is_never_sent_nor_packed_and_reported_by_line(pyapp: Path, fake_openai: FakeOpenAI,
                                                                        tmp_path: Path) -> None:
    from conftest import git

    (pyapp / "pyapp/settings.py").write_text(SETTINGS_PY, encoding="utf-8")
    git(pyapp, "add", "pyapp/settings.py")
    git(pyapp, "commit", "-q", "-m", "settings")
    fake_openai.script(echo_half=True)  # the reply echoes the prompt: it must not leak either
    result = ask(pyapp, fake_openai)
    assert result.returncode == 0, result.stderr
    (request,) = fake_openai.chat_requests
    raw = json.dumps(request.body)
    for value in (AWS_KEY_ID, AWS_SECRET, AWS_SECRET.replace("/", "\\/")):
        assert value not in raw
        assert value not in result.stdout and value not in result.stderr
    assert 'AWS_ACCESS_KEY_ID = "[REDACTED:AWS Access Key]"' in request.prompt_text
    assert ("redacted 2 secrets in 1 file: 2 AWS; see --json\n"
            "secret redacted: pyapp/settings.py:2 (AWS Access Key)\n"
            "secret redacted: pyapp/settings.py:3 (AWS Secret Key)\n") in result.stderr

    packed = run_cli("pack", str(pyapp), "-o", "-")
    assert packed.returncode == 0, packed.stderr
    assert "[REDACTED:AWS Access Key]" in packed.stdout
    for value in (AWS_KEY_ID, AWS_SECRET):
        assert value not in packed.stdout and value not in packed.stderr
    assert "redacted 2 secrets in 1 file: 2 AWS; see --manifest\n" in packed.stderr
    assert "secret redacted: pyapp/settings.py:2 (AWS Access Key)" in packed.stderr


def test_no_redact_sends_the_secret_and_says_so(make_repo, fake_openai: FakeOpenAI, ask_in_process) -> None:
    root = make_repo({"settings.py": SETTINGS_PY})
    result = ask_in_process(str(root), "What are the settings?", "--no-redact")
    assert result.returncode == 0, result.stderr
    assert AWS_KEY_ID in fake_openai.chat_requests[0].prompt_text
    assert result.stderr.startswith("warning: secret redaction is off (--no-redact)\n")


def test_dry_run_sends_nothing_and_lists_files_tokens_cost_budget(pyapp: Path, fake_openai: FakeOpenAI,
                                                                  ask_in_process) -> None:
    result = ask_in_process(str(pyapp), QUESTION, "--dry-run", "--budget", "5000")
    assert result.returncode == 0, result.stderr
    assert fake_openai.requests == []
    lines = result.stdout.splitlines()
    assert lines[:4] == ["Dry run: nothing was sent.", "Model: gpt-4.1 (window 1,047,576 tokens)",
                         f"Endpoint: {fake_openai.base_url}", "Budget: 5,000 tokens for the packed context"]
    assert lines[4].startswith("Would send: 9 files (9 full), ~") and lines[4].endswith(" tokens in 2 messages")
    assert lines[5].startswith("Estimated cost: at most $0.06")
    assert lines[6] == "Full (9):"
    assert sorted(line.split(" (")[0].strip() for line in lines[7:]) == sorted(
        str(p.relative_to(pyapp)) for p in pyapp.rglob("*") if p.is_file() and ".git" not in p.parts)


def test_dry_run_needs_no_endpoint_and_unknown_models_are_flagged(pyapp: Path, ask_in_process) -> None:
    from repopack.model.templates import render_template
    from repopack.packing.tokens import get_tokenizer

    result = ask_in_process(str(pyapp), QUESTION, "--dry-run", "--model", "mystery-model", "--max-cost", "1",
                            endpoint=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:4] == [
        "Model: mystery-model (window 128,000 tokens, a guess)",
        "Endpoint: not configured (set OPENAI_BASE_URL or OPENAI_API_KEY)",
        "Budget: 64,000 tokens for the packed context (the default, as mystery-model's effective context is not "
        "measured: `repopack eval needle` measures it, --budget overrides it)"]
    # A window too small for the default: what it leaves after the answer, the system prompt and the question.
    small = ask_in_process(str(pyapp), QUESTION, "--dry-run", "--model", "mystery-model", "--window", "32000",
                           endpoint=False)
    tok = get_tokenizer(None)  # window - min(reserve 8192, max output 4096) - system prompt - question - 200
    expected = 32_000 - 4_096 - tok.count(render_template("system", repo_name="pyapp")) - tok.count(QUESTION) - 200
    assert small.stdout.splitlines()[3] == (f"Budget: {expected:,} tokens for the packed context (what the "
                                            "32,000-token window of mystery-model leaves)")
    assert "warning: no price is known for mystery-model, so --max-cost cannot be checked\n" in result.stderr


def test_max_cost_refuses_before_sending(pyapp: Path, fake_openai: FakeOpenAI, ask_in_process) -> None:
    result = ask_in_process(str(pyapp), QUESTION, "--max-cost", "0.001")
    assert result.returncode == 11
    assert fake_openai.requests == []
    last = result.stderr.splitlines()[-1]
    assert last.startswith("repopack: error: estimated cost $0.06")
    assert last.endswith(" is above --max-cost $0.0010; lower --budget or raise --max-cost")


def test_no_endpoint_is_one_line_and_exit_7(pyapp: Path) -> None:
    result = run_cli("ask", str(pyapp), QUESTION)
    assert result.returncode == 7
    assert result.stderr == NO_ENDPOINT
    assert result.stdout == ""


def test_401_is_one_line_exit_8_without_traceback(pyapp: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(statuses=[401])
    result = ask(pyapp, fake_openai, env={"OPENAI_API_KEY": "sk-wrong"})
    assert result.returncode == 8
    assert "Traceback" not in result.stderr and "sk-wrong" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"repopack: error: the endpoint refused the API key (HTTP 401 from {fake_openai.base_url}): "
        "check OPENAI_API_KEY or --api-key")
    assert len(fake_openai.chat_requests) == 1
    assert fake_openai.chat_requests[0].headers["authorization"] == "Bearer <redacted>"


def test_429_is_retried_with_a_notice(pyapp: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script([REPLY], statuses=[429], retry_after=0)
    result = ask(pyapp, fake_openai)
    assert result.returncode == 0, result.stderr
    assert result.stdout == REPLY + "\n"
    assert len(fake_openai.chat_requests) == 2
    assert (f"notice: HTTP 429 from {fake_openai.base_url}; retrying in 0.0s (attempt 2 of 4)\n"
            in result.stderr)


def test_persistent_429_is_exit_9_after_bounded_retries(pyapp: Path, fake_openai: FakeOpenAI,
                                                        ask_in_process) -> None:
    fake_openai.script(statuses=[429] * 10, retry_after=0)
    result = ask_in_process(str(pyapp), QUESTION)
    assert result.returncode == 9
    assert len(fake_openai.chat_requests) == 4
    assert result.stderr.splitlines()[-1] == (f"repopack: error: rate limited (HTTP 429) from {fake_openai.base_url} "
                                              "after 4 attempts; wait and try again")


def test_context_length_exceeded_gets_one_smaller_request(make_repo, fake_openai: FakeOpenAI) -> None:
    rates = "".join(f"RATE_{i} = {i * 37 % 1000} / 1000  # regional tax rate table entry {i}\n" for i in range(300))
    root = make_repo({"billing.py": "def compute_invoice_total(items):\n    return sum(items)\n",
                      "rates.py": rates})
    limit = 12_000
    fake_openai.script([REPLY], context_limit=limit)
    result = ask(root, fake_openai)
    assert result.returncode == 0, result.stderr
    assert result.stdout == REPLY + "\n"
    first, second = fake_openai.chat_requests
    assert len(first.prompt_text) > limit >= len(second.prompt_text)
    assert "def compute_invoice_total(items):" in second.prompt_text
    notice = [line for line in result.stderr.splitlines() if line.startswith("notice:")]
    assert len(notice) == 1
    assert notice[0].startswith("notice: the model rejected the prompt as too long; retrying once with a budget of ")


def test_context_too_long_even_after_shrinking_is_exit_10(pyapp: Path, fake_openai: FakeOpenAI,
                                                          ask_in_process) -> None:
    fake_openai.script(context_limit=100)
    result = ask_in_process(str(pyapp), QUESTION)
    assert result.returncode == 10
    assert len(fake_openai.chat_requests) == 2
    assert result.stderr.splitlines()[-1] == (f"repopack: error: the prompt is longer than 'gpt-4.1' accepts at "
                                              f"{fake_openai.base_url}: lower --budget")


def test_network_timeout_is_a_clear_message(pyapp: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(["late"], chunk_delay=1.0, chunk_size=4)
    result = ask(pyapp, fake_openai, "--timeout", "0.3")
    assert result.returncode == 6
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (f"repopack: error: the request to {fake_openai.base_url} timed out "
                                              "after 0.3s; try again, raise the timeout, or send a smaller --budget")


def test_apply_writes_inside_refuses_outside_and_undo_restores_bytes(fixture_repo, fake_openai: FakeOpenAI,
                                                                      tmp_path: Path) -> None:
    root = fixture_repo("pyapp")
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me\n")
    billing = root / "pyapp/billing.py"
    original = billing.read_bytes()
    fake_openai.script([fence(BILLING_EDIT, OUTSIDE_EDIT)])

    result = ask(root, fake_openai, "--apply")
    assert result.returncode == 12
    assert "Traceback" not in result.stderr
    assert ("applied: pyapp/billing.py\n"
            "rejected: ../outside.txt: path leaves the repository ('..')\n"
            f"Undo with: repopack undo {root}\n") in result.stderr
    assert result.stderr.splitlines()[-1] == ("repopack: error: 1 of 2 edited files could not be applied "
                                              "(reasons above)")
    assert outside.read_bytes() == b"keep me\n"
    assert billing.read_bytes() == original.replace(b'"""Invoice arithmetic."""',
                                                    b'"""Invoice arithmetic: totals with tax."""')

    undone = run_cli("undo", str(root))
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout == "pyapp/billing.py\n"
    assert undone.stderr == f"Restored 1 file from the last apply in {root}\n"
    assert billing.read_bytes() == original
    assert outside.read_bytes() == b"keep me\n"

    again = run_cli("undo", str(root))
    assert again.returncode == 14
    assert again.stderr == f"repopack: error: nothing to undo in {root}: no undo record of its own\n"


def test_edits_are_listed_not_applied_without_apply(pyapp: Path, fake_openai: FakeOpenAI, ask_in_process) -> None:
    original = (pyapp / "pyapp/billing.py").read_bytes()
    fake_openai.script([fence(BILLING_EDIT)])
    result = ask_in_process(str(pyapp), QUESTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout == fence(BILLING_EDIT)
    assert ("Proposed edits (1):\n  pyapp/billing.py (+1 -1)\nRun again with --apply to apply them.\n"
            in result.stderr)
    assert (pyapp / "pyapp/billing.py").read_bytes() == original
    assert not (pyapp / ".repopack").exists()


def test_json_output_with_apply(pyapp: Path, fake_openai: FakeOpenAI, ask_in_process) -> None:
    fake_openai.script([fence(BILLING_EDIT)])
    result = ask_in_process(str(pyapp), QUESTION, "--json", "--apply")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    (request,) = fake_openai.chat_requests
    usage = {"input_tokens": len(request.prompt_text) // 4, "output_tokens": len(fence(BILLING_EDIT)) // 4}
    assert record["answer"] == fence(BILLING_EDIT)
    assert record["usage"] == usage
    assert record["cost"] == pytest.approx(gpt41_cost(usage["input_tokens"], usage["output_tokens"]))
    assert record["dry_run"] is False and record["model"] == "gpt-4.1"
    assert record["endpoint"] == fake_openai.base_url
    assert {f["path"] for f in record["files"]} >= {"pyapp/billing.py", "pyapp/models.py"}
    assert {f["mode"] for f in record["files"]} == {"full"}
    assert [(e["path"], e["new_file"], e["deleted"]) for e in record["edits"]] == [("pyapp/billing.py", False, False)]
    assert record["edits"][0]["diff"].startswith("--- a/pyapp/billing.py\n+++ b/pyapp/billing.py\n@@ -1,3 +1,3 @@")
    assert record["apply"] == {"applied": ["pyapp/billing.py"], "rejected": []}
    assert record["secrets"] == [] and record["notices"] == []


def _default_sigint() -> None:
    """A test run started as a background job ignores SIGINT, and children inherit that: undo it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_ctrl_c_while_streaming_exits_130_and_writes_nothing(pyapp: Path, fake_openai: FakeOpenAI) -> None:
    original = (pyapp / "pyapp/billing.py").read_bytes()
    # A slow stream (about 20 s in all) so the interrupt lands mid-answer even on a loaded machine.
    fake_openai.script([fence(BILLING_EDIT)], chunk_size=4, chunk_delay=0.25)
    env = {**os.environ, "NO_COLOR": "1", "OPENAI_BASE_URL": fake_openai.base_url}
    proc = subprocess.Popen([str(SCRIPT), "ask", str(pyapp), QUESTION, "--apply"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint)
    assert proc.stdout is not None
    first = proc.stdout.read(4)  # the answer has started streaming
    assert first == b"Here"
    time.sleep(0.1)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    stderr = err.decode()
    assert stderr.endswith("repopack: interrupted\n")
    assert "Traceback" not in stderr and "applied:" not in stderr
    assert (pyapp / "pyapp/billing.py").read_bytes() == original
    assert not (pyapp / ".repopack").exists()


def test_flags_choose_model_endpoint_prompts_and_focus(pyapp: Path, fake_openai: FakeOpenAI, tmp_path: Path,
                                                       ask_in_process) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "ask.j2").write_text("MY TEMPLATE focus={{ focus | join(',') }}\n{{ context }}\nQ: {{ question }}\n")
    fake_openai.script([REPLY])
    result = ask_in_process(str(pyapp), QUESTION, "--base-url", fake_openai.base_url, "--api-key", "sk-flag",
                            "--model", "llama-4-scout", "--prompts", str(prompts), "--focus", "pyapp/server.py",
                            endpoint=False)
    assert result.returncode == 0, result.stderr
    (request,) = fake_openai.chat_requests
    assert request.body["model"] == "llama-4-scout"
    user = request.body["messages"][1]["content"]
    assert user.startswith("MY TEMPLATE focus=pyapp/server.py\n")
    assert user.endswith(f"Q: {QUESTION}\n")
    assert "llama-4-scout list price" in result.stderr


def test_question_from_stdin_and_path_defaults_to_cwd(pyapp: Path, fake_openai: FakeOpenAI, ask_in_process,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fake_openai.script([REPLY])
    monkeypatch.chdir(pyapp)
    result = ask_in_process("-", stdin=QUESTION)
    assert result.returncode == 0, result.stderr
    assert f"Question: {QUESTION}" in fake_openai.chat_requests[0].prompt_text


def test_bad_usage_is_exit_2(pyapp: Path, ask_in_process) -> None:
    result = ask_in_process(str(pyapp), "two", "questions")
    assert result.returncode == 2
    assert result.stderr == "repopack: error: expected [PATH] QUESTION, got 3 arguments; quote the question\n"
    dry_apply = ask_in_process(str(pyapp), QUESTION, "--dry-run", "--apply")
    assert dry_apply.returncode == 2
