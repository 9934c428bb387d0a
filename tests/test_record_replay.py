"""--record DIR / --replay DIR (and REPOPACK_RECORD / REPOPACK_REPLAY): model calls stored by request
hash and answered from disk, so review and explain-tests run deterministically without a network."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import git
from helpers import run_cli
from support.fake_openai import FakeOpenAI

from repopack.model.recording import request_hash

API_KEY = "sk-proj-recordingTEST0123456789abcdefXYZ"
FLAGS = '''def is_truthy(val: str) -> bool:
    return val == "yes"
'''
REVIEW = json.dumps({"summary": "Case-insensitive flags.", "findings": [{
    "file": "flags.py", "line": 2, "severity": "low", "title": "Also accept 'true'",
    "body": "Users write true.", "suggestion": '    return val.lower() in ("yes", "true")'}]})


@pytest.fixture
def changed_repo(make_repo) -> Path:
    root = make_repo({"flags.py": FLAGS, "README.md": "# flags\n"})
    git(root, "switch", "-q", "-c", "feature")
    (root / "flags.py").write_text(FLAGS.replace('val == "yes"', 'val.lower() == "yes"'), encoding="utf-8")
    git(root, "commit", "-q", "-am", "flags: ignore case")
    return root


def recorded_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json"))


def test_replayed_review_sends_nothing_and_prints_the_same(changed_repo: Path, fake_openai: FakeOpenAI,
                                                           tmp_path: Path) -> None:
    tapes = tmp_path / "tapes"
    fake_openai.script([REVIEW])
    live = {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": API_KEY, "REPOPACK_MODEL": "fake-model"}
    recorded = run_cli("review", "--base", "main", str(changed_repo), "--output", "json", "--record", str(tapes),
                       env=live)
    assert recorded.returncode == 0, recorded.stderr
    assert len(fake_openai.chat_requests) == 1
    [tape] = recorded_files(tapes)
    text = tape.read_text(encoding="utf-8")
    assert API_KEY not in text and fake_openai.base_url not in text  # neither the key nor the endpoint
    data = json.loads(text)
    request = fake_openai.chat_requests[0].body
    params = {k: v for k, v in request.items() if k not in ("model", "messages")}
    assert tape.name == request_hash("fake-model", request["messages"], params, False) + ".json"
    assert data["reply"]["text"] == REVIEW

    fake_openai.reset()
    replayed = run_cli("review", "--base", "main", str(changed_repo), "--output", "json", "--replay", str(tapes),
                       env={"REPOPACK_MODEL": "fake-model", "OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""})
    assert replayed.returncode == 0, replayed.stderr
    assert fake_openai.requests == []  # no request of any kind reached the server
    assert replayed.stdout == recorded.stdout
    assert json.loads(replayed.stdout)["findings"][0]["suggestion"] == '    return val.lower() in ("yes", "true")'


def test_ask_records_and_replays_through_the_environment(changed_repo: Path, fake_openai: FakeOpenAI,
                                                         tmp_path: Path) -> None:
    tapes = tmp_path / "tapes"
    fake_openai.script(["is_truthy is in flags.py:1."], chunk_size=3)
    first = run_cli("ask", str(changed_repo), "Where is is_truthy?",
                    env={"OPENAI_BASE_URL": fake_openai.base_url, "REPOPACK_RECORD": str(tapes)})
    assert first.returncode == 0, first.stderr
    [tape] = recorded_files(tapes)
    assert [e.get("text") for e in json.loads(tape.read_text())["reply"]["events"]][:3] == ["is_", "tru", "thy"]
    fake_openai.reset()
    again = run_cli("ask", str(changed_repo), "Where is is_truthy?", env={"REPOPACK_REPLAY": str(tapes)})
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout == "is_truthy is in flags.py:1.\n"
    assert fake_openai.requests == []
    other = run_cli("ask", str(changed_repo), "Where is README?", env={"REPOPACK_REPLAY": str(tapes)})
    assert other.returncode == 6
    assert other.stderr.splitlines()[-1].startswith(
        f"repopack: error: no recorded reply in {tapes} for this request (hash ")
    assert fake_openai.requests == []


def test_explain_tests_replays(make_repo, fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    root = make_repo({"calc.py": "def add(a, b):\n    return a - b\n",
                      "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
                      "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
                      ".gitignore": ".pytest_cache/\n__pycache__/\n"})
    tapes = tmp_path / "tapes"
    path = {"PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    fake_openai.script(["add() subtracts: calc.py:2."])
    first = run_cli("explain-tests", str(root), "--record", str(tapes),
                    env={**path, "OPENAI_BASE_URL": fake_openai.base_url})
    assert first.returncode == 1, first.stderr
    assert "add() subtracts: calc.py:2." in first.stdout
    fake_openai.reset()
    again = run_cli("explain-tests", str(root), "--replay", str(tapes), env=path)
    assert (again.returncode, again.stdout) == (1, first.stdout)
    assert fake_openai.requests == []


def test_record_and_replay_together_or_a_missing_directory_are_usage_errors(changed_repo: Path,
                                                                             tmp_path: Path) -> None:
    both = run_cli("ask", str(changed_repo), "q", "--record", str(tmp_path / "a"), "--replay", str(tmp_path))
    assert (both.returncode, both.stderr) == (2, "repopack: error: give --record DIR or --replay DIR "
                                                 "(REPOPACK_RECORD / REPOPACK_REPLAY), not both\n")
    missing = run_cli("review", "--base", "main", str(changed_repo), "--replay", str(tmp_path / "nope"))
    assert (missing.returncode, missing.stderr) == (
        2, f"repopack: error: --replay {tmp_path / 'nope'}: no such directory of recordings\n")


def test_chat_checks_its_recording_flags_before_the_ui_starts(changed_repo: Path, tmp_path: Path) -> None:
    result = run_cli("chat", str(changed_repo), "--replay", str(tmp_path / "none"))
    assert (result.returncode, result.stderr) == (
        2, f"repopack: error: --replay {tmp_path / 'none'}: no such directory of recordings\n")


def test_scoped_env_puts_the_environment_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from repopack.cli.chat import scoped_env

    monkeypatch.setenv("REPOPACK_REPLAY", "before")
    monkeypatch.delenv("REPOPACK_RECORD", raising=False)
    with scoped_env({"REPOPACK_RECORD": "tapes", "REPOPACK_REPLAY": None}):
        assert os.environ["REPOPACK_RECORD"] == "tapes" and "REPOPACK_REPLAY" not in os.environ
    assert os.environ["REPOPACK_REPLAY"] == "before" and "REPOPACK_RECORD" not in os.environ
