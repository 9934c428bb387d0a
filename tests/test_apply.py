"""Applying edits safely and undoing them byte for byte."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repopack.chat.apply import Rejection, apply_edits
from repopack.chat.edits import parse_edits
from repopack.chat.undo import records_dir, undo_last
from repopack.errors import ApplyError
from repopack.packing.scan import redact_text


def udiff(path: str, old: str | None, new: str | None) -> str:
    """A unified diff as a model would write it, in a ```diff fence."""
    a = [] if old is None else old.splitlines(keepends=True)
    b = [] if new is None else new.splitlines(keepends=True)
    body = "".join(difflib.unified_diff(a, b, "/dev/null" if old is None else f"a/{path}",
                                        "/dev/null" if new is None else f"b/{path}"))
    return f"```diff\n{body}```\n"


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and ".git" not in p.parts and ".repopack" not in p.parts}


CART = "def total(items):\n    subtotal = sum(items)\n    return subtotal * 1.2\n"


def test_apply_and_undo_round_trip_with_created_and_deleted_files(make_repo) -> None:
    root = make_repo({"src/cart.py": CART, "old.txt": "bye\n", "win.txt": b"a\r\nb\r\nc\r\n",
                      "run.sh": "#!/bin/sh\necho hi\n"})
    (root / "run.sh").chmod(0o755)
    before = snapshot(root)
    answer = (
        udiff("src/cart.py", CART, CART.replace("subtotal * 1.2", "round(subtotal * 1.2, 2)"))
        + udiff("docs/new/notes.md", None, "# Notes\n")
        + udiff("old.txt", "bye\n", None)
        + "```diff\n--- a/win.txt\n+++ b/win.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n```\n"
        + udiff("run.sh", "#!/bin/sh\necho hi\n", "#!/bin/sh\necho hello\n")
    )
    result = apply_edits(root, parse_edits(answer))

    assert result.rejected == ()
    assert result.applied == ("src/cart.py", "docs/new/notes.md", "old.txt", "win.txt", "run.sh")
    assert (root / "src/cart.py").read_text() == CART.replace("subtotal * 1.2", "round(subtotal * 1.2, 2)")
    assert (root / "docs/new/notes.md").read_bytes() == b"# Notes\n"
    assert not (root / "old.txt").exists()
    assert (root / "win.txt").read_bytes() == b"a\r\nB\r\nc\r\n"
    assert stat.S_IMODE((root / "run.sh").stat().st_mode) == 0o755
    assert result.journal is not None and result.journal.parent == records_dir(root)  # outside the work tree
    assert not (root / ".repopack").exists()

    restored = undo_last(root)
    assert sorted(restored) == sorted(result.applied)
    assert snapshot(root) == before
    assert not (root / "docs").exists()  # directories the edit created are gone too
    assert stat.S_IMODE((root / "run.sh").stat().st_mode) == 0o755
    assert list(records_dir(root).iterdir()) == []
    with pytest.raises(ApplyError, match="nothing to undo"):
        undo_last(root)


def test_path_escapes_are_refused_and_the_valid_edit_still_applies(make_repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "f.txt").write_text("keep\n")
    root = make_repo({"a.txt": "one\n", "inner.txt": "x\n"})
    (root / "linkdir").symlink_to(elsewhere, target_is_directory=True)
    (root / "link.txt").symlink_to(root / "inner.txt")
    git_config = (root / ".git" / "config").read_bytes()

    answer = (
        udiff("a.txt", "one\n", "two\n")
        + udiff("../outside.txt", "keep\n", "owned\n")
        + "```diff\n--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root\n+owned\n```\n"
        + udiff("linkdir/f.txt", "keep\n", "owned\n")
        + udiff("link.txt", "x\n", "owned\n")
        + udiff(".git/config", git_config.decode(), "owned\n")
        + udiff("src/../../outside.txt", "keep\n", "owned\n")
    )
    result = apply_edits(root, parse_edits(answer))

    assert result.applied == ("a.txt",)
    assert result.rejected == (
        Rejection("../outside.txt", "path leaves the repository ('..')"),
        Rejection("/etc/passwd", "absolute path; only paths inside the repository are allowed"),
        Rejection("linkdir/f.txt", "path goes through a symlink that leaves the repository"),
        Rejection("link.txt", "is a symlink; edit the file it points to instead"),
        Rejection(".git/config", "path inside .git/ is never written"),
        Rejection("src/../../outside.txt", "path leaves the repository ('..')"),
    )
    assert (root / "a.txt").read_text() == "two\n"
    assert outside.read_text() == "keep\n"
    assert (elsewhere / "f.txt").read_text() == "keep\n"
    assert (root / "inner.txt").read_text() == "x\n"
    assert (root / ".git" / "config").read_bytes() == git_config


def test_file_changed_since_packing_is_refused(make_repo) -> None:
    root = make_repo({"a.py": "x = 1\n", "b.py": "y = 1\n"})
    packed = {"a.py": hashlib.sha256(b"x = 1\n").hexdigest(), "b.py": hashlib.sha256(b"y = 1\n").hexdigest()}
    (root / "a.py").write_text("x = 1  # edited by the user\n")
    answer = udiff("a.py", "x = 1\n", "x = 2\n") + udiff("b.py", "y = 1\n", "y = 2\n")

    result = apply_edits(root, parse_edits(answer), expected_hashes=packed)

    assert result.applied == ("b.py",)
    assert result.rejected == (Rejection(
        "a.py", "changed since it was packed; ask again to get a diff against the current file"),)
    assert (root / "a.py").read_text() == "x = 1  # edited by the user\n"


def test_a_failing_hunk_writes_nothing_of_that_file(make_repo) -> None:
    text = "".join(f"line {i}\n" for i in range(1, 31))
    root = make_repo({"f.txt": text})
    answer = ("```diff\n--- a/f.txt\n+++ b/f.txt\n"
              "@@ -2,3 +2,3 @@\n line 2\n-line 3\n+LINE 3\n line 4\n"
              "@@ -20,3 +20,3 @@\n line 20\n-line 99\n+LINE 21\n line 22\n```\n")
    result = apply_edits(root, parse_edits(answer))
    assert result.applied == ()
    assert result.rejected == (Rejection("f.txt", "hunk 2 near line 20 does not match the file"),)
    assert (root / "f.txt").read_text() == text
    assert not (root / ".repopack").exists()  # nothing applied, no journal


def test_hunks_are_located_by_context_when_line_numbers_drift(make_repo) -> None:
    text = "".join(f"line {i}\n" for i in range(1, 101))
    root = make_repo({"f.txt": text, "g.py": "def f():\n    if x:\n        return 1\n    return 2\n"})
    answer = (
        "```diff\n--- a/f.txt\n+++ b/f.txt\n@@ -70,3 +70,3 @@\n line 9\n-line 10\n+line ten\n line 11\n```\n"
        # context re-indented by the model: found whitespace-insensitively near the stated line
        "```diff\n--- a/g.py\n+++ b/g.py\n@@ -2,2 +2,2 @@\n  if x:\n-      return 1\n+        return 3\n```\n"
    )
    result = apply_edits(root, parse_edits(answer))
    assert result.rejected == ()
    assert (root / "f.txt").read_text() == text.replace("line 10\n", "line ten\n")
    assert (root / "g.py").read_text() == "def f():\n    if x:\n        return 3\n    return 2\n"


def test_redacted_secret_is_restored_not_overwritten(make_repo) -> None:
    key = "AKIAIOSFODNN7EXAMPLE"
    original = f'REGION = "eu-west-1"\nAWS_KEY = "{key}"\nRETRIES = 3\n'
    root = make_repo({"settings.py": original})
    redaction = redact_text("settings.py", original)
    shown = redaction.text  # what the model saw
    assert key not in shown
    new_shown = shown.replace('REGION = "eu-west-1"', 'REGION = "us-east-1"').replace(
        'AWS_KEY = "[REDACTED:AWS Access Key]"', 'AWS_KEY = os.environ.get("AWS_KEY", "[REDACTED:AWS Access Key]")')
    answer = udiff("settings.py", shown, new_shown)
    assert key not in answer

    result = apply_edits(root, parse_edits(answer), redaction_lookup={"settings.py": redaction},
                         expected_hashes={"settings.py": hashlib.sha256(original.encode()).hexdigest()})

    assert result.rejected == ()
    assert (root / "settings.py").read_text() == (
        f'REGION = "us-east-1"\nAWS_KEY = os.environ.get("AWS_KEY", "{key}")\nRETRIES = 3\n'
    )


def test_marker_without_a_secret_is_refused(make_repo) -> None:
    root = make_repo({"a.py": "x = 1\n"})
    answer = udiff("a.py", "x = 1\n", 'x = "[REDACTED:AWS Access Key]"\n')
    result = apply_edits(root, parse_edits(answer))
    assert result.rejected == (Rejection(
        "a.py", "an added line carries a [REDACTED:AWS Access Key] marker with no secret to restore"),)
    assert (root / "a.py").read_text() == "x = 1\n"


def test_creating_an_existing_file_or_editing_a_missing_one(make_repo) -> None:
    root = make_repo({"a.txt": "a\n"})
    answer = udiff("a.txt", None, "new\n") + udiff("missing.txt", "x\n", "y\n")
    result = apply_edits(root, parse_edits(answer))
    assert result.rejected == (Rejection("a.txt", "the diff creates it but it already exists"),
                               Rejection("missing.txt", "does not exist"))


def test_undo_restores_only_the_last_apply(make_repo) -> None:
    root = make_repo({"a.txt": "1\n"})
    apply_edits(root, parse_edits(udiff("a.txt", "1\n", "2\n")))
    apply_edits(root, parse_edits(udiff("a.txt", "2\n", "3\n")))
    assert undo_last(root) == ["a.txt"]
    assert (root / "a.txt").read_text() == "2\n"
    assert undo_last(root) == ["a.txt"]
    assert (root / "a.txt").read_text() == "1\n"


_line = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    old=st.lists(_line, min_size=1, max_size=25),
    start=st.integers(min_value=0, max_value=25),
    length=st.integers(min_value=0, max_value=6),
    replacement=st.lists(_line, max_size=6),
    final_newline=st.booleans(),
)
def test_property_apply_then_undo_restores_bytes(old, start, length, replacement, final_newline) -> None:
    start = min(start, len(old))
    new = old[:start] + replacement + old[start + length:]
    old_text = "\n".join(old) + ("\n" if final_newline else "")
    new_text = "\n".join(new) + ("\n" if final_newline else "") if new else ""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "f.txt").write_bytes(old_text.encode())
        os.chmod(root / "f.txt", 0o640)
        diff = _with_no_newline_markers(difflib.unified_diff(
            _keepends(old_text), _keepends(new_text), "a/f.txt", "b/f.txt"))
        if not diff:
            return
        edits = parse_edits(diff)
        result = apply_edits(root, edits)
        assert result.rejected == ()
        assert (root / "f.txt").read_text(encoding="utf-8") == new_text
        undo_last(root)
        assert (root / "f.txt").read_bytes() == old_text.encode()
        assert stat.S_IMODE((root / "f.txt").stat().st_mode) == 0o640


def _keepends(text: str) -> list[str]:
    """Lines split on "\\n" only (str.splitlines would split at form feeds too)."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def _with_no_newline_markers(diff_lines: Iterable[str]) -> str:
    """difflib leaves a final line without "\\n"; real diffs add the git marker there."""
    out = []
    for line in diff_lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)
