"""One file's edit from an answer: a highlighted diff with Apply and Reject.

Long lines wrap inside the code column, so the +/- gutter and the line's colour stay
with every wrapped part.  The block takes focus (Tab from the question box, or a click);
a focused block is outlined and its border names the keys.  After a decision the
buttons are disabled, the block leaves the focus chain and the border says what happened.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Label, Static

from repopack.chat.edits import FileEdit, edit_summary

PENDING_HINT = "Tab or click to choose"
FOCUSED_HINT = "a apply · r reject · Esc back"
# (gutter style, row style) per line kind; backgrounds subtle enough for dark and light themes
LINE_STYLES = {
    "+": ("bold green", "on #1f3d2a"),
    "-": ("bold red", "on #45242a"),
    " ": ("dim", ""),
}


def diff_renderable(edit: FileEdit) -> RenderableType:
    """The hunks as a two-column grid: the +/-/space gutter, and the code, highlighted and wrapped."""
    lexer = Syntax.guess_lexer(edit.path)
    highlighter = Syntax("", lexer, theme="ansi_dark", background_color="default")
    grid = Table.grid(expand=True)
    grid.add_column(width=2, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    for hunk in edit.hunks:
        header = f"@@ -{hunk.old_start} +{hunk.new_start} @@"
        grid.add_row(Text("⋯", style="cyan"), Text(f"{header} {hunk.section}".rstrip(), style="cyan dim"))
        code = highlighter.highlight("\n".join(line.text for line in hunk.lines))
        code.rstrip()
        texts = code.split("\n", allow_blank=True)
        for i, line in enumerate(hunk.lines):
            gutter, row = LINE_STYLES[line.kind]
            text = texts[i] if i < len(texts) else Text(line.text)
            grid.add_row(Text(line.kind if line.kind != " " else "", style=gutter), text, style=row or None)
    return grid


class DiffBlock(Vertical, can_focus=True):
    """Focus it (Tab, or a click) and press a or r; or click the buttons."""

    BINDINGS = [
        Binding("a", "decide(True)", "Apply edit"),
        Binding("r", "decide(False)", "Reject edit"),
        Binding("escape", "leave", "Back to the question", show=False),
    ]

    DEFAULT_CSS = """
    DiffBlock {
        height: auto;
        border: round $secondary 60%;
        border-subtitle-color: $text-muted;
        margin: 0 0 1 0;
        padding: 0 1;
    }
    DiffBlock > .diff-body {
        height: auto;
    }
    DiffBlock > Horizontal {
        height: auto;
    }
    DiffBlock Button {
        min-width: 10;
        margin-right: 1;
    }
    DiffBlock > Horizontal > .diff-status {
        padding: 0 1;
        color: $text-muted;
    }
    DiffBlock:focus {
        border: heavy $accent;
        border-subtitle-color: $accent;
        border-subtitle-style: bold;
        background: $boost;
    }
    DiffBlock.-applied {
        border: round $success;
        border-subtitle-color: $success;
    }
    DiffBlock.-rejected {
        border: round $error 50%;
        border-subtitle-color: $error 70%;
    }
    """

    class Decided(Message):
        """The user pressed Apply (apply=True) or Reject."""

        def __init__(self, block: DiffBlock, apply: bool) -> None:
            super().__init__()
            self.block = block
            self.apply = apply

    class Left(Message):
        """Esc on the block: the focus goes back to the question box."""

        def __init__(self, block: DiffBlock) -> None:
            super().__init__()
            self.block = block

    def __init__(self, edit: FileEdit) -> None:
        super().__init__()
        self.edit = edit
        self.decided = False
        self.border_title = edit_summary(edit)
        self.border_subtitle = PENDING_HINT

    def compose(self) -> ComposeResult:
        yield Static(diff_renderable(self.edit), classes="diff-body")
        with Horizontal():
            buttons = (Button("Apply", variant="success", id="apply", compact=True),
                       Button("Reject", variant="error", id="reject", compact=True))
            for button in buttons:
                button.can_focus = False  # the block takes focus; a and r act on it
                yield button
            yield Label("", classes="diff-status")

    def on_focus(self) -> None:
        if not self.decided:
            self.border_subtitle = FOCUSED_HINT

    def on_blur(self) -> None:
        if not self.decided:
            self.border_subtitle = PENDING_HINT

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_decide(event.button.id == "apply")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "decide":
            return not self.decided  # hidden from the footer once decided
        return True

    def action_decide(self, apply: bool) -> None:
        if self.decided:
            return
        self.mark("applying…" if apply else "rejected", rejected=not apply)
        self.post_message(self.Decided(self, apply))

    def action_leave(self) -> None:
        self.post_message(self.Left(self))

    def mark(self, status: str, *, applied: bool = False, rejected: bool = False, decided: bool = True) -> None:
        """Show the outcome; `decided=False` offers the buttons again (after an undo or a failure)."""
        self.decided = decided
        self.query_one(".diff-status", Label).update(status)
        self.set_class(applied, "-applied")
        self.set_class(rejected, "-rejected")
        for button in self.query(Button):
            button.disabled = decided
        self.can_focus = not decided
        short = status.split(" · ")[0]  # "applied · ctrl+z undoes": the label beside the buttons says the rest
        self.border_subtitle = short if decided else (FOCUSED_HINT if self.has_focus else PENDING_HINT)
        self.refresh_bindings()
