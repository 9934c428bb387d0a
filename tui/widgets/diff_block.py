"""One file's edit from an answer: a highlighted diff with Apply and Reject."""

from __future__ import annotations

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Label, Static

from repopack.chat.edits import FileEdit, edit_summary, render_diff


class DiffBlock(Vertical, can_focus=True):
    """Focus it (Tab) and press a or r; or click the buttons."""

    BINDINGS = [
        Binding("a", "decide(True)", "Apply"),
        Binding("r", "decide(False)", "Reject"),
    ]

    DEFAULT_CSS = """
    DiffBlock {
        height: auto;
        border: round $secondary 60%;
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
        border: round $accent;
        background: $boost;
    }
    DiffBlock.-applied {
        border: round $success;
    }
    DiffBlock.-rejected {
        border: round $error 50%;
    }
    """

    class Decided(Message):
        """The user pressed Apply (apply=True) or Reject."""

        def __init__(self, block: DiffBlock, apply: bool) -> None:
            super().__init__()
            self.block = block
            self.apply = apply

    def __init__(self, edit: FileEdit) -> None:
        super().__init__()
        self.edit = edit
        self.border_title = edit_summary(edit)

    def compose(self) -> ComposeResult:
        yield Static(Syntax(render_diff(self.edit).rstrip("\n"), "diff", theme="ansi_dark", word_wrap=True,
                            background_color="default"), classes="diff-body")
        with Horizontal():
            buttons = (Button("Apply", variant="success", id="apply", compact=True),
                       Button("Reject", variant="error", id="reject", compact=True))
            for button in buttons:
                button.can_focus = False  # the block takes focus; a and r act on it
                yield button
            yield Label("", classes="diff-status")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Decided(self, event.button.id == "apply"))

    def action_decide(self, apply: bool) -> None:
        if not self.query_one("#apply", Button).disabled:
            self.post_message(self.Decided(self, apply))

    def mark(self, status: str, *, applied: bool = False, rejected: bool = False, decided: bool = True) -> None:
        """Show the outcome; `decided=False` offers the buttons again (after an undo)."""
        self.query_one(".diff-status", Label).update(status)
        self.set_class(applied, "-applied")
        self.set_class(rejected, "-rejected")
        for button in self.query(Button):
            button.disabled = decided
