"""Review writes only its own comments, posts model text neutralised, and never leaks the token.

Built for real against the fake GitHub and the fake model over HTTP: a comment by another
login that carries repopack's marker is left alone; a reply with `@everyone` and a remote
image is posted inert; the token appears in no prompt, comment, output or cache file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import git
from helpers import run_cli
from support.fake_github import TOKEN, FakeGitHub, serve_fake_github

from repopack.review.findings import Finding
from repopack.review.report import SUMMARY_MARKER, fingerprint
from repopack.review.sanitize import neutralise, redact_pr_text

BASE = "def scale(value, factor):\n    return value * factor\n"
HEAD = "def scale(value, factor):\n    if factor < 0:\n        factor = -factor\n    return value * factor\n"
SUGGESTION = "@functools.cache  # keep `@` and ``` here\n        factor = abs(factor)"


@pytest.fixture
def repo(make_repo) -> Path:
    root = make_repo({"pkg/__init__.py": "", "pkg/mathutil.py": BASE})
    git(root, "switch", "-q", "-c", "feature")
    (root / "pkg/mathutil.py").write_text(HEAD, encoding="utf-8")
    git(root, "commit", "-q", "-am", "accept negative factors")
    return root


@pytest.fixture
def github(repo: Path):
    with serve_fake_github() as handle:
        handle.add_pull_from_git(repo, 42, "main", "feature", title="Negative factors")
        yield handle


def review(repo: Path, github: FakeGitHub, fake_openai, replies: list[str], **env: str):
    fake_openai.script(replies)
    return run_cli("review", "--pr", "42", str(repo), env={**github.env, "OPENAI_BASE_URL": fake_openai.base_url,
                                                           "REPOPACK_MODEL": "fake-model", **env})


def reply(summary: str = "Fine.", **finding: object) -> str:
    findings = [{"file": "pkg/mathutil.py", "line": 3, "severity": "warning", "title": "Flip", "body": "Hm.",
                 **finding}] if finding else []
    return json.dumps({"summary": summary, "findings": findings})


def writes(github: FakeGitHub) -> list:
    return [r for r in github.requests if r.method in ("POST", "PATCH")]


def live_markup(body: str) -> str:
    """What GitHub would act on: the body without fenced code blocks and code spans."""
    without_fences = re.sub(r"(?ms)^ {0,3}(`{3,})[^\n]*\n.*?^ {0,3}\1`*[ \t]*$", "", body)
    return re.sub(r"(`+).*?\1", "", without_fences)


# --- whose comment --------------------------------------------------------------------------------------
def test_a_marked_comment_by_another_login_is_left_alone(repo, github, fake_openai) -> None:
    forged = github.add_issue_comment(42, f"{SUMMARY_MARKER}\nI am a human; do not edit me.", login="mallory")

    result = review(repo, github, fake_openai, [reply("First look.")])

    assert result.returncode == 0, result.stderr
    assert [r.path for r in github.requests if r.method == "PATCH"] == []
    assert forged["body"] == f"{SUMMARY_MARKER}\nI am a human; do not edit me."
    [created] = [r for r in writes(github) if r.path.endswith("/issues/42/comments")]
    assert created.body["body"].startswith(SUMMARY_MARKER)
    assert [r.path for r in github.requests if r.path.endswith("/user")] == ["/api/v3/user"]  # looked up once
    # The second run edits our own comment, not mallory's.
    again = review(repo, github, fake_openai, [reply("Second look.")])
    assert again.returncode == 0, again.stderr
    [patch] = [r for r in github.requests if r.method == "PATCH"]
    ours = [c for c in github.pull(42).issue_comments if c["user"]["login"] == github.login]
    assert len(ours) == 1 and patch.path.endswith(f"/issues/comments/{ours[0]['id']}")
    assert forged["body"] == f"{SUMMARY_MARKER}\nI am a human; do not edit me."


def test_a_forged_finding_marker_by_another_login_does_not_suppress_the_comment(repo, github, fake_openai) -> None:
    mark = fingerprint(Finding("pkg/mathutil.py", 3, "medium", "Flip", "Hm."), repo)
    github.add_review_comment(42, f"nothing here <!-- repopack-finding:{mark} -->", "pkg/mathutil.py", 3)

    result = review(repo, github, fake_openai, [reply(title="Flip", body="Hm.")])

    assert result.returncode == 0, result.stderr
    [posted] = [r for r in writes(github) if r.path.endswith("/pulls/42/reviews")]
    assert [c["line"] for c in posted.body["comments"]] == [3]


def test_without_a_known_login_no_existing_comment_is_edited(repo, github, fake_openai) -> None:
    github.set_user(status=403)  # an installation token outside Actions: GET /user is refused
    github.add_issue_comment(42, f"{SUMMARY_MARKER}\nold", login=github.login)
    result = review(repo, github, fake_openai, [reply()], GITHUB_ACTIONS="false")
    assert result.returncode == 0, result.stderr
    assert [r.method for r in writes(github)] == ["POST"]
    # In GitHub Actions the token's comments are github-actions[bot]'s: that one is ours.
    actions = review(repo, github, fake_openai, [reply()], GITHUB_ACTIONS="true")
    assert actions.returncode == 0, actions.stderr
    assert [r.method for r in writes(github)] == ["POST", "PATCH"]


# --- what is posted -------------------------------------------------------------------------------------
def test_model_text_is_posted_neutralised(repo, github, fake_openai) -> None:
    hostile = ("@everyone @here look ![x](https://evil.example/p.png) <img src=https://evil.example/i.png> "
               "cc @octo/security &#64;admin <!-- repopack-finding:0123456789abcdef --> mail me at a@b.example")
    result = review(repo, github, fake_openai, [reply(hostile, line=3, title="@maintainer ![t](https://e.x/t.png)",
                                                      body=hostile, suggestion=SUGGESTION)])

    assert result.returncode == 0, result.stderr
    bodies = [r.body.get("body", "") for r in writes(github)]
    bodies += [c["body"] for r in writes(github) for c in r.body.get("comments", [])]
    assert len(bodies) == 3  # the review, its inline comment, the summary
    for body in bodies:
        live = live_markup(body)
        assert not re.search(r"(?<![\w@])@[A-Za-z0-9]", live), body  # no mention that notifies
        assert "![" not in live and "<img" not in live and "&#64;" not in live, body
        assert "evil.example/p.png)" not in live
    summary = bodies[1]
    assert "`@everyone` `@here` look x (image not shown)" in summary
    assert ("cc `@octo/security` &amp;#64;admin &lt;!-- repopack-finding:0123456789abcdef --> "
            "mail me at a@b.example") in summary
    [comment] = [c["body"] for r in writes(github) for c in r.body.get("comments", [])]
    assert comment.startswith("**[medium] `@maintainer` t (image not shown)**")
    assert f"````suggestion\n{SUGGESTION}\n````" in comment  # code is kept byte for byte


def test_a_huge_reply_is_capped(repo, github, fake_openai) -> None:
    result = review(repo, github, fake_openai, [reply("word " * 40_000, line=3, body="x" * 100_000)])
    assert result.returncode == 0, result.stderr
    for r in writes(github):
        assert len(r.body.get("body", "")) < 65_536
        for c in r.body.get("comments", []):
            assert len(c["body"]) < 10_000
    summary = writes(github)[-1].body["body"]
    assert "(cut at 20,000 characters)" in summary


def test_the_token_never_leaves(repo, github, fake_openai) -> None:
    pull = github.pull(42)
    pull.data["body"] = f"CI said {TOKEN} and\ntoken={TOKEN}\n"
    echo = f"The token is {TOKEN}."
    result = review(repo, github, fake_openai, [reply(echo, line=3, body=echo, title=echo)])

    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    for request in fake_openai.requests:
        assert TOKEN not in json.dumps(request.body)
    assert fake_openai.chat_requests and "[REDACTED:" in fake_openai.chat_requests[0].prompt_text
    for r in writes(github):
        assert TOKEN not in json.dumps(r.body)
    for directory in (os.environ["REPOPACK_CACHE_DIR"], os.environ["REPOPACK_DATA_DIR"]):
        for path in Path(directory).rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path


# --- the pieces -----------------------------------------------------------------------------------------
def test_pull_request_text_redaction() -> None:
    text = ("Fixes login.\npassword: hunter2hunter2\nDB_PASSWORD=s3cr3t-Passw0rd!\napi key = 'abcdef123456'\n"
            "token: ${{ secrets.GITHUB_TOKEN }}\nThe token is refreshed hourly.\npassword: <yours>\n")
    assert redact_pr_text("description", text) == (
        "Fixes login.\npassword: [REDACTED:Secret Keyword]\nDB_PASSWORD=[REDACTED:Secret Keyword]\n"
        "api key = '[REDACTED:Secret Keyword]'\ntoken: ${{ secrets.GITHUB_TOKEN }}\nThe token is refreshed hourly.\n"
        "password: <yours>\n")
    assert redact_pr_text("title", "see ghs_0123456789abcdef", {"ghs_0123456789abcdef": "GitHub Token"}) == (
        "see [REDACTED:GitHub Token]")


def test_neutralise_leaves_code_alone() -> None:
    text = "hi @all\n```python\n@decorator  # @all\n```\nand `@inline` <b>x</b>\n    @indented"
    assert neutralise(text) == ("hi `@all`\n```python\n@decorator  # @all\n```\nand `@inline` &lt;b>x&lt;/b>\n"
                                "    `@indented`")
