"""The question box: Enter sends, up/down walk through earlier questions, Tab goes to the edits."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class PromptInput(Input):
    BINDINGS = [
        Binding("up", "history_previous", "Previous question", show=False),
        Binding("down", "history_next", "Next question", show=False),
        Binding("tab", "to_edits", "Edits", show=False),
    ]

    class EditsWanted(Message):
        """Tab: the screen focuses the first edit waiting for a decision (or the next widget)."""

    def __init__(self, history: list[str] | None = None, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(placeholder="Ask about the repository (Enter to send, ↑ for history)", id=id)
        self.history: list[str] = list(history or [])
        self._position = len(self.history)
        self._draft = ""

    def remember(self, question: str) -> None:
        if question and (not self.history or self.history[-1] != question):
            self.history.append(question)
        self._position = len(self.history)
        self._draft = ""

    def action_history_previous(self) -> None:
        if not self.history or self._position == 0:
            return
        if self._position == len(self.history):
            self._draft = self.value
        self._position -= 1
        self._show(self.history[self._position])

    def action_history_next(self) -> None:
        if self._position >= len(self.history):
            return
        self._position += 1
        self._show(self.history[self._position] if self._position < len(self.history) else self._draft)

    def _show(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)

    def action_to_edits(self) -> None:
        self.post_message(self.EditsWanted())
