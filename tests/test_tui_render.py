"""What the chat TUI draws for an edit, without an app: the diff grid and the answer's prose."""

from __future__ import annotations

from repopack.tui.widgets.conversation import DIFF_PLACEHOLDER, prose_only
from repopack.tui.widgets.diff_block import diff_renderable
from rich.console import Console

from repopack.chat.edits import parse_edits

LONG = "x = compute(alpha, beta, gamma) + another_long_name(delta, epsilon) + yet_more(zeta)"
ANSWER = f"""Change it:

```diff
--- a/m.py
+++ b/m.py
@@ -1,2 +1,2 @@
 import os
-x = 1
+{LONG}
```

```python
print("not a diff")
```
Done."""


def render(width: int) -> list[str]:
    console = Console(width=width, color_system=None, record=True)
    console.print(diff_renderable(parse_edits(ANSWER)[0]))
    return [line.rstrip() for line in console.export_text().splitlines()]


def test_wrapped_lines_stay_in_the_code_column_under_their_marker() -> None:
    lines = render(40)
    assert lines[0].startswith("⋯ @@ -1 +1 @@")
    assert lines[1] == "  import os"
    assert lines[2] == "- x = 1"
    added = lines[3:]
    assert added[0].startswith("+ x = compute(") and len(added) > 1
    assert all(line.startswith("  ") and line[2] != " " for line in added[1:])  # continuation, no marker
    assert "".join(line[2:] for line in added).replace(" ", "") == LONG.replace(" ", "")


def test_nothing_wraps_when_the_line_fits() -> None:
    assert render(120)[3] == f"+ {LONG}"


def test_prose_keeps_everything_but_the_diff_fences_that_hold_edits() -> None:
    assert prose_only(ANSWER) == f'Change it:\n\n{DIFF_PLACEHOLDER}\n\n```python\nprint("not a diff")\n```\nDone.'


def test_prose_of_an_answer_without_diffs_is_the_answer() -> None:
    answer = "just words\n\n```diff\nnot really a diff\n```"
    assert prose_only(answer) == answer
