"""Findings: schema validation of the model's reply, diff parsing, and placement on added lines."""

from __future__ import annotations

import json

import pytest

from repopack.review.findings import (
    FileDiff,
    Finding,
    InvalidReview,
    diff_from_patches,
    parse_diff,
    parse_review,
    place_findings,
)

PATCH = """@@ -1,5 +1,7 @@
 import os
-
-def load(path):
+import json
+
+def load(path: str):
     with open(path) as fh:
-        return fh.read()
+        data = fh.read()
+    return json.loads(data)
@@ -20,2 +22,3 @@ def save(path, data):
     with open(path, "w") as fh:
         fh.write(data)
+    return path
"""


def diffs() -> list[FileDiff]:
    return parse_diff(diff_from_patches([("app/io.py", "modified", PATCH, None),
                                         ("app/new.py", "added", "@@ -0,0 +1,2 @@\n+X = 1\n+Y = 2", None),
                                         ("app/gone.py", "removed", "@@ -1 +0,0 @@\n-Z = 0", None),
                                         ("logo.png", "added", None, None),
                                         ("app/b.py", "renamed", "@@ -1 +1 @@\n-a = 1\n+b = 1", "app/a.py"),
                                         ("app/d.py", "renamed", None, "app/c.py")]))


def test_diff_from_github_patches() -> None:
    by_path = {d.path: d for d in diffs()}
    assert sorted(by_path) == ["app/b.py", "app/d.py", "app/gone.py", "app/io.py", "app/new.py", "logo.png"]
    assert [(d.status, d.old_path, sorted(d.added)) for d in (by_path["app/b.py"], by_path["app/d.py"])] == [
        ("renamed", "app/a.py", [1]), ("renamed", "app/c.py", [])]
    io = by_path["app/io.py"]
    assert (io.status, sorted(io.added), io.hunks, io.additions, io.deletions) == (
        "modified", [2, 3, 4, 6, 7, 24], ((1, 7), (22, 24)), 6, 3)
    assert (by_path["app/new.py"].status, sorted(by_path["app/new.py"].added)) == ("added", [1, 2])
    assert (by_path["app/gone.py"].status, by_path["app/gone.py"].added) == ("removed", frozenset())
    assert by_path["logo.png"].hunks == ()


def f(line: int, end: int | None = None, file: str = "app/io.py", suggestion: str | None = None) -> Finding:
    return Finding(file, line, "high", "t", "b", end, suggestion)


def test_every_inline_comment_lands_on_an_added_line() -> None:
    placed = place_findings([f(6), f(5), f(3, 6), f(10), f(26), f(1, file="app/gone.py"), f(1, file="other.py"),
                             f(2, file="app/new.py"), f(40)], diffs())
    assert [(p.line, p.note) for p in placed] == [
        (6, ""),
        (4, "moved from line 5"),  # one line off: the nearest added line, the earlier on a tie
        (6, ""),  # a range: its last added line
        (None, "line 10 of app/io.py is not a line this change added"),
        (24, "moved from line 26"),
        (None, "app/gone.py has no added lines to comment on"),
        (None, "other.py is not changed by this change"),
        (2, ""),
        (None, "line 40 of app/io.py is not a line this change added"),
    ]
    added = {d.path: d.added for d in diffs()}
    assert all(p.line in added[p.finding.file] for p in placed if p.inline)


def test_suggestions_apply_only_to_exactly_the_commented_lines() -> None:
    one, multi, across, moved = place_findings(
        [f(2, suggestion="import json as j"), f(6, 7, suggestion="x"), f(7, 24, suggestion="y"), f(5, suggestion="z")],
        diffs())
    assert (one.line, one.start_line, one.suggestion_applies) == (2, None, True)
    assert (multi.line, multi.start_line, multi.suggestion_applies) == (7, 6, True)
    assert (across.line, across.start_line, across.suggestion_applies) == (24, None, False)  # two hunks
    assert (moved.line, moved.suggestion_applies) == (4, False)


def test_parse_review_accepts_fences_aliases_and_severity_words() -> None:
    body = {"summary": " ok ", "findings": [
        {"path": "./app/io.py", "line": 2, "severity": "Error", "title": "T", "body": "B", "suggestion": ""},
        {"file": "b/x.py", "line": 3, "end_line": 4, "severity": "info", "title": "U", "category": "tests",
         "extra": "ignored"}]}
    review = parse_review("Here you go:\n```json\n" + json.dumps(body) + "\n```\n")
    assert review.summary == "ok"
    assert review.findings == (Finding("app/io.py", 2, "high", "T", "B", None, None, None),
                               Finding("x.py", 3, "low", "U", "", 4, None, "tests"))


@pytest.mark.parametrize(("reply", "error"), [
    ("", "the reply is empty"),
    ("no json here", "not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    ('{"summary": "s"}', "does not match the schema: findings: Field required"),
    ('{"findings": [{"file": "a", "line": "x", "severity": "urgent", "title": "t"}]}',
     "does not match the schema: findings.0.line: Input should be a valid integer, unable to parse string as an "
     "integer; findings.0.severity: Input should be 'high', 'medium' or 'low'"),
])
def test_parse_review_errors_say_what_is_wrong(reply: str, error: str) -> None:
    with pytest.raises(InvalidReview) as info:
        parse_review(reply)
    assert str(info.value) == error
