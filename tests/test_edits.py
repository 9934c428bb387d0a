"""Parsing model answers into file edits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from repopack.chat.edits import FileEdit, Hunk, HunkLine, parse_edits, render_diff


def lines(*specs: str) -> tuple[HunkLine, ...]:
    return tuple(HunkLine(s[0], s[1:]) for s in specs)  # type: ignore[arg-type]


def test_fenced_diff_with_prefixes() -> None:
    answer = """The bug is in total().

```diff
--- a/src/shop/cart.py
+++ b/src/shop/cart.py
@@ -10,3 +10,3 @@ def total(items):
     subtotal = sum(items)
-    return subtotal * 1.2
+    return round(subtotal * 1.2, 2)
 
```

That rounds the result."""
    assert parse_edits(answer) == [FileEdit(
        path="src/shop/cart.py", old_path="src/shop/cart.py",
        hunks=(Hunk(10, 3, 10, 3, lines("     subtotal = sum(items)", "-    return subtotal * 1.2",
                                        "+    return round(subtotal * 1.2, 2)", " "), "def total(items):"),),
    )]


def test_without_prefixes_and_miscounted_hunk() -> None:
    answer = """```
--- src/app.py
+++ src/app.py
@@ -1,9 +1,9 @@
 def main():

-    run(1)
+    run(2)
```"""
    (edit,) = parse_edits(answer)
    assert edit.path == "src/app.py"
    assert edit.hunks[0].lines == lines(" def main():", " ", "-    run(1)", "+    run(2)")
    assert edit.hunks[0].old_start == 1


def test_new_deleted_and_several_files_in_one_block() -> None:
    answer = """```patch
diff --git a/docs/new.md b/docs/new.md
new file mode 100644
--- /dev/null
+++ b/docs/new.md
@@ -0,0 +1,2 @@
+# New
+text
diff --git a/old.txt b/old.txt
deleted file mode 100644
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
--- a/keep.py
+++ b/keep.py
@@ -3 +3 @@
-x = 1
+x = 2
```"""
    edits = parse_edits(answer)
    assert [(e.path, e.old_path, e.is_new, e.is_deleted) for e in edits] == [
        ("docs/new.md", None, True, False),
        ("old.txt", "old.txt", False, True),
        ("keep.py", "keep.py", False, False),
    ]
    assert edits[0].hunks[0].new_lines == ["# New", "text"]
    assert edits[1].hunks[0].old_lines == ["bye"]


def test_hunk_without_line_numbers_and_prose_after() -> None:
    answer = """Change this:
```diff
--- a/a.py
+++ b/a.py
@@ ... @@
 a = 1
-b = 2
+b = 3
That's all.
```"""
    (edit,) = parse_edits(answer)
    assert (edit.hunks[0].old_start, edit.hunks[0].old_lines) == (0, ["a = 1", "b = 2"])


def test_unfenced_diff_and_non_diff_fences() -> None:
    answer = "```python\nprint('hi')\n```\n--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-a\n+b\n"
    (edit,) = parse_edits(answer)
    assert edit.path == "x.txt"
    assert parse_edits("```python\nx = 1\n```\nNo changes needed.") == []


def test_no_newline_marker() -> None:
    answer = "```diff\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n```\n"
    (edit,) = parse_edits(answer)
    assert edit.hunks[0].old_ends_without_newline is True
    assert edit.hunks[0].new_ends_without_newline is False


def test_render_diff() -> None:
    edit = FileEdit("n.txt", None, (Hunk(0, 0, 1, 1, lines("+hi")),), is_new=True)
    assert render_diff(edit) == "--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1,1 @@\n+hi\n"
    assert parse_edits(render_diff(edit)) == [edit]


@given(st.text())
def test_parser_never_crashes(text: str) -> None:
    assert isinstance(parse_edits(text), list)


@given(st.text(alphabet="-+@ ad/\n`~\\", max_size=300))
def test_parser_never_crashes_on_diff_like_text(text: str) -> None:
    for edit in parse_edits("```diff\n--- a/f\n+++ b/f\n" + text):
        assert edit.path
