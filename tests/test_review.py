"""`repopack review` end to end: a real git repo, the fake GitHub server and the fake model, over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from helpers import run_cli
from support.fake_github import TOKEN, FakeGitHub, added_lines, serve_fake_github

MATHUTIL = '''"""Arithmetic helpers."""


def scale(value: int, factor: int) -> int:
    """Multiply value by factor."""
    return value * factor


def offset(value: int, by: int) -> int:
    return value + by
'''
REPORT = '''from pkg.mathutil import scale


def render(amount: int) -> str:
    return f"total: {scale(amount, 2)}"
'''
OTHER = '''def unrelated() -> str:
    return "nothing to see"
'''
# Lines 6-8 of the new pkg/mathutil.py are the ones the change adds.
CHANGED = MATHUTIL.replace("    return value * factor\n",
                           "    if factor < 0:\n        factor = -factor\n    return value * factor + 1\n")


def finding(line: int = 8, **extra: object) -> dict[str, object]:
    return {"file": "pkg/mathutil.py", "line": line, "severity": "error", "title": "Off by one",
            "body": "scale() now adds 1 to every result; render() in pkg/report.py shows wrong totals.", **extra}


def reply(*findings: dict[str, object], summary: str = "Makes scale() accept negative factors.") -> str:
    return json.dumps({"summary": summary, "findings": list(findings)})


@pytest.fixture
def pr_repo(make_repo) -> Path:
    """main: the original package; feature (checked out): scale() changed.  PR 42 is feature -> main."""
    root = make_repo({"pkg/__init__.py": "", "pkg/mathutil.py": MATHUTIL, "pkg/report.py": REPORT,
                      "pkg/other.py": OTHER, "README.md": "# widgets\n"})
    git(root, "switch", "-q", "-c", "feature")
    (root / "pkg/mathutil.py").write_text(CHANGED, encoding="utf-8")
    git(root, "commit", "-q", "-am", "scale: accept negative factors")
    return root


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with serve_fake_github() as handle:
        yield handle


def review_env(fake_github, fake_openai) -> dict[str, str]:
    return {**fake_github.env, "OPENAI_BASE_URL": fake_openai.base_url, "REPOPACK_MODEL": "fake-model"}


def posted(fake_github, method: str, suffix: str) -> list:
    return [r for r in fake_github.requests if r.method == method and r.path.split("?")[0].endswith(suffix)]


def test_pr_review_posts_inline_comment_on_a_changed_line(pr_repo, fake_github, fake_openai) -> None:
    pull = fake_github.add_pull_from_git(pr_repo, 42, "main", "feature", title="Negative factors")
    fake_openai.script([reply(finding(8))])

    result = run_cli("review", "--pr", "42", str(pr_repo), env=review_env(fake_github, fake_openai))

    assert result.returncode == 0, result.stderr
    reviews = posted(fake_github, "POST", "/pulls/42/reviews")
    assert len(reviews) == 1
    payload = reviews[0].body
    assert payload["commit_id"] == pull.data["head"]["sha"] and payload["event"] == "COMMENT"
    [comment] = payload["comments"]
    assert (comment["path"], comment["line"], comment["side"]) == ("pkg/mathutil.py", 8, "RIGHT")
    patch = pull.files[0]["patch"]
    assert added_lines(patch) == {6, 7, 8} and comment["line"] in added_lines(patch)
    assert comment["body"].startswith("**[high] Off by one**\n\nscale() now adds 1")
    # The summary says what else was read: the caller of the changed function.
    [summary] = posted(fake_github, "POST", "/issues/42/comments")
    text = summary.body["body"]
    assert text.startswith("<!-- repopack-review-summary -->\n## repopack review\n\nMakes scale() accept")
    assert "**Findings:** 1 high, 0 medium, 0 low (1 new inline comment)." in text
    assert "Also read: `pkg/report.py` (uses scale)" in text
    # The model saw the diff, the changed file and its caller, with the token never sent anywhere.
    [request] = fake_openai.chat_requests
    prompt = request.prompt_text
    assert "+    return value * factor + 1" in prompt
    assert 'return f"total: {scale(amount, 2)}"' in prompt
    assert 'Review the following change "Negative factors".' in prompt
    assert TOKEN not in prompt
    assert "Posted a review with 1 inline comment on octo/widgets#42" in result.stderr


def test_rerun_updates_the_summary_and_does_not_repeat_comments(pr_repo, fake_github, fake_openai) -> None:
    fake_github.add_pull_from_git(pr_repo, 42, "main", "feature")
    env = review_env(fake_github, fake_openai)
    fake_openai.script([reply(finding(8))])
    assert run_cli("review", "--pr", "42", str(pr_repo), env=env).returncode == 0

    fake_openai.script([reply(finding(8), finding(6, title="Negative factor silently flipped", severity="warning"),
                              summary="Second look.")])
    second = run_cli("review", "--pr", "42", str(pr_repo), env=env)

    assert second.returncode == 0, second.stderr
    pull = fake_github.pull(42)
    assert len(pull.issue_comments) == 1  # updated, not duplicated
    [patch] = posted(fake_github, "PATCH", f"/issues/comments/{pull.issue_comments[0]['id']}")
    assert patch.body["body"].startswith("<!-- repopack-review-summary -->\n## repopack review\n\nSecond look.")
    assert "(1 new inline comment, 1 already posted)" in patch.body["body"]
    reviews = posted(fake_github, "POST", "/pulls/42/reviews")
    assert [[c["line"] for c in r.body["comments"]] for r in reviews] == [[8], [6]]
    assert "updated the summary comment" in second.stderr


def test_pagination_of_files_and_comments(make_repo, fake_github, fake_openai) -> None:
    root = make_repo({f"mod{i}.py": f"def f{i}():\n    return {i}\n" for i in range(5)})
    git(root, "switch", "-q", "-c", "feature")
    for i in range(5):
        (root / f"mod{i}.py").write_text(f"def f{i}():\n    return {i * 10 + 1}\n", encoding="utf-8")
    git(root, "commit", "-q", "-am", "tenfold")
    fake_github.add_pull_from_git(root, 7, "main", "feature")
    fake_github.set_page_size(2)
    for n in range(4):
        fake_github.add_issue_comment(7, f"human comment {n}")
    mine = fake_github.add_issue_comment(7, "<!-- repopack-review-summary -->\nold summary", login=fake_github.login)
    fake_openai.script([reply({"file": "mod4.py", "line": 2, "severity": "info", "title": "Magic number",
                               "body": "Name it."})])

    result = run_cli("review", "--pr", "7", str(root), env=review_env(fake_github, fake_openai))

    assert result.returncode == 0, result.stderr
    file_pages = [r.path for r in posted(fake_github, "GET", "/pulls/7/files")]
    assert file_pages == ["/api/v3/repos/octo/widgets/pulls/7/files?per_page=100",
                          "/api/v3/repos/octo/widgets/pulls/7/files?per_page=2&page=2",
                          "/api/v3/repos/octo/widgets/pulls/7/files?per_page=2&page=3"]
    prompt = fake_openai.chat_requests[0].prompt_text
    assert all(f"+    return {i * 10 + 1}" in prompt for i in range(5))  # every page's file reached the model
    assert len(posted(fake_github, "GET", "/issues/7/comments")) == 3
    assert [r.path for r in posted(fake_github, "PATCH", "")] == [f"/api/v3/repos/octo/widgets/issues/comments/"
                                                                  f"{mine['id']}"]
    assert posted(fake_github, "POST", "/issues/7/comments") == []
    [review] = posted(fake_github, "POST", "/pulls/7/reviews")
    assert [(c["path"], c["line"]) for c in review.body["comments"]] == [("mod4.py", 2)]


def test_finding_off_the_diff_goes_into_the_summary(pr_repo, fake_github, fake_openai) -> None:
    fake_github.add_pull_from_git(pr_repo, 42, "main", "feature")
    fake_openai.script([reply(finding(8), {"file": "pkg/report.py", "line": 5, "severity": "warning",
                                           "title": "Caller relies on old result", "body": "Totals change."},
                              finding(1, title="Docstring outdated", severity="info"))])

    result = run_cli("review", "--pr", "42", str(pr_repo), env=review_env(fake_github, fake_openai))

    assert result.returncode == 0, result.stderr
    [review] = posted(fake_github, "POST", "/pulls/42/reviews")
    assert [c["line"] for c in review.body["comments"]] == [8]
    text = fake_github.pull(42).issue_comments[0]["body"]
    assert ("### Findings outside the changed lines\n\n#### [medium] Caller relies on old result\n\n"
            "`pkg/report.py:5` (pkg/report.py is not changed by this change)") in text
    assert ("#### [low] Docstring outdated\n\n`pkg/mathutil.py:1` (line 1 of pkg/mathutil.py is not a line this "
            "change added)") in text
    assert ("Posted a review with 1 inline comment on octo/widgets#42; posted the summary comment (2 findings "
            "outside the changed lines are in it).") in result.stderr


def test_invalid_json_is_retried_once_with_the_error(pr_repo, fake_github, fake_openai) -> None:
    fake_github.add_pull_from_git(pr_repo, 42, "main", "feature")
    fake_openai.script(["Sure! Here is my review: looks good.", reply(finding(8))])

    result = run_cli("review", "--pr", "42", str(pr_repo), env=review_env(fake_github, fake_openai))

    assert result.returncode == 0, result.stderr
    first, second = fake_openai.chat_requests
    retry = second.body["messages"]
    assert retry[:2] == first.body["messages"]
    assert retry[2] == {"role": "assistant", "content": "Sure! Here is my review: looks good."}
    assert retry[3]["content"].startswith("That reply could not be used: not valid JSON: Expecting value: line 1 "
                                          "column 1 (char 0). Reply again with only the JSON object")
    assert "asking once more" in result.stderr
    assert len(posted(fake_github, "POST", "/pulls/42/reviews")) == 1


def test_invalid_json_twice_is_a_clear_failure(pr_repo, fake_github, fake_openai) -> None:
    fake_github.add_pull_from_git(pr_repo, 42, "main", "feature")
    fake_openai.script(['{"summary": "x", "findings": [{"file": "a.py", "line": 0}]}'])

    result = run_cli("review", "--pr", "42", str(pr_repo), env=review_env(fake_github, fake_openai))

    assert result.returncode == 13
    assert len(fake_openai.chat_requests) == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "repopack: error: the model's reply was not valid review JSON twice (does not match the schema: "
        "findings.0.line: Input should be greater than or equal to 1; findings.0.severity: Field required; "
        "findings.0.title: Field required); try another model or a smaller --budget")
    assert posted(fake_github, "POST", "/pulls/42/reviews") == []


def test_pr_over_budget_reviews_what_fits_and_says_what_it_did_not_read(make_repo, fake_github,
                                                                         fake_openai) -> None:
    big = "".join(f"ROW_{i} = {i}\n" for i in range(600))
    root = make_repo({"core.py": "def total(rows):\n    return sum(rows)\n", "table.py": big,
                      "use.py": "from core import total\n\nprint(total([1]))\n"})
    git(root, "switch", "-q", "-c", "feature")
    (root / "core.py").write_text("def total(rows):\n    return sum(rows) + 1\n", encoding="utf-8")
    (root / "table.py").write_text(big.replace(" = ", " = -"), encoding="utf-8")
    git(root, "commit", "-q", "-am", "negate the table")
    fake_github.add_pull_from_git(root, 9, "main", "feature")
    fake_openai.script([reply({"file": "core.py", "line": 2, "severity": "warning", "title": "Extra one",
                               "body": "Why + 1?"})])

    result = run_cli("review", "--pr", "9", str(root), "--budget", "3000", "--no-post", "--output", "json",
                     env=review_env(fake_github, fake_openai))

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["context"]["omitted_diffs"] == ["table.py"]
    assert "table.py" in report["context"]["not_read"]
    assert [(f["file"], f["inline"], f["comment_line"]) for f in report["findings"]] == [("core.py", True, 2)]
    prompt = fake_openai.chat_requests[0].prompt_text
    assert "+    return sum(rows) + 1" in prompt and "-ROW_1 = 1" not in prompt
    assert "The diff above is incomplete: these changed files did not fit and are not shown" in prompt
    assert "- table.py (+600 -600)" in prompt
    assert [r for r in fake_github.requests if r.method != "GET"] == []  # --no-post posts nothing


def test_local_review_against_base_with_outputs_and_fail_on(pr_repo, fake_openai, tmp_path) -> None:
    (pr_repo / "pkg/other.py").write_text(OTHER + "\n\ndef more() -> int:\n    return 1\n", encoding="utf-8")
    fake_openai.script([reply(finding(8), {"file": "pkg/other.py", "line": 6, "severity": "low", "title": "Unused",
                                           "body": "Nothing calls more()."})])
    env = {"OPENAI_BASE_URL": fake_openai.base_url}

    md = run_cli("review", "--base", "main", str(pr_repo), env=env)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Review: changes since main\n\nMakes scale() accept negative factors.\n\n"
                                "**Findings:** 1 high, 0 medium, 1 low.\n\n### [high] Off by one\n\n"
                                "`pkg/mathutil.py:8`\n\n")
    prompt = fake_openai.chat_requests[0].prompt_text
    assert "+def more() -> int:" in prompt  # uncommitted work is part of a local review

    sarif_file = tmp_path / "review.sarif"
    failed = run_cli("review", "--base", "main", str(pr_repo), "--output", "sarif", "--output-file", str(sarif_file),
                     "--fail-on", "high", env=env)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1] == ("repopack: error: 1 finding at or above high severity "
                                                      "(--fail-on high)")
    sarif = json.loads(sarif_file.read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert [(r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results] == [
        ("error", "pkg/mathutil.py", 8), ("note", "pkg/other.py", 6)]

    passing = run_cli("review", "--base", "main", str(pr_repo), "--output", "json", "--fail-on", "high",
                      env={**env, "REPOPACK_MODEL": "fake-model"})
    assert passing.returncode == 1  # the same finding again: still severe
    assert json.loads(passing.stdout)["model"] == "fake-model"


def test_local_review_of_a_committed_head_reads_that_commit(pr_repo, fake_openai) -> None:
    git(pr_repo, "switch", "-q", "main")
    fake_openai.script([reply(finding(8))])

    result = run_cli("review", "--base", "main", "--head", "feature", str(pr_repo), "--output", "json",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["title"] == "main...feature" and report["findings"][0]["comment_line"] == 8
    assert " 6│     if factor < 0:" in fake_openai.chat_requests[0].prompt_text  # the head's file, numbered


def test_usage_and_github_errors(pr_repo, fake_github, fake_openai) -> None:
    both = run_cli("review", "--pr", "1", "--base", "main", str(pr_repo))
    assert both.returncode == 2 and "give --pr N" in both.stderr
    no_repo = run_cli("review", "--pr", "1", str(pr_repo), env={"GITHUB_TOKEN": "x"})
    assert no_repo.returncode == 13 and "GITHUB_REPOSITORY" in no_repo.stderr
    env = review_env(fake_github, fake_openai)
    missing = run_cli("review", "--pr", "404", str(pr_repo), env=env)
    assert missing.returncode == 13
    assert missing.stderr.strip() == (
        f"repopack: error: GitHub answered HTTP 404 to GET {fake_github.api_url}/repos/octo/widgets/pulls/404: "
        "Not Found; check GITHUB_REPOSITORY, the PR number and that the token can see the repository")
    bad_token = run_cli("review", "--pr", "42", str(pr_repo), env={**env, "GITHUB_TOKEN": "wrong"})
    assert bad_token.returncode == 13 and "HTTP 401" in bad_token.stderr and "wrong" not in bad_token.stderr


def test_refused_inline_positions_fall_back_to_the_summary(pr_repo, fake_github, fake_openai) -> None:
    (pr_repo / "pkg/other.py").unlink()
    git(pr_repo, "commit", "-q", "-am", "drop other")
    pull = fake_github.add_pull_from_git(pr_repo, 42, "main", "feature")
    assert [(f["filename"], f["status"]) for f in pull.files] == [("pkg/mathutil.py", "modified"),
                                                                   ("pkg/other.py", "removed")]
    fake_github.refuse_inline_comments()
    fake_openai.script([reply(finding(8))])

    result = run_cli("review", "--pr", "42", str(pr_repo), env=review_env(fake_github, fake_openai))

    assert result.returncode == 0, result.stderr
    first, second = posted(fake_github, "POST", "/pulls/42/reviews")
    assert len(first.body["comments"]) == 1 and second.body["comments"] == []
    assert second.body["body"].endswith("(inline positions were refused, see the summary)")
    text = fake_github.pull(42).issue_comments[0]["body"]
    assert "### Findings outside the changed lines\n\n#### [high] Off by one\n\n`pkg/mathutil.py:8`" in text
    assert "-def unrelated() -> str:" in fake_openai.chat_requests[0].prompt_text  # the deletion was reviewed


def test_a_nul_past_gits_binary_sniff_never_reaches_the_review_prompt(pr_repo, fake_openai) -> None:
    # git calls a file binary only when a NUL is in its first 8,000 bytes; this one's NUL is later
    (pr_repo / "pkg/data.txt").write_bytes(b"plain line\n" * 900 + b"tail \x00 byte\n")
    fake_openai.script([reply(finding(8))])
    done = run_cli("review", "--base", "main", str(pr_repo), "--output", "json",
                   env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert done.returncode == 0, done.stderr
    prompt = fake_openai.chat_requests[0].prompt_text
    assert "\x00" not in prompt and "scale" in prompt
