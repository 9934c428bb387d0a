"""Review suggestions keep their exact whitespace (Python indentation, tabs) from the model's JSON
through the posted GitHub comment, `--output md|json|sarif`, over real HTTP with the fake servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from helpers import run_cli
from support.fake_github import FakeGitHub, serve_fake_github

from repopack.review.findings import parse_review

BEFORE = '''def is_truthy(val: str) -> bool:
    if val:
        if val.strip():
            return val == "yes"
    return False
'''
AFTER = BEFORE.replace('            return val == "yes"\n', '            return val.lower() == "yes"\n')
# Eight spaces, then the code, then a tab before the comment: all of it must survive.
SUGGESTION = '            return val.lower() in ("yes", "true", "1")\t# accept the usual spellings'
EIGHT_AND_TAB = "        return val.lower() in (\"y\",)\n\t# tab-indented note"


def review_reply(suggestion: str) -> str:
    return json.dumps({"summary": "Case-insensitive flag parsing.", "findings": [{
        "file": "flags.py", "line": 4, "severity": "medium", "title": "Only 'yes' is accepted",
        "body": "Other spellings of true are rejected.", "suggestion": suggestion}]})


@pytest.fixture
def pr_repo(make_repo) -> Path:
    root = make_repo({"flags.py": BEFORE, "README.md": "# flags\n"})
    git(root, "switch", "-q", "-c", "feature")
    (root / "flags.py").write_text(AFTER, encoding="utf-8")
    git(root, "commit", "-q", "-am", "flags: ignore case")
    return root


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with serve_fake_github() as handle:
        yield handle


def test_schema_keeps_leading_spaces_and_tabs() -> None:
    review = parse_review(review_reply("\n" + EIGHT_AND_TAB + "\n"))
    assert review.findings[0].suggestion == EIGHT_AND_TAB
    assert review.findings[0].title == "Only 'yes' is accepted"
    assert parse_review(review_reply(" \t\n")).findings[0].suggestion is None


def test_posted_suggestion_keeps_eight_spaces_and_a_tab(pr_repo: Path, fake_github: FakeGitHub, fake_openai) -> None:
    fake_github.add_pull_from_git(pr_repo, 5, "main", "feature")
    fake_openai.script([review_reply(EIGHT_AND_TAB)])
    env = {**fake_github.env, "OPENAI_BASE_URL": fake_openai.base_url, "REPOPACK_MODEL": "fake-model"}
    result = run_cli("review", "--pr", "5", str(pr_repo), env=env)
    assert result.returncode == 0, result.stderr
    [review] = [r for r in fake_github.requests if r.method == "POST" and r.path.endswith("/pulls/5/reviews")]
    [comment] = review.body["comments"]
    assert (comment["path"], comment["line"]) == ("flags.py", 4)
    assert f"```suggestion\n{EIGHT_AND_TAB}\n```" in comment["body"]
    assert "\n        return val.lower() in (\"y\",)\n\t# tab-indented note\n" in comment["body"]


def test_every_output_format_keeps_the_suggestion_exact(pr_repo: Path, fake_openai, tmp_path: Path) -> None:
    fake_openai.script([review_reply(SUGGESTION)])
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "REPOPACK_MODEL": "fake-model"}
    outputs = {}
    for fmt in ("json", "md", "sarif"):
        target = tmp_path / f"review.{fmt}"
        result = run_cli("review", "--base", "main", str(pr_repo), "--output", fmt, "--output-file", str(target),
                         env=env)
        assert result.returncode == 0, result.stderr
        outputs[fmt] = target.read_text(encoding="utf-8")
    assert json.loads(outputs["json"])["findings"][0]["suggestion"] == SUGGESTION
    assert f"```\n{SUGGESTION}\n```" in outputs["md"]
    [sarif_result] = json.loads(outputs["sarif"])["runs"][0]["results"]
    [change] = sarif_result["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "flags.py"
    assert change["replacements"] == [{"deletedRegion": {"startLine": 4, "endLine": 4},
                                       "insertedContent": {"text": SUGGESTION}}]
