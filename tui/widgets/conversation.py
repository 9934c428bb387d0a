"""The transcript pane: questions, streamed Markdown answers, notices and diff blocks."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from repopack.chat.edits import FileEdit, diff_fences, parse_edits

from .diff_block import DiffBlock

DIFF_PLACEHOLDER = "*(the edit is shown below, ready to apply)*"


def prose_only(answer: str) -> str:
    """The answer with each fenced diff that holds an edit replaced by a pointer to its block below."""
    lines = answer.split("\n")
    out: list[str] = []
    last = 0
    for start, end in diff_fences(answer):
        if parse_edits("\n".join(lines[start:end])):
            out += [*lines[last:start], DIFF_PLACEHOLDER]
            last = end
    return "\n".join(out + lines[last:])


class Conversation(VerticalScroll, can_focus=False):
    """Not in the focus chain, so Tab goes from the question box to the edits; PageUp/PageDown scroll it."""

    DEFAULT_CSS = """
    Conversation {
        height: 1fr;
        padding: 0 1;
        background: $background;
    }
    Conversation > .question {
        border-left: thick $accent;
        padding: 0 1;
        margin: 1 0 0 0;
        color: $text;
        text-style: bold;
    }
    Conversation > .answer {
        margin: 0;
        padding: 0 1;
        background: $background;
    }
    Conversation > .notice {
        color: $text-muted;
        padding: 0 1;
    }
    Conversation > .error {
        color: $error;
        padding: 0 1;
    }
    Conversation > .usage {
        color: $text-muted;
        text-style: italic;
        padding: 0 1;
        margin-bottom: 1;
    }
    Conversation > .help {
        border: round $warning;
        padding: 0 1;
        margin: 1 0;
    }
    """

    def on_mount(self) -> None:
        self.anchor()

    def add_question(self, text: str) -> Static:
        widget = Static(Text(text), classes="question")
        self.mount(widget)
        return widget

    def start_answer(self, text: str = "") -> Markdown:
        widget = Markdown(text, classes="answer")
        self.mount(widget)
        return widget

    def add_notice(self, text: str, *, error: bool = False) -> Static:
        widget = Static(Text(text), classes="error" if error else "notice")
        self.mount(widget)
        return widget

    def add_usage(self, text: str) -> Static:
        widget = Static(Text(text), classes="usage")
        self.mount(widget)
        return widget

    def add_help(self, markdown: str) -> Markdown:
        widget = Markdown(markdown, classes="help")
        self.mount(widget)
        return widget

    def add_diffs(self, edits: Sequence[FileEdit]) -> list[DiffBlock]:
        blocks = [DiffBlock(edit) for edit in edits]
        if blocks:
            self.mount_all(blocks)
        return blocks
