"""Terminal rendering of streamed answers and proposed edits (used by `ask`; reusable by others).

On a terminal the answer is shown as Markdown in a live view that re-renders at most
every ``refresh`` seconds (re-parsing Markdown on every token would be quadratic);
when stdout is a pipe or a file the text is written exactly as it arrives, flushed per
delta, so `repopack ask … | tee` and tests see the model's bytes unchanged.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from repopack.chat.edits import FileEdit, render_diff

DIFF_STYLES = (  # (line prefix, style); first match wins
    ("+++ ", "bold"),
    ("--- ", "bold"),
    ("@@", "cyan"),
    ("+", "green"),
    ("-", "red"),
)


class AnswerView:
    """Shows an answer while it streams; use as a context manager, call `feed` per delta."""

    def __init__(self, console: Console, *, markdown: bool | None = None, refresh: float = 0.1) -> None:
        self.console = console
        self.markdown = console.is_terminal if markdown is None else markdown
        self.refresh = refresh
        self.parts: list[str] = []
        self._live: Live | None = None
        self._last = 0.0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, delta: str) -> None:
        self.parts.append(delta)
        if not self.markdown:
            self.console.file.write(delta)
            self.console.file.flush()
            return
        if self._live is None:
            self._live = Live(console=self.console, auto_refresh=False, vertical_overflow="visible")
            self._live.start()
        now = time.monotonic()
        if now - self._last >= self.refresh:
            self._last = now
            self._live.update(Markdown(self.text), refresh=True)

    def close(self) -> None:
        """Show the whole answer and end with a newline (idempotent; safe after Ctrl-C)."""
        if self._live is not None:
            self._live.update(Markdown(self.text), refresh=True)
            self._live.stop()
            self._live = None
        elif not self.markdown and self.parts and not self.text.endswith("\n"):
            self.console.file.write("\n")
            self.console.file.flush()
        self.parts = [self.text]

    def __enter__(self) -> AnswerView:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def diff_text(edit: FileEdit) -> Text:
    """The edit as a unified diff with added lines green, removed red, hunk headers cyan."""
    out = Text()
    for line in render_diff(edit).splitlines():
        style = next((s for prefix, s in DIFF_STYLES if line.startswith(prefix)), "")
        out.append(line + "\n", style=style)
    return out


def edit_record(edit: FileEdit) -> dict[str, Any]:
    """A JSON-ready description of one edit."""
    return {"path": edit.path, "old_path": edit.old_path, "new_file": edit.is_new, "deleted": edit.is_deleted,
            "diff": render_diff(edit)}


def format_cost(cost: float | None) -> str:
    if cost is None:
        return "unknown (no price for this model)"
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"
